/* SPDX-License-Identifier: MIT */
/* The physical allocator inside the kernel, on the machine's real memory map. */
#include "lib/ktap.h"
#include "lib/string.h"
#include "mm/kmap.h"
#include "mm/memmap.h"
#include "mm/pmm.h"

static void test_every_order_aligned_and_zeroed(void)
{
	u64 free0 = pmm_free_bytes();

	for (unsigned order = 0; order <= ORDER_2M; order++) {
		paddr_t pa = pmm_alloc(order);
		const u64 *p;

		EXPECT(pa_addr(pa) != 0);
		if (!pa_addr(pa))
			continue;
		EXPECT(IS_ALIGNED(pa_addr(pa), PAGE_SIZE << order));
		p = phys_to_virt(pa);
		EXPECT(p[0] == 0 && p[((PAGE_SIZE << order) / 8) - 1] == 0);
		pmm_free(pa, order);
	}
	EXPECT_EQ(pmm_free_bytes(), free0);
}

static void test_1g_block(void)
{
	paddr_t pa;

	if (pmm_free_blocks(ORDER_1G) == 0) {
		ktap_skip("no free 1 GiB-aligned block of RAM on this machine");
		return;
	}
	pa = pmm_alloc(ORDER_1G);
	EXPECT(IS_ALIGNED(pa_addr(pa), GiB(1)));
	pmm_free(pa, ORDER_1G);
}

static void test_no_overlap_and_baseline(void)
{
	static paddr_t pages[256];
	u64 free0 = pmm_free_bytes();

	for (unsigned i = 0; i < ARRAY_SIZE(pages); i++) {
		pages[i] = pmm_alloc(ORDER_4K);
		/* Tag each page with its index; an overlap would overwrite a tag. */
		*(u64 *)phys_to_virt(pages[i]) = i + 1;
	}
	for (unsigned i = 0; i < ARRAY_SIZE(pages); i++)
		EXPECT_EQ(*(u64 *)phys_to_virt(pages[i]), i + 1);
	for (unsigned i = 0; i < ARRAY_SIZE(pages); i++)
		pmm_free(pages[i], ORDER_4K);
	EXPECT_EQ(pmm_free_bytes(), free0);
}

static void test_allocations_inside_usable_ram(void)
{
	paddr_t pa = pmm_alloc(ORDER_4K);
	bool inside = false;

	for (unsigned i = 0; i < kernel_memmap.nr_usable; i++) {
		const struct mem_range *r = &kernel_memmap.usable[i];

		inside |= pa_addr(pa) >= r->base && pa_addr(pa) + PAGE_SIZE <= r->base + r->size;
	}
	EXPECT(inside);
	EXPECT_EQ(pa_to_page(pa)->state, PAGE_ALLOCATED_HEAD);
	pmm_free(pa, ORDER_4K);
	EXPECT_EQ(pa_to_page(pa)->state == PAGE_FREE_HEAD ||
			  pa_to_page(pa)->state == PAGE_FREE_TAIL,
		  1);
}

static void test_struct_page_through_vmemmap(void)
{
	const struct page *p = pa_to_page(pa_init(kernel_memmap.usable[0].base));

	EXPECT((u64)(uintptr_t)p >= VMEMMAP_BASE && (u64)(uintptr_t)p < STACKS_BASE);
	EXPECT_EQ(sizeof(struct page), 32);
}

KTAP_SUITE(suite_alloc, "alloc", KTAP_CASE(test_every_order_aligned_and_zeroed),
	   KTAP_CASE(test_1g_block), KTAP_CASE(test_no_overlap_and_baseline),
	   KTAP_CASE(test_allocations_inside_usable_ram),
	   KTAP_CASE(test_struct_page_through_vmemmap));
