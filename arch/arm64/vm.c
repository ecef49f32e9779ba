/* SPDX-License-Identifier: MIT */
/*
 * The arm64 EL2 virtualization backend: stage-2 control (VTCR_EL2,
 * VTTBR_EL2 with VMIDs), HCR_EL2 for guests, stage-2 TLB maintenance, vCPU
 * entry and exit decoding into the common exit record (vmm/exit.h), and
 * abort injection. Generic code reaches it only through arch/arch.h.
 */
#include "arch/arch.h"
#include "arch/arm64/arm64.h"
#include "arch/arm64/pt_format.h"
#include "arch/arm64/sysreg.h"
#include "arch/arm64/tlbi.h"
#include "arch/arm64/vm.h"
#include "arch/pt_format.h"
#include "arch/tlb.h"
#include "kernel/percpu.h"
#include "lib/id_pool.h"
#include "vmm/exit.h"

/*
 * HCR_EL2 while a guest runs (Arm ARM D17.2.48):
 *   VM       stage 2 on for EL1&0
 *   SWIO     set/way invalidation acts as clean+invalidate: a guest cannot
 *            discard dirty lines that belong to the host or another VM
 *   FMO/IMO/AMO  physical FIQ/IRQ/SError go to EL2: the host's interrupts
 *            (timer, IPIs) keep arriving while a guest runs, as guest exits
 *   FB       TLB and I-cache maintenance by the guest is broadcast Inner
 *            Shareable: a vCPU may move to another physical CPU
 *   BSU=IS   barriers the guest issues are at least Inner Shareable (same reason)
 *   TWI/TWE  WFI and WFE trap (EC 0x01): exits the VMM sees
 *   TSC      SMC traps (EC 0x17): PSCI is the VMM's, not the firmware's
 *   RW       EL1 is AArch64
 * E2H and TGE stay 0: granule is a non-VHE hypervisor and EL1 is the guest's.
 */
#define HCR_VM	   BIT(0)
#define HCR_SWIO   BIT(1)
#define HCR_FB	   BIT(9)
#define HCR_BSU_IS (1ULL << 10)
#define HCR_TWI	   BIT(13)
#define HCR_TWE	   BIT(14)
#define HCR_TSC	   BIT(19)
#define HCR_GUEST                                                                                  \
	(HCR_VM | HCR_SWIO | HCR_FMO | HCR_IMO | HCR_AMO | HCR_FB | HCR_BSU_IS | HCR_TWI |         \
	 HCR_TWE | HCR_TSC | HCR_RW)

/* VTCR_EL2 fields (Arm ARM D17.2, "VTCR_EL2"), 4K granule. */
#define VTCR_T0SZ(bits) (64ULL - (bits))
#define VTCR_SL0_SHIFT	6
#define VTCR_IRGN0_WBWA (1ULL << 8)
#define VTCR_ORGN0_WBWA (1ULL << 10)
#define VTCR_SH0_INNER	(3ULL << 12)
#define VTCR_TG0_4K	(0ULL << 14)
#define VTCR_PS_SHIFT	16
#define VTCR_VS_16	BIT(19)
#define VTCR_RES1	BIT(31)
/* Without FEAT_LPA2 (VTCR_EL2.DS) a 4K-granule stage 2 outputs at most 48 bits. */
#define PARANGE_48 5

/* VTTBR_EL2: BADDR in bits 47:1, VMID from bit 48 (D17.2, "VTTBR_EL2"). */
#define VTTBR_VMID_SHIFT 48

/* SPSR_EL2.M for EL1 with SP_EL1 (EL1h), and the D, A, I, F masks (C5.2.19). */
#define PSR_MODE_MASK 0xfULL
#define PSR_MODE_EL0T 0x0ULL
#define PSR_MODE_EL1T 0x4ULL
#define PSR_MODE_EL1H 0x5ULL
#define PSR_AARCH32   BIT(4)
#define PSR_DAIF      (0xfULL << 6)
#define PSR_PAN	      BIT(22)
#define SCTLR_SPAN    BIT(23)

/* ESR_ELx (D17.2.37). */
#define EC_WFX	     0x01
#define EC_HVC64     0x16
#define EC_SMC64     0x17
#define EC_IABT_LOW  0x20
#define EC_IABT_SAME 0x21
#define EC_DABT_LOW  0x24
#define EC_DABT_SAME 0x25
#define ESR_IL	     BIT(25)
#define ESR_WFX_TI_E BIT(0) /* EC 0x01 ISS.TI: 0b00 WFI, 0b01 WFE, 0b10 WFIT, 0b11 WFET */
#define ESR_WNR	     BIT(6)
#define ESR_FNV	     BIT(10)
#define FSC_SEA	     0x10 /* synchronous external abort, not on a table walk */
/* HPFAR_EL2.FIPA holds IPA[51:12] in bits 43:4 (D17.2, "HPFAR_EL2"). */
#define HPFAR_FIPA GENMASK(43, 4)

/* Offsets of the EL1 vector table (D1.10.2) for a synchronous exception. */
#define VBAR_CURRENT_SP0 0x000
#define VBAR_CURRENT_SPX 0x200
#define VBAR_LOWER_A64	 0x400

struct arch_vcpu {
	struct arm64_vcpu_ctx ctx; /* first: vm_switch.S gets its address */
	/* The EL1 registers: live in the CPU's registers between load and put, here otherwise. */
	struct arm64_el1_regs el1;
	bool loaded;
	u64 vttbr, vtcr;
	u64 vmpidr;   /* what the guest reads as MPIDR_EL1 */
	u64 host_hcr; /* HCR_EL2 before load, restored by put */
};

/* MPIDR_EL1 bit 31 is RES1; Aff0 holds the vCPU index (Arm ARM D17.2, "MPIDR_EL1"). */
#define MPIDR_RES1 BIT(31)

struct arm64_vcpu_ctx *arm64_vm_running[MAX_CPUS];

/* ---- Availability and the stage-2 format ---- */

bool arch_vm_available(const char **reason)
{
	if (!arm64_at_el2) {
		*reason = "entered at EL1: no EL2, virtualization unavailable";
		return false;
	}
	return true;
}

static unsigned ps_field(void)
{
	return MIN(arm64_features.parange, PARANGE_48);
}

int arch_vm_format_init(struct pt_format *fmt, unsigned want_bits)
{
	static const unsigned ps_bits[] = {32, 36, 40, 42, 44, 48};
	/* An IPA space wider than the output size the stage-2 tables can address is no use. */
	unsigned bits = MIN(want_bits, ps_bits[ps_field()]);

	if (!arm64_at_el2)
		return ERR_NOTSUP;
	if (arm64_s2_format_init(fmt, bits))
		return ERR_INVAL;
	return (int)bits;
}

/*
 * T0SZ from the IPA size; SL0 says where the walk starts: 2 = Arm level 0,
 * 1 = level 1, 0 = level 2 with the 4K granule (D8.2.7: the format's level
 * count already folded a skipped level into concatenated root tables, which
 * VTTBR_EL2 names by the first one's address); PS from PARange; the walks
 * themselves Inner Shareable write-back (the tables are Normal WB memory).
 */
static u64 vtcr_value(const struct pt_format *fmt)
{
	u64 vtcr = VTCR_RES1 | VTCR_T0SZ(fmt->va_bits) | (u64)(fmt->levels - 2) << VTCR_SL0_SHIFT |
		   VTCR_IRGN0_WBWA | VTCR_ORGN0_WBWA | VTCR_SH0_INNER | VTCR_TG0_4K |
		   (u64)ps_field() << VTCR_PS_SHIFT;

	return arm64_features.vmid_bits == 16 ? vtcr | VTCR_VS_16 : vtcr;
}

/* ---- VMIDs: 0 is left to the host (arch_vcpu_put), so it is never a guest's ---- */

ID_POOL_DEFINE(vmids, BIT(16));

int arch_vm_init(struct arch_vm *avm, const struct pt_format *fmt, paddr_t root)
{
	u32 id = id_pool_alloc(&vmids, 1u << arm64_features.vmid_bits);

	if (!id)
		return ERR_BUSY;
	avm->id = id;
	avm->regs[0] = pa_addr(root) | (u64)id << VTTBR_VMID_SHIFT;
	avm->regs[1] = vtcr_value(fmt);
	return 0;
}

void arch_vm_destroy(struct arch_vm *avm)
{
	/* The next VM with this VMID must not meet this one's translations. */
	arch_vm_tlb_flush_all(avm);
	id_pool_free(&vmids, avm->id);
	avm->id = 0;
}

/* ---- Stage-2 TLB maintenance ---- */

/* Above this many TLBIs one invalidation of the whole VMID is cheaper. */
#define S2_TLBI_OPS_LIMIT 64

/*
 * TLBI IPAS2E1IS and VMALL*E1IS act on the VMID in VTTBR_EL2 (C5.5, the TLBI
 * instruction descriptions): load the VM's while invalidating. Interrupts
 * stay masked meanwhile and this CPU stays at EL2, whose own translations
 * never use VTTBR_EL2: the borrowed value serves the TLBIs only.
 */
static u64 vttbr_borrow(const struct arch_vm *avm)
{
	u64 old = read_sysreg(vttbr_el2);

	/* Usually the VM's own (a fault handled while its vCPU is loaded here): nothing to do. */
	if (old != avm->regs[0]) {
		write_sysreg(vttbr_el2, avm->regs[0]);
		isb();
	}
	return old;
}

static void vttbr_return(const struct arch_vm *avm, u64 old)
{
	if (old != avm->regs[0]) {
		write_sysreg(vttbr_el2, old);
		isb();
	}
}

/*
 * The stage-2 sequence (Arm ARM D8.13.5, and its worked example for changing
 * a stage 2 entry): DSB ISH makes the table update visible to every walker;
 * TLBI IPAS2E1IS per leaf (IPA >> 12, with a TTL hint) removes stage-2-only
 * entries; DSB ISH waits for that everywhere, so no walk can combine the old
 * stage-2 entry into a new stage-1+2 entry afterwards; TLBI VMALLE1IS then
 * removes combined stage-1+2 entries, which are tagged by VA and cannot be
 * found by IPA; DSB ISH waits for it; ISB for this CPU's own context.
 */
void arch_vm_tlb_flush_range(const struct arch_vm *avm, u64 gpa, u64 size, unsigned level)
{
	struct tlb_plan p = tlb_plan(gpa, size, level, S2_TLBI_OPS_LIMIT);
	unsigned long flags;
	u64 old;

	if (p.full) {
		arch_vm_tlb_flush_all(avm);
		return;
	}
	flags = arch_irq_save();
	old = vttbr_borrow(avm);
	dsb(ish);
	for (u64 a = p.start; a < p.end; a += p.step)
		__asm__ volatile("tlbi ipas2e1is, %0"
				 :
				 : "r"(tlbi_va_operand(a, level, arm64_features.ttl))
				 : "memory");
	dsb(ish);
	__asm__ volatile("tlbi vmalle1is" : : : "memory");
	dsb(ish);
	isb();
	vttbr_return(avm, old);
	arch_irq_restore(flags);
}

/* TLBI VMALLS12E1IS: every stage-1 and stage-2 entry of the VMID (C5.5). */
void arch_vm_tlb_flush_all(const struct arch_vm *avm)
{
	unsigned long flags = arch_irq_save();
	u64 old = vttbr_borrow(avm);

	dsb(ish);
	__asm__ volatile("tlbi vmalls12e1is" : : : "memory");
	dsb(ish);
	isb();
	vttbr_return(avm, old);
	arch_irq_restore(flags);
}

/*
 * A guest with its MMU off makes Device (data) and Non-cacheable (fetch)
 * accesses (D8.2.10), which bypass the caches the host wrote or reads
 * through: clean and invalidate to the Point of Coherency by VA (DC CIVAC,
 * D7.5.9); for code, also every I-cache to the PoU (IC IALLUIS), so no stale
 * instruction from the page's previous life remains. QEMU models no caches.
 */
void arch_vm_cache_sync(void *host_va, u64 size, bool exec)
{
	arm64_dcache_poc(DCACHE_CLEAN_INVAL, (u64)(uintptr_t)host_va, size);
	if (!exec)
		return;
	__asm__ volatile("ic ialluis" : : : "memory");
	dsb(ish);
	isb();
}

/* ---- vCPUs ---- */

size_t arch_vcpu_size(void)
{
	return sizeof(struct arch_vcpu);
}

void arch_vcpu_init(struct arch_vcpu *v, const struct arch_vm *avm, u64 entry, const u64 args[4])
{
	*v = (struct arch_vcpu){0};
	for (unsigned i = 0; i < 4; i++)
		v->ctx.x[i] = args[i];
	/* EL1h with D, A, I, F masked and the MMU and caches off: as after reset. */
	v->ctx.pc = entry;
	v->ctx.pstate = PSR_MODE_EL1H | PSR_DAIF;
	v->el1.sctlr = SCTLR_EL1_RES1;
	v->vttbr = avm->regs[0];
	v->vtcr = avm->regs[1];
	v->vmpidr = MPIDR_RES1;
}

/*
 * EL1 reads of MPIDR_EL1 return VMPIDR_EL2 (Arm ARM D17.2, "VMPIDR_EL2"):
 * the index in Aff0, the same value PSCI CPU_ON takes as target_cpu.
 */
void arch_vcpu_set_index(struct arch_vcpu *v, unsigned index)
{
	v->vmpidr = MPIDR_RES1 | (index & 0xff);
}

#define EL1_REGS(X)                                                                                \
	X(sctlr, sctlr_el1)                                                                        \
	X(tcr, tcr_el1)                                                                            \
	X(ttbr0, ttbr0_el1)                                                                        \
	X(ttbr1, ttbr1_el1)                                                                        \
	X(mair, mair_el1)                                                                          \
	X(amair, amair_el1)                                                                        \
	X(vbar, vbar_el1)                                                                          \
	X(contextidr, contextidr_el1)                                                              \
	X(esr, esr_el1)                                                                            \
	X(far, far_el1)                                                                            \
	X(elr, elr_el1)                                                                            \
	X(spsr, spsr_el1)                                                                          \
	X(sp_el1, sp_el1)                                                                          \
	X(afsr0, afsr0_el1)                                                                        \
	X(afsr1, afsr1_el1)                                                                        \
	X(tpidr_el1, tpidr_el1)                                                                    \
	X(tpidr_el0, tpidr_el0)                                                                    \
	X(tpidrro_el0, tpidrro_el0)                                                                \
	X(cpacr, cpacr_el1)                                                                        \
	X(cntkctl, cntkctl_el1)

static void el1_load(const struct arm64_el1_regs *r)
{
#define LOAD(field, reg) write_sysreg(reg, r->field);
	EL1_REGS(LOAD)
#undef LOAD
}

static void el1_save(struct arm64_el1_regs *r)
{
#define SAVE(field, reg) r->field = read_sysreg(reg);
	EL1_REGS(SAVE)
#undef SAVE
}

/* ---- Exit decoding ---- */

static void decode_call(const struct arch_vcpu *v, struct vm_exit *e, enum vm_exit_reason reason)
{
	e->reason = reason;
	e->call.nr = v->ctx.x[0];
	for (unsigned i = 0; i < 3; i++)
		e->call.args[i] = v->ctx.x[1 + i];
}

/*
 * Stage-2 aborts (EC 0x20 / 0x24): DFSC/IFSC bits 5:2 give the fault type and
 * bits 1:0 the Arm level of the walk (D17.2.37); HPFAR_EL2 the faulting IPA's
 * page, FAR_EL2 the VA and so the offset within the page (unless FnV).
 */
static void decode_abort(const struct arch_vcpu *v, struct vm_exit *e, unsigned ec)
{
	u64 esr = v->ctx.esr;
	unsigned fsc = esr & 0x3f;
	struct vm_exit_fault *f = &e->fault;

	switch (fsc & 0x3c) {
	case 0x04: f->kind = VM_FAULT_TRANSLATION; break;
	case 0x08: f->kind = VM_FAULT_ACCESS_FLAG; break;
	case 0x0c: f->kind = VM_FAULT_PERMISSION; break;
	default: return; /* external aborts, address size faults...: VM_EXIT_UNKNOWN */
	}
	e->reason = VM_EXIT_STAGE2_FAULT;
	f->gpa = (v->ctx.hpfar & HPFAR_FIPA) << 8 | (v->ctx.far & (PAGE_SIZE - 1));
	f->gva = v->ctx.far;
	f->gva_valid = !(esr & ESR_FNV);
	f->exec = ec == EC_IABT_LOW;
	f->write = !f->exec && (esr & ESR_WNR);
	f->level = 3 - (int)(fsc & 3);
}

static void decode_sync(struct arch_vcpu *v, struct vm_exit *e)
{
	unsigned ec = ESR_EC(v->ctx.esr);

	switch (ec) {
	case EC_HVC64:
		/* ELR_EL2 already points past the HVC (its preferred return address, D1.10). */
		decode_call(v, e, VM_EXIT_HYPERCALL);
		/* HVC #imm with imm != 0 is not granule's ABI: answered as an unknown call. */
		if (v->ctx.esr & 0xffff)
			e->call.nr = ~0ULL;
		return;
	case EC_SMC64:
		/* A trapped SMC returns to the SMC itself (D1.10): skip it. */
		decode_call(v, e, VM_EXIT_SMC);
		v->ctx.pc += 4;
		return;
	case EC_WFX:
		/* Likewise a trapped WFI/WFE. */
		e->reason = VM_EXIT_WFI;
		e->wait.event = v->ctx.esr & ESR_WFX_TI_E;
		v->ctx.pc += 4;
		return;
	case EC_IABT_LOW:
	case EC_DABT_LOW: decode_abort(v, e, ec); return;
	}
}

/* Per CPU: stage-2 TLB conflict aborts recovered (FEAT_BBM level 2 resizes). */
u64 arm64_stage2_tlb_conflicts[MAX_CPUS];

static void decode_exit(struct arch_vcpu *v, u64 kind, struct vm_exit *e)
{
	*e = (struct vm_exit){.reason = VM_EXIT_UNKNOWN, .syndrome = v->ctx.esr, .pc = v->ctx.pc};
	switch (kind) {
	case VEC_LOWER_SYNC: decode_sync(v, e); return;
	case VEC_LOWER_IRQ:
	case VEC_LOWER_FIQ:
		e->reason = VM_EXIT_IRQ;
		e->syndrome = 0;
		return;
	default: return; /* SError: VM_EXIT_UNKNOWN with its ESR_EL2 */
	}
}

/*
 * Load and put bracket a run of entries on one CPU (KVM's vcpu_load/put):
 * the stage-2 registers, the guest's EL1 registers and HCR_EL2 stay in place
 * across exits, since granule at EL2 uses none of them (every HCR_EL2 bit set
 * for the guest acts on EL1 and EL0 only). An exit then costs the world switch
 * alone, and TLB entries survive exits: an emulator that flushes on these
 * register writes can still catch a missing invalidation.
 */
void arch_vcpu_load(struct arch_vcpu *v)
{
	unsigned long flags = arch_irq_save();

	v->host_hcr = read_sysreg(hcr_el2);
	/* Stage 2 first: no EL1 state of this guest is live under another VM's VMID. */
	write_sysreg(vtcr_el2, v->vtcr);
	write_sysreg(vttbr_el2, v->vttbr);
	write_sysreg(vmpidr_el2, v->vmpidr);
	el1_load(&v->el1);
	write_sysreg(hcr_el2, HCR_GUEST);
	isb();
	v->loaded = true;
	arch_irq_restore(flags);
}

/*
 * VTTBR_EL2 goes back to VMID 0, which no guest has: whatever the CPU might
 * still cache from the guest's EL1 registers left in place is tagged with it,
 * so a later VM given this VM's VMID never meets such an entry.
 */
void arch_vcpu_put(struct arch_vcpu *v)
{
	unsigned long flags = arch_irq_save();

	el1_save(&v->el1);
	write_sysreg(hcr_el2, v->host_hcr);
	write_sysreg(vttbr_el2, 0);
	isb();
	v->loaded = false;
	arch_irq_restore(flags);
}

/*
 * One entry. Interrupts stay masked from the entry until the guest's state is
 * saved again: a physical interrupt meanwhile exits the guest (HCR_EL2.IMO)
 * and is taken by the host when arch_irq_restore() unmasks.
 */
/*
 * A stage-2 TLB conflict abort (DFSC/IFSC 0b110000): this CPU's TLB holds two
 * sizes for the IPA while a FEAT_BBM level 2 resize of the VM's tables has not
 * been invalidated yet (D8.16.2). Dropping this CPU's entries for the loaded
 * VMID (VTTBR_EL2 is live) and re-entering retries the access; the guest and
 * the generic VMM never see it.
 */
static bool tlb_conflict_recovered(const struct arch_vcpu *v, u64 kind)
{
	unsigned ec = ESR_EC(v->ctx.esr);

	if (kind != VEC_LOWER_SYNC || (ec != EC_DABT_LOW && ec != EC_IABT_LOW) ||
	    (v->ctx.esr & 0x3f) != 0x30)
		return false;
	__asm__ volatile("tlbi vmalls12e1\n\tdsb nsh\n\tisb" ::: "memory");
	arm64_stage2_tlb_conflicts[this_cpu_id()]++;
	return true;
}

int arch_vcpu_run(struct arch_vcpu *v, struct vm_exit *exit)
{
	unsigned long flags;
	unsigned cpu;
	u64 kind;

	if (!v->loaded)
		return ERR_INVAL;
	do {
		flags = arch_irq_save();
		cpu = this_cpu_id();
		WRITE_ONCE(arm64_vm_running[cpu], &v->ctx);
		kind = arm64_vm_enter(&v->ctx);
		WRITE_ONCE(arm64_vm_running[cpu], NULL);
		arch_irq_restore(flags);
	} while (tlb_conflict_recovered(v, kind));
	decode_exit(v, kind, exit);
	return 0;
}

void arch_vcpu_set_result(struct arch_vcpu *v, u64 value)
{
	v->ctx.x[0] = value;
}

/*
 * The EL1 vector a synchronous exception from the guest's current mode goes to
 * (D1.10.2): 0, or ERR_NOTSUP for AArch32 or a mode other than EL0t, EL1t, EL1h.
 */
static int abort_vector(u64 pstate, u64 *offset)
{
	if (pstate & PSR_AARCH32)
		return ERR_NOTSUP;
	switch (pstate & PSR_MODE_MASK) {
	case PSR_MODE_EL0T: *offset = VBAR_LOWER_A64; return 0;
	case PSR_MODE_EL1T: *offset = VBAR_CURRENT_SP0; return 0;
	case PSR_MODE_EL1H: *offset = VBAR_CURRENT_SPX; return 0;
	default: return ERR_NOTSUP;
	}
}

/*
 * Takes a synchronous external abort to the guest's EL1 as the hardware would
 * (D1.10, "Exception entry"): ESR_EL1 with the data or instruction abort
 * class for the guest's EL and FSC 0x10, FAR_EL1 the faulting VA, ELR_EL1 the
 * faulting instruction, SPSR_EL1 the interrupted PSTATE; then PC = VBAR_EL1 +
 * the vector offset, PSTATE = EL1h with D, A, I, F masked, PAN set unless
 * SCTLR_EL1.SPAN says to keep it.
 */
int arch_vcpu_inject_abort(struct arch_vcpu *v, const struct vm_exit *exit)
{
	const struct vm_exit_fault *f = &exit->fault;
	bool from_el0 = (v->ctx.pstate & PSR_MODE_MASK) == PSR_MODE_EL0T;
	u64 offset, ec, pstate;

	if (exit->reason != VM_EXIT_STAGE2_FAULT || abort_vector(v->ctx.pstate, &offset))
		return ERR_INVAL;
	if (f->exec)
		ec = from_el0 ? EC_IABT_LOW : EC_IABT_SAME;
	else
		ec = from_el0 ? EC_DABT_LOW : EC_DABT_SAME;
	if (v->loaded) {
		v->el1.vbar = read_sysreg(vbar_el1);
		v->el1.sctlr = read_sysreg(sctlr_el1);
	}
	v->el1.esr = ec << 26 | ESR_IL | FSC_SEA | (f->write ? ESR_WNR : 0);
	v->el1.far = f->gva_valid ? f->gva : f->gpa;
	v->el1.elr = v->ctx.pc;
	v->el1.spsr = v->ctx.pstate;
	if (v->loaded) {
		write_sysreg(esr_el1, v->el1.esr);
		write_sysreg(far_el1, v->el1.far);
		write_sysreg(elr_el1, v->el1.elr);
		write_sysreg(spsr_el1, v->el1.spsr);
	}
	pstate = PSR_MODE_EL1H | PSR_DAIF | (v->ctx.pstate & PSR_PAN);
	if (!(v->el1.sctlr & SCTLR_SPAN))
		pstate |= PSR_PAN;
	v->ctx.pstate = pstate;
	v->ctx.pc = v->el1.vbar + offset;
	return 0;
}

/* ---- The built-in test guest (vm_test_guest.S) ---- */

extern const char arm64_test_guest_start[], arm64_test_guest_end[];

const struct arch_test_guest *arch_vm_test_guest(void)
{
	static struct arch_test_guest guest;

	guest.image = arm64_test_guest_start;
	guest.size = (u64)(arm64_test_guest_end - arm64_test_guest_start);
	return &guest;
}
