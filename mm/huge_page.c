/* SPDX-License-Identifier: MIT */
#include "mm/huge_page.h"
#include "lib/printf.h"
#include "mm/hvo.h"
#include "mm/page.h"
#include "mm/pmm.h"

paddr_t huge_page_alloc(unsigned order)
{
	paddr_t pa = pmm_alloc_uninit(order);

	if (pa_addr(pa))
		hvo_optimize(pa, order);
	return pa;
}

void huge_page_free(paddr_t pa, unsigned order)
{
	/* Tail struct pages must be writable again before the buddy may split the block. */
	if ((pa_to_page(pa)->flags & PAGE_FLAG_HVO) && !hvo_restore(pa, order)) {
		printf("huge page: no memory to restore the vmemmap of 0x%llx: the block stays "
		       "allocated\n",
		       (unsigned long long)pa_addr(pa));
		return;
	}
	pmm_free(pa, order);
}
