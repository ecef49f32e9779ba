/* SPDX-License-Identifier: MIT */
#include "arch/arm64/asm.h"

	.text
/*
 * Secondary CPUs arrive here from PSCI CPU_ON with the MMU off, at the boot
 * CPU's EL, x0 = struct arm64_secondary_boot (identity, cleaned to PoC by the
 * boot CPU because this CPU reads it with its data cache off).
 */
	.global	arm64_secondary_entry
	.type	arm64_secondary_entry, %function
arm64_secondary_entry:
	msr	daifset, #0xf
	mov	x19, x0
	current_el x20
	enable_fp x20, x1
	bl	arm64_mmu_switch	/* x0 = &boot->mmu (offset 0); uses no stack */
	ldp	x1, x2, [x19, #32]	/* stack_top, percpu */
	ldr	x3, [x19, #48]		/* vbar */
	mov	sp, x1
	cmp	x20, #2
	b.ne	6f
	msr	tpidr_el2, x2
	msr	vbar_el2, x3
	b	7f
6:	msr	tpidr_el1, x2
	msr	vbar_el1, x3
7:	isb
	mov	x29, xzr
	mov	x30, xzr
	b	arm64_secondary_c_entry
	.size	arm64_secondary_entry, . - arm64_secondary_entry
