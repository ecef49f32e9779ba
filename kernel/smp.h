/* SPDX-License-Identifier: MIT */
#ifndef KERNEL_SMP_H
#define KERNEL_SMP_H

#include "kernel/percpu.h"

struct boot_info;

/* Discovers CPUs and starts up to kopt.max_cpus of them; prints one line per CPU. */
void smp_init(struct boot_info *bi);
/* Where each secondary CPU's arch entry ends up, with its percpu pointer set. */
__noreturn void secondary_main(void);
/*
 * Runs fn(arg) on cpu through an IPI. With wait, returns after fn finished
 * there. Returns 0, or -1 when the CPU is offline or did not answer in time.
 */
int smp_call(unsigned cpu, void (*fn)(void *), void *arg, bool wait);
/* Halts every other online CPU (panic path); safe before IPIs exist. */
void smp_stop_others(void);
unsigned smp_online_count(void);

#endif
