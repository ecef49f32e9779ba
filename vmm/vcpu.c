/* SPDX-License-Identifier: MIT */
/* vCPU lifetime and the run loop: enter, decode (backend), dispatch, repeat. */
#include "vmm/vcpu.h"
#include "lib/printf.h"
#include "mm/kmap.h"
#include "mm/pmm.h"

/*
 * PSCI (Arm DEN 0022, "Arm Power State Coordination Interface") as the guest
 * sees it through a trapped SMC: function IDs and return codes, SMC32 forms
 * and the SMC64 CPU_ON.
 */
#define PSCI_VERSION	   0x84000000u
#define PSCI_CPU_OFF	   0x84000002u
#define PSCI_CPU_ON_64	   0xc4000003u
#define PSCI_SYSTEM_OFF	   0x84000008u
#define PSCI_SYSTEM_RESET  0x84000009u
#define PSCI_FEATURES	   0x8400000au
#define PSCI_VERSION_1_0   0x00010000u
#define PSCI_NOT_SUPPORTED (-1)

/* The same fault at the same place this many times in a row: the mapping is not taking effect. */
#define FAULT_REPEAT_LIMIT 64

int vcpu_create(struct vcpu *v, struct vm *vm, unsigned id, u64 entry, const u64 args[4])
{
	paddr_t state;

	*v = (struct vcpu){.vm = vm, .id = id};
	if (arch_vcpu_size() > PAGE_SIZE)
		return VM_ERR_UNSUPPORTED;
	state = pmm_alloc(ORDER_4K);
	if (!pa_addr(state))
		return VM_ERR_NOMEM;
	v->arch = phys_to_virt(state);
	arch_vcpu_init(v->arch, &vm->arch, entry, args);
	return 0;
}

void vcpu_destroy(struct vcpu *v)
{
	if (v->arch)
		pmm_free(virt_to_phys(v->arch), ORDER_4K);
	v->arch = NULL;
}

static bool psci_known(u64 fn)
{
	return fn == PSCI_VERSION || fn == PSCI_CPU_OFF || fn == PSCI_SYSTEM_OFF ||
	       fn == PSCI_FEATURES;
}

/* PSCI for a one-vCPU guest: CPU_OFF and SYSTEM_OFF end the run; CPU_ON waits for SMP guests. */
static int handle_psci(struct vcpu *v, const struct vm_exit_call *c)
{
	s64 result = PSCI_NOT_SUPPORTED;

	switch ((u32)c->nr) {
	case PSCI_VERSION: result = PSCI_VERSION_1_0; break;
	case PSCI_FEATURES: result = psci_known((u32)c->args[0]) ? 0 : PSCI_NOT_SUPPORTED; break;
	case PSCI_CPU_OFF:
	case PSCI_SYSTEM_OFF:
		v->exited = true;
		v->exit_status = 0;
		return VCPU_EXITED;
	}
	arch_vcpu_set_result(v->arch, (u64)result);
	return VCPU_RESUME;
}

static int report_unknown(struct vcpu *v)
{
	printf("vm%u: vcpu %u: unhandled exit, syndrome 0x%llx at pc 0x%llx: stopping the VM\n",
	       v->vm->id, v->id, v->exit.syndrome, v->exit.pc);
	return VM_ERR_GUEST;
}

static int dispatch(struct vcpu *v)
{
	switch (v->exit.reason) {
	case VM_EXIT_STAGE2_FAULT: return vm_handle_stage2_fault(v, &v->exit);
	case VM_EXIT_HYPERCALL: return vm_handle_hypercall(v, &v->exit);
	case VM_EXIT_SMC: return handle_psci(v, &v->exit.call);
	/*
	 * WFI may complete at any time, for no reason at all (Arm ARM, "Wait For
	 * Interrupt"); with no virtual interrupts yet there is nothing to wait for.
	 */
	case VM_EXIT_WFI:
	/* The host's interrupt was taken when the backend unmasked interrupts. */
	case VM_EXIT_IRQ: return VCPU_RESUME;
	default: return report_unknown(v);
	}
}

/* Stops a guest whose fault keeps coming back: a missing invalidation or a bad mapping. */
static bool fault_repeats(struct vcpu *v, u64 *last_gpa, u64 *last_pc, unsigned *count)
{
	if (v->exit.reason != VM_EXIT_STAGE2_FAULT) {
		*count = 0;
		return false;
	}
	if (v->exit.fault.gpa != *last_gpa || v->exit.pc != *last_pc) {
		*last_gpa = v->exit.fault.gpa;
		*last_pc = v->exit.pc;
		*count = 0;
	}
	if (++*count < FAULT_REPEAT_LIMIT)
		return false;
	printf("vm%u: vcpu %u: the stage-2 fault at gpa 0x%llx (pc 0x%llx) repeats %u times: "
	       "stopping the VM\n",
	       v->vm->id, v->id, *last_gpa, *last_pc, *count);
	return true;
}

static int run_loaded(struct vcpu *v)
{
	u64 last_gpa = ~0ull, last_pc = ~0ull;
	unsigned repeats = 0;

	while (!v->exited) {
		int rc = arch_vcpu_run(v->arch, &v->exit);

		if (rc)
			return rc;
		v->vm->stats.exits[v->exit.reason]++;
		if (fault_repeats(v, &last_gpa, &last_pc, &repeats))
			return VM_ERR_GUEST;
		rc = dispatch(v);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int vcpu_run(struct vcpu *v)
{
	int rc;

	/*
	 * A host interrupt exits the guest and is taken once the backend
	 * unmasks; with interrupts masked here it would stay pending and exit
	 * the guest again at every entry.
	 */
	if (!arch_irqs_enabled()) {
		printf("vm%u: vcpu %u: run with interrupts masked\n", v->vm->id, v->id);
		return VM_ERR_INVAL;
	}
	arch_vcpu_load(v->arch);
	rc = run_loaded(v);
	arch_vcpu_put(v->arch);
	return rc;
}
