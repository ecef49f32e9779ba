/* SPDX-License-Identifier: MIT */
/*
 * Interrupt and exception entry: 256 stubs, 16 bytes apart, that make every vector look
 * the same (an error code slot and the vector number) and then save all GPRs into a
 * struct trap_frame for x86_trap(). Also the faulting instructions of the probes and
 * rdmsr_safe, listed in x86_fixups for the handler to resume after.
 */
#include "arch/x86_64/x86_asm.h"

	.section .text.traps, "ax"
	.code64

/* Vectors for which the CPU pushes an error code (SDM Vol 3 6.15, table 6-1; AMD #VC 29, #SX 30). */
#define HAS_ERROR_CODE(n) \
	((n) == 8 || (n) == 10 || (n) == 11 || (n) == 12 || (n) == 13 || (n) == 14 || \
	 (n) == 17 || (n) == 21 || (n) == 29 || (n) == 30)

	.balign 16
	.globl x86_vector_stubs
x86_vector_stubs:
	vector = 0
	.rept 256
	.balign 16
	.ifeq HAS_ERROR_CODE(vector)
	pushq $0
	.endif
	pushq $vector
	jmp trap_common
	vector = vector + 1
	.endr

trap_common:
	push %rax
	push %rbx
	push %rcx
	push %rdx
	push %rsi
	push %rdi
	push %rbp
	push %r8
	push %r9
	push %r10
	push %r11
	push %r12
	push %r13
	push %r14
	push %r15
	cld
	/* 64-bit mode aligned RSP to 16 before the 5-word CPU frame; 2 + 15 words keep it. */
	mov %rsp, %rdi
	call x86_trap
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %r11
	pop %r10
	pop %r9
	pop %r8
	pop %rbp
	pop %rdi
	pop %rsi
	pop %rdx
	pop %rcx
	pop %rbx
	pop %rax
	add $16, %rsp
	iretq

/* void x86_probe_read(u64 va): one byte load. */
	.globl x86_probe_read
x86_probe_read:
probe_read_insn:
	movb (%rdi), %al
probe_done:
	ret

/*
 * void x86_probe_write(u64 va): stores the byte already there, so a successful probe
 * changes nothing. If the load faults, a plain store follows so that the reported fault
 * is the write's (its #PF error code has W set).
 */
	.globl x86_probe_write
x86_probe_write:
probe_write_load:
	movb (%rdi), %al
probe_write_store:
	movb %al, (%rdi)
	ret
probe_write_plain:
	movb $0, (%rdi)
	ret

/* void x86_probe_exec(u64 va): calls va; a fault at va is undone as if va returned. */
	.globl x86_probe_exec
x86_probe_exec:
	push %rbp
	mov %rsp, %rbp
	call *%rdi
	pop %rbp
	ret

/* bool rdmsr_safe(u32 msr, u64 *value) */
	.globl rdmsr_safe
rdmsr_safe:
	mov %edi, %ecx
rdmsr_insn:
	rdmsr
	shl $32, %rdx
	or %rdx, %rax
	mov %rax, (%rsi)
	mov $1, %eax
	ret
rdmsr_fixup:
	xor %eax, %eax
	ret

	.section .data.fixups, "aw" /* writable: PIE (UEFI) relocates it */
	.balign 8
	.globl x86_fixups, x86_nr_fixups
x86_fixups:
	.quad probe_read_insn, probe_done
	.quad probe_write_load, probe_write_plain
	.quad probe_write_store, probe_done
	.quad probe_write_plain, probe_done
	.quad rdmsr_insn, rdmsr_fixup
x86_fixups_end:
x86_nr_fixups:
	.quad (x86_fixups_end - x86_fixups) / 16

	.section .note.GNU-stack, "", @progbits
