/* SPDX-License-Identifier: MIT */
/*
 * TLB gather: invalidations and table frees batched across one operation.
 * Ranges are coalesced into one span; past a threshold the whole regime is
 * flushed instead. Table pages queued here are freed only after the flush,
 * when no walker can still reach them through a cached table entry.
 */
#ifndef MM_GATHER_H
#define MM_GATHER_H

#include "lib/types.h"

struct pgtable;

#define GATHER_MAX_TABLES 64
/* Above this many pages a full flush is cheaper than per-page invalidation. */
#define GATHER_FULL_FLUSH_PAGES 512

struct pt_gather {
	const struct pgtable *pt;
	u64 start, end; /* coalesced span to invalidate; start == end: nothing */
	unsigned level; /* the leaf level of every queued range, or ~0u when mixed */
	u64 tables[GATHER_MAX_TABLES]; /* table pages to free after the flush */
	unsigned nr_tables;
	/* Statistics for the engine's callers and benchmarks. */
	u64 flushes, full_flushes;
};

void gather_init(struct pt_gather *g, const struct pgtable *pt);
/* Queues [va, va + size), mapped by leaves (or tables) at level, for invalidation. */
void gather_add_range(struct pt_gather *g, u64 va, u64 size, unsigned level);
/* Queues a detached table page; flushes early when the queue is full. */
void gather_add_table(struct pt_gather *g, paddr_t table);
/* Invalidates what is queued, then frees the queued tables. */
void gather_flush(struct pt_gather *g);

#endif
