/* SPDX-License-Identifier: MIT */
/*
 * The kernel GDT (flat 64-bit code and data, then one TSS descriptor per CPU), the TSSs with
 * their IST stacks, and the GS base that points at each CPU's struct x86_cpu.
 */
#include "arch/x86_64/x86.h"
#include "kernel/percpu.h"
#include "lib/string.h"

/* The 64-bit TSS (SDM Vol 3 7.7 "Task Management in 64-bit Mode", figure 7-11). */
struct tss64 {
	u32 reserved0;
	u64 rsp[3];
	u64 reserved1;
	u64 ist[7];
	u64 reserved2;
	u16 reserved3;
	u16 iomap_base;
} __packed;

#define GDT_ENTRIES (GDT_TSS0 / 8 + 2 * MAX_CPUS)

/* Accessed bits preset so that segment loads never write to the table. */
static u64 gdt[GDT_ENTRIES] __aligned(16) = {
	[GDT_CODE64 / 8] = 0x00af9b000000ffffULL,
	[GDT_DATA / 8] = 0x00cf93000000ffffULL,
};
static struct tss64 tss[MAX_CPUS] __aligned(16);
static u8 ist_stacks[MAX_CPUS][3][IST_STACK_SIZE] __aligned(16);
struct x86_cpu x86_cpus[MAX_CPUS];

struct descriptor_ptr {
	u16 limit;
	u64 base;
} __packed;

/* A 16-byte available 64-bit TSS descriptor (SDM Vol 3 7.2.3 "TSS Descriptor in 64-bit mode",
 * figure 7-4). */
static void set_tss_descriptor(unsigned cpu)
{
	u64 base = (u64)(uintptr_t)&tss[cpu];
	u64 limit = sizeof(tss[cpu]) - 1;
	unsigned slot = GDT_TSS0 / 8 + 2 * cpu;

	gdt[slot] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ULL << 40) |
		    (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
	gdt[slot + 1] = base >> 32;
}

void x86_gdt_init_cpu(unsigned cpu)
{
	struct descriptor_ptr ptr = {sizeof(gdt) - 1, (u64)(uintptr_t)gdt};
	u16 tss_sel = (u16)(GDT_TSS0 + 16 * cpu);

	for (unsigned i = 0; i < 3; i++)
		tss[cpu].ist[i] = (u64)(uintptr_t)&ist_stacks[cpu][i][IST_STACK_SIZE];
	tss[cpu].iomap_base = sizeof(tss[cpu]); /* no I/O bitmap */
	set_tss_descriptor(cpu);
	__asm__ volatile("lgdt %0\n\t"
			 "pushq %1\n\t"
			 "leaq 1f(%%rip), %%rax\n\t"
			 "pushq %%rax\n\t"
			 "lretq\n"
			 "1:\n\t"
			 "mov %2, %%ds\n\t"
			 "mov %2, %%es\n\t"
			 "mov %2, %%ss\n\t"
			 "ltr %3"
			 :
			 : "m"(ptr), "i"(GDT_CODE64), "r"(GDT_DATA), "r"(tss_sel)
			 : "rax", "memory");
}

void x86_percpu_init(unsigned cpu, struct percpu *pc)
{
	struct x86_cpu *xc = &x86_cpus[cpu];

	xc->self = xc;
	xc->cpu = pc;
	pc->arch = xc;
	wrmsr(MSR_GS_BASE, (u64)(uintptr_t)xc);
}

struct percpu *arch_this_cpu(void)
{
	struct percpu *pc;

	__asm__ volatile("mov %%gs:%c1, %0" : "=r"(pc) : "i"(offsetof(struct x86_cpu, cpu)));
	return pc;
}

void arch_set_this_cpu(struct percpu *cpu)
{
	x86_percpu_init(cpu->id, cpu);
}
