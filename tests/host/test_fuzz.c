/* SPDX-License-Identifier: MIT */
/* The differential fuzzer's fixed corpus: deterministic seeds, run in make test. */
#include "tests/host/fuzz_ops.h"
#include "tests/host/harness.h"

#define SEEDS	    48
#define INPUT_BYTES 640

static void fill(u8 *buf, size_t len, u64 seed)
{
	u64 x = seed * 0x9e3779b97f4a7c15ULL + 1;

	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[i] = (u8)x;
	}
}

static void test_fixed_seed_corpus(void)
{
	static u8 input[INPUT_BYTES];
	struct fuzz_stats stats = {0};
	unsigned failed_seeds = 0;
	u64 failed;

	for (u64 seed = 1; seed <= SEEDS; seed++) {
		fill(input, sizeof(input), seed);
		if (fuzz_run(input, sizeof(input), &stats)) {
			ktap_diag("seed %llu failed", seed);
			failed_seeds++;
		}
	}
	EXPECT_EQ(failed_seeds, 0);
	failed = stats.failed_map + stats.failed_unmap + stats.failed_protect + stats.failed_split;
	ktap_diag("injected allocation failures: %llu ops, %llu succeeded anyway, %llu failed "
		  "and checked (map %llu, unmap %llu, protect %llu, split %llu); "
		  "%llu failed maps left empty tables",
		  (unsigned long long)stats.injected, (unsigned long long)stats.survived,
		  (unsigned long long)failed, (unsigned long long)stats.failed_map,
		  (unsigned long long)stats.failed_unmap, (unsigned long long)stats.failed_protect,
		  (unsigned long long)stats.failed_split,
		  (unsigned long long)stats.map_left_tables);
	ktap_diag("format runs per leaf-size set: 4K %llu, 4K+2M %llu, 4K+2M+1G %llu",
		  (unsigned long long)stats.runs_by_leaf_set[0],
		  (unsigned long long)stats.runs_by_leaf_set[1],
		  (unsigned long long)stats.runs_by_leaf_set[2]);
	for (unsigned i = 0; i < FUZZ_LEAF_SETS; i++)
		EXPECT(stats.runs_by_leaf_set[i] > 0);
	/* The out-of-memory checks count only if the corpus reaches them. */
	EXPECT(failed > 0);
	EXPECT(stats.failed_map > 0);
}

KTAP_SUITE(suite_host_fuzz, "host-fuzz", KTAP_CASE(test_fixed_seed_corpus));
