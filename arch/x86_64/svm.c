/* SPDX-License-Identifier: MIT */
/*
 * The AMD SVM virtualization backend (AMD APM Vol. 2 chapter 15): capability
 * checks, EFER.SVME and the host save area per CPU, ASIDs, one VMCB per vCPU
 * with nested paging on the engine's NPT tables, TLB control after NPT
 * changes, exit decoding into the common exit record (vmm/exit.h) and fault
 * injection. Intel VMX is refused with a reason until its backend exists.
 * Generic code reaches this file only through arch/arch.h.
 *
 * The guest enters PVH-like (docs/hypercalls.md "Entry state", x86-64):
 * 32-bit protected mode, paging off, flat segments, no GDT or IDT of its own
 * yet. A 32-bit guest sees only the low halves of the GPRs (APM Vol. 1 3.1.2:
 * the high halves are undefined outside 64-bit mode), so the four entry
 * arguments arrive as 32-bit halves:
 *   args[0]  EBX (the PVH start_info address, below 4 GiB by definition)
 *   args[1]  ESI low half, ECX high half
 *   args[2]  EDI low half, EBP high half
 *   args[3]  EDX low half, EAX high half
 * The low halves are the PVH registers (ebx, esi, edi) and then EDX.
 */
#include "arch/arch.h"
#include "arch/pt_format.h"
#include "arch/x86_64/svm.h"
#include "arch/x86_64/x86.h"
#include "kernel/percpu.h"
#include "lib/printf.h"
#include "lib/spinlock.h"
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
#define V_INTR_MASKING	  BIT(24)
#define NP_ENABLE	  BIT(0)
#define TLB_FLUSH_NONE	  0
#define TLB_FLUSH_ALL	  1
#define TLB_FLUSH_ASID	  3
#define INT_STATE_SHADOW  BIT(0)
#define EVENT_VALID	  BIT(31)
#define EVENT_ERROR_VALID BIT(11)
#define EVENT_TYPE_EXCEPT (3u << 8)

/* Exit codes (Appendix C). */
#define EXIT_INTR     0x060
#define EXIT_NMI      0x061
#define EXIT_CPUID    0x072
#define EXIT_HLT      0x078
#define EXIT_SHUTDOWN 0x07f
#define EXIT_VMMCALL  0x081
#define EXIT_NPF      0x400
#define EXIT_INVALID  ((u64)-1)

/* NPF EXITINFO1: a #PF error code (15.25.6), plus where in the walk it happened. */
#define PFERR_P	   BIT(0)
#define PFERR_W	   BIT(1)
#define PFERR_U	   BIT(2)
#define PFERR_RSVD BIT(3)
#define PFERR_ID   BIT(4)

#define VEC_PF 14

/* Instruction lengths, for advancing RIP without NRIPS (15.7.1). */
#define LEN_VMMCALL 3 /* 0f 01 d9 */
#define LEN_HLT	    1 /* f4 */
#define LEN_CPUID   2 /* 0f a2 */

/* Segment attributes: descriptor bits 47:40 then 55:52 (Table B-2). */
#define SEG_CODE32 0xc9b /* G, D, P, S, execute/read, accessed */
#define SEG_DATA32 0xc93 /* G, B, P, S, read/write, accessed */
#define SEG_TSS32  0x08b /* P, 32-bit busy TSS */
#define SEG_LDT	   0x082 /* P, LDT */
#define PVH_CS	   0x08
#define PVH_DS	   0x10

#define CR0_ET	     BIT(4)
#define CR0_EM	     BIT(2)
#define CR0_TS	     BIT(3)
#define CR4_OSFXSR   BIT(9)
#define FCW_INIT     0x37f  /* FNINIT's control word */
#define MXCSR_INIT   0x1f80 /* all SIMD exceptions masked */
#define VEC_UD	     6
#define RFLAGS_FIXED BIT(1)
/* The power-on PAT (15.25.8: G_PAT is the guest's PAT under nested paging). */
#define PAT_DEFAULT 0x0007040600070406ULL

/* Hypervisor CPUID leaves (the range guests probe after CPUID.1:ECX.HV, bit 31). */
#define CPUID_HV_BASE	0x40000000
#define CPUID_HV_TSC	0x40000010 /* EAX: TSC kHz, as VMware and KVM define it */
#define CPUID1_ECX_HV	BIT(31)
#define CPUID81_ECX_SVM BIT(2)
#define CPUID_SVM_LEAF	0x8000000a
#define SVM_ASID_LIMIT	256 /* ASIDs granule uses at most, whatever CPUID reports */
#define IOPM_SIZE	(3 * PAGE_SIZE)
#define MSRPM_SIZE	(2 * PAGE_SIZE)
#define MSRPM_C000_BASE 0x800 /* MSRs 0xc0000000-0xc0001fff, 2 bits each (15.11) */

/* The legacy FXSAVE area (x87, MXCSR, XMM0-15): 512 bytes, 16-byte aligned (APM Vol. 4, FXSAVE). */
struct svm_fx {
	u16 fcw, fsw;
	u8 ftw, reserved1;
	u16 fop;
	u64 fip, fdp;
	u32 mxcsr, mxcsr_mask;
	u8 rest[512 - 32];
} __aligned(16);

_Static_assert(sizeof(struct svm_fx) == 512, "FXSAVE area");

struct arch_vcpu {
	/* The VMCB between runs; while loaded, the CPU's svm_cpus[].vmcb is the live copy. */
	struct svm_vmcb vmcb;
	struct svm_fx fx; /* the guest's x87/SSE state while not loaded */
	struct svm_gprs gprs;
	u32 asid;
	unsigned cpu;
	bool loaded;
};

_Static_assert(sizeof(struct arch_vcpu) <= PAGE_SIZE, "vmm/vcpu.c gives a vCPU one page");

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

/*
 * TLB bookkeeping. asid_gen[asid] counts NPT changes of the VM holding the
 * ASID; asid_seen[cpu][asid] is the count when that CPU last flushed it. A
 * VMRUN with the two different sets TLB_CONTROL. svm_running[cpu] is the
 * ASID in guest mode on that CPU (0: none) and svm_exits[cpu] counts its
 * exits, for flushes that must kick a running vCPU out.
 */
static u32 asid_gen[SVM_ASID_LIMIT];
static u32 asid_seen[MAX_CPUS][SVM_ASID_LIMIT];
static u32 svm_running[MAX_CPUS];
static u64 svm_exits[MAX_CPUS];
static u64 asid_used[SVM_ASID_LIMIT / 64];
static struct spinlock asid_lock = SPINLOCK_INIT;

static u64 image_pa(const void *p)
{
	return (u64)(uintptr_t)p; /* the kernel image runs at VA == PA (linker/x86_64.ld) */
}

/* ---- Availability and the NPT format ---- */

bool arch_vm_available(const char **reason)
{
	const struct x86_features *f = &x86_features;

	if (!f->svm) {
		*reason = f->vmx ? "Intel VMX backend (VMX + EPT) not implemented yet; SVM only"
				 : "no SVM (or VMX) on this CPU";
		return false;
	}
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

/* NPT is the long-mode 4-level format: 48 guest-physical bits at most (15.25.3). */
int arch_vm_format_init(struct pt_format *fmt, unsigned want_bits)
{
	const char *reason;

	if (!arch_vm_available(&reason))
		return -95;
	*fmt = x86_64_npt_format;
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

static u32 asid_alloc(void)
{
	u32 found = 0;

	spin_lock(&asid_lock);
	if (!svm_maps_ready) {
		svm_maps_init();
		svm_maps_ready = true;
	}
	for (u32 id = 1; id < asid_limit() && !found; id++) {
		if (!(asid_used[id / 64] & BIT(id % 64))) {
			asid_used[id / 64] |= BIT(id % 64);
			found = id;
		}
	}
	spin_unlock(&asid_lock);
	return found;
}

int arch_vm_init(struct arch_vm *avm, const struct pt_format *fmt, paddr_t root)
{
	u32 id = asid_alloc();

	(void)fmt;
	if (!id)
		return -1;
	/* Whatever a previous VM left tagged with this ASID on any CPU goes at first VMRUN. */
	__atomic_fetch_add(&asid_gen[id], 1, __ATOMIC_SEQ_CST);
	avm->id = id;
	avm->regs[0] = pa_addr(root); /* nCR3 */
	avm->regs[1] = x86_features.flush_by_asid ? TLB_FLUSH_ASID : TLB_FLUSH_ALL;
	return 0;
}

void arch_vm_destroy(struct arch_vm *avm)
{
	arch_vm_tlb_flush_all(avm);
	spin_lock(&asid_lock);
	asid_used[avm->id / 64] &= ~BIT(avm->id % 64);
	spin_unlock(&asid_lock);
	avm->id = 0;
}

/* ---- NPT TLB maintenance ---- */

/*
 * SVM has no broadcast invalidation by guest-physical address: a guest's
 * translations (nested and combined) are dropped by TLB_CONTROL at its next
 * VMRUN on each CPU (15.16.1), per ASID with FlushByAsid, else everything.
 * So a flush bumps the VM's generation, and any CPU running the VM right now
 * is sent an IPI, whose INTR intercept exits the guest, and waited for: when
 * this returns, no vCPU runs on the old entries, and each flushes before it
 * runs again. The range is not used: the whole ASID goes. TCG flushes its
 * nested TLB at every VMRUN anyway (docs: PLATFORM.md), so no test under it
 * can catch a missing flush here.
 */
void arch_vm_tlb_flush_all(const struct arch_vm *avm)
{
	unsigned self = this_cpu_id();
	u32 asid = avm->id;

	__atomic_fetch_add(&asid_gen[asid], 1, __ATOMIC_SEQ_CST);
	for (unsigned cpu = 0; cpu < MAX_CPUS; cpu++) {
		u64 exits;

		if (cpu == self || __atomic_load_n(&svm_running[cpu], __ATOMIC_SEQ_CST) != asid)
			continue;
		exits = __atomic_load_n(&svm_exits[cpu], __ATOMIC_ACQUIRE);
		arch_send_ipi(cpu, IPI_WAKE);
		while (__atomic_load_n(&svm_running[cpu], __ATOMIC_ACQUIRE) == asid &&
		       __atomic_load_n(&svm_exits[cpu], __ATOMIC_ACQUIRE) == exits)
			arch_cpu_relax();
	}
}

void arch_vm_tlb_flush_range(const struct arch_vm *avm, u64 gpa, u64 size, unsigned level)
{
	(void)gpa;
	(void)size;
	(void)level;
	arch_vm_tlb_flush_all(avm);
}

/*
 * x86 caches are coherent with every access, and the guest's memory type
 * combines the NPT leaf's (write-back) with its own (15.25.8): nothing to do.
 */
void arch_vm_cache_sync(void *host_va, u64 size, bool exec)
{
	(void)host_va;
	(void)size;
	(void)exec;
}

/* ---- vCPUs ---- */

size_t arch_vcpu_size(void)
{
	return sizeof(struct arch_vcpu);
}

static struct svm_vmcb *vmcb_of(struct arch_vcpu *v)
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
	c->iopm_base_pa = image_pa(svm_iopm);
	c->msrpm_base_pa = image_pa(svm_msrpm);
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
	seg(&s->cs, PVH_CS, SEG_CODE32, 0xffffffff);
	seg(&s->ds, PVH_DS, SEG_DATA32, 0xffffffff);
	s->es = s->ss = s->fs = s->gs = s->ds;
	seg(&s->tr, 0, SEG_TSS32, 0xffff);
	seg(&s->ldtr, 0, SEG_LDT, 0xffff);
	/* No GDT or IDT yet: an exception before the guest loads one is a triple fault. */
	seg(&s->gdtr, 0, 0, 0);
	seg(&s->idtr, 0, 0, 0);
	s->cpl = 0;
	s->efer = EFER_SVME; /* 15.5.1: VMRUN requires the guest's EFER.SVME */
	s->cr0 = CR0_PE | CR0_ET;
	s->dr6 = 0xffff0ff0;
	s->dr7 = 0x400;
	s->rflags = RFLAGS_FIXED;
	s->rip = entry;
	s->g_pat = PAT_DEFAULT;
}

void arch_vcpu_init(struct arch_vcpu *v, const struct arch_vm *avm, u64 entry, const u64 args[4])
{
	*v = (struct arch_vcpu){.asid = avm->id};
	control_init(&v->vmcb.control, avm);
	save_init(&v->vmcb.save, entry);
	v->gprs.rbx = (u32)args[0];
	v->gprs.rsi = (u32)args[1];
	v->gprs.rcx = args[1] >> 32;
	v->gprs.rdi = (u32)args[2];
	v->gprs.rbp = args[2] >> 32;
	v->gprs.rdx = (u32)args[3];
	v->vmcb.save.rax = args[3] >> 32;
	v->fx.fcw = FCW_INIT;
	v->fx.mxcsr = MXCSR_INIT;
}

/*
 * The guest's x87/SSE registers stay in the CPU from load to put: granule
 * itself never touches them (built with -mno-sse -mgeneral-regs-only), so
 * only a switch between vCPUs must move them, or one VM would read another's
 * XMM registers. VMRUN does not switch them (15.5.1). CR4.OSFXSR makes FXSAVE
 * and FXRSTOR cover XMM and MXCSR, CR0.TS/EM clear keeps them from faulting:
 * both only for the duration, with interrupts masked.
 */
static void fx_move(struct svm_fx *fx, bool save)
{
	u64 cr0 = read_cr0(), cr4 = read_cr4();

	if (cr0 & (CR0_TS | CR0_EM))
		write_cr0(cr0 & ~(CR0_TS | CR0_EM));
	if (!(cr4 & CR4_OSFXSR))
		write_cr4(cr4 | CR4_OSFXSR);
	if (save)
		__asm__ volatile("fxsave64 %0" : "=m"(*fx));
	else
		__asm__ volatile("fxrstor64 %0" : : "m"(*fx));
	if (!(cr4 & CR4_OSFXSR))
		write_cr4(cr4);
	if (cr0 & (CR0_TS | CR0_EM))
		write_cr0(cr0);
}

/* EFER.SVME and VM_HSAVE_PA, once per CPU (15.4, 15.30.4). Interrupts masked. */
static void svm_cpu_enable(unsigned cpu)
{
	if (svm_cpu_on[cpu])
		return;
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SVME);
	wrmsr(MSR_VM_HSAVE_PA, image_pa(svm_cpus[cpu].hsave));
	svm_cpu_on[cpu] = true;
}

void arch_vcpu_load(struct arch_vcpu *v)
{
	unsigned long flags = arch_irq_save();

	v->cpu = this_cpu_id();
	svm_cpu_enable(v->cpu);
	svm_cpus[v->cpu].vmcb = v->vmcb;
	fx_move(&v->fx, false);
	v->loaded = true;
	arch_irq_restore(flags);
}

void arch_vcpu_put(struct arch_vcpu *v)
{
	unsigned long flags = arch_irq_save();

	v->vmcb = svm_cpus[v->cpu].vmcb;
	fx_move(&v->fx, true);
	v->loaded = false;
	arch_irq_restore(flags);
}

/* ---- One entry ---- */

/*
 * Publishes the running ASID before reading its generation: a concurrent
 * flush either sees it running (and kicks it) or bumped the generation
 * before this read (and the VMRUN flushes).
 */
static void svm_enter(struct arch_vcpu *v, struct svm_vmcb *vmcb)
{
	unsigned cpu = v->cpu;
	u32 gen;

	__atomic_store_n(&svm_running[cpu], v->asid, __ATOMIC_SEQ_CST);
	gen = __atomic_load_n(&asid_gen[v->asid], __ATOMIC_SEQ_CST);
	vmcb->control.tlb_control = TLB_FLUSH_NONE;
	if (asid_seen[cpu][v->asid] != gen) {
		/* 15.16.1: flush by ASID needs FlushByAsid; otherwise everything goes. */
		vmcb->control.tlb_control =
			x86_features.flush_by_asid ? TLB_FLUSH_ASID : TLB_FLUSH_ALL;
		asid_seen[cpu][v->asid] = gen;
	}
	/*
	 * VMRUN loads CR2 from the VMCB (15.5.1); Bochs 2.7 keeps the CPU's
	 * instead. granule reads CR2 only in its own #PF handler, so handing
	 * the CPU the guest's value first changes nothing elsewhere and makes
	 * an injected #PF carry its address there too.
	 */
	if (read_cr2() != vmcb->save.cr2)
		write_cr2(vmcb->save.cr2);
	svm_world_switch(&v->gprs, image_pa(vmcb), image_pa(svm_cpus[cpu].host_state));
	__atomic_fetch_add(&svm_exits[cpu], 1, __ATOMIC_RELEASE);
	__atomic_store_n(&svm_running[cpu], 0, __ATOMIC_RELEASE);
	/*
	 * An event whose delivery the exit interrupted (an NPF on the IDT or the
	 * stack, an interrupt exit) is in EXITINTINFO: inject it again (15.7.2).
	 */
	vmcb->control.event_inj =
		vmcb->control.exit_int_info & EVENT_VALID ? vmcb->control.exit_int_info : 0;
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
static u64 guest_reg(const struct svm_vmcb *vmcb, u64 value)
{
	bool long64 = (vmcb->save.efer & BIT(10)) && (vmcb->save.cs.attrib & BIT(9));

	return long64 ? value : (u32)value;
}

static void decode_call(struct arch_vcpu *v, struct svm_vmcb *vmcb, struct vm_exit *e)
{
	e->reason = VM_EXIT_HYPERCALL;
	e->call.nr = guest_reg(vmcb, vmcb->save.rax);
	e->call.args[0] = guest_reg(vmcb, v->gprs.rdi);
	e->call.args[1] = guest_reg(vmcb, v->gprs.rsi);
	e->call.args[2] = guest_reg(vmcb, v->gprs.rdx);
	/* A 32-bit guest's negative call number is still negative: E_NOSYS either way. */
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

	if (code & PFERR_RSVD)
		return;
	e->reason = VM_EXIT_STAGE2_FAULT;
	f->kind = code & PFERR_P ? VM_FAULT_PERMISSION : VM_FAULT_TRANSLATION;
	f->gpa = vmcb->control.exit_info2;
	f->gva = 0;
	f->gva_valid = false;
	f->write = code & PFERR_W;
	f->exec = code & PFERR_ID;
	f->level = -1;
}

/*
 * CPUID as the host's, with SVM hidden (the guest cannot use it) and the
 * hypervisor range: CPUID.1:ECX bit 31 says one is present, 0x40000000
 * names it, 0x40000010 gives the TSC frequency in kHz (the guest's TSC is
 * the host's: TSC_OFFSET is 0). The vendor stays AuthenticAMD: guests pick
 * VMMCALL by it (docs/hypercalls.md).
 */
static void emulate_cpuid(struct arch_vcpu *v, struct svm_vmcb *vmcb)
{
	u32 leaf = (u32)vmcb->save.rax, sub = (u32)v->gprs.rcx, a, b, c, d;

	cpuid_count(leaf, sub, &a, &b, &c, &d);
	if (leaf == 1) {
		c |= CPUID1_ECX_HV;
	} else if (leaf == 0x80000001) {
		c &= ~CPUID81_ECX_SVM;
	} else if (leaf == CPUID_SVM_LEAF || (leaf >= CPUID_HV_BASE && leaf <= 0x4fffffff)) {
		a = b = c = d = 0;
		if (leaf == CPUID_HV_BASE) {
			a = CPUID_HV_TSC;
			memcpy(&b, "Gran", 4);
			memcpy(&c, "uleV", 4);
			memcpy(&d, "MM\0\0", 4);
		} else if (leaf == CPUID_HV_TSC) {
			a = (u32)(x86_features.tsc_hz / 1000);
		}
	}
	vmcb->save.rax = a;
	v->gprs.rbx = b;
	v->gprs.rcx = c;
	v->gprs.rdx = d;
	skip_insn(vmcb, LEN_CPUID);
}

static void report_exit(const struct arch_vcpu *v, const struct svm_vmcb *vmcb, const char *what)
{
	printf("svm: asid %u: %s (exit code 0x%llx, EXITINFO1 0x%llx, EXITINFO2 0x%llx) at rip "
	       "0x%llx\n",
	       v->asid, what, vmcb->control.exit_code, vmcb->control.exit_info1,
	       vmcb->control.exit_info2, vmcb->save.rip);
}

/* Decodes the exit into *e; false when it was handled here and the guest just resumes. */
static bool decode_exit(struct arch_vcpu *v, struct svm_vmcb *vmcb, struct vm_exit *e)
{
	u64 code = vmcb->control.exit_code;

	*e = (struct vm_exit){.reason = VM_EXIT_UNKNOWN, .syndrome = code, .pc = vmcb->save.rip};
	switch (code) {
	case EXIT_CPUID: emulate_cpuid(v, vmcb); return false;
	case EXIT_VMMCALL:
		if (vmcb->save.cpl == 3) {
			/* As HVC is UNDEFINED at EL0: the ABI is the guest kernel's only. */
			vmcb->control.event_inj = VEC_UD | EVENT_TYPE_EXCEPT | EVENT_VALID;
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
int arch_vcpu_run(struct arch_vcpu *v, struct vm_exit *exit)
{
	struct svm_vmcb *vmcb;
	unsigned long flags;
	bool done;

	if (!v->loaded)
		return -22;
	vmcb = vmcb_of(v);
	do {
		flags = arch_irq_save();
		svm_enter(v, vmcb);
		arch_irq_restore(flags);
		done = decode_exit(v, vmcb, exit);
	} while (!done);
	return 0;
}

void arch_vcpu_set_result(struct arch_vcpu *v, u64 value)
{
	vmcb_of(v)->save.rax = value;
}

/*
 * x86 has no external abort a guest expects from plain loads and stores, so
 * an access outside guest memory becomes a #PF (vector 14) through EVENTINJ
 * (15.20) with RSVD set in its error code: a fault the guest's own tables can
 * never cause when they set no reserved bit, so it cannot be mistaken for
 * one of its own; W and I/D say what the access was, U/S the privilege. The
 * saved RIP is the faulting instruction (the NPF left RIP there). CR2 gets
 * the guest-physical address: SVM does not report the linear one (15.25.6),
 * and the two agree in identity-mapped guests like granule's.
 */
int arch_vcpu_inject_abort(struct arch_vcpu *v, const struct vm_exit *exit)
{
	const struct vm_exit_fault *f = &exit->fault;
	struct svm_vmcb *vmcb = vmcb_of(v);
	u32 error = PFERR_P | PFERR_RSVD;

	if (exit->reason != VM_EXIT_STAGE2_FAULT)
		return -22;
	if (f->write)
		error |= PFERR_W;
	if (f->exec)
		error |= PFERR_ID;
	if (vmcb->save.cpl == 3)
		error |= PFERR_U;
	vmcb->save.cr2 = f->gva_valid ? f->gva : f->gpa;
	vmcb->control.event_inj =
		VEC_PF | EVENT_TYPE_EXCEPT | EVENT_ERROR_VALID | EVENT_VALID | (u64)error << 32;
	return 0;
}

/* ---- The built-in test guest (vm_test_guest.S) ---- */

extern const char x86_test_guest_start[], x86_test_guest_end[];

const struct arch_test_guest *arch_vm_test_guest(void)
{
	static struct arch_test_guest guest;

	guest.image = x86_test_guest_start;
	guest.size = (u64)(x86_test_guest_end - x86_test_guest_start);
	return &guest;
}
