/* SPDX-License-Identifier: MIT */
/*
 * hvstub for arm64: the smallest EL2 that implements granule's hypercall ABI, linked in front
 * of the hypercall-backend guest (build/guests/arm64/guest-hvstub.elf) so that backend runs
 * under QEMU before granule's VMM exists. No stage 2 (HCR_EL2.VM = 0: IPA = PA), no other VM.
 *
 * Entered at EL2 (QEMU virt, virtualization=on) with x0 = DTB or 0. Learns RAM from the DTB,
 * then starts the guest at _start in EL1h, MMU off, with the VMM's register contract
 * (docs/hypercalls.md): x0 = 0, x1 = RAM size, x2 = pattern seed.
 */
	.section .text.boot, "ax"
	.globl hvstub_entry
hvstub_entry:
	msr	daifset, #0xf
	ldr	x9, =hvstub_stack_top
	mov	sp, x9
	ldr	x9, =hvstub_vectors
	msr	vbar_el2, x9
	/* CPTR_EL2 = RES1 bits only (Arm ARM, CPTR_EL2 with HCR_EL2.E2H = 0): no FP/SIMD traps, EL1 and EL2 use it. */
	mov	x9, #0x33ff
	msr	cptr_el2, x9
	/* HCR_EL2.RW = 1: EL1 is AArch64; everything else 0: no stage 2, no traps but HVC. */
	mov	x9, #(1 << 31)
	msr	hcr_el2, x9
	mov	x9, #3
	msr	cnthctl_el2, x9
	msr	cntvoff_el2, xzr
	isb
	bl	hvstub_setup /* x0 = DTB; returns the RAM size */
	mov	x19, x0
	bl	hvstub_seed
	mov	x2, x0
	mov	x1, x19
	mov	x0, #0
	mov	x3, #1 /* one vCPU: the stub has no CPU_ON */
	mov	x9, #0x3c5 /* EL1h, DAIF masked */
	msr	spsr_el2, x9
	ldr	x9, =_start
	msr	elr_el2, x9
	eret

/*
 * Exits from EL1: x0..x30 and q0..q31 saved on the EL2 stack (the C handler may use FP/SIMD
 * registers the guest is using), the handler's result in the saved x0, then ERET.
 */
	.macro save_all
	sub	sp, sp, #(32 * 8 + 32 * 16)
	stp	x0, x1, [sp, #0]
	stp	x2, x3, [sp, #16]
	stp	x4, x5, [sp, #32]
	stp	x6, x7, [sp, #48]
	stp	x8, x9, [sp, #64]
	stp	x10, x11, [sp, #80]
	stp	x12, x13, [sp, #96]
	stp	x14, x15, [sp, #112]
	stp	x16, x17, [sp, #128]
	stp	x18, x30, [sp, #144]
	add	x9, sp, #256
	stp	q0, q1, [x9, #0]
	stp	q2, q3, [x9, #32]
	stp	q4, q5, [x9, #64]
	stp	q6, q7, [x9, #96]
	stp	q16, q17, [x9, #128]
	stp	q18, q19, [x9, #160]
	stp	q20, q21, [x9, #192]
	stp	q22, q23, [x9, #224]
	stp	q24, q25, [x9, #256]
	stp	q26, q27, [x9, #288]
	stp	q28, q29, [x9, #320]
	stp	q30, q31, [x9, #352]
	mrs	x10, fpsr
	mrs	x11, fpcr
	stp	x10, x11, [sp, #160]
	.endm

	.macro restore_all
	ldp	x10, x11, [sp, #160]
	msr	fpsr, x10
	msr	fpcr, x11
	add	x9, sp, #256
	ldp	q0, q1, [x9, #0]
	ldp	q2, q3, [x9, #32]
	ldp	q4, q5, [x9, #64]
	ldp	q6, q7, [x9, #96]
	ldp	q16, q17, [x9, #128]
	ldp	q18, q19, [x9, #160]
	ldp	q20, q21, [x9, #192]
	ldp	q22, q23, [x9, #224]
	ldp	q24, q25, [x9, #256]
	ldp	q26, q27, [x9, #288]
	ldp	q28, q29, [x9, #320]
	ldp	q30, q31, [x9, #352]
	ldp	x0, x1, [sp, #0]
	ldp	x2, x3, [sp, #16]
	ldp	x4, x5, [sp, #32]
	ldp	x6, x7, [sp, #48]
	ldp	x8, x9, [sp, #64]
	ldp	x10, x11, [sp, #80]
	ldp	x12, x13, [sp, #96]
	ldp	x14, x15, [sp, #112]
	ldp	x16, x17, [sp, #128]
	ldp	x18, x30, [sp, #144]
	add	sp, sp, #(32 * 8 + 32 * 16)
	.endm

hvstub_exit:
	save_all
	mov	x0, sp
	bl	hvstub_handle /* writes the result into the saved x0 */
	restore_all
	eret

hvstub_fatal:
	mov	x0, #0
	bl	hvstub_unexpected

	/* Vector table (Arm ARM, VBAR_EL2; 0x80 per entry): only "lower EL, AArch64, synchronous" (0x400) is expected. */
	.balign 0x800
hvstub_vectors:
	.rept 8
	.balign 0x80
	b	hvstub_fatal
	.endr
	.balign 0x80
	b	hvstub_exit
	.rept 7
	.balign 0x80
	b	hvstub_fatal
	.endr

	/* In .data, not .bss: the guest's crt0 clears .bss after the stub has started. */
	.section .data
	.balign 16
	.space 16384
hvstub_stack_top:
