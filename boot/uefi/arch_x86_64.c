/* SPDX-License-Identifier: MIT */
/* x86-64 parts of the UEFI stub. */
#include "boot/uefi/uefi.h"

/*
 * An AP starts in real mode at the SIPI vector's page, an 8-bit page number:
 * the trampoline must live below 1 MiB (Intel SDM vol. 3A 9.4.4.1).
 */
#define TRAMPOLINE_MAX 0xfffffULL

EFI_STATUS uefi_arch_prepare(EFI_BOOT_SERVICES *bs, struct boot_info *bi)
{
	for (int i = 0; i < 2; i++) {
		EFI_PHYSICAL_ADDRESS pa = TRAMPOLINE_MAX;
		EFI_STATUS status = bs->AllocatePages(AllocateMaxAddress, EfiLoaderData, 1, &pa);

		if (EFI_ERROR(status)) {
			efi_print("granule: no free page below 1 MiB for the AP trampoline "
				  "(status 0x%llx): only the boot CPU will run\n",
				  (unsigned long long)status);
			return EFI_SUCCESS;
		}
		/* Page 0 holds the real-mode IVT, and 0 means "none" in boot_info: take another. */
		if (pa) {
			bi->lowmem_trampoline = pa;
			efi_print("granule: AP trampoline page at 0x%llx\n",
				  (unsigned long long)pa);
			return EFI_SUCCESS;
		}
	}
	return EFI_SUCCESS;
}

#define CR0_WP BIT(16)

void uefi_arch_handoff(struct boot_info *bi)
{
	u64 cr0;

	/* The firmware's IDT goes away with it; arch_early_init() installs the kernel's. */
	__asm__ volatile("cli" ::: "memory");
	bi->entry_el = 0;
	/*
	 * The kernel runs on the firmware's page tables until its own are live,
	 * and EDK2 maps its page tables and loaded images read-only in RAM the
	 * memory map now calls free. With CR0.WP clear, ring 0 writes ignore
	 * read-only mappings (Intel SDM vol. 3A 4.6.1); arch_kernel_pt_activate()
	 * sets WP again with the kernel's own tables.
	 */
	__asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
	__asm__ volatile("mov %0, %%cr0" : : "r"(cr0 & ~CR0_WP) : "memory");
}

/* 4- or 5-level paging (Intel SDM vol. 3A 4.5): 9 index bits per level, PS marks a leaf. */
#define PTE_P	 BIT(0)
#define PTE_PS	 BIT(7)
#define PTE_ADDR GENMASK(51, 12)
#define CR4_LA57 BIT(12)

static unsigned paging_levels(void)
{
	u64 cr4;

	__asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
	return cr4 & CR4_LA57 ? 5 : 4;
}

static u64 read_cr3(void)
{
	u64 cr3;

	__asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
	return cr3 & PTE_ADDR;
}

/* Level 1 holds 4K leaves; PS makes a level 2 (2M) or 3 (1G) entry a leaf. */
static bool is_table_entry(u64 e, unsigned level)
{
	return (e & PTE_P) && level > 1 && !(level <= 3 && (e & PTE_PS));
}

static void note_tables(u64 table, unsigned level)
{
	const u64 *entries = (const u64 *)(uintptr_t)table;

	efi_note_table_page(table);
	for (unsigned i = 0; level > 1 && i < 512; i++) {
		if (is_table_entry(entries[i], level))
			note_tables(entries[i] & PTE_ADDR, level - 1);
	}
}

void uefi_arch_note_table_pages(void)
{
	note_tables(read_cr3(), paging_levels());
}

/* With CR0.WP clear (uefi_arch_handoff), a present mapping is a writable one. */
bool uefi_arch_page_writable(u64 pa)
{
	u64 table = read_cr3();

	for (unsigned level = paging_levels();; level--) {
		u64 e = ((const u64 *)(uintptr_t)table)[(pa >> (12 + 9 * (level - 1))) & 511];

		if (!(e & PTE_P))
			return false;
		if (!is_table_entry(e, level))
			return true;
		table = e & PTE_ADDR;
	}
}
