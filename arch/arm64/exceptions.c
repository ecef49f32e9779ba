/* SPDX-License-Identifier: MIT */
/*
 * Exception handling at the kernel's EL: IRQs go to the GIC dispatch, the
 * deliberate faults of arch_probe() are recovered, everything else is reported
 * with the full register state and a backtrace, and ends the run.
 */
#include "arch/arch.h"
#include "arch/arm64/arm64.h"
#include "arch/arm64/sysreg.h"
#include "kernel/percpu.h"
#include "kernel/smp.h"
#include "kernel/stack.h"
#include "lib/panic.h"
#include "lib/printf.h"
#include "lib/string.h"

void arm64_exception(struct exception_frame *f, u64 kind);

enum vector_kind {
	VEC_CUR_SPX_SYNC = 4,
	VEC_CUR_SPX_IRQ = 5,
	VEC_STACK_OVERFLOW = 0x100, /* flag: vectors.S switched to the overflow stack */
};

/* Where vectors.S continues after a kernel stack overflow: one page per CPU. */
#define OVERFLOW_STACK_SIZE 4096
u8 arm64_overflow_stacks[MAX_CPUS][OVERFLOW_STACK_SIZE] __aligned(16);
_Static_assert(offsetof(struct percpu, id) == 0, "vectors.S reads percpu->id at offset 0");

static const char *const vector_names[16] = {
	"synchronous (SP0)",
	"IRQ (SP0)",
	"FIQ (SP0)",
	"SError (SP0)",
	"synchronous",
	"IRQ",
	"FIQ",
	"SError",
	"synchronous from lower EL (AArch64)",
	"IRQ from lower EL (AArch64)",
	"FIQ from lower EL (AArch64)",
	"SError from lower EL (AArch64)",
	"synchronous from lower EL (AArch32)",
	"IRQ from lower EL (AArch32)",
	"FIQ from lower EL (AArch32)",
	"SError from lower EL (AArch32)",
};

/* Exception class names, ESR_ELx.EC (Arm ARM D17.2.37). */
static const char *ec_name(unsigned ec)
{
	switch (ec) {
	case 0x00: return "unknown reason (undefined instruction)";
	case 0x01: return "WFI/WFE trapped";
	case 0x07: return "FP/SIMD access trapped";
	case 0x0e: return "illegal execution state";
	case 0x15: return "SVC (AArch64)";
	case 0x16: return "HVC (AArch64)";
	case 0x17: return "SMC (AArch64)";
	case 0x18: return "MSR/MRS/system instruction trapped";
	case 0x20: return "instruction abort from a lower EL";
	case 0x21: return "instruction abort";
	case 0x22: return "PC alignment fault";
	case 0x24: return "data abort from a lower EL";
	case 0x25: return "data abort";
	case 0x26: return "SP alignment fault";
	case 0x2f: return "SError";
	case 0x30:
	case 0x31: return "breakpoint";
	case 0x32:
	case 0x33: return "software step";
	case 0x34:
	case 0x35: return "watchpoint";
	case 0x3c: return "BRK instruction";
	default: return "reserved/unhandled exception class";
	}
}

/* Fault status codes of instruction and data aborts (ISS.xFSC, D17.2.37). */
static void describe_fsc(unsigned fsc, char *buf, size_t size)
{
	unsigned level = fsc & 3;

	switch (fsc & 0x3c) {
	case 0x00: snprintf(buf, size, "address size fault level %u", level); return;
	case 0x04: snprintf(buf, size, "translation fault level %u", level); return;
	case 0x08: snprintf(buf, size, "access flag fault level %u", level); return;
	case 0x0c: snprintf(buf, size, "permission fault level %u", level); return;
	}
	switch (fsc) {
	case 0x10: snprintf(buf, size, "synchronous external abort"); return;
	case 0x21: snprintf(buf, size, "alignment fault"); return;
	case 0x30: snprintf(buf, size, "TLB conflict abort"); return;
	default: snprintf(buf, size, "fault status 0x%x", fsc); return;
	}
}

static bool is_abort(unsigned ec)
{
	return ec == 0x20 || ec == 0x21 || ec == 0x24 || ec == 0x25;
}

static bool is_data_abort(unsigned ec)
{
	return ec == 0x24 || ec == 0x25;
}

/* The current CPU's stack bounds, so a backtrace never follows a wild frame pointer. */
static bool on_stack(u64 addr, u64 size)
{
	struct percpu *cpu = this_cpu();
	u64 top = cpu ? (u64)cpu->stack_top : 0;

	u64 overflow = (u64)arm64_overflow_stacks[cpu ? cpu->id : 0];

	if (addr >= overflow && addr + size <= overflow + OVERFLOW_STACK_SIZE)
		return true;
	return top && addr >= top - STACK_SIZE && addr + size <= top;
}

extern char _text[];

/*
 * The frame-record chain (AAPCS64 6.2.3: x29 points at {previous x29, x30}).
 * The faulting function may not have pushed its record yet (a leaf), so the
 * link register comes first; it can repeat the first record's entry.
 */
static void backtrace(const struct exception_frame *f)
{
	u64 fp = f->x[29];

	printf("  backtrace (image linked at 0, loaded at 0x%llx: addr2line -e "
	       "granule.elf ADDR-0x%llx):\n",
	       (unsigned long long)(u64)_text, (unsigned long long)(u64)_text);
	printf("    pc 0x%016llx\n    lr 0x%016llx\n", (unsigned long long)f->elr,
	       (unsigned long long)f->x[30]);
	for (unsigned depth = 0; depth < 32 && fp; depth++) {
		const u64 *record = (const u64 *)fp;

		if (!IS_ALIGNED(fp, 16) || !on_stack(fp, 16)) {
			printf("    (frame pointer 0x%llx outside this CPU's stack: stop)\n",
			       (unsigned long long)fp);
			return;
		}
		if (!record[1])
			return;
		printf("    #%u 0x%016llx\n", depth, (unsigned long long)record[1]);
		fp = record[0];
	}
}

static void report(const struct exception_frame *f, u64 kind)
{
	unsigned ec = ESR_EC(f->esr);
	struct percpu *cpu = this_cpu();
	char fsc[48];

	printf("\n*** unexpected exception: %s on CPU %u at EL%u\n", vector_names[kind & 15],
	       cpu ? cpu->id : 0, arm64_at_el2 ? 2 : 1);
	if (kind & VEC_STACK_OVERFLOW)
		printf("  kernel stack overflow: the exception frame would not fit above the guard "
		       "page; now on the overflow stack (SP below is that stack's)\n");
	printf("  class 0x%02x: %s", ec, ec_name(ec));
	if (is_abort(ec)) {
		describe_fsc(f->esr & 0x3f, fsc, sizeof(fsc));
		printf(" (%s, %s)", fsc, is_data_abort(ec) && (f->esr & BIT(6)) ? "write" : "read");
	}
	printf("\n  ESR 0x%016llx  FAR 0x%016llx", (unsigned long long)f->esr,
	       (unsigned long long)f->far);
	if (arm64_at_el2)
		printf("  HPFAR 0x%016llx", (unsigned long long)read_sysreg(hpfar_el2));
	printf("\n  ELR 0x%016llx  SPSR 0x%016llx  SP 0x%016llx\n", (unsigned long long)f->elr,
	       (unsigned long long)f->spsr, (unsigned long long)f->sp);
	for (unsigned i = 0; i < 31; i += 2) {
		printf("  x%-2u 0x%016llx", i, (unsigned long long)f->x[i]);
		if (i + 1 < 31)
			printf("  x%-2u 0x%016llx", i + 1, (unsigned long long)f->x[i + 1]);
		printf("\n");
	}
	backtrace(f);
}

/* ---- arch_probe: deliberate faults recovered by the handler ---- */

struct probe_state {
	bool active;
	u64 target;
	struct probe_result result;
};
static struct probe_state probes[MAX_CPUS];

/*
 * A probe fault is an abort at the probed address while a probe is active on
 * this CPU. A data access is a single instruction: resume after it. An
 * instruction abort happened at the target of the probe's call: resume at the
 * caller's return address, still in x30.
 */
static bool probe_fixup(struct exception_frame *f)
{
	struct probe_state *p = &probes[this_cpu_id()];
	unsigned ec = ESR_EC(f->esr);
	char fsc[32];

	if (!p->active || (ec != EC_DABT_CUR && ec != EC_IABT_CUR))
		return false;
	if (ALIGN_DOWN(f->far, 8) != ALIGN_DOWN(p->target, 8))
		return false;
	p->result.faulted = true;
	p->result.fault_addr = f->far;
	p->result.syndrome = f->esr;
	describe_fsc(f->esr & 0x3f, fsc, sizeof(fsc));
	snprintf(p->result.kind, sizeof(p->result.kind), "%s %s", fsc,
		 ec == EC_IABT_CUR   ? "exec"
		 : (f->esr & BIT(6)) ? "write"
				     : "read");
	f->elr = ec == EC_IABT_CUR ? f->x[30] : f->elr + 4;
	return true;
}

static u8 probe_read_byte(u64 va)
{
	u64 v = 0;

	/* One instruction: the fixup resumes at the next one. */
	__asm__ volatile("ldrb %w0, [%1]" : "+r"(v) : "r"(va) : "memory");
	return (u8)v;
}

static void probe_write_byte(u64 va, u8 v)
{
	__asm__ volatile("strb %w0, [%1]" : : "r"((u64)v), "r"(va) : "memory");
}

struct probe_result arch_probe(u64 va, enum probe_access access)
{
	struct probe_state *p;
	unsigned long flags = arch_irq_save();

	p = &probes[this_cpu_id()];
	p->result = (struct probe_result){0};
	p->target = va;
	WRITE_ONCE(p->active, true);
	__asm__ volatile("" : : : "memory");
	switch (access) {
	case PROBE_READ: probe_read_byte(va); break;
	case PROBE_WRITE: {
		/* Writes back what is there: a probe must not change the memory it tests. */
		u8 v = probe_read_byte(va);

		if (!p->result.faulted)
			probe_write_byte(va, v);
		break;
	}
	case PROBE_EXEC: ((void (*)(void))va)(); break;
	}
	__asm__ volatile("" : : : "memory");
	WRITE_ONCE(p->active, false);
	arch_irq_restore(flags);
	return p->result;
}

void arch_trigger_bad_exception(void)
{
	/* UDF #0 is permanently undefined (Arm ARM C6.2.379): an EC 0 exception. */
	__asm__ volatile("udf #0");
}

/*
 * An instruction that may be undefined here (semihosting HLT without a
 * debugger, SMC without EL3): arm64_try_insn() runs it and reports a trap
 * instead of crashing.
 */
static u64 try_insn_pc[MAX_CPUS];
static bool try_insn_trapped[MAX_CPUS];

static bool try_insn_fixup(struct exception_frame *f)
{
	unsigned cpu = this_cpu_id();

	if (!try_insn_pc[cpu] || f->elr != try_insn_pc[cpu])
		return false;
	try_insn_trapped[cpu] = true;
	f->elr += 4;
	return true;
}

void arm64_try_insn_begin(u64 pc)
{
	try_insn_trapped[this_cpu_id()] = false;
	WRITE_ONCE(try_insn_pc[this_cpu_id()], pc);
}

bool arm64_try_insn_end(void)
{
	WRITE_ONCE(try_insn_pc[this_cpu_id()], 0);
	return try_insn_trapped[this_cpu_id()];
}

/* ---- TLB conflict aborts: the price of FEAT_BBM level 2 ---- */

#define FSC_TLB_CONFLICT 0x30

/* Per CPU, for the report and the tests; a conflict is not an error. */
u64 arm64_tlb_conflicts[MAX_CPUS];

/*
 * A size change written without a break (FEAT_BBM level 2) lets this CPU's
 * TLB hold a block and a page for one address until the change's broadcast
 * invalidation completes: the access then raises a TLB conflict abort (Arm ARM
 * D8.16.2; DFSC/IFSC 0b110000). Dropping this CPU's own EL2 entries and
 * retrying the access recovers: the next walk finds one size. Needs no lock,
 * so it is safe whatever the interrupted code held.
 */
static bool tlb_conflict_fixup(const struct exception_frame *f)
{
	unsigned ec = ESR_EC(f->esr);

	if ((ec != EC_DABT_CUR && ec != EC_IABT_CUR) || (f->esr & 0x3f) != FSC_TLB_CONFLICT)
		return false;
	__asm__ volatile("tlbi alle2\n\tdsb nsh\n\tisb" ::: "memory");
	arm64_tlb_conflicts[this_cpu_id()]++;
	return true;
}

/* ---- Translation faults a live remap may cause ---- */

static bool (*kernel_fault_fixup)(u64 va);

void arch_set_kernel_fault_fixup(bool (*fixup)(u64 va))
{
	__atomic_store_n(&kernel_fault_fixup, fixup, __ATOMIC_RELEASE);
}

/* A data abort at this EL whose DFSC says Translation fault, level 0-3 (0b0001LL). */
static bool remap_fault_fixup(const struct exception_frame *f)
{
	bool (*fixup)(u64 va) = __atomic_load_n(&kernel_fault_fixup, __ATOMIC_ACQUIRE);

	if (!fixup || ESR_EC(f->esr) != EC_DABT_CUR || (f->esr & 0x3c) != 0x04)
		return false;
	return fixup(f->far);
}

/* ---- Dispatch ---- */

/* MPIDR + 1 of the CPU printing a report, 0 when none: the per-CPU pointer may be the problem. */
static u64 reporter;

__noreturn static void report_and_exit(struct exception_frame *f, u64 kind)
{
	u64 self = read_sysreg(mpidr_el1) + 1, none = 0;

	if (!__atomic_compare_exchange_n(&reporter, &none, self, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE)) {
		if (none != self)
			arch_halt(); /* another CPU is reporting and will end the run */
		/* The report itself faulted: end the run without it. */
		printf("\n*** exception while reporting an exception (ELR 0x%llx ESR 0x%llx)\n",
		       (unsigned long long)f->elr, (unsigned long long)f->esr);
		arm64_exit(3, true);
	}
	console_emergency();
	report(f, kind);
	smp_stop_others();
	kernel_exit(3);
}

void arm64_exception(struct exception_frame *f, u64 kind)
{
	if (kind == VEC_CUR_SPX_IRQ) {
		arm64_handle_irq(f);
		return;
	}
	if (kind == VEC_CUR_SPX_SYNC &&
	    (tlb_conflict_fixup(f) || remap_fault_fixup(f) || probe_fixup(f) || try_insn_fixup(f)))
		return;
	report_and_exit(f, kind);
}
