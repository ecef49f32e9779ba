/* SPDX-License-Identifier: MIT */
/*
 * The built-in arm64 test guest (contract: vmm/test_guest.h). Data for the
 * kernel, code for the guest: tests/kernel/test_vm.c copies it to the start
 * of guest RAM and runs it at EL1 with its MMU off. Position independent, no
 * stack, no libc; every data access is an aligned 64-bit one (with the MMU
 * off, data accesses are Device-nGnRnE: Arm ARM D8.2.10).
 *
 * Registers: x19 RAM base (where the image runs), x20 RAM size, x21 seed,
 * x22 the per-page routine of for_each_page, x26/x27 the expected abort.
 */
#include "vmm/hypercall.h"
#include "vmm/test_guest.h"

/* ESR_EL1: data abort taken without a change of EL, and a synchronous external abort. */
#define EC_DABT_SAME 0x25
#define FSC_SEA	     0x10
/* PSCI (Arm DEN 0022D): function IDs, the version granule's VMM implements, return codes. */
#define PSCI_VERSION	     0x84000000
#define PSCI_CPU_OFF	     0x84000002
#define PSCI_CPU_ON_64	     0xc4000003
#define PSCI_AFFINITY_INFO   0x84000004
#define PSCI_VERSION_1_1     0x10001
#define PSCI_INVALID_PARAMS  -2
#define PSCI_ALREADY_ON	     -4
#define PSCI_ON_PENDING	     -5
#define PSCI_INVALID_ADDRESS -9
#define PSCI_AFF_OFF	     1

	.section .rodata.vm_test_guest, "a"
	.balign	4096
	.global	arm64_test_guest_start
arm64_test_guest_start:
	adr	x19, arm64_test_guest_start
	mov	x20, x1
	mov	x21, x2
	adr	x9, guest_vectors
	msr	vbar_el1, x9
	isb
	cmp	x3, #TG_MODE_TOUCH
	b.eq	mode_touch
	cmp	x3, #TG_MODE_ABORT
	b.eq	mode_abort
	cmp	x3, #TG_MODE_ZERO
	b.eq	mode_zero
	cmp	x3, #TG_MODE_SPIN
	b.eq	mode_spin
	cmp	x3, #TG_MODE_PATTERN_TOUCH
	b.eq	mode_pattern_touch
	cmp	x3, #TG_MODE_PATTERN_ALL
	b.eq	mode_pattern_all
	cmp	x3, #TG_MODE_DISCARD_MOST
	b.eq	mode_discard_most
	cmp	x3, #TG_MODE_SMP
	b.eq	mode_smp
	cmp	x3, #TG_MODE_PATTERN_SMP
	b.eq	mode_pattern_smp
	cmp	x3, #TG_MODE_PATTERN_SCATTER
	b.eq	mode_pattern_scatter
	cmp	x3, #TG_MODE_RUNAWAY_SPIN
	b.eq	test_guest_spin_loop
	cmp	x3, #TG_MODE_RUNAWAY_IDLE
	b.eq	test_guest_idle_loop
	mov	x1, #TG_EXIT_BAD_MODE
	b	exit

/* GRANULE_HC_EXIT with the status in x1. */
exit:	mov	x0, #GRANULE_HC_EXIT
	hvc	#0
	b	exit

/* Defined before its uses: its length is an immediate operand. */
message:
	.ascii	"test guest: pattern written and read back\n"
message_end:
	.balign	4

/* Calls the routine in x22 with x0 = each touched page (vmm/test_guest.h); uses x23, x24, x28. */
for_each_page:
	mov	x28, x30
	mov	x23, #1
1:	add	x0, x19, x23, lsl #12
	blr	x22
	add	x23, x23, #1
	cmp	x23, #TG_SEQ_PAGES
	b.ls	1b
	mov	x9, #TG_STRIDES
	udiv	x24, x20, x9
	mov	x23, #1
2:	madd	x0, x23, x24, x19
	blr	x22
	add	x23, x23, #1
	cmp	x23, #TG_STRIDES
	b.lo	2b
	add	x0, x19, x20
	sub	x0, x0, #4096
	blr	x22
	ret	x28

/* Per-page routines: x0 = page; they use x9-x11 only. */
write_page:
	add	x9, x0, #4096
1:	eor	x10, x0, x21
	str	x10, [x0], #8
	cmp	x0, x9
	b.lo	1b
	ret

check_page:
	add	x9, x0, #4096
1:	ldr	x10, [x0]
	eor	x11, x0, x21
	cmp	x10, x11
	b.ne	mismatch
	add	x0, x0, #8
	cmp	x0, x9
	b.lo	1b
	ret
mismatch:
	mov	x1, #TG_EXIT_MISMATCH
	b	exit

zero_page:
	add	x9, x0, #4096
1:	ldr	x10, [x0], #8
	cbnz	x10, not_zero
	cmp	x0, x9
	b.lo	1b
	ret
not_zero:
	mov	x1, #TG_EXIT_NOT_ZERO
	b	exit

/*
 * The page source's pattern (vmm/pattern.h): the word at A is splitmix64's
 * finalizer of A ^ (seed * golden). pattern_setup keeps seed * golden in x25
 * and the two multipliers in x12, x13 for check_pattern_page.
 */
pattern_setup:
	ldr	x9, =0x9e3779b97f4a7c15
	mul	x25, x21, x9
	ldr	x12, =0xbf58476d1ce4e5b9
	ldr	x13, =0x94d049bb133111eb
	ret

/* x0 = page: every word must be the pattern's (the MMU is off: address = guest-physical). */
check_pattern_page:
	add	x9, x0, #4096
1:	eor	x11, x0, x25
	eor	x11, x11, x11, lsr #30
	mul	x11, x11, x12
	eor	x11, x11, x11, lsr #27
	mul	x11, x11, x13
	eor	x11, x11, x11, lsr #31
	ldr	x10, [x0], #8
	cmp	x10, x11
	b.ne	mismatch
	cmp	x0, x9
	b.lo	1b
	ret
	.balign	8
	.ltorg

/* x0 = call, x1..x2 = arguments; returns the result in x0 (clobbers nothing else). */
.macro hypercall nr, a1=xzr, a2=xzr
	mov	x0, #\nr
	mov	x1, \a1
	mov	x2, \a2
	hvc	#0
.endm

/* Fails with status unless x0 == value (x9 scratch). */
.macro expect_result value, status
	ldr	x9, =\value
	cmp	x0, x9
	mov	x1, #\status
	b.ne	exit
.endm

mode_touch:
	adr	x22, write_page
	bl	for_each_page
	adr	x22, check_page
	bl	for_each_page

	hypercall GRANULE_HC_VERSION
	expect_result GRANULE_ABI_VERSION, TG_EXIT_VERSION
	wfi
	mov	x0, #PSCI_VERSION
	smc	#0
	expect_result PSCI_VERSION_1_1, TG_EXIT_PSCI
	hypercall TG_BAD_HYPERCALL
	expect_result GRANULE_E_NOSYS, TG_EXIT_BAD_HC_RESULT
	adr	x10, message
	mov	x11, #(message_end - message)
	hypercall GRANULE_HC_CONSOLE_WRITE, x10, x11
	expect_result (message_end - message), TG_EXIT_CONSOLE
	mov	x10, #TG_OUTSIDE_GPA
	mov	x11, #8
	hypercall GRANULE_HC_CONSOLE_WRITE, x10, x11
	expect_result GRANULE_E_RANGE, TG_EXIT_RANGE

	/*
	 * Discard the sequential pages, then read them: each must fault in
	 * again as zeros. A stale stage-2 TLB entry would show the old words.
	 */
	add	x10, x19, #4096
	mov	x11, #(TG_SEQ_PAGES * 4096)
	hypercall GRANULE_HC_DISCARD, x10, x11
	expect_result 0, TG_EXIT_DISCARD
	mov	x23, #1
1:	add	x0, x19, x23, lsl #12
	bl	zero_page
	add	x23, x23, #1
	cmp	x23, #TG_SEQ_PAGES
	b.ls	1b

	mov	x10, #GRANULE_REPORT_PAGES_TOUCHED
	mov	x11, #(TG_SEQ_PAGES + TG_STRIDES)
	hypercall GRANULE_HC_REPORT, x10, x11
	mov	x1, #TG_EXIT_OK
	b	exit

mode_zero:
	adr	x22, zero_page
	bl	for_each_page
	mov	x1, #TG_EXIT_OK
	b	exit

mode_pattern_touch:
	bl	pattern_setup
	adr	x22, check_pattern_page
	bl	for_each_page
	mov	x1, #TG_EXIT_OK
	b	exit

mode_pattern_all:
	bl	pattern_setup
	add	x23, x19, #4096
	add	x24, x19, x20
1:	mov	x0, x23
	bl	check_pattern_page
	add	x23, x23, #4096
	cmp	x23, x24
	b.lo	1b
report_verified:
	sub	x11, x20, #4096
	mov	x10, #GRANULE_REPORT_BYTES_VERIFIED
	hypercall GRANULE_HC_REPORT, x10, x11
	mov	x1, #TG_EXIT_OK
	b	exit

mode_pattern_scatter:
	bl	pattern_setup
	lsr	x24, x20, #12			// pages
	mov	x26, #(TG_SCATTER_STEP & 0xffff)
	movk	x26, #(TG_SCATTER_STEP >> 16), lsl #16
	mov	x23, #1
1:	cmp	x23, x24
	b.hs	report_verified
	mul	x9, x23, x26
	udiv	x10, x9, x24
	msub	x9, x10, x24, x9		// (i * step) mod pages
	add	x0, x19, x9, lsl #12
	bl	check_pattern_page
	add	x23, x23, #1
	b	1b

mode_discard_most:
	mov	x9, #TG_KEEP_BYTES
	add	x10, x19, x9
	sub	x11, x20, x9
	mov	x24, x11
	hypercall GRANULE_HC_DISCARD, x10, x11
	expect_result 0, TG_EXIT_DISCARD
	mov	x10, #GRANULE_REPORT_BYTES_DISCARD
	hypercall GRANULE_HC_REPORT, x10, x24
	mov	x1, #TG_EXIT_OK
	b	exit

/* Long enough for the host's timer to interrupt it: CNTVCT_EL0 never traps to EL2. */
mode_spin:
	mrs	x9, cntfrq_el0
	mrs	x10, cntvct_el0
	add	x10, x10, x9, lsr #3
1:	isb
	mrs	x11, cntvct_el0
	cmp	x11, x10
	b.lo	1b
	mov	x1, #TG_EXIT_OK
	b	exit

/* x0 = function, x1..x3 = arguments, over SMC (HCR_EL2.TSC traps it to the VMM). */
.macro psci fn, a1=xzr, a2=xzr, a3=xzr
	mov	x1, \a1
	mov	x2, \a2
	mov	x3, \a3
	ldr	x0, =\fn
	smc	#0
.endm

/* Fails with status unless x0 == value, a negative PSCI code (x9 scratch). */
.macro expect_neg value, status
	mov	x9, #(\value)
	cmp	x0, x9
	mov	x1, #\status
	b.ne	exit
.endm

/*
 * Waits for the word at x19 + x9 to become non-zero and returns it in x10;
 * after about a second of the virtual counter, exits TG_EXIT_SMP_TIMEOUT.
 * Uses x13-x15.
 */
wait_word:
	mrs	x13, cntfrq_el0
	mrs	x14, cntvct_el0
	add	x14, x14, x13
1:	ldr	x10, [x19, x9]
	cbnz	x10, 2f
	mrs	x15, cntvct_el0
	cmp	x15, x14
	mov	x1, #TG_EXIT_SMP_TIMEOUT
	b.hs	exit
	b	1b
2:	ret

/*
 * vCPU 0 (vmm/test_guest.h, TG_MODE_SMP): CPU_ON's errors, then vCPU 1 started
 * with a context it must see in x0; it writes its verdict at x19 +
 * TG_SMP_FLAG and turns itself off, which AFFINITY_INFO must then show.
 */
mode_smp:
	mov	x10, #1
	psci	PSCI_AFFINITY_INFO, x10
	expect_result PSCI_AFF_OFF, TG_EXIT_SMP_AFFINITY
	mov	x10, #TG_SMP_ABSENT
	adr	x11, smp_secondary
	psci	PSCI_CPU_ON_64, x10, x11
	expect_neg PSCI_INVALID_PARAMS, TG_EXIT_SMP_BAD_TARGET
	mov	x10, #1
	mov	x11, #TG_OUTSIDE_GPA
	psci	PSCI_CPU_ON_64, x10, x11
	expect_neg PSCI_INVALID_ADDRESS, TG_EXIT_SMP_BAD_ADDRESS
	adr	x11, smp_secondary
	psci	PSCI_CPU_ON_64, xzr, x11
	expect_neg PSCI_ALREADY_ON, TG_EXIT_SMP_ALREADY_ON
	mov	x10, #1
	ldr	x12, =TG_SMP_CONTEXT
	psci	PSCI_CPU_ON_64, x10, x11, x12
	expect_result 0, TG_EXIT_SMP_START
	/* Again at once: ON_PENDING, or ALREADY_ON once it has entered. */
	mov	x10, #1
	psci	PSCI_CPU_ON_64, x10, x11, x12
	mov	x9, #PSCI_ALREADY_ON
	cmp	x0, x9
	mov	x9, #PSCI_ON_PENDING
	ccmp	x0, x9, #4, ne
	mov	x1, #TG_EXIT_SMP_ALREADY_ON
	b.ne	exit
	/* Its verdict. */
	mov	x9, #TG_SMP_FLAG
	bl	wait_word
	cmp	x10, #TG_SMP_GOOD
	mov	x1, #TG_EXIT_SMP_SECONDARY
	b.ne	exit
	/* Its release: only now may it turn off (the second CPU_ON above saw it ON). */
	mov	x9, #TG_SMP_FLAG
	add	x9, x9, #8
	mov	x10, #1
	str	x10, [x19, x9]
	/* Then OFF: CPU_OFF follows the release. */
3:	mov	x10, #1
	psci	PSCI_AFFINITY_INFO, x10
	cmp	x0, #PSCI_AFF_OFF
	b.eq	4f
	mrs	x15, cntvct_el0
	cmp	x15, x14
	mov	x1, #TG_EXIT_SMP_TIMEOUT
	b.hs	exit
	b	3b
4:	mov	x1, #TG_EXIT_OK
	b	exit

/*
 * vCPU 1: x0 = context, MPIDR_EL1 = RES1 bit 31 | Aff0 1; verdict at TG_SMP_FLAG, then CPU_OFF
 * once vCPU 0 has written the release at TG_SMP_FLAG + 8.
 */
smp_secondary:
	adr	x19, arm64_test_guest_start
	mov	x10, #TG_SMP_GOOD
	ldr	x9, =TG_SMP_CONTEXT
	cmp	x0, x9
	mov	x11, #TG_SMP_BAD_CONTEXT
	csel	x10, x11, x10, ne
	mrs	x9, mpidr_el1
	ldr	x12, =0x80000001
	cmp	x9, x12
	mov	x11, #TG_SMP_BAD_MPIDR
	csel	x10, x11, x10, ne
	mov	x9, #TG_SMP_FLAG
	str	x10, [x19, x9]
	/* Stays ON until vCPU 0 releases it. */
	mov	x9, #TG_SMP_FLAG
	add	x9, x9, #8
	bl	wait_word
	psci	PSCI_CPU_OFF
	/* CPU_OFF returned: that is an error of its own. */
	mov	x1, #TG_EXIT_SMP_SECONDARY
	b	exit
	.balign	8
	.ltorg

/*
 * TG_MODE_PATTERN_SMP: x0 = n vCPUs. vCPU 0 leaves RAM size and seed in
 * smp_params, starts vCPUs 1..n-1 (context n), checks slice 0 and waits for
 * the others to be OFF; vCPU i checks slice i (the pages after the first,
 * cut in n, the last slice takes the rest) and turns itself off.
 */
mode_pattern_smp:
	adr	x9, smp_params
	stp	x20, x21, [x9]
	dsb	sy
	mov	x26, x0
	adr	x11, smp_slice_entry
	mov	x23, #1
1:	cmp	x23, x26
	b.hs	2f
	psci	PSCI_CPU_ON_64, x23, x11, x26
	expect_result 0, TG_EXIT_SMP_START
	add	x23, x23, #1
	b	1b
2:	mov	x27, #0
	bl	pattern_slice
	mov	x23, #1
3:	cmp	x23, x26
	b.hs	4f
	psci	PSCI_AFFINITY_INFO, x23
	cmp	x0, #PSCI_AFF_OFF
	cinc	x23, x23, eq
	b	3b
4:	sub	x11, x20, #4096
	mov	x10, #GRANULE_REPORT_BYTES_VERIFIED
	hypercall GRANULE_HC_REPORT, x10, x11
	mov	x1, #TG_EXIT_OK
	b	exit

/* x0 = n (CPU_ON's context), x1 = this vCPU's index. */
smp_slice_entry:
	adr	x19, arm64_test_guest_start
	adr	x9, smp_params
	ldp	x20, x21, [x9]
	adr	x9, guest_vectors
	msr	vbar_el1, x9
	isb
	mov	x26, x0
	mov	x27, x1
	bl	pattern_slice
	psci	PSCI_CPU_OFF
	mov	x1, #TG_EXIT_SMP_SECONDARY
	b	exit

/* Checks slice x27 of x26 against the pattern; uses x23, x24, x28 and check_pattern_page's. */
pattern_slice:
	mov	x28, x30
	bl	pattern_setup
	lsr	x9, x20, #12
	sub	x9, x9, #1
	udiv	x10, x9, x26
	mul	x23, x27, x10
	add	x23, x23, #1
	add	x24, x23, x10
	sub	x11, x26, #1
	cmp	x27, x11
	add	x9, x9, #1
	csel	x24, x9, x24, eq
1:	cmp	x23, x24
	b.hs	2f
	add	x0, x19, x23, lsl #12
	bl	check_pattern_page
	add	x23, x23, #1
	b	1b
2:	ret	x28
	.balign	8
	.ltorg

	.balign	16
smp_params:
	.quad	0, 0

/* The vector at VBAR_EL1 + 0x200 checks what arrives against x26 (ELR) and x27 (FAR). */
mode_abort:
	mov	x27, #TG_OUTSIDE_GPA
	adr	x26, abort_access
abort_access:
	ldr	x0, [x27]
	mov	x1, #TG_EXIT_NO_ABORT
	b	exit

abort_arrived:
	mrs	x9, esr_el1
	lsr	x10, x9, #26
	cmp	x10, #EC_DABT_SAME
	b.ne	bad_abort
	and	x10, x9, #0x3f
	cmp	x10, #FSC_SEA
	b.ne	bad_abort
	mrs	x10, far_el1
	cmp	x10, x27
	b.ne	bad_abort
	mrs	x10, elr_el1
	cmp	x10, x26
	b.ne	bad_abort
	mov	x1, #TG_EXIT_ABORT_OK
	b	exit
bad_abort:
	mov	x1, #TG_EXIT_BAD_ABORT
	b	exit

unexpected_vector:
	mov	x1, #TG_EXIT_UNEXPECTED_VECTOR
	b	exit


/* 16 entries of 0x80 bytes, 2 KiB aligned (D1.10.2); synchronous, current EL with SP_ELx at 0x200. */
.macro vector target
	.balign	0x80
	b	\target
.endm
	.balign	0x800
guest_vectors:
	.irp	i, 0, 1, 2, 3
	vector	unexpected_vector
	.endr
	vector	abort_arrived
	.irp	i, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
	vector	unexpected_vector
	.endr

/*
 * The runaways (vmm/test_guest.h), in the last vector's unused bytes (the
 * code before the vectors fills its 2 KiB): nothing but the host's timer and
 * IPIs ends these loops. PSTATE.DAIF stays masked from entry: physical IRQs
 * routed to EL2 (HCR_EL2.IMO) are not masked by PSTATE.I at EL1 (Arm ARM,
 * "Asynchronous exception masking"), and a WFI with its interrupts masked
 * and none pending would wait forever on hardware.
 */
	.global	test_guest_spin_loop, test_guest_spin_loop_end
test_guest_spin_loop:
	nop
	b	test_guest_spin_loop
test_guest_spin_loop_end:

	.global	test_guest_idle_loop, test_guest_idle_loop_end
test_guest_idle_loop:
	wfi
	b	test_guest_idle_loop
test_guest_idle_loop_end:
	/*
	 * One page: the postcopy modes read "every page after its own"
	 * (vmm/test_guest.h). A guest that outgrew it fails to assemble here
	 * ("attempt to move .org backwards").
	 */
	.org	arm64_test_guest_start + 4096
	.global	arm64_test_guest_end
arm64_test_guest_end:
