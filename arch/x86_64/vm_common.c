/* SPDX-License-Identifier: MIT */
/*
 * The parts of the x86 virtualization backends that do not depend on the
 * extension (vm_common.h): entry registers, x87/SSE switching, CPUID as the
 * guest sees it, hypercall and abort encoding, guest identifiers and their
 * cross-CPU TLB generations.
 */
#include "arch/x86_64/vm_common.h"
#include "arch/x86_64/x86.h"
#include "kernel/percpu.h"
#include "lib/id_pool.h"
#include "lib/string.h"

#define CR0_EM	   BIT(2)
#define CR0_TS	   BIT(3)
#define CR4_OSFXSR BIT(9)
#define FCW_INIT   0x37f  /* FNINIT's control word */
#define MXCSR_INIT 0x1f80 /* all SIMD exceptions masked */

/* Hypervisor CPUID leaves (the range guests probe after CPUID.1:ECX.HV, bit 31). */
#define CPUID_HV_BASE	0x40000000
#define CPUID_HV_LAST	0x4fffffff
#define CPUID_HV_TSC	0x40000010 /* EAX: TSC kHz, as VMware and KVM define it */
#define CPUID1_ECX_VMX	BIT(5)
#define CPUID1_ECX_HV	BIT(31)
#define CPUID81_ECX_SVM BIT(2)
#define CPUID_SVM_LEAF	0x8000000a

/*
 * A 32-bit guest sees only the low halves of the GPRs (SDM Vol. 1 3.4.1.1:
 * the high halves are undefined outside 64-bit mode), so each 64-bit entry
 * argument arrives as two halves:
 *   args[0]  EBX (the PVH start_info address, below 4 GiB by definition)
 *   args[1]  ESI low half, ECX high half
 *   args[2]  EDI low half, EBP high half
 *   args[3]  EDX low half, EAX high half
 * The low halves are the PVH registers (ebx, esi, edi) and then EDX.
 */
void x86_guest_entry_regs(struct x86_gprs *g, const u64 args[4])
{
	g->rbx = (u32)args[0];
	g->rsi = (u32)args[1];
	g->rcx = args[1] >> 32;
	g->rdi = (u32)args[2];
	g->rbp = args[2] >> 32;
	g->rdx = (u32)args[3];
	g->rax = args[3] >> 32;
}

void x86_fx_init(struct x86_fx *fx)
{
	*fx = (struct x86_fx){.fcw = FCW_INIT, .mxcsr = MXCSR_INIT};
}

/*
 * The guest's x87/SSE registers stay in the CPU from load to put: granule
 * itself never touches them (built with -mno-sse -mgeneral-regs-only), so
 * only a switch between vCPUs must move them, or one VM would read another's
 * XMM registers. Neither VMRUN (APM Vol. 2 15.5.1) nor VM entry (SDM Vol. 3C
 * 26.3.2) switches them. CR4.OSFXSR makes FXSAVE and FXRSTOR cover XMM and
 * MXCSR, CR0.TS/EM clear keeps them from faulting: both only for the
 * duration, with interrupts masked.
 */
void x86_fx_move(struct x86_fx *fx, bool save)
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

void x86_decode_hypercall(const struct x86_gprs *g, bool long64, struct vm_exit *e)
{
	e->reason = VM_EXIT_HYPERCALL;
	/* A 32-bit guest's negative call number is still negative: E_NOSYS either way. */
	e->call.nr = x86_guest_reg(g->rax, long64);
	e->call.args[0] = x86_guest_reg(g->rdi, long64);
	e->call.args[1] = x86_guest_reg(g->rsi, long64);
	e->call.args[2] = x86_guest_reg(g->rdx, long64);
}

static bool hv_leaf(u32 leaf)
{
	return leaf == CPUID_SVM_LEAF || (leaf >= CPUID_HV_BASE && leaf <= CPUID_HV_LAST);
}

/*
 * CPUID as the host's, with SVM and VMX hidden (a guest can use neither) and
 * the hypervisor range: CPUID.1:ECX bit 31 says one is present, 0x40000000
 * names it, 0x40000010 gives the TSC frequency in kHz (the guest's TSC is
 * the host's: no offset on either backend). The vendor stays the host's:
 * guests pick VMCALL or VMMCALL by it (docs/hypercalls.md).
 */
void x86_emulate_cpuid(struct x86_gprs *g)
{
	u32 leaf = (u32)g->rax, sub = (u32)g->rcx, a, b, c, d;

	cpuid_count(leaf, sub, &a, &b, &c, &d);
	if (leaf == 1) {
		c = (c | CPUID1_ECX_HV) & ~CPUID1_ECX_VMX;
	} else if (leaf == 0x80000001) {
		c &= ~CPUID81_ECX_SVM;
	} else if (hv_leaf(leaf)) {
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
	g->rax = a;
	g->rbx = b;
	g->rcx = c;
	g->rdx = d;
}

/*
 * x86 has no external abort a guest expects from plain loads and stores, so
 * an access outside guest memory becomes a #PF with RSVD set in its error
 * code: a fault the guest's own tables can never cause when they set no
 * reserved bit, so it cannot be mistaken for one of its own; W and I/D say
 * what the access was, U/S the privilege.
 */
u32 x86_abort_error(const struct vm_exit_fault *f, bool user)
{
	u32 error = X86_PFERR_P | X86_PFERR_RSVD;

	if (f->write)
		error |= X86_PFERR_W;
	if (f->exec)
		error |= X86_PFERR_ID;
	if (user)
		error |= X86_PFERR_U;
	return error;
}

/* ---- Guest identifiers and TLB generations ---- */

/*
 * id_gen[id] counts stage-2 changes of the VM holding the id; id_seen[cpu][id]
 * is the count when that CPU last flushed it. id_running[cpu] is the id in
 * guest mode on that CPU (0: none) and cpu_exits[cpu] counts its exits, for
 * flushes that must kick a running vCPU out.
 */
static u32 id_gen[X86_VM_IDS];
static u32 id_seen[MAX_CPUS][X86_VM_IDS];
static u32 id_running[MAX_CPUS];
static u64 cpu_exits[MAX_CPUS];
ID_POOL_DEFINE(vm_ids, X86_VM_IDS);

u32 x86_vm_id_alloc(u32 limit)
{
	u32 found = id_pool_alloc(&vm_ids, limit);

	/* Whatever a previous VM left tagged with this id on any CPU goes at its first entry. */
	if (found)
		__atomic_fetch_add(&id_gen[found], 1, __ATOMIC_SEQ_CST);
	return found;
}

void x86_vm_id_free(u32 id)
{
	id_pool_free(&vm_ids, id);
}

/*
 * Neither SVM nor VMX has a broadcast invalidation of guest-physical
 * translations: TLB_CONTROL (APM 15.16.1) and INVEPT (SDM Vol. 3C 28.3.3.1)
 * act on the executing CPU only. So a flush bumps the generation, and any
 * CPU running the id right now is sent an IPI, whose interrupt exits the
 * guest, and waited for: when this returns, no vCPU runs on the old
 * entries, and each flushes before it enters again.
 */
void x86_vm_id_flush(u32 id)
{
	unsigned self = this_cpu_id();

	__atomic_fetch_add(&id_gen[id], 1, __ATOMIC_SEQ_CST);
	for (unsigned cpu = 0; cpu < MAX_CPUS; cpu++) {
		u64 exits;

		if (cpu == self || __atomic_load_n(&id_running[cpu], __ATOMIC_SEQ_CST) != id)
			continue;
		exits = __atomic_load_n(&cpu_exits[cpu], __ATOMIC_ACQUIRE);
		arch_send_ipi(cpu, IPI_WAKE);
		/*
		 * Often masked here (a stage-2 break under a table lock): serve
		 * the waited calls meanwhile, as every masked wait does
		 * (cpu_wait_relax(), the rule in kernel/smp.h).
		 */
		while (__atomic_load_n(&id_running[cpu], __ATOMIC_ACQUIRE) == id &&
		       __atomic_load_n(&cpu_exits[cpu], __ATOMIC_ACQUIRE) == exits)
			cpu_wait_relax();
	}
}

/*
 * Publishes the running id before reading its generation: a concurrent
 * flush either sees it running (and kicks it) or bumped the generation
 * before this read (and this entry flushes).
 */
bool x86_vm_id_enter(unsigned cpu, u32 id)
{
	u32 gen;

	__atomic_store_n(&id_running[cpu], id, __ATOMIC_SEQ_CST);
	gen = __atomic_load_n(&id_gen[id], __ATOMIC_SEQ_CST);
	if (id_seen[cpu][id] == gen)
		return false;
	id_seen[cpu][id] = gen;
	return true;
}

void x86_vm_id_exit(unsigned cpu)
{
	__atomic_fetch_add(&cpu_exits[cpu], 1, __ATOMIC_RELEASE);
	__atomic_store_n(&id_running[cpu], 0, __ATOMIC_RELEASE);
}
