/* SPDX-License-Identifier: MIT */
/*
 * The checkers must be able to fail: each case breaks the engine's contract on
 * purpose (a regime that forgets to invalidate, a format whose rule skips the
 * break) and expects the model to notice; then the real engine must pass.
 */
#include "tests/host/harness.h"
#include "tests/host/model.h"

#define VA 0x0000008000000000ULL
#define PA 0x0000000200000000ULL

static const struct pt_attrs rw = {PT_READ | PT_WRITE, PT_MEM_NORMAL};
static const struct pt_attrs ro = {PT_READ, PT_MEM_NORMAL};

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

KTAP_SUITE(suite_host_model, "host-model", KTAP_CASE(test_missing_invalidation_is_caught),
	   KTAP_CASE(test_skipped_break_is_caught), KTAP_CASE(test_real_rules_pass));
