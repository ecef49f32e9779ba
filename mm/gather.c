/* SPDX-License-Identifier: MIT */
#include "mm/gather.h"
#include "mm/grace.h"
#include "mm/pgtable.h"
#include "mm/pmm.h"

#ifdef HOST_TEST
/*
 * The host harness poisons freed tables so a reader that walks one is
 * caught, and may keep them from reuse a while (returns true: it frees them).
 */
bool host_table_freed(paddr_t table);
#else
static inline bool host_table_freed(paddr_t table)
{
	return false;
}
#endif

/* Field by field: cheaper than zeroing the whole structure on the hot paths. */
void gather_init(struct pt_gather *g, struct pgtable *pt)
{
	g->pt = pt;
	g->start = g->end = 0;
	g->unflushed = false;
	g->level = ~0u;
	g->any_level = false;
	g->tables = GATHER_NO_TABLES;
	g->flushes = g->full_flushes = 0;
}

void gather_add_range(struct pt_gather *g, u64 va, u64 size, unsigned level)
{
	if (!g->unflushed) {
		/*
		 * Counted before the entry changes, so a writer that sees the
		 * changed entry also sees that an invalidation may be pending:
		 * the change is a release store, or made under the table's lock.
		 */
		__atomic_fetch_add(&g->pt->unflushed, 1, __ATOMIC_RELAXED);
		g->unflushed = true;
	}
	if (g->start == g->end) {
		g->start = va;
		g->end = va + size;
		g->level = g->any_level ? ~0u : level;
		return;
	}
	g->start = MIN(g->start, va);
	g->end = MAX(g->end, va + size);
	if (g->level != level)
		g->level = ~0u;
}

void gather_add_table(struct pt_gather *g, paddr_t table)
{
	pa_to_page(table)->next_pfn = g->tables;
	g->tables = pa_addr(table) >> PAGE_SHIFT;
	/* Cached walks through the table may sit at any level: no TTL hint. */
	g->level = ~0u;
	g->any_level = true;
}

void gather_flush(struct pt_gather *g)
{
	const struct pt_regime *regime = g->pt->regime;

	if (g->start == g->end)
		return;
	if ((g->end - g->start) >> PAGE_SHIFT > GATHER_FULL_FLUSH_PAGES) {
		regime->flush_all(g->pt);
		g->full_flushes++;
	} else {
		regime->flush_range(g->pt, g->start, g->end - g->start, g->level);
	}
	g->flushes++;
	g->start = g->end = 0;
	g->level = ~0u;
	g->any_level = false;
	/* Release: the invalidation is complete for whoever sees the count drop. */
	__atomic_fetch_sub(&g->pt->unflushed, 1, __ATOMIC_RELEASE);
	g->unflushed = false;
}

void gather_free_tables(struct pt_gather *g)
{
	gather_flush(g);
	if (g->tables == GATHER_NO_TABLES)
		return;
	/*
	 * The flush removed walk-cache entries pointing at these tables (TLBI by
	 * VA invalidates cached table entries on the path unless a leaf-only
	 * variant is used; x86 INVLPG likewise drops paging-structure caches,
	 * SDM Vol 3 4.10.4.1). The grace period covers the software walkers.
	 */
	grace_synchronize();
	while (g->tables != GATHER_NO_TABLES) {
		paddr_t table = pa_init(g->tables << PAGE_SHIFT);
		struct page *p = pa_to_page(table);

		g->tables = p->next_pfn;
		if (host_table_freed(table))
			continue;
		/* Atomic: the allocator may be reading it as a buddy (mm/pmm.c). */
		__atomic_store_n(&p->state, PAGE_ALLOCATED_HEAD, __ATOMIC_RELAXED);
		pmm_free(table, 0);
	}
}
