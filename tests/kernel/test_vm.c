/* SPDX-License-Identifier: MIT */
/*
 * The VMM with the built-in test guest (vmm/test_guest.h): demand paging of a
 * 1 GiB slot at 4 KiB granularity along the faulting path only, hypercalls
 * and their errors, abort injection outside guest memory, two VMs with
 * distinct VMIDs that never see each other's data, every byte of memory
 * back after destruction, and runaway guests (a spin, an idle WFI / HLT)
 * stopped by their time budget.
 */
#include "arch/arch.h"
#include "kernel/cmdline.h"
#include "kernel/percpu.h"
#include "kernel/timer.h"
#include "lib/ktap.h"
#include "lib/parse.h"
#include "lib/printf.h"
#include "lib/string.h"
#include "mm/kmap.h"
#include "mm/pmm.h"
#include "vmm/test_guest.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"
#include "tests/kernel/vm_tests.h"

/* The TOUCH guest's PSCI_VERSION over SMC: arm64 only, x86 has neither. */
#if defined(ARCH_x86_64)
#define SMC_EXITS 0
#else
#define SMC_EXITS 1
#endif
/* The x86 guest keeps its arguments and its stack in its own page; the arm64 one writes none. */
#if defined(ARCH_x86_64)
#define OWN_PAGE_WRITTEN 1
#else
#define OWN_PAGE_WRITTEN 0
#endif
#define SEED 0x5eed0f600dULL

/* Pages the guest touches: its own, then the list of vmm/test_guest.h, ascending. */
#define MAX_TOUCHED (1 + TG_SEQ_PAGES + TG_STRIDES)

struct touched {
	u64 gpa[MAX_TOUCHED];
	unsigned n;
};

static void touched_pages(u64 base, u64 size, struct touched *t)
{
	t->n = 0;
	t->gpa[t->n++] = base;
	for (u64 i = 1; i <= TG_SEQ_PAGES; i++)
		t->gpa[t->n++] = base + i * PAGE_SIZE;
	for (u64 k = 1; k < TG_STRIDES; k++)
		t->gpa[t->n++] = base + k * (size / TG_STRIDES);
	t->gpa[t->n++] = base + size - PAGE_SIZE;
}

static bool is_touched(const struct touched *t, u64 gpa)
{
	for (unsigned i = 0; i < t->n; i++)
		if (t->gpa[i] == ALIGN_DOWN(gpa, PAGE_SIZE))
			return true;
	return false;
}

/* The sequential pages, discarded by the TOUCH guest and read again: zero now. */
static bool is_discarded(u64 base, u64 gpa)
{
	return gpa >= base + PAGE_SIZE && gpa <= base + TG_SEQ_PAGES * PAGE_SIZE;
}

/*
 * Table pages a tree holding exactly these 4K leaves has: the root, plus at
 * each level below it one table per distinct region that level's entry covers
 * (the list is ascending, so distinct means different from the previous).
 */
static u64 expected_tables(const struct pt_format *fmt, const struct touched *t)
{
	u64 tables = 1;

	for (unsigned level = 0; level + 1 < fmt->levels; level++) {
		unsigned shift = pt_level_shift(level + 1);

		for (unsigned i = 0; i < t->n; i++)
			tables += i == 0 || (t->gpa[i] >> shift) != (t->gpa[i - 1] >> shift);
	}
	return tables;
}

static u64 present_pages(const struct vm_slot *s)
{
	u64 count = 0;

	for (u64 w = 0; w < s->size / PAGE_SIZE / 64; w++)
		for (u64 bits = s->present[w]; bits; bits &= bits - 1)
			count++;
	return count;
}

/* ---- One VM running the test guest in a mode ---- */

struct guest_run {
	struct vm vm;
	struct vcpu vcpu;
	int rc;
	bool created;
};

/* A VM with the test guest loaded and its vCPU ready to run. */
static int guest_prepare(struct guest_run *g, u64 ram_size, u64 mode)
{
	u64 args[4] = {0, ram_size, SEED, mode};
	int rc;

	rc = vm_tests_create_with_guest(&g->vm, &g->created, ram_size);
	if (!rc)
		rc = vcpu_create(&g->vcpu, &g->vm, 0, RAM_BASE, args);
	return rc;
}

static int guest_start(struct guest_run *g, u64 ram_size, u64 mode)
{
	int rc = guest_prepare(g, ram_size, mode);

	return rc ? rc : vcpu_run(&g->vcpu);
}

static void guest_destroy(struct guest_run *g)
{
	if (!g->created)
		return;
	vcpu_destroy(&g->vcpu);
	vm_destroy(&g->vm);
	g->created = false;
}

static void expect_exit(const struct guest_run *g, u64 status)
{
	EXPECT_EQ(g->rc, 0);
	EXPECT(g->vcpu.exited);
	if (g->vcpu.exit_status != status)
		ktap_diag("guest exit status %llu, expected %llu (vmm/test_guest.h TG_EXIT_*)",
			  g->vcpu.exit_status, status);
	EXPECT_EQ(g->vcpu.exit_status, status);
}

/* ---- The TOUCH guest: one VM, inspected by the cases that follow ---- */

static struct guest_run touch;
static struct touched touch_pages;
static u64 touch_baseline;

static void test_touch_guest_runs_to_exit(void)
{
	touch_baseline = pmm_free_bytes();
	touched_pages(RAM_BASE, RAM_SIZE, &touch_pages);
	touch.rc = guest_start(&touch, RAM_SIZE, TG_MODE_TOUCH);
	expect_exit(&touch, TG_EXIT_OK);
	ktap_diag("vm%u: VMID %u, %u-bit IPA, %u levels, %u root page(s), backend regs 0x%llx "
		  "0x%llx, "
		  "backing %s blocks",
		  touch.vm.id, touch.vm.arch.id, touch.vm.gpa_bits, touch.vm.fmt.levels,
		  touch.vm.fmt.root_pages, touch.vm.arch.regs[0], touch.vm.arch.regs[1],
		  touch.vm.slots[0].block_order == ORDER_1G ? "1G" : "2M");
}

static void test_touched_pages_mapped_4k_with_content(void)
{
	const struct vm_slot *s = &touch.vm.slots[0];

	if (!touch.created || !touch.vm.nr_slots) {
		EXPECT(false);
		return;
	}
	for (unsigned i = 0; i < touch_pages.n; i++) {
		u64 gpa = touch_pages.gpa[i];
		const u64 *page = vm_slot_page(s, gpa);
		struct pt_translation t;
		unsigned bad = 0;

		EXPECT(pt_translate(&touch.vm.pt, gpa, &t));
		EXPECT_EQ(t.level, 0);
		EXPECT_EQ(pa_addr(t.pa), pa_addr(virt_to_phys(page)));
		if (i == 0)
			continue; /* the guest's own code */
		arch_vm_cache_sync((void *)page, PAGE_SIZE, false);
		for (unsigned w = 0; w < PAGE_SIZE / 8; w++) {
			u64 want = is_discarded(RAM_BASE, gpa) ? 0 : (gpa + w * 8) ^ SEED;

			bad += page[w] != want;
		}
		if (bad)
			ktap_diag("gpa 0x%llx: %u words differ from the guest's pattern", gpa, bad);
		EXPECT_EQ(bad, 0);
	}
}

static void test_untouched_pages_not_mapped(void)
{
	const struct vm_slot *s = &touch.vm.slots[0];
	struct pt_translation t;
	unsigned mapped = 0;

	if (!touch.created || !touch.vm.nr_slots) {
		EXPECT(false);
		return;
	}
	/* The neighbours of every touched page, and a 2 MiB region with nothing in it. */
	for (unsigned i = 0; i < touch_pages.n; i++) {
		u64 next = touch_pages.gpa[i] + PAGE_SIZE, prev = touch_pages.gpa[i] - PAGE_SIZE;

		if (next < RAM_BASE + RAM_SIZE && !is_touched(&touch_pages, next))
			mapped += pt_translate(&touch.vm.pt, next, &t);
		if (touch_pages.gpa[i] > RAM_BASE && !is_touched(&touch_pages, prev))
			mapped += pt_translate(&touch.vm.pt, prev, &t);
	}
	EXPECT_EQ(mapped, 0);
	EXPECT(!pt_translate(&touch.vm.pt, RAM_BASE + MiB(2), &t));
	EXPECT(!pt_translate(&touch.vm.pt, RAM_BASE + RAM_SIZE, &t));
	EXPECT_EQ(present_pages(s), touch_pages.n);
}

static void test_tables_only_on_fault_paths(void)
{
	u64 want = expected_tables(&touch.vm.fmt, &touch_pages);

	if (!touch.created) {
		EXPECT(false);
		return;
	}
	ktap_diag("%llu table pages for %u mapped 4K pages in 1 GiB (peak %llu)",
		  touch.vm.pt.tables, touch_pages.n, touch.vm.pt.tables_peak);
	EXPECT_EQ(touch.vm.pt.tables, want);
	EXPECT_EQ(touch.vm.pt.tables_peak, want);
}

static void test_exit_counts_and_hypercall_errors(void)
{
	const struct vm_stats *st = &touch.vm.stats;
	/* Every touched page faulted once, the discarded ones once more. */
	u64 faults = touch_pages.n + TG_SEQ_PAGES;

	EXPECT_EQ(st->stage2_faults, faults);
	EXPECT_EQ(st->exits[VM_EXIT_STAGE2_FAULT], faults);
	EXPECT_EQ(st->maps, faults);
	EXPECT_EQ(st->pages_zeroed, touch_pages.n + TG_SEQ_PAGES); /* the loaded page too */
	EXPECT_EQ(st->pages_discarded, TG_SEQ_PAGES);
	EXPECT_EQ(st->aborts_injected, 0);
	/* version, bad number, console, console outside RAM, discard, report, exit */
	EXPECT_EQ(st->exits[VM_EXIT_HYPERCALL], 7);
	EXPECT_EQ(st->hypercalls, 7);
	EXPECT_EQ(st->bad_hypercalls, 2);
	EXPECT_EQ(st->exits[VM_EXIT_WFI], 1);
	EXPECT_EQ(st->exits[VM_EXIT_SMC], SMC_EXITS);
	EXPECT_EQ(st->exits[VM_EXIT_UNKNOWN], 0);
	EXPECT_EQ(touch.vm.reports[GRANULE_REPORT_PAGES_TOUCHED], TG_SEQ_PAGES + TG_STRIDES);
}

static void test_destroy_returns_tables_and_memory(void)
{
	guest_destroy(&touch);
	EXPECT_EQ(touch.vm.pt.tables, 0);
	EXPECT_EQ(pmm_free_bytes(), touch_baseline);
}

/* ---- Abort injection ---- */

static void test_access_outside_memory_gets_abort(void)
{
	static struct guest_run g;
	struct touched first_page = {{RAM_BASE}, 1};
	u64 baseline = pmm_free_bytes();
	struct pt_translation t;

	g.rc = guest_start(&g, RAM_SIZE, TG_MODE_ABORT);
	expect_exit(&g, TG_EXIT_ABORT_OK);
	EXPECT_EQ(g.vm.stats.aborts_injected, 1);
	EXPECT_EQ(g.vm.stats.exits[VM_EXIT_UNKNOWN], 0);
	/* Nothing was mapped for it: an abort, not a page. */
	EXPECT(!pt_translate(&g.vm.pt, TG_OUTSIDE_GPA, &t));
	EXPECT_EQ(g.vm.pt.tables, expected_tables(&g.vm.fmt, &first_page));
	guest_destroy(&g);
	EXPECT_EQ(pmm_free_bytes(), baseline);
}

/* ---- Two VMs ---- */

static void test_two_vms_distinct_vmids_no_shared_data(void)
{
	static struct guest_run a, b, c;
	u64 baseline = pmm_free_bytes();
	paddr_t a_block;

	/* A writes its pattern over 1 GiB; B, alive at the same time, must read zeros. */
	a.rc = guest_start(&a, RAM_SIZE, TG_MODE_TOUCH);
	expect_exit(&a, TG_EXIT_OK);
	b.rc = guest_start(&b, MiB(256), TG_MODE_ZERO);
	expect_exit(&b, TG_EXIT_OK);
	EXPECT(a.vm.arch.id != b.vm.arch.id);
	ktap_diag("VMIDs %u and %u", a.vm.arch.id, b.vm.arch.id);

	/* C gets A's memory back after A is gone: it must still read zeros only. */
	a_block = a.vm.nr_slots ? a.vm.slots[0].blocks[0] : pa_init(0);
	guest_destroy(&a);
	c.rc = guest_start(&c, RAM_SIZE, TG_MODE_ZERO);
	expect_exit(&c, TG_EXIT_OK);
	if (c.vm.nr_slots)
		ktap_diag("the third VM's first block %s the first VM's",
			  pa_addr(c.vm.slots[0].blocks[0]) == pa_addr(a_block) ? "reuses"
									       : "differs from");
	guest_destroy(&b);
	guest_destroy(&c);
	EXPECT_EQ(pmm_free_bytes(), baseline);
}

/* ---- Host interrupts while a guest runs ---- */

static void rearm_every_2ms(void)
{
	arch_timer_oneshot(arch_counter_freq() / 500);
}

static void test_host_interrupt_exits_guest(void)
{
	static struct guest_run g;
	u64 baseline = pmm_free_bytes();
	u64 before = __atomic_load_n(&this_cpu()->timer_interrupts, __ATOMIC_ACQUIRE);

	/*
	 * A timer every 2 ms while a guest spins for 125 ms. Re-armed from its
	 * handler rather than armed once: on a loaded host the first 2 ms can pass
	 * before the guest is entered, and that interrupt is then the host's own.
	 */
	g.rc = guest_prepare(&g, MiB(2), TG_MODE_SPIN);
	if (!g.rc) {
		/* No budget: its timer would take this CPU's one-shot (vmm/vcpu.h). */
		g.vm.budget_ms = 0;
		timer_set_handler(rearm_every_2ms);
		rearm_every_2ms();
		g.rc = vcpu_run(&g.vcpu);
		timer_set_handler(NULL);
		arch_timer_oneshot(0);
	}
	expect_exit(&g, TG_EXIT_OK);
	EXPECT(g.vm.stats.exits[VM_EXIT_IRQ] >= 1);
	EXPECT(__atomic_load_n(&this_cpu()->timer_interrupts, __ATOMIC_ACQUIRE) > before);
	ktap_diag("%llu interrupt exit(s)", g.vm.stats.exits[VM_EXIT_IRQ]);
	guest_destroy(&g);
	EXPECT_EQ(pmm_free_bytes(), baseline);
}

/* ---- Runaway guests: the time budget (vmm/vm.h) and idle waits (vmm/vcpu.h) ---- */

#define RUNAWAY_BUDGET_MS 1000

extern const char test_guest_spin_loop[], test_guest_spin_loop_end[];
extern const char test_guest_idle_loop[], test_guest_idle_loop_end[];

/* Where a label of the test guest runs: the image sits at RAM_BASE, run at VA == PA. */
static u64 guest_addr(const char *label)
{
	return RAM_BASE + (u64)(label - (const char *)arch_vm_test_guest()->image);
}

static bool in_loop(u64 pc, const char *loop, const char *loop_end)
{
	return pc >= guest_addr(loop) && pc < guest_addr(loop_end);
}

/* The PC a vcpu_describe() line names ("pc 0x..."), or ~0 when it names none. */
static u64 described_pc(const char *line)
{
	const char *p = line;
	size_t len = 2;
	u64 pc;

	while (*p && strncmp(p, "pc 0x", 5))
		p++;
	if (!*p)
		return ~0ULL;
	p += 3;
	while (digit_value(p[len]) < 16)
		len++;
	return parse_u64(p, len, &pc) ? pc : ~0ULL;
}

/* A fresh guest in mode to its exit on this CPU: the kernel goes on after a runaway. */
static void expect_next_guest_runs(u64 mode)
{
	static struct guest_run next;

	next.rc = guest_start(&next, MiB(2), mode);
	expect_exit(&next, TG_EXIT_OK);
	guest_destroy(&next);
}

struct runaway {
	struct guest_run g;
	u64 ticks; /* how long vcpu_run() took */
	char line[200];
};

/*
 * Runs the guest in mode with a RUNAWAY_BUDGET_MS budget; it must end with
 * ERR_TIME, no earlier than the budget, the vCPU's line naming a PC inside
 * [loop, loop_end).
 */
static void run_runaway(struct runaway *r, u64 mode, const char *loop, const char *loop_end)
{
	u64 start, pc;

	r->g.rc = guest_prepare(&r->g, MiB(2), mode);
	if (!r->g.rc) {
		r->g.vm.budget_ms = RUNAWAY_BUDGET_MS;
		start = arch_counter_read();
		r->g.rc = vcpu_run(&r->g.vcpu);
		r->ticks = arch_counter_read() - start;
	}
	vcpu_describe(&r->g.vcpu, r->line, sizeof(r->line));
	ktap_diag("%s; vcpu_run() took %llu ms", r->line, r->ticks * 1000 / arch_counter_freq());
	EXPECT_EQ(r->g.rc, ERR_TIME);
	EXPECT_EQ(r->g.vm.stop_error, ERR_TIME);
	EXPECT(!r->g.vcpu.exited);
	EXPECT(r->ticks >= RUNAWAY_BUDGET_MS * arch_counter_freq() / 1000);
	pc = described_pc(r->line);
	if (!in_loop(pc, loop, loop_end))
		ktap_diag("pc 0x%llx is outside the guest's loop [0x%llx, 0x%llx)", pc,
			  guest_addr(loop), guest_addr(loop_end));
	EXPECT(in_loop(pc, loop, loop_end));
}

/* vm_create() gives a VM the budget of the command line: vm_budget=, else the suites' default. */
static void test_new_vm_gets_cmdline_budget(void)
{
	static struct vm vm;
	u64 want = kopt.vm_budget_set ? kopt.vm_budget_ms : CMDLINE_TEST_VM_BUDGET_MS;

	EXPECT_EQ(vm_create(&vm, 0), 0);
	ktap_diag("a new VM's time budget: %llu ms (%s)", vm.budget_ms,
		  kopt.vm_budget_set ? "vm_budget=" : "the test suites' default");
	EXPECT_EQ(vm.budget_ms, want);
	EXPECT_EQ(vm.budget_ms, cmdline_vm_budget_ms(&kopt));
	vm_destroy(&vm);
}

/* A guest that spins without an exit: only the budget's timer gets it out. */
static void test_spinning_guest_stopped_by_budget(void)
{
	static struct runaway r;
	u64 baseline = pmm_free_bytes();

	run_runaway(&r, TG_MODE_RUNAWAY_SPIN, test_guest_spin_loop, test_guest_spin_loop_end);
	EXPECT(r.g.vcpu.exits[VM_EXIT_IRQ] >= 1);
	EXPECT_EQ(r.g.vcpu.exits[VM_EXIT_WFI], 0);
	guest_destroy(&r.g);
	EXPECT_EQ(pmm_free_bytes(), baseline);
	expect_next_guest_runs(TG_MODE_ZERO);
}

/*
 * A guest in WFI / HLT forever: each trap makes the CPU wait (vmm/vcpu.h),
 * so it exits at most about once per VCPU_IDLE_SLICE_US (twice that, plus
 * some, for wake-ups by other interrupts), where re-entering at once would
 * trap again within microseconds; and the budget still ends it.
 */
static void test_idle_guest_waits_and_is_stopped(void)
{
	static struct runaway r;
	u64 baseline = pmm_free_bytes(), exits, limit, ms;

	run_runaway(&r, TG_MODE_RUNAWAY_IDLE, test_guest_idle_loop, test_guest_idle_loop_end);
	ms = r.ticks * 1000 / arch_counter_freq();
	exits = r.g.vcpu.exits[VM_EXIT_WFI];
	limit = 2 * ms * 1000 / VCPU_IDLE_SLICE_US + 16;
	ktap_diag("%llu WFI/HLT exits in %llu ms (%llu a second; at most %llu allowed), the CPU "
		  "waited %llu ms of them",
		  exits, ms, ms ? exits * 1000 / ms : 0, limit,
		  r.g.vcpu.idle_ticks * 1000 / arch_counter_freq());
	EXPECT(exits >= 1);
	EXPECT(exits <= limit);
	guest_destroy(&r.g);
	EXPECT_EQ(pmm_free_bytes(), baseline);
	expect_next_guest_runs(TG_MODE_TOUCH);
}

/*
 * Two vCPUs on two CPUs (vm_run()), one spinning and one idle: the budget
 * stops both, whichever finds it spent first kicks the other, and the run
 * ends with ERR_TIME. On x86 both vCPUs start in the same page and keep the
 * mode there, so either may run either loop.
 */
static void test_budget_stops_every_vcpu(void)
{
	static struct guest_run g;
	static struct vcpu second;
	u64 args[4] = {0, MiB(2), SEED, TG_MODE_RUNAWAY_IDLE}, baseline = pmm_free_bytes();
	unsigned cpus[1];
	int spare;

	if (vm_pick_cpus(2, cpus, &spare) < 2) {
		ktap_skip("needs an idle secondary CPU for the second vCPU");
		return;
	}
	g.rc = guest_prepare(&g, MiB(2), TG_MODE_RUNAWAY_SPIN);
	if (!g.rc)
		g.rc = vcpu_create(&second, &g.vm, 1, RAM_BASE, args);
	if (!g.rc) {
		g.vm.budget_ms = RUNAWAY_BUDGET_MS;
		g.rc = vm_run(&g.vm, cpus);
	}
	EXPECT_EQ(g.rc, ERR_TIME);
	for (unsigned i = 0; i < 2; i++) {
		const struct vcpu *v = i ? &second : &g.vcpu;
		char line[200];
		u64 pc;

		vcpu_describe(v, line, sizeof(line));
		ktap_diag("%s", line);
		pc = described_pc(line);
		EXPECT(!v->exited);
		EXPECT(in_loop(pc, test_guest_spin_loop, test_guest_spin_loop_end) ||
		       in_loop(pc, test_guest_idle_loop, test_guest_idle_loop_end));
	}
	if (second.arch)
		vcpu_destroy(&second);
	guest_destroy(&g);
	EXPECT_EQ(pmm_free_bytes(), baseline);
}

/* ---- Dirty logging (vmm/dirty.c) ---- */

/* Whether exactly the pages the TOUCH guest writes (all it touches; its own on x86) are dirty. */
static u64 dirty_mismatches(const u64 *bits, const struct touched *t)
{
	u64 bad = 0;

	for (u64 page = 0; page < RAM_SIZE / PAGE_SIZE; page++) {
		u64 gpa = RAM_BASE + page * PAGE_SIZE;
		bool dirty = bits[page / 64] & BIT(page % 64);

		bad += dirty != (is_touched(t, gpa) && (gpa != RAM_BASE || OWN_PAGE_WRITTEN));
	}
	return bad;
}

/*
 * The TOUCH guest writes every word of 80 pages (81 on x86): with the log on, each page's
 * first write faults once and sets its bit once; a harvest returns exactly
 * those pages and write-protects them again, so the next run logs them again
 * and a harvest with no write in between returns none.
 */
static void test_dirty_log_records_each_written_page_once(void)
{
	static struct guest_run g;
	static u64 bits[RAM_SIZE / PAGE_SIZE / 64];
	u64 args[4] = {0, RAM_SIZE, SEED, TG_MODE_TOUCH}, baseline = pmm_free_bytes();
	struct touched t;

	touched_pages(RAM_BASE, RAM_SIZE, &t);
	g.rc = guest_start(&g, RAM_SIZE, TG_MODE_TOUCH);
	expect_exit(&g, TG_EXIT_OK);
	EXPECT_EQ(vm_dirty_log_start(&g.vm), 0);
	for (unsigned round = 0; round < 2 && !g.rc; round++) {
		u64 before = g.vm.stats.pages_dirtied;

		vcpu_destroy(&g.vcpu);
		g.rc = vcpu_create(&g.vcpu, &g.vm, 0, RAM_BASE, args);
		if (!g.rc)
			g.rc = vcpu_run(&g.vcpu);
		expect_exit(&g, TG_EXIT_OK);
		EXPECT_EQ(vm_dirty_log_harvest(&g.vm, &g.vm.slots[0], bits),
			  t.n - 1 + OWN_PAGE_WRITTEN);
		EXPECT_EQ(dirty_mismatches(bits, &t), 0);
		EXPECT_EQ(g.vm.stats.pages_dirtied - before, t.n - 1 + OWN_PAGE_WRITTEN);
		EXPECT_EQ(vm_dirty_log_harvest(&g.vm, &g.vm.slots[0], bits), 0);
	}
	ktap_diag("%llu pages dirtied over two runs, %llu stage-2 fault exits in all",
		  g.vm.stats.pages_dirtied, g.vm.stats.exits[VM_EXIT_STAGE2_FAULT]);
	vm_dirty_log_stop(&g.vm);
	guest_destroy(&g);
	EXPECT_EQ(pmm_free_bytes(), baseline);
}

int vm_tests_create_with_guest(struct vm *vm, bool *created, u64 ram_size)
{
	const struct arch_test_guest *image = arch_vm_test_guest();
	int rc;

	*created = false;
	rc = vm_create(vm, 0);
	if (rc)
		return rc;
	*created = true;
	rc = vm_add_slot(vm, RAM_BASE, ram_size);
	if (!rc)
		rc = vm_load(vm, RAM_BASE, image->image, image->size);
	return rc;
}

bool vm_tests_unavailable(const char **reason)
{
	if (!arch_vm_available(reason))
		return true;
	if (!arch_vm_test_guest()) {
		*reason = "no built-in test guest for this architecture";
		return true;
	}
	return false;
}

/*
 * The cases' 1 GiB guests need their memory up front (the slots' backing):
 * on a smaller machine the suite skips, saying what it needs, rather than
 * failing. The most at once: the 1 GiB VM beside the 256 MiB one.
 */
static bool vm_suite_skip(const char **reason)
{
	static char why[160];

	if (vm_tests_unavailable(reason))
		return true;
	if (postcopy_fits(postcopy_slot_bytes(RAM_SIZE) + postcopy_slot_bytes(MiB(256)), false, why,
			  sizeof(why)))
		return false;
	*reason = why;
	return true;
}

KTAP_SUITE_SKIPPABLE(suite_vm, "vm", vm_suite_skip, KTAP_CASE(test_touch_guest_runs_to_exit),
		     KTAP_CASE(test_touched_pages_mapped_4k_with_content),
		     KTAP_CASE(test_untouched_pages_not_mapped),
		     KTAP_CASE(test_tables_only_on_fault_paths),
		     KTAP_CASE(test_exit_counts_and_hypercall_errors),
		     KTAP_CASE(test_destroy_returns_tables_and_memory),
		     KTAP_CASE(test_access_outside_memory_gets_abort),
		     KTAP_CASE(test_two_vms_distinct_vmids_no_shared_data),
		     KTAP_CASE(test_host_interrupt_exits_guest),
		     KTAP_CASE(test_new_vm_gets_cmdline_budget),
		     KTAP_CASE(test_spinning_guest_stopped_by_budget),
		     KTAP_CASE(test_idle_guest_waits_and_is_stopped),
		     KTAP_CASE(test_budget_stops_every_vcpu),
		     KTAP_CASE(test_dirty_log_records_each_written_page_once));
