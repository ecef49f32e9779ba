/* SPDX-License-Identifier: MIT */
/*
 * The world switch between granule and an SVM guest (AMD APM Vol. 2 15.5,
 * "VMRUN Instruction", and 15.6, "#VMEXIT"). VMRUN saves the host's RIP, RSP,
 * RAX, RFLAGS, control registers, EFER, GDTR/IDTR and ES/CS/SS/DS in the host
 * save area (VM_HSAVE_PA) and #VMEXIT restores them; everything else is ours:
 *   - the callee-saved GPRs (SysV ABI) go on the host stack, the guest's GPRs
 *     other than RAX/RSP (which live in the VMCB) come from and go back to
 *     struct x86_gprs;
 *   - FS, GS (GS base is granule's per-CPU pointer), TR, LDTR, KernelGsBase,
 *     STAR/LSTAR/CSTAR/SFMASK and the SYSENTER MSRs are neither saved nor
 *     loaded by VMRUN (15.5.2): VMSAVE the host's to its per-CPU page, VMLOAD
 *     the guest's from its VMCB, and the reverse after #VMEXIT, before any host
 *     code can use GS.
 * GIF is clear from CLGI to STGI (15.17): no interrupt, NMI or SMI is taken
 * in between, so host IF can be set for the guest's sake (with V_INTR_MASKING,
 * the host's IF at VMRUN decides whether physical interrupts exit the guest:
 * 15.21.1) without a handler ever running on guest FS/GS/TR state.
 */
#include "arch/x86_64/svm.h"

	.text
	.code64

/* void svm_world_switch(struct x86_gprs *g, u64 vmcb_pa, u64 host_save_pa) */
	.globl	svm_world_switch
	.type	svm_world_switch, @function
svm_world_switch:
	pushq	%rbp
	pushq	%rbx
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	pushq	%rdx			/* host_save_pa */
	pushq	%rdi			/* g */

	clgi
	movq	%rdx, %rax
	vmsave
	movq	%rsi, %rax		/* VMLOAD, VMRUN and VMSAVE take the VMCB in RAX */

	movq	X86_GPR_RBX(%rdi), %rbx
	movq	X86_GPR_RCX(%rdi), %rcx
	movq	X86_GPR_RDX(%rdi), %rdx
	movq	X86_GPR_RSI(%rdi), %rsi
	movq	X86_GPR_RBP(%rdi), %rbp
	movq	X86_GPR_R8(%rdi), %r8
	movq	X86_GPR_R9(%rdi), %r9
	movq	X86_GPR_R10(%rdi), %r10
	movq	X86_GPR_R11(%rdi), %r11
	movq	X86_GPR_R12(%rdi), %r12
	movq	X86_GPR_R13(%rdi), %r13
	movq	X86_GPR_R14(%rdi), %r14
	movq	X86_GPR_R15(%rdi), %r15
	movq	X86_GPR_RDI(%rdi), %rdi

	vmload
	sti				/* GIF = 0: nothing is taken before VMRUN */
	vmrun
	/* #VMEXIT: host RSP and RAX (the VMCB address) are back, GIF = 0. */
	cli
	vmsave

	xchgq	%rdi, (%rsp)		/* g, and the guest's RDI on the stack */
	movq	%rbx, X86_GPR_RBX(%rdi)
	movq	%rcx, X86_GPR_RCX(%rdi)
	movq	%rdx, X86_GPR_RDX(%rdi)
	movq	%rsi, X86_GPR_RSI(%rdi)
	movq	%rbp, X86_GPR_RBP(%rdi)
	movq	%r8, X86_GPR_R8(%rdi)
	movq	%r9, X86_GPR_R9(%rdi)
	movq	%r10, X86_GPR_R10(%rdi)
	movq	%r11, X86_GPR_R11(%rdi)
	movq	%r12, X86_GPR_R12(%rdi)
	movq	%r13, X86_GPR_R13(%rdi)
	movq	%r14, X86_GPR_R14(%rdi)
	movq	%r15, X86_GPR_R15(%rdi)
	popq	X86_GPR_RDI(%rdi)

	popq	%rax			/* host_save_pa */
	vmload
	stgi				/* IF is clear: a pending interrupt waits for the caller */

	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%rbx
	popq	%rbp
	ret
	.size	svm_world_switch, . - svm_world_switch

	.section .note.GNU-stack, "", @progbits
