/* SPDX-License-Identifier: MIT */
/*
 * The one normalized description of the machine that every boot path (arm64
 * Image, UEFI, PVH, Multiboot2) fills in before calling kernel_main().
 * Boot paths record what the firmware said, raw; kernel/ and mm/ validate it.
 */
#ifndef BOOT_BOOT_INFO_H
#define BOOT_BOOT_INFO_H

#include "lib/types.h"

enum boot_protocol {
	BOOT_ARM64_IMAGE,
	BOOT_UEFI,
	BOOT_PVH,
	BOOT_MULTIBOOT2,
};

enum mem_type {
	MEM_USABLE,
	MEM_RESERVED,  /* firmware, MMIO holes, reserved-memory nodes, memreserve */
	MEM_ACPI,      /* ACPI reclaimable and NVS: never handed out */
	MEM_BOOT_DATA, /* DTB, boot modules, the map itself: kept */
};

struct mem_range {
	u64 base;
	u64 size;
	enum mem_type type;
};

#define BOOT_MAX_RANGES	 256
#define BOOT_CMDLINE_MAX 1024

struct boot_info {
	enum boot_protocol protocol;
	/* Each memory range exactly as the firmware described it; may overlap. */
	struct mem_range ranges[BOOT_MAX_RANGES];
	u32 nr_ranges;
	/* Set when the firmware gave more ranges than fit: an error, not a truncation. */
	bool ranges_overflow;
	char cmdline[BOOT_CMDLINE_MAX];
	bool cmdline_truncated;
	/* Physical extent of the loaded kernel image (text to end of bss). */
	u64 image_start;
	u64 image_end;
	/* Flattened device tree (arm64), or 0. fdt_size is its header's totalsize when known. */
	u64 fdt;
	u64 fdt_size;
	/* ACPI RSDP (x86, and arm64 UEFI when present), or 0. */
	u64 acpi_rsdp;
	/* x86: a page below 1 MiB reserved for the SMP real-mode trampoline, or 0. */
	u64 lowmem_trampoline;
	/* Exception level the boot path was entered at (arm64: 1 or 2; x86: 0). */
	u32 entry_el;
	/*
	 * Physical memory below this address is reachable at VA == PA while the
	 * boot path's (or firmware's) translation is live: ~0 with the MMU off or
	 * under UEFI, 4 GiB with the x86 boot stub's tables. Early allocations stay
	 * below it until the kernel's own page tables are live.
	 */
	u64 identity_limit;
	/*
	 * The first boot module, or size 0: arm64 QEMU -initrd (DTB /chosen
	 * linux,initrd-start and linux,initrd-end), PVH module 0 (hvm_start_info
	 * modlist), the first Multiboot2 module tag, the file named by the UEFI
	 * stub's initrd= load option (boot/uefi/efi_initrd.c). Its range is also a
	 * MEM_BOOT_DATA range, so it stays intact. The test guests reach the VMM
	 * this way (test=guests).
	 */
	u64 module_base;
	u64 module_size;
	/*
	 * Set by a boot path that refused an input before any console existed (x86:
	 * a start-info pointer or length that leaves what the boot stub maps); the
	 * input was not read. memmap_init() turns it into boot_fail().
	 */
	char input_error[160];
};

/* kernel_main()'s boot_info, for code that runs later (the guests suite). */
extern const struct boot_info *boot_info_kernel;

/* Records the first module at [base, base + size) (later ones are only kept). */
void boot_info_set_module(struct boot_info *bi, u64 base, u64 size);

/* Appends a range; sets ranges_overflow instead of writing past the array. */
void boot_info_add_range(struct boot_info *bi, u64 base, u64 size, enum mem_type type);
/* Records the first refused input (boot_info.input_error); later ones are dropped. */
void boot_info_input_error(struct boot_info *bi, const char *fmt, ...) __printf(2, 3);
/* Copies a NUL-terminated command line, recording truncation. */
void boot_info_set_cmdline(struct boot_info *bi, const char *cmdline, size_t max_len);

/* The common C entry every boot path ends in. */
__noreturn void kernel_main(struct boot_info *bi);

#endif
