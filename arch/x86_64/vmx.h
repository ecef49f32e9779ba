/* SPDX-License-Identifier: MIT */
/*
 * The Intel VMX backend, private to arch/x86_64: VMCS field encodings (SDM
 * Vol. 3C Appendix B), the VMX instructions as inline functions (chapter 30)
 * and the world switch (vmx_switch.S). Section numbers are those of the SDM
 * editions up to 2022 (chapter 24 "Virtual Machine Control Structures" ...
 * 28 "VMX Support for Address Translation"); later editions add one.
 */
#ifndef ARCH_X86_64_VMX_H
#define ARCH_X86_64_VMX_H

#include "arch/x86_64/vm_common.h"

/* Natural-width host-state fields the world switch writes (Table B-14). */
#define VMCS_HOST_RSP 0x6c14

/* vmx_world_switch() results: a VM exit, or VMLAUNCH / VMRESUME failed (30.2). */
#define VMX_SWITCH_EXIT		0
#define VMX_SWITCH_FAIL_INVALID 1 /* VMfailInvalid: no current VMCS */
#define VMX_SWITCH_FAIL_VALID	2 /* VMfailValid: the VM-instruction error field says why */

#ifndef __ASSEMBLER__
#include "lib/types.h"

/* 16-bit fields (Tables B-1 to B-3). */
#define VMCS_VPID	  0x0000
#define VMCS_GUEST_ES_SEL 0x0800 /* + 2 * segment: ES CS SS DS FS GS LDTR TR */
#define VMCS_HOST_ES_SEL  0x0c00
#define VMCS_HOST_CS_SEL  0x0c02
#define VMCS_HOST_SS_SEL  0x0c04
#define VMCS_HOST_DS_SEL  0x0c06
#define VMCS_HOST_FS_SEL  0x0c08
#define VMCS_HOST_GS_SEL  0x0c0a
#define VMCS_HOST_TR_SEL  0x0c0c
/* 64-bit fields (Tables B-4 to B-7). */
#define VMCS_MSR_BITMAP	    0x2004
#define VMCS_EPTP	    0x201a
#define VMCS_GUEST_PHYS	    0x2400
#define VMCS_LINK_POINTER   0x2800
#define VMCS_GUEST_DEBUGCTL 0x2802
#define VMCS_GUEST_EFER	    0x2806
#define VMCS_HOST_EFER	    0x2c02
/* 32-bit fields (Tables B-8 to B-11). */
#define VMCS_PIN_CTLS	       0x4000
#define VMCS_PROC_CTLS	       0x4002
#define VMCS_EXCEPTION_BITMAP  0x4004
#define VMCS_CR3_TARGET_COUNT  0x400a
#define VMCS_EXIT_CTLS	       0x400c
#define VMCS_ENTRY_CTLS	       0x4012
#define VMCS_ENTRY_INTR_INFO   0x4016
#define VMCS_ENTRY_EXC_ERROR   0x4018
#define VMCS_ENTRY_INSN_LEN    0x401a
#define VMCS_PROC_CTLS2	       0x401e
#define VMCS_INSN_ERROR	       0x4400
#define VMCS_EXIT_REASON       0x4402
#define VMCS_EXIT_INTR_INFO    0x4404
#define VMCS_IDT_VECT_INFO     0x4408
#define VMCS_IDT_VECT_ERROR    0x440a
#define VMCS_EXIT_INSN_LEN     0x440c
#define VMCS_GUEST_ES_LIMIT    0x4800 /* + 2 * segment */
#define VMCS_GUEST_GDTR_LIMIT  0x4810
#define VMCS_GUEST_IDTR_LIMIT  0x4812
#define VMCS_GUEST_ES_AR       0x4814 /* + 2 * segment */
#define VMCS_GUEST_INTR_STATE  0x4824
#define VMCS_GUEST_ACTIVITY    0x4826
#define VMCS_GUEST_SYSENTER_CS 0x482a
#define VMCS_HOST_SYSENTER_CS  0x4c00
/* Natural-width fields (Tables B-12 to B-14). */
#define VMCS_CR0_MASK		0x6000
#define VMCS_CR4_MASK		0x6002
#define VMCS_CR0_SHADOW		0x6004
#define VMCS_CR4_SHADOW		0x6006
#define VMCS_EXIT_QUAL		0x6400
#define VMCS_GUEST_LINEAR	0x640a
#define VMCS_GUEST_CR0		0x6800
#define VMCS_GUEST_CR3		0x6802
#define VMCS_GUEST_CR4		0x6804
#define VMCS_GUEST_ES_BASE	0x6806 /* + 2 * segment */
#define VMCS_GUEST_GDTR_BASE	0x6816
#define VMCS_GUEST_IDTR_BASE	0x6818
#define VMCS_GUEST_DR7		0x681a
#define VMCS_GUEST_RSP		0x681c
#define VMCS_GUEST_RIP		0x681e
#define VMCS_GUEST_RFLAGS	0x6820
#define VMCS_GUEST_PENDING_DBG	0x6822
#define VMCS_GUEST_SYSENTER_ESP 0x6824
#define VMCS_GUEST_SYSENTER_EIP 0x6826
#define VMCS_HOST_CR0		0x6c00
#define VMCS_HOST_CR3		0x6c02
#define VMCS_HOST_CR4		0x6c04
#define VMCS_HOST_FS_BASE	0x6c06
#define VMCS_HOST_GS_BASE	0x6c08
#define VMCS_HOST_TR_BASE	0x6c0a
#define VMCS_HOST_GDTR_BASE	0x6c0c
#define VMCS_HOST_IDTR_BASE	0x6c0e
#define VMCS_HOST_SYSENTER_ESP	0x6c10
#define VMCS_HOST_SYSENTER_EIP	0x6c12
#define VMCS_HOST_RIP		0x6c16

/* The VMX instructions; each returns false on VMfailInvalid or VMfailValid (CF or ZF, 30.2). */
static inline bool vmx_vmxon(u64 pa)
{
	bool fail;

	__asm__ volatile("vmxon %1; setna %0" : "=qm"(fail) : "m"(pa) : "cc", "memory");
	return !fail;
}

static inline bool vmx_vmclear(u64 pa)
{
	bool fail;

	__asm__ volatile("vmclear %1; setna %0" : "=qm"(fail) : "m"(pa) : "cc", "memory");
	return !fail;
}

static inline bool vmx_vmptrld(u64 pa)
{
	bool fail;

	__asm__ volatile("vmptrld %1; setna %0" : "=qm"(fail) : "m"(pa) : "cc", "memory");
	return !fail;
}

static inline bool vmx_vmwrite(u64 field, u64 value)
{
	bool fail;

	__asm__ volatile("vmwrite %2, %1; setna %0"
			 : "=qm"(fail)
			 : "r"(field), "rm"(value)
			 : "cc", "memory");
	return !fail;
}

/* A field of the current VMCS; 0 if it cannot be read (only for fields every CPU has). */
static inline u64 vmx_vmread(u64 field)
{
	u64 value = 0;

	__asm__ volatile("vmread %1, %0" : "+rm"(value) : "r"(field) : "cc");
	return value;
}

/* INVEPT and INVVPID take a type in a register and a 128-bit descriptor (30.3). */
struct vmx_inv_desc {
	u64 a, b;
};

static inline bool vmx_invept(u64 type, u64 eptp)
{
	struct vmx_inv_desc d = {eptp, 0};
	bool fail;

	__asm__ volatile("invept %1, %2; setna %0"
			 : "=qm"(fail)
			 : "m"(d), "r"(type)
			 : "cc", "memory");
	return !fail;
}

static inline bool vmx_invvpid(u64 type, u16 vpid)
{
	struct vmx_inv_desc d = {vpid, 0};
	bool fail;

	__asm__ volatile("invvpid %1, %2; setna %0"
			 : "=qm"(fail)
			 : "m"(d), "r"(type)
			 : "cc", "memory");
	return !fail;
}

/*
 * Enters the guest on the current VMCS (vmx_switch.S): VMLAUNCH when
 * launched is false, else VMRESUME, with g's registers; at the VM exit
 * (HOST_RIP = vmx_exit_entry) stores them back. Writes HOST_RSP itself.
 * Called with interrupts masked; returns with them masked (a VM exit clears
 * RFLAGS.IF, 27.5.3), any interrupt that exited the guest still pending.
 * Returns VMX_SWITCH_*.
 */
int vmx_world_switch(struct x86_gprs *g, bool launched);
extern const char vmx_exit_entry[];
#endif

#endif
