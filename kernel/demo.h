/* SPDX-License-Identifier: MIT */
/* The default run: the postcopy / HGM demo (kernel/demo.c). */
#ifndef KERNEL_DEMO_H
#define KERNEL_DEMO_H

#include "lib/types.h"

/*
 * Runs the postcopy demo chosen by kopt.demo_mode on the built-in test guest,
 * its guest sized to the memory free (kopt.demo_mem, else the largest of 1 GiB
 * and its halves that fits, saying so) and its vCPUs to the CPUs (one CPU:
 * the mover shares it). Returns the run's exit status (0: every guest
 * verified its memory; 1: not, or the demo_mem= asked for does not fit, which
 * is refused with what it needs; a status, not an error), or ERR_NOTSUP
 * (lib/errno.h) without running anything, after printing why, when this CPU
 * cannot run VMs or not even the smallest guest fits.
 */
int demo_run(void);

#endif
