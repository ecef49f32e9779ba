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
	unsigned failed_seeds = 0;

	for (u64 seed = 1; seed <= SEEDS; seed++) {
		fill(input, sizeof(input), seed);
		if (fuzz_run(input, sizeof(input))) {
			ktap_diag("seed %llu failed", seed);
			failed_seeds++;
		}
	}
	EXPECT_EQ(failed_seeds, 0);
}

KTAP_SUITE(suite_host_fuzz, "host-fuzz", KTAP_CASE(test_fixed_seed_corpus));
