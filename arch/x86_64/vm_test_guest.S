/* SPDX-License-Identifier: MIT */
/*
 * The built-in x86-64 test guest (contract: vmm/test_guest.h). Data for the
 * kernel, code for the guest: tests/kernel/test_vm.c copies it to guest-physical
 * 0 (GRANULE_GUEST_RAM_BASE_X86_64) and starts it in the SVM backend's PVH-like
 * state (arch/x86_64/svm.c): 32-bit protected mode, paging off, each 64-bit
 * argument split into two 32-bit registers. One page, no libc.
 *
 * It switches to 64-bit mode at once (the seed and TG_OUTSIDE_GPA need 64 bits)
 * with page tables that fit in its own page, since every other page it may
 * touch is checked by the test to hold the pattern. The page is the PML4, the
 * PDPT, the PD and the PT at once (CR3 = 0); only two of its entries are ever
 * walked:
 *   entry 0  a table entry pointing at the page itself: at the PT level the
 *            leaf mapping virtual 0-4K (this code) to guest-physical 0;
 *   entry 1  a 2 MiB leaf (PD level) at virtual 2M-4M: the window through
 *            which RAM is read and written, moved by map_window to the 2 MiB
 *            region of the page at hand.
 * The other bytes of the page are code and data, never walked. Entry 0 is
 * also the entry point: 73 0e is "jnc +14" (CF is clear at entry) and, as an
 * entry, P, RW, PCD, A, D and software bits 9-11, address 0.
 * 2 MiB leaves need nothing beyond PAE paging, so the guest runs on every
 * x86-64 CPU; 1 GiB leaves would need CPUID 0x80000001 EDX.Page1GB, which
 * pre-Haswell Intel parts and KVM here lack, and which Bochs enforces (a
 * reserved-bit #PF).
 *
 * Registers in 64-bit mode: r12 RAM size, r13 seed, r14 mode, r15 the window
 * offset for the page at hand (virtual = guest-physical + r15, set by
 * map_window), rbx the per-page routine of for_each_page, r8 the page it
 * works on, r9/r10 the expected abort.
 */
#include "arch/x86_64/x86_asm.h"
#include "vmm/hypercall.h"
#include "vmm/test_guest.h"

#define G(sym)	   ((sym) - x86_test_guest_start) /* guest-physical = offset in the image */
#define WINDOW	   0x200000 /* virtual address of entry 1's 2 MiB leaf */
#define PDE_2M	   0xe3	    /* P RW A D PS: A and D preset, so the CPU never writes them */
#define GUEST_CS   0x08
#define GUEST_DS   0x10
/* #PF error code of the injected abort for a load: P | RSVD (svm.c). */
#define ABORT_ERROR 0x9

	.section .rodata.vm_test_guest, "a"
	.balign	4096
	.global	x86_test_guest_start
x86_test_guest_start:
	.code32
	.byte	0x73, 0x0e, 0, 0, 0, 0, 0, 0	/* entry 0 / jnc to offset 16 */
window_pde:
	.quad	PDE_2M				/* entry 1: 2M leaf, at 0 until moved */
	jmp	start32				/* offset 16 */

	.balign	8
gdt:	.quad	0
	.quad	0x00af9a000000ffff		/* GUEST_CS: 64-bit code */
	.quad	0x00cf92000000ffff		/* GUEST_DS: flat data */
gdt_end:
	.balign	8
	.word	0, 0, 0
gdt_desc:
	.word	gdt_end - gdt - 1
	.quad	G(gdt)
	.balign	8
	.word	0, 0, 0
idt_desc:
	.word	idt_end - idt - 1
	.quad	G(idt)

	.balign	8
args:	.quad	0, 0, 0				/* RAM size, seed, mode */
/* vmm/pattern.h: seed * GOLDEN, then splitmix64's finalizer with MIX1, MIX2. */
golden:	.quad	0x9e3779b97f4a7c15
mix1:	.quad	0xbf58476d1ce4e5b9
mix2:	.quad	0x94d049bb133111eb
intel:	.byte	0				/* VMCALL instead of VMMCALL */

message:
	.ascii	"test guest: pattern written and read back\n"
message_end:

start32:
	mov	%esi, G(args)
	mov	%ecx, G(args) + 4
	mov	%edi, G(args) + 8
	mov	%ebp, G(args) + 12
	mov	%edx, G(args) + 16
	mov	%eax, G(args) + 20
	lgdt	G(gdt_desc)
	mov	%cr4, %eax
	or	$CR4_PAE, %eax
	mov	%eax, %cr4
	xor	%eax, %eax
	mov	%eax, %cr3
	mov	$MSR_EFER, %ecx
	rdmsr
	or	$EFER_LME, %eax
	wrmsr
	mov	%cr0, %eax
	or	$CR0_PG, %eax
	mov	%eax, %cr0
	ljmp	$GUEST_CS, $G(start64)

	.code64
start64:
	mov	$GUEST_DS, %eax
	mov	%eax, %ds
	mov	%eax, %es
	mov	%eax, %ss
	mov	$4096, %esp			/* the top of this page */
	lidt	idt_desc(%rip)
	mov	args(%rip), %r12
	mov	args + 8(%rip), %r13
	mov	args + 16(%rip), %r14
	xor	%eax, %eax
	cpuid
	cmp	$0x6c65746e, %ecx		/* "ntel" of GenuineIntel */
	sete	intel(%rip)
	movabs	$TG_OUTSIDE_GPA, %rax		/* RAM ends below the abort's address */
	cmp	%rax, %r12
	ja	bad_mode
	cmp	$TG_MODE_TOUCH, %r14
	je	mode_touch
	cmp	$TG_MODE_ABORT, %r14
	je	mode_abort
	cmp	$TG_MODE_ZERO, %r14
	je	mode_zero
	cmp	$TG_MODE_SPIN, %r14
	je	mode_spin
	cmp	$TG_MODE_PATTERN_TOUCH, %r14
	je	mode_pattern_touch
	cmp	$TG_MODE_PATTERN_ALL, %r14
	je	mode_pattern_all
	cmp	$TG_MODE_DISCARD_MOST, %r14
	je	mode_discard_most
	cmp	$TG_MODE_PATTERN_SCATTER, %r14
	je	mode_pattern_scatter
	cmp	$TG_MODE_RUNAWAY_SPIN, %r14
	je	mode_runaway_spin
	cmp	$TG_MODE_RUNAWAY_IDLE, %r14
	je	mode_runaway_idle
bad_mode:
	mov	$TG_EXIT_BAD_MODE, %edi
	jmp	exit

/* rax = call, rdi, rsi, rdx = arguments; the result in rax (docs/hypercalls.md). */
hypercall:
	testb	$1, intel(%rip)
	jnz	1f
	vmmcall
	ret
1:	vmcall
	ret

/* GRANULE_HC_EXIT with the status in rdi. */
exit:	mov	$GRANULE_HC_EXIT, %eax
	call	hypercall
	jmp	exit

.macro hc nr, a1=$0, a2=$0
	mov	$\nr, %rax
	mov	\a1, %rdi
	mov	\a2, %rsi
	xor	%edx, %edx
	call	hypercall
.endm

/* Fails with status unless rax == value (a sign-extended 32-bit immediate). */
.macro expect_result value, status
	mov	$\status, %edi
	cmp	$\value, %rax
	jne	exit
.endm

/* Calls the routine in rbx with r8 = each touched page (vmm/test_guest.h); uses r9, r10. */
for_each_page:
	mov	$1, %r9d
1:	mov	%r9, %r8
	shl	$12, %r8
	call	*%rbx
	inc	%r9
	cmp	$TG_SEQ_PAGES, %r9
	jbe	1b
	mov	%r12, %rax
	xor	%edx, %edx
	mov	$TG_STRIDES, %ecx
	div	%rcx
	mov	%rax, %r10
	mov	$1, %r9d
2:	mov	%r9, %r8
	imul	%r10, %r8
	call	*%rbx
	inc	%r9
	cmp	$TG_STRIDES, %r9
	jb	2b
	lea	-4096(%r12), %r8
	call	*%rbx
	ret

/*
 * Points the window at the 2 MiB region holding the page at r8 and sets r15 so
 * that (r15, r8) addresses it; uses rax, rcx. INVLPG drops the old leaf's TLB
 * entry (SDM Vol. 3A 4.10.4.1); a leaf PDE is in no paging-structure cache.
 */
map_window:
	mov	%r8, %rcx
	and	$-0x200000, %rcx
	lea	PDE_2M(%rcx), %rax
	cmp	window_pde(%rip), %rax
	je	1f
	mov	%rax, window_pde(%rip)
	invlpg	WINDOW
1:	mov	$WINDOW, %r15d
	sub	%rcx, %r15
	ret

/* Per-page routines: r8 = the page's guest-physical address; they use rax, rcx. */
write_page:
	call	map_window
	lea	4096(%r8), %rcx
1:	mov	%r8, %rax
	xor	%r13, %rax
	mov	%rax, (%r15, %r8)
	add	$8, %r8
	cmp	%rcx, %r8
	jb	1b
	ret

check_page:
	call	map_window
	lea	4096(%r8), %rcx
1:	mov	%r8, %rax
	xor	%r13, %rax
	cmp	(%r15, %r8), %rax
	jne	mismatch
	add	$8, %r8
	cmp	%rcx, %r8
	jb	1b
	ret
mismatch:
	mov	$TG_EXIT_MISMATCH, %edi
	jmp	exit

zero_page:
	call	map_window
	lea	4096(%r8), %rcx
1:	cmpq	$0, (%r15, %r8)
	jne	not_zero
	add	$8, %r8
	cmp	%rcx, %r8
	jb	1b
	ret
not_zero:
	mov	$TG_EXIT_NOT_ZERO, %edi
	jmp	exit

/* rbp = seed * GOLDEN, for check_pattern_page. */
pattern_setup:
	mov	%r13, %rbp
	imul	golden(%rip), %rbp
	ret

/* Every word of the page at r8 must be the page source's pattern; uses rax, rcx, rdx. */
check_pattern_page:
	call	map_window
	lea	4096(%r8), %rcx
1:	mov	%r8, %rax
	xor	%rbp, %rax
	mov	%rax, %rdx
	shr	$30, %rdx
	xor	%rdx, %rax
	imul	mix1(%rip), %rax
	mov	%rax, %rdx
	shr	$27, %rdx
	xor	%rdx, %rax
	imul	mix2(%rip), %rax
	mov	%rax, %rdx
	shr	$31, %rdx
	xor	%rdx, %rax
	cmp	(%r15, %r8), %rax
	jne	mismatch
	add	$8, %r8
	cmp	%rcx, %r8
	jb	1b
	ret

/* HLT is the WFI of the contract; x86 has no SMC, so no PSCI call either. */
mode_touch:
	lea	write_page(%rip), %rbx
	call	for_each_page
	lea	check_page(%rip), %rbx
	call	for_each_page

	hc	GRANULE_HC_VERSION
	expect_result GRANULE_ABI_VERSION, TG_EXIT_VERSION
	hlt
	hc	TG_BAD_HYPERCALL
	expect_result GRANULE_E_NOSYS, TG_EXIT_BAD_HC_RESULT
	lea	message(%rip), %r10
	hc	GRANULE_HC_CONSOLE_WRITE, %r10, $(message_end - message)
	expect_result (message_end - message), TG_EXIT_CONSOLE
	movabs	$TG_OUTSIDE_GPA, %r10
	hc	GRANULE_HC_CONSOLE_WRITE, %r10, $8
	expect_result GRANULE_E_RANGE, TG_EXIT_RANGE

	/*
	 * Discard the sequential pages, then read them: each must fault in
	 * again as zeros. A stale NPT TLB entry would show the old words.
	 */
	hc	GRANULE_HC_DISCARD, $4096, $(TG_SEQ_PAGES * 4096)
	expect_result 0, TG_EXIT_DISCARD
	mov	$1, %r9d
1:	mov	%r9, %r8
	shl	$12, %r8
	call	zero_page
	inc	%r9
	cmp	$TG_SEQ_PAGES, %r9
	jbe	1b

	hc	GRANULE_HC_REPORT, $GRANULE_REPORT_PAGES_TOUCHED, $(TG_SEQ_PAGES + TG_STRIDES)
	mov	$TG_EXIT_OK, %edi
	jmp	exit

mode_zero:
	lea	zero_page(%rip), %rbx
	call	for_each_page
	mov	$TG_EXIT_OK, %edi
	jmp	exit

mode_pattern_touch:
	call	pattern_setup
	lea	check_pattern_page(%rip), %rbx
	call	for_each_page
	mov	$TG_EXIT_OK, %edi
	jmp	exit

mode_pattern_all:
	call	pattern_setup
	mov	$4096, %r9d
1:	mov	%r9, %r8
	call	check_pattern_page
	add	$4096, %r9
	cmp	%r12, %r9
	jb	1b
	lea	-4096(%r12), %r11
	hc	GRANULE_HC_REPORT, $GRANULE_REPORT_BYTES_VERIFIED, %r11
	mov	$TG_EXIT_OK, %edi
	jmp	exit

mode_pattern_scatter:
	call	pattern_setup
	mov	%r12, %r10
	shr	$12, %r10			/* pages */
	movabs	$TG_SCATTER_STEP, %r11
	mov	$1, %r9d
1:	cmp	%r10, %r9
	jae	2f
	mov	%r9, %rax
	mul	%r11				/* rdx:rax = i * step */
	div	%r10				/* rdx = (i * step) mod pages */
	mov	%rdx, %r8
	shl	$12, %r8
	call	check_pattern_page
	inc	%r9
	jmp	1b
2:	lea	-4096(%r12), %r11
	hc	GRANULE_HC_REPORT, $GRANULE_REPORT_BYTES_VERIFIED, %r11
	mov	$TG_EXIT_OK, %edi
	jmp	exit

mode_discard_most:
	lea	-TG_KEEP_BYTES(%r12), %r11
	hc	GRANULE_HC_DISCARD, $TG_KEEP_BYTES, %r11
	expect_result 0, TG_EXIT_DISCARD
	lea	-TG_KEEP_BYTES(%r12), %r11
	hc	GRANULE_HC_REPORT, $GRANULE_REPORT_BYTES_DISCARD, %r11
	mov	$TG_EXIT_OK, %edi
	jmp	exit

/* 1/8 s by the TSC, whose frequency the hypervisor leaf 0x40000010 gives in kHz (svm.c). */
mode_spin:
	mov	$0x40000010, %eax
	xor	%ecx, %ecx
	cpuid
	mov	%eax, %eax
	test	%rax, %rax
	jz	bad_mode
	imul	$125, %rax, %r9			/* kHz * 1000 / 8 */
	rdtsc
	shl	$32, %rdx
	or	%rdx, %rax
	lea	(%rax, %r9), %r10
	/*
	 * With V_INTR_MASKING the guest's IF gates only virtual interrupts (none
	 * here) and the host's decides for physical ones (APM Vol. 2 15.21.1),
	 * so this changes nothing architecturally; Bochs 2.7 takes the INTR
	 * intercept only while the guest's IF is set.
	 */
	sti
1:	pause
	rdtsc
	shl	$32, %rdx
	or	%rdx, %rax
	cmp	%r10, %rax
	jb	1b
	mov	$TG_EXIT_OK, %edi
	jmp	exit

/*
 * The runaways (vmm/test_guest.h): nothing but the host's interrupts ends
 * these loops. The spin sets IF for Bochs 2.7, as mode_spin does; the idle
 * loop clears it: HLT with IF clear waits until an NMI or reset (SDM Vol. 2A,
 * HLT), so only the intercept (HLT exiting) ever ends it.
 */
mode_runaway_spin:
	sti
	.global	test_guest_spin_loop, test_guest_spin_loop_end
test_guest_spin_loop:
	pause
	jmp	test_guest_spin_loop
test_guest_spin_loop_end:

mode_runaway_idle:
	cli
	.global	test_guest_idle_loop, test_guest_idle_loop_end
test_guest_idle_loop:
	hlt
	jmp	test_guest_idle_loop
test_guest_idle_loop_end:

/*
 * The load through the window at TG_OUTSIDE_GPA (outside every slot) faults in
 * stage 2, and the VMM injects a #PF. The #PF handler (IDT vector 14) checks
 * what arrives against r9 (CR2) and r10 (RIP). CR2 is the linear address where
 * the exit reports it (VMX: the EPT violation's guest-linear address, SDM Vol.
 * 3C 27.2.1) and the guest-physical one where it does not (SVM's #NPF gives
 * only that, APM Vol. 2 15.25.6): vmx.c and svm.c, vcpu_inject_abort.
 */
mode_abort:
	movabs	$TG_OUTSIDE_GPA, %r8
	call	map_window
	lea	(%r15, %r8), %r11
	mov	%r8, %r9
	testb	$1, intel(%rip)
	cmovnz	%r11, %r9
	lea	abort_access(%rip), %r10
abort_access:
	mov	(%r11), %rax
	mov	$TG_EXIT_NO_ABORT, %edi
	jmp	exit

/* 64-bit frame (APM Vol. 2 8.9.3): error code, RIP, CS, RFLAGS, RSP, SS. */
abort_arrived:
	mov	$TG_EXIT_BAD_ABORT, %edi
	cmpq	$ABORT_ERROR, (%rsp)
	jne	exit
	mov	%cr2, %rax
	cmp	%r9, %rax
	jne	exit
	cmp	%r10, 8(%rsp)
	jne	exit
	mov	$TG_EXIT_ABORT_OK, %edi
	jmp	exit

unexpected_vector:
	mov	$TG_EXIT_UNEXPECTED_VECTOR, %edi
	jmp	exit

/* 64-bit interrupt gates (APM Vol. 2 4.8.4): handler offsets fit in 16 bits. */
.macro gate handler
	.word	G(\handler), GUEST_CS
	.byte	0, 0x8e
	.word	0
	.long	0, 0
.endm
	.balign	16
idt:
	.rept	14
	gate	unexpected_vector
	.endr
	gate	abort_arrived
	.rept	17
	gate	unexpected_vector
	.endr
idt_end:

	/*
	 * One page: the postcopy modes read "every page after its own"
	 * (vmm/test_guest.h). A guest that outgrew it fails to assemble here
	 * ("attempt to move .org backwards").
	 */
	.org	x86_test_guest_start + 4096
	.global	x86_test_guest_end
x86_test_guest_end:

	.section .note.GNU-stack, "", @progbits
