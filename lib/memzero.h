/* SPDX-License-Identifier: MIT */
#ifndef LIB_MEMZERO_H
#define LIB_MEMZERO_H

#include "lib/types.h"

/*
 * Zeroes whole pages with aligned 64-bit stores, eight per iteration: the
 * allocator zeroes every page it hands out (1 GiB blocks included), so this
 * is the kernel's hottest loop. dst must be page aligned, bytes a multiple of
 * PAGE_SIZE. (Arm DC ZVA would be faster still; it needs SCTLR_EL2 and the
 * DCZID block size and is left for when it is measured.)
 */
void memzero_pages(void *dst, size_t bytes);

#endif
