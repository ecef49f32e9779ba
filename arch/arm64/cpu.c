/* SPDX-License-Identifier: MIT */
/* arm64 CPU bring-up: exception level, features, console, interrupts masks, exit. */
#include "arch/arch.h"
#include "arch/arm64/arm64.h"
#include "arch/arm64/psci.h"
#include "arch/arm64/sysreg.h"
#include "arch/pt_format.h"
#include "boot/boot_info.h"
#include "drivers/fdt.h"
#include "drivers/pl011.h"
#include "kernel/cmdline.h"
#include "kernel/percpu.h"
#include "kernel/stack.h"
#include "lib/panic.h"
#include "lib/printf.h"
#include "mm/kmap.h"

bool arm64_at_el2;
struct arm64_features arm64_features;
static u64 fdt_pa;
const struct boot_info *arm64_boot_info;
static bool boot_cpu_ready;
/* Set once the command line has been parsed (arch_report_features runs right after). */
static bool cmdline_known;

extern char arm64_vectors_el1[], arm64_vectors_el2[];

/* ---- Interrupt masks and hints ---- */

unsigned long arch_irq_save(void)
{
	unsigned long daif = read_sysreg(daif);

	__asm__ volatile("msr daifset, #2" : : : "memory");
	return daif;
}

void arch_irq_restore(unsigned long flags)
{
	write_sysreg(daif, flags);
}

void arch_irq_enable(void)
{
	__asm__ volatile("msr daifclr, #2" : : : "memory");
}

bool arch_irqs_enabled(void)
{
	return !(read_sysreg(daif) & BIT(7));
}

void arch_cpu_relax(void)
{
	__asm__ volatile("yield" : : : "memory");
}

void arch_wait_for_interrupt(void)
{
	__asm__ volatile("dsb sy\n\twfi" : : : "memory");
}

void arch_mb(void)
{
	dmb(ish);
}

struct percpu *arch_this_cpu(void)
{
	return (struct percpu *)read_el_sysreg(tpidr);
}

void arch_set_this_cpu(struct percpu *cpu)
{
	write_el_sysreg(tpidr, (u64)cpu);
}

__noreturn void arch_halt(void)
{
	__asm__ volatile("msr daifset, #0xf" : : : "memory");
	for (;;)
		__asm__ volatile("wfi");
}

/* ---- Per-CPU set-up ---- */

void arm64_install_vectors(void)
{
	write_el_sysreg(vbar, (u64)(arm64_at_el2 ? arm64_vectors_el2 : arm64_vectors_el1));
	isb();
}

void arm64_cpu_init_common(void)
{
	arm64_install_vectors();
	/*
	 * Physical IRQs, FIQs and SErrors targeting EL1 are masked while running
	 * at EL2 (Arm ARM D1.3.6): route them to EL2 so granule receives them.
	 * RW: a lower EL, when there is one, is AArch64.
	 */
	if (arm64_at_el2)
		write_sysreg(hcr_el2, HCR_RW | HCR_AMO | HCR_IMO | HCR_FMO);
	isb();
	/* Report SErrors instead of leaving them pending. */
	__asm__ volatile("msr daifclr, #4" : : : "memory");
}

void arm64_boot_cpu_setup(unsigned entry_el)
{
	u64 sp = (u64)__builtin_frame_address(0);
	u64 stack_lo = (u64)boot_stack + STACK_GUARD_SIZE;

	arm64_at_el2 = entry_el == 2;
	arm64_features.entry_el = entry_el;
	percpu[0].id = 0;
	if (sp > stack_lo && sp <= stack_lo + STACK_SIZE)
		percpu[0].stack_top = (void *)(stack_lo + STACK_SIZE);
	arch_set_this_cpu(&percpu[0]);
	arm64_cpu_init_common();
	boot_cpu_ready = true;
}

/* ---- Console ---- */

static struct pl011 console_uart;
static bool console_registered;

/*
 * EARLYCON (arch/arm64/arch.mk) is the physical address of a PL011 that is
 * usable before the DTB is read, so that a bad DTB can be reported: QEMU virt's
 * 0x09000000 by default, none with `make EARLYCON=none` (boards whose UART is
 * elsewhere, where writing that address would be wrong).
 */
void arm64_earlycon_init(void)
{
#ifdef ARM64_EARLYCON
	if (console_registered)
		return;
	pl011_init(&console_uart, "pl011-early", (void *)(u64)ARM64_EARLYCON);
	console_register(&console_uart.con);
	console_registered = true;
#endif
}

bool arm64_console_init(const void *fdt)
{
	int node = dt_find_console(fdt, "arm,pl011");
	struct dt_reg reg;
	void *base;

	if (node < 0 || !dt_node_reg(fdt, node, 0, &reg))
		return false;
	/* kmap_device keeps the UART mapped once the kernel's own tables are live. */
	base = kmap_device(
		pa_init(ALIGN_DOWN(reg.base, PAGE_SIZE)),
		ALIGN_UP(reg.base + MAX(reg.size, 0x1000) - ALIGN_DOWN(reg.base, PAGE_SIZE),
			 PAGE_SIZE));
	base = (u8 *)base + (reg.base & (PAGE_SIZE - 1));
	/* One console structure: the early console becomes the DTB's, never printed twice. */
	pl011_init(&console_uart, "pl011", base);
	if (!console_registered)
		console_register(&console_uart.con);
	console_registered = true;
	return true;
}

/* ---- Bring-up ---- */

static unsigned current_el(void)
{
	return (unsigned)FIELD_GET(read_sysreg(CurrentEL), 3, 2);
}

const void *arm64_fdt(void)
{
	return fdt_pa ? phys_to_virt(pa_init(fdt_pa)) : NULL;
}

static void read_features(void)
{
	static const unsigned pa_bits[] = {32, 36, 40, 42, 44, 48, 52};
	struct arm64_features *f = &arm64_features;
	u64 mmfr0 = read_sysreg(id_aa64mmfr0_el1);
	u64 mmfr1 = read_sysreg(id_aa64mmfr1_el1);
	u64 mmfr2 = read_sysreg(ID_AA64MMFR2_EL1);
	u64 isar0 = read_sysreg(id_aa64isar0_el1);

	f->parange = (unsigned)FIELD_GET(mmfr0, 3, 0);
	f->pa_bits = f->parange < ARRAY_SIZE(pa_bits) ? pa_bits[f->parange] : 0;
	/* TGran4, bits 31:28: 0 = supported, 1 = supported with 52-bit, 0xf = not supported. */
	f->gran4k = FIELD_GET(mmfr0, 31, 28) != 0xf;
	f->lpa2 = FIELD_GET(mmfr0, 31, 28) == 1;
	/* VMIDBits, bits 7:4: 0 = 8 bits, 2 = 16 bits. */
	f->vmid_bits = FIELD_GET(mmfr1, 7, 4) == 2 ? 16 : 8;
	f->vhe = FIELD_GET(mmfr1, 11, 8) != 0;
	f->bbm_level = (unsigned)FIELD_GET(mmfr2, 55, 52);
	f->ttl = FIELD_GET(mmfr2, 51, 48) != 0;
	f->tlbi_range = (unsigned)FIELD_GET(isar0, 59, 56);
}

void arch_early_init(struct boot_info *bi)
{
	/* The UEFI path arrives here without the Image entry's set-up. */
	if (!boot_cpu_ready)
		arm64_boot_cpu_setup(current_el());
	bi->entry_el = arm64_features.entry_el;
	fdt_pa = bi->fdt;
	arm64_boot_info = bi;
	read_features();
	if (fdt_pa && !arm64_console_init(arm64_fdt()))
		printf("granule: no arm,pl011 console in the device tree\n");
	if (!arm64_at_el2)
		printf("granule: virtualization unavailable (entered at EL1)\n");
}

unsigned arch_pt_bbm_level(void)
{
	return MIN(arm64_features.bbm_level, kopt.bbm_level);
}

void arch_report_features(void)
{
	const struct arm64_features *f = &arm64_features;

	cmdline_known = true;
	printf("feature: EL%u%s\n", f->entry_el,
	       f->entry_el == 2 ? "" : " (virtualization unavailable)");
	printf("feature: FEAT_BBM level %u", f->bbm_level);
	if (kopt.bbm_level < f->bbm_level)
		printf(" (page tables use level %u: bbm=%u)", kopt.bbm_level, kopt.bbm_level);
	else if (kopt.bbm_level_set && kopt.bbm_level > f->bbm_level)
		printf(" (bbm=%u asks more than the CPU has: page tables use level %u)",
		       kopt.bbm_level, f->bbm_level);
	printf("\n");
	if (f->pa_bits)
		printf("feature: PARange %u bits\n", f->pa_bits);
	else
		printf("feature: PARange unknown encoding %u\n", f->parange);
	printf("feature: VMID %u bits\n", f->vmid_bits);
	printf("feature: FEAT_TLBIRANGE %s\n", f->tlbi_range >= 2 ? "yes" : "no");
	printf("feature: FEAT_TTL %s\n", f->ttl ? "yes" : "no");
	printf("feature: VHE %s\n", f->vhe ? "yes" : "no");
	printf("feature: 4K granule %s\n", f->gran4k ? "supported" : "not supported");
	printf("feature: FEAT_LPA2 (4K) %s\n", f->lpa2 ? "yes" : "no");
	if (!f->gran4k)
		boot_fail("the CPU does not support the 4K translation granule granule needs");
	if (!f->pa_bits)
		boot_fail("ID_AA64MMFR0_EL1.PARange %u is not a known encoding", f->parange);
}

/* ---- Exit ---- */

#define SEMIHOST_SYS_EXIT_EXTENDED   0x20
#define ADP_STOPPED_APPLICATION_EXIT 0x20026

u64 arm64_semihost_call(u64 op, u64 arg);
extern char arm64_semihost_insn[];

static void semihost_exit(int status)
{
	/* SYS_EXIT_EXTENDED takes {reason, exit code} (Arm semihosting 2.0, 6.6.3). */
	static u64 block[2];

	block[0] = ADP_STOPPED_APPLICATION_EXIT;
	block[1] = (u64)(s64)status;
	arm64_try_insn_begin((u64)arm64_semihost_insn);
	arm64_semihost_call(SEMIHOST_SYS_EXIT_EXTENDED, (u64)block);
	if (arm64_try_insn_end())
		printf("granule: semihosting is not available: trying PSCI SYSTEM_OFF\n");
}

__noreturn void arm64_exit(int status, bool semihosting)
{
	if (semihosting)
		semihost_exit(status);
	psci_call(PSCI_SYSTEM_OFF, 0, 0, 0);
	printf("granule: PSCI SYSTEM_OFF did not power off: halting\n");
	arch_halt();
}

/*
 * Until the command line is parsed granule cannot know whether semihosting was
 * asked for, and a failure that early (bad DTB, bad command line) must still
 * give the emulator a non-zero status: try semihosting then, a trap means no.
 */
__noreturn void arch_exit(int status)
{
	arm64_exit(status, kopt.semihosting || !cmdline_known);
}
