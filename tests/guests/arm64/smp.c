/* SPDX-License-Identifier: MIT */
/*
 * arm64 secondary vCPUs: started with PSCI CPU_ON (Arm DEN 0022D, 5.4) over HVC, which granule's
 * VMM takes as SMCCC's HVC conduit, at secondary_entry (crt0.S) with x0 = their struct
 * guest_cpu; target_cpu is the MPIDR, whose Aff0 is the vCPU index there.
 */
#include "tests/guests/guest.h"

#define PSCI_CPU_ON_64 0xc4000003ULL

extern char secondary_entry[];

/* DC CVAC to the point of coherency (Arm ARM, "Data cache maintenance instructions"). */
static void clean_to_poc(const void *p, size_t len)
{
	uint64_t ctr, line, a = (uint64_t)(uintptr_t)p;

	__asm__ volatile("mrs %0, ctr_el0" : "=r"(ctr));
	line = 4ULL << ((ctr >> 16) & 0xf);
	for (uint64_t at = a & ~(line - 1); at < a + len; at += line)
		__asm__ volatile("dc cvac, %0" ::"r"(at) : "memory");
	__asm__ volatile("dsb sy" ::: "memory");
}

int64_t arch_start_cpu(unsigned index, struct guest_cpu *cpu)
{
	__asm__ volatile("mrs %0, mair_el1\n\tmrs %1, tcr_el1\n\tmrs %2, ttbr0_el1\n\t"
			 "mrs %3, sctlr_el1"
			 : "=r"(cpu->mmu[0]), "=r"(cpu->mmu[1]), "=r"(cpu->mmu[2]),
			   "=r"(cpu->mmu[3]));
	/* The secondary reads it with its MMU off: non-cacheable, from memory. */
	clean_to_poc(cpu, sizeof(*cpu));
	return guest_hc(PSCI_CPU_ON_64, index, (uint64_t)(uintptr_t)secondary_entry,
			(uint64_t)(uintptr_t)cpu);
}
