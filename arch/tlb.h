/* SPDX-License-Identifier: MIT */
/*
 * What TLB maintenance shares across architectures: the counters the BBM
 * study and the smp suite read, and the one invalidation planner behind every
 * flush by address (arm64 stage 1 and stage 2, x86 INVLPG), over which each
 * arch issues its own operations.
 *
 * A by-address invalidation drops the entries of the whole leaf holding its
 * address (Arm ARM D8.13.1 for TLBI by VA/IPA; SDM Vol. 3A 4.10.4.1 for
 * INVLPG), so a range whose leaves are all at one level needs one operation
 * per leaf; an unknown or mixed level (~0u) steps by 4 KiB. Past a limit of
 * operations, one flush of the whole regime is cheaper.
 */
#ifndef ARCH_TLB_H
#define ARCH_TLB_H

#include "arch/arch.h"
#include "arch/pt_format.h"
#include "lib/types.h"

/* Per CPU, each written only by its own CPU (arch/tlb.c); arch_tlb_counts() sums them. */
extern struct arch_tlb_counts tlb_counts_per_cpu[MAX_CPUS];

static inline void tlb_count(unsigned cpu, u64 invalidations, u64 barriers, u64 ipis)
{
	struct arch_tlb_counts *c = &tlb_counts_per_cpu[cpu];

	c->invalidations += invalidations;
	c->barriers += barriers;
	c->ipis += ipis;
}

struct tlb_plan {
	u64 start, end, step; /* operations at start, start + step, ... below end */
	u64 ops;
	bool full; /* more than the limit: flush everything instead */
};

static inline struct tlb_plan tlb_plan(u64 va, u64 size, unsigned level, u64 limit)
{
	struct tlb_plan p;

	p.step = level <= 2 ? pt_level_size(level) : PAGE_SIZE;
	p.start = ALIGN_DOWN(va, p.step);
	p.end = ALIGN_UP(va + size, p.step);
	p.ops = (p.end - p.start) / p.step;
	p.full = p.ops > limit;
	return p;
}

#endif
