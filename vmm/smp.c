/* SPDX-License-Identifier: MIT */
/*
 * Several vCPUs per VM on several physical CPUs. Each vCPU has a thread: the
 * calling CPU's for vCPU 0, a thread-context work item (kernel/smp.h) on its
 * own CPU for the others. A thread waits (WFI) while its vCPU is OFF, enters
 * the guest once a CPU_ON (vmm/psci.c) or GRANULE_HC_VCPU_START made it
 * ON_PENDING, and goes back to waiting after CPU_OFF. The VM ends when a vCPU
 * exits (GRANULE_HC_EXIT, SYSTEM_OFF), fails, or the last one turns off:
 * vm_stop() flags it and kicks every vCPU's CPU with an IPI, which exits a
 * running guest (HCR_EL2.IMO, the SVM INTR intercept) or wakes a waiting
 * thread.
 *
 * Power transitions take the vCPU's power_lock; the fault path takes no lock
 * of its own here (vmm/postcopy.h: per-2M-region locks).
 */
#include "lib/printf.h"
#include "vmm/vcpu.h"

/* How long vm_run() waits for the vCPU threads once the VM has stopped. */
#define JOIN_TIMEOUT_SEC 10

/* MPIDR_EL1.Aff0 holds the index; bit 31 is RES1 (Arm ARM D17.2, "MPIDR_EL1"). */
#define MPIDR_RES1     BIT(31)
#define MPIDR_AFF_MASK 0xff00ffffffULL /* Aff3 39:32, Aff2 23:16, Aff1 15:8, Aff0 7:0 */

u64 vm_vcpu_mpidr(unsigned index)
{
	return MPIDR_RES1 | index;
}

/* PSCI's target_cpu: affinity fields only, the rest zero (DEN 0022D, 5.1.4). */
struct vcpu *vm_vcpu_by_mpidr(struct vm *vm, u64 mpidr)
{
	if (mpidr & ~MPIDR_AFF_MASK || mpidr >= VM_MAX_VCPUS)
		return NULL;
	return vm->vcpus[mpidr];
}

bool vm_stopping(const struct vm *vm)
{
	return __atomic_load_n(&vm->stopping, __ATOMIC_ACQUIRE);
}

/* An IPI to the CPU of v, unless that is this one: out of the guest, or out of WFI. */
static void vcpu_kick(const struct vcpu *v)
{
	int cpu = __atomic_load_n(&v->cpu, __ATOMIC_SEQ_CST);

	if (cpu >= 0 && (unsigned)cpu != this_cpu_id())
		arch_send_ipi((unsigned)cpu, IPI_WAKE);
}

void vm_stop(struct vm *vm, int error, u64 status)
{
	u32 running = 0;

	if (__atomic_compare_exchange_n(&vm->stopping, &running, 1, false, __ATOMIC_SEQ_CST,
					__ATOMIC_RELAXED)) {
		vm->stop_error = error;
		vm->exit_status = status;
	}
	for (unsigned i = 0; i < VM_MAX_VCPUS; i++)
		if (vm->vcpus[i])
			vcpu_kick(vm->vcpus[i]);
}

int vcpu_start(struct vcpu *target, u64 entry, u64 context)
{
	unsigned long flags;

	if (!vm_find_slot(target->vm, entry))
		return ERR_FAULT;
	flags = spin_lock_irqsave(&target->power_lock);
	if (target->power != VCPU_OFF) {
		spin_unlock_irqrestore(&target->power_lock, flags);
		return ERR_BUSY;
	}
	target->start_entry = entry;
	target->start_context = context;
	__atomic_fetch_add(&target->vm->vcpus_on, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&target->power, VCPU_ON_PENDING, __ATOMIC_SEQ_CST);
	spin_unlock_irqrestore(&target->power_lock, flags);
	vcpu_kick(target);
	return 0;
}

int vcpu_turn_off(struct vcpu *v)
{
	unsigned long flags = spin_lock_irqsave(&v->power_lock);

	__atomic_store_n(&v->power, VCPU_OFF, __ATOMIC_RELEASE);
	spin_unlock_irqrestore(&v->power_lock, flags);
	if (__atomic_sub_fetch(&v->vm->vcpus_on, 1, __ATOMIC_ACQ_REL) == 0)
		vm_stop(v->vm, 0, 0);
	return 0;
}

/*
 * A started vCPU enters as after reset with the start request's entry point:
 * context in the first argument register (arm64 x0: PSCI CPU_ON, DEN 0022D
 * 6.4.3; x86 ebx), its index in the second (x1 / esi).
 */
static void vcpu_enter_pending(struct vcpu *v)
{
	u64 args[4] = {v->start_context, v->id, 0, 0};

	arch_vcpu_init(v->arch, &v->vm->arch, v->start_entry, args);
	arch_vcpu_set_index(v->arch, v->id);
	__atomic_store_n(&v->power, VCPU_ON, __ATOMIC_RELEASE);
}

/* With interrupts masked: waits for a kick unless one already changed the state. */
static void vcpu_wait_off(struct vcpu *v)
{
	if (__atomic_load_n(&v->power, __ATOMIC_SEQ_CST) == VCPU_OFF && !vm_stopping(v->vm))
		arch_wait_for_interrupt();
}

/*
 * Waits until v is started or the VM stops; false for the latter. An OFF
 * vCPU's thread first offers its CPU to vm->while_off. The state
 * is looked at with interrupts masked and the CPU waits with them masked, so
 * the kick that follows a change cannot be lost (kernel/smp.c's idle loop
 * does the same).
 */
static bool vcpu_wait_start(struct vcpu *v)
{
	for (;;) {
		u32 power = __atomic_load_n(&v->power, __ATOMIC_SEQ_CST);

		if (vm_stopping(v->vm))
			return false;
		if (power == VCPU_ON_PENDING)
			vcpu_enter_pending(v);
		if (power != VCPU_OFF)
			return true;
		if (!v->vm->while_off || !v->vm->while_off(v->vm)) {
			unsigned long flags = arch_irq_save();

			vcpu_wait_off(v);
			arch_irq_restore(flags);
		}
	}
}

/* A vCPU's life on its CPU: wait for a start, run, again after CPU_OFF, until the VM ends. */
static int vcpu_thread(struct vcpu *v)
{
	__atomic_store_n(&v->cpu, (int)this_cpu_id(), __ATOMIC_SEQ_CST);
	while (vcpu_wait_start(v)) {
		int rc = vcpu_run(v);

		if (rc) {
			vm_stop(v->vm, rc, 0);
			return rc;
		}
		if (v->exited)
			break;
	}
	return 0;
}

static void vcpu_work(void *arg)
{
	struct vcpu *v = arg;

	v->result = vcpu_thread(v);
}

static unsigned vm_join(struct vm *vm, unsigned queued)
{
	u64 timeout = JOIN_TIMEOUT_SEC * arch_counter_freq();
	unsigned stuck = 0;

	for (unsigned i = 1; i < queued; i++) {
		struct vcpu *v = vm->vcpus[i];

		if (v && !smp_work_wait(&v->work, timeout)) {
			printf("vm%u: vcpu %u on CPU %d did not stop\n", vm->id, i, v->cpu);
			stuck++;
		}
	}
	return stuck;
}

int vm_run(struct vm *vm, const unsigned *cpus)
{
	unsigned queued = 1;

	if (!vm->vcpus[0])
		return ERR_INVAL;
	for (; queued < VM_MAX_VCPUS; queued++) {
		struct vcpu *v = vm->vcpus[queued];

		if (v && smp_work_queue(cpus[queued - 1], &v->work, vcpu_work, v)) {
			printf("vm%u: vcpu %u: CPU %u cannot take it\n", vm->id, queued,
			       cpus[queued - 1]);
			vm_stop(vm, ERR_NOTSUP, 0);
			break;
		}
	}
	vcpu_thread(vm->vcpus[0]);
	if (vm_join(vm, queued))
		return ERR_IO;
	return vm->stop_error;
}

unsigned vm_pick_cpus(unsigned want, unsigned *cpus, int *spare)
{
	unsigned n = 1;

	*spare = -1;
	for (unsigned i = 1; i < nr_cpus; i++) {
		if (!smp_cpu_idle(i))
			continue;
		if (n < want)
			cpus[n++ - 1] = i;
		else if (*spare < 0)
			*spare = (int)i;
	}
	return n;
}
