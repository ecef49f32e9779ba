/* SPDX-License-Identifier: MIT */
/* vCPU lifetime and the run loop: enter, decode (backend), dispatch, repeat. */
#include "vmm/vcpu.h"
#include "lib/printf.h"
#include "mm/kmap.h"
#include "mm/pmm.h"

/* The same fault at the same place this many times in a row: the mapping is not taking effect. */
#define FAULT_REPEAT_LIMIT 64

/* Backends without a use for the vCPU index (arch/arch.h). */
__attribute__((weak)) void arch_vcpu_set_index(struct arch_vcpu *v, unsigned index)
{
	(void)v;
	(void)index;
}

static int vcpu_alloc(struct vcpu *v, struct vm *vm, unsigned id, u32 power)
{
	paddr_t state;

	*v = (struct vcpu){.vm = vm, .id = id, .power = power, .cpu = -1};
	spin_lock_init(&v->power_lock);
	if (id >= VM_MAX_VCPUS || vm->vcpus[id])
		return ERR_INVAL;
	if (arch_vcpu_size() > PAGE_SIZE)
		return ERR_NOTSUP;
	state = pmm_alloc(ORDER_4K);
	if (!pa_addr(state))
		return ERR_NOMEM;
	v->arch = phys_to_virt(state);
	vm->vcpus[id] = v;
	return 0;
}

int vcpu_create(struct vcpu *v, struct vm *vm, unsigned id, u64 entry, const u64 args[4])
{
	int rc = vcpu_alloc(v, vm, id, VCPU_ON);

	if (rc)
		return rc;
	arch_vcpu_init(v->arch, &vm->arch, entry, args);
	arch_vcpu_set_index(v->arch, id);
	/* A boot vCPU starts the VM (again): whatever ended its last run is over. */
	vm->stopping = 0;
	vm->stop_error = 0;
	__atomic_fetch_add(&vm->vcpus_on, 1, __ATOMIC_RELAXED);
	return 0;
}

int vcpu_create_off(struct vcpu *v, struct vm *vm, unsigned id)
{
	return vcpu_alloc(v, vm, id, VCPU_OFF);
}

void vcpu_destroy(struct vcpu *v)
{
	if (!v->arch)
		return;
	pmm_free(virt_to_phys(v->arch), ORDER_4K);
	v->arch = NULL;
	if (v->power != VCPU_OFF)
		__atomic_fetch_sub(&v->vm->vcpus_on, 1, __ATOMIC_RELAXED);
	v->vm->vcpus[v->id] = NULL;
}

static int report_unknown(struct vcpu *v)
{
	printf("vm%u: vcpu %u: unhandled exit, syndrome 0x%llx at pc 0x%llx: stopping the VM\n",
	       v->vm->id, v->id, v->exit.syndrome, v->exit.pc);
	return ERR_IO;
}

static int dispatch(struct vcpu *v)
{
	switch (v->exit.reason) {
	case VM_EXIT_STAGE2_FAULT: return vm_handle_stage2_fault(v, &v->exit);
	case VM_EXIT_HYPERCALL: return vm_handle_hypercall(v, &v->exit);
	case VM_EXIT_SMC: return psci_handle(v, &v->exit.call);
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

/* Whether the run loop goes on: not exited, still ON, and the VM not ending. */
static bool vcpu_running(const struct vcpu *v)
{
	return !v->exited && __atomic_load_n(&v->power, __ATOMIC_ACQUIRE) == VCPU_ON &&
	       !vm_stopping(v->vm);
}

static int run_loaded(struct vcpu *v)
{
	u64 last_gpa = ~0ull, last_pc = ~0ull;
	unsigned repeats = 0;

	while (vcpu_running(v)) {
		int rc = arch_vcpu_run(v->arch, &v->exit);

		if (rc)
			return rc;
		vm_stat_inc(&v->vm->stats.exits[v->exit.reason]);
		if (fault_repeats(v, &last_gpa, &last_pc, &repeats))
			return ERR_IO;
		rc = dispatch(v);
		if (rc < 0)
			return rc;
		if (v->id == 0 && v->vm->after_exit)
			v->vm->after_exit(v->vm);
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
		return ERR_INVAL;
	}
	__atomic_store_n(&v->cpu, (int)this_cpu_id(), __ATOMIC_RELEASE);
	arch_vcpu_load(v->arch);
	rc = run_loaded(v);
	arch_vcpu_put(v->arch);
	return rc;
}
