/* SPDX-License-Identifier: MIT */
/*
 * SMP bring-up and IPIs, through arch/arch.h and kernel/smp.h only: every CPU
 * the firmware described and the command line allowed is online with its own
 * hardware id, runs cross-calls on itself, and receives every IPI sent to it.
 */
#include "arch/arch.h"
#include "kernel/smp.h"
#include "lib/ktap.h"
#include "lib/spinlock.h"
#include "mm/kmap.h"
#include "mm/page.h"
#include "mm/pgtable.h"
#include "mm/pmm.h"

#define IPI_ROUNDS   200
#define STORM_ROUNDS 500

/* Counter ticks in ms: waits are bounded, never open-ended. */
static u64 ms_ticks(u64 ms)
{
	return arch_counter_freq() * ms / 1000;
}

static bool need_secondaries(void)
{
	if (nr_cpus > 1)
		return true;
	ktap_skip("only one CPU started (smp=1 or a single-CPU machine)");
	return false;
}

static void all_cpus_online(void)
{
	EXPECT(nr_cpus >= 1);
	for (unsigned i = 0; i < nr_cpus; i++) {
		if (!__atomic_load_n(&percpu[i].online, __ATOMIC_ACQUIRE))
			ktap_diag("CPU %u (hwid 0x%llx) is not online", i,
				  (unsigned long long)percpu[i].hwid);
		EXPECT(__atomic_load_n(&percpu[i].online, __ATOMIC_ACQUIRE));
	}
	EXPECT_EQ(smp_online_count(), nr_cpus);
}

static void hwids_distinct(void)
{
	for (unsigned i = 0; i < nr_cpus; i++)
		for (unsigned j = i + 1; j < nr_cpus; j++) {
			if (percpu[i].hwid == percpu[j].hwid)
				ktap_diag("CPUs %u and %u share hwid 0x%llx", i, j,
					  (unsigned long long)percpu[i].hwid);
			EXPECT(percpu[i].hwid != percpu[j].hwid);
		}
}

struct where {
	struct percpu *cpu;
	unsigned id;
	bool irqs_on;
};

static void record_where(void *arg)
{
	struct where *w = arg;

	w->cpu = this_cpu();
	w->id = this_cpu_id();
	w->irqs_on = arch_irqs_enabled();
}

static void call_runs_on_target(void)
{
	for (unsigned i = 0; i < nr_cpus; i++) {
		struct where w = {NULL, ~0u, false};

		EXPECT_EQ(smp_call(i, record_where, &w, true), 0);
		EXPECT(w.cpu == &percpu[i]);
		EXPECT_EQ(w.id, i);
	}
}

/* Sends one IPI_WAKE and waits until the target counted it; false on timeout. */
static bool ipi_round_trip(unsigned cpu)
{
	u64 before = __atomic_load_n(&percpu[cpu].ipis_received[IPI_WAKE], __ATOMIC_ACQUIRE);
	u64 start = arch_counter_read();

	arch_send_ipi(cpu, IPI_WAKE);
	while (__atomic_load_n(&percpu[cpu].ipis_received[IPI_WAKE], __ATOMIC_ACQUIRE) == before) {
		if (arch_counter_read() - start > ms_ticks(1000))
			return false;
		arch_cpu_relax();
	}
	return true;
}

static void ipi_reaches_every_cpu(void)
{
	if (!need_secondaries())
		return;
	for (unsigned i = 1; i < nr_cpus; i++) {
		bool ok = ipi_round_trip(i);

		if (!ok)
			ktap_diag("CPU %u did not receive an IPI within 1 s", i);
		EXPECT(ok);
	}
}

static void ipi_counts_match(void)
{
	if (!need_secondaries())
		return;
	for (unsigned i = 1; i < nr_cpus; i++) {
		u64 before = __atomic_load_n(&percpu[i].ipis_received[IPI_WAKE], __ATOMIC_ACQUIRE);
		unsigned sent = 0;

		/* One at a time: a second SGI sent while one is pending would merge with it. */
		while (sent < IPI_ROUNDS && ipi_round_trip(i))
			sent++;
		EXPECT_EQ(sent, IPI_ROUNDS);
		EXPECT_EQ(__atomic_load_n(&percpu[i].ipis_received[IPI_WAKE], __ATOMIC_ACQUIRE) -
				  before,
			  sent);
	}
}

static u64 storm_counts[MAX_CPUS];

static void storm_increment(void *arg)
{
	u64 *count = arg;

	/* Only the target writes its own slot: a plain increment is enough. */
	(*count)++;
}

static void cross_call_storm(void)
{
	unsigned failed = 0;

	if (!need_secondaries())
		return;
	for (unsigned i = 0; i < nr_cpus; i++)
		storm_counts[i] = 0;
	/* Fire-and-forget calls round-robin: each waits only for the target's previous call. */
	for (unsigned r = 0; r < STORM_ROUNDS; r++)
		for (unsigned i = 1; i < nr_cpus; i++)
			failed += smp_call(i, storm_increment, &storm_counts[i], false) != 0;
	/* A waited call behind the storm: when it returns, every earlier call has run. */
	for (unsigned i = 1; i < nr_cpus; i++)
		failed += smp_call(i, storm_increment, &storm_counts[i], true) != 0;
	EXPECT_EQ(failed, 0);
	for (unsigned i = 1; i < nr_cpus; i++)
		EXPECT_EQ(__atomic_load_n(&storm_counts[i], __ATOMIC_ACQUIRE), STORM_ROUNDS + 1);
}

/* A work item that records where it ran and the order items ran in. */
struct work_probe {
	struct where where;
	u32 *sequence;
	u32 position;
};

static void work_record(void *arg)
{
	struct work_probe *p = arg;

	record_where(&p->where);
	p->position = __atomic_fetch_add(p->sequence, 1, __ATOMIC_RELAXED);
}

/* Thread context: on its CPU, interrupts enabled, items in the order queued. */
static void work_runs_in_thread_context(void)
{
	static struct smp_work work[2];
	struct work_probe probe[2];
	u32 sequence = 0;

	if (!need_secondaries())
		return;
	EXPECT_EQ(smp_work_queue(0, &work[0], work_record, &probe[0]), ERR_NOENT);
	for (unsigned i = 1; i < nr_cpus; i++) {
		for (unsigned k = 0; k < 2; k++) {
			probe[k] = (struct work_probe){.where = {NULL, ~0u, false},
						       .sequence = &sequence};
			EXPECT_EQ(smp_work_queue(i, &work[k], work_record, &probe[k]), 0);
		}
		for (unsigned k = 0; k < 2; k++) {
			EXPECT(smp_work_wait(&work[k], ms_ticks(1000)));
			EXPECT(probe[k].where.cpu == &percpu[i]);
			EXPECT(probe[k].where.irqs_on);
		}
		EXPECT_EQ(probe[1].position, probe[0].position + 1);
		EXPECT(smp_cpu_idle(i));
	}
}

/*
 * ---- Waits with interrupts masked serve waited cross-calls (kernel/smp.h) ----
 *
 * CPU A (this one) holds a table lock of the kernel's page table with
 * interrupts masked, as the engine does, and makes a waited cross-call (an
 * x86 TLB shootdown is one) while CPU B spins on that same lock inside the
 * engine, masked too. B takes no IPI there: only the engine's lock wait
 * running the call (cpu_wait_relax()) lets A finish. Without it A's
 * smp_call() times out after 10 s (the shootdown panics).
 */

/* A scratch range of the kernel's tables, away from the kpt suite's. */
#define LOCK_VA 0x0000710000000000ULL

/* The level-0 table that maps va in the kernel's tables, or NULL. */
static struct page *leaf_table_of(const struct pgtable *pt, u64 va)
{
	const struct pt_format *fmt = pt->fmt;
	paddr_t table = pt->root;

	for (unsigned level = fmt->levels - 1; level > 0; level--) {
		unsigned entries = PT_ENTRIES * (level == fmt->levels - 1 ? fmt->root_pages : 1);
		const u64 *entry = (const u64 *)phys_to_virt(table) +
				   ((va >> pt_level_shift(level)) & (entries - 1));
		u64 e = __atomic_load_n(entry, __ATOMIC_ACQUIRE);

		if (!pt_entry_is_table(fmt, e, level))
			return NULL;
		table = pt_entry_pa(fmt, e);
	}
	return pa_to_page(table);
}

/* Static: a call that timed out may still run later, after the test returned. */
static struct {
	struct smp_work work;
	u64 va;
	int rc;
	u32 calls;
	unsigned ran_on;
} spinner;

/* On B: a protect of a page whose leaf table A holds; the engine spins on it, masked. */
static void spin_on_table_lock(void *arg)
{
	struct pt_attrs ro = {PT_READ, PT_MEM_NORMAL};

	(void)arg;
	spinner.rc = pt_protect(kmap_pgtable_mut(), spinner.va, PAGE_SIZE, ro);
}

static void count_call(void *arg)
{
	(void)arg;
	spinner.ran_on = this_cpu_id();
	__atomic_fetch_add(&spinner.calls, 1, __ATOMIC_RELEASE);
}

/* Waits (masked, ms at most) until another CPU holds a ticket for l behind ours. */
static bool lock_has_waiter(struct spinlock *l, u64 ms)
{
	u64 start = arch_counter_read();

	while ((u16)(__atomic_load_n(&l->next, __ATOMIC_ACQUIRE) -
		     __atomic_load_n(&l->owner, __ATOMIC_ACQUIRE)) < 2) {
		if (arch_counter_read() - start > ms_ticks(ms))
			return false;
		arch_cpu_relax();
	}
	return true;
}

enum under_lock { CALL_UNDER_LOCK, SHOOTDOWN_UNDER_LOCK };

/*
 * Maps a page at LOCK_VA, takes its leaf table's lock masked, starts B's
 * protect, waits for B to queue on the lock, then does what (a waited
 * smp_call() to B, or a kernel TLB invalidation) before letting go.
 */
static void hold_lock_while(enum under_lock what)
{
	struct pgtable *pt = kmap_pgtable_mut();
	struct pt_attrs rw = {PT_READ | PT_WRITE, PT_MEM_NORMAL};
	struct arch_tlb_counts before, after;
	struct pt_translation t;
	paddr_t pa = pmm_alloc(ORDER_4K);
	unsigned b = 1, others = smp_online_count() - 1;
	unsigned long flags;
	struct page *table;
	bool waiter;
	int rc = 0;

	EXPECT(pa_addr(pa) != 0);
	if (!pa_addr(pa))
		return;
	EXPECT_EQ(pt_map(pt, LOCK_VA, pa, PAGE_SIZE, rw, 0), 0);
	table = leaf_table_of(pt, LOCK_VA);
	EXPECT(table != NULL);
	if (!table)
		goto out;
	spinner.va = LOCK_VA;
	spinner.rc = 1;
	spinner.ran_on = ~0u;
	__atomic_store_n(&spinner.calls, 0, __ATOMIC_RELEASE);
	arch_tlb_counts(&before);

	flags = arch_irq_save();
	spin_lock(&table->pt_lock);
	EXPECT_EQ(smp_work_queue(b, &spinner.work, spin_on_table_lock, NULL), 0);
	waiter = lock_has_waiter(&table->pt_lock, 2000);
	if (what == CALL_UNDER_LOCK)
		rc = smp_call(b, count_call, NULL, true);
	else
		arch_kernel_tlb_flush_range(LOCK_VA, PAGE_SIZE, 0); /* x86: panics if unanswered */
	spin_unlock(&table->pt_lock);
	arch_irq_restore(flags);

	arch_tlb_counts(&after);
	if (!waiter)
		ktap_diag("CPU %u never queued on the table lock within 2 s", b);
	EXPECT(waiter);
	EXPECT(smp_work_wait(&spinner.work, ms_ticks(2000)));
	EXPECT_EQ(spinner.rc, 0);
	EXPECT(pt_translate(pt, LOCK_VA, &t) && !(t.attrs.prot & PT_WRITE));
	if (what == CALL_UNDER_LOCK) {
		if (rc)
			ktap_diag("smp_call() to CPU %u, spinning masked on our table lock, timed "
				  "out",
				  b);
		EXPECT_EQ(rc, 0);
		EXPECT_EQ(__atomic_load_n(&spinner.calls, __ATOMIC_ACQUIRE), 1);
		EXPECT_EQ(spinner.ran_on, b);
	} else if (arch_tlb_flush_interrupts_cpus()) {
		ktap_diag("shootdown under the lock: %llu IPIs, CPU %u answered from its lock wait",
			  (unsigned long long)(after.ipis - before.ipis), b);
		EXPECT(after.ipis - before.ipis >= others);
	} else {
		/* arm64: TLBI ... IS is broadcast; nothing to serve, and nothing waited for. */
		ktap_diag("TLB invalidation is broadcast here (no IPI): %llu IPIs sent",
			  (unsigned long long)(after.ipis - before.ipis));
		EXPECT_EQ(after.ipis - before.ipis, 0);
	}
out:
	EXPECT_EQ(pt_unmap(pt, LOCK_VA, PAGE_SIZE), 0);
	pmm_free(pa, ORDER_4K);
}

/* A waited smp_call() from under a table lock to a CPU spinning masked on that lock. */
static void call_from_table_lock_to_spinner(void)
{
	if (!need_secondaries())
		return;
	hold_lock_while(CALL_UNDER_LOCK);
}

/*
 * The same with the kernel's own TLB invalidation: on x86 a shootdown
 * (smp_call(wait) to every other CPU); on arm64 a broadcast TLBI, which
 * needs no answer: there this checks that no IPI is sent.
 */
static void shootdown_from_table_lock_to_spinner(void)
{
	if (!need_secondaries())
		return;
	hold_lock_while(SHOOTDOWN_UNDER_LOCK);
}

/* Two CPUs, both masked, each in a waited smp_call() to the other at once. */
static struct {
	struct smp_work work;
	bool ready, go;
	int rc_b;
	u32 ran_on_a, ran_on_b;
} crossed;

static void crossed_call(void *arg)
{
	__atomic_fetch_add((u32 *)arg, 1, __ATOMIC_RELEASE);
}

static void crossed_b(void *arg)
{
	unsigned long flags = arch_irq_save();
	u64 start = arch_counter_read();

	(void)arg;
	__atomic_store_n(&crossed.ready, true, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&crossed.go, __ATOMIC_ACQUIRE) &&
	       arch_counter_read() - start < ms_ticks(2000))
		arch_cpu_relax();
	crossed.rc_b = smp_call(0, crossed_call, &crossed.ran_on_a, true);
	arch_irq_restore(flags);
}

static void masked_calls_to_each_other(void)
{
	unsigned long flags;
	u64 start;
	int rc_a;

	if (!need_secondaries())
		return;
	crossed.ready = crossed.go = false;
	crossed.rc_b = 1;
	__atomic_store_n(&crossed.ran_on_a, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&crossed.ran_on_b, 0, __ATOMIC_RELEASE);
	EXPECT_EQ(smp_work_queue(1, &crossed.work, crossed_b, NULL), 0);
	flags = arch_irq_save();
	start = arch_counter_read();
	while (!__atomic_load_n(&crossed.ready, __ATOMIC_ACQUIRE) &&
	       arch_counter_read() - start < ms_ticks(2000))
		arch_cpu_relax();
	__atomic_store_n(&crossed.go, true, __ATOMIC_RELEASE);
	rc_a = smp_call(1, crossed_call, &crossed.ran_on_b, true);
	arch_irq_restore(flags);
	EXPECT(smp_work_wait(&crossed.work, ms_ticks(12000)));
	if (rc_a || crossed.rc_b)
		ktap_diag("crossed masked smp_call(): CPU 0 -> 1 rc %d, CPU 1 -> 0 rc %d", rc_a,
			  crossed.rc_b);
	EXPECT_EQ(rc_a, 0);
	EXPECT_EQ(crossed.rc_b, 0);
	EXPECT_EQ(__atomic_load_n(&crossed.ran_on_a, __ATOMIC_ACQUIRE), 1);
	EXPECT_EQ(__atomic_load_n(&crossed.ran_on_b, __ATOMIC_ACQUIRE), 1);
}

/*
 * The engine on its own: every CPU maps and unmaps its own page in one leaf
 * table of the kernel's tables, round after round. On x86 a map that finds
 * another CPU's unmap still unflushed invalidates from under the lock
 * (settle_pending()), a shootdown, while the others spin on the lock masked.
 */
#define CONTENTION_ROUNDS 300

static struct {
	struct smp_crew crew;
	paddr_t pa;
	u32 failures;
} contention;

static void map_unmap_rounds(void *arg)
{
	struct pgtable *pt = kmap_pgtable_mut();
	struct pt_attrs rw = {PT_READ | PT_WRITE, PT_MEM_NORMAL};
	u64 va = LOCK_VA + (this_cpu_id() + 1) * PAGE_SIZE;

	(void)arg;
	for (unsigned r = 0; r < CONTENTION_ROUNDS && !smp_crew_stopping(&contention.crew); r++)
		if (pt_map(pt, va, contention.pa, PAGE_SIZE, rw, 0) || pt_unmap(pt, va, PAGE_SIZE))
			__atomic_fetch_add(&contention.failures, 1, __ATOMIC_RELAXED);
}

static void engine_lock_contention(void)
{
	struct pgtable *pt = kmap_pgtable_mut();
	struct pt_attrs rw = {PT_READ | PT_WRITE, PT_MEM_NORMAL};
	struct arch_tlb_counts before, after;
	unsigned members;

	if (!need_secondaries())
		return;
	contention.pa = pmm_alloc(ORDER_4K);
	contention.failures = 0;
	EXPECT(pa_addr(contention.pa) != 0);
	if (!pa_addr(contention.pa))
		return;
	/* An anchor keeps the leaf table alive: every round contends for the same lock. */
	EXPECT_EQ(pt_map(pt, LOCK_VA, contention.pa, PAGE_SIZE, rw, 0), 0);
	arch_tlb_counts(&before);
	members = smp_crew_start(&contention.crew, map_unmap_rounds, NULL);
	map_unmap_rounds(NULL);
	/* Each member returns after its rounds; stop only collects them. */
	while (__atomic_load_n(&contention.crew.running, __ATOMIC_ACQUIRE))
		arch_cpu_relax();
	smp_crew_stop(&contention.crew);
	arch_tlb_counts(&after);
	ktap_diag("%u CPUs x %u map+unmap rounds in one leaf table: %llu shootdown IPIs",
		  members + 1, CONTENTION_ROUNDS, (unsigned long long)(after.ipis - before.ipis));
	EXPECT_EQ(contention.failures, 0);
	EXPECT_EQ(pt_unmap(pt, LOCK_VA, PAGE_SIZE), 0);
	pmm_free(contention.pa, ORDER_4K);
}

KTAP_SUITE(suite_smp, "smp", KTAP_CASE(all_cpus_online), KTAP_CASE(hwids_distinct),
	   KTAP_CASE(call_runs_on_target), KTAP_CASE(ipi_reaches_every_cpu),
	   KTAP_CASE(ipi_counts_match), KTAP_CASE(cross_call_storm),
	   KTAP_CASE(work_runs_in_thread_context), KTAP_CASE(call_from_table_lock_to_spinner),
	   KTAP_CASE(shootdown_from_table_lock_to_spinner), KTAP_CASE(masked_calls_to_each_other),
	   KTAP_CASE(engine_lock_contention));
