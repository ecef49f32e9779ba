/* SPDX-License-Identifier: MIT */
/*
 * The world switch between granule at EL2 and a guest at EL1. Entry saves the
 * host's callee-saved registers on its stack, loads the guest context and
 * ERETs; the guest's next exception to EL2 arrives through the lower-EL
 * entries of the EL2 vector table (vectors.S: ventry_guest), which push the
 * guest's x0/x1 and come to arm64_vm_exit with the entry index in x1. SP_EL2
 * is the host stack throughout: a guest at EL1 cannot change it.
 */
#include "arch/arm64/vm.h"

/* Host frame: x29, x30 and the callee-saved x19..x28 (AAPCS64 6.1.1). */
#define HOST_FRAME 96

	.text

/* u64 arm64_vm_enter(struct arm64_vcpu_ctx *ctx) */
	.global	arm64_vm_enter
	.type	arm64_vm_enter, %function
arm64_vm_enter:
	stp	x29, x30, [sp, #-HOST_FRAME]!
	mov	x29, sp
	stp	x19, x20, [sp, #16]
	stp	x21, x22, [sp, #32]
	stp	x23, x24, [sp, #48]
	stp	x25, x26, [sp, #64]
	stp	x27, x28, [sp, #80]

	/*
	 * ERET state: PC from ELR_EL2, PSTATE from SPSR_EL2 (Arm ARM D1.10,
	 * "Exception return"). ERET is context synchronizing, so the system
	 * registers written before it apply to the guest's first instruction.
	 */
	ldp	x1, x2, [x0, #VCPU_SP_EL0]
	msr	sp_el0, x1
	msr	elr_el2, x2
	ldp	x1, x2, [x0, #VCPU_SPSR]
	msr	spsr_el2, x1
	msr	par_el1, x2
	ldp	x1, x2, [x0, #VCPU_FPSR]
	msr	fpsr, x1
	msr	fpcr, x2
	add	x1, x0, #VCPU_V
	ldp	q0, q1, [x1, #32 * 0]
	ldp	q2, q3, [x1, #32 * 1]
	ldp	q4, q5, [x1, #32 * 2]
	ldp	q6, q7, [x1, #32 * 3]
	ldp	q8, q9, [x1, #32 * 4]
	ldp	q10, q11, [x1, #32 * 5]
	ldp	q12, q13, [x1, #32 * 6]
	ldp	q14, q15, [x1, #32 * 7]
	ldp	q16, q17, [x1, #32 * 8]
	ldp	q18, q19, [x1, #32 * 9]
	ldp	q20, q21, [x1, #32 * 10]
	ldp	q22, q23, [x1, #32 * 11]
	ldp	q24, q25, [x1, #32 * 12]
	ldp	q26, q27, [x1, #32 * 13]
	ldp	q28, q29, [x1, #32 * 14]
	ldp	q30, q31, [x1, #32 * 15]

	ldp	x2, x3, [x0, #8 * 2]
	ldp	x4, x5, [x0, #8 * 4]
	ldp	x6, x7, [x0, #8 * 6]
	ldp	x8, x9, [x0, #8 * 8]
	ldp	x10, x11, [x0, #8 * 10]
	ldp	x12, x13, [x0, #8 * 12]
	ldp	x14, x15, [x0, #8 * 14]
	ldp	x16, x17, [x0, #8 * 16]
	ldp	x18, x19, [x0, #8 * 18]
	ldp	x20, x21, [x0, #8 * 20]
	ldp	x22, x23, [x0, #8 * 22]
	ldp	x24, x25, [x0, #8 * 24]
	ldp	x26, x27, [x0, #8 * 26]
	ldp	x28, x29, [x0, #8 * 28]
	ldr	x30, [x0, #8 * 30]
	ldp	x0, x1, [x0]
	eret
	.size	arm64_vm_enter, . - arm64_vm_enter

/*
 * From ventry_guest: [sp] = the guest's x0, x1; x1 = the vector entry index.
 * Finds this CPU's running context (percpu->id at offset 0 of the structure
 * TPIDR_EL2 points to); none means the exception came from no guest of
 * granule's: back to the kernel's report (arm64_vm_stray_exit, vectors.S).
 */
	.global	arm64_vm_exit
	.type	arm64_vm_exit, %function
arm64_vm_exit:
	stp	x2, x3, [sp, #-16]!
	mrs	x2, tpidr_el2
	ldr	w2, [x2]
	adrp	x3, arm64_vm_running
	add	x3, x3, :lo12:arm64_vm_running
	ldr	x2, [x3, x2, lsl #3]
	cbz	x2, arm64_vm_stray_exit

	stp	x4, x5, [x2, #8 * 4]
	stp	x6, x7, [x2, #8 * 6]
	stp	x8, x9, [x2, #8 * 8]
	stp	x10, x11, [x2, #8 * 10]
	stp	x12, x13, [x2, #8 * 12]
	stp	x14, x15, [x2, #8 * 14]
	stp	x16, x17, [x2, #8 * 16]
	stp	x18, x19, [x2, #8 * 18]
	stp	x20, x21, [x2, #8 * 20]
	stp	x22, x23, [x2, #8 * 22]
	stp	x24, x25, [x2, #8 * 24]
	stp	x26, x27, [x2, #8 * 26]
	stp	x28, x29, [x2, #8 * 28]
	str	x30, [x2, #8 * 30]
	ldp	x4, x5, [sp], #16
	stp	x4, x5, [x2, #8 * 2]
	ldp	x4, x5, [sp], #16
	stp	x4, x5, [x2, #8 * 0]

	/* Before anything at EL2 can take an exception and overwrite them. */
	mrs	x4, sp_el0
	mrs	x5, elr_el2
	stp	x4, x5, [x2, #VCPU_SP_EL0]
	mrs	x4, spsr_el2
	mrs	x5, par_el1
	stp	x4, x5, [x2, #VCPU_SPSR]
	mrs	x4, esr_el2
	mrs	x5, far_el2
	stp	x4, x5, [x2, #VCPU_ESR]
	mrs	x4, hpfar_el2
	str	x4, [x2, #VCPU_HPFAR]
	mrs	x4, fpsr
	mrs	x5, fpcr
	stp	x4, x5, [x2, #VCPU_FPSR]
	add	x3, x2, #VCPU_V
	stp	q0, q1, [x3, #32 * 0]
	stp	q2, q3, [x3, #32 * 1]
	stp	q4, q5, [x3, #32 * 2]
	stp	q6, q7, [x3, #32 * 3]
	stp	q8, q9, [x3, #32 * 4]
	stp	q10, q11, [x3, #32 * 5]
	stp	q12, q13, [x3, #32 * 6]
	stp	q14, q15, [x3, #32 * 7]
	stp	q16, q17, [x3, #32 * 8]
	stp	q18, q19, [x3, #32 * 9]
	stp	q20, q21, [x3, #32 * 10]
	stp	q22, q23, [x3, #32 * 11]
	stp	q24, q25, [x3, #32 * 12]
	stp	q26, q27, [x3, #32 * 13]
	stp	q28, q29, [x3, #32 * 14]
	stp	q30, q31, [x3, #32 * 15]

	mov	x0, x1
	ldp	x19, x20, [sp, #16]
	ldp	x21, x22, [sp, #32]
	ldp	x23, x24, [sp, #48]
	ldp	x25, x26, [sp, #64]
	ldp	x27, x28, [sp, #80]
	ldp	x29, x30, [sp], #HOST_FRAME
	ret
	.size	arm64_vm_exit, . - arm64_vm_exit
