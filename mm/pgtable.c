/* SPDX-License-Identifier: MIT */
/*
 * The page-table engine. One recursive walker visits the entries covering a
 * range; operations (map, unmap, protect, split, collapse, dump) are visitors.
 *
 *   walk_entry(e):
 *     table  -> visitor(TABLE_PRE), walk the child table, visitor(TABLE_POST)
 *     other  -> visitor(LEAF); if the visitor installed a table (a split, or
 *               a map needing a finer granule), walk into it, then TABLE_POST
 *
 * Every store to an entry goes through set_entry(), which keeps the owning
 * table's valid-entry count exact and sequences live changes the way the
 * regime's rules demand (break-before-make or write-then-invalidate).
 */
#include "mm/pgtable.h"
#include "kernel/panic.h"
#include "lib/printf.h"
#include "lib/string.h"
#include "mm/gather.h"
#include "mm/kmap.h"
#include "mm/pmm.h"

/*
 * Valid-entry counting (and with it automatic reclaim) can be compiled out
 * only to measure what it costs (make bench-mm); the kernel always has it.
 */
#ifndef PT_COUNT_ENTRIES
#define PT_COUNT_ENTRIES 1
#endif

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
	void *priv; /* visitor-private state */
};

/*
 * One walk in progress. Built field by field in walk(): zero-initialising the
 * gather's table list would cost more than a whole single-page map.
 */
struct pt_walk {
	struct pgtable *pt;
	u64 start, end;
	const struct pt_visitor *visitor;
	const struct pt_op *op;
	struct pt_gather gather;
};

/* A visitor returns 0 to go on, PT_WALK_SKIP_CHILDREN to not descend, or an error (< 0). */
#define PT_WALK_SKIP_CHILDREN 1

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

u64 pt_encode_leaf(const struct pt_format *fmt, paddr_t pa, struct pt_attrs attrs,
		   unsigned level)
{
	return (pa_addr(pa) & fmt->oa_mask) | (level ? fmt->block_bits : fmt->page_bits) |
	       fmt->leaf_always | prot_encoding(fmt, attrs.prot) |
	       fmt->memtype_bits[attrs.memtype];
}

u64 pt_encode_table(const struct pt_format *fmt, paddr_t table)
{
	return (pa_addr(table) & fmt->oa_mask) | fmt->table_bits;
}

bool pt_entry_valid(const struct pt_format *fmt, u64 e)
{
	return (e & fmt->valid_mask) != 0;
}

bool pt_entry_is_table(const struct pt_format *fmt, u64 e, unsigned level)
{
	return level > 0 && pt_entry_valid(fmt, e) && (e & fmt->type_mask) == fmt->table_type;
}

paddr_t pt_entry_pa(const struct pt_format *fmt, u64 e)
{
	return pa_init(e & fmt->oa_mask);
}

struct pt_attrs pt_decode_attrs(const struct pt_format *fmt, u64 e)
{
	struct pt_attrs a = { fmt->implied_prot, PT_MEM_NORMAL };

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

static paddr_t table_alloc(struct pgtable *pt, unsigned level, bool caller_fills)
{
	paddr_t pa = caller_fills ? pmm_alloc_uninit(0) : pmm_alloc(0);
	struct page *p;

	if (!pa_addr(pa))
		return pa;
	p = pa_to_page(pa);
	p->state = PAGE_TABLE;
	p->pt_level = (u8)level;
	p->pt_valid = 0;
	spin_lock_init(&p->pt_lock);
	pt->tables++;
	pt->tables_peak = MAX(pt->tables_peak, pt->tables);
	return pa;
}

/* ---- Entry updates ---- */

#ifdef HOST_TEST
/* The host harness observes every store to a reachable entry (BBM rule checker). */
void host_observe_store(const struct pgtable *pt, u64 *ptep, u64 va, unsigned level, u64 new);
#else
static inline void host_observe_store(const struct pgtable *pt, u64 *ptep, u64 va,
				      unsigned level, u64 new)
{
}
#endif

/* The one store to an entry a table walker may be reading. */
static inline void store(const struct pgtable *pt, u64 *ptep, u64 va, unsigned level, u64 new)
{
	host_observe_store(pt, ptep, va, level, new);
	WRITE_ONCE(*ptep, new);
}

static void store_entry(const struct pgtable *pt, struct pt_entry *e, u64 new)
{
	store(pt, e->ptep, e->va, e->level, new);
}

static void count_change(struct pt_entry *e, bool was_valid, bool is_valid)
{
	if (PT_COUNT_ENTRIES && was_valid != is_valid)
		e->table->pt_valid += is_valid ? 1 : -1;
}

/*
 * The single place an entry changes. Invalid -> valid needs no invalidation
 * (no TLB caches an invalid entry), only publication before first use.
 * Valid -> invalid is queued in the gather. Valid -> valid follows the
 * sequence the regime's rules choose.
 */
static void set_entry(struct pt_walk *w, struct pt_entry *e, u64 new)
{
	const struct pgtable *pt = w->pt;
	u64 old = *e->ptep;
	bool was_valid = pt_entry_valid(pt->fmt, old);
	bool is_valid = pt_entry_valid(pt->fmt, new);
	u64 span = pt_level_size(e->level);

	if (was_valid && is_valid &&
	    pt->fmt->classify_live(old, new, e->level) == PT_LIVE_BREAK_BEFORE_MAKE) {
		/* Break: no CPU may hold both translations at once (Arm ARM D8.16.1). */
		store_entry(pt, e, 0);
		gather_add_range(&w->gather, e->va, span, e->level);
		gather_flush(&w->gather);
		/* Make: only after the invalidation has completed everywhere. */
		store_entry(pt, e, new);
	} else {
		store_entry(pt, e, new);
		if (was_valid)
			gather_add_range(&w->gather, e->va, span, e->level);
	}
	count_change(e, was_valid, is_valid);
}

/* Fills a new child table with the translations of the leaf old, one level down. */
static void fill_split(const struct pt_format *fmt, u64 *child, u64 old, unsigned level)
{
	u64 step = pt_level_size(level - 1);
	u64 leaf = pt_encode_leaf(fmt, pt_entry_pa(fmt, old), pt_decode_attrs(fmt, old), level - 1);

	for (u64 *p = child, *end = child + PT_ENTRIES; p < end; p += 4, leaf += 4 * step) {
		p[0] = leaf;
		p[1] = leaf + step;
		p[2] = leaf + 2 * step;
		p[3] = leaf + 3 * step;
	}
}

/*
 * Puts a table below e: an empty one below an invalid entry, or (a split)
 * one holding the same translations as the leaf e currently is.
 */
static int install_table(struct pt_walk *w, struct pt_entry *e)
{
	const struct pt_format *fmt = w->pt->fmt;
	u64 old = *e->ptep;
	bool split = pt_entry_valid(fmt, old);
	/* A split overwrites all 512 entries before the table is reachable: skip the zeroing. */
	paddr_t table = table_alloc(w->pt, e->level - 1, split);

	if (!pa_addr(table))
		return -1;
	if (split) {
		fill_split(fmt, table_ptr(table), old, e->level);
		if (PT_COUNT_ENTRIES)
			pa_to_page(table)->pt_valid = PT_ENTRIES;
	}
	set_entry(w, e, pt_encode_table(fmt, table));
	return 0;
}

/* ---- The walker ---- */

static int walk_table(struct pt_walk *w, paddr_t table, unsigned level, u64 table_va);

static int walk_child(struct pt_walk *w, struct pt_entry *e)
{
	const struct pt_visitor *v = w->visitor;
	int rc;

	rc = walk_table(w, pt_entry_pa(w->pt->fmt, *e->ptep), e->level - 1, e->va);
	if (rc || !(v->flags & PT_VISIT_TABLE_POST))
		return rc;
	return v->visit(w, e, PT_VISIT_TABLE_POST);
}

static int walk_entry(struct pt_walk *w, struct pt_entry *e)
{
	const struct pt_format *fmt = w->pt->fmt;
	const struct pt_visitor *v = w->visitor;
	int rc = 0;

	if (pt_entry_is_table(fmt, *e->ptep, e->level)) {
		if (v->flags & PT_VISIT_TABLE_PRE)
			rc = v->visit(w, e, PT_VISIT_TABLE_PRE);
	} else if (v->flags & PT_VISIT_LEAF) {
		rc = v->visit(w, e, PT_VISIT_LEAF);
	} else {
		return 0;
	}
	if (rc)
		return rc == PT_WALK_SKIP_CHILDREN ? 0 : rc;
	/* The visitor may have installed or removed a table: look again. */
	if (!pt_entry_is_table(fmt, *e->ptep, e->level))
		return 0;
	return walk_child(w, e);
}

static int walk_table(struct pt_walk *w, paddr_t table, unsigned level, u64 table_va)
{
	u64 *entries = table_ptr(table);
	u64 span = pt_level_size(level);
	u64 table_end = table_va + span * entries_at(w->pt, level);
	u64 va = MAX(w->start, table_va) & ~(span - 1);
	u64 end = MIN(w->end, table_end);
	struct pt_entry e = { .level = level, .table = pa_to_page(table) };

	/* Level 0 holds only leaves: visit them in bulk, or skip them if unvisited. */
	if (level == 0 && w->visitor->visit_leaf_run && va < end) {
		e.ptep = &entries[(va - table_va) >> PAGE_SHIFT];
		e.va = va;
		return w->visitor->visit_leaf_run(w, &e, (unsigned)((end - va) >> PAGE_SHIFT));
	}
	if (level == 0 && !(w->visitor->flags & PT_VISIT_LEAF))
		return 0;
	for (; va < end; va += span) {
		int rc;

		e.ptep = &entries[(va - table_va) >> pt_level_shift(level)];
		e.va = va;
		rc = walk_entry(w, &e);
		if (rc)
			return rc;
	}
	return 0;
}

/* One past the highest address the tables can translate. */
static u64 address_limit(const struct pgtable *pt)
{
	return 1ULL << pt->fmt->va_bits;
}

static int walk(struct pgtable *pt, const struct pt_op *op, u64 va, u64 size,
		const struct pt_visitor *visitor)
{
	struct pt_walk w;
	unsigned long flags;
	int rc;

	if (!IS_ALIGNED(va | size, PAGE_SIZE) || !size || va + size < va ||
	    va + size > address_limit(pt))
		return -2;
	w.pt = pt;
	w.start = va;
	w.end = va + size;
	w.visitor = visitor;
	w.op = op;
	gather_init(&w.gather, pt);
	flags = spin_lock_irqsave(&pt->lock);
	rc = walk_table(&w, pt->root, root_level(pt->fmt), 0);
	pt->regime->publish(pt);
	gather_flush(&w.gather);
	spin_unlock_irqrestore(&pt->lock, flags);
	return rc;
}

/* Does e's whole span lie inside the walked range? */
static bool covers_entry(const struct pt_walk *w, const struct pt_entry *e)
{
	return e->va >= w->start && e->va + pt_level_size(e->level) <= w->end;
}

/* ---- map ---- */

static int map_range(struct pgtable *pt, u64 va, paddr_t pa, u64 size, struct pt_attrs attrs,
		     unsigned flags);

static bool can_map_leaf(const struct pt_walk *w, const struct pt_entry *e, paddr_t pa)
{
	const struct pt_format *fmt = w->pt->fmt;

	return (fmt->leaf_levels & BIT(e->level)) && e->level <= w->op->max_leaf_level &&
	       covers_entry(w, e) && IS_ALIGNED(pa_addr(pa), pt_level_size(e->level));
}

static int map_visit(struct pt_walk *w, struct pt_entry *e, enum pt_visit which)
{
	paddr_t pa = pa_add(w->op->pa, e->va - w->start);

	if (can_map_leaf(w, e, pa)) {
		set_entry(w, e, pt_encode_leaf(w->pt->fmt, pa, w->op->attrs, e->level));
		return 0;
	}
	return install_table(w, e);
}

/*
 * Empty entries are filled straight from a template (encoded once per walk);
 * an entry that is already valid takes the general path with its live rules.
 */
static int map_leaf_run(struct pt_walk *w, struct pt_entry *first, unsigned count)
{
	const u64 valid_mask = w->pt->fmt->valid_mask;
	u64 leaf = w->op->leaf_template + pa_addr(w->op->pa) + (first->va - w->start);
	u64 *ptep = first->ptep, va = first->va;
	unsigned filled = 0;

	for (u64 *end = ptep + count; ptep < end; ptep++, va += PAGE_SIZE, leaf += PAGE_SIZE) {
		if (unlikely(*ptep & valid_mask)) {
			struct pt_entry e = { ptep, va, 0, first->table };

			set_entry(w, &e, leaf);
			continue;
		}
		store(w->pt, ptep, va, 0, leaf);
		filled++;
	}
	if (PT_COUNT_ENTRIES)
		first->table->pt_valid += filled;
	return 0;
}

static const struct pt_visitor map_visitor = { map_visit, PT_VISIT_LEAF, map_leaf_run };

/*
 * One leaf into tables that already exist: the demand-fault case. Descends as
 * pt_translate() does and, when every table on the path is there, updates the
 * single entry through set_entry() like any visitor would. Returns 1 when a
 * table is missing, for the general walk to build it.
 */
static int map_one_existing(struct pgtable *pt, u64 va, paddr_t pa, unsigned level,
			    struct pt_attrs attrs)
{
	const struct pt_format *fmt = pt->fmt;
	paddr_t table = pt->root;
	unsigned l = root_level(fmt);
	unsigned long flags;
	struct pt_walk w;
	struct pt_entry e;
	u64 *ptep;

	flags = spin_lock_irqsave(&pt->lock);
	for (;; l--) {
		unsigned index = (va >> pt_level_shift(l)) & (entries_at(pt, l) - 1);

		ptep = (u64 *)phys_to_virt(table) + index;
		/* A table where the leaf goes keeps its finer mappings: the walk handles it. */
		if (l == level && !pt_entry_is_table(fmt, *ptep, l))
			break;
		if (!pt_entry_is_table(fmt, *ptep, l) || l == level) {
			spin_unlock_irqrestore(&pt->lock, flags);
			return 1;
		}
		table = pt_entry_pa(fmt, *ptep);
	}
	w.pt = pt;
	w.start = va;
	w.end = va + pt_level_size(level);
	gather_init(&w.gather, pt);
	e = (struct pt_entry){ ptep, va, level, pa_to_page(table) };
	set_entry(&w, &e, pt_encode_leaf(fmt, pa, attrs, level));
	pt->regime->publish(pt);
	gather_flush(&w.gather);
	spin_unlock_irqrestore(&pt->lock, flags);
	return 0;
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

int pt_map(struct pgtable *pt, u64 va, paddr_t pa, u64 size, struct pt_attrs attrs,
	   unsigned flags)
{
	int level = single_leaf_level(pt, va, pa, size, flags ? flags - 1 : PT_MAX_LEVELS);

	if (level >= 0 && map_one_existing(pt, va, pa, (unsigned)level, attrs) == 0)
		return 0;
	return map_range(pt, va, pa, size, attrs, flags);
}

static int map_range(struct pgtable *pt, u64 va, paddr_t pa, u64 size, struct pt_attrs attrs,
		     unsigned flags)
{
	struct pt_op op = { .pa = pa, .attrs = attrs, .max_leaf_level = PT_MAX_LEVELS };

	if (flags)
		op.max_leaf_level = flags - 1;
	if (!IS_ALIGNED(pa_addr(pa), PAGE_SIZE))
		return -2;
	op.leaf_template = pt_encode_leaf(pt->fmt, pa_init(0), attrs, 0);
	return walk(pt, &op, va, size, &map_visitor);
}

/* ---- unmap, with reclaim of emptied tables ---- */

/* Detaches the (now empty) table below e; it is freed after the flush. */
static void reclaim_table(struct pt_walk *w, struct pt_entry *e)
{
	paddr_t child = pt_entry_pa(w->pt->fmt, *e->ptep);

	set_entry(w, e, 0);
	gather_add_table(&w->gather, child);
	w->pt->tables--;
}

/* e is never the root: the root has no parent entry to clear. */
static void reclaim_if_empty(struct pt_walk *w, struct pt_entry *e)
{
	if (PT_COUNT_ENTRIES && pa_to_page(pt_entry_pa(w->pt->fmt, *e->ptep))->pt_valid == 0)
		reclaim_table(w, e);
}

static int unmap_visit(struct pt_walk *w, struct pt_entry *e, enum pt_visit which)
{
	if (which == PT_VISIT_TABLE_POST) {
		if (w->pt->reclaim == PT_RECLAIM_IMMEDIATE)
			reclaim_if_empty(w, e);
		return 0;
	}
	if (!pt_entry_valid(w->pt->fmt, *e->ptep))
		return 0;
	if (covers_entry(w, e)) {
		set_entry(w, e, 0);
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
		if (!pt_entry_valid(fmt, *e.ptep))
			continue;
		store(w->pt, e.ptep, e.va, 0, 0);
		cleared++;
	}
	if (cleared) {
		if (PT_COUNT_ENTRIES)
			first->table->pt_valid -= cleared;
		gather_add_range(&w->gather, first->va, (u64)count << PAGE_SHIFT, 0);
	}
	return 0;
}

static const struct pt_visitor unmap_visitor = { unmap_visit, PT_VISIT_LEAF | PT_VISIT_TABLE_POST,
						 unmap_leaf_run };

int pt_unmap(struct pgtable *pt, u64 va, u64 size)
{
	static const struct pt_op op;

	return walk(pt, &op, va, size, &unmap_visitor);
}

static int reclaim_visit(struct pt_walk *w, struct pt_entry *e, enum pt_visit which)
{
	reclaim_if_empty(w, e);
	return 0;
}

static const struct pt_visitor reclaim_visitor = { reclaim_visit, PT_VISIT_TABLE_POST };

int pt_reclaim_scan(struct pgtable *pt, u64 va, u64 size)
{
	static const struct pt_op op;

	return walk(pt, &op, va, size, &reclaim_visitor);
}

/* ---- protect ---- */

static int protect_visit(struct pt_walk *w, struct pt_entry *e, enum pt_visit which)
{
	const struct pt_format *fmt = w->pt->fmt;
	u64 old = *e->ptep;

	if (!pt_entry_valid(fmt, old))
		return 0;
	if (!covers_entry(w, e))
		return install_table(w, e);
	set_entry(w, e, pt_encode_leaf(fmt, pt_entry_pa(fmt, old), w->op->attrs, e->level));
	return 0;
}

static const struct pt_visitor protect_visitor = { protect_visit, PT_VISIT_LEAF };

int pt_protect(struct pgtable *pt, u64 va, u64 size, struct pt_attrs attrs)
{
	struct pt_op op = { .attrs = attrs };

	return walk(pt, &op, va, size, &protect_visitor);
}

/* ---- split ---- */

static int split_visit(struct pt_walk *w, struct pt_entry *e, enum pt_visit which)
{
	int rc;

	if (e->level <= w->op->max_leaf_level || !pt_entry_valid(w->pt->fmt, *e->ptep))
		return 0;
	rc = install_table(w, e);
	/* The new table's leaves are one level down: done if that is fine enough. */
	if (!rc && e->level - 1 <= w->op->max_leaf_level)
		return PT_WALK_SKIP_CHILDREN;
	return rc;
}

static const struct pt_visitor split_visitor = { split_visit, PT_VISIT_LEAF };

int pt_split(struct pgtable *pt, u64 va, u64 size, unsigned level)
{
	struct pt_op op = { .max_leaf_level = level };

	return walk(pt, &op, ALIGN_DOWN(va, PAGE_SIZE), ALIGN_UP(size, PAGE_SIZE), &split_visitor);
}

/* ---- collapse ---- */

/*
 * A table collapses when its entries are leaves mapping one aligned, uniform
 * run: entry i must equal the first plus i steps. Differences are OR-ed
 * together branch-free, four entries at a time.
 */
static bool table_is_uniform_run(const struct pt_format *fmt, const u64 *child, unsigned level)
{
	u64 step = pt_level_size(level - 1);
	u64 first = child[0], expect = first, differ = 0;

	if (!pt_entry_valid(fmt, first) || pt_entry_is_table(fmt, first, level - 1) ||
	    !IS_ALIGNED(pa_addr(pt_entry_pa(fmt, first)), pt_level_size(level)))
		return false;
	for (const u64 *p = child, *end = child + PT_ENTRIES; p < end; p += 4, expect += 4 * step)
		differ |= (p[0] ^ expect) | (p[1] ^ (expect + step)) | (p[2] ^ (expect + 2 * step)) |
			  (p[3] ^ (expect + 3 * step));
	return differ == 0;
}

static int collapse_visit(struct pt_walk *w, struct pt_entry *e, enum pt_visit which)
{
	const struct pt_format *fmt = w->pt->fmt;
	paddr_t child = pt_entry_pa(fmt, *e->ptep);
	const u64 *entries = table_ptr(child);
	u64 leaf;

	if (!(fmt->leaf_levels & BIT(e->level)) || !covers_entry(w, e) ||
	    !table_is_uniform_run(fmt, entries, e->level))
		return 0;
	leaf = pt_encode_leaf(fmt, pt_entry_pa(fmt, entries[0]),
			      pt_decode_attrs(fmt, entries[0]), e->level);
	set_entry(w, e, leaf);
	gather_add_table(&w->gather, child);
	w->pt->tables--;
	return 0;
}

static const struct pt_visitor collapse_visitor = { collapse_visit, PT_VISIT_TABLE_POST };

int pt_collapse(struct pgtable *pt, u64 va, u64 size)
{
	static const struct pt_op op;

	return walk(pt, &op, va, size, &collapse_visitor);
}

/* ---- translate: lockless ---- */

bool pt_translate(const struct pgtable *pt, u64 va, struct pt_translation *out)
{
	const struct pt_format *fmt = pt->fmt;
	paddr_t table = pt->root;

	for (unsigned level = root_level(fmt);; level--) {
		unsigned index = (va >> pt_level_shift(level)) & (entries_at(pt, level) - 1);
		u64 e = READ_ONCE(table_ptr(table)[index]);

		if (!pt_entry_valid(fmt, e))
			return false;
		if (!pt_entry_is_table(fmt, e, level)) {
			u64 offset = va & (pt_level_size(level) - 1);

			out->pa = pa_add(pt_entry_pa(fmt, e), offset);
			out->attrs = pt_decode_attrs(fmt, e);
			out->level = level;
			return true;
		}
		table = pt_entry_pa(fmt, e);
	}
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
	static const char *const memtypes[] = { "normal", "normal-nc", "device" };
	static const char *const sizes[] = { "4K", "2M", "1G", "512G", "256T" };
	struct pt_attrs a;
	char prot[6];

	if (!run->open)
		return;
	a = pt_decode_attrs(fmt, run->attr_bits);
	dump_prot(prot, a.prot);
	printf("  0x%012llx-0x%012llx -> 0x%012llx %s %-9s %s x%llu\n",
	       (unsigned long long)run->va, (unsigned long long)run->end - 1,
	       (unsigned long long)run->pa, prot, memtypes[a.memtype], sizes[run->level],
	       (unsigned long long)((run->end - run->va) / pt_level_size(run->level)));
	run->open = false;
}

static int dump_visit(struct pt_walk *w, struct pt_entry *e, enum pt_visit which)
{
	const struct pt_format *fmt = w->pt->fmt;
	struct dump_run *run = w->op->priv;
	u64 entry = *e->ptep;
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
	*run = (struct dump_run){ e->va, e->va + pt_level_size(e->level), pa,
				  leaf_attr_bits(fmt, entry), e->level, true };
	return 0;
}

static const struct pt_visitor dump_visitor = { dump_visit, PT_VISIT_LEAF };

void pt_dump(const struct pgtable *pt, u64 va, u64 size)
{
	struct dump_run run = { 0 };
	struct pt_op op = { .priv = &run };

	printf("page table %s (%s), root 0x%llx, %llu table pages:\n", pt->fmt->name,
	       pt->regime->name, (unsigned long long)pa_addr(pt->root),
	       (unsigned long long)pt->tables);
	/* The dump visitor writes nothing; the walk only needs a mutable handle. */
	walk((struct pgtable *)pt, &op, va, size, &dump_visitor);
	dump_flush(pt->fmt, &run);
}

/* ---- lifetime ---- */

int pt_init(struct pgtable *pt, const struct pt_format *fmt, const struct pt_regime *regime)
{
	unsigned order = fmt->root_pages > 1 ? __builtin_ctz(fmt->root_pages) : 0;

	*pt = (struct pgtable){ .fmt = fmt, .regime = regime, .reclaim = PT_RECLAIM_IMMEDIATE };
	spin_lock_init(&pt->lock);
	pt->root = order ? pmm_alloc(order) : table_alloc(pt, root_level(fmt), false);
	if (order && pa_addr(pt->root)) {
		/* Concatenated roots: one table (and one count) spread over several pages. */
		struct page *p = pa_to_page(pt->root);

		p->state = PAGE_TABLE;
		p->pt_level = (u8)root_level(fmt);
		p->pt_valid = 0;
		pt->tables = pt->tables_peak = 1;
	}
	return pa_addr(pt->root) ? 0 : -1;
}

void pt_destroy(struct pgtable *pt)
{
	unsigned order = pt->fmt->root_pages > 1 ? __builtin_ctz(pt->fmt->root_pages) : 0;

	pt_unmap(pt, 0, address_limit(pt));
	pt_reclaim_scan(pt, 0, address_limit(pt));
	BUG_ON(PT_COUNT_ENTRIES && pa_to_page(pt->root)->pt_valid != 0);
	pa_to_page(pt->root)->state = PAGE_ALLOCATED_HEAD;
	pmm_free(pt->root, order);
	pt->tables--;
	pt->root = pa_init(0);
}
