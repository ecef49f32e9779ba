/* SPDX-License-Identifier: MIT */
#include "tests/host/harness.h"
#include "mm/kmap.h"
#include "mm/pmm.h"

static void test_orders_and_merge_back(void)
{
	u64 free0;
	paddr_t a, b, c;

	harness_reset_memory();
	free0 = pmm_free_bytes();
	a = pmm_alloc(ORDER_4K);
	b = pmm_alloc(ORDER_2M);
	c = pmm_alloc(5);
	EXPECT(pa_addr(a) && pa_addr(b) && pa_addr(c));
	EXPECT(IS_ALIGNED(pa_addr(b), MiB(2)));
	EXPECT(IS_ALIGNED(pa_addr(c), KiB(128)));
	EXPECT_EQ(pmm_free_bytes(), free0 - KiB(4) - MiB(2) - KiB(128));
	pmm_free(b, ORDER_2M);
	pmm_free(a, ORDER_4K);
	pmm_free(c, 5);
	EXPECT_EQ(pmm_free_bytes(), free0);
	/* Fully merged again: the arena's 256 MiB as 2^16-frame blocks or larger. */
	EXPECT_EQ(pmm_free_blocks(0), 0);
}

static void test_allocations_are_zeroed(void)
{
	paddr_t a;
	u8 *p;

	harness_reset_memory();
	a = pmm_alloc(ORDER_4K);
	p = phys_to_virt(a);
	p[0] = 0xaa;
	p[4095] = 0x55;
	pmm_free(a, ORDER_4K);
	a = pmm_alloc(ORDER_4K);
	p = phys_to_virt(a);
	EXPECT(p[0] == 0 && p[4095] == 0);
	pmm_free(a, ORDER_4K);
}

static void test_alloc_below_limit(void)
{
	u64 limit = ARENA_PA + MiB(16);
	paddr_t a;

	harness_reset_memory();
	a = pmm_alloc_below(ORDER_2M, limit);
	EXPECT(pa_addr(a) && pa_addr(a) + MiB(2) <= limit);
	pmm_free(a, ORDER_2M);
	EXPECT_EQ(pa_addr(pmm_alloc_below(ORDER_4K, ARENA_PA)), 0);
}

static void test_exhaustion_returns_zero(void)
{
	paddr_t blocks[4];
	unsigned n = 0;

	harness_reset_memory();
	/* 256 MiB minus the struct page array: at most 3 blocks of 64 MiB... */
	while (n < ARRAY_SIZE(blocks) && pa_addr(blocks[n] = pmm_alloc(14)))
		n++;
	EXPECT(n < ARRAY_SIZE(blocks));
	EXPECT_EQ(pa_addr(pmm_alloc(PMM_MAX_ORDER)), 0);
	EXPECT_EQ(pa_addr(pmm_alloc(PMM_MAX_ORDER + 1)), 0);
	while (n--)
		pmm_free(blocks[n], 14);
}

KTAP_SUITE(suite_host_pmm, "host-pmm", KTAP_CASE(test_orders_and_merge_back),
	   KTAP_CASE(test_allocations_are_zeroed), KTAP_CASE(test_alloc_below_limit),
	   KTAP_CASE(test_exhaustion_returns_zero));
