/* SPDX-License-Identifier: MIT */
/*
 * TLBI operands for the 4K granule, as pure functions: the kernel issues what
 * they plan, the host tests decode it. QEMU cannot check these: its softmmu
 * flushes everything for any range larger than a few pages.
 */
#ifndef ARCH_ARM64_TLBI_H
#define ARCH_ARM64_TLBI_H

#include "lib/types.h"

/* TG / TTL granule field value for 4K (Arm ARM C5.5, "TLBI operand"). */
#define TLBI_TG_4K 1ULL
/* The largest single range operation: NUM = 31 at SCALE = 3. */
#define TLBI_RANGE_MAX_PAGES (32ULL << 16)

/*
 * By-VA operand (TLBI VAE2IS / VAAE1IS): VA[55:12] in bits 43:0 and, with
 * FEAT_TTL and a known leaf level (engine level 0-2), TTL in bits 47:44.
 */
u64 tlbi_va_operand(u64 va, unsigned level, bool ttl);

/*
 * Range operand (FEAT_TLBIRANGE, TLBI RVAE2IS / RVAAE1IS): BaseADDR[36:0],
 * TTL[38:37], NUM[43:39], SCALE[45:44], TG[47:46]; it covers
 * (NUM + 1) << (5 * SCALE + 1) pages from BaseADDR.
 */
u64 tlbi_range_operand(u64 va, unsigned num, unsigned scale, unsigned level, bool ttl);

/*
 * Plans the invalidation of pages 4K pages from va with range operations,
 * largest scale first, and a by-VA operation for an odd last page. Calls
 * emit(operand, is_range, ctx) for each. pages <= TLBI_RANGE_MAX_PAGES * 32.
 */
void tlbi_range_plan(u64 va, u64 pages, unsigned level, bool ttl,
		     void (*emit)(u64 operand, bool is_range, void *ctx), void *ctx);

#endif
