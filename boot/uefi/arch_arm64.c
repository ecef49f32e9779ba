/* SPDX-License-Identifier: MIT */
/* arm64 parts of the UEFI stub. */
#include "boot/uefi/uefi.h"
#include "drivers/fdt.h"

EFI_STATUS uefi_arch_prepare(EFI_BOOT_SERVICES *bs, struct boot_info *bi)
{
	char why[128];

	/*
	 * granule finds its console, GIC, PSCI conduit and CPUs in the DTB. EDK2's
	 * ArmVirtQemu publishes the DTB only when it does not publish ACPI tables.
	 */
	if (!bi->fdt) {
		efi_print("granule: no device tree in the UEFI configuration table; granule "
			  "needs one on arm64 (QEMU: -M virt,acpi=off)\n");
		return EFI_NOT_FOUND;
	}
	/*
	 * Checked here, while the firmware console can still say what is wrong:
	 * the header first, with the 2 MiB limit Linux's arm64 boot protocol sets
	 * (booting.rst) and UEFI firmware honours, then only the bounded blob.
	 */
	if (!dt_check_header((const void *)(uintptr_t)bi->fdt, DT_MAX_SIZE, why, sizeof(why)) ||
	    !dt_check((const void *)(uintptr_t)bi->fdt, why, sizeof(why))) {
		efi_print("granule: the firmware's device tree is unusable: %s\n", why);
		return EFI_COMPROMISED_DATA;
	}
	bi->fdt_size = dt_total_size((const void *)(uintptr_t)bi->fdt);
	return EFI_SUCCESS;
}

void uefi_arch_handoff(struct boot_info *bi)
{
	u64 el;

	/* The firmware's vectors go away with it; arch_early_init() installs the kernel's. */
	__asm__ volatile("msr daifset, #0xf" ::: "memory");
	__asm__ volatile("mrs %0, CurrentEL" : "=r"(el));
	bi->entry_el = FIELD_GET(el, 3, 2);
}

/*
 * AT S1E2W / S1E1W translates pa as a write by the current EL would, without
 * touching it; PAR_EL1.F (bit 0) reports a fault (Arm ARM C5.5, "AT S1E2W").
 * UEFI maps RAM with VA == PA, so pa is also the address to probe.
 */
bool uefi_arch_page_writable(u64 pa)
{
	u64 el, par;

	__asm__ volatile("mrs %0, CurrentEL" : "=r"(el));
	if (FIELD_GET(el, 3, 2) == 2)
		__asm__ volatile("at s1e2w, %0" : : "r"(pa));
	else
		__asm__ volatile("at s1e1w, %0" : : "r"(pa));
	__asm__ volatile("isb\n\tmrs %0, par_el1" : "=r"(par));
	return !(par & 1);
}

/* VMSAv8-64 with the 4K granule (Arm ARM D8.3): 9 index bits per level, tables at 0..2. */
#define DESC_VALID BIT(0)
#define DESC_TABLE BIT(1)
#define DESC_ADDR  GENMASK(47, 12)

static void note_tables(u64 table, unsigned level)
{
	const u64 *entries = (const u64 *)(uintptr_t)table;

	efi_note_table_page(table);
	if (level == 3)
		return;
	for (unsigned i = 0; i < 512; i++) {
		if ((entries[i] & (DESC_VALID | DESC_TABLE)) == (DESC_VALID | DESC_TABLE))
			note_tables(entries[i] & DESC_ADDR, level + 1);
	}
}

/*
 * UEFI's AArch64 binding maps with the 4K granule through TTBR0 of the current
 * EL (UEFI 2.x 2.3.6.1); the first level follows from TCR.T0SZ (Arm ARM
 * D8.2.6): 48-bit VAs start at level 0, 39-bit at level 1, and so on.
 */
void uefi_arch_note_table_pages(void)
{
	u64 el, ttbr, tcr;
	unsigned va_bits;

	__asm__ volatile("mrs %0, CurrentEL" : "=r"(el));
	if (FIELD_GET(el, 3, 2) == 2) {
		__asm__ volatile("mrs %0, ttbr0_el2" : "=r"(ttbr));
		__asm__ volatile("mrs %0, tcr_el2" : "=r"(tcr));
	} else {
		__asm__ volatile("mrs %0, ttbr0_el1" : "=r"(ttbr));
		__asm__ volatile("mrs %0, tcr_el1" : "=r"(tcr));
	}
	if (FIELD_GET(tcr, 15, 14) != 0) { /* TG0: only 4K (0b00) is walked */
		efi_table_pages_unknown();
		return;
	}
	va_bits = 64 - FIELD_GET(tcr, 5, 0);
	note_tables(ttbr & DESC_ADDR, 3 - (va_bits - 13) / 9);
}
