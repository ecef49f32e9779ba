/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <sys/mman.h>

#include "tests/host/model.h"
#include "tests/host/harness.h"
#include "lib/ktap.h"
#include "mm/kmap.h"

#define TLB_SLOTS  512
#define WALK_SLOTS 512

struct tlb_entry {
	bool valid;
	u64 va; /* start of the leaf's span */
	unsigned level;
	u64 leaf; /* the descriptor as the walker read it */
};

struct walk_entry {
	bool valid;
	u64 va;		/* any address the cached table translates */
	unsigned level; /* level of the table pointed to */
	u64 table_pa;
};

struct model_cpu {
	struct tlb_entry tlb[TLB_SLOTS];
	struct walk_entry walk[WALK_SLOTS];
	unsigned next_tlb, next_walk;
};

/* An entry made invalid whose invalidation has not been seen yet. */
struct pending_break {
	u64 slot; /* the entry's index in the arena */
	u64 va, size;
};

static struct model_cpu cpus[MODEL_CPUS];
/*
 * Pending breaks: a list by VA for the invalidations to retire, and a shadow
 * of the arena (one word per entry slot, committed lazily) holding the
 * translation other CPUs may still hold until then.
 */
static struct pending_break *breaks;
static size_t nr_breaks, cap_breaks;
static u64 *shadow;
static unsigned violations, bbm_level_cfg;
unsigned model_tlb_conflicts;
int model_racer_cpu = -1;
u64 model_racer_faults;
static const struct pgtable *racer_pt;
static u64 racer_va;
static bool racer_pending;
static bool arm_rules_cfg;
struct model_stats model_stats;

void model_reset(unsigned bbm_level, bool arm_rules)
{
	arm_rules_cfg = arm_rules;
	for (unsigned c = 0; c < MODEL_CPUS; c++)
		cpus[c] = (struct model_cpu){0};
	if (shadow)
		munmap(shadow, ARENA_SIZE);
	shadow = mmap(NULL, ARENA_SIZE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (shadow == MAP_FAILED)
		abort();
	nr_breaks = 0;
	violations = 0;
	model_tlb_conflicts = 0;
	model_racer_cpu = -1;
	model_racer_faults = 0;
	racer_pending = false;
	bbm_level_cfg = bbm_level;
	model_stats = (struct model_stats){0};
}

static void violation(const char *what, u64 va);

static bool overlaps(u64 a, u64 asize, u64 b, u64 bsize)
{
	return a < b + bsize && b < a + asize;
}

/* ---- The racer: a CPU accessing each entry the moment it is written ---- */

static void racer_run(void)
{
	if (!racer_pending)
		return;
	racer_pending = false;
	if (!model_touch(racer_pt, (unsigned)model_racer_cpu, racer_va))
		model_racer_faults++;
}

/* Called before a store lands: the access happens before the next event. */
static void racer_arm(const struct pgtable *pt, u64 va)
{
	racer_run();
	if (model_racer_cpu < 0)
		return;
	racer_pt = pt;
	racer_va = va;
	racer_pending = true;
}

/* ---- Invalidation: the only way cached state goes away ---- */

/*
 * A TTL hint (level, not ~0u) says the leaf for every address in the range
 * sits at that level (Arm ARM, TLBI VAE2 and friends, TTL field: "the level
 * of the translation table walk that holds the leaf entry"; with a wrong
 * hint no entry need be invalidated). A CPU may then keep whatever the hint
 * rules out, and the model does keep it, so a wrong hint shows up as a stale
 * entry: leaves of any other level, and cached table entries at or below the
 * hinted level, which no walk ending in a leaf at that level passes through.
 */
static bool hint_allows_leaf(unsigned hint, unsigned level)
{
	return hint == ~0u || hint == level;
}

/*
 * A walk-cache entry holds a table entry of level table_level + 1: on the
 * walk to a leaf at hint only if it sits above the leaf.
 */
static bool hint_allows_walk(unsigned hint, unsigned table_level)
{
	return hint == ~0u || table_level >= hint;
}

static void drop_range(u64 va, u64 size, unsigned level)
{
	for (unsigned c = 0; c < MODEL_CPUS; c++) {
		for (unsigned i = 0; i < TLB_SLOTS; i++) {
			struct tlb_entry *t = &cpus[c].tlb[i];

			if (t->valid && overlaps(t->va, pt_level_size(t->level), va, size) &&
			    hint_allows_leaf(level, t->level))
				t->valid = false;
		}
		/* A by-VA invalidation (not leaf-only) also drops cached walks for va. */
		for (unsigned i = 0; i < WALK_SLOTS; i++) {
			struct walk_entry *w = &cpus[c].walk[i];

			if (w->valid && w->va >= va && w->va < va + size &&
			    hint_allows_walk(level, w->level))
				w->valid = false;
		}
	}
	/* Invalidated breaks are complete: the entry may now be made anything. */
	for (size_t i = 0; i < nr_breaks;) {
		if (overlaps(breaks[i].va, breaks[i].size, va, size)) {
			shadow[breaks[i].slot] = 0;
			breaks[i] = breaks[--nr_breaks];
		} else {
			i++;
		}
	}
}

static void model_flush_range(const struct pgtable *pt, u64 va, u64 size, unsigned level)
{
	racer_run();
	model_stats.range_flushes++;
	drop_range(va, size, level);
}

static void model_flush_all(const struct pgtable *pt)
{
	racer_run();
	model_stats.full_flushes++;
	drop_range(0, ~0ULL, ~0u);
}

static void model_publish(const struct pgtable *pt)
{
}

const struct pt_regime model_regime = {
	.name = "model TLB",
	.flush_range = model_flush_range,
	.flush_all = model_flush_all,
	.publish = model_publish,
};

/* ---- Simulated accesses ---- */

/*
 * A TLB holding two sizes for one address: a TLB conflict abort on a real CPU.
 * Only FEAT_BBM level 2's direct size change may cause one; the abort handler
 * recovers by invalidating the CPU's own TLB, which the model does too.
 */
static bool conflicts(struct model_cpu *m, u64 va, unsigned level)
{
	bool hit = false;

	for (unsigned i = 0; i < TLB_SLOTS; i++) {
		const struct tlb_entry *t = &m->tlb[i];

		if (t->valid && t->level != level &&
		    overlaps(t->va, pt_level_size(t->level), va, pt_level_size(level)))
			hit = true;
	}
	return hit;
}

static void cache_leaf(struct model_cpu *m, u64 va, unsigned level, u64 leaf, u64 nt_bit)
{
	va = ALIGN_DOWN(va, pt_level_size(level));
	/* A block with nT is used but never cached (D8.16.2, FEAT_BBM level 1). */
	if (level && (leaf & nt_bit))
		return;
	if (conflicts(m, va, level)) {
		model_tlb_conflicts++;
		/* x86 TLBs may hold both sizes harmlessly (SDM Vol. 3A 4.10.2.3). */
		if (arm_rules_cfg && bbm_level_cfg < 2)
			violation("TLB conflict: two sizes cached for one address", va);
		for (unsigned i = 0; i < TLB_SLOTS; i++)
			m->tlb[i].valid = false;
	}
	m->tlb[m->next_tlb++ % TLB_SLOTS] = (struct tlb_entry){true, va, level, leaf};
}

bool model_touch(const struct pgtable *pt, unsigned cpu, u64 va)
{
	struct model_cpu *m = &cpus[cpu];
	const struct pt_format *fmt = pt->fmt;
	paddr_t table = pt->root;

	for (unsigned level = fmt->levels - 1;; level--) {
		unsigned n = level == fmt->levels - 1 ? PT_ENTRIES * fmt->root_pages : PT_ENTRIES;
		u64 e = ((const u64 *)phys_to_virt(table))[(va >> pt_level_shift(level)) & (n - 1)];

		if (!pt_entry_valid(fmt, e))
			return false;
		if (!pt_entry_is_table(fmt, e, level)) {
			cache_leaf(m, va, level, e, fmt->nt_bit);
			return true;
		}
		table = pt_entry_pa(fmt, e);
		m->walk[m->next_walk++ % WALK_SLOTS] =
			(struct walk_entry){true, va, level - 1, pa_addr(table)};
	}
}

/* The table at level on va's path now, or 0 if the path ends above it. */
static u64 table_on_path(const struct pgtable *pt, u64 va, unsigned want)
{
	const struct pt_format *fmt = pt->fmt;
	paddr_t table = pt->root;

	for (unsigned level = fmt->levels - 1; level > want; level--) {
		unsigned n = level == fmt->levels - 1 ? PT_ENTRIES * fmt->root_pages : PT_ENTRIES;
		u64 e = ((const u64 *)phys_to_virt(table))[(va >> pt_level_shift(level)) & (n - 1)];

		if (!pt_entry_is_table(fmt, e, level))
			return 0;
		table = pt_entry_pa(fmt, e);
	}
	return pa_addr(table);
}

static unsigned report(unsigned stale, const char *what, unsigned cpu, u64 va)
{
	if (stale < 4)
		ktap_diag("cpu %u: stale %s for 0x%llx", cpu, what, va);
	return stale + 1;
}

/* The cached leaf t is no longer what a fresh walk finds. */
static bool tlb_entry_stale(const struct pgtable *pt, const struct tlb_entry *t)
{
	struct pt_translation now;

	return !pt_translate(pt, t->va, &now) || now.level != t->level ||
	       pa_addr(now.pa) != pa_addr(pt_entry_pa(pt->fmt, t->leaf)) ||
	       now.attrs.prot != pt_decode_attrs(pt->fmt, t->leaf).prot ||
	       now.attrs.memtype != pt_decode_attrs(pt->fmt, t->leaf).memtype;
}

/* Stale walk-cache entries, reported from the stale-th on (the first few are printed). */
static unsigned stale_walks(const struct pgtable *pt, unsigned stale)
{
	for (unsigned c = 0; c < MODEL_CPUS; c++) {
		for (unsigned i = 0; i < WALK_SLOTS; i++) {
			const struct walk_entry *w = &cpus[c].walk[i];

			if (w->valid && table_on_path(pt, w->va, w->level) != w->table_pa)
				stale = report(stale, "walk-cache entry", c, w->va);
		}
	}
	return stale;
}

unsigned model_stale(const struct pgtable *pt)
{
	unsigned stale = 0;

	racer_run();
	for (unsigned c = 0; c < MODEL_CPUS; c++)
		for (unsigned i = 0; i < TLB_SLOTS; i++)
			if (cpus[c].tlb[i].valid && tlb_entry_stale(pt, &cpus[c].tlb[i]))
				stale = report(stale, "TLB entry", c, cpus[c].tlb[i].va);
	return stale_walks(pt, stale);
}

unsigned model_stale_walks(const struct pgtable *pt)
{
	racer_run();
	return stale_walks(pt, 0);
}

unsigned model_bbm_violations(void)
{
	return violations;
}

/* ---- Break-before-make checker ---- */

/*
 * Arm ARM D8.16.1: a change between two valid descriptors needs a break when
 * it changes the output address, the memory attributes or shareability, or
 * the size of the translation (table <-> block). FEAT_BBM level 1 and 2 relax
 * only the size change (level 2 without the nT step). Written from the rule,
 * not shared with the engine's own classification.
 */
/* The table entry leads to the same translations, leaf for leaf, as block. */
static bool same_translations(const struct pt_format *fmt, u64 block, u64 table, unsigned level)
{
	const u64 *child = phys_to_virt(pt_entry_pa(fmt, table));
	struct pt_attrs want = pt_decode_attrs(fmt, block);

	for (unsigned i = 0; i < PT_ENTRIES; i++) {
		struct pt_attrs got = pt_decode_attrs(fmt, child[i]);

		if (!pt_entry_valid(fmt, child[i]) || pt_entry_is_table(fmt, child[i], level - 1) ||
		    pa_addr(pt_entry_pa(fmt, child[i])) !=
			    pa_addr(pt_entry_pa(fmt, block)) + i * pt_level_size(level - 1) ||
		    got.prot != want.prot || got.memtype != want.memtype)
			return false;
	}
	return true;
}

/*
 * A size change without a break (FEAT_BBM level 1 or 2, D8.16.2): only the
 * size may change, and level 1 needs the block side marked nT while the other
 * size may be cached: the write that removes nT is checked by the conflicts
 * the model TLB sees afterwards.
 */
static bool resize_allowed(const struct pt_format *fmt, u64 old, u64 new, unsigned level)
{
	bool old_table = pt_entry_is_table(fmt, old, level);
	u64 block = old_table ? new : old, table = old_table ? old : new;

	if (bbm_level_cfg == 0 || !same_translations(fmt, block & ~fmt->nt_bit, table, level))
		return false;
	return bbm_level_cfg >= 2 || ((old | new) & fmt->nt_bit);
}

static bool needs_break(const struct pt_format *fmt, u64 old, u64 new, unsigned level)
{
	bool size_change = pt_entry_is_table(fmt, old, level) != pt_entry_is_table(fmt, new, level);
	bool same_oa = pa_addr(pt_leaf_pa(fmt, old, level)) == pa_addr(pt_leaf_pa(fmt, new, level));
	bool same_type = pt_decode_attrs(fmt, old).memtype == pt_decode_attrs(fmt, new).memtype;
	bool same_shareability = ((old ^ new) & (3ULL << 8)) == 0;
	bool table = pt_entry_is_table(fmt, old, level) || pt_entry_is_table(fmt, new, level);
	bool writable =
		(pt_decode_attrs(fmt, old).prot | pt_decode_attrs(fmt, new).prot) & PT_WRITE;

	if (!arm_rules_cfg)
		return false; /* x86 formats: write then invalidate (SDM 4.10.4) */
	if (size_change)
		return !resize_allowed(fmt, old, new, level);
	/* A new output address breaks unless both leaves are read-only. */
	return (!same_oa && (table || writable)) || !same_type || !same_shareability;
}

static void violation(const char *what, u64 va)
{
	if (violations < 4)
		ktap_diag("break-before-make violation at 0x%llx: %s", va, what);
	violations++;
}

static u64 slot_of(const u64 *ptep)
{
	return (pa_addr(virt_to_phys(ptep)) - ARENA_PA) / sizeof(u64);
}

static void record_break(u64 *ptep, u64 va, unsigned level, u64 old)
{
	if (nr_breaks == cap_breaks) {
		cap_breaks = cap_breaks ? cap_breaks * 2 : 4096;
		breaks = realloc(breaks, cap_breaks * sizeof(*breaks));
		if (!breaks)
			abort();
	}
	breaks[nr_breaks++] = (struct pending_break){slot_of(ptep), va, pt_level_size(level)};
	shadow[slot_of(ptep)] = old;
}

void host_observe_store(const struct pgtable *pt, u64 *ptep, u64 va, unsigned level, u64 old,
			u64 new);
void host_observe_store(const struct pgtable *pt, u64 *ptep, u64 va, unsigned level, u64 old,
			u64 new)
{
	const struct pt_format *fmt = pt->fmt;
	bool was = pt_entry_valid(fmt, old), is = pt_entry_valid(fmt, new);
	u64 *held;

	/* Atomic: the stress test stores from several threads (into the host regime). */
	__atomic_fetch_add(&model_stats.stores, 1, __ATOMIC_RELAXED);
	if (pt->regime != &model_regime || !shadow)
		return;
	racer_arm(pt, va);
	if (was && is && needs_break(fmt, old, new, level))
		violation("valid-to-valid change that needs a break written directly", va);
	if (was && !is)
		record_break(ptep, va, level, old);
	held = &shadow[slot_of(ptep)];
	if (!was && is && *held) {
		/* Other CPUs may still hold the old translation: the new one must be compatible. */
		if (needs_break(fmt, *held, new, level))
			violation("entry made valid again before the invalidation of its break",
				  va);
		*held = 0;
	}
}
