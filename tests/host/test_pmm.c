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

/* A frame the allocator never owned joins it, and any free frame can be taken by address. */
static void test_give_and_claim(void)
{
	paddr_t spare, middle;
	u64 free0, total0;

	harness_reset_memory();
	free0 = pmm_free_bytes();
	total0 = pmm_total_bytes();
	/* The struct page array's region is rounded up: its last frame is reserved and unused. */
	spare = pa_init(pa_addr(page_array_pa) + page_array_bytes - PAGE_SIZE);
	EXPECT_EQ(pa_to_page(spare)->state, PAGE_RESERVED);
	pmm_give(spare);
	EXPECT_EQ(pmm_free_bytes(), free0 + PAGE_SIZE);
	EXPECT_EQ(pmm_total_bytes(), total0 + PAGE_SIZE);
	EXPECT(pmm_claim(spare));
	EXPECT(!pmm_claim(spare)); /* allocated now */
	EXPECT_EQ(pmm_free_bytes(), free0);

	/* A frame deep inside a large free block: the block splits around it, and merges back. */
	middle = pa_init(ARENA_PA + MiB(100) + KiB(12));
	EXPECT(pmm_claim(middle));
	EXPECT_EQ(pa_to_page(middle)->state, PAGE_ALLOCATED_HEAD);
	EXPECT_EQ(pmm_free_bytes(), free0 - PAGE_SIZE);
	pmm_free(middle, ORDER_4K);
	EXPECT_EQ(pmm_free_bytes(), free0);
	EXPECT_EQ(pmm_free_blocks(0), 0);
	EXPECT(!pmm_claim(pa_init(ARENA_PA + ARENA_SIZE + PAGE_SIZE))); /* not RAM */
}

KTAP_SUITE(suite_host_pmm, "host-pmm", KTAP_CASE(test_orders_and_merge_back),
	   KTAP_CASE(test_allocations_are_zeroed), KTAP_CASE(test_alloc_below_limit),
	   KTAP_CASE(test_exhaustion_returns_zero), KTAP_CASE(test_give_and_claim));
