/* SPDX-License-Identifier: MIT */
/*
 * HugeTLB Vmemmap Optimization over the kernel's own stage-1 tables.
 *
 * A block of 2^order frames has 2^order struct pages of 32 bytes: 4 vmemmap
 * pages for 2 MiB, 2048 for 1 GiB. The first page holds the head and is kept;
 * every other one holds only tails, which optimize() first makes identical
 * (canonical tails), so they can all be one shared read-only page. The
 * vmemmap is mapped with 2M blocks: the first optimize in a block splits it
 * (the live resize of the engine); a restore that gets every original frame
 * back collapses it again.
 *
 * Each change to a live vmemmap entry is one of:
 *   split/collapse   a size change: break-before-make at FEAT_BBM level 0, the
 *                    nT sequence at 1, direct at 2 (pt_split_bbm());
 *   tail remap       writable page -> shared read-only page and back: an
 *                    output-address change of a writable entry, which breaks
 *                    (D8.16.1), unless made read-only first (strategy e);
 *   permission       read-only <-> writable in place: never a break.
 * A break leaves struct pages unmapped for a moment. Readers on other CPUs
 * survive it by waiting in the fault fixup below (strategies b-e) or by being
 * parked beforehand (a). This CPU masks interrupts while a break may be open,
 * so no handler here can fault on its own window, and the fixup never waits
 * for the CPU it interrupted (arm64 TLBI is broadcast: the remap needs no IPI).
 */
#include "mm/hvo.h"
#include "arch/arch.h"
#include "arch/pt_format.h"
#include "kernel/percpu.h"
#include "lib/errno.h"
#include "lib/panic.h"
#include "lib/printf.h"
#include "lib/string.h"
#include "mm/kmap.h"
#include "mm/pgtable.h"
#include "mm/pmm.h"

#define TAILS_PER_PAGE (PAGE_SIZE / sizeof(struct page))
/* A fixup waiting longer than this is not waiting for a remap: report the fault. */
#define FIXUP_TIMEOUT_MS 2000

static const char *const strategy_names[HVO_STRATEGIES] = {
	[HVO_OFF] = "off",
	[HVO_RENDEZVOUS] = "a (break, CPUs parked)",
	[HVO_FIXUP] = "b (break, fault fixup)",
	[HVO_NT] = "c (nT split, fault fixup)",
	[HVO_DIRECT] = "d (direct split, fault fixup)",
	[HVO_NO_BREAK] = "e (read-only first, no break)",
};

static enum hvo_strategy strategy = HVO_OFF;
static paddr_t shared_tails; /* one page of canonical tail struct pages, mapped read-only */
static struct spinlock hvo_lock;
static hvo_cpu_call_fn cpu_call; /* how park_others() reaches the other CPUs (hvo_init) */
static struct hvo_stats stats;
static struct pt_live_stats live;
/*
 * Bumped when a change that may leave vmemmap entries invalid starts and when
 * it ends (one remapping CPU at a time, under hvo_lock): odd while one is open.
 */
static u32 window_seq;

/* ---- Where a block's struct pages live ---- */

struct tail_pages {
	u64 va;	   /* the first vmemmap page holding only tails */
	u64 count; /* how many */
};

static u64 vmemmap_va_of(paddr_t pa)
{
	return (u64)(uintptr_t)pa_to_page(pa);
}

static struct tail_pages tail_pages_of(paddr_t head, unsigned order)
{
	u64 pages = (sizeof(struct page) << order) >> PAGE_SHIFT;

	return (struct tail_pages){vmemmap_va_of(head) + PAGE_SIZE, pages - 1};
}

/* The 2M vmemmap blocks a block's struct pages span. */
static void vmemmap_blocks_of(paddr_t head, unsigned order, u64 *start, u64 *size)
{
	u64 va = vmemmap_va_of(head), bytes = sizeof(struct page) << order;

	*start = ALIGN_DOWN(va, MiB(2));
	*size = ALIGN_UP(va + bytes, MiB(2)) - *start;
}

/* What every tail struct page of an optimized block holds. */
static const struct page canonical_tail = {.state = PAGE_ALLOCATED_TAIL};

/*
 * A tail that is canonical already (a block optimized again, which readers
 * may be reading) is left alone: even rewriting the same bytes could go
 * through other values (a compiler may zero the struct first).
 */
static void make_tail_canonical(struct page *p)
{
	if (memcmp(p, &canonical_tail, sizeof(*p)))
		*p = canonical_tail;
}

/* ---- Guards: how readers survive a break ---- */

static void count_fixup_wait(u64 waited)
{
	u64 max = __atomic_load_n(&stats.fixup_wait_ticks_max, __ATOMIC_RELAXED);

	__atomic_fetch_add(&stats.fixup_waits, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&stats.fixup_wait_ticks, waited, __ATOMIC_RELAXED);
	while (waited > max &&
	       !__atomic_compare_exchange_n(&stats.fixup_wait_ticks_max, &max, waited, true,
					    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

/*
 * A translation fault on the vmemmap: retry once the entry is back. Windows
 * open and close back to back (a remap breaks several entries in a row), so
 * the test is against window_seq, odd while one is open: the fault is a real
 * one only if the entry is unmapped while no window is open and none opened
 * since the entry was looked at.
 */
static bool fixup_wait(u64 va)
{
	u64 start = arch_counter_read(), limit = arch_counter_freq() / 1000 * FIXUP_TIMEOUT_MS;
	struct pt_translation t;
	bool waited = false;

	if (!kmap_in_vmemmap(va))
		return false;
	for (;;) {
		u32 seq = __atomic_load_n(&window_seq, __ATOMIC_ACQUIRE);

		if (pt_translate(kmap_pgtable(), va, &t))
			break;
		if (!(seq & 1) && __atomic_load_n(&window_seq, __ATOMIC_ACQUIRE) == seq)
			return false;
		while (__atomic_load_n(&window_seq, __ATOMIC_ACQUIRE) == seq) {
			if (arch_counter_read() - start > limit)
				return false;
			arch_cpu_relax();
		}
		waited = true;
	}
	if (waited)
		count_fixup_wait(arch_counter_read() - start);
	return true;
}

static struct {
	u32 arrived;
	bool release;
} rendezvous;

/* Runs on each other CPU (IPI, interrupts masked) until the remap is done. */
static void park(void *arg)
{
	(void)arg;
	__atomic_fetch_add(&rendezvous.arrived, 1, __ATOMIC_ACQ_REL);
	while (!__atomic_load_n(&rendezvous.release, __ATOMIC_ACQUIRE))
		arch_cpu_relax();
	__atomic_fetch_sub(&rendezvous.arrived, 1, __ATOMIC_ACQ_REL);
}

static void unpark(void)
{
	__atomic_store_n(&rendezvous.release, true, __ATOMIC_RELEASE);
	while (__atomic_load_n(&rendezvous.arrived, __ATOMIC_ACQUIRE))
		arch_cpu_relax();
}

/*
 * Parks every other online CPU. A CPU that cannot take the IPI (it spins with
 * interrupts masked) never arrives: after a timeout the ones that did are let
 * go and the remap is not done, rather than waiting forever.
 */
static bool park_others(void)
{
	u64 start = arch_counter_read(), limit = arch_counter_freq() / 1000 * FIXUP_TIMEOUT_MS;
	unsigned others = 0;

	rendezvous.release = false;
	for (unsigned cpu = 0; cpu < MAX_CPUS; cpu++)
		if (cpu != this_cpu_id() && !cpu_call(cpu, park, NULL))
			others++;
	while (__atomic_load_n(&rendezvous.arrived, __ATOMIC_ACQUIRE) < others) {
		if (arch_counter_read() - start > limit) {
			printf("hvo: a CPU did not join the rendezvous (interrupts masked?)\n");
			unpark();
			return false;
		}
		arch_cpu_relax();
	}
	stats.rendezvous++;
	stats.rendezvous_ticks += arch_counter_read() - start;
	return true;
}

struct guard {
	unsigned long irqs;
	bool parked, skip;
};

/*
 * Before a change that may break: interrupts off here, readers parked or told
 * to wait. Formats that never break (x86: SDM Vol. 3A 4.10.4) need no guard,
 * and must not mask interrupts: their invalidation waits for shootdown IPIs.
 */
static bool guard_open(struct guard *g)
{
	g->skip = kmap_pgtable()->fmt->resize[0] != PT_LIVE_BREAK_BEFORE_MAKE;
	if (g->skip)
		return true;
	g->parked = strategy == HVO_RENDEZVOUS;
	if (g->parked && !park_others())
		return false;
	g->irqs = arch_irq_save();
	__atomic_fetch_add(&window_seq, 1, __ATOMIC_ACQ_REL);
	return true;
}

static void guard_close(struct guard *g)
{
	if (g->skip)
		return;
	__atomic_fetch_add(&window_seq, 1, __ATOMIC_RELEASE);
	arch_irq_restore(g->irqs);
	if (g->parked)
		unpark();
}

/* ---- The strategies as engine calls ---- */

/* The FEAT_BBM level the strategy resizes with. */
static unsigned resize_level(void)
{
	switch (strategy) {
	case HVO_NT: return 1;
	case HVO_DIRECT:
	case HVO_NO_BREAK: return PT_BBM_LEVELS - 1; /* capped by the CPU's own (pt->bbm_level) */
	default: return 0;
	}
}

/*
 * The vmemmap's own attributes (kmap.c maps it like other data: x86 adds G),
 * read back at hvo_init(): restored entries must equal the others exactly,
 * or the 2M block could never collapse again.
 */
static struct pt_attrs vmemmap_rw, vmemmap_ro;

/* 0, ERR_TIMEDOUT when the other CPUs did not join the rendezvous, or the engine's error. */
static int guarded_split(u64 start, u64 size)
{
	struct guard g;
	int rc;

	if (!guard_open(&g))
		return ERR_TIMEDOUT;
	rc = pt_split_bbm(kmap_pgtable_mut(), start, size, 0, resize_level());
	guard_close(&g);
	return rc;
}

static void guarded_collapse(u64 start, u64 size)
{
	struct guard g;

	if (!guard_open(&g))
		return;
	pt_collapse_bbm(kmap_pgtable_mut(), start, size, resize_level());
	guard_close(&g);
}

/*
 * Points the vmemmap page at va to pa with attrs. Between two read-only pages
 * (strategy e) it never breaks, so it needs no guard; otherwise it may.
 * Returns what guarded_split() does.
 */
static int remap(u64 va, paddr_t pa, struct pt_attrs attrs)
{
	struct guard g;
	int rc;

	if (strategy == HVO_NO_BREAK)
		return pt_map(kmap_pgtable_mut(), va, pa, PAGE_SIZE, attrs, PT_MAP_MAX_LEVEL(0));
	if (!guard_open(&g))
		return ERR_TIMEDOUT;
	rc = pt_map(kmap_pgtable_mut(), va, pa, PAGE_SIZE, attrs, PT_MAP_MAX_LEVEL(0));
	guard_close(&g);
	return rc;
}

static paddr_t backing_of(u64 va)
{
	struct pt_translation t;

	BUG_ON(!pt_translate(kmap_pgtable(), va, &t) || t.level);
	return t.pa;
}

/*
 * Gives a tail page's old frame to the allocator: a boot-time vmemmap frame as
 * a spare, which a restore claims back, any other one as a plain free page.
 */
static void release_frame(u64 va, paddr_t pa)
{
	if (pa_addr(pa) == pa_addr(kmap_vmemmap_backing(va)))
		pmm_give(pa);
	else
		pmm_free(pa, ORDER_4K);
}

/*
 * Strategy e's precondition, checked: once the tails are read-only nobody can
 * change them, so equal now means equal while the output address moves.
 */
static bool same_as_shared(u64 va)
{
	return !memcmp((const void *)(uintptr_t)va, phys_to_virt(shared_tails), PAGE_SIZE);
}

static int remap_tails_to_shared(struct tail_pages tp)
{
	struct pgtable *kpt = kmap_pgtable_mut();
	int rc;

	if (strategy == HVO_NO_BREAK) {
		rc = pt_protect(kpt, tp.va, tp.count << PAGE_SHIFT, vmemmap_ro);
		if (rc)
			return rc;
	}
	for (u64 i = 0; i < tp.count; i++) {
		u64 va = tp.va + (i << PAGE_SHIFT);
		paddr_t old = backing_of(va);

		if (strategy == HVO_NO_BREAK && !same_as_shared(va))
			panic("hvo: tail struct pages at 0x%llx changed while read-only",
			      (unsigned long long)va);
		/* Read-only to read-only (e) needs no break; writable to shared (a-d) does. */
		rc = remap(va, shared_tails, vmemmap_ro);
		if (rc)
			return rc;
		release_frame(va, old);
		stats.vmemmap_pages_freed++;
	}
	return 0;
}

/* ---- optimize / restore ---- */

bool hvo_optimize(paddr_t head, unsigned order)
{
	struct page *h = pa_to_page(head);
	struct tail_pages tp = tail_pages_of(head, order);
	u64 start = arch_counter_read(), blocks, blocks_size, tables;
	bool ok;

	if (strategy == HVO_OFF || (order != ORDER_2M && order != ORDER_1G) ||
	    h->state != PAGE_ALLOCATED_HEAD || h->order != order || (h->flags & PAGE_FLAG_HVO))
		return false;
	/* Not irqsave: interrupts stay on except while a break may be open. */
	spin_lock(&hvo_lock);
	tables = kmap_pgtable()->tables;
	for (struct page *p = h + 1; p < h + (1ULL << order); p++)
		make_tail_canonical(p);
	vmemmap_blocks_of(head, order, &blocks, &blocks_size);
	ok = !guarded_split(blocks, blocks_size) && !remap_tails_to_shared(tp);
	if (ok) {
		h->flags |= PAGE_FLAG_HVO;
		stats.optimized++;
	} else {
		stats.failed++;
	}
	stats.saved_pages += (s64)tp.count - (s64)(kmap_pgtable()->tables - tables);
	stats.remap_ticks += arch_counter_read() - start;
	stats.remap_ticks_max = MAX(stats.remap_ticks_max, arch_counter_read() - start);
	spin_unlock(&hvo_lock);
	return ok;
}

/*
 * The frames the tail pages get back: their boot-time frames where still free
 * (then the 2M vmemmap block can collapse again), any frame otherwise. All
 * taken before any entry changes, linked through their struct pages, so the
 * remaps after cannot fail for memory.
 */
static bool take_frames(struct tail_pages tp, u64 *list)
{
	*list = ~0ULL;
	for (u64 i = 0; i < tp.count; i++) {
		paddr_t want = kmap_vmemmap_backing(tp.va + (i << PAGE_SHIFT));
		paddr_t pa = pmm_claim(want) ? want : pmm_alloc_uninit(ORDER_4K);

		if (!pa_addr(pa)) {
			while (*list != ~0ULL) {
				paddr_t f = pa_init(*list << PAGE_SHIFT);

				*list = pa_to_page(f)->next_pfn;
				pmm_free(f, ORDER_4K);
			}
			return false;
		}
		pa_to_page(pa)->next_pfn = *list;
		*list = pa_addr(pa) >> PAGE_SHIFT;
	}
	return true;
}

static paddr_t next_frame(u64 *list)
{
	paddr_t pa = pa_init(*list << PAGE_SHIFT);

	*list = pa_to_page(pa)->next_pfn;
	return pa;
}

bool hvo_restore(paddr_t head, unsigned order)
{
	struct page *h = pa_to_page(head);
	struct tail_pages tp = tail_pages_of(head, order);
	struct pgtable *kpt = kmap_pgtable_mut();
	u64 start = arch_counter_read(), frames, blocks, blocks_size, tables;

	if (!(h->flags & PAGE_FLAG_HVO))
		return true;
	spin_lock(&hvo_lock);
	if (!take_frames(tp, &frames)) {
		stats.failed++;
		spin_unlock(&hvo_lock);
		return false;
	}
	tables = kpt->tables;
	/* Frames taken last come first: walk the pages backwards to pair them with their own. */
	for (u64 i = tp.count; i-- > 0;) {
		u64 va = tp.va + (i << PAGE_SHIFT);
		paddr_t pa = next_frame(&frames);

		memcpy(phys_to_virt(pa), phys_to_virt(shared_tails), PAGE_SIZE);
		/* e: read-only to read-only of identical contents, made writable below. */
		BUG_ON(remap(va, pa, strategy == HVO_NO_BREAK ? vmemmap_ro : vmemmap_rw));
		stats.vmemmap_pages_restored++;
	}
	if (strategy == HVO_NO_BREAK)
		BUG_ON(pt_protect(kpt, tp.va, tp.count << PAGE_SHIFT, vmemmap_rw));
	h->flags &= (u8)~PAGE_FLAG_HVO;
	vmemmap_blocks_of(head, order, &blocks, &blocks_size);
	guarded_collapse(blocks, blocks_size);
	stats.saved_pages -= (s64)tp.count + (s64)(kpt->tables - tables);
	stats.restored++;
	stats.remap_ticks += arch_counter_read() - start;
	stats.remap_ticks_max = MAX(stats.remap_ticks_max, arch_counter_read() - start);
	spin_unlock(&hvo_lock);
	return true;
}

bool hvo_is_optimized(paddr_t head)
{
	return (pa_to_page(head)->flags & PAGE_FLAG_HVO) != 0;
}

/* ---- Strategy choice ---- */

static bool strategy_usable(enum hvo_strategy s, const char **why)
{
	unsigned level = kmap_pgtable()->bbm_level;
	bool arm_rules = kmap_pgtable()->fmt->resize[0] == PT_LIVE_BREAK_BEFORE_MAKE;

	*why = NULL;
	if (!arm_rules && s != HVO_NO_BREAK && s != HVO_OFF)
		*why = "no break-before-make here: every change is written, then invalidated (e)";
	else if (s == HVO_NT && arm_rules && level < 1)
		*why = "needs FEAT_BBM level 1";
	else if (s == HVO_DIRECT && arm_rules && level < 2)
		*why = "needs FEAT_BBM level 2";
	return !*why;
}

const char *hvo_strategy_name(enum hvo_strategy s)
{
	return s < HVO_STRATEGIES ? strategy_names[s] : "?";
}

enum hvo_strategy hvo_strategy(void)
{
	return strategy;
}

const char *hvo_strategy_unusable(enum hvo_strategy s)
{
	const char *why;

	if (s >= HVO_STRATEGIES)
		return "no such strategy";
	return strategy_usable(s, &why) ? NULL : why;
}

bool hvo_set_strategy(enum hvo_strategy s)
{
	if (hvo_strategy_unusable(s))
		return false;
	spin_lock(&hvo_lock);
	strategy = s;
	spin_unlock(&hvo_lock);
	return true;
}

void hvo_init(enum hvo_strategy want, hvo_cpu_call_fn call)
{
	const char *why;
	struct page *tails;

	spin_lock_init(&hvo_lock);
	cpu_call = call;
	if (want != HVO_OFF && !strategy_usable(want, &why)) {
		printf("hvo: strategy %s unusable here (%s): using %s\n", strategy_names[want], why,
		       strategy_names[HVO_DEFAULT]);
		want = HVO_DEFAULT;
	}
	shared_tails = pmm_alloc(ORDER_4K);
	if (!pa_addr(shared_tails)) {
		printf("hvo: no memory for the shared tail page: off\n");
		return;
	}
	{
		struct pt_translation t;

		BUG_ON(!pt_translate(kmap_pgtable(), vmemmap_va_of(shared_tails), &t));
		vmemmap_rw = t.attrs;
		vmemmap_ro = (struct pt_attrs){t.attrs.prot & ~(u32)PT_WRITE, t.attrs.memtype};
	}
	tails = phys_to_virt(shared_tails);
	for (unsigned i = 0; i < TAILS_PER_PAGE; i++)
		make_tail_canonical(&tails[i]);
	kmap_pgtable_mut()->live_stats = &live;
	arch_set_kernel_fault_fixup(fixup_wait);
	strategy = want;
	printf("hvo: vmemmap optimization %s, FEAT_BBM level %u\n", strategy_names[strategy],
	       kmap_pgtable()->bbm_level);
}

void hvo_get_stats(struct hvo_stats *out)
{
	spin_lock(&hvo_lock);
	*out = stats;
	out->breaks = __atomic_load_n(&live.breaks, __ATOMIC_RELAXED);
	out->break_ticks = __atomic_load_n(&live.break_ticks, __ATOMIC_RELAXED);
	out->break_ticks_max = __atomic_load_n(&live.break_ticks_max, __ATOMIC_RELAXED);
	out->nt_sequences = __atomic_load_n(&live.nt_sequences, __ATOMIC_RELAXED);
	out->direct_resizes = __atomic_load_n(&live.direct_resizes, __ATOMIC_RELAXED);
	spin_unlock(&hvo_lock);
}

void hvo_reset_peaks(void)
{
	spin_lock(&hvo_lock);
	__atomic_store_n(&live.break_ticks_max, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&stats.fixup_wait_ticks_max, 0, __ATOMIC_RELAXED);
	stats.remap_ticks_max = 0;
	spin_unlock(&hvo_lock);
}

void hvo_report(void)
{
	struct hvo_stats s;

	hvo_get_stats(&s);
	printf("hvo: strategy %s: %llu optimized, %llu restored, vmemmap saved now %lld KiB "
	       "(%llu pages freed, %llu restored), %llu fixup waits, %llu breaks\n",
	       strategy_names[strategy], (unsigned long long)s.optimized,
	       (unsigned long long)s.restored, (long long)(s.saved_pages * (s64)(PAGE_SIZE >> 10)),
	       (unsigned long long)s.vmemmap_pages_freed,
	       (unsigned long long)s.vmemmap_pages_restored, (unsigned long long)s.fixup_waits,
	       (unsigned long long)s.breaks);
}
