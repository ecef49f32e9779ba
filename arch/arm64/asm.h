/* SPDX-License-Identifier: MIT */
/* Assembler macros shared by the arm64 entry paths. */
#ifndef ARCH_ARM64_ASM_H
#define ARCH_ARM64_ASM_H

/* CPTR_EL2 with E2H == 0: RES1 bits 13:12 and 9:0; TFP (bit 10) = 0 lets FP/SIMD run. */
#define CPTR_EL2_DEFAULT 0x33ff
/* CPACR_EL1.FPEN = 0b11: no FP/SIMD traps at EL1. */
#define CPACR_EL1_FPEN (3 << 20)

#ifdef __ASSEMBLER__
/* Assembler, not C: make format runs over every .h. */
/* clang-format off */
/* Returns the current exception level (1 or 2) in \reg. */
.macro current_el reg
	mrs	\reg, CurrentEL
	ubfx	\reg, \reg, #2, #2
.endm

/* Lets FP/SIMD instructions run at the current EL (libfdt is built with them). */
.macro enable_fp el, tmp
	cmp	\el, #2
	b.ne	.Lfp_el1\@
	mov	\tmp, #CPTR_EL2_DEFAULT
	msr	cptr_el2, \tmp
	b	.Lfp_done\@
.Lfp_el1\@:
	mov	\tmp, #CPACR_EL1_FPEN
	msr	cpacr_el1, \tmp
.Lfp_done\@:
	isb
.endm
/* clang-format on */
#endif

#endif
