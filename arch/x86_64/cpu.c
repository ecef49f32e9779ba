/* SPDX-License-Identifier: MIT */
/* Boot-CPU bring-up, interrupt masking, and the ways a run ends. */
#include "arch/arch.h"
#include "arch/x86_64/x86.h"
#include "boot/boot_info.h"
#include "drivers/uart16550.h"
#include "kernel/percpu.h"
#include "lib/panic.h"
#include "lib/printf.h"

#define RFLAGS_IF BIT(9)

struct boot_info *x86_boot_info;
const char *x86_boot_warning;

unsigned long arch_irq_save(void)
{
	unsigned long flags;

	__asm__ volatile("pushfq; popq %0; cli" : "=r"(flags) : : "memory");
	return flags;
}

void arch_irq_restore(unsigned long flags)
{
	if (flags & RFLAGS_IF)
		__asm__ volatile("sti" : : : "memory");
}

void arch_irq_enable(void)
{
	__asm__ volatile("sti" : : : "memory");
}

bool arch_irqs_enabled(void)
{
	unsigned long flags;

	__asm__ volatile("pushfq; popq %0" : "=r"(flags));
	return flags & RFLAGS_IF;
}

void arch_cpu_relax(void)
{
	__asm__ volatile("pause" : : : "memory");
}

void arch_wait_for_interrupt(void)
{
	bool was_enabled = arch_irqs_enabled();

	/*
	 * HLT with IF clear would sleep through every IRQ: open the window for the wake-up, as
	 * WFI wakes on a masked IRQ on arm64. The STI shadow (SDM Vol 2B, STI) makes "sti; hlt"
	 * atomic, so an IRQ arriving in between cannot be missed; the caller's masking is kept.
	 */
	__asm__ volatile("sti; hlt" : : : "memory");
	if (!was_enabled)
		__asm__ volatile("cli" : : : "memory");
}

void arch_mb(void)
{
	__asm__ volatile("mfence" : : : "memory");
}

__noreturn void arch_halt(void)
{
	for (;;)
		__asm__ volatile("cli; hlt");
}

__noreturn void arch_exit(int status)
{
	static const char bochs_shutdown[] = "Shutdown";

	/* Emulated UARTs take time to send: the last line must be out before the machine ends. */
	uart16550_flush();
	/* QEMU's isa-debug-exit ends the process with (status << 1) | 1. */
	outl(ISA_DEBUG_EXIT_PORT, (u32)status);
	/* Bochs ends the simulation when "Shutdown" is written to its port 0x8900. */
	for (const char *p = bochs_shutdown; *p; p++)
		outb(BOCHS_SHUTDOWN_PORT, (u8)*p);
	arch_halt();
}

static u32 boot_apic_id(void)
{
	u32 a, b, c, d;

	cpuid_count(1, 0, &a, &b, &c, &d);
	return b >> 24;
}

void arch_early_init(struct boot_info *bi)
{
	x86_boot_info = bi;
	uart16550_init(COM1_PORT);
	percpu[0].id = 0;
	percpu[0].hwid = boot_apic_id();
	__atomic_store_n(&percpu[0].online, true, __ATOMIC_RELEASE);
	x86_percpu_init(0, &percpu[0]);
	x86_cpus[0].apic_id = (u32)percpu[0].hwid;
	x86_gdt_init_cpu(0);
	x86_idt_init();
	x86_idt_load();
	if (x86_boot_warning)
		printf("granule: boot: %s\n", x86_boot_warning);
	x86_features_detect();
	/* The 32-bit stub checked these for PVH and Multiboot2; UEFI arrives here directly. */
	if (!x86_features.nx)
		boot_fail("this CPU has no NX/XD bit (CPUID 0x80000001 EDX.NX)");
	if (!x86_features.apic)
		boot_fail("this CPU has no local APIC (CPUID 1 EDX.APIC)");
	x86_tsc_calibrate();
	x86_acpi_init(bi);
}
