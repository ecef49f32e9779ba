/* SPDX-License-Identifier: MIT */
/*
 * arm64_mmu_switch(const struct arm64_mmu_regs *regs): loads MAIR, TCR, TTBR0
 * and SCTLR of the current EL (EL2, or EL1 when entered there).
 *
 * Used both with the MMU off (Image entry, secondaries) and with the MMU on
 * (UEFI hands over with its identity tables live). Switching TTBR0 under a live
 * MMU would let the TLB hold the firmware's and granule's entries for the same
 * VA at once, possibly with different block sizes: the break-before-make case
 * that may give TLB conflict aborts (Arm ARM D8.16.1). So the switch breaks
 * first: MMU off, invalidate the whole TLB, load the new registers, MMU on.
 * Between the two SCTLR writes data accesses would be Device-nGnRnE and bypass
 * the data cache, so that window touches no memory at all: every value is in a
 * register beforehand. The code runs at VA == PA in both regimes (granule's
 * tables identity-map the image), so instruction fetch continues across the
 * SCTLR.M changes (D8.2.11).
 */
	.text
	.global	arm64_mmu_switch
	.type	arm64_mmu_switch, %function
arm64_mmu_switch:
	ldp	x1, x2, [x0]		/* mair, tcr */
	ldp	x3, x4, [x0, #16]	/* ttbr0, sctlr */
	dsb	ish			/* table writes complete before the walker may see them */
	mrs	x5, CurrentEL
	cmp	x5, #(2 << 2)
	b.ne	1f
	mrs	x6, sctlr_el2
	bic	x6, x6, #1		/* SCTLR_EL2.M = 0: the break */
	msr	sctlr_el2, x6
	isb				/* later instructions run with the MMU off */
	tlbi	alle2			/* drop every cached EL2 translation: this CPU only, */
	dsb	nsh			/* the others start later on these tables; complete it */
	msr	mair_el2, x1
	msr	tcr_el2, x2
	msr	ttbr0_el2, x3
	isb				/* the new MAIR/TCR/TTBR0 are in effect before the make */
	ic	iallu			/* no instruction fetched under the old translation */
	dsb	nsh			/* survives: complete the invalidate, then */
	isb				/* refetch */
	msr	sctlr_el2, x4		/* the make: MMU on with granule's tables */
	isb
	ret
	/* The same sequence for the EL1 regime (entered at EL1). */
1:	mrs	x6, sctlr_el1
	bic	x6, x6, #1		/* SCTLR_EL1.M = 0: the break */
	msr	sctlr_el1, x6
	isb
	tlbi	vmalle1			/* local: other CPUs join later on these tables */
	dsb	nsh
	msr	mair_el1, x1
	msr	tcr_el1, x2
	msr	ttbr0_el1, x3
	isb
	ic	iallu
	dsb	nsh
	isb
	msr	sctlr_el1, x4		/* the make */
	isb
	ret
	.size	arm64_mmu_switch, . - arm64_mmu_switch
