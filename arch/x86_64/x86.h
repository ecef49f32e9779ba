/* SPDX-License-Identifier: MIT */
/* Private interface between the files of arch/x86_64, boot/x86_64 and the x86 drivers. */
#ifndef ARCH_X86_64_X86_H
#define ARCH_X86_64_X86_H

#include "lib/types.h"

struct boot_info;
struct percpu;

#include "arch/x86_64/x86_asm.h"

/* The saved state of an interrupt or exception (traps.S builds it, lowest address first). */
struct trap_frame {
	u64 r15, r14, r13, r12, r11, r10, r9, r8;
	u64 rbp, rdi, rsi, rdx, rcx, rbx, rax;
	u64 vector;
	u64 error_code; /* 0 for vectors without one */
	/* Pushed by the CPU (SDM Vol 3 6.14.2: 64-bit mode always pushes SS:RSP). */
	u64 rip, cs, rflags, rsp, ss;
};

/* What CPUID and the capability MSRs say, decoded once on the boot CPU (features.c). */
struct x86_features {
	char vendor[13];
	u32 max_leaf, max_ext_leaf;
	u32 family, model, stepping;
	bool long_mode, nx, apic, x2apic, pdpe1gb, la57, pcid, invpcid;
	bool tsc_deadline, invariant_tsc;
	/*
	 * Page-size change errata (arch/x86_64/pt_format.c). IA32_ARCH_CAPABILITIES is read
	 * only when CPUID.(7,0):EDX[29] reports it (0 otherwise).
	 */
	bool arch_capabilities;
	u64 arch_cap;
	bool itlb_multihit;  /* Intel without PSCHANGE_MC_NO (IA32_ARCH_CAPABILITIES[6]) */
	bool tlb_multimatch; /* AMD family 10h erratum 383 */
	/* VMX (Intel SDM Vol 3 Appendix A). */
	bool vmx;
	bool vmx_locked;  /* IA32_FEATURE_CONTROL.lock */
	bool vmx_enabled; /* locked with "VMX outside SMX" set: usable */
	u32 vmcs_revision;
	u32 vmcs_size; /* IA32_VMX_BASIC[44:32] */
	bool vmcs_wb;  /* IA32_VMX_BASIC[53:50] = 6: the VMCS is accessed write-back */
	bool vmx_true_ctls;
	bool ept, vpid, unrestricted_guest;
	bool vmx_lma_store; /* IA32_VMX_MISC[5]: a VM exit stores EFER.LMA in the entry controls */
	u64 ept_vpid_cap;   /* raw IA32_VMX_EPT_VPID_CAP, 0 when EPT is not allowed */
	bool ept_walk4, ept_walk5, ept_2m, ept_1g, ept_ad, ept_wb;
	bool invept, invept_single, invept_all;
	bool invvpid, invvpid_addr, invvpid_single, invvpid_all;
	/* SVM (AMD APM Vol 2 15.4, CPUID 0x8000000A). */
	bool svm;
	bool svm_disabled; /* VM_CR.SVMDIS set by firmware */
	u32 svm_revision, svm_asids;
	bool npt, nrips, flush_by_asid, vmcb_clean, decode_assists;
	/* Time. */
	u64 tsc_hz;
	const char *tsc_source;
};
extern struct x86_features x86_features;

/* Arch-private per-CPU state; the GS base points at it. */
struct x86_cpu {
	struct x86_cpu *self;
	struct percpu *cpu;
	u32 apic_id;
	/* Fault probes (traps.c): set by the handler when a probed access faults. */
	bool probe_active;
	bool probe_faulted;
	u64 probe_exec_target;
	u64 probe_vector, probe_error, probe_addr;
	/* TSC value the armed one-shot is for, 0 when none (platform.c). */
	u64 timer_deadline;
};
extern struct x86_cpu x86_cpus[];

/* ---- Inline CPU access ---- */
static inline void cpuid_count(u32 leaf, u32 sub, u32 *a, u32 *b, u32 *c, u32 *d)
{
	__asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(sub));
}

static inline u64 rdmsr(u32 msr)
{
	u32 lo, hi;

	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((u64)hi << 32) | lo;
}

static inline void wrmsr(u32 msr, u64 v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((u32)v), "d"((u32)(v >> 32)) : "memory");
}

/* rdmsr that returns false instead of crashing when the MSR does not exist (#GP). */
bool rdmsr_safe(u32 msr, u64 *value);

static inline u64 rdtsc(void)
{
	u32 lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((u64)hi << 32) | lo;
}

#define DEFINE_CR_ACCESS(n)                                                                        \
	static inline u64 read_cr##n(void)                                                         \
	{                                                                                          \
		u64 v;                                                                             \
		__asm__ volatile("mov %%cr" #n ", %0" : "=r"(v));                                  \
		return v;                                                                          \
	}                                                                                          \
	static inline void write_cr##n(u64 v)                                                      \
	{                                                                                          \
		__asm__ volatile("mov %0, %%cr" #n : : "r"(v) : "memory");                         \
	}
DEFINE_CR_ACCESS(0)
DEFINE_CR_ACCESS(2)
DEFINE_CR_ACCESS(3)
DEFINE_CR_ACCESS(4)

static inline void outb(u16 port, u8 v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outl(u16 port, u32 v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline u8 inb(u16 port)
{
	u8 v;

	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline void invlpg(u64 va)
{
	__asm__ volatile("invlpg (%0)" : : "r"(va) : "memory");
}

/* ---- Between the files of arch/x86_64 ---- */
void x86_gdt_init_cpu(unsigned cpu);
void x86_idt_init(void);
void x86_idt_load(void);
void x86_percpu_init(unsigned cpu, struct percpu *pc);
void x86_features_detect(void);
void x86_tsc_calibrate(void);
void x86_trap(struct trap_frame *f);
struct x86_cpu *x86_this_cpu(void);
void x86_timer_irq(void);
void x86_ipi_irq(unsigned type);
/* The per-CPU half of the platform: LAPIC enable, LINT masks, timer vector. */
void x86_platform_cpu_init(void);
/* Loads the kernel's CR0/CR4/EFER/CR3 on a secondary (copies of the boot CPU's). */
struct x86_mmu_regs {
	u64 cr0, cr3, cr4, efer;
};
extern struct x86_mmu_regs x86_mmu;
/* Reads the MADT while the boot identity map is live (smp.c). */
void x86_acpi_init(struct boot_info *bi);
/* Busy-waits for at least us microseconds on the TSC. */
void x86_udelay(u64 us);
/* A problem the boot stub found in the loader's data, printed once the console is up. */
extern const char *x86_boot_warning;
/* Saved boot_info, for SMP start (trampoline page) and ACPI. */
extern struct boot_info *x86_boot_info;

#endif
