/* SPDX-License-Identifier: MIT */
/* The default run: the postcopy / HGM demo (kernel/demo.c). */
#ifndef KERNEL_DEMO_H
#define KERNEL_DEMO_H

#include "lib/types.h"

/*
 * Runs the postcopy demo chosen by kopt.demo_mode on the built-in test guest.
 * Returns the run's exit status (0: every guest verified its memory, 1: not;
 * a status, not an error), or ERR_NOTSUP (lib/errno.h) without running
 * anything, after printing why, when this CPU cannot run VMs or the mover has
 * no second CPU.
 */
int demo_run(void);

#endif
