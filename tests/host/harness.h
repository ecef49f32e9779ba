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
#define ARENA_PA 0x40000000ULL
#define ARENA_SIZE MiB(256)

/* (Re)creates the arena and the page allocator over it. */
void harness_reset_memory(void);
/* A regime whose invalidations are counted, for the engine tests. */
extern const struct pt_regime host_regime;
struct host_tlb_stats {
	u64 range_flushes, full_flushes, publishes;
};
extern struct host_tlb_stats host_tlb;

#endif
