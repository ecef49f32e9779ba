/* SPDX-License-Identifier: MIT */
#ifndef TESTS_HOST_FUZZ_OPS_H
#define TESTS_HOST_FUZZ_OPS_H

#include "lib/types.h"

/*
 * Decodes data into a sequence of map / unmap / protect / split / collapse /
 * discard / touch operations, applies each to the engine (on the model TLB
 * regime) and to a flat reference, and checks after every step: translations
 * equal the reference, valid counts exact, no stale cached translation, no
 * break-before-make violation; after teardown the allocator is back at its
 * baseline. Returns the number of failed checks (diagnostics printed).
 */
unsigned fuzz_run(const u8 *data, size_t len);

#endif
