/* SPDX-License-Identifier: MIT */
#ifndef LIB_PANIC_H
#define LIB_PANIC_H

#include "lib/types.h"

/*
 * The failure paths every layer may take, declared here at the bottom so that
 * mm/, arch/ and drivers/ need nothing from above them. The kernel implements
 * them (kernel/panic.c: the other CPUs are stopped first); the host tests have
 * their own (tests/host/harness.c).
 */

/* Stops every CPU, prints the message and ends the run with status 2. */
__noreturn void panic(const char *fmt, ...) __printf(1, 2);
/* A boot-time configuration error (bad DTB, memory map, command line): status 1. */
__noreturn void boot_fail(const char *fmt, ...) __printf(1, 2);
/* Prints the final status line the test runner reads, then arch_exit(status). */
__noreturn void kernel_exit(int status);

#define BUG_ON(cond)                                                                               \
	do {                                                                                       \
		if (unlikely(cond))                                                                \
			panic("BUG at %s:%d: %s", __FILE__, __LINE__, #cond);                      \
	} while (0)

#endif
