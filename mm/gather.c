/* SPDX-License-Identifier: MIT */
#include "mm/gather.h"
#include "mm/pgtable.h"
#include "mm/pmm.h"

/* Field by field: the table list is only read up to nr_tables. */
void gather_init(struct pt_gather *g, const struct pgtable *pt)
{
	g->pt = pt;
	g->start = g->end = 0;
	g->level = ~0u;
	g->nr_tables = 0;
	g->flushes = g->full_flushes = 0;
}

void gather_add_range(struct pt_gather *g, u64 va, u64 size, unsigned level)
{
	if (g->start == g->end) {
		g->start = va;
		g->end = va + size;
		g->level = level;
		return;
	}
	g->start = MIN(g->start, va);
	g->end = MAX(g->end, va + size);
	if (g->level != level)
		g->level = ~0u;
}

void gather_add_table(struct pt_gather *g, paddr_t table)
{
	if (g->nr_tables == GATHER_MAX_TABLES)
		gather_flush(g);
	g->tables[g->nr_tables++] = pa_addr(table);
	/* Cached walks through the table may sit at any level: no TTL hint. */
	g->level = ~0u;
}

void gather_flush(struct pt_gather *g)
{
	const struct pt_regime *regime = g->pt->regime;

	if (g->start == g->end && !g->nr_tables)
		return;
	if (g->start != g->end) {
		if ((g->end - g->start) >> PAGE_SHIFT > GATHER_FULL_FLUSH_PAGES) {
			regime->flush_all(g->pt);
			g->full_flushes++;
		} else {
			regime->flush_range(g->pt, g->start, g->end - g->start, g->level);
		}
		g->flushes++;
	}
	g->start = g->end = 0;
	g->level = ~0u;
	/*
	 * The flush above also removed walk-cache entries that pointed at these
	 * tables (TLBI by VA invalidates cached table entries on the path unless
	 * a leaf-only variant is used; x86 INVLPG likewise drops paging-structure
	 * caches, SDM Vol 3 4.10.4.1), so they can be reused now.
	 */
	for (unsigned i = 0; i < g->nr_tables; i++) {
		struct page *p = pa_to_page(pa_init(g->tables[i]));

		p->state = PAGE_ALLOCATED_HEAD;
		pmm_free(pa_init(g->tables[i]), 0);
	}
	g->nr_tables = 0;
}
