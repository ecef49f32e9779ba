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
	PUSH_CALLEE_SAVED
	pushq	%rdx			/* host_save_pa */
	pushq	%rdi			/* g */

	clgi
	movq	%rdx, %rax
	vmsave
	movq	%rsi, %rax		/* VMLOAD, VMRUN and VMSAVE take the VMCB in RAX */

	LOAD_GUEST_GPRS

	vmload
	sti				/* GIF = 0: nothing is taken before VMRUN */
	vmrun
	/* #VMEXIT: host RSP and RAX (the VMCB address) are back, GIF = 0. */
	cli
	vmsave

	STORE_GUEST_GPRS

	popq	%rax			/* host_save_pa */
	vmload
	stgi				/* IF is clear: a pending interrupt waits for the caller */

	POP_CALLEE_SAVED
	ret
	.size	svm_world_switch, . - svm_world_switch

	.section .note.GNU-stack, "", @progbits
