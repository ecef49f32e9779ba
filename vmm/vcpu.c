/* SPDX-License-Identifier: MIT */
/* vCPU lifetime and the run loop: enter, decode (backend), dispatch, repeat. */
#include "vmm/vcpu.h"
#include "kernel/timer.h"
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
	vm->budget_expired = 0;
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

/* Whether the run loop goes on: not exited, still ON, and the VM not ending. */
static bool vcpu_running(const struct vcpu *v)
{
	return !v->exited && __atomic_load_n(&v->power, __ATOMIC_ACQUIRE) == VCPU_ON &&
	       !vm_stopping(v->vm);
}

/* ---- The time budget (vmm/vm.h) ---- */

static u64 ms_to_ticks(u64 ms)
{
	return ms * arch_counter_freq() / 1000;
}

static u64 ticks_to_ms(u64 ticks)
{
	return ticks * 1000 / arch_counter_freq();
}

/* Guest time v has left (0: its budget is spent); ~0 without a budget. */
static u64 budget_left(const struct vcpu *v, u64 budget)
{
	if (!budget)
		return ~0ULL;
	return v->guest_ticks < budget ? budget - v->guest_ticks : 0;
}

/*
 * Keeps this CPU's one-shot timer at the earliest moment the budget can be
 * spent: now + left, were all the time from now on the guest's. A guest
 * that never exits on its own is interrupted then (the host's IRQs exit the
 * guest: HCR_EL2.IMO, the SVM INTR intercept, VMX external-interrupt
 * exiting) and the loop finds the budget spent. Guest time never runs
 * faster than the counter, so that moment only moves later: a timer armed
 * earlier fires early at worst (an IRQ exit, then this re-arms it), and only
 * a timer that has fired (timer_at passed) or was taken by an idle wait
 * (timer_at 0) needs arming again: one comparison per exit otherwise.
 */
static void budget_timer(struct vcpu *v, u64 left)
{
	u64 now = arch_counter_read();

	if (left == ~0ULL || (v->timer_at && now < v->timer_at))
		return;
	v->timer_at = now + left;
	arch_timer_oneshot(left);
}

/* The vCPUs that are not running: the stopping vCPU prints their lines. */
static void report_not_running(const struct vm *vm)
{
	char line[200];

	for (unsigned i = 0; i < VM_MAX_VCPUS; i++) {
		const struct vcpu *v = vm->vcpus[i];

		if (v && __atomic_load_n(&v->power, __ATOMIC_ACQUIRE) == VCPU_OFF) {
			vcpu_describe(v, line, sizeof(line));
			printf("%s\n", line);
		}
	}
}

/* The first vCPU to find the budget spent says so and stops the VM; the others are kicked. */
static int budget_stop(struct vcpu *v)
{
	struct vm *vm = v->vm;
	u32 first = 0;

	if (__atomic_compare_exchange_n(&vm->budget_expired, &first, 1, false, __ATOMIC_SEQ_CST,
					__ATOMIC_RELAXED)) {
		printf("vm%u: vcpu %u spent the time budget of %llu ms: stopping the VM; where its "
		       "vCPUs were:\n",
		       vm->id, v->id, vm->budget_ms);
		report_not_running(vm);
		vm_stop(vm, ERR_TIME, 0);
	}
	return ERR_TIME;
}

/* ---- Exits ---- */

/*
 * A trapped WFI / HLT (after it: the backend skipped it). With nothing
 * pending for the vCPU (no kick has made it stop; granule injects no
 * virtual interrupts yet, so there is nothing else to wait for) the CPU
 * waits itself instead of entering a guest that would trap again at once:
 * until an interrupt (a kick from vm_stop()) or its timer, at
 * VCPU_IDLE_SLICE_US or at the end of the budget's guest time left,
 * whichever comes first. The state is looked at with interrupts masked and
 * the CPU waits masked (WFI wakes on a masked interrupt: Arm ARM, "Wait For
 * Interrupt"; x86's arch_wait_for_interrupt() is "sti; hlt", atomic by STI's
 * shadow, SDM Vol. 2B "STI"), so a kick after the look is not lost. A WFE
 * waits for an event the host cannot see: it only yields.
 */
static int vcpu_idle(struct vcpu *v, u64 left)
{
	u64 start = arch_counter_read(), slice = VCPU_IDLE_SLICE_US * arch_counter_freq() / 1000000;
	unsigned long flags;
	u64 waited;

	if (v->exit.wait.event)
		return VCPU_RESUME;
	flags = arch_irq_save();
	if (vcpu_running(v) && left) {
		arch_timer_oneshot(MIN(slice, left));
		arch_wait_for_interrupt();
	}
	arch_irq_restore(flags);
	/* The guest asked to wait: its time, and the idle slice took the budget's timer. */
	waited = arch_counter_read() - start;
	v->idle_ticks += waited;
	v->guest_ticks += waited;
	v->timer_at = 0;
	if (left == ~0ULL)
		arch_timer_oneshot(0);
	return VCPU_RESUME;
}

/* left: the budget's guest time left (~0: none), for an idle wait. */
static int dispatch(struct vcpu *v, u64 left)
{
	switch (v->exit.reason) {
	case VM_EXIT_STAGE2_FAULT: return vm_handle_stage2_fault(v, &v->exit);
	case VM_EXIT_HYPERCALL: return vm_handle_hypercall(v, &v->exit);
	case VM_EXIT_SMC: return psci_handle(v, &v->exit.call);
	case VM_EXIT_WFI: return vcpu_idle(v, left);
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
	u64 last_gpa = ~0ull, last_pc = ~0ull, budget = ms_to_ticks(v->vm->budget_ms);
	unsigned repeats = 0;

	v->timer_at = 0;
	while (vcpu_running(v)) {
		u64 left = budget_left(v, budget), entered;
		int rc;

		if (!left)
			return budget_stop(v);
		budget_timer(v, left);
		entered = arch_counter_read();
		rc = arch_vcpu_run(v->arch, &v->exit);
		v->guest_ticks += arch_counter_read() - entered;
		if (rc)
			return rc;
		v->exits[v->exit.reason]++;
		vm_stat_inc(&v->vm->stats.exits[v->exit.reason]);
		if (fault_repeats(v, &last_gpa, &last_pc, &repeats))
			return ERR_IO;
		rc = dispatch(v, budget_left(v, budget));
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
	if (v->vm->budget_ms)
		arch_timer_oneshot(0);
	arch_vcpu_put(v->arch);
	if (__atomic_load_n(&v->vm->budget_expired, __ATOMIC_ACQUIRE)) {
		char line[200];

		vcpu_describe(v, line, sizeof(line));
		printf("%s\n", line);
	}
	return rc;
}

/* ---- Reports ---- */

static const char *const exit_names[VM_EXIT_REASONS] = {
	[VM_EXIT_HYPERCALL] = "hypercall",
	[VM_EXIT_STAGE2_FAULT] = "stage-2 fault",
	[VM_EXIT_WFI] = "wfi/hlt",
	[VM_EXIT_SMC] = "smc",
	[VM_EXIT_IRQ] = "irq",
	[VM_EXIT_UNKNOWN] = "unknown",
};

/* snprintf() at buf + *len, keeping *len the length the whole line would have. */
static __printf(4, 5) void append(char *buf, size_t size, int *len, const char *fmt, ...)
{
	size_t at = MIN((size_t)*len, size ? size - 1 : 0);
	va_list ap;

	va_start(ap, fmt);
	*len += vsnprintf(buf + at, size - at, fmt, ap);
	va_end(ap);
}

int vcpu_describe(const struct vcpu *v, char *buf, size_t size)
{
	u64 total = 0;
	int len = 0;

	for (unsigned i = 0; i < VM_EXIT_REASONS; i++)
		total += v->exits[i];
	append(buf, size, &len, "vm%u: vcpu %u: ", v->vm->id, v->id);
	if (__atomic_load_n(&v->power, __ATOMIC_ACQUIRE) == VCPU_OFF)
		append(buf, size, &len, "off");
	else
		append(buf, size, &len, "pc 0x%llx", v->exit.pc);
	append(buf, size, &len, ", %llu exits (", total);
	for (unsigned i = 0; i < VM_EXIT_REASONS; i++)
		append(buf, size, &len, "%s%s %llu", i ? ", " : "", exit_names[i], v->exits[i]);
	append(buf, size, &len, "), guest time %llu ms, idle %llu ms", ticks_to_ms(v->guest_ticks),
	       ticks_to_ms(v->idle_ticks));
	return len;
}
