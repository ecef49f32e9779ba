/* SPDX-License-Identifier: MIT */
/* Private interface between the files of arch/arm64 (and boot/arm64, uefi on arm64). */
#ifndef ARCH_ARM64_ARM64_H
#define ARCH_ARM64_ARM64_H

#include "lib/types.h"

struct boot_info;

/* CPU features read from the ID registers once, on the boot CPU. */
struct arm64_features {
	unsigned entry_el;   /* 1 or 2 */
	unsigned bbm_level;  /* ID_AA64MMFR2_EL1.BBM: 0, 1 or 2 */
	unsigned pa_bits;    /* decoded ID_AA64MMFR0_EL1.PARange */
	unsigned parange;    /* the raw field, for TCR/VTCR PS */
	unsigned vmid_bits;  /* 8 or 16 */
	unsigned tlbi_range; /* ID_AA64ISAR0_EL1.TLB: 0 none, 1 TLBI OS, 2 OS + range */
	bool ttl;	     /* FEAT_TTL */
	bool vhe;	     /* FEAT_VHE */
	bool gran4k;	     /* 4K granule at stage 1 */
	bool lpa2;	     /* FEAT_LPA2 with the 4K granule: 52-bit VA and PA (TCR.DS) */
};
extern struct arm64_features arm64_features;

/* The saved register state of an exception (vectors.S builds it). */
struct exception_frame {
	u64 x[31];
	u64 sp;
	u64 elr;
	u64 spsr;
	u64 esr;
	u64 far;
};

/* Register values a secondary CPU loads to join the boot CPU's address space. */
struct arm64_mmu_regs {
	u64 mair;
	u64 tcr;
	u64 ttbr0;
	u64 sctlr;
};

/* Boot CPU set-up done before the DTB is read: vectors, FP, HCR, per-CPU 0. */
void arm64_boot_cpu_setup(unsigned entry_el);
/* Early console at the build-time EARLYCON address (no-op when disabled). */
void arm64_earlycon_init(void);
/* Finds and registers the DTB's console; returns false when there is none. */
bool arm64_console_init(const void *fdt);
/* Sets up exception vectors and FP access on the running CPU. */
void arm64_cpu_init_common(void);
void arm64_install_vectors(void);

/*
 * Brackets one instruction at pc that may be undefined on this machine; end
 * returns true when it trapped (and was skipped).
 */
void arm64_try_insn_begin(u64 pc);
bool arm64_try_insn_end(void);

/* Exit paths that need nothing but the CPU: semihosting and PSCI. */
__noreturn void arm64_exit(int status, bool semihosting);

/* The MMU registers the boot CPU uses; valid once arch_kernel_pt_activate() ran. */
extern struct arm64_mmu_regs arm64_mmu;
/* Loads regs on this CPU (MMU off or on): mmu.S. */
void arm64_mmu_switch(const struct arm64_mmu_regs *regs);

/* Interrupt dispatch (platform.c) and the C side of vectors.S. */
/* Data-cache maintenance by VA to the Point of Coherency (arch/arm64/cache.c). */
enum arm64_dcache_op {
	DCACHE_CLEAN,	    /* DC CVAC: memory gets what the caches hold */
	DCACHE_INVAL,	    /* DC IVAC: the next read comes from memory */
	DCACHE_CLEAN_INVAL, /* DC CIVAC: both */
};
/* op on every line [start, start + size) touches, completed (DSB SY) on return. */
void arm64_dcache_poc(enum arm64_dcache_op op, u64 start, u64 size);

void arm64_handle_irq(struct exception_frame *f);
void arm64_handle_sync(struct exception_frame *f);
void arm64_handle_unexpected(struct exception_frame *f, u64 kind);
/* The per-CPU part of the platform (GIC redistributor, CPU interface, timer). */
void arm64_platform_cpu_init(void);

/* Secondary entry (head.S) and its argument block. */
struct arm64_secondary_boot {
	struct arm64_mmu_regs mmu;
	u64 stack_top;
	u64 percpu; /* struct percpu * */
	u64 vbar;
	u64 entry_el;
};
void arm64_secondary_entry(void);
__noreturn void arm64_secondary_c_entry(void);

/* PSCI (psci.c). */
enum psci_conduit { PSCI_NONE, PSCI_SMC, PSCI_HVC };
void psci_init(const void *fdt);
s64 psci_call(u64 fn, u64 a1, u64 a2, u64 a3);
extern enum psci_conduit psci_conduit;

/* What the boot path described (arch_early_init keeps it). */
extern const struct boot_info *arm64_boot_info;

/* The DTB as the arch code sees it (identity before kmap_init, direct map after). */
const void *arm64_fdt(void);

#endif
