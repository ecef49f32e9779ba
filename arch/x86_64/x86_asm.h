/* SPDX-License-Identifier: MIT */
/* Constants shared by the x86-64 C and assembly files (no C types here). */
#ifndef ARCH_X86_64_X86_ASM_H
#define ARCH_X86_64_X86_ASM_H

/* Segment selectors: the boot GDT (entry.S) and the kernel GDT (gdt.c) agree on these. */
#define GDT_CODE64	0x08
#define GDT_DATA	0x10
#define BOOT_GDT_CODE32 0x18 /* boot GDT only */
#define GDT_TSS0	0x18 /* kernel GDT: 16-byte TSS descriptors, one per CPU, from here */

/* IST slots (1-based in the IDT gate, as the SDM numbers them). */
#define IST_DOUBLE_FAULT 1
#define IST_NMI		 2
#define IST_MCE		 3
#define IST_STACK_SIZE	 4096

/* Interrupt vectors granule programs (exceptions are 0-31). */
#define VEC_PIC_BASE 0x20 /* the legacy PIC is remapped here, then masked */
#define VEC_TIMER    0x40
#define VEC_IPI_BASE 0x41 /* + enum ipi_type */
#define VEC_SPURIOUS 0xff

/* Control register and MSR bits (SDM Vol 3 2.5 and 2.2.1, AMD APM Vol 2 3.1). */
#define CR0_PE			    0x1
#define CR0_WP			    0x10000
#define CR0_PG			    0x80000000
#define CR4_PAE			    0x20
#define CR4_PGE			    0x80
#define CR4_LA57		    0x1000
#define CR4_PCIDE		    0x20000
#define MSR_EFER		    0xc0000080
#define EFER_LME		    0x100
#define EFER_NXE		    0x800
#define MSR_GS_BASE		    0xc0000101
#define MSR_APIC_BASE		    0x1b
#define MSR_FEATURE_CONTROL	    0x3a
#define MSR_ARCH_CAPABILITIES	    0x10a
#define MSR_VMX_BASIC		    0x480
#define MSR_VMX_PROCBASED_CTLS	    0x482
#define MSR_VMX_MISC		    0x485
#define MSR_VMX_PROCBASED_CTLS2	    0x48b
#define MSR_VMX_EPT_VPID_CAP	    0x48c
#define MSR_VMX_TRUE_PROCBASED_CTLS 0x48e
#define MSR_VM_CR		    0xc0010114

/* Page-table entry bits of the boot tables (SDM Vol 3 4.5, tables 4-15 to 4-20). */
#define X86_PTE_P     0x1
#define X86_PTE_RW    0x2
#define X86_PTE_PS    0x80
#define X86_PTE_TABLE (X86_PTE_P | X86_PTE_RW)

/* Offsets into struct x86_mmu_regs (x86.h). */
#define X86_MMU_CR0  0
#define X86_MMU_CR3  8
#define X86_MMU_CR4  16
#define X86_MMU_EFER 24

/* Ports. */
#define COM1_PORT	    0x3f8
#define ISA_DEBUG_EXIT_PORT 0xf4
#define BOCHS_SHUTDOWN_PORT 0x8900

#ifdef __ASSEMBLER__
/* Assembler macros: clang-format would mangle them. */
/* clang-format off */
/*
 * The flat descriptors the boot stub and the AP trampoline both load (selectors
 * above). Accessed bits are preset so segment loads never write to the table,
 * which may sit in a read-only page (SDM Vol 3 3.4.5, type field bit 0).
 */
/*
 * After the far jump into 64-bit code: flat data segments, FS and GS null
 * (their bases come from MSRs later).
 */
.macro LOAD_FLAT_DATA_SEGMENTS
	mov $GDT_DATA, %eax
	mov %eax, %ds
	mov %eax, %es
	mov %eax, %ss
	xor %eax, %eax
	mov %eax, %fs
	mov %eax, %gs
.endm

.macro ENTER_LONG_MODE_32 cr3
	/*
	 * From 32-bit protected mode, paging off: PAE, then CR3, then EFER.LME (and
	 * NXE, so XD bits in the tables are legal), then CR0.PG, which activates
	 * IA-32e mode (SDM Vol 3A, "Initializing IA-32e Mode"). CR3 must be below
	 * 4 GiB here.
	 */
	mov %cr4, %eax
	or $CR4_PAE, %eax
	mov %eax, %cr4
	mov \cr3, %eax
	mov %eax, %cr3
	mov $MSR_EFER, %ecx
	rdmsr
	or $(EFER_LME | EFER_NXE), %eax
	wrmsr
	mov %cr0, %eax
	or $(CR0_PG | CR0_PE | CR0_WP), %eax
	mov %eax, %cr0
.endm

.macro FLAT_GDT_ENTRIES
	.quad 0
	.quad 0x00af9b000000ffff /* 0x08: 64-bit code */
	.quad 0x00cf93000000ffff /* 0x10: data, 4 GiB */
	.quad 0x00cf9b000000ffff /* 0x18: 32-bit code, 4 GiB */
.endm
/* clang-format on */
#endif

#endif
