/* SPDX-License-Identifier: MIT */
/*
 * The AMD SVM backend, private to arch/x86_64: the VMCB layout (AMD APM Vol. 2
 * Appendix B, "Layout of VMCB"), the exit codes granule decodes (Appendix C,
 * "SVM Intercept Exit Codes"), and the guest registers the world switch
 * (svm_switch.S) moves because VMRUN does not (15.5.1: only RAX, RSP, RIP
 * and RFLAGS of the general state are in the VMCB).
 */
#ifndef ARCH_X86_64_SVM_H
#define ARCH_X86_64_SVM_H

#include "arch/x86_64/vm_common.h"

#ifndef __ASSEMBLER__
#include "lib/types.h"

/* A segment in the state save area: attrib packs descriptor bits 47:40 and 55:52 (B.2). */
struct svm_seg {
	u16 selector;
	u16 attrib;
	u32 limit;
	u64 base;
};

/* Control area (Table B-1), the fields granule uses; the rest stays 0. */
struct svm_control {
	u16 cr_read, cr_write;
	u16 dr_read, dr_write;
	u32 exceptions;
	u32 intercepts3; /* offset 0x00c: INTR ... SHUTDOWN */
	u32 intercepts4; /* offset 0x010: VMRUN ... XSETBV */
	u32 intercepts5;
	u8 reserved_018[0x03c - 0x018];
	u16 pause_filter_threshold, pause_filter_count;
	u64 iopm_base_pa;  /* 0x040 */
	u64 msrpm_base_pa; /* 0x048 */
	u64 tsc_offset;	   /* 0x050 */
	u32 asid;	   /* 0x058 */
	u8 tlb_control;	   /* 0x05c */
	u8 reserved_05d[3];
	u64 int_control;     /* 0x060: V_TPR, V_IRQ, V_INTR_MASKING (bit 24), ... */
	u64 int_state;	     /* 0x068: bit 0 interrupt shadow */
	u64 exit_code;	     /* 0x070 */
	u64 exit_info1;	     /* 0x078 */
	u64 exit_info2;	     /* 0x080 */
	u64 exit_int_info;   /* 0x088 */
	u64 np_control;	     /* 0x090: bit 0 NP_ENABLE */
	u64 avic_apic_bar;   /* 0x098 */
	u64 ghcb_pa;	     /* 0x0a0 */
	u64 event_inj;	     /* 0x0a8 */
	u64 ncr3;	     /* 0x0b0 */
	u64 virt_ext;	     /* 0x0b8 */
	u32 clean, reserved; /* 0x0c0 */
	u64 next_rip;	     /* 0x0c8: nRIP, with NRIPS */
	u8 insn_len;	     /* 0x0d0 */
	u8 insn_bytes[15];
	u8 reserved_0e0[0x400 - 0x0e0];
};

/* State save area (Table B-2), at VMCB offset 0x400. */
struct svm_save {
	struct svm_seg es, cs, ss, ds, fs, gs, gdtr, ldtr, idtr, tr;
	u8 reserved_0a0[0x0cb - 0x0a0];
	u8 cpl;
	u32 reserved_0cc;
	u64 efer; /* 0x0d0 */
	u8 reserved_0d8[0x148 - 0x0d8];
	u64 cr4, cr3, cr0, dr7, dr6, rflags, rip; /* 0x148 ... 0x178 */
	u8 reserved_180[0x1d8 - 0x180];
	u64 rsp; /* 0x1d8 */
	u64 s_cet, ssp, isst_addr;
	u64 rax; /* 0x1f8 */
	u64 star, lstar, cstar, sfmask, kernel_gs_base;
	u64 sysenter_cs, sysenter_esp, sysenter_eip;
	u64 cr2; /* 0x240 */
	u8 reserved_248[0x268 - 0x248];
	u64 g_pat; /* 0x268 */
	u64 dbgctl, br_from, br_to, last_excp_from, last_excp_to;
	u8 reserved_298[0x300 - 0x298];
};

/* What a vCPU keeps of its VMCB between runs: everything the processor defines. */
struct svm_vmcb {
	struct svm_control control;
	struct svm_save save;
};

_Static_assert(__builtin_offsetof(struct svm_control, iopm_base_pa) == 0x040, "APM B-1");
_Static_assert(__builtin_offsetof(struct svm_control, asid) == 0x058, "APM B-1");
_Static_assert(__builtin_offsetof(struct svm_control, exit_code) == 0x070, "APM B-1");
_Static_assert(__builtin_offsetof(struct svm_control, event_inj) == 0x0a8, "APM B-1");
_Static_assert(__builtin_offsetof(struct svm_control, next_rip) == 0x0c8, "APM B-1");
_Static_assert(sizeof(struct svm_control) == 0x400, "APM B-1");
_Static_assert(__builtin_offsetof(struct svm_save, cpl) == 0x0cb, "APM B-2");
_Static_assert(__builtin_offsetof(struct svm_save, efer) == 0x0d0, "APM B-2");
_Static_assert(__builtin_offsetof(struct svm_save, cr4) == 0x148, "APM B-2");
_Static_assert(__builtin_offsetof(struct svm_save, rip) == 0x178, "APM B-2");
_Static_assert(__builtin_offsetof(struct svm_save, rsp) == 0x1d8, "APM B-2");
_Static_assert(__builtin_offsetof(struct svm_save, rax) == 0x1f8, "APM B-2");
_Static_assert(__builtin_offsetof(struct svm_save, cr2) == 0x240, "APM B-2");
_Static_assert(__builtin_offsetof(struct svm_save, g_pat) == 0x268, "APM B-2");

/*
 * Enters the guest whose VMCB is at vmcb_pa (svm_switch.S): saves the host's
 * VMSAVE state at host_save_pa, loads the guest's with VMLOAD, VMRUNs, and at
 * #VMEXIT saves the guest's back and restores the host's. g holds the guest
 * registers the VMCB does not (RAX is in the VMCB: svm.c copies it). Called
 * with interrupts masked; returns with them masked, any interrupt that
 * exited the guest still pending.
 */
void svm_world_switch(struct x86_gprs *g, u64 vmcb_pa, u64 host_save_pa);
#endif

#endif
