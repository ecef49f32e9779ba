/* SPDX-License-Identifier: MIT */
/*
 * The common exit record: what a virtualization backend (arm64 EL2, VMX, SVM)
 * decodes a guest exit into, and all the generic run loop (vmm/vcpu.c) looks
 * at. Plain data: this is the one vmm/ header a backend includes, so it
 * depends on nothing but lib/types.h.
 */
#ifndef VMM_EXIT_H
#define VMM_EXIT_H

#include "lib/types.h"

enum vm_exit_reason {
	VM_EXIT_HYPERCALL,    /* HVC / VMCALL / VMMCALL: call number and arguments below */
	VM_EXIT_STAGE2_FAULT, /* stage-2 / EPT / NPT fault: gpa, access, kind, level */
	VM_EXIT_WFI,	      /* WFI, WFE or HLT trapped: the guest idles (see wait); skipped */
	VM_EXIT_SMC,	      /* SMC trapped (arm64: PSCI calls); the backend has skipped it */
	VM_EXIT_IRQ,	      /* a physical interrupt for the host arrived: handled, resume */
	VM_EXIT_UNKNOWN,      /* anything else: see syndrome */
	VM_EXIT_REASONS,
};

/* What the stage-2 walk found (arm64 DFSC / EPT exit qualification / NPT error code). */
enum vm_fault_kind {
	VM_FAULT_TRANSLATION, /* no valid entry: the page is not mapped */
	VM_FAULT_PERMISSION,  /* mapped, but not for this access */
	VM_FAULT_ACCESS_FLAG, /* mapped with the access flag clear */
};

struct vm_exit_fault {
	u64 gpa; /* the guest-physical address accessed */
	u64 gva; /* the guest-virtual address (valid when gva_valid) */
	bool gva_valid;
	bool write;
	bool exec; /* an instruction fetch */
	enum vm_fault_kind kind;
	/*
	 * The level of the table whose entry stopped the walk, in the engine's
	 * numbering (0 = the 4K-leaf table, 1 = the 2M one, ...); -1 unknown.
	 */
	int level;
};

struct vm_exit_call {
	u64 nr;	     /* call number (arm64 x0, x86 rax); for SMC the function ID */
	u64 args[3]; /* arm64 x1..x3, x86 rdi, rsi, rdx */
};

struct vm_exit_wait {
	/*
	 * WFE: a wait for an event (another CPU's SEV, a lost exclusive
	 * monitor) that the host cannot see, rather than for an interrupt
	 * (WFI, HLT). WFE may complete at any time (Arm ARM, "The Wait For
	 * Event mechanism and Send event").
	 */
	bool event;
};

struct vm_exit {
	enum vm_exit_reason reason;
	u64 syndrome; /* raw: ESR_EL2, VMX exit reason, SVM EXITCODE */
	u64 pc;	      /* the guest PC at the exit (of the trapped instruction; after an HVC) */
	union {
		struct vm_exit_fault fault; /* VM_EXIT_STAGE2_FAULT */
		struct vm_exit_call call;   /* VM_EXIT_HYPERCALL, VM_EXIT_SMC */
		struct vm_exit_wait wait;   /* VM_EXIT_WFI */
	};
};

#endif
