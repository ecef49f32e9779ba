/* SPDX-License-Identifier: MIT */
/*
 * x86-64 secondary vCPU entry: 32-bit protected mode, paging off (the PVH entry state), ebx =
 * struct guest_cpu (below 4 GiB: the test guests live there), esi = vCPU index. The boot vCPU's
 * GDT, then IA-32e activation in the SDM's order (Vol. 3A, "Initializing IA-32e Mode"): CR4.PAE
 * (with OSFXSR/OSXMMEXCPT for SSE), CR3 = the boot vCPU's tables, EFER.LME, CR0.PG; then the
 * stack from the struct and C.
 */
#define CR0_PE   (1 << 0)
#define CR0_MP   (1 << 1)
#define CR0_EM   (1 << 2)
#define CR0_NE   (1 << 5)
#define CR0_PG   (1 << 31)
#define CR4_PAE  (1 << 5)
#define CR4_OSFXSR     (1 << 9)
#define CR4_OSXMMEXCPT (1 << 10)
#define MSR_EFER 0xc0000080
#define EFER_LME (1 << 8)
#define SEL_CODE32 0x08
#define SEL_DATA   0x10
#define SEL_CODE64 0x18

	.section .text
	.code32
	.globl x86_secondary_entry
x86_secondary_entry:
	cli
	cld
	lgdt	gdt_ptr
	ljmp	$SEL_CODE32, $1f
1:	mov	$SEL_DATA, %eax
	mov	%eax, %ds
	mov	%eax, %es
	mov	%eax, %ss
	mov	%cr4, %eax
	or	$(CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT), %eax
	mov	%eax, %cr4
	mov	8(%ebx), %eax
	mov	%eax, %cr3
	mov	$MSR_EFER, %ecx
	rdmsr
	or	$EFER_LME, %eax
	wrmsr
	mov	%cr0, %eax
	and	$~CR0_EM, %eax
	or	$(CR0_PG | CR0_PE | CR0_MP | CR0_NE), %eax
	mov	%eax, %cr0
	ljmp	$SEL_CODE64, $2f

	.code64
2:	mov	$SEL_DATA, %eax
	mov	%eax, %ds
	mov	%eax, %es
	mov	%eax, %ss
	mov	%ebx, %ebx /* the upper half is undefined after the mode switch: zero it */
	mov	(%rbx), %rsp
	mov	%rbx, %rdi
	call	x86_secondary_main
3:	hlt
	jmp	3b
