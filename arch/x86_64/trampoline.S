/* SPDX-License-Identifier: MIT */
/*
 * The application processor's way from reset to the kernel. arch_cpu_start() copies this
 * block to a free page below 1 MiB, fills in the parameter block at its end (addresses
 * depend on where the page and the kernel are, so nothing here is linked absolute: the same
 * code serves the fixed-address PVH/Multiboot2 image and the relocated UEFI one), and sends
 * the page number as the SIPI vector. The AP starts in real mode at CS = page << 8, IP = 0
 * (SDM Vol 3 8.4.4.1 "Typical BSP Initialization Sequence", 10.6.1) and goes real -> protected -> IA-32e mode on the kernel's
 * own tables, which map this page at its identity address, executable (kmap_identity_code).
 */
#include "arch/x86_64/x86_asm.h"

#define OFF(sym) ((sym) - x86_trampoline_start)

	.section .rodata.trampoline, "a"
	.balign 16
	.globl x86_trampoline_start, x86_trampoline_end
x86_trampoline_start:
	.code16
	cli
	cld
	mov %cs, %ax
	mov %ax, %ds
	xor %ebx, %ebx
	mov %ax, %bx
	shl $4, %ebx /* ebx = physical base of this page, for the 32- and 64-bit parts */
	lgdtl OFF(tramp_gdtr)
	mov %cr0, %eax
	or $CR0_PE, %eax
	mov %eax, %cr0
	/* SDM Vol 3 9.9.1 "Switching to Protected Mode": a far jump right after setting PE, to load CS from the new GDT. */
	ljmpl *OFF(tramp_far32)

	.code32
	.globl x86_tramp_pm32
x86_tramp_pm32:
tramp_pm32:
	mov $GDT_DATA, %eax
	mov %eax, %ds
	mov %eax, %es
	mov %eax, %ss
	ENTER_LONG_MODE_32 OFF(tramp_cr3)(%ebx)
	ljmpl *OFF(tramp_far64)(%ebx)

	.code64
	.globl x86_tramp_lm64
x86_tramp_lm64:
tramp_lm64:
	LOAD_FLAT_DATA_SEGMENTS
	/* Upper halves of GPRs are undefined after the switch to 64-bit mode. */
	mov %ebx, %ebx
	/*
	 * The boot CPU's exact control registers (arch_kernel_pt_activate() explains the
	 * order): EFER, CR0, CR4 (PGE), and CR3 again as a full 64-bit value.
	 */
	mov OFF(tramp_efer)(%rbx), %eax
	mov OFF(tramp_efer) + 4(%rbx), %edx
	mov $MSR_EFER, %ecx
	wrmsr
	mov OFF(tramp_cr0)(%rbx), %rax
	mov %rax, %cr0
	mov OFF(tramp_cr4)(%rbx), %rax
	mov %rax, %cr4
	mov OFF(tramp_cr3)(%rbx), %rax
	mov %rax, %cr3
	mov OFF(tramp_stack)(%rbx), %rsp
	xor %ebp, %ebp
	call *OFF(tramp_entry)(%rbx)
1:	cli
	hlt
	jmp 1b

	.balign 8
	.globl x86_tramp_gdt
x86_tramp_gdt:
tramp_gdt:
	FLAT_GDT_ENTRIES
tramp_gdt_end:

	/* Parameters (struct x86_trampoline_params in smp.c), filled in by the boot CPU. */
	.balign 8
	.globl x86_trampoline_params
x86_trampoline_params:
tramp_gdtr:
	.word tramp_gdt_end - tramp_gdt - 1
	.long 0 /* base: page + OFF(tramp_gdt) */
	.word 0
tramp_far32:
	.long 0 /* page + OFF(tramp_pm32) */
	.word BOOT_GDT_CODE32
	.word 0
tramp_far64:
	.long 0 /* page + OFF(tramp_lm64) */
	.word GDT_CODE64
	.word 0
tramp_cr0:
	.quad 0
tramp_cr3:
	.quad 0
tramp_cr4:
	.quad 0
tramp_efer:
	.quad 0
tramp_stack:
	.quad 0
tramp_entry:
	.quad 0
x86_trampoline_end:


	.section .note.GNU-stack, "", @progbits
