/* SPDX-License-Identifier: MIT */
/*
 * Host test harness: generic mm/ and lib/ code compiled natively against a
 * fake arch. "Physical memory" is an arena; phys_to_virt() offsets into it.
 */
#ifndef TESTS_HOST_HARNESS_H
#define TESTS_HOST_HARNESS_H

#include "lib/ktap.h"
#include "mm/pgtable.h"

/* Where the arena pretends to sit in physical memory (like QEMU virt's RAM). */
#define ARENA_PA   0x40000000ULL
#define ARENA_SIZE MiB(256)

/*
 * What freed table pages are filled with: a valid leaf (bit 0, and the table
 * bits on arm64) at an output address far above the arena, in every format.
 */
#define HOST_POISON_ENTRY 0x0000dead00000003ULL

/* What arch_pt_bbm_level() returns: the FEAT_BBM level new page tables use (0 by default). */
extern unsigned harness_bbm_level;

/* (Re)creates the arena and the page allocator over it. */
void harness_reset_memory(void);
/* A regime whose invalidations are counted, for the engine tests. */
extern const struct pt_regime host_regime;
struct host_tlb_stats {
	u64 range_flushes, full_flushes, publishes;
};
extern struct host_tlb_stats host_tlb;
/*
 * Walks the whole tree: every table's count equals its valid entries, every
 * table page is PAGE_TABLE, and pt->tables is the number of table pages.
 * Prints KTAP diagnostics for what differs.
 */
bool harness_pt_invariants(const struct pgtable *pt);
/* Keeps freed table pages from reuse a while (on), or releases them all (off). */
void harness_quarantine(bool on);
/* Table pages the engine has freed since the start. */
u64 harness_tables_freed(void);
/*
 * From the after-th table-page allocation of this thread on (1: the next),
 * every one fails, until harness_fail_allocs(0).
 */
void harness_fail_allocs(u64 after);
/* The interleaving explorer's hook (mm/pgtable.c yield points), NULL when off. */
extern void (*host_yield_hook)(const char *point, const void *addr);
/* Switches the thread to simulated CPU cpu, keeping each CPU's interrupt mask apart. */
void harness_switch_cpu(unsigned cpu);
/* This simulated CPU's interrupt state (false: masked). */
bool harness_irqs_on(void);
/* Makes this thread simulated CPU cpu (its grace-period slot); threads start as CPU 0. */
void harness_set_cpu(unsigned cpu);

#endif
