/* SPDX-License-Identifier: MIT */
/*
 * The contract of the built-in test guest (arch/arm64/vm_test_guest.S): a few
 * dozen instructions, no libc, run by tests/kernel/test_vm.c. Only #defines:
 * the guest's assembler includes this file too.
 *
 * Entry (docs/hypercalls.md "Entry state", plus x3): loaded at the start of
 * guest RAM, which begins at GRANULE_GUEST_RAM_BASE_ARM64; MMU off;
 * x1 = RAM size, x2 = seed, x3 = mode. The word at guest-physical address A of
 * a touched page holds A ^ seed.
 *
 * The TOUCH mode also executes one WFI and one SMC (PSCI_VERSION) to exercise
 * those exits.
 *
 * The pages it touches: the first TG_SEQ_PAGES pages after its own (sequential),
 * page 0 of each of the TG_STRIDES - 1 slices of RAM after the first
 * (strided: RAM size / TG_STRIDES apart), and the last page of RAM.
 */
#ifndef VMM_TEST_GUEST_H
#define VMM_TEST_GUEST_H

#define TG_SEQ_PAGES 16
#define TG_STRIDES   64

/* Modes (x3). */
#define TG_MODE_TOUCH 0 /* write, read back, discard, hypercall checks; exit 0 */
#define TG_MODE_ABORT 1 /* load from TG_OUTSIDE_GPA: the injected abort exits TG_EXIT_ABORT_OK */
#define TG_MODE_ZERO  2 /* every word of the touched pages must read 0; exit 0 */
#define TG_MODE_SPIN  3 /* spins 1/8 s by its virtual counter, touching nothing; exit 0 */
/*
 * Postcopy modes (tests/kernel/test_postcopy.c): the content of RAM is the page
 * source's, granule_pattern_word(A, seed) at every 8-byte address A (vmm/pattern.h),
 * except the guest's own first page. Added after the four above, which are unchanged.
 */
#define TG_MODE_PATTERN_TOUCH 4 /* reads the touched pages, each word checked; exit 0 */
#define TG_MODE_PATTERN_ALL   5 /* reads every page after its own, each word checked; exit 0 */
/* GRANULE_HC_DISCARD of all RAM but the first TG_KEEP_BYTES, reported; exit 0 */
#define TG_MODE_DISCARD_MOST 6

/*
 * Two vCPUs (arm64 only; vCPU 1 created OFF): PSCI AFFINITY_INFO, CPU_ON's
 * errors (INVALID_PARAMETERS for a vCPU that does not exist, INVALID_ADDRESS
 * for an entry outside RAM, ALREADY_ON for itself), CPU_ON of vCPU 1, whose
 * code checks x0 and MPIDR_EL1, writes its verdict at RAM base + TG_SMP_FLAG
 * and waits for vCPU 0's release at TG_SMP_FLAG + 8 (so a second CPU_ON
 * finds it ON) before CPU_OFF; vCPU 0 waits for the verdict, releases it and
 * waits for AFFINITY_INFO OFF.
 */
#define TG_MODE_SMP	   7
#define TG_SMP_FLAG	   0x20000 /* the verdict's offset in RAM (past the image) */
#define TG_SMP_CONTEXT	   0xc0ffee
#define TG_SMP_ABSENT	   7 /* an MPIDR no vCPU has */
#define TG_SMP_GOOD	   1
#define TG_SMP_BAD_CONTEXT 2
#define TG_SMP_BAD_MPIDR   3

/*
 * TG_MODE_PATTERN_ALL on x0 vCPUs (1..8; arm64 only): vCPU 0 starts the
 * others with PSCI CPU_ON, each checks its slice of the pages after the
 * first and turns itself off, vCPU 0 waits for AFFINITY_INFO OFF of all and
 * reports the bytes verified; exit 0.
 */
#define TG_MODE_PATTERN_SMP 8

/*
 * TG_MODE_PATTERN_ALL in a scattered order: page (i * TG_SCATTER_STEP) mod
 * pages for i = 1 .. pages - 1, a permutation of every page but its own (the
 * step is a prime larger than any page count), with consecutive pages far
 * apart. Every 2M region is then partly present until near the end: the most
 * tables a postcopy fill ever needs (the random-touch workload). Reports the
 * bytes verified; exit 0.
 */
#define TG_MODE_PATTERN_SCATTER 9
#define TG_SCATTER_STEP		2654435761 /* prime, about 2^32 / golden ratio */

/*
 * Runaway guests for the time budget (vmm/vm.h): neither ever exits.
 * TG_MODE_RUNAWAY_SPIN spins in a two-instruction loop that touches nothing
 * and never traps (x86: with RFLAGS.IF set, as TG_MODE_SPIN, for Bochs);
 * TG_MODE_RUNAWAY_IDLE waits in WFI / HLT with interrupts masked, a wait no
 * interrupt would end on hardware. Each loop runs from the global label
 * test_guest_spin_loop / test_guest_idle_loop to its _end label, inside the
 * image, so a test can tell whether a reported PC lies in it.
 */
#define TG_MODE_RUNAWAY_SPIN 10
#define TG_MODE_RUNAWAY_IDLE 11

/* What TG_MODE_DISCARD_MOST keeps: the first 2 MiB (its own page in one 2M region). */
#define TG_KEEP_BYTES 0x200000

/* A guest-physical address outside every slot the test creates (4 GiB), inside the IPA space. */
#define TG_OUTSIDE_GPA 0x100000000

/* A bad hypercall number the guest expects GRANULE_E_NOSYS for. */
#define TG_BAD_HYPERCALL 0xbad

/* Exit statuses (GRANULE_HC_EXIT). */
#define TG_EXIT_OK		  0
#define TG_EXIT_MISMATCH	  1 /* a word read back differs from what was written */
#define TG_EXIT_BAD_HC_RESULT	  2 /* the bad hypercall did not return GRANULE_E_NOSYS */
#define TG_EXIT_CONSOLE		  3 /* console write did not return its length */
#define TG_EXIT_VERSION		  4 /* GRANULE_HC_VERSION is not GRANULE_ABI_VERSION */
#define TG_EXIT_NOT_ZERO	  5 /* a discarded or fresh page did not read 0 */
#define TG_EXIT_DISCARD		  6 /* GRANULE_HC_DISCARD did not return 0 */
#define TG_EXIT_RANGE		  7 /* console write outside RAM did not return GRANULE_E_RANGE */
#define TG_EXIT_NO_ABORT	  8 /* the access outside RAM returned */
#define TG_EXIT_BAD_ABORT	  9 /* the abort's ESR_EL1 / FAR_EL1 / ELR_EL1 were not as expected */
#define TG_EXIT_UNEXPECTED_VECTOR 10 /* any other exception */
#define TG_EXIT_BAD_MODE	  11
#define TG_EXIT_PSCI		  12 /* SMC PSCI_VERSION did not return 1.1 */
#define TG_EXIT_SMP_AFFINITY	  13 /* AFFINITY_INFO of the OFF vCPU 1 was not OFF */
#define TG_EXIT_SMP_BAD_TARGET	  14 /* CPU_ON of an absent vCPU: not INVALID_PARAMETERS */
#define TG_EXIT_SMP_BAD_ADDRESS	  15 /* CPU_ON outside RAM: not INVALID_ADDRESS */
#define TG_EXIT_SMP_ALREADY_ON	  16 /* CPU_ON of an ON vCPU: not ALREADY_ON / ON_PENDING */
#define TG_EXIT_SMP_START	  17 /* CPU_ON of vCPU 1 failed */
#define TG_EXIT_SMP_TIMEOUT	  18 /* no verdict, or not OFF, within a second */
#define TG_EXIT_SMP_SECONDARY	  19 /* vCPU 1 saw a wrong context or MPIDR, or CPU_OFF returned */
#define TG_EXIT_ABORT_OK	  0xab /* the injected abort arrived as expected */

#endif
