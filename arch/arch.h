/* SPDX-License-Identifier: MIT */
/*
 * The narrow interface between generic code (kernel/, mm/, vmm/, lib/) and an
 * architecture. Generic code includes only this header (and arch/pt_format.h
 * for page-table formats); everything under arch/<arch>/ is private to it.
 */
#ifndef ARCH_ARCH_H
#define ARCH_ARCH_H

#include "lib/errno.h"
#include "lib/types.h"

struct boot_info;
struct pt_format;

#define MAX_CPUS 16

/* ---- Interrupt masking and CPU hints (usable from lib/) ---- */
unsigned long arch_irq_save(void); /* masks IRQs, returns the previous state */
void arch_irq_restore(unsigned long flags);
void arch_irq_enable(void);
bool arch_irqs_enabled(void);
void arch_cpu_relax(void);
/*
 * One step of a busy-wait that may run with interrupts masked (a table-lock
 * spin in mm/pgtable.c, smp_call()'s own waits): runs the cross-CPU call
 * another CPU posted to this one and waits for, if there is one, then
 * arch_cpu_relax(). The CPU that posted it may be the very one this CPU waits
 * for (it holds the table lock and shoots down TLBs by IPI, x86), and a masked
 * CPU takes no IPI: serving the call here is what keeps that from becoming a
 * deadlock (the rule in kernel/smp.h). Implemented by kernel/smp.c, like
 * ipi_handle(); usable from lib/ and mm/, which must not include kernel/.
 */
void cpu_wait_relax(void);
void arch_wait_for_interrupt(void);
/* Full memory barrier for normal memory (DMB ISH / MFENCE). */
void arch_mb(void);

/* ---- Bring-up (called by kernel/main.c in this order) ---- */
/* Boot CPU, before any allocation: exception vectors, FP, early console, CPU features. */
void arch_early_init(struct boot_info *bi);
/* Prints the CPU feature report (one "feature: ..." line per item). */
void arch_report_features(void);
/* After the kernel's own page tables are live: interrupt controller, timer, IPIs. */
void arch_platform_init(struct boot_info *bi);
/*
 * Ends the run with status (0 = success). Under emulators this is their exit
 * device (isa-debug-exit, semihosting); elsewhere a power-off. Never returns.
 */
__noreturn void arch_exit(int status);
/* Masks interrupts and halts this CPU forever. */
__noreturn void arch_halt(void);

/* ---- Per-CPU ---- */
struct percpu; /* kernel/percpu.h */
struct percpu *arch_this_cpu(void);
void arch_set_this_cpu(struct percpu *cpu);

/* ---- SMP ---- */
/* Discovers CPUs (DTB /cpus or ACPI MADT), fills percpu[i].hwid, returns the count. */
unsigned arch_smp_discover(struct boot_info *bi);
/*
 * Starts the CPU with logical index cpu on stack_top; it must end in
 * secondary_main() (kernel/smp.c) with its percpu pointer set. Returns 0 or,
 * with a message printed, ERR_NOTSUP (no way to start CPUs), ERR_IO (the
 * firmware refused), ERR_TIMEDOUT (the CPU's interrupt controller never took
 * the start IPIs) or ERR_RANGE (the kernel's tables out of the AP's reach).
 */
int arch_cpu_start(unsigned cpu, u64 hwid, void *stack_top);

enum ipi_type {
	IPI_CALL, /* run the pending cross-call (kernel/smp.c) */
	IPI_WAKE, /* only wake from WFI/HLT */
	IPI_TYPES,
};
void arch_send_ipi(unsigned cpu, enum ipi_type type);
/* Generic handler the arch calls from its IRQ path. */
void ipi_handle(enum ipi_type type);

/* ---- Timer: a free-running counter and a per-CPU one-shot ---- */
u64 arch_counter_read(void);
u64 arch_counter_freq(void); /* ticks per second */
/* Arms this CPU's one-shot timer to fire after ticks; 0 cancels. */
void arch_timer_oneshot(u64 ticks);
/* Generic handler the arch calls from its IRQ path when the one-shot fires. */
void timer_handle(void);

/* ---- Kernel page tables ---- */
/* The format of the hypervisor's own stage-1 tables on this CPU. */
const struct pt_format *arch_kernel_pt_format(void);
/*
 * Loads root as the translation table of the running CPU (TTBR0_EL2 / CR3),
 * turning the MMU on or switching from the firmware's tables safely.
 */
void arch_kernel_pt_activate(paddr_t root);
/*
 * Invalidates every CPU's kernel TLB entries for [va, va + size). level is the
 * leaf level (0 = 4K, 1 = 2M, 2 = 1G) of everything in the range, or ~0u when
 * mixed or unknown: a hint the arch may use (TTL, one TLBI per block).
 */
void arch_kernel_tlb_flush_range(u64 va, u64 size, unsigned level);
void arch_kernel_tlb_flush_all(void);
/* Kernel TLB maintenance issued so far, summed over CPUs (the BBM study counts it). */
struct arch_tlb_counts {
	u64 invalidations; /* TLBI / INVLPG / CR3 reloads */
	u64 barriers;	   /* DSB and ISB around them (arm64) */
	u64 ipis;	   /* shootdown IPIs sent (x86) */
};
void arch_tlb_counts(struct arch_tlb_counts *out);
/*
 * True when invalidating other CPUs' TLBs interrupts them (x86 shootdown
 * IPIs): a CPU spinning with interrupts masked then stalls every
 * invalidation. False where TLBI is broadcast in hardware (arm64).
 */
bool arch_tlb_flush_interrupts_cpus(void);

/* ---- Fault probes: the basis of permission tests ---- */
enum probe_access { PROBE_READ, PROBE_WRITE, PROBE_EXEC };
struct probe_result {
	bool faulted;
	u64 fault_addr; /* FAR / CR2 */
	u64 syndrome;	/* ESR / page-fault error code */
	char kind[48];	/* readable: "permission fault level 3", "#PF P W" */
};
/*
 * Performs one access of the given kind at va and reports whether it faulted,
 * recovering in the exception handler instead of reporting a crash. PROBE_EXEC
 * calls va; the target must be a function that returns (e.g. a 'ret' copy).
 */
struct probe_result arch_probe(u64 va, enum probe_access access);

/*
 * A hook for translation faults the kernel takes itself: fixup(va) returns
 * true when the access should just be retried (it met a live remap's break,
 * mm/hvo.c), false to handle the fault as usual. Runs in the exception
 * handler with interrupts masked: it must not take locks.
 */
void arch_set_kernel_fault_fixup(bool (*fixup)(u64 va));

/* ---- Diagnostics ---- */
/* Triggers an unexpected exception (for the exception-report test). */
void arch_trigger_bad_exception(void);

/*
 * ---- Virtualization backend (arm64 EL2; VMX and SVM later): used by vmm/ only ----
 * A backend enters a guest and decodes its exits into the common exit record
 * (vmm/exit.h); memory slots, the stage-2 fault path and hypercalls are
 * generic. Errors are the negative ERR_* codes of lib/errno.h.
 */
struct vm_exit;
struct arch_vcpu; /* the backend's vCPU state, arch_vcpu_size() bytes */

/* What a VM's backend state is: its identifier and what entering it loads. */
struct arch_vm {
	u32 id;	     /* VMID (arm64) / ASID (SVM) / VPID (VMX); never 0 */
	u64 regs[2]; /* backend-private: arm64 VTTBR_EL2 and VTCR_EL2 */
};

/* True when guests can run here; otherwise *reason says why not. */
bool arch_vm_available(const char **reason);
/*
 * Builds the guest page-table format (stage 2 / EPT / NPT) for a guest-physical
 * space of at most want_bits, narrowed to what the CPU allows. Returns the
 * number of bits chosen (positive, not an error), ERR_NOTSUP when the CPU
 * cannot run guests, or ERR_INVAL when no format fits want_bits.
 */
int arch_vm_format_init(struct pt_format *fmt, unsigned want_bits);
/*
 * Allocates an identifier for a VM whose tables are rooted at root (format
 * fmt): 0, or ERR_BUSY when every identifier is in use.
 */
int arch_vm_init(struct arch_vm *avm, const struct pt_format *fmt, paddr_t root);
/* Drops every TLB entry of the VM and frees its identifier. */
void arch_vm_destroy(struct arch_vm *avm);
/*
 * TLB maintenance after guest table changes, on every CPU: [gpa, gpa + size)
 * whose leaves are all at level (engine numbering, ~0u unknown), or everything.
 */
void arch_vm_tlb_flush_range(const struct arch_vm *avm, u64 gpa, u64 size, unsigned level);
void arch_vm_tlb_flush_all(const struct arch_vm *avm);
/*
 * Makes memory the host wrote (or is about to read) through its cacheable
 * mapping agree with what a guest running with its caches off sees; exec:
 * the guest may execute it.
 */
void arch_vm_cache_sync(void *host_va, u64 size, bool exec);

size_t arch_vcpu_size(void);
/* A vCPU entering at entry in the guest's kernel mode, MMU off, args in the first registers. */
void arch_vcpu_init(struct arch_vcpu *v, const struct arch_vm *avm, u64 entry, const u64 args[4]);
/*
 * Makes the vCPU's state live on this CPU for a series of arch_vcpu_run()
 * calls; the caller stays on this CPU until arch_vcpu_put() saves it again.
 */
void arch_vcpu_load(struct arch_vcpu *v);
void arch_vcpu_put(struct arch_vcpu *v);
/*
 * Optional: tells the backend the vCPU's index in its VM, after
 * arch_vcpu_init() (arm64 derives the guest's MPIDR, VMPIDR_EL2, from it).
 * vmm/vcpu.c holds a weak no-op for backends that need nothing (SVM, VMX).
 */
void arch_vcpu_set_index(struct arch_vcpu *v, unsigned index);
/* Runs the loaded vCPU until its next exit, decoded into *exit; ERR_INVAL when not loaded. */
int arch_vcpu_run(struct arch_vcpu *v, struct vm_exit *exit);
/* Sets the result register of a hypercall or SMC (arm64 x0, x86 rax). */
void arch_vcpu_set_result(struct arch_vcpu *v, u64 value);
/*
 * Makes the faulting access of exit (a stage-2 fault) raise an external abort
 * in the guest: 0, or ERR_INVAL when exit is no stage-2 fault or the guest is
 * in no state to take the abort.
 */
int arch_vcpu_inject_abort(struct arch_vcpu *v, const struct vm_exit *exit);

/* The built-in test guest (vmm/test_guest.h): position independent; NULL when none. */
struct arch_test_guest {
	const void *image;
	u64 size;
};
const struct arch_test_guest *arch_vm_test_guest(void);

#endif
