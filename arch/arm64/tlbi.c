/* SPDX-License-Identifier: MIT */
#include "arch/arm64/tlbi.h"

/*
 * The Arm level of a leaf at engine level 0-2 (4K = Arm level 3). Level 0
 * leaves do not exist with the 4K granule, so 0 doubles as "no hint".
 */
static u64 ttl_level(unsigned level, bool ttl)
{
	return ttl && level <= 2 ? 3 - level : 0;
}

u64 tlbi_va_operand(u64 va, unsigned level, bool ttl)
{
	u64 hint = ttl_level(level, ttl);

	return (va >> PAGE_SHIFT) | (hint ? (TLBI_TG_4K << 2 | hint) << 44 : 0);
}

u64 tlbi_range_operand(u64 va, unsigned num, unsigned scale, unsigned level, bool ttl)
{
	return ((va >> PAGE_SHIFT) & GENMASK(36, 0)) | ttl_level(level, ttl) << 37 |
	       (u64)num << 39 | (u64)scale << 44 | TLBI_TG_4K << 46;
}

void tlbi_range_plan(u64 va, u64 pages, unsigned level, bool ttl,
		     void (*emit)(u64 operand, bool is_range, void *ctx), void *ctx)
{
	int scale = 3;

	/* Range operations cover even counts, from the largest scale down. */
	while (pages > 1) {
		unsigned shift = 5 * (unsigned)scale + 1;
		u64 chunks = MIN(pages >> shift, 32); /* NUM is 5 bits: up to 32 chunks */

		if (!chunks) {
			scale--;
			continue;
		}
		emit(tlbi_range_operand(va, (unsigned)chunks - 1, (unsigned)scale, level, ttl),
		     true, ctx);
		va += (chunks << shift) << PAGE_SHIFT;
		pages -= chunks << shift;
	}
	if (pages)
		emit(tlbi_va_operand(va, level, ttl), false, ctx);
}
