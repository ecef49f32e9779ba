/* SPDX-License-Identifier: MIT */
/*
 * The UEFI boot stub (GNU-EFI), shared by arm64 and x86-64. Only the files in
 * boot/uefi/ include the GNU-EFI headers; the kernel sees a boot_info.
 */
#ifndef BOOT_UEFI_UEFI_H
#define BOOT_UEFI_UEFI_H

#include <efi.h>

#include "boot/boot_info.h"
#include "lib/types.h"

/* Console output through ConOut; efi_con_init(NULL) silences it before ExitBootServices. */
void efi_con_init(EFI_SYSTEM_TABLE *st);
void efi_print(const char *fmt, ...) __printf(1, 2);

/*
 * The ASCII command line from the UEFI Shell's argument vector (preferred: the
 * shell has already parsed quoting), or else from the raw load options (UCS-2,
 * possibly without a terminator; a leading "*.efi" image path is dropped, as
 * some loaders put one there). Return 0, or, after printing why the options
 * are unusable, ERR_INVAL (not printable ASCII) or ERR_RANGE (too long).
 */
int efi_shell_args_to_cmdline(CHAR16 **argv, UINTN argc, char *out, size_t out_size);
int efi_load_options_to_cmdline(const CHAR16 *opts, u32 size_bytes, char *out, size_t out_size);

/*
 * The load option initrd=\PATH\FILE (efi_initrd.c): takes it out of
 * bi->cmdline, reads the file from the volume on device (the LoadedImage's
 * DeviceHandle) into EfiLoaderData pages and records it as the boot module.
 * Without the option, does nothing. Returns an error after printing what went
 * wrong with which file.
 */
EFI_STATUS efi_load_initrd(EFI_BOOT_SERVICES *bs, EFI_HANDLE device, struct boot_info *bi);

/*
 * Appends the firmware memory map to bi as the kernel's memory types, merging
 * neighbours of the same type. Free RAM that the running translation cannot
 * write, or that holds its tables, becomes reserved. No firmware calls: it
 * runs after ExitBootServices and uefi_arch_handoff().
 */
void efi_memmap_to_boot_info(struct boot_info *bi, const void *map, UINTN map_size,
			     UINTN desc_size);

/* ---- Per architecture (boot/uefi/arch_<arch>.c, call_<arch>.S) ---- */
/* Before ExitBootServices: allocations the architecture needs (x86 AP trampoline). */
EFI_STATUS uefi_arch_prepare(EFI_BOOT_SERVICES *bs, struct boot_info *bi);
/* After ExitBootServices: masks interrupts, records the entry privilege level. */
void uefi_arch_handoff(struct boot_info *bi);
/* Whether the running (firmware's) translation lets the kernel write the page at pa. */
bool uefi_arch_page_writable(u64 pa);
/* Walks the running translation tables, calling efi_note_table_page() for each table page. */
void uefi_arch_note_table_pages(void);
void efi_note_table_page(u64 pa);
/* The tables cannot be walked: all boot services data is then kept. */
void efi_table_pages_unknown(void);
/* Switches to the stack ending at sp and calls fn(arg); fn must not return. */
__noreturn void uefi_call_on_stack(__noreturn void (*fn)(struct boot_info *), struct boot_info *arg,
				   void *sp);

#endif
