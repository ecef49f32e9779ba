/* SPDX-License-Identifier: MIT */
/*
 * The Intel VMX virtualization backend (SDM Vol. 3C chapters 23-28; section
 * numbers as in vmx.h): capability checks from the VMX MSRs (Appendix A),
 * VMXON per CPU, one VMCS per CPU that the loaded vCPU runs from, EPT on the
 * engine's tables, VPIDs, INVEPT after stage-2 changes, exit decoding into
 * the common exit record (vmm/exit.h) and fault injection. Generic code
 * reaches it through arch/arch.h and vm.c's ops table (x86_vmx_backend);
 * what it shares with the SVM backend is in vm_common.c.
 *
 * The guest enters in the PVH-like state svm.c gives it (docs/hypercalls.md
 * "Entry state"): 32-bit protected mode with paging off, which VMX allows
 * only with "unrestricted guest" (26.3.1.1: CR0.PG may be 0 then). It turns
 * on long mode itself through EFER (not intercepted, switched by the
 * "load/save IA32_EFER" controls) and CR0.PG.
 *
 * Why a VMCS per CPU rather than per vCPU: the vCPU state is one page
 * (vmm/vcpu.c) with nothing to free it but the page itself, and a VMCS must
 * be a region of its own (24.2). So, as svm.c does with its VMCB, load makes
 * the CPU's VMCS current (VMCLEAR, VMPTRLD: 24.11.3) and writes the vCPU's
 * state into it, runs VMLAUNCH first and VMRESUME after, and put reads the
 * guest state back and VMCLEARs it. Load and put come once per vcpu_run().
 */
#include "arch/arch.h"
#include "arch/pt_format.h"
#include "arch/x86_64/vm_common.h"
#include "arch/x86_64/vmx.h"
#include "arch/x86_64/x86.h"
#include "kernel/percpu.h"
#include "lib/printf.h"
#include "lib/string.h"
#include "vmm/exit.h"

/* MSRs (Appendix A, and Vol. 4 for the others). */
#define MSR_VMX_PINBASED_CTLS	   0x481
#define MSR_VMX_EXIT_CTLS	   0x483
#define MSR_VMX_ENTRY_CTLS	   0x484
#define MSR_VMX_CR0_FIXED0	   0x486
#define MSR_VMX_CR0_FIXED1	   0x487
#define MSR_VMX_CR4_FIXED0	   0x488
#define MSR_VMX_CR4_FIXED1	   0x489
#define MSR_VMX_TRUE_PINBASED_CTLS 0x48d
#define MSR_VMX_TRUE_EXIT_CTLS	   0x48f
#define MSR_VMX_TRUE_ENTRY_CTLS	   0x490
#define MSR_FS_BASE		   0xc0000100
#define MSR_KERNEL_GS_BASE	   0xc0000102
#define MSR_SYSENTER_CS		   0x174
#define MSR_SYSENTER_ESP	   0x175
#define MSR_SYSENTER_EIP	   0x176
#define FEATURE_CONTROL_LOCK	   BIT(0)
#define FEATURE_CONTROL_VMXON	   BIT(2) /* VMXON outside SMX (23.7) */
#define CR4_VMXE		   BIT(13)
#define VMX_BASIC_SIZE(b)	   (((b) >> 32) & 0x1fff)
#define VMX_BASIC_MEMTYPE(b)	   (((b) >> 50) & 0xf)
#define VMX_BASIC_TRUE_CTLS	   BIT(55)
#define MEMTYPE_WB		   6

/* Pin-based controls (24.6.1, Table 24-5). */
#define PIN_EXT_INT_EXIT BIT(0)
#define PIN_NMI_EXIT	 BIT(3)
/* Primary processor-based controls (24.6.2, Table 24-6). */
#define PROC_HLT_EXIT	  BIT(7)
#define PROC_MWAIT_EXIT	  BIT(10)
#define PROC_CR3_LOAD	  BIT(15)
#define PROC_CR3_STORE	  BIT(16)
#define PROC_UNCOND_IO	  BIT(24)
#define PROC_MSR_BITMAPS  BIT(28)
#define PROC_MONITOR_EXIT BIT(29)
#define PROC_SECONDARY	  BIT(31)
/* Secondary processor-based controls (24.6.2, Table 24-7). */
#define PROC2_EPT	   BIT(1)
#define PROC2_VPID	   BIT(5)
#define PROC2_UNRESTRICTED BIT(7)
/* VM-exit controls (24.7.1, Table 24-11). */
#define EXIT_HOST_64   BIT(9)
#define EXIT_ACK_INTR  BIT(15)
#define EXIT_SAVE_EFER BIT(20)
#define EXIT_LOAD_EFER BIT(21)
/* VM-entry controls (24.8.1, Table 24-13). */
#define ENTRY_IA32E_GUEST BIT(9)
#define ENTRY_LOAD_EFER	  BIT(15)

/*
 * What granule asks of each control: HLT is the WFI equivalent, CPUID and
 * VMCALL exit unconditionally (25.1.2), every I/O port and every MSR but
 * EFER exits and stops the VM as an unhandled exit (as svm.c's all-ones
 * permission maps do), MONITOR/MWAIT exit, external interrupts and NMIs
 * exit to the host without being acknowledged (so the host takes the
 * interrupt when it unmasks, as with SVM's INTR intercept), EPT, VPID and
 * unrestricted guest are on, the host runs in 64-bit mode, EFER is switched.
 */
#define PIN_WANT (PIN_EXT_INT_EXIT | PIN_NMI_EXIT)
#define PROC_WANT                                                                                  \
	(PROC_HLT_EXIT | PROC_MWAIT_EXIT | PROC_UNCOND_IO | PROC_MSR_BITMAPS | PROC_MONITOR_EXIT | \
	 PROC_SECONDARY)
#define PROC2_NEED (PROC2_EPT | PROC2_UNRESTRICTED)
#define EXIT_NEED  (EXIT_HOST_64 | EXIT_SAVE_EFER | EXIT_LOAD_EFER)
#define ENTRY_NEED ENTRY_LOAD_EFER

/* EPT pointer (24.6.11) and EPT capabilities (A.10). */
#define EPTP_WB	       6
#define EPTP_WALK4     (3 << 3) /* walk length - 1 */
#define EPTP_AD	       BIT(6)
#define EPT_A	       BIT(8) /* EPT entry accessed / dirty flags (28.2.4) */
#define EPT_D	       BIT(9)
#define INVEPT_SINGLE  1
#define INVEPT_ALL     2
#define INVVPID_SINGLE 1
#define INVVPID_ALL    2

/* Basic exit reasons (Appendix C). */
#define EXIT_EXCEPTION_NMI 0
#define EXIT_EXT_INTR	   1
#define EXIT_TRIPLE_FAULT  2
#define EXIT_CPUID	   10
#define EXIT_HLT	   12
#define EXIT_VMCALL	   18
#define EXIT_CR_ACCESS	   28
#define EXIT_IO		   30
#define EXIT_RDMSR	   31
#define EXIT_WRMSR	   32
#define EXIT_BAD_GUEST	   33
#define EXIT_BAD_MSR_LOAD  34
#define EXIT_MACHINE_CHECK 41
#define EXIT_EPT_VIOLATION 48
#define EXIT_EPT_MISCONFIG 49
#define EXIT_FAILED_ENTRY  BIT(31) /* 27.2.1: the VM entry failed (26.7) */

/* EPT-violation exit qualification (27.2.1, Table 27-7). */
#define EPTV_READ	   BIT(0)
#define EPTV_WRITE	   BIT(1)
#define EPTV_FETCH	   BIT(2)
#define EPTV_PERMS	   (BIT(3) | BIT(4) | BIT(5)) /* what the entry allowed: 0 = not present */
#define EPTV_LINEAR_VALID  BIT(7)
#define EPTV_LINEAR_ACCESS BIT(8) /* the access itself, not a guest paging-structure walk */

/* Interruption information (24.9.2 exit, 24.8.3 entry): type in bits 10:8. */
#define INTR_TYPE(info)	 (((info) >> 8) & 7)
#define INTR_TYPE_NMI	 2
#define INTR_STATE_STI	 BIT(0) /* blocking by STI (24.4.2, Table 24-3) */
#define INTR_STATE_MOVSS BIT(1)

/* Access rights (24.4.1, Table 24-2): descriptor bits 47:40 and 55:52 at 7:0 and 15:12. */
#define AR_DPL(ar) (((ar) >> 5) & 3)

enum vmx_seg { SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS, SEG_LDTR, SEG_TR, SEGS };

/*
 * The per-vCPU fields of the VMCS: guest state (24.4) plus the controls a
 * VM exit or the vCPU itself changes (CR read shadows, the entry controls
 * whose "IA-32e mode guest" follows EFER.LMA, a pending injection). Kept as
 * one array of VMCS-field-sized values, moved in and out by a table.
 */
enum vmx_field {
	F_SEL,			/* SEGS selectors */
	F_LIMIT = F_SEL + SEGS, /* SEGS limits */
	F_AR = F_LIMIT + SEGS,	/* SEGS access rights */
	F_BASE = F_AR + SEGS,	/* SEGS bases */
	F_GDTR_LIMIT = F_BASE + SEGS,
	F_IDTR_LIMIT,
	F_GDTR_BASE,
	F_IDTR_BASE,
	F_CR0,
	F_CR3,
	F_CR4,
	F_DR7,
	F_RSP,
	F_RIP,
	F_RFLAGS,
	F_PENDING_DBG,
	F_INTR_STATE,
	F_ACTIVITY,
	F_SYSENTER_CS,
	F_SYSENTER_ESP,
	F_SYSENTER_EIP,
	F_DEBUGCTL,
	F_EFER,
	F_CR0_SHADOW,
	F_CR4_SHADOW,
	F_ENTRY_CTLS,
	F_ENTRY_INTR_INFO,
	F_ENTRY_EXC_ERROR,
	F_ENTRY_INSN_LEN,
	FIELDS,
};

static u32 field_encoding(unsigned f)
{
	static const u32 fixed[FIELDS - F_GDTR_LIMIT] = {
		VMCS_GUEST_GDTR_LIMIT,	 VMCS_GUEST_IDTR_LIMIT,	  VMCS_GUEST_GDTR_BASE,
		VMCS_GUEST_IDTR_BASE,	 VMCS_GUEST_CR0,	  VMCS_GUEST_CR3,
		VMCS_GUEST_CR4,		 VMCS_GUEST_DR7,	  VMCS_GUEST_RSP,
		VMCS_GUEST_RIP,		 VMCS_GUEST_RFLAGS,	  VMCS_GUEST_PENDING_DBG,
		VMCS_GUEST_INTR_STATE,	 VMCS_GUEST_ACTIVITY,	  VMCS_GUEST_SYSENTER_CS,
		VMCS_GUEST_SYSENTER_ESP, VMCS_GUEST_SYSENTER_EIP, VMCS_GUEST_DEBUGCTL,
		VMCS_GUEST_EFER,	 VMCS_CR0_SHADOW,	  VMCS_CR4_SHADOW,
		VMCS_ENTRY_CTLS,	 VMCS_ENTRY_INTR_INFO,	  VMCS_ENTRY_EXC_ERROR,
		VMCS_ENTRY_INSN_LEN,
	};

	/* Segment fields: consecutive encodings 2 apart, in enum vmx_seg's order (B.1-B.3). */
	if (f < F_LIMIT)
		return VMCS_GUEST_ES_SEL + 2 * (f - F_SEL);
	if (f < F_AR)
		return VMCS_GUEST_ES_LIMIT + 2 * (f - F_LIMIT);
	if (f < F_BASE)
		return VMCS_GUEST_ES_AR + 2 * (f - F_AR);
	if (f < F_GDTR_LIMIT)
		return VMCS_GUEST_ES_BASE + 2 * (f - F_BASE);
	return fixed[f - F_GDTR_LIMIT];
}

struct vmx_vcpu {
	u64 field[FIELDS]; /* the VMCS's per-vCPU fields while not loaded */
	struct x86_gprs gprs;
	struct x86_fx fx;   /* the guest's x87/SSE state while not loaded */
	u64 cr2;	    /* not in the VMCS: the CPU's CR2 is the guest's in non-root mode */
	u64 kernel_gs_base; /* nor this: SWAPGS in the guest changes the MSR itself */
	u64 host_kernel_gs_base;
	u64 eptp;
	u32 vpid;
	unsigned cpu;
	bool loaded, launched;
};

_Static_assert(sizeof(struct vmx_vcpu) <= PAGE_SIZE, "vmm/vcpu.c gives a vCPU one page");

static struct vmx_vcpu *vmx_vcpu(struct arch_vcpu *v)
{
	return (struct vmx_vcpu *)v;
}

/* The controls and fixed bits this CPU allows, decided once (vmx_usable). */
struct vmx_caps {
	u32 revision;
	u32 pin, proc, proc2, exit, entry;
	u64 cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
	bool vpid, ept_ad, ept_2m, ept_1g, invept_single, invvpid_single, lma_store;
};

static struct vmx_caps caps;
static bool caps_ok;
static const char *caps_reason;

/* Per CPU, page aligned: the VMXON region (23.7) and the VMCS the loaded vCPU runs from. */
struct vmx_cpu {
	u8 vmxon[PAGE_SIZE];
	u8 vmcs[PAGE_SIZE];
} __aligned(PAGE_SIZE);

static struct vmx_cpu vmx_cpus[MAX_CPUS];
static bool vmx_cpu_on[MAX_CPUS];
/* Shared by every VMCS: all ones but EFER's bits (vmx_vm_init). */
static u8 vmx_msr_bitmap[PAGE_SIZE] __aligned(PAGE_SIZE);
static bool vmx_msr_bitmap_ready;

/* ---- Capabilities ---- */

/*
 * One control word from its capability MSR (A.3-A.5): the low half has the
 * bits that must be 1 (allowed 0-settings), the high half those that may be
 * 1. want is OR-ed with the first and masked by the second; false when a bit
 * of need does not survive.
 */
static bool adjust_ctls(u32 msr, u32 want, u32 need, u32 *out)
{
	u64 v = rdmsr(msr);

	*out = (want | (u32)v) & (u32)(v >> 32);
	return (*out & need) == need;
}

/* With IA32_VMX_BASIC[55], the TRUE MSRs report which default-1 controls may be 0 (A.2). */
static u32 ctl_msr(u32 plain, u32 true_msr, u64 basic)
{
	return basic & VMX_BASIC_TRUE_CTLS ? true_msr : plain;
}

static const char *caps_controls(struct vmx_caps *c, u64 basic)
{
	if (!adjust_ctls(ctl_msr(MSR_VMX_PINBASED_CTLS, MSR_VMX_TRUE_PINBASED_CTLS, basic),
			 PIN_WANT, PIN_WANT, &c->pin))
		return "VMX cannot exit on external interrupts and NMIs (pin-based controls)";
	if (!adjust_ctls(ctl_msr(MSR_VMX_PROCBASED_CTLS, MSR_VMX_TRUE_PROCBASED_CTLS, basic),
			 PROC_WANT, PROC_WANT, &c->proc))
		return "VMX lacks HLT/IO/MONITOR/MWAIT exiting, MSR bitmaps or secondary controls";
	/* Without the TRUE MSRs CR3 accesses may be forced to exit; granule does not emulate them.
	 */
	if (c->proc & (PROC_CR3_LOAD | PROC_CR3_STORE))
		return "VMX cannot turn off CR3-load/store exiting (no "
		       "IA32_VMX_TRUE_PROCBASED_CTLS)";
	if (!adjust_ctls(MSR_VMX_PROCBASED_CTLS2, PROC2_NEED | PROC2_VPID, PROC2_NEED, &c->proc2))
		return "VMX without EPT or unrestricted guest (secondary controls): the guest "
		       "enters with paging off";
	if (!adjust_ctls(ctl_msr(MSR_VMX_EXIT_CTLS, MSR_VMX_TRUE_EXIT_CTLS, basic), EXIT_NEED,
			 EXIT_NEED, &c->exit) ||
	    (c->exit & EXIT_ACK_INTR))
		return "VMX exit controls lack a 64-bit host or saving/loading IA32_EFER";
	if (!adjust_ctls(ctl_msr(MSR_VMX_ENTRY_CTLS, MSR_VMX_TRUE_ENTRY_CTLS, basic), ENTRY_NEED,
			 ENTRY_NEED, &c->entry))
		return "VMX entry controls cannot load IA32_EFER";
	c->entry &= ~ENTRY_IA32E_GUEST; /* the guest starts in 32-bit mode */
	return NULL;
}

/* EPT as the engine's x86_64_ept4_format encodes it: 4-level walk, WB, INVEPT (A.10). */
static const char *caps_ept(struct vmx_caps *c)
{
	const struct x86_features *f = &x86_features;

	if (!f->ept_walk4 || !f->ept_wb)
		return "EPT without a 4-level walk or write-back paging structures";
	if (!f->invept || (!f->invept_single && !f->invept_all))
		return "EPT without INVEPT (single- or all-context)";
	c->ept_ad = f->ept_ad;
	c->ept_2m = f->ept_2m;
	c->ept_1g = f->ept_1g;
	c->invept_single = f->invept_single;
	/* A VPID is only useful with a way to drop what is tagged with it (28.3.3.3). */
	c->vpid = (c->proc2 & PROC2_VPID) && f->invvpid && (f->invvpid_single || f->invvpid_all);
	if (!c->vpid)
		c->proc2 &= ~PROC2_VPID;
	c->invvpid_single = f->invvpid_single;
	return NULL;
}

static const char *caps_probe(struct vmx_caps *c)
{
	const struct x86_features *f = &x86_features;
	const char *why;
	u64 basic;

	if (f->vmx_locked && !f->vmx_enabled)
		return "VMX disabled by firmware (IA32_FEATURE_CONTROL locked with VMX off)";
	if (!f->ept)
		return "VMX without EPT (secondary control 'enable EPT')";
	basic = rdmsr(MSR_VMX_BASIC);
	if (VMX_BASIC_SIZE(basic) > PAGE_SIZE || VMX_BASIC_MEMTYPE(basic) != MEMTYPE_WB)
		return "VMX wants a VMCS larger than a page or not write-back (IA32_VMX_BASIC)";
	c->revision = basic & 0x7fffffff;
	c->lma_store = f->vmx_lma_store;
	c->cr0_fixed0 = rdmsr(MSR_VMX_CR0_FIXED0);
	c->cr0_fixed1 = rdmsr(MSR_VMX_CR0_FIXED1);
	c->cr4_fixed0 = rdmsr(MSR_VMX_CR4_FIXED0);
	c->cr4_fixed1 = rdmsr(MSR_VMX_CR4_FIXED1);
	why = caps_controls(c, basic);
	return why ? why : caps_ept(c);
}

static bool vmx_usable(const char **reason)
{
	if (!caps_ok && !caps_reason) {
		caps_reason = caps_probe(&caps);
		caps_ok = !caps_reason;
	}
	if (!caps_ok)
		*reason = caps_reason;
	return caps_ok;
}

/*
 * The engine's EPT format, narrowed to this CPU: no 1 GiB (or 2 MiB) leaves
 * unless IA32_VMX_EPT_VPID_CAP allows them (the VMM then maps and collapses
 * up to the largest level left). With EPT A/D flags on (EPTP bit 6), every
 * leaf carries A and D from the start, as x86 leaves do (pt_format.c): the
 * CPU then never writes a leaf (28.2.4), and runs of leaves stay uniform for
 * collapse.
 */
static int vmx_format_init(struct pt_format *fmt, unsigned want_bits)
{
	*fmt = x86_64_ept4_format;
	if (!caps.ept_1g)
		fmt->leaf_levels &= ~(u32)BIT(2);
	if (!caps.ept_2m)
		fmt->leaf_levels &= ~(u32)BIT(1);
	if (caps.ept_ad) {
		fmt->leaf_always |= EPT_A | EPT_D;
		fmt->prot_bits[5] = fmt->prot_bits[6] = (struct pt_attr_bits){0, 0};
	}
	return (int)MIN(want_bits, fmt->va_bits);
}

/* ---- VMs: VPID and EPTP ---- */

/*
 * The MSR bitmap (24.6.9): a set bit makes RDMSR / WRMSR exit. Everything
 * but EFER, which the guest sets itself to enter long mode and the VM-exit
 * and VM-entry controls switch.
 */
static void msr_bitmap_init(void)
{
	unsigned efer = MSR_EFER - 0xc0000000;

	memset(vmx_msr_bitmap, 0xff, sizeof(vmx_msr_bitmap));
	vmx_msr_bitmap[0x400 + efer / 8] &= (u8) ~(1u << (efer % 8)); /* reads, high MSRs */
	vmx_msr_bitmap[0xc00 + efer / 8] &= (u8) ~(1u << (efer % 8)); /* writes, high MSRs */
}

static int vmx_vm_init(struct arch_vm *avm, const struct pt_format *fmt, paddr_t root)
{
	u32 id = x86_vm_id_alloc(X86_VM_IDS);

	(void)fmt;
	if (!id)
		return ERR_BUSY;
	if (!__atomic_load_n(&vmx_msr_bitmap_ready, __ATOMIC_ACQUIRE)) {
		msr_bitmap_init();
		__atomic_store_n(&vmx_msr_bitmap_ready, true, __ATOMIC_RELEASE);
	}
	avm->id = id; /* the VPID: never 0, the host's (28.1) */
	/* 24.6.11: write-back paging structures, a 4-level walk, A/D flags if the CPU has them. */
	avm->regs[0] = pa_addr(root) | EPTP_WB | EPTP_WALK4 | (caps.ept_ad ? EPTP_AD : 0);
	return 0;
}

static void vmx_vm_destroy(struct arch_vm *avm)
{
	x86_vm_id_flush(avm->id);
	x86_vm_id_free(avm->id);
	avm->id = 0;
}

/*
 * INVEPT drops guest-physical and combined mappings of one EPTP on the CPU
 * that executes it (28.3.3.1), so a change reaches the other CPUs through
 * the id's generation (vm_common.c): vmx_enter() runs INVEPT before the
 * next VM entry wherever the generation moved, and a CPU in the guest now
 * is kicked out first. Bochs keeps no stale EPT entries (docs: PLATFORM.md),
 * so no test under it can catch a missing flush.
 */
static void vmx_tlb_flush_all(const struct arch_vm *avm)
{
	x86_vm_id_flush(avm->id);
}

static void invept(u64 eptp)
{
	bool ok = caps.invept_single ? vmx_invept(INVEPT_SINGLE, eptp) : vmx_invept(INVEPT_ALL, 0);

	if (!ok)
		printf("vmx: INVEPT of EPTP 0x%llx failed\n", eptp);
}

/*
 * Linear and combined mappings are tagged with the VPID (28.1), which every
 * vCPU of a VM shares: another vCPU's (or this one's, from before it ran
 * elsewhere) would apply here. Once per load.
 */
static void invvpid(u32 vpid)
{
	bool ok;

	if (!caps.vpid)
		return;
	ok = caps.invvpid_single ? vmx_invvpid(INVVPID_SINGLE, (u16)vpid)
				 : vmx_invvpid(INVVPID_ALL, 0);
	if (!ok)
		printf("vmx: INVVPID of VPID %u failed\n", vpid);
}

/* ---- vCPUs: the entry state ---- */

/* A packed attribute (vm_common.h) as VMX access rights: bits 11:8 move to 15:12. */
static u64 access_rights(u32 attrib)
{
	return (attrib & 0xff) | (attrib & 0xf00) << 4;
}

static void seg_init(struct vmx_vcpu *v, enum vmx_seg s, u16 sel, u32 attrib, u32 limit)
{
	v->field[F_SEL + s] = sel;
	v->field[F_AR + s] = access_rights(attrib);
	v->field[F_LIMIT + s] = limit;
	v->field[F_BASE + s] = 0;
}

/*
 * CR0 and CR4 as VMX requires them (23.8, A.7, A.8): the FIXED0 bits set,
 * the bits FIXED1 lacks clear, except PE and PG, which unrestricted guest
 * frees (26.3.1.1). The guest/host masks own those bits: the guest reads
 * them from the read shadows, which hold what it would see without VMX, and
 * writing a different value exits (25.3: CR0.NE and CR4.VMXE then stay on).
 */
static u64 cr0_forced(void)
{
	return (caps.cr0_fixed0 | ~caps.cr0_fixed1) & ~(u64)(CR0_PE | CR0_PG);
}

static u64 cr4_forced(void)
{
	return caps.cr4_fixed0 | ~caps.cr4_fixed1;
}

static void guest_init(struct vmx_vcpu *v, u64 entry)
{
	for (unsigned s = 0; s < SEGS; s++)
		seg_init(v, s, X86_PVH_DS, X86_SEG_DATA32, X86_PVH_LIMIT);
	seg_init(v, SEG_CS, X86_PVH_CS, X86_SEG_CODE32, X86_PVH_LIMIT);
	seg_init(v, SEG_TR, 0, X86_SEG_TSS32, X86_SYS_LIMIT);
	seg_init(v, SEG_LDTR, 0, X86_SEG_LDT, X86_SYS_LIMIT);
	/* No GDT or IDT yet: an exception before the guest loads one is a triple fault. */
	v->field[F_CR0] = (X86_PVH_CR0 | cr0_forced()) & caps.cr0_fixed1;
	v->field[F_CR4] = caps.cr4_fixed0 & caps.cr4_fixed1;
	v->field[F_CR0_SHADOW] = X86_PVH_CR0;
	v->field[F_CR4_SHADOW] = 0;
	v->field[F_DR7] = X86_DR7_INIT;
	v->field[F_RFLAGS] = X86_RFLAGS_FIXED;
	v->field[F_RIP] = entry;
	v->field[F_ENTRY_CTLS] = caps.entry;
}

static void vmx_vcpu_init(struct arch_vcpu *av, const struct arch_vm *avm, u64 entry,
			  const u64 args[4])
{
	struct vmx_vcpu *v = vmx_vcpu(av);

	*v = (struct vmx_vcpu){.vpid = avm->id, .eptp = avm->regs[0]};
	guest_init(v, entry);
	x86_guest_entry_regs(&v->gprs, args);
	x86_fx_init(&v->fx);
}

/* ---- VMX operation per CPU ---- */

/*
 * VMXON (23.7, 23.8): IA32_FEATURE_CONTROL locked with "VMXON outside SMX"
 * (granule locks it so when the firmware left it open), CR0 and CR4 within
 * the fixed bits (CR4.VMXE among them), the VMXON region stamped with the
 * VMCS revision. Interrupts masked.
 */
static bool vmx_cpu_enable(unsigned cpu)
{
	u64 fc;

	if (vmx_cpu_on[cpu])
		return true;
	fc = rdmsr(MSR_FEATURE_CONTROL);
	if (!(fc & FEATURE_CONTROL_LOCK))
		wrmsr(MSR_FEATURE_CONTROL, fc | FEATURE_CONTROL_LOCK | FEATURE_CONTROL_VMXON);
	else if (!(fc & FEATURE_CONTROL_VMXON)) {
		printf("vmx: cpu %u: IA32_FEATURE_CONTROL locked with VMX off\n", cpu);
		return false;
	}
	write_cr0((read_cr0() | caps.cr0_fixed0) & caps.cr0_fixed1);
	write_cr4((read_cr4() | caps.cr4_fixed0 | CR4_VMXE) & caps.cr4_fixed1);
	memcpy(vmx_cpus[cpu].vmxon, &caps.revision, 4);
	if (!vmx_vmxon(x86_image_pa(vmx_cpus[cpu].vmxon))) {
		printf("vmx: cpu %u: VMXON failed\n", cpu);
		return false;
	}
	vmx_cpu_on[cpu] = true;
	return true;
}

/* Writes one VMCS field; a failure is a granule bug worth naming (24.11.2). */
static void vmcs_write(u64 field, u64 value)
{
	if (!vmx_vmwrite(field, value))
		printf("vmx: VMWRITE of field 0x%llx failed (VM-instruction error %llu)\n", field,
		       vmx_vmread(VMCS_INSN_ERROR));
}

/* The base of the TSS TR selects, from its 16-byte GDT descriptor (SDM Vol. 3A 7.2.3). */
static u64 tr_base(u64 gdt_base, u16 tr)
{
	const u64 *d = (const u64 *)(uintptr_t)(gdt_base + (tr & ~7u));

	return ((d[0] >> 16) & 0xffffff) | ((d[0] >> 56) << 24) | (d[1] << 32);
}

/* The host-state area (24.5): what the VM exit loads (27.5), granule as it runs now. */
static void host_state(void)
{
	struct __packed {
		u16 limit;
		u64 base;
	} gdtr, idtr;
	u16 tr, fs, gs;

	__asm__ volatile("sgdt %0; sidt %1; str %2; mov %%fs, %3; mov %%gs, %4"
			 : "=m"(gdtr), "=m"(idtr), "=r"(tr), "=r"(fs), "=r"(gs));
	vmcs_write(VMCS_HOST_CR0, read_cr0());
	vmcs_write(VMCS_HOST_CR3, read_cr3());
	vmcs_write(VMCS_HOST_CR4, read_cr4());
	vmcs_write(VMCS_HOST_CS_SEL, GDT_CODE64);
	vmcs_write(VMCS_HOST_SS_SEL, GDT_DATA);
	vmcs_write(VMCS_HOST_DS_SEL, GDT_DATA);
	vmcs_write(VMCS_HOST_ES_SEL, GDT_DATA);
	vmcs_write(VMCS_HOST_FS_SEL, fs);
	vmcs_write(VMCS_HOST_GS_SEL, gs);
	vmcs_write(VMCS_HOST_TR_SEL, tr);
	vmcs_write(VMCS_HOST_FS_BASE, rdmsr(MSR_FS_BASE));
	vmcs_write(VMCS_HOST_GS_BASE, rdmsr(MSR_GS_BASE));
	vmcs_write(VMCS_HOST_TR_BASE, tr_base(gdtr.base, tr));
	vmcs_write(VMCS_HOST_GDTR_BASE, gdtr.base);
	vmcs_write(VMCS_HOST_IDTR_BASE, idtr.base);
	vmcs_write(VMCS_HOST_SYSENTER_CS, rdmsr(MSR_SYSENTER_CS));
	vmcs_write(VMCS_HOST_SYSENTER_ESP, rdmsr(MSR_SYSENTER_ESP));
	vmcs_write(VMCS_HOST_SYSENTER_EIP, rdmsr(MSR_SYSENTER_EIP));
	vmcs_write(VMCS_HOST_EFER, rdmsr(MSR_EFER));
	vmcs_write(VMCS_HOST_RIP, (u64)(uintptr_t)vmx_exit_entry);
}

/* The execution controls (24.6): the same for every vCPU but its VPID and EPTP. */
static void controls(const struct vmx_vcpu *v)
{
	vmcs_write(VMCS_PIN_CTLS, caps.pin);
	vmcs_write(VMCS_PROC_CTLS, caps.proc);
	vmcs_write(VMCS_PROC_CTLS2, caps.proc2);
	vmcs_write(VMCS_EXIT_CTLS, caps.exit);
	vmcs_write(VMCS_EXCEPTION_BITMAP, 0);
	vmcs_write(VMCS_CR3_TARGET_COUNT, 0);
	vmcs_write(VMCS_MSR_BITMAP, x86_image_pa(vmx_msr_bitmap));
	vmcs_write(VMCS_EPTP, v->eptp);
	if (caps.vpid)
		vmcs_write(VMCS_VPID, v->vpid);
	vmcs_write(VMCS_CR0_MASK, cr0_forced());
	vmcs_write(VMCS_CR4_MASK, cr4_forced());
	vmcs_write(VMCS_LINK_POINTER, ~0ULL); /* 26.3.1.5: no shadow VMCS */
}

static void fields_write(const struct vmx_vcpu *v)
{
	for (unsigned f = 0; f < FIELDS; f++)
		vmcs_write(field_encoding(f), v->field[f]);
}

static void fields_read(struct vmx_vcpu *v)
{
	for (unsigned f = 0; f < FIELDS; f++)
		v->field[f] = vmx_vmread(field_encoding(f));
}

static void vmx_vcpu_load(struct arch_vcpu *av)
{
	struct vmx_vcpu *v = vmx_vcpu(av);
	unsigned long flags = arch_irq_save();
	u64 vmcs;

	v->cpu = this_cpu_id();
	v->launched = false;
	v->loaded = vmx_cpu_enable(v->cpu);
	if (v->loaded) {
		vmcs = x86_image_pa(vmx_cpus[v->cpu].vmcs);
		memcpy(vmx_cpus[v->cpu].vmcs, &caps.revision, 4);
		/* 24.11.3: VMCLEAR makes the launch state "clear", so VMLAUNCH comes first. */
		v->loaded = vmx_vmclear(vmcs) && vmx_vmptrld(vmcs);
		if (!v->loaded)
			printf("vmx: cpu %u: VMCLEAR/VMPTRLD of the VMCS failed\n", v->cpu);
	}
	if (v->loaded) {
		host_state();
		controls(v);
		fields_write(v);
		invvpid(v->vpid);
		x86_fx_move(&v->fx, false);
		v->host_kernel_gs_base = rdmsr(MSR_KERNEL_GS_BASE);
		wrmsr(MSR_KERNEL_GS_BASE, v->kernel_gs_base);
	}
	arch_irq_restore(flags);
}

static void vmx_vcpu_put(struct arch_vcpu *av)
{
	struct vmx_vcpu *v = vmx_vcpu(av);
	unsigned long flags = arch_irq_save();

	if (v->loaded) {
		fields_read(v);
		vmx_vmclear(x86_image_pa(vmx_cpus[v->cpu].vmcs));
		x86_fx_move(&v->fx, true);
		v->kernel_gs_base = rdmsr(MSR_KERNEL_GS_BASE);
		wrmsr(MSR_KERNEL_GS_BASE, v->host_kernel_gs_base);
	}
	v->loaded = false;
	arch_irq_restore(flags);
}

/* ---- One entry ---- */

static const char *insn_error_name(u64 error)
{
	/* VM-instruction error numbers of VMLAUNCH / VMRESUME (30.4, Table 30-1). */
	switch (error) {
	case 4: return "VMLAUNCH with non-clear VMCS";
	case 5: return "VMRESUME with non-launched VMCS";
	case 7: return "VM entry with invalid control field(s)";
	case 8: return "VM entry with invalid host-state field(s)";
	case 26: return "VM entry with events blocked by MOV SS";
	default: return "see SDM Vol. 3C Table 30-1";
	}
}

/*
 * The first VM-entry checks (26.2: controls and host state) fail the
 * instruction itself, with the VM-instruction error; a failed guest-state
 * check (26.3) is a VM exit with bit 31 of the reason (26.7). Bochs' log
 * names the exact check either way.
 */
static void report_fail(const struct vmx_vcpu *v, int result, struct vm_exit *e)
{
	u64 error = result == VMX_SWITCH_FAIL_VALID ? vmx_vmread(VMCS_INSN_ERROR) : 0;

	printf("vmx: vpid %u: %s failed: %s (VM-instruction error %llu: %s)\n", v->vpid,
	       v->launched ? "VMRESUME" : "VMLAUNCH",
	       result == VMX_SWITCH_FAIL_VALID ? "VMfailValid" : "VMfailInvalid (no current VMCS)",
	       error, insn_error_name(error));
	*e = (struct vm_exit){.reason = VM_EXIT_UNKNOWN,
			      .syndrome = EXIT_FAILED_ENTRY | error,
			      .pc = v->field[F_RIP]};
}

/*
 * One VM entry and exit. INVEPT first if the VM's tables changed since this
 * CPU last dropped its entries; the guest's CR2 into the CPU, since the
 * VMCS does not switch it (an injected #PF carries its address there).
 */
static int vmx_enter(struct vmx_vcpu *v)
{
	int result;

	if (x86_vm_id_enter(v->cpu, v->vpid))
		invept(v->eptp);
	if (read_cr2() != v->cr2)
		write_cr2(v->cr2);
	result = vmx_world_switch(&v->gprs, v->launched);
	x86_vm_id_exit(v->cpu);
	v->cr2 = read_cr2();
	if (result == VMX_SWITCH_EXIT)
		v->launched = true;
	return result;
}

/*
 * After the exit: an event whose delivery it interrupted (an EPT violation
 * on the IDT or the stack, an interrupt exit) is in the IDT-vectoring
 * information, to inject again (27.2.3); and "IA-32e mode guest" follows
 * EFER.LMA, which the CPU stores itself only with IA32_VMX_MISC[5] (27.2).
 */
static void after_exit(void)
{
	u64 idt = vmx_vmread(VMCS_IDT_VECT_INFO);
	u64 entry;

	if (idt & X86_EVENT_VALID) {
		vmcs_write(VMCS_ENTRY_INTR_INFO, idt & ~(u64)GENMASK(30, 12));
		vmcs_write(VMCS_ENTRY_EXC_ERROR, vmx_vmread(VMCS_IDT_VECT_ERROR));
		vmcs_write(VMCS_ENTRY_INSN_LEN, vmx_vmread(VMCS_EXIT_INSN_LEN));
	}
	if (caps.lma_store)
		return;
	entry = vmx_vmread(VMCS_ENTRY_CTLS) & ~ENTRY_IA32E_GUEST;
	if (vmx_vmread(VMCS_GUEST_EFER) & X86_EFER_LMA)
		entry |= ENTRY_IA32E_GUEST;
	vmcs_write(VMCS_ENTRY_CTLS, entry);
}

/*
 * Past the instruction that exited: its length is in the exit information
 * (27.2.4), and blocking by STI or MOV SS ends with it (24.4.2).
 */
static void skip_insn(void)
{
	vmcs_write(VMCS_GUEST_RIP, vmx_vmread(VMCS_GUEST_RIP) + vmx_vmread(VMCS_EXIT_INSN_LEN));
	vmcs_write(VMCS_GUEST_INTR_STATE,
		   vmx_vmread(VMCS_GUEST_INTR_STATE) & ~(u64)(INTR_STATE_STI | INTR_STATE_MOVSS));
}

/* 64-bit mode: IA32_EFER.LMA and CS.L (access rights bit 13). */
static bool guest_long64(void)
{
	return (vmx_vmread(VMCS_GUEST_EFER) & X86_EFER_LMA) &&
	       (vmx_vmread(VMCS_GUEST_ES_AR + 2 * SEG_CS) & BIT(13));
}

/* The CPL is SS.DPL (24.4.1). */
static unsigned guest_cpl(void)
{
	return AR_DPL(vmx_vmread(VMCS_GUEST_ES_AR + 2 * SEG_SS));
}

static void inject_exception(unsigned vector, bool has_error, u32 error)
{
	vmcs_write(VMCS_ENTRY_INTR_INFO, vector | X86_EVENT_TYPE_EXCEPT | X86_EVENT_VALID |
						 (has_error ? X86_EVENT_ERROR_VALID : 0));
	if (has_error)
		vmcs_write(VMCS_ENTRY_EXC_ERROR, error);
}

/*
 * EPT violation (27.2.1, Table 27-7): the qualification says what the
 * access was (bits 2:0) and what the entry that stopped the walk allowed
 * (bits 5:3: none means not present); the guest-physical address is in its
 * own field, the linear one when bit 7 says so. VMX reports no level.
 */
static void decode_ept_violation(struct vm_exit *e)
{
	u64 q = vmx_vmread(VMCS_EXIT_QUAL);
	struct vm_exit_fault *f = &e->fault;

	e->reason = VM_EXIT_STAGE2_FAULT;
	f->gpa = vmx_vmread(VMCS_GUEST_PHYS);
	f->gva_valid = (q & EPTV_LINEAR_VALID) && (q & EPTV_LINEAR_ACCESS);
	f->gva = f->gva_valid ? vmx_vmread(VMCS_GUEST_LINEAR) : 0;
	f->write = q & EPTV_WRITE;
	f->exec = q & EPTV_FETCH;
	f->kind = q & EPTV_PERMS ? VM_FAULT_PERMISSION : VM_FAULT_TRANSLATION;
	f->level = -1;
}

static void report_exit(const struct vmx_vcpu *v, const char *what)
{
	printf("vmx: vpid %u: %s (exit reason 0x%llx, qualification 0x%llx, guest-physical "
	       "0x%llx) at rip 0x%llx\n",
	       v->vpid, what, vmx_vmread(VMCS_EXIT_REASON), vmx_vmread(VMCS_EXIT_QUAL),
	       vmx_vmread(VMCS_GUEST_PHYS), vmx_vmread(VMCS_GUEST_RIP));
}

/*
 * VMCALL exits whatever the CPL (25.1.2); as HVC is UNDEFINED at EL0, the
 * ABI is the guest kernel's only, so CPL 3 gets the #UD svm.c gives too.
 */
static bool decode_vmcall(struct vmx_vcpu *v, struct vm_exit *e)
{
	if (guest_cpl() == 3) {
		inject_exception(X86_VEC_UD, false, 0);
		return false;
	}
	x86_decode_hypercall(&v->gprs, guest_long64(), e);
	skip_insn();
	return true;
}

/* A VM exit that is a failed VM entry (26.7): which class of check failed. */
static const char *failed_entry_name(u64 basic)
{
	switch (basic) {
	case EXIT_BAD_GUEST: return "VM entry failed: invalid guest state (26.3)";
	case EXIT_BAD_MSR_LOAD: return "VM entry failed: MSR loading (26.4)";
	case EXIT_MACHINE_CHECK: return "VM entry failed: machine-check event";
	default: return "VM entry failed";
	}
}

/* NMI exits to the host, which sends none itself: nothing to do but resume. */
static bool nmi_exit(void)
{
	return INTR_TYPE(vmx_vmread(VMCS_EXIT_INTR_INFO)) == INTR_TYPE_NMI;
}

/* Decodes the exit into *e; false when it was handled here and the guest just resumes. */
static bool decode_exit(struct vmx_vcpu *v, struct vm_exit *e)
{
	u64 reason = vmx_vmread(VMCS_EXIT_REASON), basic = reason & 0xffff;

	*e = (struct vm_exit){
		.reason = VM_EXIT_UNKNOWN, .syndrome = reason, .pc = vmx_vmread(VMCS_GUEST_RIP)};
	if (reason & EXIT_FAILED_ENTRY) {
		report_exit(v, failed_entry_name(basic));
		return true;
	}
	switch (basic) {
	case EXIT_CPUID:
		x86_emulate_cpuid(&v->gprs);
		skip_insn();
		return false;
	case EXIT_VMCALL: return decode_vmcall(v, e);
	case EXIT_EPT_VIOLATION: decode_ept_violation(e); return true;
	case EXIT_HLT:
		/* HLT exits before it executes (25.1.3): skip it, as arm64 skips a trapped WFI. */
		e->reason = VM_EXIT_WFI;
		skip_insn();
		return true;
	case EXIT_EXT_INTR: e->reason = VM_EXIT_IRQ; return true;
	case EXIT_EXCEPTION_NMI:
		if (nmi_exit()) {
			e->reason = VM_EXIT_IRQ;
			return true;
		}
		report_exit(v, "unexpected exception exit");
		return true;
	case EXIT_TRIPLE_FAULT: report_exit(v, "triple fault"); return true;
	case EXIT_EPT_MISCONFIG:
		/* 28.2.3.1: an EPT entry with a reserved or invalid setting: the engine's encoding.
		 */
		report_exit(v, "EPT misconfiguration: an EPT entry granule wrote is invalid");
		return true;
	case EXIT_IO: report_exit(v, "I/O port access"); return true;
	case EXIT_RDMSR:
	case EXIT_WRMSR: report_exit(v, "MSR access"); return true;
	case EXIT_CR_ACCESS: report_exit(v, "control-register access"); return true;
	default: report_exit(v, "unhandled exit"); return true;
	}
}

/*
 * One exit for the generic loop; CPUID exits are answered here. Interrupts
 * are masked from before the entry until the exit; an external interrupt
 * meanwhile exits the guest unacknowledged and is taken when
 * arch_irq_restore() unmasks.
 */
static int vmx_vcpu_run(struct arch_vcpu *av, struct vm_exit *exit)
{
	struct vmx_vcpu *v = vmx_vcpu(av);
	unsigned long flags;
	bool done;
	int result;

	if (!v->loaded)
		return ERR_INVAL;
	do {
		flags = arch_irq_save();
		result = vmx_enter(v);
		arch_irq_restore(flags);
		if (result != VMX_SWITCH_EXIT) {
			report_fail(v, result, exit);
			return 0;
		}
		after_exit();
		done = decode_exit(v, exit);
	} while (!done);
	return 0;
}

static void vmx_vcpu_set_result(struct arch_vcpu *v, u64 value)
{
	vmx_vcpu(v)->gprs.rax = value;
}

/*
 * The abort is a #PF (vector 14) through VM-entry event injection (26.5.1),
 * its error code from vm_common.c; RIP still points at the faulting
 * instruction (an EPT violation is fault-like, 27.1). CR2 gets the linear
 * address when the qualification gave it, else the guest-physical one.
 */
static int vmx_vcpu_inject_abort(struct arch_vcpu *av, const struct vm_exit *exit)
{
	const struct vm_exit_fault *f = &exit->fault;
	struct vmx_vcpu *v = vmx_vcpu(av);

	if (exit->reason != VM_EXIT_STAGE2_FAULT || !v->loaded)
		return ERR_INVAL;
	v->cr2 = f->gva_valid ? f->gva : f->gpa;
	inject_exception(X86_VEC_PF, true, x86_abort_error(f, guest_cpl() == 3));
	return 0;
}

const struct x86_vm_backend x86_vmx_backend = {
	.name = "VMX",
	.usable = vmx_usable,
	.format_init = vmx_format_init,
	.vm_init = vmx_vm_init,
	.vm_destroy = vmx_vm_destroy,
	.tlb_flush_all = vmx_tlb_flush_all,
	.vcpu_size = sizeof(struct vmx_vcpu),
	.vcpu_init = vmx_vcpu_init,
	.vcpu_load = vmx_vcpu_load,
	.vcpu_put = vmx_vcpu_put,
	.vcpu_run = vmx_vcpu_run,
	.vcpu_set_result = vmx_vcpu_set_result,
	.vcpu_inject_abort = vmx_vcpu_inject_abort,
};
