/* SPDX-License-Identifier: MIT */
/*
 * The arm64 EL2 virtualization backend, private to arch/arm64: the vCPU
 * register context that vm_switch.S loads and saves (offsets shared with the
 * assembler), and the EL2 control register values.
 */
#ifndef ARCH_ARM64_VM_H
#define ARCH_ARM64_VM_H

/* struct arm64_vcpu_ctx offsets, for vm_switch.S. */
#define VCPU_X	    0	/* x0..x30 */
#define VCPU_SP_EL0 248 /* then ELR_EL2 (guest PC) */
#define VCPU_SPSR   264 /* SPSR_EL2 (guest PSTATE), then PAR_EL1 */
#define VCPU_ESR    280 /* ESR_EL2, then FAR_EL2: the exit syndrome */
#define VCPU_HPFAR  296
#define VCPU_FPSR   304 /* then FPCR */
#define VCPU_V	    320 /* q0..q31, 16-byte aligned */

/* Lower-EL AArch64 vector entries (Arm ARM D1.10.2): what arm64_vm_enter() returns. */
#define VEC_LOWER_SYNC	 8
#define VEC_LOWER_IRQ	 9
#define VEC_LOWER_FIQ	 10
#define VEC_LOWER_SERROR 11

#ifndef __ASSEMBLER__
#include "lib/types.h"

/*
 * What the world switch itself moves: general and FP/SIMD registers, the
 * ERET state, SP_EL0 and PAR_EL1 (the host's exception entry uses both as
 * scratch, so they are saved before any host code can fault), and the exit
 * syndrome registers, read before anything else can overwrite them.
 */
struct arm64_vcpu_ctx {
	u64 x[31];
	u64 sp_el0;
	u64 pc;	    /* ELR_EL2 */
	u64 pstate; /* SPSR_EL2 */
	u64 par_el1;
	u64 esr, far, hpfar;
	u64 fpsr, fpcr;
	u64 v[64] __aligned(16);
};

_Static_assert(__builtin_offsetof(struct arm64_vcpu_ctx, sp_el0) == VCPU_SP_EL0, "vm_switch.S");
_Static_assert(__builtin_offsetof(struct arm64_vcpu_ctx, pc) == VCPU_SP_EL0 + 8, "vm_switch.S");
_Static_assert(__builtin_offsetof(struct arm64_vcpu_ctx, pstate) == VCPU_SPSR, "vm_switch.S");
_Static_assert(__builtin_offsetof(struct arm64_vcpu_ctx, par_el1) == VCPU_SPSR + 8, "vm_switch.S");
_Static_assert(__builtin_offsetof(struct arm64_vcpu_ctx, esr) == VCPU_ESR, "vm_switch.S");
_Static_assert(__builtin_offsetof(struct arm64_vcpu_ctx, hpfar) == VCPU_HPFAR, "vm_switch.S");
_Static_assert(__builtin_offsetof(struct arm64_vcpu_ctx, fpsr) == VCPU_FPSR, "vm_switch.S");
_Static_assert(__builtin_offsetof(struct arm64_vcpu_ctx, v) == VCPU_V, "vm_switch.S");

/* The guest's EL1 registers: granule never runs at EL1; they move at load and put only. */
struct arm64_el1_regs {
	u64 sctlr, tcr, ttbr0, ttbr1, mair, amair, vbar, contextidr;
	u64 esr, far, elr, spsr, sp_el1, afsr0, afsr1;
	u64 tpidr_el1, tpidr_el0, tpidrro_el0, cpacr, cntkctl;
};

/*
 * Enters the guest whose context is ctx (vm_switch.S) and returns, at its next
 * exit, the vector entry that took it (VEC_LOWER_*), with ctx saved.
 */
u64 arm64_vm_enter(struct arm64_vcpu_ctx *ctx);
/* The context of the vCPU running on each CPU (by percpu id), 0 when none: vm_switch.S reads it. */
extern struct arm64_vcpu_ctx *arm64_vm_running[];
#endif

#endif
