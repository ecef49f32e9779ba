/* SPDX-License-Identifier: MIT */
/*
 * x86-64 guest entry, PVH style (QEMU -kernel, and the VMM): 32-bit protected mode with flat
 * segments, paging off; ebx = hvm_start_info or 0, esi = RAM size in 4 KiB pages when ebx = 0,
 * edi = pattern seed or 0, edx = vCPU count or 0 (docs/hypercalls.md, "Entry state"). Builds an
 * identity map of the first GiB, enters long mode with SSE usable, and calls
 * guest_entry(ebx, esi, edi, edx).
 */
#include "tests/guests/x86_64/long_mode.h"

#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define PTE_P_RW 0x3
#define PTE_PS   0x80

/*
 * PVH entry note. The descriptor is 8 bytes: QEMU reads a size_t from it for an ELF64
 * (hw/i386/x86.c, read_pvh_start_addr), as granule's kernel also emits it.
 */
	.section .note.Xen, "a", @note
	.balign 4
	.long 4
	.long 8
	.long XEN_ELFNOTE_PHYS32_ENTRY
	.asciz "Xen"
	.balign 4
	.quad pvh_entry

	.section .text.boot, "ax"
	.code32
	.globl pvh_entry
pvh_entry:
	cli
	cld
	/* The loader's registers, before anything clobbers them (.data: .bss is cleared below). */
	mov	%ebx, boot_regs
	mov	%esi, boot_regs + 8
	mov	%edi, boot_regs + 16
	mov	%edx, boot_regs + 24
	load_guest_gdt32
	mov	%eax, %fs
	mov	%eax, %gs
	mov	$__stack_top, %esp

	mov	$__bss_start, %edi
	mov	$__bss_end, %ecx
	sub	%edi, %ecx
	xor	%eax, %eax
	rep stosb

	/* PML4[0] -> PDPT[0] -> one page directory of 2 MiB pages: VA == PA below 1 GiB. */
	movl	$(boot_pdpt + PTE_P_RW), boot_pml4
	movl	$(boot_pd + PTE_P_RW), boot_pdpt
	mov	$boot_pd, %edi
	mov	$(PTE_P_RW | PTE_PS), %eax
	mov	$512, %ecx
2:	mov	%eax, (%edi)
	add	$0x200000, %eax
	add	$8, %edi
	loop	2b

	mov	$boot_pml4, %esi
	enter_long_mode %esi, long64

	.code64
long64:
	flat_data_segments
	mov	$__stack_top, %rsp
	movl	boot_regs, %edi
	movl	boot_regs + 8, %esi
	movl	boot_regs + 16, %edx
	movl	boot_regs + 24, %ecx
	call	guest_entry
3:	hlt
	jmp	3b

/*
 * Exception stubs, 16 bytes apart (x86_64/arch.c fills the IDT from x86_vector_stubs): each
 * pushes an error code where the CPU does not (SDM Vol. 3A, "Exception and Interrupt Reference"), then the vector.
 */
	.macro stub vec
	.balign 16
	push	$0
	push	$\vec
	jmp	x86_exception_common
	.endm
	.macro stub_err vec
	.balign 16
	push	$\vec
	jmp	x86_exception_common
	.endm

	.balign 16
	.globl x86_vector_stubs
x86_vector_stubs:
	stub 0
	stub 1
	stub 2
	stub 3
	stub 4
	stub 5
	stub 6
	stub 7
	stub_err 8
	stub 9
	stub_err 10
	stub_err 11
	stub_err 12
	stub_err 13
	stub_err 14
	stub 15
	stub 16
	stub_err 17
	stub 18
	stub 19
	stub 20
	stub_err 21
	stub 22
	stub 23
	stub 24
	stub 25
	stub 26
	stub 27
	stub 28
	stub_err 29
	stub_err 30
	stub 31

x86_exception_common:
	mov	%rsp, %rdi
	and	$-16, %rsp
	call	x86_exception
4:	hlt
	jmp	4b

	.section .data
	.balign 8
boot_regs:
	.quad 0, 0, 0, 0
gdt:
	.quad 0
	.quad 0x00cf9a000000ffff /* 0x08: 32-bit code, flat */
	.quad 0x00cf92000000ffff /* 0x10: data, flat */
	.quad 0x00af9a000000ffff /* 0x18: 64-bit code */
gdt_end:
	.balign 4
	.globl gdt_ptr
gdt_ptr:
	.word gdt_end - gdt - 1
	.long gdt

	.section .bss
	.balign 4096
boot_pml4:
	.space 4096
boot_pdpt:
	.space 4096
boot_pd:
	.space 4096
	.balign 16
	.space 65536
	.globl __stack_top
__stack_top:
