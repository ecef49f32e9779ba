/* SPDX-License-Identifier: MIT */
/*
 * The checkers must be able to fail: each case breaks the engine's contract on
 * purpose (a regime that forgets to invalidate, a format whose rule skips the
 * break) and expects the model to notice; then the real engine must pass.
 */
#include "tests/host/harness.h"
#include "tests/host/model.h"
#include "mm/gather.h"
#include "mm/pmm.h"

#define VA 0x0000008000000000ULL
#define PA 0x0000000200000000ULL

static const struct pt_attrs rw = {PT_READ | PT_WRITE, PT_MEM_NORMAL};
static const struct pt_attrs ro = {PT_READ, PT_MEM_NORMAL};

/* Every address of the 1G at VA translates to PA + offset again, in one 1G leaf. */
static bool maps_whole_gib(const struct pgtable *pt)
{
	struct pt_translation t;

	return pt_translate(pt, VA + MiB(5), &t) && t.level == 2 && pa_addr(t.pa) == PA + MiB(5);
}

static void no_flush(const struct pgtable *pt, u64 va, u64 size, unsigned level)
{
}

static void no_flush_all(const struct pgtable *pt)
{
}

static void no_publish(const struct pgtable *pt)
{
}

static const struct pt_regime forgetful_regime = {"forgets invalidation", no_flush, no_flush_all,
						  no_publish};

static enum pt_live_change never_break(u64 old, u64 new, unsigned level)
{
	return PT_LIVE_WRITE_THEN_INVALIDATE;
}

static void test_missing_invalidation_is_caught(void)
{
	struct pgtable pt;

	harness_reset_memory();
	model_reset(0, true);
	EXPECT_EQ(pt_init(&pt, &arm64_s1_el2_format, &forgetful_regime), 0);
	EXPECT_EQ(pt_map(&pt, VA, pa_init(PA), MiB(2), rw, 0), 0);
	model_touch(&pt, 1, VA + KiB(8));
	EXPECT_EQ(model_stale(&pt), 0);
	EXPECT_EQ(pt_unmap(&pt, VA, MiB(2)), 0);
	EXPECT(model_stale(&pt) > 0);
}

static void test_skipped_break_is_caught(void)
{
	struct pt_format broken = arm64_s1_el2_format;
	struct pgtable pt;

	broken.classify_live = never_break;
	harness_reset_memory();
	model_reset(0, true);
	EXPECT_EQ(pt_init(&pt, &broken, &model_regime), 0);
	EXPECT_EQ(pt_map(&pt, VA, pa_init(PA), MiB(2), rw, 0), 0);
	/* A new output address for a live 2M leaf: needs a break, the broken rule skips it. */
	EXPECT_EQ(pt_map(&pt, VA, pa_init(PA + MiB(2)), MiB(2), rw, 0), 0);
	EXPECT(model_bbm_violations() > 0);
}

static void test_real_rules_pass(void)
{
	struct pgtable pt;

	harness_reset_memory();
	model_reset(0, true);
	EXPECT_EQ(pt_init(&pt, &arm64_s1_el2_format, &model_regime), 0);
	EXPECT_EQ(pt_map(&pt, VA, pa_init(PA), GiB(1), rw, 0), 0);
	for (unsigned c = 0; c < MODEL_CPUS; c++)
		model_touch(&pt, c, VA + c * MiB(3));
	EXPECT_EQ(pt_map(&pt, VA, pa_init(PA + GiB(1)), MiB(2), rw, 0), 0); /* new OA */
	EXPECT_EQ(pt_protect(&pt, VA + MiB(4), KiB(4), ro), 0);		    /* split + permission */
	EXPECT_EQ(pt_collapse(&pt, VA, GiB(1)), 0);
	EXPECT_EQ(pt_unmap(&pt, VA + MiB(6), MiB(2)), 0);
	EXPECT_EQ(model_stale(&pt), 0);
	EXPECT_EQ(model_bbm_violations(), 0);
	pt_destroy(&pt);
}

/* A regime that always hints the 4K level: wrong for blocks. */
static void page_hint_flush(const struct pgtable *pt, u64 va, u64 size, unsigned level)
{
	model_regime.flush_range(pt, va, size, 0);
}

static void model_flush_all_only(const struct pgtable *pt)
{
	model_regime.flush_all(pt);
}

static const struct pt_regime wrong_ttl_regime = {"wrong TTL hint", page_hint_flush,
						  model_flush_all_only, no_publish};

/* A TLBI whose TTL hint names the wrong level may leave the entry: the model keeps it. */
static void test_wrong_ttl_hint_is_caught(void)
{
	struct pgtable pt;

	harness_reset_memory();
	model_reset(0, true);
	EXPECT_EQ(pt_init(&pt, &arm64_s1_el2_format, &wrong_ttl_regime), 0);
	/* Two blocks: unmapping one leaves the table, so nothing widens the flush. */
	EXPECT_EQ(pt_map(&pt, VA, pa_init(PA), MiB(4), rw, 0), 0);
	model_touch(&pt, 2, VA);
	EXPECT_EQ(pt_unmap(&pt, VA, MiB(2)), 0);
	EXPECT(model_stale(&pt) > 0);
	pt_destroy(&pt);
}

/*
 * A regime whose invalidations can be held back: while deferring, the model
 * sees none of them, as if the CPUs had not yet received the TLBI. The last
 * hint that did reach the model is kept for the checks.
 */
static bool deferring;
static unsigned last_hint;

static void deferrable_flush(const struct pgtable *pt, u64 va, u64 size, unsigned level)
{
	if (deferring)
		return;
	last_hint = level;
	model_regime.flush_range(pt, va, size, level);
}

static void deferrable_flush_all(const struct pgtable *pt)
{
	if (!deferring)
		model_regime.flush_all(pt);
}

static const struct pt_regime deferrable_regime = {"deferrable", deferrable_flush,
						   deferrable_flush_all, no_publish};

/* Where the walk that queues the detached table flushed an earlier entry. */
#define EARLIER_VA (VA + GiB(1))

/*
 * Every CPU caches 4K leaves at VA and the walk down to their level-0 table;
 * then a collapse replaces that table by a 2M block with its invalidation
 * held back: the walk caches still point at the detached table. FEAT_BBM
 * level 2, so the block is written directly and no break waits for the
 * held-back flush.
 */
static void cache_then_collapse_unflushed(struct pgtable *pt)
{
	harness_reset_memory();
	model_reset(2, true);
	harness_bbm_level = 2;
	EXPECT_EQ(pt_init(pt, &arm64_s1_el2_format, &deferrable_regime), 0);
	harness_bbm_level = 0;
	EXPECT_EQ(pt_map(pt, VA, pa_init(PA), MiB(2), rw, PT_MAP_MAX_LEVEL(0)), 0);
	for (unsigned c = 0; c < MODEL_CPUS; c++)
		model_touch(pt, c, VA + c * KiB(4));
	deferring = true;
	EXPECT_EQ(pt_collapse(pt, VA, MiB(2)), 0);
	deferring = false;
	EXPECT(model_stale_walks(pt) > 0);
	EXPECT_EQ(model_bbm_violations(), 0);
}

/*
 * The hint of a gather that queued a table stays "not a leaf" until it
 * flushes, even when the table comes right after an in-walk flush emptied
 * the gather and the next range names a leaf level (the 2M block now at
 * VA): the old gather took that range's level, and the level-1 TLBI left
 * the walk-cache entries for the level-0 table behind.
 */
static void test_table_after_in_walk_flush_keeps_no_hint(void)
{
	struct pt_gather g;
	struct pgtable pt;
	paddr_t table;

	cache_then_collapse_unflushed(&pt);
	/* A page for the gather to free: the collapse has freed the real table itself. */
	table = pmm_alloc(0);
	EXPECT(pa_addr(table));
	gather_init(&g, &pt);
	gather_add_range(&g, EARLIER_VA, KiB(4), 0);
	gather_flush(&g);
	EXPECT_EQ(last_hint, 0);
	gather_add_table(&g, table);
	gather_add_range(&g, VA, MiB(2), 1);
	gather_free_tables(&g);
	EXPECT_EQ(last_hint, ~0u);
	EXPECT_EQ(model_stale(&pt), 0);
	pt_destroy(&pt);
}

/* The same invalidations with the hint the old gather lost: the model must report them. */
static void test_lost_non_leaf_hint_is_caught(void)
{
	struct pgtable pt;

	cache_then_collapse_unflushed(&pt);
	model_regime.flush_range(&pt, EARLIER_VA, KiB(4), 0);
	model_regime.flush_range(&pt, VA, MiB(2), 1);
	EXPECT(model_stale_walks(&pt) > 0);
	/* And no hint at all (what the gather issues) leaves nothing behind. */
	model_regime.flush_range(&pt, VA, MiB(2), ~0u);
	EXPECT_EQ(model_stale(&pt), 0);
	pt_destroy(&pt);
}

struct resize_run {
	unsigned conflicts, violations, stale;
	u64 racer_faults, flushes;
};

/*
 * Splits a live 1G block to 4K and collapses it back with a racing CPU that
 * accesses every entry the moment it is written and three CPUs that cached
 * the block before, at FEAT_BBM level bbm, with the sequence the format
 * chooses (or the one forced into resize[bbm]).
 */
static struct resize_run resize_under_race(unsigned bbm, const struct pt_format *fmt)
{
	struct resize_run r;
	struct pgtable pt;

	harness_reset_memory();
	model_reset(bbm, true);
	harness_bbm_level = bbm;
	EXPECT_EQ(pt_init(&pt, fmt, &model_regime), 0);
	EXPECT_EQ(pt.bbm_level, bbm);
	EXPECT_EQ(pt_map(&pt, VA, pa_init(PA), GiB(1), rw, 0), 0);
	for (unsigned c = 0; c < MODEL_CPUS; c++)
		model_touch(&pt, c, VA + c * MiB(2));
	model_racer_cpu = 0;
	EXPECT_EQ(pt_split(&pt, VA, GiB(1), 0), 0);
	for (unsigned c = 1; c < MODEL_CPUS; c++)
		model_touch(&pt, c, VA + c * MiB(2) + KiB(4));
	EXPECT_EQ(pt_collapse(&pt, VA, GiB(1)), 0);
	EXPECT(maps_whole_gib(&pt));
	r = (struct resize_run){model_tlb_conflicts, model_bbm_violations(), model_stale(&pt),
				model_racer_faults,
				model_stats.range_flushes + model_stats.full_flushes};
	model_racer_cpu = -1;
	pt_destroy(&pt);
	harness_bbm_level = 0;
	return r;
}

static void test_resize_sequences_per_bbm_level(void)
{
	struct resize_run level[PT_BBM_LEVELS];

	for (unsigned bbm = 0; bbm < PT_BBM_LEVELS; bbm++) {
		level[bbm] = resize_under_race(bbm, &arm64_s1_el2_format);
		ktap_diag("FEAT_BBM level %u: %u conflicts, %llu racer faults, %llu flushes", bbm,
			  level[bbm].conflicts, (unsigned long long)level[bbm].racer_faults,
			  (unsigned long long)level[bbm].flushes);
		EXPECT_EQ(level[bbm].violations, 0);
		EXPECT_EQ(level[bbm].stale, 0);
	}
	/* Level 0 breaks: the racer finds holes; 1 and 2 never leave the range unmapped. */
	EXPECT(level[0].racer_faults > 0);
	EXPECT_EQ(level[1].racer_faults, 0);
	EXPECT_EQ(level[2].racer_faults, 0);
	/* The nT block is never cached beside the other size; level 2 trades aborts for speed. */
	EXPECT_EQ(level[0].conflicts, 0);
	EXPECT_EQ(level[1].conflicts, 0);
	EXPECT(level[2].conflicts > 0);
	/* Levels 0 and 1 invalidate at each resize; level 2 batches one flush per operation. */
	EXPECT(level[2].flushes * 100 < level[1].flushes);
}

/* Level 1 without the nT step: the racer caches both sizes, which the model reports. */
static void test_resize_without_nt_is_caught(void)
{
	struct pt_format direct = arm64_s1_el2_format;
	struct resize_run r;

	direct.resize[1] = PT_LIVE_WRITE_THEN_INVALIDATE;
	r = resize_under_race(1, &direct);
	EXPECT(r.violations > 0);
}

/*
 * HVO's tail remap (mm/hvo.c) on the model: writable tails to one shared
 * read-only page and back. Read-only first (strategy e) never leaves a hole
 * for the racing reader; the direct remap (strategies a-d) breaks. Both obey
 * the rules and leave nothing stale.
 */
static void hvo_remap_run(bool readonly_first, u64 *racer_faults)
{
	const u64 shared = PA + MiB(64), tails = VA + KiB(4);
	struct pgtable pt;

	harness_reset_memory();
	model_reset(0, true);
	EXPECT_EQ(pt_init(&pt, &arm64_s1_el2_format, &model_regime), 0);
	EXPECT_EQ(pt_map(&pt, VA, pa_init(PA), KiB(16), rw, PT_MAP_MAX_LEVEL(0)), 0);
	for (unsigned c = 0; c < MODEL_CPUS; c++)
		model_touch(&pt, c, tails + c * KiB(4) % KiB(12));
	model_racer_cpu = 1;
	if (readonly_first)
		EXPECT_EQ(pt_protect(&pt, tails, KiB(12), ro), 0);
	for (u64 off = 0; off < KiB(12); off += KiB(4))
		EXPECT_EQ(
			pt_map(&pt, tails + off, pa_init(shared), KiB(4), ro, PT_MAP_MAX_LEVEL(0)),
			0);
	/* Restore: fresh frames, read-only first and writable after, or writable at once. */
	for (u64 off = 0; off < KiB(12); off += KiB(4))
		EXPECT_EQ(pt_map(&pt, tails + off, pa_init(PA + MiB(1) + off), KiB(4),
				 readonly_first ? ro : rw, PT_MAP_MAX_LEVEL(0)),
			  0);
	if (readonly_first)
		EXPECT_EQ(pt_protect(&pt, tails, KiB(12), rw), 0);
	*racer_faults = model_racer_faults;
	EXPECT_EQ(model_bbm_violations(), 0);
	EXPECT_EQ(model_stale(&pt), 0);
	model_racer_cpu = -1;
	pt_destroy(&pt);
}

static void test_hvo_tail_remaps(void)
{
	u64 direct_faults, readonly_first_faults;

	hvo_remap_run(false, &direct_faults);
	hvo_remap_run(true, &readonly_first_faults);
	ktap_diag("racer faults: direct remap %llu, read-only first %llu",
		  (unsigned long long)direct_faults, (unsigned long long)readonly_first_faults);
	EXPECT(direct_faults > 0);
	EXPECT_EQ(readonly_first_faults, 0);
}

KTAP_SUITE(suite_host_model, "host-model", KTAP_CASE(test_missing_invalidation_is_caught),
	   KTAP_CASE(test_skipped_break_is_caught), KTAP_CASE(test_real_rules_pass),
	   KTAP_CASE(test_wrong_ttl_hint_is_caught),
	   KTAP_CASE(test_table_after_in_walk_flush_keeps_no_hint),
	   KTAP_CASE(test_lost_non_leaf_hint_is_caught),
	   KTAP_CASE(test_resize_sequences_per_bbm_level),
	   KTAP_CASE(test_resize_without_nt_is_caught), KTAP_CASE(test_hvo_tail_remaps));
