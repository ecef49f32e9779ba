/* SPDX-License-Identifier: MIT */
/*
 * Fills the normalized boot_info from a PVH hvm_start_info or a Multiboot2 information
 * structure, then enters kernel_main(). Runs on the boot stub's identity map of the first
 * 4 GiB, so every structure the loaders hand over is reachable at its physical address.
 */
#include "boot/boot_info.h"
#include "arch/x86_64/x86.h"
#include "boot/x86_64/boot_x86.h"
#include "drivers/acpi.h"
#include "lib/printf.h"
#include "lib/string.h"

/* Linker symbols (linker/x86_64.ld). */
extern char __image_start[], __image_end[];

static struct boot_info x86_bi;

static enum mem_type e820_to_mem_type(u32 type)
{
	switch (type) {
	case E820_RAM: return MEM_USABLE;
	case E820_ACPI:
	case E820_NVS: return MEM_ACPI;
	default: return MEM_RESERVED;
	}
}

static void add_boot_data(struct boot_info *bi, u64 base, u64 size)
{
	if (size)
		boot_info_add_range(bi, base, size, MEM_BOOT_DATA);
}

/*
 * The 32-bit stub identity maps the first 4 GiB (entry.S, bi->identity_limit);
 * any other address faults. Every pointer and length the loader hands over is
 * checked against that before it is read: true when [pa, pa + size) is below
 * the limit, else the refusal is recorded (boot_info.input_error) and the
 * input is not read.
 */
static bool reachable(struct boot_info *bi, const char *what, u64 pa, u64 size)
{
	if (pa && size && pa + size - 1 >= pa && pa + size <= bi->identity_limit)
		return true;
	boot_info_input_error(bi,
			      "%s at 0x%llx (0x%llx bytes) is not inside the first 4 GiB the "
			      "boot stub maps",
			      what, (unsigned long long)pa, (unsigned long long)size);
	return false;
}

/* Bytes a NUL-terminated string at pa may be searched for its end: never past the map. */
static size_t string_room(const struct boot_info *bi, u64 pa)
{
	return (size_t)MIN((u64)BOOT_CMDLINE_MAX, bi->identity_limit - pa);
}

static void add_cmdline_from(struct boot_info *bi, u64 pa)
{
	const char *s = (const char *)(uintptr_t)pa;

	if (!pa || !reachable(bi, "PVH command line", pa, 1))
		return;
	boot_info_set_cmdline(bi, s, string_room(bi, pa));
	add_boot_data(bi, pa, strnlen(s, string_room(bi, pa)) + 1);
}

/* hvm_start_info modlist (start_info.h): each entry read only once it is known mapped. */
static void parse_pvh_modules(struct boot_info *bi, const struct hvm_start_info *si)
{
	const struct hvm_modlist_entry *mod = (const void *)(uintptr_t)si->modlist_paddr;
	u64 bytes = (u64)si->nr_modules * sizeof(*mod);

	/* Each module is a boot_info range: more than fit cannot be kept anyway. */
	if (si->nr_modules > BOOT_MAX_RANGES) {
		boot_info_input_error(bi, "PVH start info lists %u modules, more than %u",
				      si->nr_modules, BOOT_MAX_RANGES);
		return;
	}
	if (!reachable(bi, "PVH module list", si->modlist_paddr, bytes))
		return;
	add_boot_data(bi, si->modlist_paddr, bytes);
	for (u32 i = 0; i < si->nr_modules; i++) {
		u64 cmd = mod[i].cmdline_paddr;

		/* A module that wraps is refused by memmap_check_claims(); it is not read here. */
		boot_info_set_module(bi, mod[i].paddr, mod[i].size);
		if (cmd && reachable(bi, "PVH module command line", cmd, 1))
			add_boot_data(bi, cmd,
				      strnlen((const char *)(uintptr_t)cmd, string_room(bi, cmd)) +
					      1);
	}
}

static void parse_pvh(struct boot_info *bi, const struct hvm_start_info *si)
{
	bi->protocol = BOOT_PVH;
	if (!reachable(bi, "PVH start info", (u64)(uintptr_t)si, sizeof(*si)))
		return;
	add_boot_data(bi, (u64)(uintptr_t)si, sizeof(*si));
	add_cmdline_from(bi, si->cmdline_paddr);
	bi->acpi_rsdp = si->rsdp_paddr;
	if (si->nr_modules && si->modlist_paddr)
		parse_pvh_modules(bi, si);
	if (si->version < 1 || !si->memmap_paddr || !si->memmap_entries) {
		/* Without a map memmap_init() finds nothing usable and says so; say why first. */
		x86_boot_warning = "PVH start info has no memory map (version 0 or 0 entries)";
		return;
	}
	const struct hvm_memmap_table_entry *e = (const void *)(uintptr_t)si->memmap_paddr;
	u64 bytes = (u64)si->memmap_entries * sizeof(*e);

	if (si->memmap_entries > BOOT_MAX_RANGES) {
		boot_info_input_error(bi, "PVH memory map has %u entries, more than %u",
				      si->memmap_entries, BOOT_MAX_RANGES);
		return;
	}
	if (!reachable(bi, "PVH memory map", si->memmap_paddr, bytes))
		return;
	add_boot_data(bi, si->memmap_paddr, bytes);
	for (u32 i = 0; i < si->memmap_entries; i++)
		boot_info_add_range(bi, e[i].addr, e[i].size, e820_to_mem_type(e[i].type));
}

static void parse_mb2_mmap(struct boot_info *bi, const struct mb2_tag_mmap *t)
{
	const u8 *p = (const u8 *)(t + 1);
	const u8 *end = (const u8 *)t + t->tag.size;

	if (t->entry_size < sizeof(struct mb2_mmap_entry)) {
		x86_boot_warning = "Multiboot2 memory map entry size is smaller than 24 bytes";
		return;
	}
	for (; p + t->entry_size <= end; p += t->entry_size) {
		const struct mb2_mmap_entry *e = (const void *)p;

		boot_info_add_range(bi, e->base_addr, e->length, e820_to_mem_type(e->type));
	}
}

static void parse_mb2(struct boot_info *bi, const struct mb2_info_header *mbi)
{
	const u8 *base = (const u8 *)mbi;
	u32 off = sizeof(*mbi);
	bool have_mmap = false;

	bi->protocol = BOOT_MULTIBOOT2;
	/* Multiboot2 spec 3.6.1: total_size counts the whole structure, the fixed part included. */
	if (!reachable(bi, "Multiboot2 information", (u64)(uintptr_t)mbi, sizeof(*mbi)) ||
	    !reachable(bi, "Multiboot2 information", (u64)(uintptr_t)mbi,
		       MAX(mbi->total_size, sizeof(*mbi))))
		return;
	add_boot_data(bi, (u64)(uintptr_t)mbi, mbi->total_size);
	while (off + sizeof(struct mb2_tag) <= mbi->total_size) {
		const struct mb2_tag *t = (const void *)(base + off);

		if (t->type == MB2_TAG_END)
			break;
		if (t->size < sizeof(*t) || off + t->size > mbi->total_size) {
			x86_boot_warning =
				"Multiboot2 information has a tag that runs past its end";
			break;
		}
		switch (t->type) {
		case MB2_TAG_CMDLINE:
			boot_info_set_cmdline(bi, (const char *)(t + 1), t->size - sizeof(*t));
			break;
		case MB2_TAG_MODULE: {
			const struct mb2_tag_module *m = (const void *)t;

			if (m->mod_end > m->mod_start)
				boot_info_set_module(bi, m->mod_start, m->mod_end - m->mod_start);
			break;
		}
		case MB2_TAG_MMAP:
			parse_mb2_mmap(bi, (const void *)t);
			have_mmap = true;
			break;
		case MB2_TAG_ACPI_NEW:
			/* The tag holds a copy of the RSDP: point at it (inside the kept MBI). */
			bi->acpi_rsdp = (u64)(uintptr_t)(t + 1);
			break;
		case MB2_TAG_ACPI_OLD:
			if (!bi->acpi_rsdp)
				bi->acpi_rsdp = (u64)(uintptr_t)(t + 1);
			break;
		}
		off += ALIGN_UP(t->size, 8);
	}
	if (!have_mmap && !x86_boot_warning)
		x86_boot_warning = "Multiboot2 information has no memory map tag";
}

static bool range_overlaps(const struct mem_range *r, u64 base, u64 size)
{
	return base < r->base + r->size && r->base < base + size;
}

/* A page is free for the trampoline when a usable range holds it and nothing else touches it. */
static bool lowmem_page_free(const struct boot_info *bi, u64 pa)
{
	bool usable = false;

	for (u32 i = 0; i < bi->nr_ranges; i++) {
		const struct mem_range *r = &bi->ranges[i];

		if (r->type == MEM_USABLE && r->base <= pa && pa + PAGE_SIZE <= r->base + r->size)
			usable = true;
		else if (r->type != MEM_USABLE && range_overlaps(r, pa, PAGE_SIZE))
			return false;
	}
	return usable && !(pa < bi->image_end && bi->image_start < pa + PAGE_SIZE);
}

/*
 * The SIPI vector is a page number below 1 MiB (SDM Vol 3 8.4.4.1); page 0 holds the real-mode
 * IVT and BDA and 0xa0000 up is VGA and ROM. Prefer 0x8000, as many kernels do.
 */
static u64 pick_trampoline_page(const struct boot_info *bi)
{
	if (lowmem_page_free(bi, 0x8000))
		return 0x8000;
	for (u64 pa = 0x1000; pa < 0x9f000; pa += PAGE_SIZE)
		if (lowmem_page_free(bi, pa))
			return pa;
	return 0;
}

__noreturn void x86_boot_main(u32 protocol, u32 info)
{
	struct boot_info *bi = &x86_bi;

	bi->entry_el = 0;
	bi->identity_limit = GiB(4);
	bi->image_start = (u64)(uintptr_t)__image_start;
	bi->image_end = (u64)(uintptr_t)__image_end;
	if (protocol == BOOT_PROTO_PVH)
		parse_pvh(bi, (const void *)(uintptr_t)info);
	else
		parse_mb2(bi, (const void *)(uintptr_t)info);
	/*
	 * Page 0 holds the real-mode IVT and the BIOS data area (the EBDA pointer the RSDP search
	 * reads); firmware maps call it usable, but it is the BIOS's: keep it.
	 */
	add_boot_data(bi, 0, PAGE_SIZE);
	if (!bi->acpi_rsdp)
		bi->acpi_rsdp = acpi_find_rsdp_bios();
	bi->lowmem_trampoline = pick_trampoline_page(bi);
	kernel_main(bi);
}
