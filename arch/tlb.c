/* SPDX-License-Identifier: MIT */
/* The TLB maintenance counters of every architecture (arch/tlb.h). */
#include "arch/tlb.h"

struct arch_tlb_counts tlb_counts_per_cpu[MAX_CPUS];

void arch_tlb_counts(struct arch_tlb_counts *out)
{
	*out = (struct arch_tlb_counts){0};
	for (unsigned cpu = 0; cpu < MAX_CPUS; cpu++) {
		const struct arch_tlb_counts *c = &tlb_counts_per_cpu[cpu];

		out->invalidations += __atomic_load_n(&c->invalidations, __ATOMIC_RELAXED);
		out->barriers += __atomic_load_n(&c->barriers, __ATOMIC_RELAXED);
		out->ipis += __atomic_load_n(&c->ipis, __ATOMIC_RELAXED);
	}
}
