/* SPDX-License-Identifier: MIT */
/*
 * granule's guest hypercall ABI: the numbers and error codes shared by the test guests
 * (tests/guests/) and the VMM. docs/hypercalls.md is the full contract; this header is only
 * its constants, plain C with no arch includes, so both sides compile it unchanged.
 *
 *   arm64    HVC #0; x0 = call, x1..x3 = arguments; result in x0.
 *   x86-64   VMCALL (Intel VMX) or VMMCALL (AMD SVM); rax = call, rdi, rsi, rdx = arguments;
 *            result in rax.
 * A result is a signed 64-bit value: >= 0 success, < 0 one of the GRANULE_E_* codes.
 */
#ifndef VMM_HYPERCALL_H
#define VMM_HYPERCALL_H

/* ABI version returned by GRANULE_HC_VERSION: major << 16 | minor. */
#define GRANULE_ABI_MAJOR   1
#define GRANULE_ABI_MINOR   1
#define GRANULE_ABI_VERSION ((GRANULE_ABI_MAJOR << 16) | GRANULE_ABI_MINOR)

/* Call numbers (x0 / rax). */
#define GRANULE_HC_VERSION	 0 /* () -> GRANULE_ABI_VERSION */
#define GRANULE_HC_CONSOLE_WRITE 1 /* (gpa, len) -> len written */
#define GRANULE_HC_DISCARD	 2 /* (gpa, len) -> 0 */
#define GRANULE_HC_REPORT	 3 /* (key, value) -> 0 */
#define GRANULE_HC_EXIT		 4 /* (status) -> does not return */
#define GRANULE_HC_VCPU_START	 5 /* (vcpu, entry, context) -> 0; ABI 1.1 */
#define GRANULE_HC_COUNT	 6 /* first unused number */

/*
 * Errors (negative results): the guest ABI's own codes, fixed by docs/hypercalls.md (their
 * values happen to be Linux errno numbers too). Inside the VMM errors follow lib/errno.h.
 */
#define GRANULE_E_INVAL (-22) /* bad argument: alignment, length, key */
#define GRANULE_E_NOSYS (-38) /* unknown call number */
#define GRANULE_E_RANGE (-34) /* range not entirely inside the guest's RAM */
#define GRANULE_E_BUSY	(-16) /* GRANULE_HC_VCPU_START: that vCPU is already on or starting */

/* Limits and alignment. */
#define GRANULE_CONSOLE_MAX    4096 /* bytes per GRANULE_HC_CONSOLE_WRITE */
#define GRANULE_DISCARD_ALIGN  4096 /* gpa and len of GRANULE_HC_DISCARD */
#define GRANULE_REPORT_KEY_MAX 64   /* report keys are 0 .. GRANULE_REPORT_KEY_MAX - 1 */

/* Report keys the test guests use (the VMM prints unknown keys by number). */
#define GRANULE_REPORT_PAGES_TOUCHED  0 /* pages touched by the touch workloads */
#define GRANULE_REPORT_BYTES_VERIFIED 1 /* bytes compared against the pattern */
#define GRANULE_REPORT_MISMATCHES     2 /* bytes that differed from the pattern */
#define GRANULE_REPORT_BYTES_DISCARD  3 /* bytes handed back with GRANULE_HC_DISCARD */
#define GRANULE_REPORT_PHASE	      4 /* workload number now starting (progress) */
#define GRANULE_REPORT_VCPUS	      5 /* vCPUs the smp workload ran on (ABI 1.1) */

/*
 * Guest RAM as the guests expect it (docs/hypercalls.md, "Entry state"): one contiguous range
 * of guest-physical addresses starting here, its size given at entry.
 */
#define GRANULE_GUEST_RAM_BASE_ARM64  0x40000000ULL
#define GRANULE_GUEST_RAM_BASE_X86_64 0x0ULL

#endif
