/* SPDX-License-Identifier: MIT */
#ifndef TESTS_HOST_FUZZ_OPS_H
#define TESTS_HOST_FUZZ_OPS_H

#include "lib/types.h"

/* Leaf-size sets a run's format is narrowed to: 4K; 4K and 2M; 4K, 2M and 1G. */
#define FUZZ_LEAF_SETS 3

/* What the injected allocation failures exercised, summed over runs. */
struct fuzz_stats {
	u64 runs_by_leaf_set[FUZZ_LEAF_SETS]; /* format runs per leaf-size set drawn */
	u64 injected;			      /* operations run with an allocation-failure point */
	u64 survived; /* of those, succeeded: they needed fewer allocations */
	/* Of those, returned ERR_NOMEM, were checked against their promise, then retried. */
	u64 failed_map, failed_unmap, failed_protect, failed_split;
	u64 map_left_tables; /* failed one-leaf maps that left empty tables behind */
};

/*
 * Decodes data into a sequence of map / unmap / protect / split / collapse /
 * touch operations, applies each to the engine (on the model TLB regime) and
 * to a flat reference, and checks after every step: translations equal the
 * reference, every leaf of a size the format (narrowed by the input to a
 * leaf-size set, as a CPU reports it) allows, valid counts exact, no stale cached translation, no
 * break-before-make violation; after teardown the allocator is back at its
 * baseline. The input makes some table-page allocations fail
 * (harness_fail_allocs()): an op that then returns ERR_NOMEM is checked
 * against what it promises on failure, over its range and the 1G blocks
 * around it, for consistent tables and for leaked pages, then retried with
 * memory back. Returns the number of failed checks (diagnostics printed);
 * adds to stats unless NULL.
 */
unsigned fuzz_run(const u8 *data, size_t len, struct fuzz_stats *stats);

#endif
