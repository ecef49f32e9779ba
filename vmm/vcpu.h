/* SPDX-License-Identifier: MIT */
/*
 * A virtual CPU and its run loop: enter the guest through the arch backend,
 * dispatch the exit (stage-2 fault, hypercall, WFI, SMC/PSCI), repeat until
 * the guest exits, turns this vCPU off, or does something the VMM cannot
 * handle. Several vCPUs of one VM run on several physical CPUs (vmm/smp.c).
 */
#ifndef VMM_VCPU_H
#define VMM_VCPU_H

#include "kernel/smp.h"
#include "lib/spinlock.h"
#include "vmm/vm.h"

/* PSCI's view of a vCPU (Arm DEN 0022, AFFINITY_INFO's return values). */
enum vcpu_power {
	VCPU_ON = 0,
	VCPU_OFF = 1,
	VCPU_ON_PENDING = 2, /* started (CPU_ON, GRANULE_HC_VCPU_START), not yet entered */
};

struct vcpu {
	struct vm *vm;
	unsigned id;		/* index in vm->vcpus; the guest's MPIDR Aff0 on arm64 */
	struct arch_vcpu *arch; /* backend state, one page from pmm */
	struct vm_exit exit;	/* the last exit */
	bool exited;		/* the guest called GRANULE_HC_EXIT or PSCI SYSTEM_OFF */
	u64 exit_status;	/* its status */
	/* Power state and the start request that CPU_ON leaves for the vCPU's own CPU. */
	struct spinlock power_lock;
	u32 power; /* enum vcpu_power */
	u64 start_entry, start_context;
	/* This vCPU's exits by reason (vm->stats.exits counts every vCPU's) and its times. */
	u64 exits[VM_EXIT_REASONS];
	u64 guest_ticks;      /* counter ticks in the guest or idle: what its budget counts */
	u64 idle_ticks;	      /* ... of which its CPU waited for it in WFI / HLT (vcpu.c) */
	u64 timer_at;	      /* when the budget's timer on its CPU fires, 0: not armed (vcpu.c) */
	int cpu;	      /* the physical CPU running it, -1 while none */
	int result;	      /* what its thread ended with (vmm/smp.c) */
	struct smp_work work; /* its thread on a secondary CPU */
};

/*
 * A vCPU of vm with index id that starts at entry (guest-physical; the
 * guest's MMU is off) with args[0..3] in its first argument registers: the
 * VM's boot vCPU, ON from the start.
 */
int vcpu_create(struct vcpu *v, struct vm *vm, unsigned id, u64 entry, const u64 args[4]);
/* A secondary vCPU, OFF until the guest starts it (PSCI CPU_ON, GRANULE_HC_VCPU_START). */
int vcpu_create_off(struct vcpu *v, struct vm *vm, unsigned id);
void vcpu_destroy(struct vcpu *v);
/*
 * Runs the vCPU on this CPU until the guest exits (returns 0; v->exit_status
 * holds its status), turns this vCPU off (returns 0, power OFF), the VM stops
 * (returns 0), or it stops on an error (returns a negative ERR_* code of
 * lib/errno.h, with a message): ERR_TIME when this vCPU spent the VM's time
 * budget (vmm/vm.h). Once a budget stopped the VM, each vCPU leaving its run
 * prints its vcpu_describe() line.
 *
 * A trapped WFI / HLT with nothing pending idles: the CPU waits (WFI / HLT
 * with interrupts masked, so no kick is lost) for a kick, the budget's end or
 * at most VCPU_IDLE_SLICE_US (idle time is guest time), then enters the guest
 * again; WFE only yields. While a vCPU of a VM with a budget runs, and while
 * any vCPU idles, the run owns its CPU's one-shot timer
 * (arch_timer_oneshot()): a caller arming its own timer around vcpu_run()
 * gives the VM no budget (vm->budget_ms = 0) and a guest that does not idle.
 */
int vcpu_run(struct vcpu *v);
/*
 * The longest an idle vCPU's CPU waits before it enters the guest again when
 * no kick comes first. WFI may complete at any time (Arm ARM, "Wait For
 * Interrupt"; HLT likewise ends at any interrupt, and granule's backends
 * trap it before it executes), and granule has no virtual interrupt yet
 * whose arrival would end the wait, so a guest that counts on its WFI
 * returning (the TOUCH test guest, a guest waiting for its virtual timer)
 * goes on after at most this, while an idle one costs at most 1000 exits a
 * second.
 */
#define VCPU_IDLE_SLICE_US 1000
/*
 * Where v is, as vcpu_run() prints it: "vm1: vcpu 0: pc 0x40000084, 1002
 * exits (hypercall 0, ...), guest time 1000 ms, idle 998 ms" (the PC of its
 * last exit), or "off" for the PC when it is OFF. Returns the length, as
 * snprintf().
 */
int vcpu_describe(const struct vcpu *v, char *buf, size_t size);

/*
 * Results the exit handlers return to the run loop: VCPU_RESUME, VCPU_EXITED
 * (positive, not an error: this vCPU left the guest, by an exit or CPU_OFF,
 * and the loop ends with 0), or a negative ERR_* code (lib/errno.h) that
 * stops the VM.
 */
#define VCPU_RESUME 0
#define VCPU_EXITED 1

/* PSCI calls (vmm/psci.c): over a trapped SMC, or HVC with a PSCI function ID. */
bool psci_is_call(u64 function_id);
int psci_handle(struct vcpu *v, const struct vm_exit_call *c);

/* vmm/smp.c: starting vCPUs, and the end of the VM. */
/* The vCPU a guest names by MPIDR (arm64; Aff0 = index, higher levels 0), or NULL. */
struct vcpu *vm_vcpu_by_mpidr(struct vm *vm, u64 mpidr);
/* The guest MPIDR of vCPU index (MPIDR_EL1 bit 31 is RES1: Arm ARM D17.2, "MPIDR_EL1"). */
u64 vm_vcpu_mpidr(unsigned index);
/*
 * Turns target ON_PENDING to start at entry with context in its first
 * argument register (and its index in the second) and wakes its CPU.
 * Returns 0, ERR_BUSY when target is ON or ON_PENDING already, or ERR_FAULT
 * when entry is outside the guest's RAM (lib/errno.h).
 */
int vcpu_start(struct vcpu *target, u64 entry, u64 context);
/* The calling vCPU turns itself off; the VM ends (status 0) when it was the last one on. */
int vcpu_turn_off(struct vcpu *v);
/* Ends the VM: every vCPU leaves at its next exit (their CPUs are kicked). error 0: an exit. */
void vm_stop(struct vm *vm, int error, u64 status);
bool vm_stopping(const struct vm *vm);

/*
 * Runs every vCPU of vm until the VM ends: vCPU 0 here, vCPU i > 0 as a
 * thread-context work item on cpus[i - 1] (kernel/smp.h). Returns 0 when the
 * VM exited (vm->exit_status), or the first vCPU's error.
 */
int vm_run(struct vm *vm, const unsigned *cpus);
/*
 * CPUs for vm_run(): up to want - 1 idle secondaries, lowest first, into
 * cpus (the calling CPU runs vCPU 0); returns the vCPU count they allow (1 +
 * those). *spare gets one more idle secondary (for the mover), or -1.
 */
unsigned vm_pick_cpus(unsigned want, unsigned *cpus, int *spare);

#endif
