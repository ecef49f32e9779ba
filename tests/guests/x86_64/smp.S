/* SPDX-License-Identifier: MIT */
/*
 * x86-64 secondary vCPU entry: 32-bit protected mode, paging off (the PVH entry state), ebx =
 * struct guest_cpu (below 4 GiB: the test guests live there), esi = vCPU index. The boot vCPU's
 * GDT, then IA-32e mode (long_mode.h) with CR3 = the boot vCPU's tables; then the stack from
 * the struct and C.
 */
#include "tests/guests/x86_64/long_mode.h"

	.section .text
	.code32
	.globl x86_secondary_entry
x86_secondary_entry:
	cli
	cld
	load_guest_gdt32
	mov	8(%ebx), %esi
	enter_long_mode %esi, 2f

	.code64
2:	flat_data_segments
	mov	%ebx, %ebx /* the upper half is undefined after the mode switch: zero it */
	mov	(%rbx), %rsp
	mov	%rbx, %rdi
	call	x86_secondary_main
3:	hlt
	jmp	3b
