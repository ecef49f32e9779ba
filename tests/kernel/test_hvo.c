/* SPDX-License-Identifier: MIT */
/*
 * HugeTLB Vmemmap Optimization on the live kernel tables: exact savings, the
 * mapping after each direction, every strategy the CPU can use, and a stress
 * run with readers (and legal writers) of struct pages on every other CPU and
 * in this CPU's timer interrupt while this CPU optimizes and restores.
 */
#include "arch/arch.h"
#include "kernel/cmdline.h"
#include "kernel/percpu.h"
#include "kernel/smp.h"
#include "kernel/timer.h"
#include "lib/ktap.h"
#include "mm/huge_page.h"
#include "mm/hvo.h"
#include "mm/kmap.h"
#include "mm/pgtable.h"
#include "mm/pmm.h"

#define STRESS_PAGES  4 /* 2M huge pages cycled by the stress test */
#define STRESS_ROUNDS 1000
/*
 * Strategy a parks three CPUs for every change: under TCG a rendezvous costs
 * tens of milliseconds (each parked vCPU must be interrupted and answer), so it
 * gets fewer rounds; the BBM study measures it properly.
 */
#define STRESS_ROUNDS_RENDEZVOUS 20
/* x86: every change is a shootdown IPI to three CPUs, which TCG makes slow. */
#define STRESS_ROUNDS_SHOOTDOWN 200
#define TIMER_US		200

static u64 vmemmap_va(paddr_t pa)
{
	return (u64)(uintptr_t)pa_to_page(pa);
}

/* Where the vmemmap page holding frame pa's struct page points, and how. */
static bool vmemmap_leaf(paddr_t pa, struct pt_translation *t)
{
	return pt_translate(kmap_pgtable(), vmemmap_va(pa), t);
}

static bool tails_canonical(paddr_t head, unsigned order)
{
	const struct page *h = pa_to_page(head);

	for (u64 i = 1; i < (1ULL << order); i++)
		if (h[i].state != PAGE_ALLOCATED_TAIL || h[i].order || h[i].next_pfn)
			return false;
	return true;
}

/* Every tail vmemmap page of the block maps one shared read-only frame. */
static bool tails_shared(paddr_t head, unsigned order)
{
	u64 pages = (sizeof(struct page) << order) >> PAGE_SHIFT;
	struct pt_translation first, t;

	if (!vmemmap_leaf(pa_add(head, PAGE_SIZE * 128), &first) || first.level ||
	    (first.attrs.prot & PT_WRITE))
		return false;
	for (u64 i = 1; i < pages; i++) {
		paddr_t frame = pa_add(head, PAGE_SIZE * 128 * i);

		if (!vmemmap_leaf(frame, &t) || pa_addr(t.pa) != pa_addr(first.pa) ||
		    (t.attrs.prot & PT_WRITE))
			return false;
	}
	return true;
}

static void expect_optimize_restore(unsigned order)
{
	u64 pages = (sizeof(struct page) << order) >> PAGE_SHIFT;
	u64 free0 = pmm_free_bytes(), tables0 = kmap_pgtable()->tables;
	struct hvo_stats before, after;
	struct pt_translation t;
	paddr_t pa;

	hvo_get_stats(&before);
	pa = huge_page_alloc(order);
	if (!pa_addr(pa)) {
		ktap_skip("no free block of that order on this machine");
		return;
	}
	EXPECT(hvo_is_optimized(pa));
	EXPECT(tails_canonical(pa, order));
	EXPECT(tails_shared(pa, order));
	/* A tail struct page is read-only now; the head's page is not. */
	EXPECT(arch_probe(vmemmap_va(pa_add(pa, PAGE_SIZE << 8)), PROBE_WRITE).faulted);
	EXPECT(!arch_probe(vmemmap_va(pa), PROBE_WRITE).faulted);
	hvo_get_stats(&after);
	EXPECT_EQ(after.vmemmap_pages_freed - before.vmemmap_pages_freed, pages - 1);
	/* The block left the free pool; the tail frames joined it, less any vmemmap table. */
	EXPECT_EQ(pmm_free_bytes() + (PAGE_SIZE << order),
		  free0 + (pages - 1) * PAGE_SIZE - (kmap_pgtable()->tables - tables0) * PAGE_SIZE);
	ktap_diag("order %u: %llu vmemmap pages freed, %llu vmemmap table pages added", order,
		  (unsigned long long)(pages - 1),
		  (unsigned long long)(kmap_pgtable()->tables - tables0));

	huge_page_free(pa, order);
	EXPECT(!hvo_is_optimized(pa));
	EXPECT(vmemmap_leaf(pa_add(pa, PAGE_SIZE << 8), &t) && (t.attrs.prot & PT_WRITE));
	/* Back to the boot-time frames: the vmemmap blocks collapsed, everything returned. */
	EXPECT_EQ(kmap_pgtable()->tables, tables0);
	EXPECT_EQ(pmm_free_bytes(), free0);
}

static void test_optimize_restore_2m(void)
{
	expect_optimize_restore(ORDER_2M);
}

static void test_optimize_restore_1g(void)
{
	expect_optimize_restore(ORDER_1G);
}

/* Each strategy this CPU can use does a whole cycle right; the others say why not. */
static void test_every_strategy(void)
{
	enum hvo_strategy saved = hvo_strategy();

	for (unsigned s = HVO_RENDEZVOUS; s < HVO_STRATEGIES; s++) {
		struct hvo_stats before, after;
		paddr_t pa;

		if (!hvo_set_strategy((enum hvo_strategy)s)) {
			ktap_diag("strategy %s: not usable here: %s", hvo_strategy_name(s),
				  hvo_strategy_unusable(s));
			continue;
		}
		hvo_get_stats(&before);
		pa = huge_page_alloc(ORDER_2M);
		EXPECT(pa_addr(pa) && hvo_is_optimized(pa));
		EXPECT(pa_addr(pa) && tails_shared(pa, ORDER_2M));
		if (pa_addr(pa))
			huge_page_free(pa, ORDER_2M);
		hvo_get_stats(&after);
		EXPECT_EQ(after.restored - before.restored, 1);
		EXPECT_EQ(after.failed, before.failed);
	}
	hvo_set_strategy(saved);
}

/* ---- Stress ---- */

static struct {
	paddr_t pages[STRESS_PAGES];
	struct smp_crew crew;
	bool stop;
	u64 reads[MAX_CPUS], bad[MAX_CPUS], lost_writes[MAX_CPUS];
	u64 timer_reads, timer_bad;
} stress;

static bool struct_pages_right(paddr_t head, u64 tail)
{
	const volatile struct page *h = pa_to_page(head);

	return h->state == PAGE_ALLOCATED_HEAD && h->order == ORDER_2M &&
	       h[tail].state == PAGE_ALLOCATED_TAIL && h[tail].order == 0;
}

/*
 * Another CPU: reads head and tail struct pages of every stress page, and
 * writes its own head's pt_valid (a field HVO never touches, on a page that
 * stays writable) and reads it back: a lost write would show.
 */
static void stress_reader(void *arg)
{
	unsigned cpu = this_cpu_id();
	volatile struct page *mine = pa_to_page(stress.pages[cpu % STRESS_PAGES]);
	u64 tail = 1 + cpu * 97;

	(void)arg;
	for (u16 seq = 0; !smp_crew_stopping(&stress.crew); seq++) {
		tail = 1 + (tail * 7 + 3) % ((1 << ORDER_2M) - 1);
		for (unsigned p = 0; p < STRESS_PAGES; p++)
			if (!struct_pages_right(stress.pages[p], tail))
				stress.bad[cpu]++;
		if (cpu < STRESS_PAGES) {
			mine->pt_valid = seq;
			if (mine->pt_valid != seq)
				stress.lost_writes[cpu]++;
		}
		stress.reads[cpu]++;
	}
}

/* This CPU's timer interrupt reads struct pages too, between (never inside) its breaks. */
static void stress_timer(void)
{
	if (!struct_pages_right(stress.pages[stress.timer_reads % STRESS_PAGES],
				1 + stress.timer_reads % 511))
		stress.timer_bad++;
	stress.timer_reads++;
	if (!__atomic_load_n(&stress.stop, __ATOMIC_ACQUIRE))
		arch_timer_oneshot(arch_counter_freq() / 1000000 * TIMER_US);
}

static void stop_readers(void)
{
	__atomic_store_n(&stress.stop, true, __ATOMIC_RELEASE);
	smp_crew_stop(&stress.crew);
	arch_timer_oneshot(0);
	timer_set_handler(NULL);
}

static bool stress_pages_alloc(void)
{
	for (unsigned p = 0; p < STRESS_PAGES; p++) {
		stress.pages[p] = huge_page_alloc(ORDER_2M);
		if (!pa_addr(stress.pages[p]))
			return false;
	}
	return true;
}

/* The strategy's own count, capped by stress_rounds= (kernel/cmdline.h). */
static unsigned stress_rounds(enum hvo_strategy s)
{
	unsigned rounds = s == HVO_RENDEZVOUS		     ? STRESS_ROUNDS_RENDEZVOUS
			  : arch_tlb_flush_interrupts_cpus() ? STRESS_ROUNDS_SHOOTDOWN
							     : STRESS_ROUNDS;

	return kopt.stress_rounds && kopt.stress_rounds < rounds ? kopt.stress_rounds : rounds;
}

static void stress_one_strategy(enum hvo_strategy s)
{
	unsigned rounds = stress_rounds(s);
	struct hvo_stats before, after;
	u64 reads = 0, bad = 0, lost = 0;
	unsigned readers;

	hvo_get_stats(&before);
	stress = (typeof(stress)){0};
	if (!stress_pages_alloc()) {
		ktap_skip("not enough free 2 MiB blocks");
		return;
	}
	readers = smp_crew_start(&stress.crew, stress_reader, NULL);
	timer_set_handler(stress_timer);
	arch_timer_oneshot(arch_counter_freq() / 1000000 * TIMER_US);
	for (unsigned round = 0; round < rounds; round++) {
		paddr_t pa = stress.pages[round % STRESS_PAGES];

		EXPECT(hvo_restore(pa, ORDER_2M));
		EXPECT(hvo_optimize(pa, ORDER_2M));
	}
	stop_readers();
	for (unsigned cpu = 0; cpu < MAX_CPUS; cpu++) {
		reads += stress.reads[cpu];
		bad += stress.bad[cpu];
		lost += stress.lost_writes[cpu];
	}
	hvo_get_stats(&after);
	ktap_diag("strategy %s: %u rounds, %u readers, %llu reads, %llu timer reads, %llu fixup "
		  "waits, %llu rendezvous",
		  hvo_strategy_name(s), rounds, readers, (unsigned long long)reads,
		  (unsigned long long)stress.timer_reads,
		  (unsigned long long)(after.fixup_waits - before.fixup_waits),
		  (unsigned long long)(after.rendezvous - before.rendezvous));
	EXPECT_EQ(bad, 0);
	EXPECT_EQ(lost, 0);
	EXPECT_EQ(stress.timer_bad, 0);
	EXPECT(readers == 0 || reads > 0);
	EXPECT(stress.timer_reads > 0);
	for (unsigned p = 0; p < STRESS_PAGES; p++)
		huge_page_free(stress.pages[p], ORDER_2M);
}

static void test_stress(void)
{
	enum hvo_strategy saved = hvo_strategy();

	for (unsigned s = HVO_RENDEZVOUS; s < HVO_STRATEGIES; s++) {
		if (!hvo_set_strategy((enum hvo_strategy)s))
			continue;
		stress_one_strategy((enum hvo_strategy)s);
	}
	hvo_set_strategy(saved);
}

static bool hvo_off(const char **reason)
{
	*reason = "vmemmap optimization is off (hvo=off)";
	return hvo_strategy() == HVO_OFF;
}

KTAP_SUITE_SKIPPABLE(suite_hvo, "hvo", hvo_off, KTAP_CASE(test_optimize_restore_2m),
		     KTAP_CASE(test_optimize_restore_1g), KTAP_CASE(test_every_strategy),
		     KTAP_CASE(test_stress));
