/* SPDX-License-Identifier: MIT */
/*
 * TLB gather: invalidations and table frees batched across one operation.
 * Ranges are coalesced into one span; past a threshold the whole regime is
 * flushed instead. Detached table pages queue here and go back to the
 * allocator only after the flush (no walker can reach them through a cached
 * table entry) and after a grace period (no lockless reader is still inside
 * them): gather_free_tables(), outside every lock and read section.
 */
#ifndef MM_GATHER_H
#define MM_GATHER_H

#include "lib/types.h"

struct pgtable;

/* Above this many pages a full flush is cheaper than per-page invalidation. */
#define GATHER_FULL_FLUSH_PAGES 512
#define GATHER_NO_TABLES	(~0ULL)

struct pt_gather {
	struct pgtable *pt;
	u64 start, end; /* coalesced span to invalidate; start == end: nothing */
	/* This gather counts in pt->unflushed: it holds invalidations not yet done. */
	bool unflushed;
	unsigned level; /* the leaf level of every queued range, or ~0u when mixed */
	/*
	 * Tables were detached since the last flush: cached walks through them
	 * may sit at any level, so the next flush takes no TTL hint, whatever
	 * ranges are queued after them (sticky until gather_flush()).
	 */
	bool any_level;
	/*
	 * Detached table pages, linked by frame number through their struct
	 * page (next_pfn is free while a page is a table): no limit, no early
	 * flush, nothing to allocate.
	 */
	u64 tables;
	/* Statistics for the engine's callers and benchmarks. */
	u64 flushes, full_flushes;
};

void gather_init(struct pt_gather *g, struct pgtable *pt);
/*
 * Queues [va, va + size), mapped by leaves (or tables) at level, for
 * invalidation. Call it before the store that needs it (see pt->unflushed).
 */
void gather_add_range(struct pt_gather *g, u64 va, u64 size, unsigned level);
/* Queues a detached table page, to be freed by gather_free_tables(). */
void gather_add_table(struct pt_gather *g, paddr_t table);
/* Invalidates what is queued (tables stay queued). */
void gather_flush(struct pt_gather *g);
/*
 * Flushes, waits for a grace period if tables are queued, and frees them.
 * Call with no table lock held and outside any read section.
 */
void gather_free_tables(struct pt_gather *g);

#endif
