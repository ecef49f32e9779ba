/* SPDX-License-Identifier: MIT */
/*
 * The arm64 Linux Image entry (Documentation/arch/arm64/booting.rst): a 64-byte
 * header that QEMU -kernel and U-Boot booti recognise, then the primary CPU's
 * entry with the MMU off, x0 = physical address of the DTB.
 *
 * The image is linked at address 0 as a PIE; whatever address it was loaded at
 * (booti and QEMU use a 2 MiB aligned base + text_offset 0), the R_AARCH64_RELATIVE
 * relocations are applied here before any C runs. The build rejects images with
 * any other dynamic relocation, so this loop is all a load needs.
 */
#include "arch/arm64/asm.h"
#include "kernel/stack.h"

#define R_AARCH64_RELATIVE 1027
/* Image header flags: bit 0 = 0 little endian, bits 2:1 = 1 4K pages, bit 3 = anywhere in RAM. */
#define IMAGE_FLAGS ((1 << 1) | (1 << 3))

	.section .head.text, "ax"
	.global _text
_text:
	b	primary_entry		/* code0 */
	.long	0			/* code1 */
	.quad	0			/* text_offset */
	.quad	__image_size		/* image_size: text to end of bss (linker script) */
	.quad	IMAGE_FLAGS
	.quad	0, 0, 0			/* res2-res4 */
	.ascii	"ARM\x64"		/* magic at offset 0x38 */
	.long	0			/* res5 (PE header offset: not an EFI stub) */

	.text
	.type	primary_entry, %function
primary_entry:
	msr	daifset, #0xf
	mov	x19, x0			/* DTB */
	current_el x20

	/* Apply R_AARCH64_RELATIVE relocations: *(base + offset) = base + addend. */
	adr	x0, _text
	adrp	x1, __rela_start
	add	x1, x1, :lo12:__rela_start
	adrp	x2, __rela_end
	add	x2, x2, :lo12:__rela_end
1:	cmp	x1, x2
	b.hs	2f
	ldp	x3, x4, [x1], #16	/* r_offset, r_info */
	ldr	x5, [x1], #8		/* r_addend */
	cmp	w4, #R_AARCH64_RELATIVE
	b.ne	1b
	add	x5, x5, x0
	str	x5, [x0, x3]
	b	1b

	/* Clear bss (16-byte aligned by the linker script). */
2:	adrp	x1, __bss_start
	add	x1, x1, :lo12:__bss_start
	adrp	x2, __bss_end
	add	x2, x2, :lo12:__bss_end
3:	cmp	x1, x2
	b.hs	4f
	stp	xzr, xzr, [x1], #16
	b	3b

4:	adrp	x1, boot_stack
	add	x1, x1, :lo12:boot_stack
	add	x1, x1, #(STACK_GUARD_SIZE + STACK_SIZE)
	mov	sp, x1
	mov	x29, xzr
	mov	x30, xzr
	enable_fp x20, x1
	mov	x0, x19
	mov	x1, x20
	bl	boot_arm64_main
5:	wfi				/* boot_arm64_main does not return */
	b	5b
	.size	primary_entry, . - primary_entry

