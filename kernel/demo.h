/* SPDX-License-Identifier: MIT */
/* The default run: the postcopy / HGM demo (kernel/demo.c). */
#ifndef KERNEL_DEMO_H
#define KERNEL_DEMO_H

#include "lib/types.h"

/*
 * Runs the postcopy demo chosen by kopt.demo_mode on the built-in test guest.
 * Returns the run's exit status (0: every guest verified its memory), or -1
 * without running anything, after printing why, when this CPU cannot run VMs.
 */
int demo_run(void);

#endif
