/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include "tests/host/fuzz_ops.h"
#include "tests/host/harness.h"
#include "tests/host/model.h"
#include "mm/kmap.h"
#include "mm/pmm.h"

/* The window operations touch: 2 GiB, so 1 GiB leaves occur, at a VA that needs every level. */
#define WIN_BASE  0x0000004000000000ULL
#define WIN_PAGES (GiB(2) >> PAGE_SHIFT)
#define REF_VALID BIT(63)

enum op { OP_MAP, OP_UNMAP, OP_PROTECT, OP_SPLIT, OP_COLLAPSE, OP_TOUCH, OP_COUNT };

struct stream {
	const u8 *data;
	size_t len, pos;
};

struct fuzz_state {
	struct pgtable pt;
	u64 *ref; /* per page: REF_VALID | pa | memtype << 9 | prot */
	unsigned failures;
	struct fuzz_stats stats;
};

/* One decoded operation, on window pages [first, first + pages). */
struct fuzz_op {
	enum op op;
	u64 first, pages;
	u64 pa;		/* map */
	unsigned flags; /* map: 0 or PT_MAP_MAX_LEVEL() */
	unsigned level; /* split */
	struct pt_attrs attrs;
	u64 fail_after; /* harness_fail_allocs() point; 0: no injected failure */
};

static u64 take(struct stream *s, unsigned bytes)
{
	u64 v = 0;

	for (unsigned i = 0; i < bytes; i++)
		v = (v << 8) | (s->pos < s->len ? s->data[s->pos++] : 0);
	return v;
}

static u64 window_va(u64 page)
{
	return WIN_BASE + (page << PAGE_SHIFT);
}

static u64 ref_encode(u64 pa, struct pt_attrs a)
{
	return REF_VALID | pa | (u64)a.memtype << 9 | a.prot;
}

/* A granule-aligned range inside the window, biased to small sizes. */
static void pick_range(struct stream *s, u64 granule, u64 *first, u64 *pages)
{
	u64 gpages = granule >> PAGE_SHIFT, slots = WIN_PAGES / gpages;
	u64 start = take(s, 3) % slots;
	u64 max = slots - start;
	u64 n = 1 + take(s, 1) % 8;

	if (take(s, 1) % 8 == 0)
		n = 1 + take(s, 2) % max;
	*first = start * gpages;
	*pages = MIN(n, max) * gpages;
}

/* Range granules, by the op's second byte: 4K twice as often as the others. */
static const u64 granules[] = {KiB(4), KiB(4), MiB(2), GiB(1)};

static struct pt_attrs pick_attrs(struct stream *s)
{
	static const u32 prots[] = {PT_READ, PT_READ | PT_WRITE, PT_READ | PT_EXEC,
				    PT_READ | PT_WRITE | PT_SW0};
	u8 v = (u8)take(s, 1);

	return (struct pt_attrs){prots[v & 3], (v >> 2) % 4 == 0 ? PT_MEM_DEVICE : PT_MEM_NORMAL};
}

static void fail(struct fuzz_state *st, const char *what, u64 va)
{
	if (st->failures < 8)
		ktap_diag("fuzz: %s at 0x%llx", what, va);
	st->failures++;
}

static void check_page(struct fuzz_state *st, u64 page)
{
	struct pt_translation t;
	u64 va = window_va(page), want = st->ref[page];
	bool mapped = pt_translate(&st->pt, va, &t);

	if (mapped != !!(want & REF_VALID)) {
		fail(st,
		     mapped ? "mapped, reference says unmapped" : "unmapped, reference says mapped",
		     va);
		return;
	}
	if (mapped && ref_encode(pa_addr(t.pa), t.attrs) != want)
		fail(st, "translation differs from the reference", va);
	if (mapped && !(st->pt.fmt->leaf_levels & BIT(t.level)))
		fail(st, "a leaf of a size the format's CPU lacks", va);
}

static void check_range_edges(struct fuzz_state *st, u64 first, u64 pages)
{
	u64 probes[] = {first, first + pages - 1, first ? first - 1 : 0,
			MIN(first + pages, WIN_PAGES - 1)};

	for (unsigned i = 0; i < ARRAY_SIZE(probes); i++)
		check_page(st, probes[i]);
}

/*
 * The allocation that fails, and every one after it, for an operation that
 * may allocate table pages: from the bits the op and granule bytes leave
 * unused, so an input decodes to the same operations with injection as it
 * did without. About half of the operations get one: mostly among the first
 * few allocations (a map's prepare step, the splits at a range's edges),
 * sometimes deep into a long split. 0: none.
 */
static u64 fail_point(u64 op_spare, u64 granule_spare)
{
	if (op_spare % 2)
		return 0;
	if (granule_spare < 48)
		return 1 + granule_spare % 8;
	return 1 + ((op_spare / 2) * 64 + granule_spare) % 1024;
}

/* Decodes one operation; false for a burst of touches, done here. */
static bool decode(struct fuzz_state *st, struct stream *s, struct fuzz_op *o)
{
	u64 op_byte = take(s, 1), granule_byte = take(s, 1);
	u64 granule = granules[granule_byte % ARRAY_SIZE(granules)];

	*o = (struct fuzz_op){.op = (enum op)(op_byte % OP_COUNT)};
	pick_range(s, granule, &o->first, &o->pages);
	switch (o->op) {
	case OP_MAP:
		o->pa = ALIGN_DOWN(take(s, 4) << PAGE_SHIFT, granule) + GiB(4);
		o->flags = (unsigned)(take(s, 1) % 4); /* 0: any size, else max level + 1 */
		o->attrs = pick_attrs(s);
		break;
	case OP_PROTECT: o->attrs = pick_attrs(s); break;
	case OP_SPLIT: o->level = (unsigned)(take(s, 1) % 3); break;
	case OP_TOUCH:
		for (unsigned i = 0; i < 8; i++)
			model_touch(&st->pt, (unsigned)(take(s, 1) % MODEL_CPUS),
				    window_va(take(s, 3) % WIN_PAGES));
		return false;
	default: break;
	}
	/* Collapse only frees tables: no allocation to fail. */
	if (o->op != OP_COLLAPSE)
		o->fail_after = fail_point(op_byte / OP_COUNT, granule_byte / ARRAY_SIZE(granules));
	return true;
}

static int run_op(struct fuzz_state *st, const struct fuzz_op *o)
{
	u64 va = window_va(o->first), size = o->pages << PAGE_SHIFT;

	switch (o->op) {
	case OP_MAP: return pt_map(&st->pt, va, pa_init(o->pa), size, o->attrs, o->flags);
	case OP_UNMAP: return pt_unmap(&st->pt, va, size);
	case OP_PROTECT: return pt_protect(&st->pt, va, size, o->attrs);
	case OP_SPLIT: return pt_split(&st->pt, va, size, o->level);
	case OP_COLLAPSE: return pt_collapse(&st->pt, va, size);
	default: return 0;
	}
}

/* What page, holding old, holds once o has succeeded (split and collapse keep translations). */
static u64 ref_after(const struct fuzz_op *o, u64 page, u64 old)
{
	switch (o->op) {
	case OP_MAP: return ref_encode(o->pa + ((page - o->first) << PAGE_SHIFT), o->attrs);
	case OP_UNMAP: return 0;
	case OP_PROTECT: return old & REF_VALID ? ref_encode(old & GENMASK(51, 12), o->attrs) : 0;
	default: return old;
	}
}

static void ref_commit(struct fuzz_state *st, const struct fuzz_op *o)
{
	for (u64 p = o->first; p < o->first + o->pages; p++)
		st->ref[p] = ref_after(o, p, st->ref[p]);
}

/*
 * The reference encoding of what the tables map at window page p, read from
 * the entries themselves (independently of pt_translate()), and in *run how
 * many pages from p on the same leaf or hole covers.
 */
static u64 tree_value(const struct pgtable *pt, u64 page, u64 *run)
{
	const struct pt_format *fmt = pt->fmt;
	u64 va = window_va(page);
	paddr_t table = pt->root;

	for (unsigned level = fmt->levels - 1;; level--) {
		unsigned n = level == fmt->levels - 1 ? PT_ENTRIES * fmt->root_pages : PT_ENTRIES;
		u64 e = ((const u64 *)phys_to_virt(table))[(va >> pt_level_shift(level)) & (n - 1)];
		u64 offset = va & (pt_level_size(level) - 1);

		*run = (pt_level_size(level) - offset) >> PAGE_SHIFT;
		if (!pt_entry_valid(fmt, e))
			return 0;
		if (!pt_entry_is_table(fmt, e, level))
			return ref_encode(pa_addr(pt_leaf_pa(fmt, e, level)) + offset,
					  pt_decode_attrs(fmt, e));
		table = pt_entry_pa(fmt, e);
	}
}

/*
 * One page of check_span(): now must be the reference's value; with partial,
 * a page inside the range may hold the op's new value instead, which the
 * reference then takes (a partial op's progress is whatever the tree says).
 */
static void check_span_page(struct fuzz_state *st, const struct fuzz_op *o, u64 page, u64 now,
			    bool partial)
{
	bool inside = page - o->first < o->pages;

	if (now == st->ref[page])
		return;
	if (partial && inside && now == ref_after(o, page, st->ref[page])) {
		st->ref[page] = now;
		return;
	}
	fail(st,
	     inside ? "translation in the range differs from the reference"
		    : "translation beside the range differs from the reference",
	     window_va(page));
}

/*
 * Compares every page of every 1G block the op's range touches with the
 * reference: a level-2 entry's span, the farthest a change can reach outside
 * the range (a block split at the range's edge; no format here has larger
 * leaves). Leaf by leaf, so a 2G range costs a scan of the reference.
 */
static void check_span(struct fuzz_state *st, const struct fuzz_op *o, bool partial)
{
	const u64 block = GiB(1) >> PAGE_SHIFT;
	u64 page = ALIGN_DOWN(o->first, block);
	u64 end = MIN(ALIGN_UP(o->first + o->pages, block), WIN_PAGES);

	while (page < end) {
		u64 run, now = tree_value(&st->pt, page, &run);

		for (u64 stop = MIN(page + run, end); page < stop; page++) {
			check_span_page(st, o, page, now, partial);
			now += now ? PAGE_SIZE : 0;
		}
	}
}

/*
 * A map of one 4K or 2M leaf takes pt_map()'s demand-fault path (map_one() in
 * mm/pgtable.c), which installs the missing tables on its way one at a time:
 * out of memory it may leave empty ones behind, never a translation.
 */
static unsigned one_leaf_map_level(const struct fuzz_state *st, const struct fuzz_op *o)
{
	u64 size = o->pages << PAGE_SHIFT;
	unsigned max_level = o->flags ? o->flags - 1 : ~0u;

	if (size == PAGE_SIZE)
		return 0;
	if (size == MiB(2) && max_level >= 1 && (st->pt.fmt->leaf_levels & BIT(1)) &&
	    IS_ALIGNED(window_va(o->first) | o->pa, MiB(2)))
		return 1;
	return ~0u;
}

static void count_failed(struct fuzz_stats *stats, enum op op)
{
	switch (op) {
	case OP_MAP: stats->failed_map++; break;
	case OP_UNMAP: stats->failed_unmap++; break;
	case OP_PROTECT: stats->failed_protect++; break;
	case OP_SPLIT: stats->failed_split++; break;
	default: break;
	}
}

/* Table pages a failed map may leave in the tree: empty ones on a one-leaf map's path. */
static bool map_tables_allowed(const struct fuzz_state *st, const struct fuzz_op *o, s64 grown)
{
	unsigned leaf = one_leaf_map_level(st, o);

	if (!grown)
		return true;
	return leaf != ~0u && grown > 0 && (u64)grown <= st->pt.fmt->levels - 1 - leaf;
}

/*
 * An op that returned ERR_NOMEM under an injected failure, checked against
 * what it promises (mm/pgtable.h). pt_map(): all or nothing, no translation
 * changed, and (prepare, then commit) no table either, but for the empty
 * ones a one-leaf map may leave. pt_split() changes no translation in any
 * case, but promises no all-or-nothing: some blocks may be split, others
 * not. pt_protect() and pt_unmap() promise nothing on failure: what holds is
 * that each page keeps its old translation or has its new one, never a
 * third, and nothing outside the range changes. Every op: the tables stay
 * consistent, every page taken from the allocator is a table in the tree
 * (no leak), and no CPU caches what the failed op changed.
 */
static void check_failed_op(struct fuzz_state *st, const struct fuzz_op *o, u64 tables0, u64 free0)
{
	s64 grown = (s64)(st->pt.tables - tables0);
	s64 taken = (s64)(free0 - pmm_free_bytes()) / (s64)PAGE_SIZE;
	u64 va = window_va(o->first);

	count_failed(&st->stats, o->op);
	check_span(st, o, o->op == OP_UNMAP || o->op == OP_PROTECT);
	if (!harness_pt_invariants(&st->pt))
		fail(st, "tables inconsistent after a failed operation", va);
	if (taken != grown)
		fail(st, "a failed operation leaked table pages", va);
	if (o->op == OP_MAP && !map_tables_allowed(st, o, grown))
		fail(st, "a failed map changed the tables", va);
	if (o->op == OP_MAP && grown)
		st->stats.map_left_tables++;
	/* Now, not after the retry: its invalidations could hide what the failure left. */
	if (model_stale(&st->pt))
		fail(st, "a CPU caches a translation a failed operation changed", va);
	if (model_bbm_violations())
		fail(st, "break-before-make rule broken by a failed operation", va);
}

/*
 * Runs o with its injected failure point. A failure is checked, then o runs
 * again with memory back, as its caller would retry: so every input still
 * makes all its operations (an injected failure takes none of the
 * workload away), and a partial protect, unmap or split must complete from
 * wherever it stopped. Returns the op's final result.
 */
static int run_injected(struct fuzz_state *st, const struct fuzz_op *o)
{
	u64 tables0 = st->pt.tables, free0 = pmm_free_bytes();
	int rc;

	harness_fail_allocs(o->fail_after);
	rc = run_op(st, o);
	harness_fail_allocs(0);
	st->stats.injected++;
	if (rc != ERR_NOMEM) {
		st->stats.survived += !rc;
		return rc;
	}
	check_failed_op(st, o, tables0, free0);
	return run_op(st, o);
}

static void apply(struct fuzz_state *st, struct stream *s)
{
	struct fuzz_op o;
	int rc;

	if (!decode(st, s, &o))
		return;
	rc = o.fail_after ? run_injected(st, &o) : run_op(st, &o);
	if (rc) {
		fail(st, "operation failed", window_va(o.first));
	} else {
		ref_commit(st, &o);
		/* Done under an injected failure point, or after one: all of it, exactly. */
		if (o.fail_after)
			check_span(st, &o, false);
	}
	check_range_edges(st, o.first, o.pages);
}

static void check_everything_sampled(struct fuzz_state *st, u64 seed)
{
	for (unsigned i = 0; i < 64; i++) {
		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		check_page(st, (seed >> 20) % WIN_PAGES);
	}
	if (model_stale(&st->pt))
		fail(st, "a CPU still caches a stale translation", 0);
	if (model_bbm_violations())
		fail(st, "break-before-make rule broken", 0);
}

static void fuzz_stats_add(struct fuzz_stats *to, const struct fuzz_stats *from)
{
	to->injected += from->injected;
	to->survived += from->survived;
	to->failed_map += from->failed_map;
	to->failed_unmap += from->failed_unmap;
	to->failed_protect += from->failed_protect;
	to->failed_split += from->failed_split;
	to->map_left_tables += from->map_left_tables;
	for (unsigned i = 0; i < FUZZ_LEAF_SETS; i++)
		to->runs_by_leaf_set[i] += from->runs_by_leaf_set[i];
}

/*
 * The leaf sizes a CPU may offer (4K always; 2M; 1G only with 2M: x86 PDPE1GB,
 * EPT's IA32_VMX_EPT_VPID_CAP bits 16 and 17, arm64 per granule), drawn by the
 * input so that every format is fuzzed narrowed to each.
 */
static const u32 leaf_sets[FUZZ_LEAF_SETS] = {BIT(0), BIT(0) | BIT(1), BIT(0) | BIT(1) | BIT(2)};

static unsigned run_format(const struct pt_format *base, const u8 *data, size_t len,
			   struct fuzz_stats *stats)
{
	unsigned set = len > 1 ? data[1] % FUZZ_LEAF_SETS : FUZZ_LEAF_SETS - 1;
	struct pt_format narrowed = *base;
	const struct pt_format *fmt = &narrowed;
	struct fuzz_state st = {0};
	struct stream s = {data, len, 0};
	u64 free0;
	unsigned step = 0;

	/* The input picks the FEAT_BBM level, so every resize sequence is fuzzed. */
	unsigned bbm = len ? data[0] % PT_BBM_LEVELS : 0;

	narrowed.leaf_levels &= leaf_sets[set];
	st.stats.runs_by_leaf_set[set]++;
	harness_reset_memory();
	model_reset(bbm, fmt->resize[0] == PT_LIVE_BREAK_BEFORE_MAKE); /* arm64 rules */
	free0 = pmm_free_bytes();
	st.ref = calloc(WIN_PAGES, sizeof(u64));
	harness_bbm_level = bbm;
	if (pt_init(&st.pt, fmt, &model_regime))
		abort();
	harness_bbm_level = 0;
	/* A CPU reading every entry as it is written: the worst interleaving. */
	model_racer_cpu = (int)(bbm % MODEL_CPUS);
	while (s.pos < s.len && step++ < 64) {
		apply(&st, &s);
		/* Simulated CPUs keep using the memory while the tables change. */
		for (unsigned c = 0; c < MODEL_CPUS; c++)
			model_touch(&st.pt, c,
				    WIN_BASE + ((take(&s, 3) % WIN_PAGES) << PAGE_SHIFT));
		check_everything_sampled(&st, step * 7919 + s.pos);
	}
	pt_destroy(&st.pt);
	if (pmm_free_bytes() != free0)
		fail(&st, "table pages leaked after teardown", 0);
	free(st.ref);
	if (stats)
		fuzz_stats_add(stats, &st.stats);
	return st.failures;
}

unsigned fuzz_run(const u8 *data, size_t len, struct fuzz_stats *stats)
{
	return run_format(&arm64_s1_el2_format, data, len, stats) +
	       run_format(&x86_64_4level_format, data, len, stats) +
	       run_format(&arm64_s1_el2_lpa2_va52_format, data, len, stats);
}
