/* SPDX-License-Identifier: MIT */
/*
 * The IDT, interrupt dispatch, the report printed for an unexpected exception, and the
 * fault probes the page-table tests use.
 */
#include "arch/arch.h"
#include "arch/x86_64/x86.h"
#include "kernel/percpu.h"
#include "kernel/smp.h"
#include "lib/panic.h"
#include "lib/printf.h"
#include "lib/string.h"

#define VEC_DE	0
#define VEC_NMI 2
#define VEC_DF	8
#define VEC_GP	13
#define VEC_PF	14
#define VEC_MC	18

/* A 64-bit interrupt gate (SDM Vol 3 6.14.1, figure 6-8). */
struct idt_gate {
	u16 offset_low;
	u16 selector;
	u8 ist;
	u8 type_attr;
	u16 offset_mid;
	u32 offset_high;
	u32 reserved;
} __packed;

struct descriptor_ptr {
	u16 limit;
	u64 base;
} __packed;

struct fixup {
	u64 insn;
	u64 resume;
};

extern const u8 x86_vector_stubs[];
extern const struct fixup x86_fixups[];
extern const u64 x86_nr_fixups;
void x86_probe_read(u64 va);
void x86_probe_write(u64 va);
void x86_probe_exec(u64 va);

static struct idt_gate idt[256] __aligned(16);

static const char *const exception_names[32] = {
	[0] = "#DE divide error",
	[1] = "#DB debug",
	[2] = "NMI",
	[3] = "#BP breakpoint",
	[4] = "#OF overflow",
	[5] = "#BR bound range",
	[6] = "#UD invalid opcode",
	[7] = "#NM device not available",
	[8] = "#DF double fault",
	[9] = "coprocessor segment overrun",
	[10] = "#TS invalid TSS",
	[11] = "#NP segment not present",
	[12] = "#SS stack fault",
	[13] = "#GP general protection",
	[14] = "#PF page fault",
	[16] = "#MF x87 error",
	[17] = "#AC alignment check",
	[18] = "#MC machine check",
	[19] = "#XM SIMD exception",
	[20] = "#VE virtualization exception",
	[21] = "#CP control protection",
	[28] = "#HV hypervisor injection",
	[29] = "#VC VMM communication",
	[30] = "#SX security exception",
};

static unsigned ist_for_vector(unsigned v)
{
	/* Stacks known to be good for faults that may come from a broken stack (SDM Vol 3 6.14.5).
	 */
	switch (v) {
	case VEC_DF: return IST_DOUBLE_FAULT;
	case VEC_NMI: return IST_NMI;
	case VEC_MC: return IST_MCE;
	default: return 0;
	}
}

void x86_idt_init(void)
{
	for (unsigned v = 0; v < 256; v++) {
		u64 handler = (u64)(uintptr_t)&x86_vector_stubs[16 * v];

		idt[v] = (struct idt_gate){
			.offset_low = (u16)handler,
			.selector = GDT_CODE64,
			.ist = (u8)ist_for_vector(v),
			.type_attr = 0x8e, /* present, DPL 0, 64-bit interrupt gate: IF cleared */
			.offset_mid = (u16)(handler >> 16),
			.offset_high = (u32)(handler >> 32),
		};
	}
}

void x86_idt_load(void)
{
	struct descriptor_ptr ptr = {sizeof(idt) - 1, (u64)(uintptr_t)idt};

	__asm__ volatile("lidt %0" : : "m"(ptr));
}

struct x86_cpu *x86_this_cpu(void)
{
	struct x86_cpu *xc;

	__asm__ volatile("mov %%gs:%c1, %0" : "=r"(xc) : "i"(offsetof(struct x86_cpu, self)));
	return xc;
}

/* ---- Report of an unexpected exception ---- */

static void print_backtrace(u64 rbp, u64 rip)
{
	printf("  backtrace (frame pointers):\n    #0 0x%016llx\n", (unsigned long long)rip);
	for (unsigned depth = 1; depth < 16 && rbp; depth++) {
		const u64 *frame = (const u64 *)(uintptr_t)rbp;
		u64 next;

		/* Frames live in the kernel's lower-half mappings; stop at anything else. */
		if (!IS_ALIGNED(rbp, 8) || rbp >> 47)
			break;
		printf("    #%u 0x%016llx\n", depth, (unsigned long long)frame[1]);
		next = frame[0];
		if (next <= rbp)
			break;
		rbp = next;
	}
}

static void print_page_fault_details(u64 error)
{
	printf("  #PF: %s %s%s%s%s (error code bits P=%llu W=%llu U=%llu RSVD=%llu I=%llu)\n",
	       error & BIT(0) ? "protection violation" : "not-present page",
	       error & BIT(4)	? "on instruction fetch"
	       : error & BIT(1) ? "on write"
				: "on read",
	       error & BIT(2) ? ", user mode" : "", error & BIT(3) ? ", reserved bit set" : "",
	       error & BIT(5) ? ", protection key" : "", (unsigned long long)(error & 1),
	       (unsigned long long)((error >> 1) & 1), (unsigned long long)((error >> 2) & 1),
	       (unsigned long long)((error >> 3) & 1), (unsigned long long)((error >> 4) & 1));
}

static __noreturn void report_unexpected(struct trap_frame *f)
{
	const char *name = f->vector < 32 ? exception_names[f->vector] : NULL;
	struct percpu *pc = this_cpu();

	smp_stop_others();
	console_emergency();
	printf("\ngranule: unexpected exception on CPU %u: vector %llu (%s)\n", pc ? pc->id : 0,
	       (unsigned long long)f->vector, name ? name : "unknown interrupt");
	printf("  error code 0x%llx  CR2 0x%016llx\n", (unsigned long long)f->error_code,
	       (unsigned long long)read_cr2());
	if (f->vector == VEC_PF)
		print_page_fault_details(f->error_code);
	printf("  RIP 0x%016llx  CS 0x%llx  RFLAGS 0x%016llx\n", (unsigned long long)f->rip,
	       (unsigned long long)f->cs, (unsigned long long)f->rflags);
	printf("  RSP 0x%016llx  SS 0x%llx\n", (unsigned long long)f->rsp,
	       (unsigned long long)f->ss);
	printf("  RAX 0x%016llx  RBX 0x%016llx  RCX 0x%016llx  RDX 0x%016llx\n",
	       (unsigned long long)f->rax, (unsigned long long)f->rbx, (unsigned long long)f->rcx,
	       (unsigned long long)f->rdx);
	printf("  RSI 0x%016llx  RDI 0x%016llx  RBP 0x%016llx  R8  0x%016llx\n",
	       (unsigned long long)f->rsi, (unsigned long long)f->rdi, (unsigned long long)f->rbp,
	       (unsigned long long)f->r8);
	printf("  R9  0x%016llx  R10 0x%016llx  R11 0x%016llx  R12 0x%016llx\n",
	       (unsigned long long)f->r9, (unsigned long long)f->r10, (unsigned long long)f->r11,
	       (unsigned long long)f->r12);
	printf("  R13 0x%016llx  R14 0x%016llx  R15 0x%016llx\n", (unsigned long long)f->r13,
	       (unsigned long long)f->r14, (unsigned long long)f->r15);
	printf("  CR0 0x%016llx  CR3 0x%016llx  CR4 0x%016llx\n", (unsigned long long)read_cr0(),
	       (unsigned long long)read_cr3(), (unsigned long long)read_cr4());
	print_backtrace(f->rbp, f->rip);
	kernel_exit(3);
}

/* ---- Probes and fixups ---- */

static void record_probe_fault(struct x86_cpu *xc, const struct trap_frame *f)
{
	xc->probe_faulted = true;
	xc->probe_vector = f->vector;
	xc->probe_error = f->error_code;
	xc->probe_addr = f->vector == VEC_PF ? read_cr2() : 0;
}

/* Resumes after a listed instruction (probes, rdmsr_safe) or an exec probe's target. */
static bool apply_fixup(struct trap_frame *f)
{
	struct x86_cpu *xc = x86_this_cpu();

	for (u64 i = 0; i < x86_nr_fixups; i++) {
		if (x86_fixups[i].insn == f->rip) {
			f->rip = x86_fixups[i].resume;
			record_probe_fault(xc, f);
			return true;
		}
	}
	if (xc->probe_active && xc->probe_exec_target == f->rip) {
		/* The call pushed the return address: pop it as the target's 'ret' would. */
		f->rip = *(const u64 *)(uintptr_t)f->rsp;
		f->rsp += 8;
		record_probe_fault(xc, f);
		return true;
	}
	return false;
}

static void describe_fault(struct probe_result *r, const struct x86_cpu *xc)
{
	u64 e = xc->probe_error;

	if (xc->probe_vector != VEC_PF) {
		snprintf(r->kind, sizeof(r->kind), "%s", exception_names[xc->probe_vector & 31]);
		return;
	}
	snprintf(r->kind, sizeof(r->kind), "#PF %s %s%s", e & BIT(0) ? "protection" : "not-present",
		 e & BIT(4)   ? "fetch"
		 : e & BIT(1) ? "write"
			      : "read",
		 e & BIT(3) ? " reserved-bit" : "");
}

struct probe_result arch_probe(u64 va, enum probe_access access)
{
	struct x86_cpu *xc = x86_this_cpu();
	struct probe_result r = {0};
	unsigned long flags = arch_irq_save();

	xc->probe_faulted = false;
	xc->probe_exec_target = access == PROBE_EXEC ? va : 0;
	xc->probe_active = true;
	switch (access) {
	case PROBE_READ: x86_probe_read(va); break;
	case PROBE_WRITE: x86_probe_write(va); break;
	case PROBE_EXEC: x86_probe_exec(va); break;
	}
	xc->probe_active = false;
	arch_irq_restore(flags);
	r.faulted = xc->probe_faulted;
	if (r.faulted) {
		r.fault_addr = xc->probe_addr;
		r.syndrome = xc->probe_error;
		describe_fault(&r, xc);
	}
	return r;
}

void arch_trigger_bad_exception(void)
{
	__asm__ volatile("ud2");
}

/* ---- Not-present faults a live remap may cause ---- */

static bool (*kernel_fault_fixup)(u64 va);

void arch_set_kernel_fault_fixup(bool (*fixup)(u64 va))
{
	__atomic_store_n(&kernel_fault_fixup, fixup, __ATOMIC_RELEASE);
}

/* x86 remaps never break (SDM Vol. 3A 4.10.4), but the hook works the same. */
static bool remap_fault_fixup(const struct trap_frame *f)
{
	bool (*fixup)(u64 va) = __atomic_load_n(&kernel_fault_fixup, __ATOMIC_ACQUIRE);

	/* Error code bit 0 clear: the page was not present. */
	if (!fixup || f->vector != VEC_PF || (f->error_code & BIT(0)))
		return false;
	return fixup(read_cr2());
}

/* ---- Dispatch ---- */

void x86_trap(struct trap_frame *f)
{
	u64 v = f->vector;

	if (v == VEC_TIMER) {
		x86_timer_irq();
		return;
	}
	if (v >= VEC_IPI_BASE && v < VEC_IPI_BASE + IPI_TYPES) {
		x86_ipi_irq((unsigned)(v - VEC_IPI_BASE));
		return;
	}
	/* Spurious LAPIC interrupts and the masked legacy PIC's spurious IRQ 7/15: no EOI. */
	if (v == VEC_SPURIOUS || v == VEC_PIC_BASE + 7 || v == VEC_PIC_BASE + 15)
		return;
	if (v < 32 && (remap_fault_fixup(f) || apply_fixup(f)))
		return;
	report_unexpected(f);
}
