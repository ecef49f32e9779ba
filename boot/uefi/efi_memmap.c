/* SPDX-License-Identifier: MIT */
/* The UEFI memory map (UEFI 2.x 7.2, GetMemoryMap) as boot_info ranges. */
#include "boot/uefi/uefi.h"

/*
 * After ExitBootServices the boot services' and the loader's memory is free
 * RAM (UEFI 2.x 7.4). The loader data ranges hold boot_info (inside this
 * image), the x86 trampoline page and the initrd= module; memmap_init()
 * removes those through image_start/end, lowmem_trampoline and the module's
 * MEM_BOOT_DATA range (efi_initrd.c). Runtime services stay reserved: the
 * firmware may still be called through them. Unknown types are reserved,
 * never guessed usable.
 */
static enum mem_type classify(u32 type)
{
	switch (type) {
	case EfiLoaderCode:
	case EfiLoaderData:
	case EfiBootServicesCode:
	case EfiBootServicesData:
	case EfiConventionalMemory: return MEM_USABLE;
	case EfiACPIReclaimMemory:
	case EfiACPIMemoryNVS: return MEM_ACPI;
	default: return MEM_RESERVED;
	}
}

/*
 * The pages holding the firmware's live translation tables: free RAM by the
 * memory map, yet the kernel runs on them until its own tables are live.
 * 4096 pages map far more than any firmware's identity map needs.
 */
#define MAX_TABLE_PAGES 4096
static u64 table_pages[MAX_TABLE_PAGES];
static unsigned nr_table_pages;
static bool table_pages_overflow;

void efi_note_table_page(u64 pa)
{
	if (nr_table_pages == MAX_TABLE_PAGES)
		table_pages_overflow = true;
	else
		table_pages[nr_table_pages++] = ALIGN_DOWN(pa, EFI_PAGE_SIZE);
}

void efi_table_pages_unknown(void)
{
	table_pages_overflow = true;
}

static void sort_table_pages(void)
{
	for (unsigned i = 1; i < nr_table_pages; i++) {
		u64 key = table_pages[i];
		unsigned j = i;

		for (; j > 0 && table_pages[j - 1] > key; j--)
			table_pages[j] = table_pages[j - 1];
		table_pages[j] = key;
	}
}

static bool is_table_page(u64 pa)
{
	unsigned lo = 0, hi = nr_table_pages;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;

		if (table_pages[mid] == pa)
			return true;
		if (table_pages[mid] < pa)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/* Appends a range, or grows the last one when it is the same type and adjacent. */
static void add_range(struct boot_info *bi, u64 base, u64 size, enum mem_type type)
{
	struct mem_range *last = bi->nr_ranges ? &bi->ranges[bi->nr_ranges - 1] : NULL;

	if (last && last->type == type && last->base + last->size == base)
		last->size += size;
	else
		boot_info_add_range(bi, base, size, type);
}

/*
 * The kernel runs on the firmware's page tables until its own are live, so
 * free RAM it may allocate early must be writable through them and must not
 * hold them. EDK2 maps its drivers' code read-only and leaves guard pages
 * unmapped: an early allocation there faults on the first write; zeroing a
 * table page pulls the ground from under the kernel. Such pages are reserved;
 * that costs the firmware's code and tables (about 5 MiB on AAVMF) for good.
 */
static bool early_usable(u64 pa)
{
	return !is_table_page(pa) && uefi_arch_page_writable(pa);
}

/* Free RAM between firmware pages that is too small to be worth a range of its own. */
#define SLIVER_SIZE KiB(64)

/*
 * kept is what pages unfit for early allocation become: reserved for the
 * firmware's, boot data for the loader's (EfiLoaderCode/Data: granule's own
 * image, mapped partly read-only by EDK2, and its allocations). The kernel
 * image must not lie in memory marked reserved (memmap_check_claims), and the
 * loader's pages are granule's RAM, not the firmware's.
 */
static void add_usable(struct boot_info *bi, u64 base, u64 size, enum mem_type kept)
{
	u64 start = base, end = base + size;

	while (base < end) {
		bool usable = early_usable(base);
		u64 run = base + EFI_PAGE_SIZE;

		while (run < end && early_usable(run) == usable)
			run += EFI_PAGE_SIZE;
		/*
		 * EDK2 interleaves its images' read-only code and writable data:
		 * folding the slivers between them into the reservation keeps the
		 * range count far below BOOT_MAX_RANGES.
		 */
		if (usable && run - base < SLIVER_SIZE && (base != start || run != end))
			usable = false;
		add_range(bi, base, run - base, usable ? MEM_USABLE : kept);
		base = run;
	}
}

/* A descriptor whose pages wrap past the top of the address space, or whose size overflows. */
static bool descriptor_wraps(const EFI_MEMORY_DESCRIPTOR *d)
{
	u64 size = d->NumberOfPages << EFI_PAGE_SHIFT;

	return d->NumberOfPages > (~0ULL >> EFI_PAGE_SHIFT) ||
	       d->PhysicalStart + size - 1 < d->PhysicalStart;
}

void efi_memmap_to_boot_info(struct boot_info *bi, const void *map, UINTN map_size, UINTN desc_size)
{
	/* DescriptorSize is at least the 1.0 descriptor (UEFI 2.x 7.2, GetMemoryMap()). */
	if (desc_size < sizeof(EFI_MEMORY_DESCRIPTOR)) {
		boot_info_input_error(bi, "UEFI memory map descriptor size %llu is below %zu bytes",
				      (unsigned long long)desc_size, sizeof(EFI_MEMORY_DESCRIPTOR));
		return;
	}
	uefi_arch_note_table_pages();
	sort_table_pages();
	/* Step by DescriptorSize, never sizeof: descriptors may grow (UEFI 2.x 7.2). */
	for (UINTN off = 0; off + desc_size <= map_size; off += desc_size) {
		const EFI_MEMORY_DESCRIPTOR *d = (const void *)((const u8 *)map + off);
		u64 size = d->NumberOfPages << EFI_PAGE_SHIFT;
		enum mem_type type = classify(d->Type);

		if (!d->NumberOfPages)
			continue;
		if (descriptor_wraps(d)) {
			boot_info_input_error(bi,
					      "UEFI memory map entry at 0x%llx with 0x%llx pages "
					      "wraps past the top of memory",
					      (unsigned long long)d->PhysicalStart,
					      (unsigned long long)d->NumberOfPages);
			return;
		}
		/* Tables live in boot services data: without the full list, keep all of it. */
		if (type == MEM_USABLE && table_pages_overflow && d->Type == EfiBootServicesData)
			type = MEM_RESERVED;
		if (type == MEM_USABLE)
			add_usable(bi, d->PhysicalStart, size,
				   d->Type == EfiLoaderCode || d->Type == EfiLoaderData
					   ? MEM_BOOT_DATA
					   : MEM_RESERVED);
		else
			add_range(bi, d->PhysicalStart, size, type);
	}
}
