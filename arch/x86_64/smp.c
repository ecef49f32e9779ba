/* SPDX-License-Identifier: MIT */
/*
 * SMP on x86-64: CPUs from the ACPI MADT, started with INIT-SIPI-SIPI into the real-mode
 * trampoline (trampoline.S), which ends in x86_ap_main() here on the CPU's own stack.
 */
#include "arch/arch.h"
#include "arch/x86_64/x86.h"
#include "boot/boot_info.h"
#include "drivers/acpi.h"
#include "drivers/lapic.h"
#include "kernel/percpu.h"
#include "kernel/smp.h"
#include "lib/printf.h"
#include "lib/string.h"
#include "mm/kmap.h"

/* SDM Vol 3 8.4.4.1 ("typical BSP initialization sequence") delays. */
#define INIT_DELAY_US 10000
#define SIPI_DELAY_US 200

extern const u8 x86_trampoline_start[], x86_trampoline_end[], x86_trampoline_params[];
extern const u8 x86_tramp_gdt[], x86_tramp_pm32[], x86_tramp_lm64[];

/* The parameter block at the end of trampoline.S, in its layout. */
struct x86_trampoline_params {
	u16 gdt_limit;
	u32 gdt_base;
	u16 pad0;
	u32 far32_offset;
	u16 far32_selector;
	u16 pad1;
	u32 far64_offset;
	u16 far64_selector;
	u16 pad2;
	u64 cr0, cr3, cr4, efer;
	u64 stack_top;
	u64 entry;
} __packed;

static struct acpi_madt_info madt;
static bool madt_valid;
static bool trampoline_installed;

/* Read by x86_ap_main(): CPUs start one at a time. */
static unsigned ap_cpu;
static struct x86_trampoline_params *tramp_params;

void x86_acpi_init(struct boot_info *bi)
{
	madt_valid = !acpi_parse_madt(bi->acpi_rsdp, &madt);
}

static u32 this_apic_id(void)
{
	return x86_cpus[0].apic_id;
}

unsigned arch_smp_discover(struct boot_info *bi)
{
	unsigned n = 1;

	if (!madt_valid) {
		printf("smp: no usable ACPI MADT; starting the boot CPU only\n");
		return 1;
	}
	if (madt.nr_ignored)
		printf("smp: MADT lists %u more CPUs than MAX_CPUS (%d); ignored\n",
		       madt.nr_ignored, MAX_CPUS);
	percpu[0].hwid = this_apic_id();
	for (unsigned i = 0; i < madt.nr_cpus && n < MAX_CPUS; i++)
		if (madt.apic_ids[i] != this_apic_id())
			percpu[n++].hwid = madt.apic_ids[i];
	if (n > 1 && !bi->lowmem_trampoline) {
		printf("smp: no free page below 1 MiB for the AP trampoline; "
		       "starting the boot CPU only\n");
		return 1;
	}
	return n;
}

__noreturn void x86_ap_main(void);

static u32 tramp_offset(const u8 *label)
{
	return (u32)(label - x86_trampoline_start);
}

/*
 * Copies the trampoline through the direct map, maps its page at the identity address
 * (the AP executes from it right after enabling paging) and fills in the addresses that
 * depend on where the page is. Returns false when the AP could not reach the kernel.
 */
static bool install_trampoline(u64 pa)
{
	size_t size = (size_t)(x86_trampoline_end - x86_trampoline_start);
	u8 *copy = phys_to_virt(pa_init(pa));

	if (x86_mmu.cr3 >= GiB(4)) {
		printf("smp: the kernel's root table 0x%llx is above 4 GiB, out of reach of the "
		       "32-bit trampoline\n",
		       (unsigned long long)x86_mmu.cr3);
		return false;
	}
	memcpy(copy, x86_trampoline_start, size);
	tramp_params = (void *)(copy + tramp_offset(x86_trampoline_params));
	tramp_params->gdt_base = (u32)pa + tramp_offset(x86_tramp_gdt);
	tramp_params->far32_offset = (u32)pa + tramp_offset(x86_tramp_pm32);
	tramp_params->far64_offset = (u32)pa + tramp_offset(x86_tramp_lm64);
	tramp_params->cr0 = x86_mmu.cr0;
	tramp_params->cr3 = x86_mmu.cr3;
	tramp_params->cr4 = x86_mmu.cr4;
	tramp_params->efer = x86_mmu.efer;
	tramp_params->entry = (u64)(uintptr_t)x86_ap_main;
	kmap_identity_code(pa_init(pa), size);
	trampoline_installed = true;
	return true;
}

int arch_cpu_start(unsigned cpu, u64 hwid, void *stack_top)
{
	u64 tramp = x86_boot_info->lowmem_trampoline;
	u32 apic_id = (u32)hwid;

	if (!trampoline_installed && !install_trampoline(tramp))
		return ERR_RANGE;
	ap_cpu = cpu;
	tramp_params->stack_top = (u64)(uintptr_t)stack_top;
	/* Stores before the INIT IPI that makes the AP read them. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	/* SDM Vol 3 8.4.4.1: INIT, 10 ms, SIPI, 200 us, SIPI, 200 us. */
	if (lapic_send_ipi(apic_id, LAPIC_DM_INIT)) {
		printf("smp: CPU %u (APIC ID %u): INIT IPI not accepted\n", cpu, apic_id);
		return ERR_TIMEDOUT;
	}
	x86_udelay(INIT_DELAY_US);
	for (unsigned i = 0; i < 2; i++) {
		if (lapic_send_ipi(apic_id, LAPIC_DM_STARTUP | (u32)(tramp >> PAGE_SHIFT))) {
			printf("smp: CPU %u (APIC ID %u): SIPI not accepted\n", cpu, apic_id);
			return ERR_TIMEDOUT;
		}
		x86_udelay(SIPI_DELAY_US);
	}
	return 0;
}

__noreturn void x86_ap_main(void)
{
	unsigned cpu = ap_cpu;

	x86_percpu_init(cpu, &percpu[cpu]);
	x86_gdt_init_cpu(cpu);
	x86_idt_load();
	x86_platform_cpu_init();
	x86_cpus[cpu].apic_id = lapic_id();
	secondary_main();
}
