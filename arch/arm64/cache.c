/* SPDX-License-Identifier: MIT */
/*
 * Data-cache maintenance by VA to the Point of Coherency (Arm ARM D7.5.9),
 * for memory that an agent reads or wrote around the caches: a CPU with its
 * MMU or D-cache off (the secondary boot block, the kernel's own image before
 * the MMU is on) or a guest whose stage 1 is off.
 */
#include "arch/arm64/arm64.h"
#include "arch/arm64/sysreg.h"

/* CTR_EL0.DminLine: log2 of the smallest D-cache line, in 4-byte words. */
static u64 dcache_line_bytes(void)
{
	return 4ULL << FIELD_GET(read_sysreg(ctr_el0), 19, 16);
}

/* One DC instruction on every line from the aligned start below end. */
#define DC_BY_VA(insn, start, end, line)                                                           \
	for (u64 a = ALIGN_DOWN(start, line); a < (end); a += (line))                              \
	__asm__ volatile("dc " insn ", %0" : : "r"(a) : "memory")

void arm64_dcache_poc(enum arm64_dcache_op op, u64 start, u64 size)
{
	u64 line = dcache_line_bytes(), end = start + size;

	/* The choice outside the loop: invalidating all RAM at boot is millions of lines. */
	switch (op) {
	case DCACHE_CLEAN: DC_BY_VA("cvac", start, end, line); break;
	case DCACHE_INVAL: DC_BY_VA("ivac", start, end, line); break;
	case DCACHE_CLEAN_INVAL: DC_BY_VA("civac", start, end, line); break;
	}
	/* DC by VA completes only at a DSB (D7.5.9): after it, memory holds what was asked. */
	dsb(sy);
}
