/* SPDX-License-Identifier: MIT */
/* Shared by C and the boot assembly. */
#ifndef KERNEL_STACK_H
#define KERNEL_STACK_H

#define STACK_SIZE	 0x8000 /* 32 KiB per CPU */
#define STACK_GUARD_SIZE 0x1000 /* one unmapped page below each stack */

#ifndef __ASSEMBLER__
#include "lib/types.h"

/*
 * The boot CPU's stack: the first page is the guard (left unmapped by the
 * kernel's page tables), the rest is the stack. Boot assembly loads
 * sp = boot_stack + STACK_GUARD_SIZE + STACK_SIZE.
 */
extern u8 boot_stack[STACK_GUARD_SIZE + STACK_SIZE];
#endif

#endif
