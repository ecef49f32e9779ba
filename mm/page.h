/* SPDX-License-Identifier: MIT */
/*
 * struct page: one per 4 KiB frame, in one array indexed by frame number. The
 * array is what the vmemmap maps. A frame that holds a page table keeps the
 * table's metadata here (level, valid-entry count, lock).
 */
#ifndef MM_PAGE_H
#define MM_PAGE_H

#include "lib/spinlock.h"
#include "lib/types.h"

enum page_state {
	PAGE_RESERVED,	/* not RAM, or RAM the allocator never owns */
	PAGE_FREE_HEAD, /* first frame of a free buddy block (order valid) */
	PAGE_FREE_TAIL,
	PAGE_ALLOCATED_HEAD,
	PAGE_ALLOCATED_TAIL,
	PAGE_TABLE,	 /* a page-table page (pt fields valid) */
	PAGE_FREE_SPARE, /* free, in the allocator's last-resort list (pmm_give) */
};

/* struct page.flags */
#define PAGE_FLAG_HVO 0x01 /* head of a huge page whose tail struct pages are shared (mm/hvo.c) */

struct page {
	u8 state;
	u8 order;
	u8 pt_level;
	u8 flags;
	u16 pt_valid;		 /* valid entries in this table page */
	struct spinlock pt_lock; /* per-table lock (4 bytes) */
	/* Free-list links as frame numbers: compact and position independent. */
	u64 next_pfn;
	u64 prev_pfn;
};

_Static_assert(sizeof(struct page) == 32,
	       "struct page must stay 32 bytes (128 per 4K vmemmap page)");

extern struct page *page_array;
extern u64 page_array_first_frame; /* frames covered: [first_frame, frames) */
extern u64 page_array_frames;
/* Where the array's backing lives, for the vmemmap mapping. */
extern paddr_t page_array_pa;
extern u64 page_array_bytes;

static inline struct page *pa_to_page(paddr_t pa)
{
	return &page_array[pa_addr(pa) >> PAGE_SHIFT];
}

static inline paddr_t page_to_pa(const struct page *p)
{
	return pa_init((u64)(p - page_array) << PAGE_SHIFT);
}

#endif
