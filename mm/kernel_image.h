/* SPDX-License-Identifier: MIT */
/*
 * Section boundaries of the loaded kernel image. EVERY linker script that
 * links the kernel (linker/arm64.ld, linker/x86_64.ld, the UEFI script) must
 * define all of these, each page aligned, in this order:
 *
 *   __image_start <= __text_start < __text_end <= __rodata_start
 *     < __rodata_end <= __data_start < __image_end
 *
 * text is mapped read-only executable, rodata read-only, data (with bss and
 * everything after it up to __image_end) read-write and never executable.
 */
#ifndef MM_KERNEL_IMAGE_H
#define MM_KERNEL_IMAGE_H

extern char __image_start[], __text_start[], __text_end[];
extern char __rodata_start[], __rodata_end[], __data_start[], __image_end[];

#endif
