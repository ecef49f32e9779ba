/* SPDX-License-Identifier: MIT */
/*
 * The kernel's grace-period slots: one per CPU. Page-table readers run with
 * interrupts masked or nest LIFO within one CPU, and the kernel has no
 * preemption, so a reader never migrates between entering and leaving.
 */
#include "kernel/percpu.h"
#include "mm/grace.h"

_Static_assert(GRACE_SLOTS >= MAX_CPUS, "one grace slot per CPU");

unsigned grace_slot_id(void)
{
	return this_cpu_id();
}
