/* SPDX-License-Identifier: MIT */
/*
 * Huge pages: 2 MiB and 1 GiB blocks of the buddy allocator handed out whole
 * (guest memory), their struct pages' vmemmap optimized while allocated
 * (mm/hvo.h). This sits above mm/pmm.c, which knows nothing of HVO.
 */
#ifndef MM_HUGE_PAGE_H
#define MM_HUGE_PAGE_H

#include "lib/types.h"

/* A block of 2^order frames, content uninitialised, vmemmap optimized where HVO is on; pa 0 when
 * none is free. */
paddr_t huge_page_alloc(unsigned order);
/*
 * Restores the block's vmemmap, then gives it back to the allocator. With no
 * memory for the restore the block stays allocated (said on the console).
 */
void huge_page_free(paddr_t pa, unsigned order);

#endif
