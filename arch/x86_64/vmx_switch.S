/* SPDX-License-Identifier: MIT */
/*
 * The world switch between granule and a VMX guest (SDM Vol. 3C chapter 26,
 * "VM Entries", and 27, "VM Exits"). VM entry loads the guest's RSP, RIP,
 * RFLAGS, control registers, segments and the MSRs the controls name from
 * the VMCS, and a VM exit loads the host's from the host-state area (27.5);
 * the other general registers are ours:
 *   - the callee-saved GPRs (SysV ABI) go on the host stack, the guest's
 *     GPRs other than RSP come from and go back to struct x86_gprs;
 *   - HOST_RSP is this frame's stack pointer, written before each entry;
 *     HOST_RIP (vmx_exit_entry) is written once per load by vmx.c;
 *   - a VM exit sets the GDTR and IDTR limits to 0xffff (27.5.2): the real
 *     ones are kept on the stack and loaded again.
 * Interrupts are masked throughout (the caller's); a VM exit clears RFLAGS
 * but bit 1 (27.5.3), so they stay masked until the caller unmasks.
 */
#include "arch/x86_64/vmx.h"

	.text
	.code64

/* int vmx_world_switch(struct x86_gprs *g, bool launched) */
	.globl	vmx_world_switch
	.type	vmx_world_switch, @function
vmx_world_switch:
	PUSH_CALLEE_SAVED
	subq	$32, %rsp
	sgdt	0(%rsp)
	sidt	16(%rsp)
	pushq	%rdi			/* g: what vmx_exit_entry finds at HOST_RSP */

	movl	$VMCS_HOST_RSP, %eax
	vmwrite	%rsp, %rax
	jna	vmx_fail

	testb	%sil, %sil		/* the flags survive the moves below */
	movq	X86_GPR_RAX(%rdi), %rax
	LOAD_GUEST_GPRS
	jnz	1f
	vmlaunch
	jmp	vmx_fail
1:	vmresume
	/* Only a failed VMLAUNCH / VMRESUME gets here: CF or ZF says which (30.2). */
vmx_fail:
	movl	$VMX_SWITCH_FAIL_INVALID, %eax
	jc	2f
	movl	$VMX_SWITCH_FAIL_VALID, %eax
2:	addq	$8, %rsp		/* g */
	jmp	vmx_return

/* The VM exit: RSP is HOST_RSP, RIP this, the guest's GPRs are still live. */
	.globl	vmx_exit_entry
vmx_exit_entry:
	STORE_GUEST_GPRS
	movq	%rax, X86_GPR_RAX(%rdi)
	movl	$VMX_SWITCH_EXIT, %eax

vmx_return:
	lgdt	0(%rsp)
	lidt	16(%rsp)
	addq	$32, %rsp
	POP_CALLEE_SAVED
	ret
	.size	vmx_world_switch, . - vmx_world_switch

	.section .note.GNU-stack, "", @progbits
