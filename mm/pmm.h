/* SPDX-License-Identifier: MIT */
/*
 * The physical page allocator: a buddy allocator over 4 KiB frames serving
 * blocks from 4 KiB (order 0) to 1 GiB (order 18), with a struct page per frame.
 */
#ifndef MM_PMM_H
#define MM_PMM_H

#include "boot/boot_info.h"
#include "mm/page.h"

#define PMM_MAX_ORDER 18 /* 1 GiB */
#define ORDER_4K      0
#define ORDER_2M      9
#define ORDER_1G      18

void pmm_init(struct boot_info *bi);
/* Adds usable memory above the boot identity limit once the direct map exists. */
void pmm_add_late_memory(void);

/* Returns a zeroed block of 2^order frames, or pa 0 when none is free. */
paddr_t pmm_alloc(unsigned order);
/* As pmm_alloc but never above limit (exclusive); for early tables and trampolines. */
paddr_t pmm_alloc_below(unsigned order, u64 limit);
/*
 * As pmm_alloc but not zeroed: only for a caller that overwrites every byte
 * before anything else can read it (a page-table split fills all entries).
 */
paddr_t pmm_alloc_uninit(unsigned order);
void pmm_free(paddr_t pa, unsigned order);
/*
 * Hands a frame to the allocator as a spare: free, but used only when nothing
 * else is (HVO's freed vmemmap frames, which pmm_claim() takes back). The
 * frame is boot-reserved or an allocated 4K page.
 */
void pmm_give(paddr_t pa);
/* Allocates exactly the frame at pa (order 0) if it is free; false otherwise. */
bool pmm_claim(paddr_t pa);

/* Switches struct page accesses to the vmemmap once the kernel's tables are live. */
void pmm_rebase_page_array(struct page *vmemmap_base);

/* Prints where the struct page array lives and how much memory is free. */
void pmm_report(void);
u64 pmm_free_bytes(void);
u64 pmm_total_bytes(void);
/* Free blocks per order, for reports and tests. */
u64 pmm_free_blocks(unsigned order);

#endif
