/* SPDX-License-Identifier: MIT */
/* The two x86 boot protocols' structures, as far as granule reads them. */
#ifndef BOOT_X86_64_BOOT_X86_H
#define BOOT_X86_64_BOOT_X86_H

#define BOOT_PROTO_PVH 1
#define BOOT_PROTO_MB2 2

#define PVH_START_MAGIC	     0x336ec578 /* "xEn3" with bit 7 of the 'E' set */
#define MB2_BOOTLOADER_MAGIC 0x36d76289

#ifndef __ASSEMBLER__
#include "lib/types.h"

/* xen/include/public/arch-x86/hvm/start_info.h */
struct hvm_start_info {
	u32 magic;
	u32 version; /* 1 adds the memory map */
	u32 flags;
	u32 nr_modules;
	u64 modlist_paddr;
	u64 cmdline_paddr;
	u64 rsdp_paddr;
	u64 memmap_paddr; /* version >= 1 */
	u32 memmap_entries;
	u32 reserved;
};

struct hvm_modlist_entry {
	u64 paddr;
	u64 size;
	u64 cmdline_paddr;
	u64 reserved;
};

struct hvm_memmap_table_entry {
	u64 addr;
	u64 size;
	u32 type; /* E820 types */
	u32 reserved;
};

/* E820 / Multiboot2 memory types (ACPI 6.4 table 15.312; Multiboot2 spec 3.6.8). */
#define E820_RAM      1
#define E820_RESERVED 2
#define E820_ACPI     3
#define E820_NVS      4
#define E820_UNUSABLE 5

/* Multiboot2 boot information (Multiboot2 spec 3.6). */
struct mb2_info_header {
	u32 total_size;
	u32 reserved;
};

struct mb2_tag {
	u32 type;
	u32 size;
};

#define MB2_TAG_END	 0
#define MB2_TAG_CMDLINE	 1
#define MB2_TAG_MODULE	 3
#define MB2_TAG_MMAP	 6
#define MB2_TAG_ACPI_OLD 14
#define MB2_TAG_ACPI_NEW 15

struct mb2_tag_module {
	struct mb2_tag tag;
	u32 mod_start;
	u32 mod_end;
	char string[];
};

struct mb2_tag_mmap {
	struct mb2_tag tag;
	u32 entry_size;
	u32 entry_version;
};

struct mb2_mmap_entry {
	u64 base_addr;
	u64 length;
	u32 type;
	u32 reserved;
};

void x86_boot_main(u32 protocol, u32 info);
#endif

#endif
