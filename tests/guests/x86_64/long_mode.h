/* SPDX-License-Identifier: MIT */
/*
 * x86-64 guest assembler: the control-register bits and selectors of the entry code, and the
 * switch to IA-32e mode that the boot vCPU (crt0.S) and the secondaries (smp.S) both make.
 */
#ifndef GUEST_X86_64_LONG_MODE_H
#define GUEST_X86_64_LONG_MODE_H

#define CR0_PE	       (1 << 0)
#define CR0_MP	       (1 << 1)
#define CR0_EM	       (1 << 2)
#define CR0_NE	       (1 << 5)
#define CR0_PG	       (1 << 31)
#define CR4_PAE	       (1 << 5)
#define CR4_OSFXSR     (1 << 9)
#define CR4_OSXMMEXCPT (1 << 10)
#define MSR_EFER       0xc0000080
#define EFER_LME       (1 << 8)
#define SEL_CODE32     0x08
#define SEL_DATA       0x10
#define SEL_CODE64     0x18

/* Assembler macros: clang-format would mangle them. */
/* clang-format off */
/* ds, es and ss from the guest's flat data descriptor (either mode). */
.macro flat_data_segments
	mov	$SEL_DATA, %eax
	mov	%eax, %ds
	mov	%eax, %es
	mov	%eax, %ss
.endm

/*
 * The guest's own GDT (crt0.S's gdt_ptr), before any segment load: a loader's is not ours to
 * rely on. Then CS and the data segments from it, flat 32-bit.
 */
.macro load_guest_gdt32
	lgdt	gdt_ptr
	ljmp	$SEL_CODE32, $.Lgdt32_\@
.Lgdt32_\@:
	flat_data_segments
.endm

/*
 * From 32-bit protected mode with paging off, with the top-level table's address in
 * cr3_reg, to 64-bit code at target. IA-32e activation order (SDM Vol. 3A, "Initializing
 * IA-32e Mode"): CR4.PAE, CR3, EFER.LME, then CR0.PG. CR4.OSFXSR/OSXMMEXCPT with CR0.MP set
 * and CR0.EM clear make SSE usable (SDM Vol. 3A, "Initialization of the SSE Extensions").
 * Clobbers eax, ecx, edx.
 */
.macro enter_long_mode cr3_reg, target
	mov	%cr4, %eax
	or	$(CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT), %eax
	mov	%eax, %cr4
	mov	\cr3_reg, %cr3
	mov	$MSR_EFER, %ecx
	rdmsr
	or	$EFER_LME, %eax
	wrmsr
	mov	%cr0, %eax
	and	$~CR0_EM, %eax
	or	$(CR0_PG | CR0_PE | CR0_MP | CR0_NE), %eax
	mov	%eax, %cr0
	ljmp	$SEL_CODE64, $\target
.endm
/* clang-format on */

#endif
