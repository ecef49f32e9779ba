/* SPDX-License-Identifier: MIT */
/*
 * The kernel's own translation on x86-64: loading its root into CR3 with the control bits it
 * relies on, and TLB invalidation on this CPU and, by IPI, on the others.
 */
#include "arch/arch.h"
#include "arch/pt_format.h"
#include "arch/tlb.h"
#include "arch/x86_64/x86.h"
#include "kernel/percpu.h"
#include "kernel/smp.h"
#include "lib/panic.h"

/* Past this many INVLPGs one full flush is cheaper (Linux uses 33 pages). */
#define FLUSH_ALL_THRESHOLD 32

extern const struct pt_format x86_64_4level_format;

struct x86_mmu_regs x86_mmu;

static u64 read_efer(void)
{
	return rdmsr(MSR_EFER);
}

/* The 4-level format narrowed to this CPU's leaf sizes (x86_features, arch_early_init()). */
static struct pt_format kernel_format;

const struct pt_format *arch_kernel_pt_format(void)
{
	/*
	 * CR4.LA57 cannot change while IA-32e mode is active (SDM Vol 3 2.5: MOV to CR4 #GP),
	 * and every boot path arrives in (or enters) 4-level long mode, so the kernel stays there.
	 */
	if (!kernel_format.levels) {
		kernel_format = x86_64_4level_format;
		/*
		 * Without CPUID.80000001H:EDX.Page1GB, PS in a PDPTE is a reserved bit (SDM Vol 3
		 * 4.5.4): a 1 GiB leaf faults. KVM here clears it whatever -cpu asks (TCG does not
		 * enforce the bit, so only KVM and hardware show the fault).
		 */
		if (!x86_features.pdpe1gb)
			kernel_format.leaf_levels &= ~(u32)BIT(2);
	}
	return &kernel_format;
}

void arch_kernel_pt_activate(paddr_t root)
{
	u64 cr4 = read_cr4();

	if (arch_kernel_pt_format()->levels != 4)
		panic("x86: only 4-level kernel tables can be activated from long mode");
	/* EFER.NXE first: with it clear, XD (bit 63) in the new tables is a reserved bit. */
	wrmsr(MSR_EFER, read_efer() | EFER_NXE);
	/* CR0.WP: supervisor writes honour read-only mappings (SDM Vol 3 4.6.1). */
	write_cr0(read_cr0() | CR0_WP);
	/*
	 * SDM Vol 3 4.10.4.1: MOV to CR3 keeps global TLB entries; a MOV to CR4 that changes PGE
	 * drops all of them. So: PGE off (drops any global entry the firmware's or boot stub's
	 * tables left), PCIDE off (CR3 bits 11:0 are then flags, not a PCID), load CR3, PGE on.
	 */
	cr4 &= ~(CR4_PGE | CR4_PCIDE);
	write_cr4(cr4 | CR4_PAE);
	write_cr3(pa_addr(root));
	write_cr4(cr4 | CR4_PAE | CR4_PGE);
	/* Secondary CPUs load exactly these (trampoline.S, through smp.c). */
	x86_mmu = (struct x86_mmu_regs){
		.cr0 = read_cr0(),
		.cr3 = read_cr3(),
		.cr4 = read_cr4(),
		.efer = read_efer(),
	};
}

/* Drops every TLB entry of this CPU, global ones included (a PGE toggle, SDM Vol 3 4.10.4.1). */
static void local_flush_all(void)
{
	u64 cr4 = read_cr4();

	tlb_count(this_cpu_id(), 1, 0, 0);
	if (cr4 & CR4_PGE) {
		write_cr4(cr4 & ~CR4_PGE);
		write_cr4(cr4);
	} else {
		write_cr3(read_cr3());
	}
}

struct flush_request {
	u64 va, size;
	unsigned level;
};

/*
 * INVLPG of any address in a page drops that page's entries whatever their G
 * bit and size (SDM Vol 3 4.10.4.1): one per leaf (arch/tlb.h).
 */
static void local_flush_range(u64 va, u64 size, unsigned level)
{
	struct tlb_plan p = tlb_plan(va, size, level, FLUSH_ALL_THRESHOLD);

	if (!size)
		return;
	if (p.full) {
		local_flush_all();
		return;
	}
	tlb_count(this_cpu_id(), p.ops, 0, 0);
	for (u64 a = p.start; a < p.end; a += p.step)
		invlpg(a);
}

static void flush_range_ipi(void *arg)
{
	const struct flush_request *r = arg;

	local_flush_range(r->va, r->size, r->level);
}

static void flush_all_ipi(void *arg)
{
	(void)arg;
	local_flush_all();
}

/* Runs fn on every other online CPU and waits for each (the request lives on our stack). */
static void shootdown(void (*fn)(void *), void *arg)
{
	unsigned self = this_cpu_id();

	for (unsigned cpu = 0; cpu < MAX_CPUS; cpu++) {
		if (cpu == self || !__atomic_load_n(&percpu[cpu].online, __ATOMIC_ACQUIRE))
			continue;
		tlb_count(self, 0, 0, 1);
		if (smp_call(cpu, fn, arg, true))
			panic("TLB shootdown: CPU %u did not answer", cpu);
	}
}

void arch_kernel_tlb_flush_range(u64 va, u64 size, unsigned level)
{
	struct flush_request r = {va, size, level};

	local_flush_range(va, size, level);
	shootdown(flush_range_ipi, &r);
}

void arch_kernel_tlb_flush_all(void)
{
	local_flush_all();
	shootdown(flush_all_ipi, NULL);
}

/* INVLPG is local: other CPUs invalidate in a shootdown IPI (SDM Vol. 3A 4.10.5). */
bool arch_tlb_flush_interrupts_cpus(void)
{
	return true;
}
