/* SPDX-License-Identifier: MIT */
/*
 * Engine benchmarks. Each bench_* function performs one measured operation;
 * scripts/bench-mm.py runs this binary under callgrind once per function
 * (--toggle-collect) and divides the instruction count by the entries it
 * touched. The setup around each function is not counted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/host/harness.h"
#include "mm/pmm.h"

#define VA	      0x0000008000000000ULL
#define PA	      0x0000000100000000ULL
#define REPEAT_SINGLE 1000

static const struct pt_attrs rw = {PT_READ | PT_WRITE, PT_MEM_NORMAL};
static struct pgtable pt;

#define BENCH __attribute__((noinline, used))

BENCH void bench_map_1g_4k(void)
{
	pt_map(&pt, VA, pa_init(PA), GiB(1), rw, PT_MAP_MAX_LEVEL(0));
}

/* Every other page of 2M tables that already exist: a demand fault's map. */
static u64 single_va[REPEAT_SINGLE];
static paddr_t single_pa[REPEAT_SINGLE];

static void prepare_single_maps(void)
{
	for (unsigned i = 0; i < REPEAT_SINGLE; i++) {
		single_va[i] = VA + MiB(2) * (i / 256) + KiB(8) * (i % 256);
		single_pa[i] = pa_init(PA + KiB(8) * i);
	}
	/* One page in each 2M range builds the tables the measured maps will use. */
	for (unsigned i = 0; i < REPEAT_SINGLE / 256 + 1; i++)
		pt_map(&pt, VA + MiB(2) * i + MiB(1), pa_init(PA), KiB(4), rw, 0);
}

/* Measured: the maps themselves, plus a load-and-call of loop per map. */
BENCH void bench_map_4k_existing(void)
{
	for (unsigned i = 0; i < REPEAT_SINGLE; i++)
		pt_map(&pt, single_va[i], single_pa[i], KiB(4), rw, 0);
}

/* The demand-fault pages again, unmapped one by one (their tables stay: one anchor page each). */
BENCH void bench_unmap_4k_existing(void)
{
	for (unsigned i = 0; i < REPEAT_SINGLE; i++)
		pt_unmap(&pt, single_va[i], KiB(4));
}

BENCH void bench_split_1g_to_2m(void)
{
	pt_split(&pt, VA, GiB(1), 1);
}

BENCH void bench_split_2m_to_4k(void)
{
	pt_split(&pt, VA, MiB(2), 0);
}

BENCH void bench_collapse_4k_to_1g(void)
{
	pt_collapse(&pt, VA, GiB(1));
}

/* The same with FEAT_BBM level 2: each table becomes a block directly, one flush at the end. */
BENCH void bench_collapse_4k_to_1g_bbm2(void)
{
	pt_collapse(&pt, VA, GiB(1));
}

BENCH void bench_unmap_reclaim_1g_4k(void)
{
	pt_unmap(&pt, VA, GiB(1));
}

/* Free-then-refault churn: re-mapping 2M of 4K pages right after unmapping them. */
BENCH void bench_remap_2m_4k(void)
{
	pt_map(&pt, VA, pa_init(PA), MiB(2), rw, PT_MAP_MAX_LEVEL(0));
}

static void fresh(void)
{
	harness_reset_memory();
	if (pt_init(&pt, &arm64_s1_el2_format, &host_regime))
		exit(2);
}

static u64 table_bytes(void)
{
	return pt.tables * PAGE_SIZE;
}

static void report_bytes(void)
{
	static const char *const names[] = {"4K", "2M", "1G"};

	for (unsigned level = 0; level <= 2; level++) {
		fresh();
		pt_map(&pt, VA, pa_init(PA), GiB(1), rw, PT_MAP_MAX_LEVEL(level));
		printf("bytes %s mapped %llu", names[level], table_bytes());
		pt_unmap(&pt, VA, GiB(1) - PAGE_SIZE);
		printf(" after-unmap-all-but-4K %llu", table_bytes());
		pt_unmap(&pt, VA + GiB(1) - PAGE_SIZE, PAGE_SIZE);
		printf(" after-unmap-all %llu\n", table_bytes());
	}
}

int main(int argc, char **argv)
{
	const char *which = argc > 1 ? argv[1] : "";

	fresh();
	if (!strcmp(which, "map_1g_4k")) {
		bench_map_1g_4k();
	} else if (!strcmp(which, "map_4k_existing")) {
		prepare_single_maps();
		bench_map_4k_existing();
	} else if (!strcmp(which, "unmap_4k_existing")) {
		prepare_single_maps();
		bench_map_4k_existing();
		bench_unmap_4k_existing();
	} else if (!strcmp(which, "map_4k_existing_setup")) {
		prepare_single_maps(); /* subtracted: what the measured maps cost alone */
	} else if (!strcmp(which, "split_1g_to_2m")) {
		pt_map(&pt, VA, pa_init(PA), GiB(1), rw, 0);
		bench_split_1g_to_2m();
	} else if (!strcmp(which, "split_2m_to_4k")) {
		pt_map(&pt, VA, pa_init(PA), MiB(2), rw, 0);
		bench_split_2m_to_4k();
	} else if (!strcmp(which, "collapse_4k_to_1g")) {
		pt_map(&pt, VA, pa_init(PA), GiB(1), rw, PT_MAP_MAX_LEVEL(0));
		bench_collapse_4k_to_1g();
	} else if (!strcmp(which, "collapse_4k_to_1g_bbm2")) {
		pt.bbm_level = 2;
		pt_map(&pt, VA, pa_init(PA), GiB(1), rw, PT_MAP_MAX_LEVEL(0));
		bench_collapse_4k_to_1g_bbm2();
	} else if (!strcmp(which, "unmap_reclaim_1g_4k")) {
		pt_map(&pt, VA, pa_init(PA), GiB(1), rw, PT_MAP_MAX_LEVEL(0));
		bench_unmap_reclaim_1g_4k();
	} else if (!strcmp(which, "remap_2m_4k_immediate") ||
		   !strcmp(which, "remap_2m_4k_deferred")) {
		pt.reclaim = strstr(which, "deferred") ? PT_RECLAIM_DEFERRED : PT_RECLAIM_IMMEDIATE;
		pt_map(&pt, VA, pa_init(PA), MiB(2), rw, PT_MAP_MAX_LEVEL(0));
		pt_unmap(&pt, VA, MiB(2));
		bench_remap_2m_4k();
	} else if (!strcmp(which, "bytes")) {
		report_bytes();
	} else {
		fprintf(stderr,
			"usage: %s "
			"map_1g_4k|map_4k_existing[_setup]|unmap_4k_existing|split_1g_to_2m|"
			"split_2m_to_4k|collapse_4k_to_1g[_bbm2]|unmap_reclaim_1g_4k|bytes\n",
			argv[0]);
		return 2;
	}
	return 0;
}
