/* SPDX-License-Identifier: MIT */
/*
 * x86-64 secondary vCPUs: started with GRANULE_HC_VCPU_START (docs/hypercalls.md) at
 * x86_secondary_entry (smp.S) in the PVH entry state, with ebx = their struct guest_cpu.
 */
#include "tests/guests/guest.h"
#include "vmm/hypercall.h"

extern char x86_secondary_entry[];
__attribute__((noreturn)) void x86_secondary_main(struct guest_cpu *cpu);

int64_t arch_start_cpu(unsigned index, struct guest_cpu *cpu)
{
	uint64_t cr3;

	__asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
	cpu->mmu[0] = cr3;
	return guest_hc(GRANULE_HC_VCPU_START, index, (uint64_t)(uintptr_t)x86_secondary_entry,
			(uint64_t)(uintptr_t)cpu);
}

void x86_secondary_main(struct guest_cpu *cpu)
{
	x86_idt_load();
	guest_secondary_main(cpu);
}
