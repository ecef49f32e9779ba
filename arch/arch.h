/* SPDX-License-Identifier: MIT */
/*
 * The narrow interface between generic code (kernel/, mm/, vmm/, lib/) and an
 * architecture. Generic code includes only this header (and arch/pt_format.h
 * for page-table formats); everything under arch/<arch>/ is private to it.
 */
#ifndef ARCH_ARCH_H
#define ARCH_ARCH_H

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
 * secondary_main() (kernel/smp.c) with its percpu pointer set. Returns 0 or a
 * negative error (the firmware's refusal, a timeout) with a message printed.
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

/* ---- Fault probes: the basis of permission tests ---- */
enum probe_access { PROBE_READ, PROBE_WRITE, PROBE_EXEC };
struct probe_result {
	bool faulted;
	u64 fault_addr; /* FAR / CR2 */
	u64 syndrome; /* ESR / page-fault error code */
	char kind[48]; /* readable: "permission fault level 3", "#PF P W" */
};
/*
 * Performs one access of the given kind at va and reports whether it faulted,
 * recovering in the exception handler instead of reporting a crash. PROBE_EXEC
 * calls va; the target must be a function that returns (e.g. a 'ret' copy).
 */
struct probe_result arch_probe(u64 va, enum probe_access access);

/* ---- Diagnostics ---- */
/* Triggers an unexpected exception (for the exception-report test). */
void arch_trigger_bad_exception(void);

#endif
