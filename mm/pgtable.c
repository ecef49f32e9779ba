/* SPDX-License-Identifier: MIT */
/*
 * The page-table engine. One recursive walker visits the entries covering a
 * range; operations (map, unmap, protect, split, collapse, dump) are visitors.
 *
 *   walk_table(t):  lock t; for each entry e in range: walk_entry(e); unlock t
 *   walk_entry(e):
 *     table  -> visitor(TABLE_PRE), walk_table(child) with t unlocked meanwhile,
 *               visitor(TABLE_POST)
 *     other  -> visitor(LEAF); if the visitor installed a table (a split, or
 *               a map needing a finer granule), walk into it, then TABLE_POST
 *
 * Every store to an entry goes through set_entry(), which keeps the owning
 * table's valid-entry count exact and sequences live changes the way the
 * regime's rules demand (break-before-make or write-then-invalidate), and
 * makes the store from the visit's snapshot of the entry (entry_update(): the
 * rule in mm/pgtable.h).
 *
 * Concurrency. Each table page has a lock (struct page.pt_lock) that covers
 * changes to its valid entries and its count; the walker holds the lock of
 * the table it iterates and drops it while it walks a child, so operations
 * in different parts of the tree never share a lock. Two locks are held at
 * once only as parent then child (collapse, reclaim), so lock waits always
 * point down the tree and cannot form a cycle. An empty entry becomes a
 * table by compare-and-swap, with no lock: the loser frees its page and uses
 * the winner's: it is the only store ever made without the table's lock, and
 * the reason a store from an empty snapshot is a compare-and-swap. A
 * detached table is marked dead (PT_DEAD in its count, set
 * under its own lock); a writer that locks a dead table re-reads the parent
 * entry and retries. Tables are walked inside a grace-period read section
 * (mm/grace.h), so a table detached meanwhile stays readable until the walk
 * ends, and is freed only after the invalidation and the grace period.
 * Interrupts are masked only while a table lock is held (an interrupt
 * handler that maps must never spin on its own CPU's lock), so a masked
 * section covers at most one table's entries and one break-before-make.
 */
#include "mm/pgtable.h"
#include "lib/panic.h"
#include "lib/printf.h"
#include "lib/memzero.h"
#include "lib/string.h"
#include "mm/gather.h"
#include "mm/grace.h"
#include "mm/kmap.h"
#include "mm/pmm.h"

/*
 * Valid-entry counting (and with it automatic reclaim) can be compiled out
 * only to measure what it costs (make bench-mm); the kernel always has it.
 */
#ifndef PT_COUNT_ENTRIES
#define PT_COUNT_ENTRIES 1
#endif

/* For the few helpers the hot paths must not pay a call for, whatever the compiler's estimate. */
#define pt_always_inline inline __attribute__((always_inline))
/* For the slow paths a hot one falls back to: inlined, their frame would cost the hot path. */
#define pt_noinline __attribute__((noinline))

#ifdef HOST_TEST
/*
 * The interleaving explorer (tests/host/explore.c) may switch to another
 * simulated CPU at each named point: before every access to a live entry, a
 * table's count or a table lock. Compiled only into the host build.
 */
extern void (*host_yield_hook)(const char *point, const void *addr);
#define yield_point(point, addr)                                                                   \
	do {                                                                                       \
		if (host_yield_hook)                                                               \
			host_yield_hook(point, addr);                                              \
	} while (0)
/* The host harness may refuse an allocation here (the fuzzer's out-of-memory injection). */
bool host_alloc_fails(void);
#else
#define yield_point(point, addr) ((void)0)
static inline bool host_alloc_fails(void)
{
	return false;
}
#endif

/*
 * pt_valid of a table page: valid entries, plus compare-and-swap installers
 * that have reserved a slot (so an empty-looking table is never detached
 * under them), plus PT_DEAD once the table has left the tree.
 */
#define PT_DEAD 0x8000u
_Static_assert(PT_ENTRIES * 16 < PT_DEAD, "counts of concatenated roots stay below PT_DEAD");

/*
 * What a live entry holds between the break and the make of
 * break-before-make: invalid to every walker (all formats ignore the other
 * bits of an invalid entry; bit 11 is not even EPT's suppress-#VE bit 63),
 * but not 0, so no compare-and-swap installer takes the entry meanwhile.
 * Only the lock holder ever sees it under the lock.
 */
#define PT_BREAK_MARKER BIT(11)

enum pt_visit {
	PT_VISIT_LEAF = BIT(0),
	PT_VISIT_TABLE_PRE = BIT(1),
	PT_VISIT_TABLE_POST = BIT(2),
};

struct pt_walk;

struct pt_visitor {
	int (*visit)(struct pt_walk *w, struct pt_entry *e, enum pt_visit which);
	unsigned flags;
	/*
	 * Optional: visits a run of count level-0 entries starting at first in
	 * one call. Level-0 entries never lead to tables, so the walker can hand
	 * them over in bulk; this is what keeps bulk operations at a few
	 * instructions per entry.
	 */
	int (*visit_leaf_run)(struct pt_walk *w, struct pt_entry *first, unsigned count);
};

/* What an operation asks for: set by the op, read by its visitor. */
struct pt_op {
	paddr_t pa; /* where the walk's start maps to (map) */
	struct pt_attrs attrs;
	unsigned max_leaf_level;
	u64 leaf_template; /* a level-0 leaf with attrs at pa 0 (map) */
	void *priv;	   /* visitor-private state */
	/* Resize as if FEAT_BBM were this many levels below pt->bbm_level (0 in most ops). */
	u8 bbm_below;
};

/*
 * One walk in progress. Built field by field in walk(): zero-initialising the
 * whole structure would cost more than a whole single-page map.
 */
struct pt_walk {
	struct pgtable *pt;
	u64 start, end;
	const struct pt_visitor *visitor;
	const struct pt_op *op;
	struct pt_cache *cache; /* table pages set aside for the walk (map), or NULL */
	/*
	 * What table_unlock() restores: every table lock of a walk is taken from
	 * the same interrupt state (the caller's), parent and child locks held
	 * together are taken with spin locks under the parent's mask.
	 */
	unsigned long irq;
	/*
	 * The entry just visited worked through a whole child table under its
	 * table's lock (a split filled one, a collapse or reclaim looked at
	 * one): walk_table() drops and retakes the lock before the next entry,
	 * an interrupt window, so a masked section never spans more than one
	 * table's worth of such work (rule 5 of mm/pgtable.h).
	 */
	bool window;
	struct pt_gather gather;
};

/* A visitor returns 0 to go on, PT_WALK_SKIP_CHILDREN to not descend, or an error (< 0). */
#define PT_WALK_SKIP_CHILDREN 1
/* The table being walked left the tree meanwhile: re-read the entry that led to it. */
#define PT_WALK_RETRY 2
/* A visitor lost a race for its entry (a table appeared there): look at the entry again. */
#define PT_WALK_AGAIN 3

/* ---- Encoding: formats are data, these four functions read them ---- */

/*
 * Every attribute contributes its set bits when present and its clear bits
 * when absent; all are disjoint. So: start from all clear bits, then flip
 * (set ^ clear) for just the attributes present (usually two or three).
 */
static u64 prot_encoding(const struct pt_format *fmt, u32 prot)
{
	const struct pt_attr_bits *b = fmt->prot_bits;
	u64 bits = b[0].clear | b[1].clear | b[2].clear | b[3].clear | b[4].clear | b[5].clear |
		   b[6].clear | b[7].clear | b[8].clear;

	_Static_assert(PT_PROT_BITS == 9, "prot_encoding() lists every attribute");
	for (u32 present = prot & (BIT(PT_PROT_BITS) - 1); present; present &= present - 1) {
		unsigned i = (unsigned)__builtin_ctz(present);

		bits ^= b[i].set ^ b[i].clear;
	}
	return bits;
}

/* What every leaf with attrs carries, whatever its size and output address. */
static u64 leaf_attr_encoding(const struct pt_format *fmt, struct pt_attrs attrs)
{
	return fmt->leaf_always | prot_encoding(fmt, attrs.prot) | fmt->memtype_bits[attrs.memtype];
}

/* The output-address bits of a descriptor for pa (a table's or a leaf's). */
static u64 encode_oa(const struct pt_format *fmt, paddr_t pa)
{
	u64 oa = pa_addr(pa) & fmt->oa_mask;

	/* A branch the formats without split addresses always skip: cheaper than the bits. */
	if (unlikely(fmt->oa_high_mask))
		oa |= (pa_addr(pa) & fmt->oa_high_mask) >> fmt->oa_high_shift;
	return oa;
}

static u64 encode_leaf(const struct pt_format *fmt, paddr_t pa, u64 attr_bits, unsigned level)
{
	return encode_oa(fmt, pa) | (level ? fmt->block_bits : fmt->page_bits) | attr_bits;
}

u64 pt_encode_leaf(const struct pt_format *fmt, paddr_t pa, struct pt_attrs attrs, unsigned level)
{
	return encode_leaf(fmt, pa, leaf_attr_encoding(fmt, attrs), level);
}

/*
 * The last leaf_attr_encoding() of a pgtable, remembered together with the
 * attributes it encodes in one word, so threads share it without a lock:
 * the key sits in bits 12-23, output-address bits in every format and so
 * never among the attribute bits. Demand faults map page after page with
 * the same attributes; this spares each one prot_encoding().
 */
#define ATTR_MEMO_KEY GENMASK(23, 12)

static u64 attr_memo_key(struct pt_attrs attrs)
{
	u64 key = (attrs.prot & (BIT(PT_PROT_BITS) - 1)) | (u64)attrs.memtype << PT_PROT_BITS;

	_Static_assert(PT_PROT_BITS + 2 < 12, "the memo key fits bits 12-23 with a valid bit");
	return (key << 1 | 1) << 12;
}

static u64 leaf_attr_encoding_memo(struct pgtable *pt, struct pt_attrs attrs)
{
	u64 key = attr_memo_key(attrs);
	u64 memo = __atomic_load_n(&pt->leaf_attr_memo, __ATOMIC_RELAXED);

	if (likely((memo & ATTR_MEMO_KEY) == key))
		return memo & ~ATTR_MEMO_KEY;
	memo = leaf_attr_encoding(pt->fmt, attrs);
	__atomic_store_n(&pt->leaf_attr_memo, memo | key, __ATOMIC_RELAXED);
	return memo;
}

u64 pt_encode_table(const struct pt_format *fmt, paddr_t table)
{
	return encode_oa(fmt, table) | fmt->table_bits;
}

bool pt_entry_valid(const struct pt_format *fmt, u64 e)
{
	return (e & fmt->valid_mask) != 0;
}

/* pt_entry_is_table() for an entry known to sit above level 0 (descents). */
static bool is_table_above_0(const struct pt_format *fmt, u64 e)
{
	return pt_entry_valid(fmt, e) && (e & fmt->type_mask) == fmt->table_type;
}

bool pt_entry_is_table(const struct pt_format *fmt, u64 e, unsigned level)
{
	return level > 0 && is_table_above_0(fmt, e);
}

paddr_t pt_entry_pa(const struct pt_format *fmt, u64 e)
{
	u64 pa = e & fmt->oa_mask;

	if (unlikely(fmt->oa_high_mask))
		pa |= (e << fmt->oa_high_shift) & fmt->oa_high_mask;
	return pa_init(pa);
}

/* The next table's address in a table entry: in place, as table_alloc() ensures. */
static inline paddr_t table_pa(const struct pt_format *fmt, u64 e)
{
	return pa_init(e & fmt->oa_mask);
}

/*
 * A block's output address is aligned to its size: the low bits of the page
 * field are not address there (arm64 keeps nT in bit 16 during a FEAT_BBM
 * level 1 resize, which a lockless reader may see).
 */
paddr_t pt_leaf_pa(const struct pt_format *fmt, u64 e, unsigned level)
{
	return pa_init(pa_addr(pt_entry_pa(fmt, e)) & ~(pt_level_size(level) - 1));
}

struct pt_attrs pt_decode_attrs(const struct pt_format *fmt, u64 e)
{
	struct pt_attrs a = {fmt->implied_prot, PT_MEM_NORMAL};

	for (unsigned i = 0; i < PT_PROT_BITS; i++) {
		const struct pt_attr_bits *b = &fmt->prot_bits[i];
		u64 mask = b->set | b->clear;

		if (mask && (e & mask) == b->set)
			a.prot |= BIT(i);
	}
	for (unsigned t = 0; t < PT_MEM_TYPES; t++) {
		if ((e & fmt->memtype_mask) == fmt->memtype_bits[t]) {
			a.memtype = t;
			break;
		}
	}
	return a;
}

/* Bits that make a leaf what it is, without the output address. */
static u64 leaf_attr_bits(const struct pt_format *fmt, u64 e)
{
	return e & ~fmt->oa_mask;
}

/* ---- Table pages ---- */

static unsigned root_level(const struct pt_format *fmt)
{
	return fmt->levels - 1;
}

static unsigned entries_at(const struct pgtable *pt, unsigned level)
{
	return level == root_level(pt->fmt) ? PT_ENTRIES * pt->fmt->root_pages : PT_ENTRIES;
}

static u64 *table_ptr(paddr_t table)
{
	return phys_to_virt(table);
}

/*
 * Entries are read and written with atomics: other CPUs walk them without
 * locks. Acquire on loads that may yield a table pointer pairs with the
 * release on stores of one, so a reader sees the child's contents (zeroed
 * or filled by a split) before it follows the pointer.
 */
static inline u64 load_entry(const u64 *ptep)
{
	yield_point("load", ptep);
	return __atomic_load_n(ptep, __ATOMIC_ACQUIRE);
}

/* Level-0 entries never point to tables: no ordering needed. */
static inline u64 peek_entry(const u64 *ptep)
{
	yield_point("peek", ptep);
	return __atomic_load_n(ptep, __ATOMIC_RELAXED);
}

/* The walker's one read of an entry it visits, under its table's lock (rule 2). */
static inline void snapshot(struct pt_entry *e)
{
	e->old = load_entry(e->ptep);
}

static void tables_add(struct pgtable *pt, int n)
{
	u64 now = __atomic_add_fetch(&pt->tables, (u64)(s64)n, __ATOMIC_RELAXED);
	u64 peak = __atomic_load_n(&pt->tables_peak, __ATOMIC_RELAXED);

	while (now > peak && !__atomic_compare_exchange_n(&pt->tables_peak, &peak, now, true,
							  __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

/*
 * Table pages set aside before a walk changes anything (pt_map()'s prepare
 * step), linked by frame number through struct page.next_pfn; taken in
 * table_alloc() before the allocator is asked.
 */
struct pt_cache {
	u64 head; /* frame number, or GATHER_NO_TABLES */
	unsigned count;
};

static paddr_t cache_take(struct pt_cache *cache)
{
	paddr_t pa;

	if (!cache || !cache->count)
		return pa_init(0);
	pa = pa_init(cache->head << PAGE_SHIFT);
	cache->head = pa_to_page(pa)->next_pfn;
	cache->count--;
	return pa;
}

static void cache_put(struct pt_cache *cache, paddr_t pa)
{
	pa_to_page(pa)->next_pfn = cache->head;
	cache->head = pa_addr(pa) >> PAGE_SHIFT;
	cache->count++;
}

static paddr_t page_alloc(bool caller_fills)
{
	if (host_alloc_fails())
		return pa_init(0);
	return caller_fills ? pmm_alloc_uninit(0) : pmm_alloc(0);
}

/* Fills the cache with n pages; on failure gives back what it took. */
static int cache_fill(struct pt_cache *cache, unsigned n)
{
	while (cache->count < n) {
		paddr_t pa = page_alloc(true);

		if (!pa_addr(pa)) {
			while (cache->count)
				pmm_free(cache_take(cache), 0);
			return ERR_NOMEM;
		}
		cache_put(cache, pa);
	}
	return 0;
}

static void cache_drain(struct pt_cache *cache)
{
	while (cache->count)
		pmm_free(cache_take(cache), 0);
}

static paddr_t table_alloc(struct pgtable *pt, struct pt_cache *cache, unsigned level,
			   bool caller_fills)
{
	paddr_t pa = cache_take(cache);
	struct page *p;

	if (pa_addr(pa)) {
		/* Cached pages come uninitialised: zero unless the caller fills every entry. */
		if (!caller_fills)
			memzero_pages(table_ptr(pa), PAGE_SIZE);
	} else {
		pa = page_alloc(caller_fills);
	}
	if (!pa_addr(pa))
		return pa;
	/*
	 * Table pages stay below a format's split output-address bits (LPA2:
	 * 1 PiB), so descents decode table entries with one AND (table_pa()).
	 * A machine with RAM up there only loses those frames for tables.
	 */
	if (unlikely(pa_addr(pa) & pt->fmt->oa_high_mask)) {
		pmm_free(pa, 0);
		return pa_init(0);
	}
	p = pa_to_page(pa);
	/* Atomic: the allocator may read it to check for a free buddy (mm/pmm.c). */
	__atomic_store_n(&p->state, PAGE_TABLE, __ATOMIC_RELAXED);
	p->pt_level = (u8)level;
	p->pt_valid = 0;
	spin_lock_init(&p->pt_lock);
	tables_add(pt, 1);
	return pa;
}

/* A table page nobody else ever saw (a lost install race): straight back, to the cache if any. */
static void table_free_unseen(struct pgtable *pt, struct pt_cache *cache, paddr_t table)
{
	__atomic_store_n(&pa_to_page(table)->state, PAGE_ALLOCATED_HEAD, __ATOMIC_RELAXED);
	if (cache)
		cache_put(cache, table);
	else
		pmm_free(table, 0);
	tables_add(pt, -1);
}

#ifndef HOST_TEST
/*
 * The contended half of table_spin_lock(), out of line: the waiter holds
 * ticket. It waits with interrupts masked (every table lock is taken so,
 * rule 5), and the holder may be waiting for it meanwhile: an x86 TLB
 * shootdown from under this very lock (a break-before-make, settle_pending())
 * is a waited cross-CPU call to every other CPU, which a masked CPU never
 * takes from its IPI. So the wait serves the waited calls posted to this
 * CPU (cpu_wait_relax(), arch/arch.h). Safe while holding a ticket here, and
 * other table locks of this walk: those calls never take a table lock nor
 * wait for another CPU (the rule in kernel/smp.h).
 */
static pt_noinline void table_spin_wait(struct page *t, u16 ticket)
{
	while (__atomic_load_n(&t->pt_lock.owner, __ATOMIC_ACQUIRE) != ticket)
		cpu_wait_relax();
}
#endif

/* A table page's lock, with the explorer's yield points around it in the host build. */
static pt_always_inline void table_spin_lock(struct page *t)
{
#ifdef HOST_TEST
	yield_point("lock", &t->pt_lock);
	while (!spin_trylock(&t->pt_lock)) {
		if (host_yield_hook)
			host_yield_hook("lock-wait", &t->pt_lock);
		else
			arch_cpu_relax();
	}
#else
	/* lib/spinlock.h's ticket lock, but waiting through table_spin_wait(). */
	u16 ticket = __atomic_fetch_add(&t->pt_lock.next, 1, __ATOMIC_RELAXED);

	if (unlikely(__atomic_load_n(&t->pt_lock.owner, __ATOMIC_ACQUIRE) != ticket))
		table_spin_wait(t, ticket);
#endif
}

static pt_always_inline void table_spin_unlock(struct page *t)
{
	yield_point("unlock", &t->pt_lock);
	spin_unlock(&t->pt_lock);
}

/*
 * The engine's interrupt masking. A measuring build (-DPT_MEASURE_MASKED)
 * times every section it opens (interrupts were enabled at the save), per
 * CPU, in arch_counter_read() ticks: the longest, and how many. Under QEMU
 * -icount the ticks count instructions, which checks rule 5's bound (one
 * table's entries per section) with a number. Off by default: no cost.
 */
#ifdef PT_MEASURE_MASKED
u64 pt_masked_ticks_max[GRACE_SLOTS], pt_masked_sections[GRACE_SLOTS];
static u64 masked_since[GRACE_SLOTS];

static unsigned long engine_irq_save(void)
{
	bool was_enabled = arch_irqs_enabled();
	unsigned long flags = arch_irq_save();

	if (was_enabled)
		masked_since[grace_slot_id()] = arch_counter_read();
	return flags;
}

static void engine_irq_restore(unsigned long flags)
{
	unsigned cpu = grace_slot_id();
	u64 since = masked_since[cpu];

	if (since) {
		u64 ticks = arch_counter_read() - since;

		masked_since[cpu] = 0;
		__atomic_store_n(&pt_masked_sections[cpu], pt_masked_sections[cpu] + 1,
				 __ATOMIC_RELAXED);
		if (ticks > pt_masked_ticks_max[cpu])
			__atomic_store_n(&pt_masked_ticks_max[cpu], ticks, __ATOMIC_RELAXED);
	}
	arch_irq_restore(flags);
}
#else
#define engine_irq_save()	  arch_irq_save()
#define engine_irq_restore(flags) arch_irq_restore(flags)
#endif

/* table_lock() for a caller that has masked interrupts itself. */
static pt_always_inline bool table_lock_masked(struct page *t)
{
	table_spin_lock(t);
	if (likely(!(__atomic_load_n(&t->pt_valid, __ATOMIC_RELAXED) & PT_DEAD)))
		return true;
	table_spin_unlock(t);
	return false;
}

/*
 * Locks a table for changing its entries, interrupts masked while it is
 * held (*irq receives what to restore). Fails when the table has left the
 * tree since the caller read the entry pointing to it: the caller re-reads.
 * (The page itself is still a table page: the caller is in a read section.)
 */
static pt_always_inline bool table_lock(struct page *t, unsigned long *irq)
{
	*irq = engine_irq_save();
	if (likely(table_lock_masked(t)))
		return true;
	engine_irq_restore(*irq);
	return false;
}

static pt_always_inline void table_unlock(struct page *t, unsigned long irq)
{
	table_spin_unlock(t);
	engine_irq_restore(irq);
}

static void count_add(struct page *t, int n)
{
	/* Atomic: installers reserve counts without the table's lock. */
	yield_point("count", &t->pt_valid);
	if (PT_COUNT_ENTRIES)
		__atomic_fetch_add(&t->pt_valid, (u16)n, __ATOMIC_RELAXED);
}

/* Reserves a count for an entry about to be installed; fails on a dead table. */
static bool count_reserve(struct page *t)
{
	u16 c;

	yield_point("count-reserve", &t->pt_valid);
	c = __atomic_load_n(&t->pt_valid, __ATOMIC_RELAXED);
	do {
		if (c & PT_DEAD)
			return false;
	} while (!__atomic_compare_exchange_n(&t->pt_valid, &c, (u16)(c + 1), true,
					      __ATOMIC_RELAXED, __ATOMIC_RELAXED));
	return true;
}

/*
 * Marks a locked table dead if its count is exactly expect (0 to reclaim a
 * table, PT_ENTRIES to collapse one): one atomic step, so a concurrent
 * count_reserve() either comes first and keeps the table, or fails.
 */
static bool table_mark_dead(struct page *t, u16 expect)
{
	if (!PT_COUNT_ENTRIES)
		expect = 0;
	yield_point("mark-dead", &t->pt_valid);
	return __atomic_compare_exchange_n(&t->pt_valid, &expect, (u16)(expect | PT_DEAD), false,
					   __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}

/* ---- Entry updates ---- */

#ifdef HOST_TEST
/* The host harness observes every store to a reachable entry (BBM rule checker). */
void host_observe_store(const struct pgtable *pt, u64 *ptep, u64 va, unsigned level, u64 old,
			u64 new);
#else
static inline void host_observe_store(const struct pgtable *pt, u64 *ptep, u64 va, unsigned level,
				      u64 old, u64 new)
{
}
#endif

#ifdef HOST_TEST
/* The stress test stretches lockless walks here, to widen every race window. */
extern void (*host_reader_pause)(void);
static inline void reader_pause(void)
{
	if (host_reader_pause)
		host_reader_pause();
}
#else
static inline void reader_pause(void)
{
}
#endif

/*
 * The host build checks rule 2 of mm/pgtable.h at every store: the entry
 * still holds the snapshot the store is made from.
 */
#ifdef HOST_TEST
#define check_snapshot(ptep, old) BUG_ON(__atomic_load_n(ptep, __ATOMIC_RELAXED) != (old))
#else
#define check_snapshot(ptep, old) ((void)0)
#endif

/*
 * The store of the locked entry e from its snapshot to new (rule 2: only when
 * no installer can change it meanwhile: a valid snapshot, or level 0);
 * release publishes a child table. The snapshot follows.
 */
static inline void store(const struct pgtable *pt, struct pt_entry *e, u64 new)
{
	yield_point("store", e->ptep);
	check_snapshot(e->ptep, e->old);
	host_observe_store(pt, e->ptep, e->va, e->level, e->old, new);
	__atomic_store_n(e->ptep, new, __ATOMIC_RELEASE);
	e->old = new;
}

/*
 * The compare-and-swap of an empty entry from its snapshot: the only store
 * an installer may race with (rule 1). On failure the snapshot becomes what
 * the winner stored and the caller visits the entry again.
 */
static inline bool store_from_empty(const struct pgtable *pt, struct pt_entry *e, u64 new)
{
	u64 old = e->old;

	yield_point("cas", e->ptep);
	/*
	 * Release on success publishes what new points to. Acquire on failure:
	 * the loser follows the winner's table pointer from the snapshot the
	 * failed CAS returns (descend_to()), and must see that table zeroed
	 * (TSan, make stress-tsan, found it when this was relaxed).
	 */
	if (!__atomic_compare_exchange_n(e->ptep, &e->old, new, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE))
		return false;
	host_observe_store(pt, e->ptep, e->va, e->level, old, new);
	e->old = new;
	return true;
}

/*
 * A level-0 leaf in a bulk run of a locked table, from the value just read
 * (its snapshot): nothing hangs below it, no ordering needed.
 */
static inline void store_leaf(const struct pgtable *pt, u64 *ptep, u64 va, u64 old, u64 new)
{
	yield_point("store", ptep);
	check_snapshot(ptep, old);
	host_observe_store(pt, ptep, va, 0, old, new);
	__atomic_store_n(ptep, new, __ATOMIC_RELAXED);
}

/*
 * Before an empty entry becomes valid: another walk may have cleared it and
 * not yet issued the invalidation (pt->unflushed counts such walks, own
 * included), so a CPU may still cache what it held. Completing that break
 * (Arm ARM D8.16.1) falls to whoever makes the entry: invalidate it first.
 * Cheap when no other walk is between a clear and its flush.
 */
static void settle_pending(struct pgtable *pt, const struct pt_gather *g, u64 va, u64 size)
{
	u32 own = g && g->unflushed;

	yield_point("unflushed", &pt->unflushed);
	if (likely(__atomic_load_n(&pt->unflushed, __ATOMIC_ACQUIRE) <= own))
		return;
	/* The old contents may have been a leaf or a table at any level: no TTL hint. */
	pt->regime->flush_range(pt, va, size, ~0u);
}

/*
 * Makes the empty (invalid) locked entry e valid: no invalidation needed, as
 * no TLB caches an invalid entry. Above level 0 a compare-and-swap installer
 * may race for the same entry without the lock: returns false if one won
 * (e->old then holds its table). g may be NULL when nothing else is gathered.
 */
static pt_always_inline bool fill_empty(struct pgtable *pt, const struct pt_gather *g,
					struct pt_entry *e, u64 new)
{
	settle_pending(pt, g, e->va, pt_level_size(e->level));
	if (!e->level)
		store(pt, e, new);
	else if (!store_from_empty(pt, e, new))
		return false;
	count_add(e->table, 1);
	return true;
}

/* Statistics may be shared by writers under different table locks: atomics. */
static void count_break(struct pt_live_stats *stats, u64 ticks)
{
	u64 max = __atomic_load_n(&stats->break_ticks_max, __ATOMIC_RELAXED);

	__atomic_fetch_add(&stats->breaks, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&stats->break_ticks, ticks, __ATOMIC_RELAXED);
	while (ticks > max &&
	       !__atomic_compare_exchange_n(&stats->break_ticks_max, &max, ticks, true,
					    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

/*
 * Break-before-make of the valid locked entry e: no CPU may hold the old and
 * the new translation at once (Arm ARM D8.16.1). hint is the TTL level of
 * what CPUs may cache for e (~0u: any).
 */
static void break_before_make(struct pgtable *pt, struct pt_gather *g, struct pt_entry *e, u64 new,
			      unsigned hint)
{
	struct pt_live_stats *stats = pt->live_stats;
	u64 start = stats ? arch_counter_read() : 0;

	/* Break: the entry invalid, then invalidated everywhere. */
	store(pt, e, PT_BREAK_MARKER);
	gather_add_range(g, e->va, pt_level_size(e->level), hint);
	gather_flush(g);
	/* Make: only after the invalidation has completed. */
	store(pt, e, new);
	if (stats)
		count_break(stats, arch_counter_read() - start);
}

/*
 * The single place a locked entry changes, from its snapshot e->old (rule 2
 * in mm/pgtable.h). Invalid -> valid is fill_empty(). Valid -> invalid is
 * queued in the gather. Valid -> valid follows the sequence the regime's
 * rules choose. Returns false only when filling an empty entry lost to a
 * table installer: the caller visits the entry again.
 */
static bool set_entry(struct pgtable *pt, struct pt_gather *g, struct pt_entry *e, u64 new)
{
	u64 old = e->old;
	bool is_valid = pt_entry_valid(pt->fmt, new);
	u64 span = pt_level_size(e->level);

	if (!pt_entry_valid(pt->fmt, old))
		return !is_valid || fill_empty(pt, g, e, new);
	if (is_valid && pt->fmt->classify_live(old, new, e->level) == PT_LIVE_BREAK_BEFORE_MAKE) {
		break_before_make(pt, g, e, new, ~0u);
	} else {
		/* Queued first: it announces the pending invalidation (pt->unflushed). */
		gather_add_range(g, e->va, span, e->level);
		store(pt, e, new);
	}
	if (!is_valid)
		count_add(e->table, -1);
	return true;
}

/*
 * Replaces the valid locked entry e by new where the two differ only in size:
 * a block and a table of the same translations (a split or a collapse). The
 * sequence is the format's for the FEAT_BBM level the table may use. The
 * cached translations may be blocks or pages: no TTL hint.
 */
static void resize_entry(struct pt_walk *w, struct pt_entry *e, u64 new)
{
	struct pgtable *pt = w->pt;
	struct pt_gather *g = &w->gather;
	const struct pt_format *fmt = pt->fmt;
	u64 old = e->old, span = pt_level_size(e->level), nt_block;

	w->window = true;
	switch (fmt->resize[pt->bbm_level - MIN(w->op->bbm_below, pt->bbm_level)]) {
	case PT_LIVE_BREAK_BEFORE_MAKE: break_before_make(pt, g, e, new, ~0u); break;
	case PT_LIVE_NT_BLOCK_FIRST:
		/* The block-sized side with nT, so no TLB caches both sizes (D8.16.2). */
		nt_block = (pt_entry_is_table(fmt, old, e->level) ? new : old) | fmt->nt_bit;
		gather_add_range(g, e->va, span, ~0u);
		store(pt, e, nt_block);
		gather_flush(g);
		/* The other size is out of every TLB now: nT may go without a flush. */
		store(pt, e, new);
		if (pt->live_stats)
			__atomic_fetch_add(&pt->live_stats->nt_sequences, 1, __ATOMIC_RELAXED);
		break;
	case PT_LIVE_WRITE_THEN_INVALIDATE:
		gather_add_range(g, e->va, span, ~0u);
		store(pt, e, new);
		if (pt->live_stats)
			__atomic_fetch_add(&pt->live_stats->direct_resizes, 1, __ATOMIC_RELAXED);
		break;
	}
}

/*
 * Fills a new child table with the translations of the leaf old, one level
 * down: eight entries per iteration, so the loop costs little beside the stores.
 */
static void fill_split(const struct pt_format *fmt, u64 *child, u64 old, unsigned level)
{
	u64 step = pt_level_size(level - 1);
	u64 leaf = pt_encode_leaf(fmt, pt_entry_pa(fmt, old), pt_decode_attrs(fmt, old), level - 1);

	_Static_assert(PT_ENTRIES % 8 == 0, "fill_split() fills eight entries at a time");
	for (u64 *p = child, *end = child + PT_ENTRIES; p < end; p += 8, leaf += 8 * step) {
		p[0] = leaf;
		p[1] = leaf + step;
		p[2] = leaf + 2 * step;
		p[3] = leaf + 3 * step;
		p[4] = leaf + 4 * step;
		p[5] = leaf + 5 * step;
		p[6] = leaf + 6 * step;
		p[7] = leaf + 7 * step;
	}
}

/*
 * Installs an empty table below the entry e, empty in its snapshot, by
 * compare-and-swap from the snapshot: no lock needed, so faults in different
 * ranges below one table never wait for each other (rule 1 of mm/pgtable.h).
 * Returns 0 when e->old now holds our table, PT_WALK_AGAIN when someone else
 * changed e first (e->old holds what they stored), PT_WALK_RETRY when e's
 * table has left the tree, ERR_NOMEM without memory.
 */
static int install_empty_table(struct pgtable *pt, const struct pt_gather *g,
			       struct pt_cache *cache, struct pt_entry *e)
{
	paddr_t table;

	if (!count_reserve(e->table))
		return PT_WALK_RETRY;
	table = table_alloc(pt, cache, e->level - 1, false);
	if (!pa_addr(table)) {
		count_add(e->table, -1);
		return ERR_NOMEM;
	}
	settle_pending(pt, g, e->va, pt_level_size(e->level));
	/* Release: the zeroed table is visible before the entry that leads to it. */
	if (store_from_empty(pt, e, pt_encode_table(pt->fmt, table))) {
		if (!PT_COUNT_ENTRIES)
			__atomic_fetch_sub(&e->table->pt_valid, 1, __ATOMIC_RELAXED);
		return 0;
	}
	/* Lost: the winner's table is there now (under e's lock nothing else can be). */
	__atomic_fetch_sub(&e->table->pt_valid, 1, __ATOMIC_RELAXED);
	table_free_unseen(pt, cache, table);
	return PT_WALK_AGAIN;
}

/*
 * Puts a table below the locked entry e: an empty one below an invalid
 * entry, or (a split) one holding the same translations as the leaf e is.
 */
static int install_table(struct pt_walk *w, struct pt_entry *e)
{
	const struct pt_format *fmt = w->pt->fmt;
	u64 old = e->old;
	paddr_t table;

	if (!pt_entry_valid(fmt, old)) {
		int rc = install_empty_table(w->pt, &w->gather, w->cache, e);

		/* e's table is locked, so alive: a retry can only mean looking at e again. */
		return rc == PT_WALK_RETRY ? PT_WALK_AGAIN : rc;
	}
	/* A split overwrites all 512 entries before the table is reachable: skip the zeroing. */
	table = table_alloc(w->pt, w->cache, e->level - 1, true);
	if (!pa_addr(table))
		return ERR_NOMEM;
	fill_split(fmt, table_ptr(table), old, e->level);
	if (PT_COUNT_ENTRIES)
		pa_to_page(table)->pt_valid = PT_ENTRIES;
	resize_entry(w, e, pt_encode_table(fmt, table));
	return 0;
}

/* ---- The walker ---- */

static int walk_table(struct pt_walk *w, paddr_t table, unsigned level, u64 table_va);

/*
 * Walks the child table below e, whose table is locked on entry and on
 * return (unless PT_WALK_RETRY: then e's own table left the tree and is
 * unlocked). The parent is unlocked meanwhile, so writers elsewhere below it
 * are not held up; the walk is a read section, so the parent's page stays a
 * lockable table page even if it leaves the tree meanwhile (then relocking
 * it fails). A parent and its child are locked together only by collapse and
 * reclaim, parent first.
 */
static int walk_child(struct pt_walk *w, struct pt_entry *e)
{
	const struct pt_visitor *v = w->visitor;
	paddr_t child = table_pa(w->pt->fmt, e->old);
	int rc = 0;

	/* Level-0 entries nobody visits (collapse): the parent's lock can stay. */
	if (e->level > 1 || v->visit_leaf_run || (v->flags & PT_VISIT_LEAF)) {
		table_unlock(e->table, w->irq);
		rc = walk_table(w, child, e->level - 1, e->va);
		if (!table_lock(e->table, &w->irq))
			return PT_WALK_RETRY;
		if (rc == PT_WALK_RETRY)
			return PT_WALK_AGAIN; /* the child left the tree: look at e again */
		/* The lock was dropped: a new snapshot (rule 2). Collapsed or reclaimed meanwhile?
		 */
		snapshot(e);
		if (!pt_entry_is_table(w->pt->fmt, e->old, e->level))
			return 0;
	} else if (v->flags & PT_VISIT_TABLE_POST) {
		/* The visit looks at the child under this lock: a window follows (walk_table()). */
		w->window = true;
	}
	if (rc || !(v->flags & PT_VISIT_TABLE_POST))
		return rc;
	return v->visit(w, e, PT_VISIT_TABLE_POST);
}

/* Visits one entry of a locked table (see walk_child for what PT_WALK_RETRY leaves). */
static int walk_entry(struct pt_walk *w, struct pt_entry *e)
{
	const struct pt_format *fmt = w->pt->fmt;
	const struct pt_visitor *v = w->visitor;

	for (;;) {
		int rc = 0;

		/* The one read the visit decides on (rule 2 of mm/pgtable.h). */
		snapshot(e);
		if (pt_entry_is_table(fmt, e->old, e->level)) {
			if (v->flags & PT_VISIT_TABLE_PRE)
				rc = v->visit(w, e, PT_VISIT_TABLE_PRE);
		} else if (v->flags & PT_VISIT_LEAF) {
			rc = v->visit(w, e, PT_VISIT_LEAF);
		} else {
			return 0;
		}
		/* The visitor may have installed a table (its snapshot follows its stores). */
		if (!rc && pt_entry_is_table(fmt, e->old, e->level))
			rc = walk_child(w, e);
		if (rc != PT_WALK_AGAIN)
			return rc == PT_WALK_SKIP_CHILDREN ? 0 : rc;
	}
}

/* Visits the entries of one table that lie in the walked range, under its lock. */
static int walk_table(struct pt_walk *w, paddr_t table, unsigned level, u64 table_va)
{
	u64 *entries = table_ptr(table);
	u64 span = pt_level_size(level);
	u64 table_end = table_va + span * entries_at(w->pt, level);
	u64 va = MAX(w->start, table_va) & ~(span - 1);
	u64 end = MIN(w->end, table_end);
	struct pt_entry e = {.level = level, .table = pa_to_page(table)};
	int rc = 0;

	if (!table_lock(e.table, &w->irq))
		return PT_WALK_RETRY;
	if (level == 0 && w->visitor->visit_leaf_run) {
		/* Level 0 holds only leaves: the visitor takes them in bulk. */
		e.ptep = &entries[(va - table_va) >> PAGE_SHIFT];
		e.va = va;
		if (va < end)
			rc = w->visitor->visit_leaf_run(w, &e,
							(unsigned)((end - va) >> PAGE_SHIFT));
	} else {
		for (; va < end && !rc; va += span) {
			e.ptep = &entries[(va - table_va) >> pt_level_shift(level)];
			e.va = va;
			rc = walk_entry(w, &e);
			if (unlikely(w->window)) {
				w->window = false;
				/* Left the tree meanwhile: the caller re-reads the entry above. */
				if (!rc && va + span < end) {
					table_unlock(e.table, w->irq);
					if (!table_lock(e.table, &w->irq))
						return PT_WALK_RETRY;
				}
			}
		}
	}
	if (rc != PT_WALK_RETRY)
		table_unlock(e.table, w->irq);
	return rc;
}

/* One past the highest address the tables can translate. */
static u64 address_limit(const struct pgtable *pt)
{
	return 1ULL << pt->fmt->va_bits;
}

static bool bad_range(const struct pgtable *pt, u64 va, u64 size)
{
	return !IS_ALIGNED(va | size, PAGE_SIZE) || !size || va + size < va ||
	       va + size > address_limit(pt);
}

static int walk_cached(struct pgtable *pt, const struct pt_op *op, u64 va, u64 size,
		       const struct pt_visitor *visitor, struct pt_cache *cache)
{
	struct grace_token reading;
	struct pt_walk w;
	int rc;

	if (bad_range(pt, va, size))
		return ERR_INVAL;
	w.pt = pt;
	w.start = va;
	w.end = va + size;
	w.visitor = visitor;
	w.op = op;
	w.cache = cache;
	w.window = false;
	gather_init(&w.gather, pt);
	/* Interrupts are masked by each table lock (table_lock()), not across the walk. */
	reading = grace_read_enter();
	rc = walk_table(&w, pt->root, root_level(pt->fmt), 0);
	BUG_ON(rc == PT_WALK_RETRY); /* the root never leaves the tree */
	pt->regime->publish(pt);
	grace_read_exit(reading);
	gather_free_tables(&w.gather);
	return rc;
}

static int walk(struct pgtable *pt, const struct pt_op *op, u64 va, u64 size,
		const struct pt_visitor *visitor)
{
	return walk_cached(pt, op, va, size, visitor, NULL);
}

/* Does e's whole span lie inside the walked range? */
static bool covers_entry(const struct pt_walk *w, const struct pt_entry *e)
{
	return e->va >= w->start && e->va + pt_level_size(e->level) <= w->end;
}

/* ---- map ---- */

static pt_noinline int map_range(struct pgtable *pt, u64 va, paddr_t pa, u64 size,
				 struct pt_attrs attrs, unsigned flags);

static bool can_map_leaf(const struct pt_walk *w, const struct pt_entry *e, paddr_t pa)
{
	const struct pt_format *fmt = w->pt->fmt;

	return (fmt->leaf_levels & BIT(e->level)) && e->level <= w->op->max_leaf_level &&
	       covers_entry(w, e) && IS_ALIGNED(pa_addr(pa), pt_level_size(e->level));
}

static int map_visit(struct pt_walk *w, struct pt_entry *e, enum pt_visit which)
{
	paddr_t pa = pa_add(w->op->pa, e->va - w->start);

	if (can_map_leaf(w, e, pa))
		return set_entry(w->pt, &w->gather, e,
				 pt_encode_leaf(w->pt->fmt, pa, w->op->attrs, e->level))
			       ? 0
			       : PT_WALK_AGAIN;
	return install_table(w, e);
}

/*
 * Empty entries are filled straight from a template (encoded once per walk);
 * an entry that is not empty takes the general path with its live rules.
 */
static int map_leaf_run(struct pt_walk *w, struct pt_entry *first, unsigned count)
{
	u64 leaf = w->op->leaf_template + pa_addr(w->op->pa) + (first->va - w->start);
	u64 *ptep = first->ptep, va = first->va;
	unsigned filled = 0;

	settle_pending(w->pt, &w->gather, va, (u64)count << PAGE_SHIFT);
	for (u64 *end = ptep + count; ptep < end; ptep++, va += PAGE_SIZE, leaf += PAGE_SIZE) {
		u64 old = peek_entry(ptep);

		if (unlikely(old)) {
			struct pt_entry e = {ptep, va, 0, first->table, old};

			set_entry(w->pt, &w->gather, &e, leaf);
			continue;
		}
		store_leaf(w->pt, ptep, va, 0, leaf);
		filled++;
	}
	count_add(first->table, (int)filled);
	return 0;
}

static const struct pt_visitor map_visitor = {map_visit, PT_VISIT_LEAF, map_leaf_run};

/*
 * Descends to the entry at level for va without taking a lock; with install,
 * installs empty tables by compare-and-swap where they are missing. Returns
 * 0 with *e set, DESCEND_BLOCKED when something other than a table is in the
 * way (a larger leaf, a break, a table leaving the tree: the general walk
 * handles it), DESCEND_EMPTY without install when an entry on the way is
 * empty, ERR_NOMEM without memory. The caller is in a read section.
 */
#define DESCEND_BLOCKED 1
#define DESCEND_EMPTY	2

/*
 * descend_to() met entry, not a table, at level l: installs a table there if
 * it is empty and install is set. Returns 0 with *table the table entry now
 * there, or descend_to()'s codes. Out of line: the hot descent keeps its
 * registers.
 */
static pt_noinline int descend_install(struct pgtable *pt, u64 *ptep, u64 va, unsigned l, u64 entry,
				       u64 *table, bool install)
{
	struct pt_entry parent = {ptep, va, l, pa_to_page(virt_to_phys(ptep)), entry};
	int rc;

	if (entry)
		return DESCEND_BLOCKED;
	if (!install)
		return DESCEND_EMPTY;
	rc = install_empty_table(pt, NULL, NULL, &parent);
	if (rc < 0)
		return rc;
	/* Ours, or (PT_WALK_AGAIN) what a racing installer stored. */
	*table = parent.old;
	if (rc == PT_WALK_RETRY || !is_table_above_0(pt->fmt, *table))
		return DESCEND_BLOCKED;
	return 0;
}

static pt_always_inline int descend_to(struct pgtable *pt, u64 va, unsigned level,
				       struct pt_entry *e, bool install)
{
	const struct pt_format *fmt = pt->fmt;
	unsigned l = root_level(fmt);
	u64 *table = table_ptr(pt->root);
	u64 index = (va >> pt_level_shift(l)) & (entries_at(pt, l) - 1);

	for (;; l--, index = (va >> pt_level_shift(l)) & (PT_ENTRIES - 1)) {
		u64 *ptep = table + index;
		u64 entry = load_entry(ptep);

		if (l == level) {
			/* The caller takes the snapshot under the lock. */
			*e = (struct pt_entry){ptep, va, l, pa_to_page(virt_to_phys(table))};
			return 0;
		}
		if (unlikely(!is_table_above_0(fmt, entry))) {
			/* Its own variable: entry's address taken would keep it in memory. */
			u64 installed;
			int rc = descend_install(pt, ptep, va, l, entry, &installed, install);

			if (rc)
				return rc;
			entry = installed;
		}
		table = table_ptr(table_pa(fmt, entry));
	}
}

/*
 * Sets the leaf at e, locking only e's table. Returns 1 when the general walk
 * must do it. A replaced leaf's invalidation is issued after the unlock (rule
 * 5 of mm/pgtable.h), announced in pt->unflushed before the store.
 */
static int map_one_locked(struct pgtable *pt, struct pt_entry *e, u64 leaf)
{
	struct pt_gather g;
	bool done;

	if (!table_lock_masked(e->table))
		return 1;
	snapshot(e);
	if (!pt_entry_valid(pt->fmt, e->old)) {
		/* The demand fault proper: an empty entry, nothing to invalidate. */
		done = fill_empty(pt, NULL, e, leaf);
		table_spin_unlock(e->table);
		return done ? 0 : 1;
	}
	if (pt_entry_is_table(pt->fmt, e->old, e->level)) {
		/* A table where the leaf goes keeps its finer mappings: the walk handles it. */
		table_spin_unlock(e->table);
		return 1;
	}
	{
		/*
		 * set_entry() gets a copy: were e's own address passed out, the
		 * compiler would keep e in memory and reload it around every
		 * atomic on the fast path above (the count update among them).
		 */
		struct pt_entry copy = *e;

		gather_init(&g, pt);
		done = set_entry(pt, &g, &copy, leaf);
	}
	table_spin_unlock(e->table);
	gather_flush(&g);
	return done ? 0 : 1;
}

/*
 * One leaf: the demand-fault case. Lockless descent (installing missing
 * tables by compare-and-swap), then only the leaf's own table is locked, so
 * faults in different tables never share a lock. Returns 1 when the general
 * walk must do it. Out of memory it may leave empty tables behind, never a
 * translation.
 */
static int map_one(struct pgtable *pt, u64 va, paddr_t pa, unsigned level, struct pt_attrs attrs)
{
	struct grace_token reading;
	struct pt_entry e;
	unsigned long irq;
	int rc;

	/*
	 * Masked from the start of the descent, not just across the leaf
	 * table's lock: the same bounded section (a few levels, the lock, one
	 * entry), and one mask for both, which the demand-fault path's cost
	 * notices (make bench-mm).
	 */
	irq = engine_irq_save();
	reading = grace_read_enter();
	rc = descend_to(pt, va, level, &e, true);
	if (!rc)
		rc = map_one_locked(
			pt, &e,
			encode_leaf(pt->fmt, pa, leaf_attr_encoding_memo(pt, attrs), level));
	pt->regime->publish(pt);
	grace_read_exit(reading);
	engine_irq_restore(irq);
	return rc;
}

/* The leaf level a single-leaf map would use (4K or 2M), or -1 when it is not one leaf. */
static int single_leaf_level(const struct pgtable *pt, u64 va, paddr_t pa, u64 size,
			     unsigned max_level)
{
	unsigned level = size == PAGE_SIZE ? 0 : size == pt_level_size(1) ? 1 : ~0u;

	if (level > max_level || !(pt->fmt->leaf_levels & BIT(level)) ||
	    !IS_ALIGNED(va | pa_addr(pa), size) || va + size > address_limit(pt))
		return -1;
	return (int)level;
}

int pt_map(struct pgtable *pt, u64 va, paddr_t pa, u64 size, struct pt_attrs attrs, unsigned flags)
{
	int level = single_leaf_level(pt, va, pa, size, flags ? flags - 1 : PT_MAX_LEVELS);

	if (level >= 0) {
		int rc = map_one(pt, va, pa, (unsigned)level, attrs);

		if (rc <= 0)
			return rc;
	}
	return map_range(pt, va, pa, size, attrs, flags);
}

/*
 * The prepare step of pt_map(): how many table pages the map of the walk's
 * range may allocate below the table at level (tables == NULL: one the map
 * would install). One below every entry the range touches above level 0
 * that is not a table and cannot take a leaf, and the same again inside it.
 * A lockless read of the tree as it is (the caller is in a read section):
 * only a concurrent unmap or collapse of the same range can make the map
 * need more, and then table_alloc() asks the allocator.
 */
static u64 tables_to_allocate(const struct pt_walk *w, const u64 *entries, unsigned level,
			      u64 table_va)
{
	u64 span = pt_level_size(level);
	u64 va = MAX(w->start, table_va) & ~(span - 1);
	u64 end = MIN(w->end, table_va + span * entries_at(w->pt, level)), n = 0;

	for (; level && va < end; va += span) {
		struct pt_entry e = {.va = va, .level = level};
		u64 entry = entries ? load_entry(&entries[(va - table_va) >> pt_level_shift(level)])
				    : 0;

		if (is_table_above_0(w->pt->fmt, entry))
			n += tables_to_allocate(w, table_ptr(table_pa(w->pt->fmt, entry)),
						level - 1, va);
		else if (!can_map_leaf(w, &e, pa_add(w->op->pa, va - w->start)))
			n += 1 + tables_to_allocate(w, NULL, level - 1, va);
	}
	return n;
}

static int prepare_map(struct pgtable *pt, const struct pt_op *op, u64 va, u64 size,
		       struct pt_cache *cache)
{
	struct pt_walk w = {.pt = pt, .start = va, .end = va + size, .op = op};
	struct grace_token reading = grace_read_enter();
	u64 n = tables_to_allocate(&w, table_ptr(pt->root), root_level(pt->fmt), 0);

	grace_read_exit(reading);
	/*
	 * No unlocked look at the allocator's free count first: it would race
	 * with every allocation (TSan, make stress-tsan). A fill that cannot
	 * finish returns what it took and changes nothing.
	 */
	if (n != (unsigned)n)
		return ERR_NOMEM;
	return cache_fill(cache, (unsigned)n);
}

/* Maps one window of the high output-address bits (see map_range()) from the prepared cache. */
static int map_window(struct pgtable *pt, struct pt_op *op, u64 va, u64 size,
		      struct pt_cache *cache)
{
	u64 high = pt->fmt->oa_high_mask;
	paddr_t pa = op->pa;

	/* template + pa encodes pa: the high bits' encoding replaces their in-place value. */
	op->leaf_template = pt_encode_leaf(pt->fmt, pa_init(pa_addr(pa) & high), op->attrs, 0) -
			    (pa_addr(pa) & high);
	return walk_cached(pt, op, va, size, &map_visitor, cache);
}

/*
 * Prepare, then commit: every table page the map may need is allocated
 * before the first entry changes, so out of memory it changes nothing.
 */
static int map_range(struct pgtable *pt, u64 va, paddr_t pa, u64 size, struct pt_attrs attrs,
		     unsigned flags)
{
	struct pt_op op = {.pa = pa, .attrs = attrs, .max_leaf_level = PT_MAX_LEVELS};
	struct pt_cache cache = {GATHER_NO_TABLES, 0};
	u64 high = pt->fmt->oa_high_mask, window = high & -high, done = 0;
	int rc;

	if (flags)
		op.max_leaf_level = flags - 1;
	if (!IS_ALIGNED(pa_addr(pa), PAGE_SIZE) || bad_range(pt, va, size))
		return ERR_INVAL;
	rc = prepare_map(pt, &op, va, size, &cache);
	/* Runs add addresses to a template: keep each within one value of the high OA bits. */
	while (!rc && done < size) {
		u64 at = pa_addr(pa) + done, cut = size - done;

		if (unlikely(high && ((at ^ (at + cut - 1)) & high)))
			cut = ALIGN_UP(at + 1, window) - at;
		op.pa = pa_init(at);
		rc = map_window(pt, &op, va + done, cut, &cache);
		done += cut;
	}
	cache_drain(&cache);
	return rc;
}

/* ---- unmap, with reclaim of emptied tables ---- */

/*
 * Detaches the table below the locked entry e if it is empty. The child is
 * locked too (parent before child): writers of its entries update its count
 * before they unlock, so under its lock the count is exact.
 */
static void reclaim_if_empty(struct pt_walk *w, struct pt_entry *e)
{
	paddr_t child = table_pa(w->pt->fmt, e->old);
	struct page *c = pa_to_page(child);

	if (!PT_COUNT_ENTRIES)
		return;
	table_spin_lock(c);
	if (table_mark_dead(c, 0)) {
		set_entry(w->pt, &w->gather, e, 0);
		gather_add_table(&w->gather, child);
		tables_add(w->pt, -1);
	}
	table_spin_unlock(c);
}

static int unmap_visit(struct pt_walk *w, struct pt_entry *e, enum pt_visit which)
{
	if (which == PT_VISIT_TABLE_POST) {
		if (w->pt->reclaim == PT_RECLAIM_IMMEDIATE)
			reclaim_if_empty(w, e);
		return 0;
	}
	if (!pt_entry_valid(w->pt->fmt, e->old))
		return 0;
	if (covers_entry(w, e)) {
		set_entry(w->pt, &w->gather, e, 0);
		return 0;
	}
	/* Part of a block: split it so the rest stays mapped. */
	return install_table(w, e);
}

/* Clears a run of 4K entries with one queued invalidation for all of them. */
static int unmap_leaf_run(struct pt_walk *w, struct pt_entry *first, unsigned count)
{
	const struct pt_format *fmt = w->pt->fmt;
	struct pt_entry e = *first;
	unsigned cleared = 0;

	for (unsigned i = 0; i < count; i++, e.ptep++, e.va += PAGE_SIZE) {
		u64 old = peek_entry(e.ptep);

		if (!pt_entry_valid(fmt, old))
			continue;
		store_leaf(w->pt, e.ptep, e.va, old, 0);
		cleared++;
	}
	if (cleared) {
		count_add(first->table, -(int)cleared);
		gather_add_range(&w->gather, first->va, (u64)count << PAGE_SHIFT, 0);
	}
	return 0;
}

static const struct pt_visitor unmap_visitor = {unmap_visit, PT_VISIT_LEAF | PT_VISIT_TABLE_POST,
						unmap_leaf_run};

/*
 * One 4K leaf, the common case of a discard or an invalidation: lockless
 * descent, then only the leaf's table is locked, and the invalidation is
 * issued after the unlock. Returns 1 when the general walk must do it: the
 * path holds something else than tables (a block, a break), the table left
 * the tree, or it became empty and is to be reclaimed now.
 */
static int unmap_one(struct pgtable *pt, u64 va)
{
	struct grace_token reading = grace_read_enter();
	struct pt_gather g;
	struct pt_entry e;
	unsigned long irq;
	int rc = descend_to(pt, va, 0, &e, false);

	if (rc || !table_lock(e.table, &irq)) {
		grace_read_exit(reading);
		/* An empty entry on the way: nothing is mapped at va, now. */
		return rc == DESCEND_EMPTY ? 0 : 1;
	}
	snapshot(&e);
	gather_init(&g, pt);
	if (pt_entry_valid(pt->fmt, e.old)) {
		/* Queued first: it announces the pending invalidation (pt->unflushed). */
		gather_add_range(&g, va, PAGE_SIZE, 0);
		store_leaf(pt, e.ptep, va, e.old, 0);
		count_add(e.table, -1);
		rc = pt->reclaim == PT_RECLAIM_IMMEDIATE && PT_COUNT_ENTRIES &&
		     !__atomic_load_n(&e.table->pt_valid, __ATOMIC_RELAXED);
	}
	table_unlock(e.table, irq);
	gather_flush(&g);
	pt->regime->publish(pt);
	grace_read_exit(reading);
	return rc;
}

int pt_unmap(struct pgtable *pt, u64 va, u64 size)
{
	static const struct pt_op op;

	if (size == PAGE_SIZE && IS_ALIGNED(va, PAGE_SIZE) && va < address_limit(pt) &&
	    !unmap_one(pt, va))
		return 0;
	return walk(pt, &op, va, size, &unmap_visitor);
}

static int reclaim_visit(struct pt_walk *w, struct pt_entry *e, enum pt_visit which)
{
	reclaim_if_empty(w, e);
	return 0;
}

static const struct pt_visitor reclaim_visitor = {reclaim_visit, PT_VISIT_TABLE_POST};

int pt_reclaim_scan(struct pgtable *pt, u64 va, u64 size)
{
	static const struct pt_op op;

	return walk(pt, &op, va, size, &reclaim_visitor);
}

/* ---- protect ---- */

static int protect_visit(struct pt_walk *w, struct pt_entry *e, enum pt_visit which)
{
	const struct pt_format *fmt = w->pt->fmt;
	u64 old = e->old;

	if (!pt_entry_valid(fmt, old))
		return 0;
	if (!covers_entry(w, e))
		return install_table(w, e);
	set_entry(w->pt, &w->gather, e,
		  pt_encode_leaf(fmt, pt_entry_pa(fmt, old), w->op->attrs, e->level));
	return 0;
}

static const struct pt_visitor protect_visitor = {protect_visit, PT_VISIT_LEAF};

int pt_protect(struct pgtable *pt, u64 va, u64 size, struct pt_attrs attrs)
{
	struct pt_op op = {.attrs = attrs};

	return walk(pt, &op, va, size, &protect_visitor);
}

/* ---- split ---- */

static int split_visit(struct pt_walk *w, struct pt_entry *e, enum pt_visit which)
{
	int rc;

	if (e->level <= w->op->max_leaf_level || !pt_entry_valid(w->pt->fmt, e->old))
		return 0;
	rc = install_table(w, e);
	/* The new table's leaves are one level down: done if that is fine enough. */
	if (!rc && e->level - 1 <= w->op->max_leaf_level)
		return PT_WALK_SKIP_CHILDREN;
	return rc;
}

static const struct pt_visitor split_visitor = {split_visit, PT_VISIT_LEAF};

static u8 bbm_below(const struct pgtable *pt, unsigned bbm_level)
{
	return (u8)(pt->bbm_level > bbm_level ? pt->bbm_level - bbm_level : 0);
}

int pt_split_bbm(struct pgtable *pt, u64 va, u64 size, unsigned level, unsigned bbm_level)
{
	struct pt_op op = {.max_leaf_level = level, .bbm_below = bbm_below(pt, bbm_level)};

	return walk(pt, &op, ALIGN_DOWN(va, PAGE_SIZE), ALIGN_UP(size, PAGE_SIZE), &split_visitor);
}

int pt_split(struct pgtable *pt, u64 va, u64 size, unsigned level)
{
	return pt_split_bbm(pt, va, size, level, PT_BBM_LEVELS - 1);
}

/* ---- collapse ---- */

/*
 * A table collapses when its entries are leaves mapping one aligned, uniform
 * run: entry i must equal the first plus i steps. Differences are OR-ed
 * together branch-free, eight entries at a time (the loop's own increments,
 * compare and branch are then shared by eight). The caller holds the table's
 * lock. Only a compare-and-swap installer can still write an entry, and only
 * an empty one above level 0: racy says to read with atomics then. Level-0
 * tables read plainly, which lets the compiler fold each load into the XOR.
 */
static pt_always_inline bool uniform_run(const struct pt_format *fmt, const u64 *child,
					 unsigned level, bool racy)
{
	u64 step = pt_level_size(level - 1);
	u64 first = load_entry(child), expect = first, differ = 0;

	if (!pt_entry_valid(fmt, first) || pt_entry_is_table(fmt, first, level - 1) ||
	    !IS_ALIGNED(pa_addr(pt_entry_pa(fmt, first)), pt_level_size(level)))
		return false;
#define RUN_ENTRY(i) ((racy ? peek_entry(&p[i]) : p[i]) ^ (expect + (i)*step))
	_Static_assert(PT_ENTRIES % 8 == 0, "uniform_run() checks eight entries at a time");
	for (const u64 *p = child, *end = child + PT_ENTRIES; p < end; p += 8, expect += 8 * step)
		differ |= RUN_ENTRY(0) | RUN_ENTRY(1) | RUN_ENTRY(2) | RUN_ENTRY(3) | RUN_ENTRY(4) |
			  RUN_ENTRY(5) | RUN_ENTRY(6) | RUN_ENTRY(7);
#undef RUN_ENTRY
	return differ == 0;
}

static bool table_is_uniform_run(const struct pt_format *fmt, const u64 *child, unsigned level)
{
	/* Below level 1 the step is a constant: the expected values need no registers. */
	return level > 1 ? uniform_run(fmt, child, level, true) : uniform_run(fmt, child, 1, false);
}

/*
 * The attribute bits of the leaf that replaces a table whose first entry is
 * first, remembered for the walk: a collapse usually meets the same
 * attributes table after table, and decoding and re-encoding them costs
 * more than the rest of the table's bookkeeping. The result depends only on
 * first's bits outside the output address (where every format keeps its
 * attributes), so those are the key; a valid entry's are never 0.
 */
struct collapse_memo {
	u64 from;
	u64 attr_bits;
};

static u64 collapsed_attr_bits(const struct pt_format *fmt, struct collapse_memo *memo, u64 first)
{
	u64 from = leaf_attr_bits(fmt, first);

	if (unlikely(from != memo->from)) {
		memo->from = from;
		memo->attr_bits = leaf_attr_encoding(fmt, pt_decode_attrs(fmt, first));
	}
	return memo->attr_bits;
}

/* Replaces the table below the locked entry e by one leaf, child locked (parent first). */
static int collapse_visit(struct pt_walk *w, struct pt_entry *e, enum pt_visit which)
{
	const struct pt_format *fmt = w->pt->fmt;
	paddr_t child = table_pa(fmt, e->old);
	const u64 *entries = table_ptr(child);
	struct page *c = pa_to_page(child);
	u64 first;

	if (!(fmt->leaf_levels & BIT(e->level)) || !covers_entry(w, e))
		return 0;
	table_spin_lock(c);
	/* Full and uniform, and no installer holding a reservation: it dies here. */
	if (table_is_uniform_run(fmt, entries, e->level) && table_mark_dead(c, PT_ENTRIES)) {
		first = load_entry(entries);
		resize_entry(w, e,
			     encode_leaf(fmt, pt_entry_pa(fmt, first),
					 collapsed_attr_bits(fmt, w->op->priv, first), e->level));
		gather_add_table(&w->gather, child);
		tables_add(w->pt, -1);
	}
	table_spin_unlock(c);
	return 0;
}

static const struct pt_visitor collapse_visitor = {collapse_visit, PT_VISIT_TABLE_POST};

int pt_collapse_bbm(struct pgtable *pt, u64 va, u64 size, unsigned bbm_level)
{
	struct collapse_memo memo = {0};
	struct pt_op op = {.bbm_below = bbm_below(pt, bbm_level), .priv = &memo};

	return walk(pt, &op, va, size, &collapse_visitor);
}

int pt_collapse(struct pgtable *pt, u64 va, u64 size)
{
	return pt_collapse_bbm(pt, va, size, PT_BBM_LEVELS - 1);
}

/* ---- translate: lockless ---- */

bool pt_translate(const struct pgtable *pt, u64 va, struct pt_translation *out)
{
	const struct pt_format *fmt = pt->fmt;
	struct grace_token reading = grace_read_enter();
	paddr_t table = pt->root;
	bool found = false;

	for (unsigned level = root_level(fmt);; level--) {
		unsigned index = (va >> pt_level_shift(level)) & (entries_at(pt, level) - 1);
		u64 e = load_entry(&table_ptr(table)[index]);

		reader_pause();
		if (!pt_entry_valid(fmt, e))
			break;
		if (!pt_entry_is_table(fmt, e, level)) {
			u64 offset = va & (pt_level_size(level) - 1);

			out->pa = pa_add(pt_leaf_pa(fmt, e, level), offset);
			out->attrs = pt_decode_attrs(fmt, e);
			out->level = level;
			found = true;
			break;
		}
		table = table_pa(fmt, e);
	}
	grace_read_exit(reading);
	return found;
}

/* ---- dump ---- */

struct dump_run {
	u64 va, end;
	u64 pa;
	u64 attr_bits;
	unsigned level;
	bool open;
};

static void dump_prot(char *buf, u32 prot)
{
	buf[0] = prot & PT_READ ? 'r' : '-';
	buf[1] = prot & PT_WRITE ? 'w' : '-';
	buf[2] = prot & PT_EXEC ? 'x' : '-';
	buf[3] = prot & PT_USER ? 'u' : '-';
	buf[4] = prot & PT_GLOBAL ? 'g' : '-';
	buf[5] = '\0';
}

static void dump_flush(const struct pt_format *fmt, struct dump_run *run)
{
	static const char *const memtypes[] = {"normal", "normal-nc", "device"};
	static const char *const sizes[] = {"4K", "2M", "1G", "512G", "256T"};
	struct pt_attrs a;
	char prot[6];

	if (!run->open)
		return;
	a = pt_decode_attrs(fmt, run->attr_bits);
	dump_prot(prot, a.prot);
	printf("  0x%012llx-0x%012llx -> 0x%012llx %s %-9s %s x%llu\n", (unsigned long long)run->va,
	       (unsigned long long)run->end - 1, (unsigned long long)run->pa, prot,
	       memtypes[a.memtype], sizes[run->level],
	       (unsigned long long)((run->end - run->va) / pt_level_size(run->level)));
	run->open = false;
}

static int dump_visit(struct pt_walk *w, struct pt_entry *e, enum pt_visit which)
{
	const struct pt_format *fmt = w->pt->fmt;
	struct dump_run *run = w->op->priv;
	u64 entry = e->old;
	u64 pa = pa_addr(pt_entry_pa(fmt, entry));

	if (!pt_entry_valid(fmt, entry)) {
		dump_flush(fmt, run);
		return 0;
	}
	if (run->open && run->end == e->va && run->level == e->level &&
	    run->pa + (run->end - run->va) == pa && run->attr_bits == leaf_attr_bits(fmt, entry)) {
		run->end += pt_level_size(e->level);
		return 0;
	}
	dump_flush(fmt, run);
	*run = (struct dump_run){e->va,	   e->va + pt_level_size(e->level),
				 pa,	   leaf_attr_bits(fmt, entry),
				 e->level, true};
	return 0;
}

static const struct pt_visitor dump_visitor = {dump_visit, PT_VISIT_LEAF};

void pt_dump(const struct pgtable *pt, u64 va, u64 size)
{
	struct dump_run run = {0};
	struct pt_op op = {.priv = &run};

	printf("page table %s (%s), root 0x%llx, %llu table pages:\n", pt->fmt->name,
	       pt->regime->name, (unsigned long long)pa_addr(pt->root),
	       (unsigned long long)pt->tables);
	/* The dump visitor writes nothing; the walk only needs a mutable handle. */
	walk((struct pgtable *)pt, &op, va, size, &dump_visitor);
	dump_flush(pt->fmt, &run);
}

/* ---- count ---- */

/* At a table entry: its child counts when every address the child translates is in range. */
static int count_visit(struct pt_walk *w, struct pt_entry *e, enum pt_visit which)
{
	u64 *count = w->op->priv;

	(void)which;
	if (covers_entry(w, e))
		(*count)++;
	return 0;
}

static const struct pt_visitor count_visitor = {count_visit, PT_VISIT_TABLE_PRE};

u64 pt_count_tables(const struct pgtable *pt, u64 va, u64 size)
{
	u64 count = 0;
	struct pt_op op = {.priv = &count};

	/* Like the dump, the count writes nothing. */
	if (walk((struct pgtable *)pt, &op, va, size, &count_visitor))
		return 0;
	return count;
}

/* ---- lifetime ---- */

int pt_init(struct pgtable *pt, const struct pt_format *fmt, const struct pt_regime *regime)
{
	unsigned order = fmt->root_pages > 1 ? __builtin_ctz(fmt->root_pages) : 0;

	/* The break marker must be invalid in every format; the memo key is output address. */
	BUG_ON(fmt->valid_mask & PT_BREAK_MARKER);
	BUG_ON((fmt->oa_mask & ATTR_MEMO_KEY) != ATTR_MEMO_KEY);
	/* Attributes and the valid bits lie outside the output address: collapse's memo key. */
	for (unsigned i = 0; i < PT_PROT_BITS; i++)
		BUG_ON((fmt->prot_bits[i].set | fmt->prot_bits[i].clear) & fmt->oa_mask);
	BUG_ON((fmt->memtype_mask | fmt->valid_mask) & fmt->oa_mask);
	*pt = (struct pgtable){.fmt = fmt,
			       .regime = regime,
			       .reclaim = PT_RECLAIM_IMMEDIATE,
			       .bbm_level = (u8)MIN(arch_pt_bbm_level(), PT_BBM_LEVELS - 1)};
	pt->root = order ? pmm_alloc(order) : table_alloc(pt, NULL, root_level(fmt), false);
	if (order && pa_addr(pt->root)) {
		/* Concatenated roots: one table (and one count) spread over several pages. */
		struct page *p = pa_to_page(pt->root);

		__atomic_store_n(&p->state, PAGE_TABLE, __ATOMIC_RELAXED);
		p->pt_level = (u8)root_level(fmt);
		p->pt_valid = 0;
		spin_lock_init(&p->pt_lock);
		pt->tables = pt->tables_peak = 1;
	}
	return pa_addr(pt->root) ? 0 : ERR_NOMEM;
}

void pt_destroy(struct pgtable *pt)
{
	unsigned order = pt->fmt->root_pages > 1 ? __builtin_ctz(pt->fmt->root_pages) : 0;

	pt_unmap(pt, 0, address_limit(pt));
	pt_reclaim_scan(pt, 0, address_limit(pt));
	BUG_ON(PT_COUNT_ENTRIES && pa_to_page(pt->root)->pt_valid != 0);
	__atomic_store_n(&pa_to_page(pt->root)->state, PAGE_ALLOCATED_HEAD, __ATOMIC_RELAXED);
	pmm_free(pt->root, order);
	tables_add(pt, -1);
	pt->root = pa_init(0);
}
