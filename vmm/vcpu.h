/* SPDX-License-Identifier: MIT */
/*
 * A virtual CPU and its run loop: enter the guest through the arch backend,
 * dispatch the exit (stage-2 fault, hypercall, WFI, SMC/PSCI), repeat until
 * the guest exits or does something the VMM cannot handle.
 */
#ifndef VMM_VCPU_H
#define VMM_VCPU_H

#include "vmm/vm.h"

struct vcpu {
	struct vm *vm;
	unsigned id;
	struct arch_vcpu *arch; /* backend state, one page from pmm */
	struct vm_exit exit;	/* the last exit */
	bool exited;		/* the guest called GRANULE_HC_EXIT or PSCI SYSTEM_OFF */
	u64 exit_status;	/* its status */
};

/*
 * A vCPU of vm that starts at entry (guest-physical; the guest's MMU is off)
 * with args[0..3] in its first argument registers.
 */
int vcpu_create(struct vcpu *v, struct vm *vm, unsigned id, u64 entry, const u64 args[4]);
void vcpu_destroy(struct vcpu *v);
/*
 * Runs the vCPU on this CPU until the guest exits (returns 0; v->exit_status
 * holds its status) or stops on an error (returns VM_ERR_*, with a message).
 */
int vcpu_run(struct vcpu *v);

/* Results the exit handlers return to the run loop. */
#define VCPU_RESUME 0
#define VCPU_EXITED 1

#endif
