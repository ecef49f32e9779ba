/* SPDX-License-Identifier: MIT */
/*
 * The exception vector table (Arm ARM D1.10.2): 16 entries of 0x80 bytes, for
 * {current EL with SP_EL0, current EL with SP_ELx, lower EL AArch64, lower EL
 * AArch32} x {synchronous, IRQ, FIQ, SError}. Every entry saves the full
 * register state as a struct exception_frame (arch/arm64/arm64.h) and calls
 * arm64_exception(frame, kind) with kind = entry index; the handler may change
 * the saved ELR (fault fixups) before the ERET. arm64_vectors_el2 serves a
 * kernel at EL2, arm64_vectors_el1 one entered at EL1. Exception: the EL2
 * table's lower-EL AArch64 entries are guest exits (ventry_guest below).
 */
#define FRAME_SIZE (36 * 8)
#define FRAME_SP (31 * 8)
#define FRAME_ELR (32 * 8)
#define FRAME_ESR (34 * 8)
#define VEC_SYNC_SPX 4
#define VEC_STACK_OVERFLOW 0x100 /* flag in the kind: see stack_overflow_el* */
#define OVERFLOW_STACK_SHIFT 12 /* OVERFLOW_STACK_SIZE in exceptions.c */

.macro ventry kind
	.balign	0x80
	sub	sp, sp, #FRAME_SIZE
	stp	x0, x1, [sp]
	mov	x1, #\kind
	b	exception_common
.endm

/*
 * The synchronous entry from the kernel itself first checks that the frame it
 * is about to push is writable: a kernel stack overflow faults on the guard
 * page below the stack, and pushing a frame there would fault again, forever.
 * AT S1E2W / S1E1W asks the MMU without accessing memory (Arm ARM C5.5,
 * result in PAR_EL1.F); with the MMU off it always succeeds. SP_EL0 and
 * PAR_EL1 are scratch here: granule has no EL0 of its own, and the VMM must
 * save a guest's SP_EL0 and PAR_EL1 on exit before anything can fault.
 */
.macro ventry_sync_spx el
	.balign	0x80
	msr	sp_el0, x0
	sub	x0, sp, #FRAME_SIZE
	at	s1e\el\()w, x0
	isb
	mrs	x0, par_el1
	tbnz	x0, #0, stack_overflow_el\el
	mrs	x0, sp_el0
	sub	sp, sp, #FRAME_SIZE
	stp	x0, x1, [sp]
	mov	x1, #VEC_SYNC_SPX
	b	exception_common
.endm

/*
 * Lower-EL AArch64 entries of the EL2 table: granule runs nothing at EL1 or
 * EL0 but guests, so these are guest exits (arch/arm64/vm_switch.S), which
 * save the guest's registers (SP_EL0 and PAR_EL1, the sync entry's scratch,
 * included) before any code that could fault runs.
 */
.macro ventry_guest kind
	.balign	0x80
	stp	x0, x1, [sp, #-16]!
	mov	x1, #\kind
	b	arm64_vm_exit
.endm

/* Lower-EL AArch64 entries: guest exits in the EL2 table, reports in the EL1 one. */
.macro ventry_lower el, kind
.if \el == 2
	ventry_guest \kind
.else
	ventry	\kind
.endif
.endm

/* One table per EL: the address translation instruction and the lower-EL entries differ. */
.macro vector_table el
	.balign	0x800
	.global	arm64_vectors_el\el
arm64_vectors_el\el:
	ventry	0
	ventry	1
	ventry	2
	ventry	3
	ventry_sync_spx \el
	ventry	5
	ventry	6
	ventry	7
	ventry_lower \el, 8
	ventry_lower \el, 9
	ventry_lower \el, 10
	ventry_lower \el, 11
	ventry	12
	ventry	13
	ventry	14
	ventry	15

/*
 * The overflow: continue on this CPU's overflow stack (arm64_overflow_stacks,
 * OVERFLOW_STACK_SIZE each, indexed by percpu->id at offset 0), with the
 * exception kind flagged so the report names the cause. ELR and FAR still
 * describe the access that overflowed.
 */
stack_overflow_el\el:
	mrs	x0, tpidr_el\el
	ldr	w0, [x0]
	add	x0, x0, #1
	lsl	x0, x0, #OVERFLOW_STACK_SHIFT
	mov	sp, x0
	adrp	x0, arm64_overflow_stacks
	add	x0, x0, :lo12:arm64_overflow_stacks
	add	sp, sp, x0
	mrs	x0, sp_el0
	sub	sp, sp, #FRAME_SIZE
	stp	x0, x1, [sp]
	mov	x1, #(VEC_SYNC_SPX | VEC_STACK_OVERFLOW)
	b	exception_common
.endm

	.text
	vector_table 2
	vector_table 1

/*
 * A lower-EL exception with no guest running on this CPU (vm_switch.S found
 * none): [sp] = x2, x3 pushed by arm64_vm_exit, [sp + 16] = x0, x1 pushed by
 * ventry_guest, x1 = the entry index. Rebuilt as an ordinary frame and reported.
 */
	.global	arm64_vm_stray_exit
arm64_vm_stray_exit:
	ldp	x2, x3, [sp, #16]
	stp	x2, x3, [sp, #32 - FRAME_SIZE]
	ldp	x2, x3, [sp], #32
	sub	sp, sp, #FRAME_SIZE
	b	exception_common

	.type	exception_common, %function
exception_common:
	stp	x2, x3, [sp, #16 * 1]
	stp	x4, x5, [sp, #16 * 2]
	stp	x6, x7, [sp, #16 * 3]
	stp	x8, x9, [sp, #16 * 4]
	stp	x10, x11, [sp, #16 * 5]
	stp	x12, x13, [sp, #16 * 6]
	stp	x14, x15, [sp, #16 * 7]
	stp	x16, x17, [sp, #16 * 8]
	stp	x18, x19, [sp, #16 * 9]
	stp	x20, x21, [sp, #16 * 10]
	stp	x22, x23, [sp, #16 * 11]
	stp	x24, x25, [sp, #16 * 12]
	stp	x26, x27, [sp, #16 * 13]
	stp	x28, x29, [sp, #16 * 14]
	add	x2, sp, #FRAME_SIZE
	stp	x30, x2, [sp, #FRAME_SP - 8]
	mrs	x2, CurrentEL
	cmp	x2, #(2 << 2)
	b.ne	1f
	mrs	x3, elr_el2
	mrs	x4, spsr_el2
	mrs	x5, esr_el2
	mrs	x6, far_el2
	b	2f
1:	mrs	x3, elr_el1
	mrs	x4, spsr_el1
	mrs	x5, esr_el1
	mrs	x6, far_el1
2:	stp	x3, x4, [sp, #FRAME_ELR]
	stp	x5, x6, [sp, #FRAME_ESR]
	/* A frame record linking the interrupted code, so backtraces cross the exception. */
	stp	x29, x3, [sp, #-16]!
	mov	x29, sp
	add	x0, sp, #16
	bl	arm64_exception
	add	sp, sp, #16

	ldp	x3, x4, [sp, #FRAME_ELR]
	mrs	x2, CurrentEL
	cmp	x2, #(2 << 2)
	b.ne	3f
	msr	elr_el2, x3
	msr	spsr_el2, x4
	b	4f
3:	msr	elr_el1, x3
	msr	spsr_el1, x4
4:	ldp	x0, x1, [sp]
	ldp	x2, x3, [sp, #16 * 1]
	ldp	x4, x5, [sp, #16 * 2]
	ldp	x6, x7, [sp, #16 * 3]
	ldp	x8, x9, [sp, #16 * 4]
	ldp	x10, x11, [sp, #16 * 5]
	ldp	x12, x13, [sp, #16 * 6]
	ldp	x14, x15, [sp, #16 * 7]
	ldp	x16, x17, [sp, #16 * 8]
	ldp	x18, x19, [sp, #16 * 9]
	ldp	x20, x21, [sp, #16 * 10]
	ldp	x22, x23, [sp, #16 * 11]
	ldp	x24, x25, [sp, #16 * 12]
	ldp	x26, x27, [sp, #16 * 13]
	ldp	x28, x29, [sp, #16 * 14]
	ldr	x30, [sp, #FRAME_SP - 8]
	add	sp, sp, #FRAME_SIZE
	eret
	.size	exception_common, . - exception_common
