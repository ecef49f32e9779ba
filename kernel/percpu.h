/* SPDX-License-Identifier: MIT */
#ifndef KERNEL_PERCPU_H
#define KERNEL_PERCPU_H

#include "arch/arch.h"
#include "lib/types.h"

struct percpu {
	unsigned id; /* logical index, 0 = boot CPU */
	u64 hwid;    /* MPIDR affinity / APIC ID */
	void *stack_top;
	bool online;
	/* Counters the SMP, IPI and timer suites check. */
	u64 ipis_received[IPI_TYPES];
	u64 timer_interrupts;
	void *arch; /* arch-private per-CPU state */
};

extern struct percpu percpu[MAX_CPUS];
extern unsigned nr_cpus;

static inline struct percpu *this_cpu(void)
{
	return arch_this_cpu();
}

static inline unsigned this_cpu_id(void)
{
	return arch_this_cpu()->id;
}

#endif
