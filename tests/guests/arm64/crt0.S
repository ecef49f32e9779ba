/* SPDX-License-Identifier: MIT */
/*
 * arm64 guest entry. docs/hypercalls.md "Entry state": EL1h (or EL2, bare only), MMU and caches
 * off, x0 = DTB or 0, x1 = RAM size or 0, x2 = pattern seed or 0, x3 = vCPU count or 0. They
 * reach guest_entry() unchanged in x0..x3; nothing here touches them.
 */
	.section .text.boot, "ax"
	.globl _start
_start:
	msr	daifset, #0xf
	mov	x10, #0
	mrs	x9, CurrentEL
	cmp	x9, #(2 << 2)
	b.ne	1f
	/*
	 * Entered at EL2 (QEMU virt with virtualization=on): run as an EL1 guest anyway.
	 * HCR_EL2.RW = 1: EL1 is AArch64; CNTHCTL_EL2.EL1PCTEN/EL1PCEN = 1: no
	 * timer traps; SPSR_EL2 = EL1h with DAIF masked (Arm ARM, SPSR_EL2).
	 */
	mov	x9, #(1 << 31)
	msr	hcr_el2, x9
	mov	x9, #3
	msr	cnthctl_el2, x9
	msr	cntvoff_el2, xzr
	mov	x9, #0x3c5
	msr	spsr_el2, x9
	adr	x9, 1f
	msr	elr_el2, x9
	mov	x10, #1 /* remembered in x10: entered at EL2 */
	eret
1:	/* Stack, then FP/SIMD: CPACR_EL1.FPEN = 0b11 (no traps), since newlib uses SIMD registers. */
	ldr	x9, =__stack_top
	mov	sp, x9
	mov	x9, #(3 << 20)
	msr	cpacr_el1, x9
	ldr	x9, =guest_vectors
	msr	vbar_el1, x9
	isb
	/* .bss with aligned 16-byte stores only: Device memory until the MMU is on. */
	ldr	x9, =__bss_start
	ldr	x11, =__bss_end
2:	cmp	x9, x11
	b.hs	3f
	stp	xzr, xzr, [x9], #16
	b	2b
3:	ldr	x9, =arm64_entered_el2
	str	x10, [x9]
	bl	guest_entry
4:	wfi
	b	4b

/*
 * Secondary vCPUs (PSCI CPU_ON's entry point): x0 = struct guest_cpu (tests/guests/guest.h),
 * EL1h, MMU off. The primary's MMU registers go in before anything touches memory through a
 * cache: MAIR_EL1, TCR_EL1, TTBR0_EL1, a local TLB invalidation, then SCTLR_EL1 (Arm ARM,
 * "Enabling and disabling the MMU"); then FP/SIMD, the vectors, the stack, and C.
 */
	.globl secondary_entry
secondary_entry:
	msr	daifset, #0xf
	ldr	x9, [x0, #8]
	msr	mair_el1, x9
	ldr	x9, [x0, #16]
	msr	tcr_el1, x9
	ldr	x9, [x0, #24]
	msr	ttbr0_el1, x9
	isb
	tlbi	vmalle1
	dsb	nsh
	isb
	ldr	x9, [x0, #32]
	msr	sctlr_el1, x9
	isb
	mov	x9, #(3 << 20)
	msr	cpacr_el1, x9
	ldr	x9, =guest_vectors
	msr	vbar_el1, x9
	isb
	ldr	x9, [x0]
	mov	sp, x9
	bl	guest_secondary_main
5:	wfi
	b	5b

/*
 * Exceptions are all fatal for these guests: each of the 16 vectors (0x80 bytes apart, table
 * 2 KiB aligned: Arm ARM, VBAR_EL1) passes its index to the C report.
 */
	.macro vector idx
	.balign 0x80
	mov	x0, #\idx
	b	arm64_exception
	.endm

	.balign 0x800
	.globl guest_vectors
guest_vectors:
	.irp i, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
	vector \i
	.endr

	.section .data
	.balign 8
	.globl arm64_entered_el2
arm64_entered_el2:
	.quad 0

	.section .bss.stack, "aw", %nobits
	.balign 16
	.space 65536
	.globl __stack_top
__stack_top:
