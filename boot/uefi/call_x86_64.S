/* SPDX-License-Identifier: MIT */
/*
 * uefi_call_on_stack(fn, arg, sp): leaves the firmware's stack for good.
 * A zero return address and frame pointer end backtraces here; pushing it
 * also gives fn the entry alignment the SysV ABI expects (rsp + 8 aligned
 * to 16).
 */
	.text
	.globl uefi_call_on_stack
	.type uefi_call_on_stack, @function
uefi_call_on_stack:
	movq	%rdi, %rax
	movq	%rsi, %rdi
	movq	%rdx, %rsp
	xorl	%ebp, %ebp
	pushq	$0
	jmp	*%rax
	.size uefi_call_on_stack, . - uefi_call_on_stack

	.section .note.GNU-stack, "", @progbits
