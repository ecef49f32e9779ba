/* SPDX-License-Identifier: MIT */
/*
 * Postcopy demand paging with HGM (vmm/postcopy.h, docs/postcopy.md): the
 * fault path, the background mover, collapse, discard and the statistics.
 * Generic: the backends only decode the fault (vmm/fault.c calls in here).
 */
#include "vmm/postcopy.h"
#include "kernel/percpu.h"
#include "kernel/smp.h"
#include "lib/memzero.h"
#include "lib/printf.h"
#include "mm/kmap.h"
#include "mm/pmm.h"
#include "vmm/vm.h"

#define REGION_SIZE	 MiB(2)
#define GIB_SIZE	 GiB(1)
#define PAGES_PER_REGION (REGION_SIZE / PAGE_SIZE)
#define REGIONS_PER_GIB	 (GIB_SIZE / REGION_SIZE)

/* Guest RAM: normal write-back memory the guest may read, write and execute. */
static const struct pt_attrs ram_attrs = {PT_READ | PT_WRITE | PT_EXEC, PT_MEM_NORMAL};

static void stat_add(u64 *counter, u64 n)
{
	__atomic_fetch_add(counter, n, __ATOMIC_RELAXED);
}

/* ---- Bitmaps (one bit per 4K page of a slot) ---- */

static bool bit_test(const u64 *map, u64 i)
{
	return __atomic_load_n(&map[i / 64], __ATOMIC_ACQUIRE) & BIT(i % 64);
}

/* Release: what the bit announces (a page's content) is visible before the bit. */
static bool bit_set(u64 *map, u64 i)
{
	return __atomic_fetch_or(&map[i / 64], BIT(i % 64), __ATOMIC_RELEASE) & BIT(i % 64);
}

static bool bit_clear(u64 *map, u64 i)
{
	return __atomic_fetch_and(&map[i / 64], ~BIT(i % 64), __ATOMIC_RELEASE) & BIT(i % 64);
}

/* ---- Where a guest-physical address sits in a slot ---- */

static u64 page_index(const struct vm_slot *s, u64 gpa)
{
	return (gpa - s->gpa) >> PAGE_SHIFT;
}

static struct pc_region *region_of(const struct vm_slot *s, u64 gpa)
{
	return &s->pc->regions[(gpa - s->gpa) / REGION_SIZE];
}

/* 1G blocks are counted by guest-physical alignment: that is what a 1G leaf covers. */
static struct pc_gib *gib_of(const struct vm_slot *s, u64 gpa)
{
	return &s->pc->gibs[gpa / GIB_SIZE - s->gpa / GIB_SIZE];
}

static u64 slot_gibs(const struct vm_slot *s)
{
	return (s->gpa + s->size - 1) / GIB_SIZE - s->gpa / GIB_SIZE + 1;
}

/* The mover's step: a page with HGM, else a region (a 1G unit is resolved by its first region). */
static u64 mover_step(const struct vm *vm)
{
	return vm->pc.cfg.unit == POSTCOPY_UNIT_4K ? PAGE_SIZE : REGION_SIZE;
}

/* ---- The invalidation sequence ---- */

static u64 inval_seq_read(struct vm *vm)
{
	return __atomic_load_n(&vm->pc.inval_seq, __ATOMIC_SEQ_CST);
}

/*
 * Called by an invalidation after its changes, before it drops the region
 * lock(s) it holds: a resolver that looked at the page before this point
 * sees a new value when it gets the lock, and retries.
 */
static void inval_seq_bump(struct vm *vm)
{
	__atomic_add_fetch(&vm->pc.inval_seq, 1, __ATOMIC_SEQ_CST);
}

/* ---- Region locks ---- */

/*
 * Region locks are held with interrupts masked: nothing that runs in
 * interrupt context takes them today (the mover is a thread-context work
 * item), but a cross-call that did would spin forever on a lock its own
 * CPU's interrupted thread holds; masking keeps that possible and costs
 * little, since the sections are short.
 */
static unsigned long region_lock(struct pc_region *r)
{
	return spin_lock_irqsave(&r->lock);
}

static void region_unlock(struct pc_region *r, unsigned long flags)
{
	spin_unlock_irqrestore(&r->lock, flags);
}

/* Locks every region of [gpa, gpa + size) in ascending order: the one order everyone uses. */
static unsigned long regions_lock(const struct vm_slot *s, u64 gpa, u64 size)
{
	unsigned long flags = arch_irq_save();

	for (u64 at = gpa; at < gpa + size; at += REGION_SIZE)
		spin_lock(&region_of(s, at)->lock);
	return flags;
}

static void regions_unlock(const struct vm_slot *s, u64 gpa, u64 size, unsigned long flags)
{
	for (u64 at = gpa; at < gpa + size; at += REGION_SIZE)
		spin_unlock(&region_of(s, at)->lock);
	arch_irq_restore(flags);
}

static bool in_flight(const struct vm_slot *s, u64 i)
{
	return bit_test(s->pc->requested, i) && !bit_test(s->present, i);
}

/* Waits until a transfer another CPU claimed has ended (arrived or failed). */
static void wait_in_flight(const struct vm_slot *s, u64 i)
{
	while (in_flight(s, i))
		arch_cpu_relax();
}

/* ---- Arrival: claim, transfer, record exactly once ---- */

/*
 * Brings the claimed page at gpa from the source (or zeros), then records its
 * arrival. A request's first page pays its latency; streamed: the mover asked.
 */
static int page_transfer(struct vm *vm, struct vm_slot *s, u64 gpa, bool first, bool streamed)
{
	struct vm_postcopy *pc = &vm->pc;
	void *page = vm_slot_page(s, gpa);
	u64 i = page_index(s, gpa);
	int rc = 0;

	/* The claim makes this CPU the page's only writer until the present bit is set. */
	if (bit_clear(s->pc->zero_next, i)) {
		memzero_pages(page, PAGE_SIZE);
	} else {
		if (first) {
			source_wait_latency(&pc->cfg.source);
			stat_add(&pc->stats.urgent_requests, 1);
		}
		rc = source_transfer(&pc->cfg.source, page, gpa, PAGE_SIZE);
	}
	if (rc) {
		stat_add(&pc->stats.source_failures, 1);
		bit_clear(s->pc->requested, i); /* unclaimed: a later request tries again */
		return ERR_TIMEDOUT;
	}
	/* The guest may run with its caches off: the content must be in memory. */
	arch_vm_cache_sync(page, PAGE_SIZE, false);
	if (bit_set(s->present, i))
		stat_add(&pc->stats.arrival_dups, 1);
	stat_add(&pc->stats.pages_arrived, 1);
	if (streamed)
		stat_add(&pc->stats.pages_streamed, 1);
	return 0;
}

/* page_arrive() for the mover: the page is in flight, the CPU that claimed it will install it. */
#define MOVER_PASSES	     3
#define PAGE_LEFT_TO_CLAIMER 1

/*
 * Makes the page at gpa present: returns at once if it is, else claims it
 * (under its region's lock, so a discard never overlaps a claim) and
 * transfers it unlocked. A page another CPU is bringing: a fault waits for
 * it; the mover moves on (PAGE_LEFT_TO_CLAIMER) rather than spin on a vCPU
 * that may not even be running (single-threaded TCG runs one CPU at a time).
 */
static int page_arrive(struct vm *vm, struct vm_slot *s, u64 gpa, bool urgent)
{
	struct pc_region *r = region_of(s, gpa);
	u64 i = page_index(s, gpa);
	bool waited = false;

	for (;;) {
		unsigned long flags;

		if (bit_test(s->present, i))
			break;
		flags = region_lock(r);
		if (bit_test(s->present, i)) {
			region_unlock(r, flags);
			break;
		}
		if (!bit_set(s->pc->requested, i)) {
			region_unlock(r, flags);
			return page_transfer(vm, s, gpa, urgent, !urgent);
		}
		region_unlock(r, flags);
		/* In flight (the mover's, or another vCPU's): it arrives with that transfer. */
		if (!urgent)
			return PAGE_LEFT_TO_CLAIMER;
		waited = true;
		wait_in_flight(s, i);
	}
	if (waited && urgent)
		stat_add(&vm->pc.stats.fault_waits, 1);
	return 0;
}

/* Makes every page of [gpa, gpa + size) present, with the regions locked: the non-HGM unit. */
static int range_arrive_locked(struct vm *vm, struct vm_slot *s, u64 gpa, u64 size, bool urgent)
{
	bool paid = false;

	for (u64 at = gpa; at < gpa + size; at += PAGE_SIZE) {
		u64 i = page_index(s, at);
		int rc;

		wait_in_flight(s, i);
		if (bit_test(s->present, i))
			continue;
		bit_set(s->pc->requested, i);
		/* One request for the whole unit: its latency once, then its bytes. */
		rc = page_transfer(vm, s, at, urgent && !paid, !urgent);
		paid = true;
		if (rc)
			return rc;
	}
	return 0;
}

/* ---- The model of the tables under a slot: splits, collapses, table counts ---- */

/* A region gets its first mapping: a 4K table (state TABLE) or a 2M leaf (state LEAF). */
static void region_fill_first(struct vm *vm, struct vm_slot *s, u64 gpa, enum region_state state)
{
	struct postcopy_stats *st = &vm->pc.stats;

	region_of(s, gpa)->state = (u8)state;
	if (state == REGION_TABLE) {
		stat_add(&st->splits[0], 1);
		stat_add(&st->tables_allocated, 1);
	}
	/* The first region of a 1G block in use: the 1G is now mapped through a 2M table. */
	if (__atomic_fetch_add(&gib_of(s, gpa)->nonempty, 1, __ATOMIC_RELAXED) == 0) {
		stat_add(&st->splits[1], 1);
		stat_add(&st->tables_allocated, 1);
	}
}

/* A region's last mapping went: the engine reclaimed its table, maybe the 1G's too. */
static void region_emptied(struct vm *vm, struct vm_slot *s, u64 gpa, enum region_state was)
{
	struct postcopy_stats *st = &vm->pc.stats;

	region_of(s, gpa)->state = REGION_EMPTY;
	if (was == REGION_TABLE)
		stat_add(&st->tables_freed, 1);
	if (__atomic_sub_fetch(&gib_of(s, gpa)->nonempty, 1, __ATOMIC_RELAXED) == 0)
		stat_add(&st->tables_freed, 1);
}

/* Marks all of [gpa, gpa + size) mapped (a leaf went in). */
static void mark_mapped(struct vm_slot *s, u64 gpa, u64 size)
{
	for (u64 at = gpa; at < gpa + size; at += PAGE_SIZE)
		bit_set(s->pc->mapped, page_index(s, at));
}

/* ---- Collapse ---- */

static bool leaf_at(struct vm *vm, u64 gpa, unsigned level)
{
	struct pt_translation t;

	return pt_translate(&vm->pt, gpa, &t) && t.level == level;
}

/*
 * The region holding gpa has all 512 pages mapped at 4K (its lock held):
 * one 2M leaf replaces its table, which the engine frees after the
 * invalidation. Returns true when that completed its whole 1G block.
 */
static bool region_collapse_locked(struct vm *vm, struct vm_slot *s, u64 gpa)
{
	struct postcopy_stats *st = &vm->pc.stats;
	u64 base = ALIGN_DOWN(gpa, REGION_SIZE);

	pt_collapse(&vm->pt, base, REGION_SIZE);
	inval_seq_bump(vm);
	if (!leaf_at(vm, base, 1)) {
		stat_add(&st->collapse_misses, 1);
		return false;
	}
	region_of(s, gpa)->state = REGION_LEAF;
	stat_add(&st->collapses[0], 1);
	stat_add(&st->tables_freed, 1);
	return __atomic_add_fetch(&gib_of(s, gpa)->full, 1, __ATOMIC_RELAXED) == REGIONS_PER_GIB;
}

/*
 * Whether the 1G block at base can become one leaf: the stage-2 format has
 * 1 GiB leaves on this CPU (not NPT without Page1GB, nor EPT without its
 * IA32_VMX_EPT_VPID_CAP bit 17), and the block is inside s, backed by one
 * 1G block. Otherwise its regions stay 2M leaves.
 */
static bool gib_collapsible(const struct vm *vm, const struct vm_slot *s, u64 base)
{
	return (vm->fmt.leaf_levels & BIT(2)) && s->block_order == ORDER_1G && base >= s->gpa &&
	       base + GIB_SIZE <= s->gpa + s->size;
}

/*
 * Every region of the 1G block holding gpa is a 2M leaf: one 1G leaf
 * replaces the 2M table. Rare (once per GiB), so it simply takes all 512
 * region locks, in the common ascending order.
 */
static void gib_collapse(struct vm *vm, struct vm_slot *s, u64 gpa)
{
	struct postcopy_stats *st = &vm->pc.stats;
	u64 base = ALIGN_DOWN(gpa, GIB_SIZE);
	struct pc_gib *g = gib_of(s, gpa);
	unsigned long flags;

	if (!gib_collapsible(vm, s, base))
		return;
	flags = regions_lock(s, base, GIB_SIZE);
	if (__atomic_load_n(&g->full, __ATOMIC_RELAXED) == REGIONS_PER_GIB && !g->leaf) {
		pt_collapse(&vm->pt, base, GIB_SIZE);
		inval_seq_bump(vm);
		if (leaf_at(vm, base, 2)) {
			g->leaf = 1;
			stat_add(&st->collapses[1], 1);
			stat_add(&st->tables_freed, 1);
		} else {
			stat_add(&st->collapse_misses, 1);
		}
	}
	regions_unlock(s, base, GIB_SIZE, flags);
}

/* ---- Install ---- */

/*
 * Maps the present page at gpa at 4K (its region locked): PT_MAP_MAX_LEVEL(0)
 * makes the engine create tables only on this address's path. Collapses the
 * region when this was its last page; *gib_full says the 1G block is complete.
 */
static int install_page_locked(struct vm *vm, struct vm_slot *s, u64 gpa, bool *gib_full)
{
	struct pc_region *r = region_of(s, gpa);

	if (bit_test(s->pc->mapped, page_index(s, gpa)))
		return 0;
	if (pt_map(&vm->pt, gpa, virt_to_phys(vm_slot_page(s, gpa)), PAGE_SIZE, ram_attrs,
		   PT_MAP_MAX_LEVEL(0)))
		return ERR_NOMEM;
	bit_set(s->pc->mapped, page_index(s, gpa));
	if (r->mapped++ == 0)
		region_fill_first(vm, s, gpa, REGION_TABLE);
	if (r->mapped == PAGES_PER_REGION)
		*gib_full = region_collapse_locked(vm, s, gpa);
	return 0;
}

/*
 * HGM: brings and maps exactly the 4 KiB at gpa. The transfer runs with no
 * lock held; the install validates, under the region lock, that no
 * invalidation ran since the page was looked at, or starts over.
 */
static int resolve_page(struct vm *vm, struct vm_slot *s, u64 gpa, bool urgent)
{
	struct pc_region *r = region_of(s, gpa);

	for (;;) {
		u64 seq = inval_seq_read(vm);
		bool gib_full = false;
		int rc = page_arrive(vm, s, gpa, urgent);
		unsigned long flags;

		if (rc == PAGE_LEFT_TO_CLAIMER)
			return 0;
		if (rc)
			return rc;
		flags = region_lock(r);
		if (inval_seq_read(vm) != seq) {
			region_unlock(r, flags);
			stat_add(urgent ? &vm->pc.stats.fault_retries : &vm->pc.stats.mover_retries,
				 1);
			continue;
		}
		rc = install_page_locked(vm, s, gpa, &gib_full);
		region_unlock(r, flags);
		if (gib_full)
			gib_collapse(vm, s, gpa);
		return rc;
	}
}

/* Non-HGM 2M: the whole region arrives, then one 2M leaf (its lock held throughout). */
static int resolve_region_locked(struct vm *vm, struct vm_slot *s, u64 base, bool urgent,
				 bool *gib_full)
{
	struct pc_region *r = region_of(s, base);
	enum region_state was = (enum region_state)r->state;
	int rc;

	if (was == REGION_LEAF)
		return 0;
	rc = range_arrive_locked(vm, s, base, REGION_SIZE, urgent);
	if (rc)
		return rc;
	/* Over a region that has a 4K table, the engine fills the table: collapse it after. */
	if (pt_map(&vm->pt, base, virt_to_phys(vm_slot_page(s, base)), REGION_SIZE, ram_attrs,
		   PT_MAP_MAX_LEVEL(1)))
		return ERR_NOMEM;
	mark_mapped(s, base, REGION_SIZE);
	r->mapped = PAGES_PER_REGION;
	if (was == REGION_TABLE) {
		*gib_full = region_collapse_locked(vm, s, base);
		return 0;
	}
	region_fill_first(vm, s, base, REGION_LEAF);
	*gib_full =
		__atomic_add_fetch(&gib_of(s, base)->full, 1, __ATOMIC_RELAXED) == REGIONS_PER_GIB;
	return 0;
}

static int resolve_region(struct vm *vm, struct vm_slot *s, u64 gpa, bool urgent)
{
	u64 base = ALIGN_DOWN(gpa, REGION_SIZE);
	struct pc_region *r = region_of(s, base);
	bool gib_full = false;
	unsigned long flags = region_lock(r);
	int rc = resolve_region_locked(vm, s, base, urgent, &gib_full);

	region_unlock(r, flags);
	if (gib_full)
		gib_collapse(vm, s, base);
	return rc;
}

/* Non-HGM 1G: the whole block arrives (all its regions locked), then one 1G leaf. */
static int resolve_gib(struct vm *vm, struct vm_slot *s, u64 gpa, bool urgent)
{
	u64 base = ALIGN_DOWN(gpa, GIB_SIZE);
	struct pc_gib *g = gib_of(s, gpa);
	bool gib_full = false;
	unsigned long flags;
	int rc = 0;

	if (!gib_collapsible(vm, s, base))
		return resolve_region(vm, s, gpa, urgent);
	flags = regions_lock(s, base, GIB_SIZE);
	if (!g->leaf) {
		rc = range_arrive_locked(vm, s, base, GIB_SIZE, urgent);
		/* 2M at a time: the per-region model stays exact; then one collapse to 1G. */
		for (u64 at = base; !rc && at < base + GIB_SIZE; at += REGION_SIZE)
			rc = resolve_region_locked(vm, s, at, false, &gib_full);
	}
	regions_unlock(s, base, GIB_SIZE, flags);
	if (gib_full)
		gib_collapse(vm, s, base);
	return rc;
}

static int resolve(struct vm *vm, struct vm_slot *s, u64 gpa, bool urgent)
{
	switch (vm->pc.cfg.unit) {
	case POSTCOPY_UNIT_2M: return resolve_region(vm, s, gpa, urgent);
	case POSTCOPY_UNIT_1G: return resolve_gib(vm, s, gpa, urgent);
	default: return resolve_page(vm, s, gpa, urgent);
	}
}

/* ---- Latency histogram ---- */

static unsigned latency_bucket(u64 ticks)
{
	unsigned top;

	if (ticks < BIT(LATENCY_SUB_BITS))
		return (unsigned)ticks;
	top = 63 - (unsigned)__builtin_clzll(ticks);
	return ((top - LATENCY_SUB_BITS + 1) << LATENCY_SUB_BITS) +
	       (unsigned)((ticks >> (top - LATENCY_SUB_BITS)) & (BIT(LATENCY_SUB_BITS) - 1));
}

/* The largest value bucket b holds. */
static u64 latency_bucket_top(unsigned b)
{
	unsigned octave = b >> LATENCY_SUB_BITS, sub = b & (BIT(LATENCY_SUB_BITS) - 1);
	unsigned shift;

	if (!octave)
		return b;
	shift = octave - 1;
	return ((BIT(LATENCY_SUB_BITS) + sub + 1) << shift) - 1;
}

static void latency_record(struct latency_hist *h, u64 ticks)
{
	u64 max = __atomic_load_n(&h->max, __ATOMIC_RELAXED);

	stat_add(&h->buckets[latency_bucket(ticks)], 1);
	stat_add(&h->count, 1);
	stat_add(&h->sum, ticks);
	while (ticks > max && !__atomic_compare_exchange_n(&h->max, &max, ticks, true,
							   __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

u64 postcopy_latency_percentile(const struct latency_hist *h, unsigned p)
{
	u64 count = __atomic_load_n(&h->count, __ATOMIC_RELAXED);
	u64 rank = (count * p + 99) / 100, seen = 0;

	if (!count)
		return 0;
	for (unsigned b = 0; b < LATENCY_BUCKETS; b++) {
		seen += __atomic_load_n(&h->buckets[b], __ATOMIC_RELAXED);
		if (seen >= rank && seen)
			return MIN(latency_bucket_top(b), h->max);
	}
	return h->max;
}

/* ---- Entry points from the rest of vmm/ ---- */

/*
 * Urgent requests are counted per CPU-visible total; a fault that raised it
 * sent one. (With several vCPUs another fault may raise it meanwhile: then
 * this fault is misfiled as urgent, which only skews that histogram.)
 */
int postcopy_fault(struct vm *vm, struct vm_slot *s, u64 gpa)
{
	struct postcopy_stats *st = &vm->pc.stats;
	u64 start = arch_counter_read(), ticks;
	u64 urgent = __atomic_load_n(&st->urgent_requests, __ATOMIC_RELAXED);
	u64 page = ALIGN_DOWN(gpa, PAGE_SIZE);
	int rc;

	__atomic_store_n(&vm->pc.hint, page + 1, __ATOMIC_RELAXED);
	rc = resolve(vm, s, page, true);
	if (rc)
		return rc;
	ticks = arch_counter_read() - start;
	stat_add(&st->faults, 1);
	latency_record(&st->latency, ticks);
	if (__atomic_load_n(&st->urgent_requests, __ATOMIC_RELAXED) != urgent)
		latency_record(&st->urgent_latency, ticks);
	return 0;
}

void *postcopy_page_fill(struct vm *vm, struct vm_slot *s, u64 gpa)
{
	return page_arrive(vm, s, ALIGN_DOWN(gpa, PAGE_SIZE), true) ? NULL : vm_slot_page(s, gpa);
}

/* ---- Discard ---- */

/* Locks the region once no transfer in [gpa, gpa + len) is in flight (none starts after). */
static unsigned long region_lock_settled(const struct vm_slot *s, u64 gpa, u64 len)
{
	struct pc_region *r = region_of(s, gpa);

	for (;;) {
		unsigned long flags = region_lock(r);
		u64 busy = ~0ull;

		for (u64 at = gpa; at < gpa + len && busy == ~0ull; at += PAGE_SIZE)
			if (in_flight(s, page_index(s, at)))
				busy = page_index(s, at);
		if (busy == ~0ull)
			return flags;
		region_unlock(r, flags);
		wait_in_flight(s, busy);
	}
}

/* Forgets the content of [gpa, gpa + len): returns the pages that were mapped. */
static u64 forget_pages(struct vm *vm, struct vm_slot *s, u64 gpa, u64 len)
{
	bool zero = vm->pc.cfg.after_discard == POSTCOPY_DISCARD_ZERO;
	u64 unmapped = 0;

	for (u64 at = gpa; at < gpa + len; at += PAGE_SIZE) {
		u64 i = page_index(s, at);

		unmapped += bit_clear(s->pc->mapped, i);
		/* Even a page that never arrived: the guest gave it up, it need not travel. */
		if (zero)
			bit_set(s->pc->zero_next, i);
		if (!bit_clear(s->present, i))
			continue;
		bit_clear(s->pc->requested, i);
		stat_add(&vm->pc.stats.pages_discarded, 1);
		vm_stat_inc(&vm->stats.pages_discarded);
	}
	return unmapped;
}

/* The model after unmapping `unmapped` pages of the region at gpa, which was in state was. */
static void region_account_unmap(struct vm *vm, struct vm_slot *s, u64 gpa, enum region_state was,
				 u64 unmapped)
{
	struct pc_region *r = region_of(s, gpa);

	if (!unmapped)
		return;
	r->mapped = (u16)(r->mapped - unmapped);
	if (was == REGION_LEAF) {
		__atomic_sub_fetch(&gib_of(s, gpa)->full, 1, __ATOMIC_RELAXED);
		if (r->mapped) {
			/* Part of a 2M leaf went: the engine split it into a 4K table. */
			r->state = REGION_TABLE;
			stat_add(&vm->pc.stats.splits[0], 1);
			stat_add(&vm->pc.stats.tables_allocated, 1);
		}
	}
	if (!r->mapped)
		region_emptied(vm, s, gpa, was);
}

/* A discard inside a 1G leaf: the engine splits it into a 2M table first. */
static void gib_split_if_leaf(struct vm *vm, struct vm_slot *s, u64 gpa)
{
	if (!__atomic_exchange_n(&gib_of(s, gpa)->leaf, 0, __ATOMIC_RELAXED))
		return;
	stat_add(&vm->pc.stats.splits[1], 1);
	stat_add(&vm->pc.stats.tables_allocated, 1);
}

/* Discards [gpa, gpa + len), inside one 2M region. */
static int discard_in_region(struct vm *vm, struct vm_slot *s, u64 gpa, u64 len)
{
	struct pc_region *r = region_of(s, gpa);
	unsigned long flags = region_lock_settled(s, gpa, len);
	enum region_state was;
	int rc;

	gib_split_if_leaf(vm, s, gpa);
	was = (enum region_state)r->state;
	/* Unmapped (and invalidated) before the pages are forgotten: no vCPU keeps using one. */
	rc = pt_unmap(&vm->pt, gpa, len);
	region_account_unmap(vm, s, gpa, was, forget_pages(vm, s, gpa, len));
	inval_seq_bump(vm);
	region_unlock(r, flags);
	return rc;
}

int postcopy_discard(struct vm *vm, struct vm_slot *s, u64 gpa, u64 len)
{
	int rc = 0;

	for (u64 at = gpa; at < gpa + len && !rc;) {
		u64 end = MIN(ALIGN_DOWN(at, REGION_SIZE) + REGION_SIZE, gpa + len);

		rc = discard_in_region(vm, s, at, end - at);
		at = end;
	}
	return rc;
}

/* ---- The mover ---- */

static bool mover_stopping(struct vm *vm)
{
	return __atomic_load_n(&vm->pc.mover_stop, __ATOMIC_ACQUIRE);
}

static bool unit_mapped(const struct vm *vm, const struct vm_slot *s, u64 gpa)
{
	if (vm->pc.cfg.unit == POSTCOPY_UNIT_4K)
		return bit_test(s->pc->mapped, page_index(s, gpa));
	return region_of(s, gpa)->state == REGION_LEAF;
}

/*
 * Streams one unit at gpa unless it is mapped; a page the source lost is
 * noted and skipped. Returns whether the unit was still unmapped.
 */
static bool mover_unit(struct vm *vm, struct vm_slot *s, u64 gpa)
{
	int rc;

	if (unit_mapped(vm, s, gpa))
		return false;
	rc = resolve(vm, s, gpa, false);
	if (rc && !vm->pc.mover_error)
		vm->pc.mover_error = rc;
	return true;
}

/* AROUND_FAULTS: the region of the latest fault, if there is a new one in this slot. */
static void mover_follow_faults(struct vm *vm, struct vm_slot *s)
{
	u64 hint = __atomic_exchange_n(&vm->pc.hint, 0, __ATOMIC_RELAXED);
	u64 base, step = mover_step(vm);

	if (!hint || hint - 1 - s->gpa >= s->size)
		return;
	base = ALIGN_DOWN(hint - 1, REGION_SIZE);
	for (u64 at = base; at < base + REGION_SIZE && !mover_stopping(vm); at += step)
		mover_unit(vm, s, at);
}

/* One pass over the slot; returns how many units were still unmapped when it came to them. */
static u64 mover_stream_slot(struct vm *vm, struct vm_slot *s)
{
	bool follow = vm->pc.cfg.policy == POSTCOPY_AROUND_FAULTS;
	u64 step = mover_step(vm), unmapped = 0;

	for (u64 at = s->gpa; at < s->gpa + s->size && !mover_stopping(vm); at += step) {
		if (follow && IS_ALIGNED(at, REGION_SIZE))
			mover_follow_faults(vm, s);
		unmapped += mover_unit(vm, s, at);
	}
	return unmapped;
}

/* Runs on the mover's CPU (a work item) until every page is in or it is told to stop. */
static void mover_main(void *arg)
{
	struct vm *vm = arg;
	u64 start = arch_counter_read();

	/*
	 * The first pass streams nearly everything; pages it left to a claimer
	 * that fills without mapping (a hypercall's read) are mapped by a later
	 * one. A few passes at most: a page the source lost stays unmapped.
	 */
	for (unsigned pass = 0; pass < MOVER_PASSES && !mover_stopping(vm); pass++) {
		u64 unmapped = 0;

		for (unsigned i = 0; i < vm->nr_slots && !mover_stopping(vm); i++)
			if (vm->slots[i].pc)
				unmapped += mover_stream_slot(vm, &vm->slots[i]);
		if (!unmapped)
			break;
	}
	vm->pc.mover_ticks = arch_counter_read() - start;
	__atomic_store_n(&vm->pc.mover_state, MOVER_DONE, __ATOMIC_RELEASE);
}

/*
 * The mover in steps, for CPUs that have other work too (vm->while_off): each
 * step claims the next 2M region of the slots from a shared cursor, so
 * several CPUs stream different regions at once, and streams it.
 */
bool vm_postcopy_stream_step(struct vm *vm)
{
	u64 at = __atomic_fetch_add(&vm->pc.step_cursor, REGION_SIZE, __ATOMIC_RELAXED);
	u64 step = mover_step(vm), start = arch_counter_read();

	for (unsigned i = 0; i < vm->nr_slots; i++) {
		struct vm_slot *s = &vm->slots[i];

		if (at >= s->size) {
			at -= s->size;
			continue;
		}
		for (u64 gpa = s->gpa + at; s->pc && gpa < s->gpa + at + REGION_SIZE; gpa += step)
			mover_unit(vm, s, gpa);
		stat_add(&vm->pc.mover_ticks, arch_counter_read() - start);
		return true;
	}
	return false;
}

int vm_postcopy_pick_cpu(void)
{
	for (unsigned i = nr_cpus; i-- > 0;)
		if (i != this_cpu_id() && smp_cpu_idle(i))
			return (int)i;
	return -1;
}

int vm_postcopy_start_mover(struct vm *vm, unsigned cpu)
{
	if (!vm->pc.active || vm->pc.mover_state == MOVER_RUNNING || cpu == this_cpu_id())
		return ERR_INVAL;
	vm->pc.mover_stop = 0;
	vm->pc.mover_error = 0;
	vm->pc.mover_cpu = cpu;
	__atomic_store_n(&vm->pc.mover_state, MOVER_RUNNING, __ATOMIC_RELEASE);
	/*
	 * A work item in thread context on that CPU (kernel/smp.h): interrupts
	 * stay enabled there, so it keeps taking IPIs and its timer; it runs
	 * until it is done or stopped, and that CPU runs nothing else meanwhile.
	 */
	if (smp_work_queue(cpu, &vm->pc.mover_work, mover_main, vm)) {
		vm->pc.mover_state = MOVER_IDLE;
		return ERR_NOTSUP;
	}
	return 0;
}

/* After MOVER_DONE the work item still has its last store to make: then vm is ours again. */
static void mover_work_settle(struct vm *vm)
{
	u32 state = __atomic_load_n(&vm->pc.mover_work.state, __ATOMIC_ACQUIRE);

	while (state == SMP_WORK_QUEUED || state == SMP_WORK_RUNNING) {
		arch_cpu_relax();
		state = __atomic_load_n(&vm->pc.mover_work.state, __ATOMIC_ACQUIRE);
	}
}

bool vm_postcopy_wait_mover(struct vm *vm, u64 timeout_ticks)
{
	u64 start = arch_counter_read();

	while (__atomic_load_n(&vm->pc.mover_state, __ATOMIC_ACQUIRE) == MOVER_RUNNING) {
		if (arch_counter_read() - start > timeout_ticks)
			return false;
		arch_cpu_relax();
	}
	mover_work_settle(vm);
	return true;
}

void vm_postcopy_stop_mover(struct vm *vm)
{
	__atomic_store_n(&vm->pc.mover_stop, 1, __ATOMIC_RELEASE);
	/* It looks at the flag between units: at most one unit's transfer away. */
	while (__atomic_load_n(&vm->pc.mover_state, __ATOMIC_ACQUIRE) == MOVER_RUNNING)
		arch_cpu_relax();
	mover_work_settle(vm);
}

bool vm_postcopy_complete(struct vm *vm)
{
	for (unsigned i = 0; i < vm->nr_slots; i++) {
		const struct vm_slot *s = &vm->slots[i];

		for (u64 w = 0; s->pc && w < s->size / PAGE_SIZE / 64; w++)
			if (__atomic_load_n(&s->present[w], __ATOMIC_ACQUIRE) != ~0ull)
				return false;
	}
	return true;
}

/* ---- Sizing ---- */

/* Bytes an array_alloc() of bytes takes: a power of two of pages. */
static u64 array_bytes(u64 bytes)
{
	u64 got = PAGE_SIZE;

	while (got < bytes)
		got <<= 1;
	return got;
}

u64 postcopy_slot_bytes(u64 size)
{
	u64 bitmap = array_bytes(size / PAGE_SIZE / 8), regions = size / REGION_SIZE;
	/* vmm/vm.c: the present bitmap, one block address and one lock per 2 MiB. */
	u64 slot = bitmap + array_bytes(regions * sizeof(paddr_t)) +
		   array_bytes(regions * sizeof(struct spinlock));
	/* Above: requested, mapped, zero_next, the regions, the 1G blocks, the struct. */
	u64 pc = 3 * bitmap + array_bytes(regions * sizeof(struct pc_region)) +
		 array_bytes((size / GIB_SIZE + 1) * sizeof(struct pc_gib)) + PAGE_SIZE;
	/* One 4K table per 2M region at the peak, one 2M table per GiB, the root and a few. */
	u64 tables = (regions + size / GIB_SIZE + 8) * PAGE_SIZE;

	return size + slot + pc + tables;
}

u64 postcopy_backing_free(void)
{
	u64 bytes = 0;

	for (unsigned order = ORDER_2M; order <= PMM_MAX_ORDER; order++)
		bytes += pmm_free_blocks(order) * (PAGE_SIZE << order);
	return bytes;
}

bool postcopy_fits(u64 bytes, bool gib_block, char *why, size_t len)
{
	u64 huge = postcopy_backing_free();

	if (gib_block && !pmm_free_blocks(ORDER_1G)) {
		snprintf(why, len,
			 "needs a free 1 GiB-aligned 1 GiB block (%llu MiB in all), none in %llu "
			 "MiB free",
			 (bytes + MiB(1) - 1) >> 20, pmm_free_bytes() >> 20);
		return false;
	}
	/* The metadata may split a 2 MiB block too: the whole need in huge blocks, to be safe. */
	if (huge < bytes) {
		snprintf(why, len, "needs %llu MiB free in blocks of 2 MiB or more, have %llu MiB",
			 (bytes + MiB(1) - 1) >> 20, huge >> 20);
		return false;
	}
	return true;
}

/* ---- Attach and teardown ---- */

static void *array_alloc(u64 bytes, unsigned *order)
{
	paddr_t pa;

	*order = 0;
	while ((PAGE_SIZE << *order) < bytes)
		(*order)++;
	pa = pmm_alloc(*order);
	return pa_addr(pa) ? phys_to_virt(pa) : NULL;
}

static void array_free(void *p, unsigned order)
{
	if (p)
		pmm_free(virt_to_phys(p), order);
}

void slot_postcopy_free(struct vm_slot *s)
{
	struct slot_postcopy *pc = s->pc;

	if (!pc)
		return;
	array_free(pc->requested, pc->orders[0]);
	array_free(pc->mapped, pc->orders[1]);
	array_free(pc->zero_next, pc->orders[2]);
	array_free(pc->regions, pc->orders[3]);
	array_free(pc->gibs, pc->orders[4]);
	array_free(pc, 0); /* sizeof(*pc) < PAGE_SIZE: order 0 */
	s->pc = NULL;
}

static int slot_postcopy_init(struct vm_slot *s)
{
	u64 bitmap_bytes = s->size / PAGE_SIZE / 8;
	unsigned self_order;
	struct slot_postcopy *pc = array_alloc(sizeof(*pc), &self_order);

	if (!pc)
		return ERR_NOMEM;
	s->pc = pc;
	pc->requested = array_alloc(bitmap_bytes, &pc->orders[0]);
	pc->mapped = array_alloc(bitmap_bytes, &pc->orders[1]);
	pc->zero_next = array_alloc(bitmap_bytes, &pc->orders[2]);
	pc->regions = array_alloc(s->size / REGION_SIZE * sizeof(*pc->regions), &pc->orders[3]);
	pc->gibs = array_alloc(slot_gibs(s) * sizeof(*pc->gibs), &pc->orders[4]);
	if (!pc->requested || !pc->mapped || !pc->zero_next || !pc->regions || !pc->gibs) {
		slot_postcopy_free(s);
		return ERR_NOMEM;
	}
	/* Pages loaded before postcopy (the guest's image) are present: never requested again. */
	for (u64 w = 0; w < bitmap_bytes / 8; w++)
		pc->requested[w] = s->present[w];
	return 0;
}

int vm_postcopy_attach(struct vm *vm, const struct postcopy_config *cfg)
{
	if (vm->pc.active || cfg->unit > POSTCOPY_UNIT_1G)
		return ERR_INVAL;
	/* The 1G unit maps whole 1G leaves: a CPU whose stage 2 has none cannot run it. */
	if (cfg->unit == POSTCOPY_UNIT_1G && !(vm->fmt.leaf_levels & BIT(2)))
		return ERR_NOTSUP;
	for (unsigned i = 0; i < vm->nr_slots; i++) {
		int rc = slot_postcopy_init(&vm->slots[i]);

		if (rc) {
			for (unsigned j = 0; j <= i; j++)
				slot_postcopy_free(&vm->slots[j]);
			return rc;
		}
	}
	vm->pc = (struct vm_postcopy){.active = true, .cfg = *cfg};
	return 0;
}

/* ---- Report ---- */

static const char *unit_name(enum postcopy_unit unit)
{
	static const char *const names[] = {"4K (HGM)", "2M", "1G"};

	return names[unit];
}

void vm_report(struct vm *vm)
{
	const struct postcopy_stats *st = &vm->pc.stats;
	const struct latency_hist *h = &st->latency, *u = &st->urgent_latency;

	printf("vm%u: postcopy unit %s: %llu faults (%llu retries, %llu waited for a page in "
	       "flight), %llu urgent requests\n",
	       vm->id, unit_name(vm->pc.cfg.unit), st->faults, st->fault_retries, st->fault_waits,
	       st->urgent_requests);
	printf("vm%u: fault-to-resume ticks: p50 %llu p99 %llu max %llu mean %llu (%llu faults, "
	       "%llu ticks/s)\n",
	       vm->id, postcopy_latency_percentile(h, 50), postcopy_latency_percentile(h, 99),
	       h->max, h->count ? h->sum / h->count : 0, h->count, arch_counter_freq());
	printf("vm%u: ... of which sent a request: p50 %llu p99 %llu max %llu (%llu faults)\n",
	       vm->id, postcopy_latency_percentile(u, 50), postcopy_latency_percentile(u, 99),
	       u->max, u->count);
	printf("vm%u: pages arrived %llu (streamed %llu, duplicates %llu), discarded %llu, "
	       "source failures %llu, mover %llu ticks (%llu retries)\n",
	       vm->id, st->pages_arrived, st->pages_streamed, st->arrival_dups, st->pages_discarded,
	       st->source_failures, vm->pc.mover_ticks, st->mover_retries);
	printf("vm%u: splits 2M->4K %llu, 1G->2M %llu; collapses 4K->2M %llu, 2M->1G %llu "
	       "(missed %llu)\n",
	       vm->id, st->splits[0], st->splits[1], st->collapses[0], st->collapses[1],
	       st->collapse_misses);
	printf("vm%u: tables allocated %llu, freed %llu; page-table bytes now %llu (%llu tables), "
	       "peak %llu (%llu tables)\n",
	       vm->id, st->tables_allocated, st->tables_freed,
	       pt_table_bytes(&vm->pt, vm->pt.tables), vm->pt.tables,
	       pt_table_bytes(&vm->pt, vm->pt.tables_peak), vm->pt.tables_peak);
}
