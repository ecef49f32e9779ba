/* SPDX-License-Identifier: MIT */
/*
 * What the two x86 virtualization backends (svm.c: AMD SVM + NPT, vmx.c:
 * Intel VMX + EPT) share, private to arch/x86_64: the guest register file the
 * world switches move, the guest's x87/SSE state, the PVH-like entry state,
 * CPUID emulation, hypercall and abort encoding, identifier (ASID / VPID)
 * allocation with the cross-CPU TLB generations, and the ops table through
 * which vm.c picks a backend at run time.
 */
#ifndef ARCH_X86_64_VM_COMMON_H
#define ARCH_X86_64_VM_COMMON_H

#include "arch/x86_64/x86_asm.h"

/* struct x86_gprs offsets, for svm_switch.S and vmx_switch.S. */
#define X86_GPR_RAX 0
#define X86_GPR_RBX 8
#define X86_GPR_RCX 16
#define X86_GPR_RDX 24
#define X86_GPR_RSI 32
#define X86_GPR_RDI 40
#define X86_GPR_RBP 48
#define X86_GPR_R8  56
#define X86_GPR_R9  64
#define X86_GPR_R10 72
#define X86_GPR_R11 80
#define X86_GPR_R12 88
#define X86_GPR_R13 96
#define X86_GPR_R14 104
#define X86_GPR_R15 112

#ifdef __ASSEMBLER__
/* clang-format off */
/* The System V callee-saved registers a world switch keeps across the guest. */
.macro PUSH_CALLEE_SAVED
	pushq	%rbp
	pushq	%rbx
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
.endm

.macro POP_CALLEE_SAVED
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%rbx
	popq	%rbp
.endm

/* Loads the guest's GPRs but RAX from the x86_gprs at %rdi, %rdi itself last. */
.macro LOAD_GUEST_GPRS
	movq	X86_GPR_RBX(%rdi), %rbx
	movq	X86_GPR_RCX(%rdi), %rcx
	movq	X86_GPR_RDX(%rdi), %rdx
	movq	X86_GPR_RSI(%rdi), %rsi
	movq	X86_GPR_RBP(%rdi), %rbp
	movq	X86_GPR_R8(%rdi), %r8
	movq	X86_GPR_R9(%rdi), %r9
	movq	X86_GPR_R10(%rdi), %r10
	movq	X86_GPR_R11(%rdi), %r11
	movq	X86_GPR_R12(%rdi), %r12
	movq	X86_GPR_R13(%rdi), %r13
	movq	X86_GPR_R14(%rdi), %r14
	movq	X86_GPR_R15(%rdi), %r15
	movq	X86_GPR_RDI(%rdi), %rdi
.endm

/*
 * After an exit, with the x86_gprs pointer on top of the stack: stores the
 * guest's GPRs but RAX there, leaving the pointer in %rdi and the stack popped.
 */
.macro STORE_GUEST_GPRS
	xchgq	%rdi, (%rsp)		/* g, and the guest's RDI on the stack */
	movq	%rbx, X86_GPR_RBX(%rdi)
	movq	%rcx, X86_GPR_RCX(%rdi)
	movq	%rdx, X86_GPR_RDX(%rdi)
	movq	%rsi, X86_GPR_RSI(%rdi)
	movq	%rbp, X86_GPR_RBP(%rdi)
	movq	%r8, X86_GPR_R8(%rdi)
	movq	%r9, X86_GPR_R9(%rdi)
	movq	%r10, X86_GPR_R10(%rdi)
	movq	%r11, X86_GPR_R11(%rdi)
	movq	%r12, X86_GPR_R12(%rdi)
	movq	%r13, X86_GPR_R13(%rdi)
	movq	%r14, X86_GPR_R14(%rdi)
	movq	%r15, X86_GPR_R15(%rdi)
	popq	X86_GPR_RDI(%rdi)
.endm
/* clang-format on */
#endif

#ifndef __ASSEMBLER__
#include "arch/arch.h"
#include "lib/types.h"
#include "vmm/exit.h"

	struct pt_format;

/*
 * The guest's general registers that neither VMRUN nor VM entry loads (RSP
 * and RIP are in the VMCB / VMCS on both; RAX is in the VMCB on SVM only,
 * svm.c copies it in and out around VMRUN so that both backends read RAX here).
 */
struct x86_gprs {
	u64 rax, rbx, rcx, rdx, rsi, rdi, rbp;
	u64 r8, r9, r10, r11, r12, r13, r14, r15;
};

_Static_assert(__builtin_offsetof(struct x86_gprs, rdi) == X86_GPR_RDI, "world switch");
_Static_assert(__builtin_offsetof(struct x86_gprs, r15) == X86_GPR_R15, "world switch");

/* The legacy FXSAVE area (x87, MXCSR, XMM0-15): 512 bytes, 16-byte aligned (SDM Vol. 1 10.5.1). */
struct x86_fx {
	u16 fcw, fsw;
	u8 ftw, reserved1;
	u16 fop;
	u64 fip, fdp;
	u32 mxcsr, mxcsr_mask;
	u8 rest[512 - 32];
} __aligned(16);

_Static_assert(sizeof(struct x86_fx) == 512, "FXSAVE area");

/* Reset values of the x87/SSE state a new vCPU starts with (FNINIT, MXCSR power-on). */
void x86_fx_init(struct x86_fx *fx);
/* Saves the CPU's x87/SSE registers to fx, or loads them from it. Interrupts masked. */
void x86_fx_move(struct x86_fx *fx, bool save);

/*
 * The PVH-like entry state (docs/hypercalls.md "Entry state", x86-64): 32-bit
 * protected mode, paging off, flat segments, CPL 0, no GDT or IDT of the
 * guest's own. Attributes pack descriptor bits 47:40 into 7:0 and 55:52 into
 * 11:8, as the VMCB does (APM Vol. 2 Table B-2); vmx.c moves 11:8 to 15:12.
 */
#define X86_SEG_CODE32	 0xc9b /* G, D, P, S, execute/read, accessed */
#define X86_SEG_DATA32	 0xc93 /* G, B, P, S, read/write, accessed */
#define X86_SEG_TSS32	 0x08b /* P, 32-bit busy TSS */
#define X86_SEG_LDT	 0x082 /* P, LDT */
#define X86_PVH_CS	 0x08
#define X86_PVH_DS	 0x10
#define X86_PVH_LIMIT	 0xffffffffu
#define X86_SYS_LIMIT	 0xffff /* TR and LDTR: byte-granular */
#define X86_CR0_ET	 BIT(4)
#define X86_CR0_NE	 BIT(5)
#define X86_PVH_CR0	 (CR0_PE | X86_CR0_ET)
#define X86_RFLAGS_FIXED BIT(1)
#define X86_RFLAGS_IF	 BIT(9)
#define X86_DR6_INIT	 0xffff0ff0
#define X86_DR7_INIT	 0x400
#define X86_EFER_LMA	 BIT(10)
#define X86_PAT_DEFAULT	 0x0007040600070406ULL /* the power-on PAT (SDM Vol. 3A 11.12.4) */
#define X86_CS_ATTR_L	 BIT(9)		       /* long-mode code, in the packed attributes */
#define X86_VEC_UD	 6
#define X86_VEC_PF	 14
#define X86_VEC_NMI	 2

/*
 * Event injection: the VMCB's EVENTINJ (APM Vol. 2 15.20) and the VMCS's
 * VM-entry interruption-information field (SDM Vol. 3C 24.8.3) share this
 * layout in their low 32 bits: vector, type, error code valid, valid.
 */
#define X86_EVENT_VALID	      BIT(31)
#define X86_EVENT_ERROR_VALID BIT(11)
#define X86_EVENT_TYPE_EXCEPT (3u << 8)

/* #PF error code bits (SDM Vol. 3A 4.7). */
#define X86_PFERR_P    BIT(0)
#define X86_PFERR_W    BIT(1)
#define X86_PFERR_U    BIT(2)
#define X86_PFERR_RSVD BIT(3)
#define X86_PFERR_ID   BIT(4)

/* Splits the four entry arguments into 32-bit register halves (svm.c and vmx.c headers). */
void x86_guest_entry_regs(struct x86_gprs *g, const u64 args[4]);
/* A register as the guest sees it: 64 bits in 64-bit mode, else the low 32. */
static inline u64 x86_guest_reg(u64 value, bool long64)
{
	return long64 ? value : (u32)value;
}
/* VMCALL / VMMCALL: rax = call, rdi, rsi, rdx = arguments (docs/hypercalls.md). */
void x86_decode_hypercall(const struct x86_gprs *g, bool long64, struct vm_exit *e);
/* Answers the CPUID in g (leaf rax, subleaf rcx) as granule presents the CPU to guests. */
void x86_emulate_cpuid(struct x86_gprs *g);
/* The #PF error code of an injected abort for the stage-2 fault f (svm.c's inject_abort). */
u32 x86_abort_error(const struct vm_exit_fault *f, bool user);

/*
 * Guest identifiers (SVM ASIDs, VMX VPIDs): 0 is the host's on both (APM
 * 15.16, SDM 28.1), so ids run from 1 to below limit, at most X86_VM_IDS.
 * Each id has a generation of its stage-2 tables: x86_vm_id_flush() bumps it
 * and kicks (IPI, then waits for an exit of) every other CPU running the id
 * now; x86_vm_id_enter() publishes the id as running on cpu and says whether
 * this CPU must drop the id's cached translations before entering, because
 * the generation moved since its last flush. x86_vm_id_exit() after the exit.
 */
#define X86_VM_IDS 256
u32 x86_vm_id_alloc(u32 limit);
void x86_vm_id_free(u32 id);
void x86_vm_id_flush(u32 id);
bool x86_vm_id_enter(unsigned cpu, u32 id);
void x86_vm_id_exit(unsigned cpu);

/* The kernel image runs at VA == PA (linker/x86_64.ld). */
static inline u64 x86_image_pa(const void *p)
{
	return (u64)(uintptr_t)p;
}

/*
 * One backend's implementation of arch.h's virtualization interface; vm.c
 * forwards each arch_vm_* / arch_vcpu_* call to the backend picked once.
 */
struct x86_vm_backend {
	const char *name;
	/* Backend-specific checks once the CPU has the extension: false with a reason. */
	bool (*usable)(const char **reason);
	int (*format_init)(struct pt_format *fmt, unsigned want_bits);
	int (*vm_init)(struct arch_vm *avm, const struct pt_format *fmt, paddr_t root);
	void (*vm_destroy)(struct arch_vm *avm);
	void (*tlb_flush_all)(const struct arch_vm *avm);
	size_t vcpu_size;
	void (*vcpu_init)(struct arch_vcpu *v, const struct arch_vm *avm, u64 entry,
			  const u64 args[4]);
	void (*vcpu_load)(struct arch_vcpu *v);
	void (*vcpu_put)(struct arch_vcpu *v);
	int (*vcpu_run)(struct arch_vcpu *v, struct vm_exit *exit);
	void (*vcpu_set_result)(struct arch_vcpu *v, u64 value);
	int (*vcpu_inject_abort)(struct arch_vcpu *v, const struct vm_exit *exit);
};

extern const struct x86_vm_backend x86_svm_backend;
extern const struct x86_vm_backend x86_vmx_backend;
#endif

#endif
