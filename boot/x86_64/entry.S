/* SPDX-License-Identifier: MIT */
/*
 * x86-64 entry for two boot protocols carried by one ELF:
 *   PVH (QEMU -kernel): the Xen ELF note below gives pvh_entry; 32-bit protected mode,
 *       paging off, ebx = struct hvm_start_info (xen/include/public/arch-x86/hvm/start_info.h).
 *   Multiboot2 (GRUB): the header below; e_entry = mb2_entry; 32-bit protected mode,
 *       paging off, eax = 0x36d76289, ebx = the boot information (Multiboot2 spec 3.3).
 * Both: check the magic, check the CPU, build page tables that identity-map the first
 * 4 GiB with 2 MiB pages, enter long mode and call x86_boot_main(protocol, info).
 */
#include "arch/x86_64/x86_asm.h"
#include "boot/x86_64/boot_x86.h"
#include "kernel/stack.h"

#define MB2_HEADER_MAGIC 0xe85250d6
#define MB2_ARCH_I386 0
#define XEN_ELFNOTE_PHYS32_ENTRY 18

/* ---- Multiboot2 header: 8-byte aligned, within the first 32 KiB of the file ---- */
	.section .multiboot2, "a"
	.balign 8
mb2_header:
	.long MB2_HEADER_MAGIC
	.long MB2_ARCH_I386
	.long mb2_header_end - mb2_header
	.long 0x100000000 - (MB2_HEADER_MAGIC + MB2_ARCH_I386 + (mb2_header_end - mb2_header))
	/* End tag: type 0, flags 0, size 8. */
	.word 0, 0
	.long 8
mb2_header_end:

/*
 * ---- PVH: XEN_ELFNOTE_PHYS32_ENTRY. The descriptor is 8 bytes because QEMU reads a
 * size_t from it for ELF64 (hw/i386/x86.c read_pvh_start_addr), as Linux emits it.
 */
	.section .note.Xen, "a", @note
	.balign 4
	.long 4 /* namesz: "Xen\0" */
	.long 8 /* descsz */
	.long XEN_ELFNOTE_PHYS32_ENTRY
	.asciz "Xen"
	.balign 4
	.quad pvh_entry

	.section .text.boot, "ax"
	.code32

	.globl mb2_entry
mb2_entry:
	cli
	cld
	mov $(boot_stack + STACK_GUARD_SIZE + STACK_SIZE), %esp
	mov $BOOT_PROTO_MB2, %ebp
	cmp $MB2_BOOTLOADER_MAGIC, %eax
	je common32
	mov $msg_bad_mb2, %esi
	jmp fail32

	.globl pvh_entry
pvh_entry:
	cli
	cld
	mov $(boot_stack + STACK_GUARD_SIZE + STACK_SIZE), %esp
	mov $BOOT_PROTO_PVH, %ebp
	cmpl $PVH_START_MAGIC, (%ebx)
	je common32
	mov $msg_bad_pvh, %esi
	jmp fail32

common32:
	/* cpuid and the table builder clobber ebx: keep the loader's info pointer in esi. */
	mov %ebx, %esi
	/* The loader's GDT is undefined for both protocols: load ours before any segment load. */
	lgdt boot_gdt_ptr
	ljmp $BOOT_GDT_CODE32, $1f
1:	mov $GDT_DATA, %eax
	mov %eax, %ds
	mov %eax, %es
	mov %eax, %ss

	/* Loaders zero .bss (ELF p_memsz) but nothing says they must: do it, before any call. */
	mov $__bss_start, %edi
	mov $__bss_end, %ecx
	sub %edi, %ecx
	xor %eax, %eax
	rep stosb

	call check_cpu32
	call build_boot_tables32
	call enter_long_mode32
	ljmp $GDT_CODE64, $long_entry

/*
 * Long mode needs CPUID 0x80000001 EDX.LM; granule's page tables need EDX.NX (XD);
 * timers and IPIs need the local APIC (CPUID 1 EDX.APIC). Refuse clearly otherwise.
 */
check_cpu32:
	mov $0x80000000, %eax
	cpuid
	cmp $0x80000001, %eax
	jb no_long_mode
	mov $0x80000001, %eax
	cpuid
	bt $29, %edx
	jnc no_long_mode
	bt $20, %edx
	jnc no_nx
	mov $1, %eax
	cpuid
	bt $9, %edx
	jnc no_apic
	ret
no_long_mode:
	mov $msg_no_lm, %esi
	jmp fail32
no_nx:
	mov $msg_no_nx, %esi
	jmp fail32
no_apic:
	mov $msg_no_apic, %esi
	jmp fail32

/* PML4[0] -> PDPT[0..3] -> four page directories of 2 MiB leaves: VA == PA below 4 GiB. */
build_boot_tables32:
	mov $(boot_pdpt + X86_PTE_TABLE), %eax
	mov %eax, boot_pml4
	mov $boot_pd, %edi
	mov $boot_pdpt, %ebx
	mov $4, %ecx
1:	lea X86_PTE_TABLE(%edi), %eax
	mov %eax, (%ebx)
	add $4096, %edi
	add $8, %ebx
	loop 1b
	/* 2048 entries of 2 MiB; the high dword stays 0 (bss is zeroed). */
	mov $boot_pd, %edi
	mov $(X86_PTE_P | X86_PTE_RW | X86_PTE_PS), %eax
	mov $2048, %ecx
2:	mov %eax, (%edi)
	add $0x200000, %eax
	add $8, %edi
	loop 2b
	ret

/*
 * IA-32e activation order (SDM Vol 3 9.8.5 "Initializing IA-32e Mode"): CR4.PAE, CR3, EFER.LME, then CR0.PG.
 * EFER.NXE goes with LME so that XD bits are legal before the kernel's tables use them.
 */
enter_long_mode32:
	ENTER_LONG_MODE_32 $boot_pml4
	ret

/* esi = NUL-terminated message. Prints it on COM1, then ends the run with status 1. */
fail32:
	call puts32
	mov $msg_exit, %esi
	call puts32
	mov $1, %eax
	out %eax, $ISA_DEBUG_EXIT_PORT
	mov $msg_bochs_shutdown, %esi
	mov $BOCHS_SHUTDOWN_PORT, %dx
1:	lodsb
	test %al, %al
	jz 2f
	out %al, %dx
	jmp 1b
2:	cli
	hlt
	jmp 2b

/* COM1 polled output; works before the UART is programmed (emulators and firmware set it). */
puts32:
	lodsb
	test %al, %al
	jz 3f
	mov %al, %bl
	mov $0x100000, %ecx
	mov $(COM1_PORT + 5), %dx
1:	in %dx, %al
	test $0x20, %al
	jnz 2f
	loop 1b
2:	mov $COM1_PORT, %dx
	mov %bl, %al
	out %al, %dx
	jmp puts32
3:	ret

	.code64
long_entry:
	LOAD_FLAT_DATA_SEGMENTS
	/* Upper halves of GPRs are undefined after the mode switch (SDM Vol 1 3.4.1.1). */
	mov %ebp, %edi
	mov %esi, %esi
	mov $(boot_stack + STACK_GUARD_SIZE + STACK_SIZE), %rsp
	xor %ebp, %ebp
	call x86_boot_main
1:	cli
	hlt
	jmp 1b

	.section .rodata.boot, "a"
msg_bad_mb2:
	.asciz "granule: boot failed: entered at the Multiboot2 entry without the Multiboot2 magic in eax (not started by a Multiboot2 loader)\r\n"
msg_bad_pvh:
	.asciz "granule: boot failed: PVH entry without the hvm_start_info magic at ebx\r\n"
msg_no_lm:
	.asciz "granule: boot failed: this CPU has no long mode (CPUID 0x80000001 EDX.LM)\r\n"
msg_no_nx:
	.asciz "granule: boot failed: this CPU has no NX/XD bit (CPUID 0x80000001 EDX.NX)\r\n"
msg_no_apic:
	.asciz "granule: boot failed: this CPU has no local APIC (CPUID 1 EDX.APIC)\r\n"
msg_exit:
	.asciz "granule: exit 1\r\n"
msg_bochs_shutdown:
	.asciz "Shutdown"

	.section .data.boot, "aw"
	.balign 16
	.globl boot_gdt
boot_gdt:
	FLAT_GDT_ENTRIES
boot_gdt_end:
	.balign 8
	.globl boot_gdt_ptr
boot_gdt_ptr:
	.word boot_gdt_end - boot_gdt - 1
	.quad boot_gdt

	.section .bss.boot_tables, "aw", @nobits
	.balign 4096
	.globl boot_pml4
boot_pml4:
	.skip 4096
boot_pdpt:
	.skip 4096
boot_pd:
	.skip 4 * 4096

	.section .note.GNU-stack, "", @progbits
