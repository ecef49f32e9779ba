/* SPDX-License-Identifier: MIT */
/*
 * uefi_call_on_stack(fn, arg, sp): leaves the firmware's stack for good.
 * Zero frame pointer and link register end backtraces here.
 */
	.text
	.globl uefi_call_on_stack
	.type uefi_call_on_stack, %function
uefi_call_on_stack:
	mov	x3, x0
	mov	x0, x1
	mov	sp, x2
	mov	x29, xzr
	mov	x30, xzr
	br	x3
	.size uefi_call_on_stack, . - uefi_call_on_stack

	.section .note.GNU-stack, "", %progbits
