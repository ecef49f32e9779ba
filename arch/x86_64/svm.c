/* SPDX-License-Identifier: MIT */
/*
 * The AMD SVM virtualization backend (AMD APM Vol. 2 chapter 15): capability
 * checks, EFER.SVME and the host save area per CPU, ASIDs, one VMCB per vCPU
 * with nested paging on the engine's NPT tables, TLB control after NPT
 * changes, exit decoding into the common exit record (vmm/exit.h) and fault
 * injection. Generic code reaches it through arch/arch.h and vm.c's ops
 * table (x86_svm_backend); what it shares with the VMX backend is in
 * vm_common.c.
 *
 * The guest enters PVH-like (docs/hypercalls.md "Entry state", x86-64):
 * 32-bit protected mode, paging off, flat segments, no GDT or IDT of its own
 * yet, the entry arguments split into 32-bit registers (vm_common.c).
 */
#include "arch/arch.h"
#include "arch/pt_format.h"
#include "arch/x86_64/svm.h"
#include "arch/x86_64/vm_common.h"
#include "arch/x86_64/x86.h"
#include "kernel/percpu.h"
#include "lib/printf.h"
#include "lib/string.h"
#include "vmm/exit.h"

/* MSRs and EFER (APM Vol. 2 15.30, "SVM-Related MSRs"; 3.1.7, "EFER"). */
#define MSR_VM_HSAVE_PA 0xc0010117
#define EFER_SVME	BIT(12)

/* Intercept vector 3, VMCB offset 0x00c (Table B-1). */
#define INTERCEPT_INTR	   BIT(0)
#define INTERCEPT_NMI	   BIT(1)
#define INTERCEPT_CPUID	   BIT(18)
#define INTERCEPT_INVD	   BIT(22)
#define INTERCEPT_HLT	   BIT(24)
#define INTERCEPT_INVLPGA  BIT(26)
#define INTERCEPT_IOIO	   BIT(27)
#define INTERCEPT_MSR	   BIT(28)
#define INTERCEPT_FERR	   BIT(30)
#define INTERCEPT_SHUTDOWN BIT(31)
/* Intercept vector 4, VMCB offset 0x010. */
#define INTERCEPT_VMRUN	  BIT(0)
#define INTERCEPT_VMMCALL BIT(1)
#define INTERCEPT_VMLOAD  BIT(2)
#define INTERCEPT_VMSAVE  BIT(3)
#define INTERCEPT_STGI	  BIT(4)
#define INTERCEPT_CLGI	  BIT(5)
#define INTERCEPT_SKINIT  BIT(6)
#define INTERCEPT_MONITOR BIT(10)
#define INTERCEPT_MWAIT	  BIT(11)
#define INTERCEPT_XSETBV  BIT(13)

/*
 * Everything a guest could use to reach host state or the SVM instructions
 * themselves: VMRUN must be intercepted (15.5.1, a VMRUN check), the other
 * SVM instructions, INVD (it would drop the host's dirty cache lines), I/O
 * ports and MSRs (through all-ones permission maps, 15.10 and 15.11),
 * XSETBV (XCR0 is not switched), MONITOR/MWAIT. VMMCALL is the hypercall,
 * HLT the WFI equivalent, CPUID is answered here, SHUTDOWN (triple fault)
 * stops the VM, INTR and NMI give physical interrupts to the host.
 */
#define INTERCEPTS3                                                                                \
	(INTERCEPT_INTR | INTERCEPT_NMI | INTERCEPT_CPUID | INTERCEPT_INVD | INTERCEPT_HLT |       \
	 INTERCEPT_INVLPGA | INTERCEPT_IOIO | INTERCEPT_MSR | INTERCEPT_FERR | INTERCEPT_SHUTDOWN)
#define INTERCEPTS4                                                                                \
	(INTERCEPT_VMRUN | INTERCEPT_VMMCALL | INTERCEPT_VMLOAD | INTERCEPT_VMSAVE |               \
	 INTERCEPT_STGI | INTERCEPT_CLGI | INTERCEPT_SKINIT | INTERCEPT_MONITOR |                  \
	 INTERCEPT_MWAIT | INTERCEPT_XSETBV)

/* VMCB control fields (Table B-1, 15.15, 15.16, 15.21, 15.25). */
#define V_INTR_MASKING	 BIT(24)
#define NP_ENABLE	 BIT(0)
#define TLB_FLUSH_NONE	 0
#define TLB_FLUSH_ALL	 1
#define TLB_FLUSH_ASID	 3
#define INT_STATE_SHADOW BIT(0)

/* Exit codes (Appendix C). */
#define EXIT_INTR     0x060
#define EXIT_NMI      0x061
#define EXIT_CPUID    0x072
#define EXIT_HLT      0x078
#define EXIT_SHUTDOWN 0x07f
#define EXIT_VMMCALL  0x081
#define EXIT_NPF      0x400
#define EXIT_INVALID  ((u64)-1)

/* Instruction lengths, for advancing RIP without NRIPS (15.7.1). */
#define LEN_VMMCALL 3 /* 0f 01 d9 */
#define LEN_HLT	    1 /* f4 */
#define LEN_CPUID   2 /* 0f a2 */

#define SVM_ASID_LIMIT	256 /* ASIDs granule uses at most, whatever CPUID reports */
#define IOPM_SIZE	(3 * PAGE_SIZE)
#define MSRPM_SIZE	(2 * PAGE_SIZE)
#define MSRPM_C000_BASE 0x800 /* MSRs 0xc0000000-0xc0001fff, 2 bits each (15.11) */

struct svm_vcpu {
	/* The VMCB between runs; while loaded, the CPU's svm_cpus[].vmcb is the live copy. */
	struct svm_vmcb vmcb;
	struct x86_fx fx; /* the guest's x87/SSE state while not loaded */
	struct x86_gprs gprs;
	u32 asid;
	unsigned cpu;
	bool loaded;
};

_Static_assert(sizeof(struct svm_vcpu) <= PAGE_SIZE, "vmm/vcpu.c gives a vCPU one page");

static struct svm_vcpu *svm_vcpu(struct arch_vcpu *v)
{
	return (struct svm_vcpu *)v;
}

/*
 * Per CPU, page aligned, from the kernel image (linked and run at VA == PA):
 * the host save area VMRUN writes (15.30.4), the host's VMSAVE state, and
 * the VMCB the loaded vCPU runs from. One VMCB per CPU rather than per vCPU
 * because the vCPU state is one page (vmm/vcpu.c) and a VMCB must be a page
 * of its own: load copies the vCPU's VMCB in, put copies it back. Clean bits
 * stay 0 (15.15.3), so the processor never reuses what it cached of the
 * previous vCPU run from the same address.
 */
struct svm_cpu {
	u8 hsave[PAGE_SIZE];
	u8 host_state[PAGE_SIZE];
	union {
		struct svm_vmcb vmcb;
		u8 vmcb_page[PAGE_SIZE];
	};
} __aligned(PAGE_SIZE);

static struct svm_cpu svm_cpus[MAX_CPUS];
static bool svm_cpu_on[MAX_CPUS];
/* Shared by every VMCB: all ones, except the EFER bits of the MSR map (svm_maps_init). */
static u8 svm_iopm[IOPM_SIZE] __aligned(PAGE_SIZE);
static u8 svm_msrpm[MSRPM_SIZE] __aligned(PAGE_SIZE);
static bool svm_maps_ready;

/* ---- Availability and the NPT format ---- */

static bool svm_usable(const char **reason)
{
	const struct x86_features *f = &x86_features;

	if (f->svm_disabled) {
		*reason = "SVM disabled by firmware (VM_CR.SVMDIS)";
		return false;
	}
	if (!f->npt) {
		*reason = "SVM without nested paging (CPUID 0x8000000a EDX.NP)";
		return false;
	}
	if (f->svm_asids < 2) {
		*reason = "SVM reports no guest ASID (CPUID 0x8000000a EBX)";
		return false;
	}
	return true;
}

/*
 * NPT is the long-mode 4-level format: 48 guest-physical bits at most
 * (15.25.3). The nested walk uses the host's long-mode entry format, so a
 * 1 GiB nested leaf needs what a 1 GiB host leaf needs, CPUID Fn8000_0001
 * EDX[26] (Page1GB); without it PS in a PDPE is reserved and the walk faults.
 * KVM too uses 1 GiB NPT leaves only where the host has them.
 */
static int svm_format_init(struct pt_format *fmt, unsigned want_bits)
{
	*fmt = x86_64_npt_format;
	if (!x86_features.pdpe1gb)
		fmt->leaf_levels &= ~(u32)BIT(2);
	return (int)MIN(want_bits, fmt->va_bits);
}

/*
 * I/O and MSR permission maps (15.10.1, 15.11): a set bit intercepts. Every
 * port and MSR exits (and stops the VM as an unknown exit) except EFER, which
 * is guest state in the VMCB (VMRUN loads it, #VMEXIT saves it): the guest
 * sets EFER.LME itself to enter long mode. Clearing EFER.SVME hurts only the
 * guest: its next VMRUN fails the consistency checks (15.5.1).
 */
static void svm_maps_init(void)
{
	unsigned efer_bit = (MSR_EFER - 0xc0000000) * 2;

	memset(svm_iopm, 0xff, sizeof(svm_iopm));
	memset(svm_msrpm, 0xff, sizeof(svm_msrpm));
	svm_msrpm[MSRPM_C000_BASE + efer_bit / 8] &= (u8) ~(3u << (efer_bit % 8));
}

/* ---- ASIDs: 0 is the host's (15.16), so it is never a guest's ---- */

static u32 asid_limit(void)
{
	return MIN(x86_features.svm_asids, (u32)SVM_ASID_LIMIT);
}

static int svm_vm_init(struct arch_vm *avm, const struct pt_format *fmt, paddr_t root)
{
	u32 id = x86_vm_id_alloc(asid_limit());

	(void)fmt;
	if (!id)
		return ERR_BUSY;
	/* Once, before any VMCB names the maps; the first VM is created before any vCPU runs. */
	if (!__atomic_load_n(&svm_maps_ready, __ATOMIC_ACQUIRE)) {
		svm_maps_init();
		__atomic_store_n(&svm_maps_ready, true, __ATOMIC_RELEASE);
	}
	avm->id = id;
	avm->regs[0] = pa_addr(root); /* nCR3 */
	avm->regs[1] = x86_features.flush_by_asid ? TLB_FLUSH_ASID : TLB_FLUSH_ALL;
	return 0;
}

static void svm_vm_destroy(struct arch_vm *avm)
{
	x86_vm_id_flush(avm->id);
	x86_vm_id_free(avm->id);
	avm->id = 0;
}

/* ---- NPT TLB maintenance ---- */

/*
 * SVM has no broadcast invalidation by guest-physical address: a guest's
 * translations (nested and combined) are dropped by TLB_CONTROL at its next
 * VMRUN on each CPU (15.16.1), per ASID with FlushByAsid, else everything:
 * x86_vm_id_flush() bumps the ASID's generation and kicks the CPUs running
 * it, svm_enter() sets TLB_CONTROL. TCG flushes its nested TLB at every VMRUN
 * anyway (docs: PLATFORM.md), so no test under it can catch a missing flush.
 */
static void svm_tlb_flush_all(const struct arch_vm *avm)
{
	x86_vm_id_flush(avm->id);
}

/* ---- vCPUs ---- */

static struct svm_vmcb *vmcb_of(struct svm_vcpu *v)
{
	return v->loaded ? &svm_cpus[v->cpu].vmcb : &v->vmcb;
}

static void seg(struct svm_seg *s, u16 selector, u16 attrib, u32 limit)
{
	*s = (struct svm_seg){.selector = selector, .attrib = attrib, .limit = limit};
}

/* Intercepts, permission maps, ASID, nested paging, interrupt virtualization. */
static void control_init(struct svm_control *c, const struct arch_vm *avm)
{
	c->intercepts3 = INTERCEPTS3;
	c->intercepts4 = INTERCEPTS4;
	c->iopm_base_pa = x86_image_pa(svm_iopm);
	c->msrpm_base_pa = x86_image_pa(svm_msrpm);
	c->asid = avm->id;
	/*
	 * V_INTR_MASKING (15.21.1): the guest's RFLAGS.IF masks only virtual
	 * interrupts; physical ones follow the host's IF at VMRUN (set, in
	 * svm_switch.S) and exit through the INTR intercept.
	 */
	c->int_control = V_INTR_MASKING;
	c->np_control = NP_ENABLE; /* 15.25.3: guest-physical via nCR3 */
	c->ncr3 = avm->regs[0];
}

/* The PVH entry state of docs/hypercalls.md: 32-bit protected mode, paging off, CPL 0. */
static void save_init(struct svm_save *s, u64 entry)
{
	seg(&s->cs, X86_PVH_CS, X86_SEG_CODE32, X86_PVH_LIMIT);
	seg(&s->ds, X86_PVH_DS, X86_SEG_DATA32, X86_PVH_LIMIT);
	s->es = s->ss = s->fs = s->gs = s->ds;
	seg(&s->tr, 0, X86_SEG_TSS32, X86_SYS_LIMIT);
	seg(&s->ldtr, 0, X86_SEG_LDT, X86_SYS_LIMIT);
	/* No GDT or IDT yet: an exception before the guest loads one is a triple fault. */
	seg(&s->gdtr, 0, 0, 0);
	seg(&s->idtr, 0, 0, 0);
	s->cpl = 0;
	s->efer = EFER_SVME; /* 15.5.1: VMRUN requires the guest's EFER.SVME */
	s->cr0 = X86_PVH_CR0;
	s->dr6 = X86_DR6_INIT;
	s->dr7 = X86_DR7_INIT;
	s->rflags = X86_RFLAGS_FIXED;
	s->rip = entry;
	/* 15.25.8: G_PAT is the guest's PAT under nested paging. */
	s->g_pat = X86_PAT_DEFAULT;
}

static void svm_vcpu_init(struct arch_vcpu *av, const struct arch_vm *avm, u64 entry,
			  const u64 args[4])
{
	struct svm_vcpu *v = svm_vcpu(av);

	*v = (struct svm_vcpu){.asid = avm->id};
	control_init(&v->vmcb.control, avm);
	save_init(&v->vmcb.save, entry);
	x86_guest_entry_regs(&v->gprs, args);
	x86_fx_init(&v->fx);
}

/* EFER.SVME and VM_HSAVE_PA, once per CPU (15.4, 15.30.4). Interrupts masked. */
static void svm_cpu_enable(unsigned cpu)
{
	if (svm_cpu_on[cpu])
		return;
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SVME);
	wrmsr(MSR_VM_HSAVE_PA, x86_image_pa(svm_cpus[cpu].hsave));
	svm_cpu_on[cpu] = true;
}

static void svm_vcpu_load(struct arch_vcpu *av)
{
	struct svm_vcpu *v = svm_vcpu(av);
	unsigned long flags = arch_irq_save();

	v->cpu = this_cpu_id();
	svm_cpu_enable(v->cpu);
	svm_cpus[v->cpu].vmcb = v->vmcb;
	x86_fx_move(&v->fx, false);
	v->loaded = true;
	arch_irq_restore(flags);
}

static void svm_vcpu_put(struct arch_vcpu *av)
{
	struct svm_vcpu *v = svm_vcpu(av);
	unsigned long flags = arch_irq_save();

	v->vmcb = svm_cpus[v->cpu].vmcb;
	x86_fx_move(&v->fx, true);
	v->loaded = false;
	arch_irq_restore(flags);
}

/* ---- One entry ---- */

/* One VMRUN, with the TLB flush a stage-2 change since this CPU's last one asks for. */
static void svm_enter(struct svm_vcpu *v, struct svm_vmcb *vmcb)
{
	unsigned cpu = v->cpu;

	vmcb->control.tlb_control = TLB_FLUSH_NONE;
	if (x86_vm_id_enter(cpu, v->asid)) {
		/* 15.16.1: flush by ASID needs FlushByAsid; otherwise everything goes. */
		vmcb->control.tlb_control =
			x86_features.flush_by_asid ? TLB_FLUSH_ASID : TLB_FLUSH_ALL;
	}
	/*
	 * VMRUN loads CR2 from the VMCB (15.5.1); Bochs 2.7 keeps the CPU's
	 * instead. granule reads CR2 only in its own #PF handler, so handing
	 * the CPU the guest's value first changes nothing elsewhere and makes
	 * an injected #PF carry its address there too.
	 */
	if (read_cr2() != vmcb->save.cr2)
		write_cr2(vmcb->save.cr2);
	/* VMRUN loads RAX from the VMCB and #VMEXIT saves it there (15.5.1). */
	vmcb->save.rax = v->gprs.rax;
	svm_world_switch(&v->gprs, x86_image_pa(vmcb), x86_image_pa(svm_cpus[cpu].host_state));
	v->gprs.rax = vmcb->save.rax;
	x86_vm_id_exit(cpu);
	/*
	 * An event whose delivery the exit interrupted (an NPF on the IDT or the
	 * stack, an interrupt exit) is in EXITINTINFO: inject it again (15.7.2).
	 */
	vmcb->control.event_inj =
		vmcb->control.exit_int_info & X86_EVENT_VALID ? vmcb->control.exit_int_info : 0;
}

/* Past the intercepted instruction: nRIP with NRIPS (15.7.1), else by its known length. */
static void skip_insn(struct svm_vmcb *vmcb, unsigned len)
{
	if (x86_features.nrips && vmcb->control.next_rip)
		vmcb->save.rip = vmcb->control.next_rip;
	else
		vmcb->save.rip += len;
	vmcb->control.int_state &= ~INT_STATE_SHADOW;
}

/* In 64-bit mode (EFER.LMA and CS.L) the registers are 64 bits; otherwise only the low 32 are. */
static bool guest_long64(const struct svm_vmcb *vmcb)
{
	return (vmcb->save.efer & X86_EFER_LMA) && (vmcb->save.cs.attrib & X86_CS_ATTR_L);
}

static void decode_call(struct svm_vcpu *v, struct svm_vmcb *vmcb, struct vm_exit *e)
{
	x86_decode_hypercall(&v->gprs, guest_long64(vmcb), e);
	skip_insn(vmcb, LEN_VMMCALL);
}

/*
 * NPF (15.25.6): EXITINFO1 is a #PF error code for the nested walk (P set:
 * the entry was present, so a permission fault; RSVD: a malformed entry,
 * not a fault granule resolves), EXITINFO2 the guest-physical address. SVM
 * reports neither the guest-linear address nor the level of the walk.
 */
static void decode_npf(const struct svm_vmcb *vmcb, struct vm_exit *e)
{
	u64 code = vmcb->control.exit_info1;
	struct vm_exit_fault *f = &e->fault;

	if (code & X86_PFERR_RSVD)
		return;
	e->reason = VM_EXIT_STAGE2_FAULT;
	f->kind = code & X86_PFERR_P ? VM_FAULT_PERMISSION : VM_FAULT_TRANSLATION;
	f->gpa = vmcb->control.exit_info2;
	f->gva = 0;
	f->gva_valid = false;
	f->write = code & X86_PFERR_W;
	f->exec = code & X86_PFERR_ID;
	f->level = -1;
}

/* CPUID (vm_common.c): past it afterwards. */
static void emulate_cpuid(struct svm_vcpu *v, struct svm_vmcb *vmcb)
{
	x86_emulate_cpuid(&v->gprs);
	skip_insn(vmcb, LEN_CPUID);
}

static void report_exit(const struct svm_vcpu *v, const struct svm_vmcb *vmcb, const char *what)
{
	printf("svm: asid %u: %s (exit code 0x%llx, EXITINFO1 0x%llx, EXITINFO2 0x%llx) at rip "
	       "0x%llx\n",
	       v->asid, what, vmcb->control.exit_code, vmcb->control.exit_info1,
	       vmcb->control.exit_info2, vmcb->save.rip);
}

/* Decodes the exit into *e; false when it was handled here and the guest just resumes. */
static bool decode_exit(struct svm_vcpu *v, struct svm_vmcb *vmcb, struct vm_exit *e)
{
	u64 code = vmcb->control.exit_code;

	*e = (struct vm_exit){.reason = VM_EXIT_UNKNOWN, .syndrome = code, .pc = vmcb->save.rip};
	switch (code) {
	case EXIT_CPUID: emulate_cpuid(v, vmcb); return false;
	case EXIT_VMMCALL:
		if (vmcb->save.cpl == 3) {
			/* As HVC is UNDEFINED at EL0: the ABI is the guest kernel's only. */
			vmcb->control.event_inj =
				X86_VEC_UD | X86_EVENT_TYPE_EXCEPT | X86_EVENT_VALID;
			return false;
		}
		decode_call(v, vmcb, e);
		return true;
	case EXIT_NPF: decode_npf(vmcb, e); return true;
	case EXIT_HLT:
		/* Intercepted before it executes (15.9): skip it, as arm64 skips a trapped WFI. */
		e->reason = VM_EXIT_WFI;
		skip_insn(vmcb, LEN_HLT);
		return true;
	case EXIT_INTR:
	case EXIT_NMI: e->reason = VM_EXIT_IRQ; return true;
	case EXIT_SHUTDOWN: report_exit(v, vmcb, "shutdown (triple fault)"); return true;
	case EXIT_INVALID: report_exit(v, vmcb, "VMRUN refused the guest state"); return true;
	default: report_exit(v, vmcb, "unhandled intercept"); return true;
	}
}

/*
 * One exit for the generic loop; CPUID exits are answered here. Interrupts
 * are masked from the entry until the guest's state is saved; a physical
 * interrupt meanwhile exits the guest and is taken when arch_irq_restore()
 * unmasks.
 */
static int svm_vcpu_run(struct arch_vcpu *av, struct vm_exit *exit)
{
	struct svm_vcpu *v = svm_vcpu(av);
	struct svm_vmcb *vmcb;
	unsigned long flags;
	bool done;

	if (!v->loaded)
		return ERR_INVAL;
	vmcb = vmcb_of(v);
	do {
		flags = arch_irq_save();
		svm_enter(v, vmcb);
		arch_irq_restore(flags);
		done = decode_exit(v, vmcb, exit);
	} while (!done);
	return 0;
}

static void svm_vcpu_set_result(struct arch_vcpu *v, u64 value)
{
	svm_vcpu(v)->gprs.rax = value;
}

/*
 * The abort is a #PF (vector 14) through EVENTINJ (15.20), its error code
 * from vm_common.c. The saved RIP is the faulting instruction (the NPF left
 * RIP there). CR2 gets the guest-physical address: SVM does not report the
 * linear one (15.25.6), and the two agree in identity-mapped guests like
 * granule's.
 */
static int svm_vcpu_inject_abort(struct arch_vcpu *av, const struct vm_exit *exit)
{
	const struct vm_exit_fault *f = &exit->fault;
	struct svm_vcpu *v = svm_vcpu(av);
	struct svm_vmcb *vmcb = vmcb_of(v);
	u32 error;

	if (exit->reason != VM_EXIT_STAGE2_FAULT)
		return ERR_INVAL;
	error = x86_abort_error(f, vmcb->save.cpl == 3);
	vmcb->save.cr2 = f->gva_valid ? f->gva : f->gpa;
	vmcb->control.event_inj = X86_VEC_PF | X86_EVENT_TYPE_EXCEPT | X86_EVENT_ERROR_VALID |
				  X86_EVENT_VALID | (u64)error << 32;
	return 0;
}

const struct x86_vm_backend x86_svm_backend = {
	.name = "SVM",
	.usable = svm_usable,
	.format_init = svm_format_init,
	.vm_init = svm_vm_init,
	.vm_destroy = svm_vm_destroy,
	.tlb_flush_all = svm_tlb_flush_all,
	.vcpu_size = sizeof(struct svm_vcpu),
	.vcpu_init = svm_vcpu_init,
	.vcpu_load = svm_vcpu_load,
	.vcpu_put = svm_vcpu_put,
	.vcpu_run = svm_vcpu_run,
	.vcpu_set_result = svm_vcpu_set_result,
	.vcpu_inject_abort = svm_vcpu_inject_abort,
};
