/* SPDX-License-Identifier: MIT */
/*
 * Postcopy demand paging with HGM (vmm/postcopy.h) and the built-in test
 * guest: a 1 GiB slot backed by a 1 GiB block arrives page by page from a
 * modelled source while the guest verifies every byte against the pattern;
 * 2M regions and then the 1G block collapse to leaves; a discard of almost
 * everything leaves few tables; discarded pages come back from the source;
 * the 2M and 1G comparison modes wait longer per fault; a lost page stops
 * only its VM; memory returns to its baseline after every VM.
 */
#include "arch/arch.h"
#include "kernel/percpu.h"
#include "lib/ktap.h"
#include "lib/printf.h"
#include "mm/kmap.h"
#include "mm/pmm.h"
#include "vmm/pattern.h"
#include "vmm/test_guest.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"
#include "tests/kernel/vm_tests.h"

#define SEED 0x5eedc0b7ULL

/* The modelled link: 20 us per urgent request, 1000 MB/s. */
#define SOURCE_LATENCY_US 20
#define SOURCE_MBYTES_S	  1000

struct pc_run {
	struct vm vm;
	struct vcpu vcpu;
	bool created, vcpu_created;
	int rc;
};

static struct page_source test_source(void)
{
	return source_pattern(SEED, SOURCE_LATENCY_US, SOURCE_MBYTES_S);
}

static struct postcopy_config config(enum postcopy_unit unit, enum postcopy_policy policy)
{
	return (struct postcopy_config){.source = test_source(), .unit = unit, .policy = policy};
}

/* A VM with the guest's image in its first page and everything else still at the source. */
static int pc_prepare(struct pc_run *g, u64 ram_size, const struct postcopy_config *cfg)
{
	int rc;

	g->vcpu_created = false;
	rc = vm_tests_create_with_guest(&g->vm, &g->created, ram_size);
	if (!rc)
		rc = vm_postcopy_attach(&g->vm, cfg);
	return rc;
}

/* Runs a fresh vCPU (id) of g's VM in mode until it exits or stops. */
static int pc_run_guest(struct pc_run *g, unsigned id, u64 mode)
{
	u64 args[4] = {0, g->vm.slots[0].size, SEED, mode};
	int rc;

	if (g->vcpu_created)
		vcpu_destroy(&g->vcpu);
	g->vcpu_created = false;
	rc = vcpu_create(&g->vcpu, &g->vm, id, RAM_BASE, args);
	if (rc)
		return rc;
	g->vcpu_created = true;
	return vcpu_run(&g->vcpu);
}

static void pc_destroy(struct pc_run *g)
{
	if (g->vcpu_created)
		vcpu_destroy(&g->vcpu);
	if (g->created)
		vm_destroy(&g->vm);
	g->created = g->vcpu_created = false;
}

static void expect_guest_ok(const struct pc_run *g)
{
	EXPECT_EQ(g->rc, 0);
	EXPECT(g->vcpu.exited);
	if (g->vcpu.exit_status != TG_EXIT_OK)
		ktap_diag("guest exit status %llu (vmm/test_guest.h TG_EXIT_*)",
			  g->vcpu.exit_status);
	EXPECT_EQ(g->vcpu.exit_status, TG_EXIT_OK);
}

/* A CPU for a mover: online, not this one, not `avoid`; -1 (not an error) when none is. */
static int mover_cpu(int avoid)
{
	for (unsigned i = nr_cpus; i-- > 0;)
		if (i != this_cpu_id() && (int)i != avoid &&
		    __atomic_load_n(&percpu[i].online, __ATOMIC_ACQUIRE))
			return (int)i;
	return -1;
}

/* The engine level of the leaf translating gpa, or -1 (not an error) when nothing does. */
static int leaf_level(struct vm *vm, u64 gpa)
{
	struct pt_translation t;

	return pt_translate(&vm->pt, gpa, &t) ? (int)t.level : -1;
}

/* Host-side check of n pages from gpa against the source's pattern: words that differ. */
static u64 host_mismatches(const struct vm_slot *s, u64 gpa, u64 pages)
{
	u64 bad = 0;

	for (u64 at = gpa; at < gpa + pages * PAGE_SIZE; at += PAGE_SIZE) {
		const u64 *page = vm_slot_page(s, at);

		for (unsigned w = 0; w < PAGE_SIZE / 8; w++)
			bad += page[w] != granule_pattern_word(at + w * 8, SEED);
	}
	return bad;
}

/* The median of the faults that had to ask the source (the others found their page arriving). */
static u64 p50(const struct vm *vm)
{
	return postcopy_latency_percentile(&vm->pc.stats.urgent_latency, 50);
}

/* Online CPUs, for the reason a case gives when it has too few. */
static unsigned online_cpus(void)
{
	unsigned n = 0;

	for (unsigned i = 0; i < nr_cpus; i++)
		n += __atomic_load_n(&percpu[i].online, __ATOMIC_ACQUIRE);
	return n;
}

/*
 * For the cases that check 1G leaves: skipped, saying why, when a VM's
 * stage-2 format has none on this CPU (vm_create() fixes it from CPUID or
 * the VMX capability MSR). HGM and 2M collapses are checked all the same.
 */
static bool no_gib_leaves(void)
{
	static struct vm probe;
	bool has;

	/* A VM that cannot be made fails the case where it makes its own. */
	if (vm_create(&probe, 0))
		return false;
	has = probe.fmt.leaf_levels & BIT(2);
	vm_destroy(&probe);
	if (!has)
		ktap_skip("this CPU's stage 2 has no 1 GiB leaves (NPT without Page1GB, EPT "
			  "without 1 GiB pages): no 1G collapse to check");
	return !has;
}

/*
 * Whether this machine is too small for a case: its movers need as many CPUs
 * besides the vCPU's, its VMs `bytes` (postcopy_slot_bytes() of each), with a
 * free 1 GiB block when it checks 1G leaves. When it is, the case is skipped
 * with what it needs and what there is; a small machine is not a failure.
 */
static bool too_small(unsigned movers, u64 bytes, bool gib_block)
{
	static char why[160];
	int first = mover_cpu(-1);

	if (movers && (first < 0 || (movers > 1 && mover_cpu(first) < 0))) {
		snprintf(why, sizeof(why), "needs %u CPUs (the vCPU's and %u mover%s), have %u",
			 movers + 1, movers, movers > 1 ? "s'" : "'s", online_cpus());
		ktap_skip(why);
		return true;
	}
	if (!postcopy_fits(bytes, gib_block, why, sizeof(why))) {
		ktap_skip(why);
		return true;
	}
	return false;
}

/* Mover run time allowed: generous, TCG is slow and the host may be busy. */
static u64 mover_timeout(void)
{
	return 120 * arch_counter_freq();
}

/* ---- HGM: one VM through migration, collapse, discard and refetch ---- */

static struct pc_run hgm;
static u64 hgm_baseline, hgm_tables_empty, hgm_tables_full, hgm_p50;
/* The first case skipped (a small machine) or made its VM: what the cases after it look at. */
static bool hgm_skipped, hgm_prepared;

/*
 * For the cases that inspect the first one's VM: skipped with it, failed
 * when it could not make its VM (then the slot they would read is gone).
 */
static bool hgm_unusable(void)
{
	if (hgm_skipped) {
		ktap_skip("test_hgm_full_migration_verified was skipped");
		return true;
	}
	EXPECT(hgm_prepared);
	return !hgm_prepared;
}

static void test_hgm_full_migration_verified(void)
{
	struct postcopy_config cfg = config(POSTCOPY_UNIT_4K, POSTCOPY_SEQUENTIAL);
	const struct postcopy_stats *st = &hgm.vm.pc.stats;
	u64 pages = RAM_SIZE / PAGE_SIZE;
	int cpu = mover_cpu(-1);

	hgm_skipped = too_small(1, postcopy_slot_bytes(RAM_SIZE), true);
	if (hgm_skipped)
		return;
	hgm_baseline = pmm_free_bytes();
	hgm.rc = pc_prepare(&hgm, RAM_SIZE, &cfg);
	EXPECT_EQ(hgm.rc, 0);
	if (hgm.rc)
		return;
	hgm_prepared = true;
	EXPECT_EQ(hgm.vm.slots[0].block_order, ORDER_1G);
	hgm_tables_empty = hgm.vm.pt.tables;
	EXPECT_EQ(vm_postcopy_start_mover(&hgm.vm, (unsigned)cpu), 0);
	/* The guest reads every byte while the mover streams: faults race arrivals. */
	hgm.rc = pc_run_guest(&hgm, 0, TG_MODE_PATTERN_ALL);
	expect_guest_ok(&hgm);
	EXPECT(vm_postcopy_wait_mover(&hgm.vm, mover_timeout()));
	EXPECT_EQ(hgm.vm.pc.mover_error, 0);
	EXPECT(vm_postcopy_complete(&hgm.vm));
	EXPECT_EQ(hgm.vm.reports[GRANULE_REPORT_BYTES_VERIFIED], RAM_SIZE - PAGE_SIZE);
	/* Every page but the loaded one arrived exactly once. */
	EXPECT_EQ(st->pages_arrived, pages - 1);
	EXPECT_EQ(st->arrival_dups, 0);
	EXPECT(st->faults > 0);
	/* Each arrival came either from the mover's stream or from one urgent request. */
	EXPECT_EQ(st->pages_arrived, st->pages_streamed + st->urgent_requests);
	/* Host view too: the first region, one in the middle, the last one. */
	EXPECT_EQ(host_mismatches(&hgm.vm.slots[0], RAM_BASE + PAGE_SIZE, 511), 0);
	EXPECT_EQ(host_mismatches(&hgm.vm.slots[0], RAM_BASE + RAM_SIZE / 2, 512), 0);
	EXPECT_EQ(host_mismatches(&hgm.vm.slots[0], RAM_BASE + RAM_SIZE - MiB(2), 512), 0);
	hgm_p50 = p50(&hgm.vm);
	vm_report(&hgm.vm);
}

static void test_hgm_collapsed_to_one_1g_leaf(void)
{
	const struct postcopy_stats *st = &hgm.vm.pc.stats;

	if (hgm_unusable() || no_gib_leaves())
		return;
	EXPECT_EQ(leaf_level(&hgm.vm, RAM_BASE), 2);
	EXPECT_EQ(leaf_level(&hgm.vm, RAM_BASE + RAM_SIZE - PAGE_SIZE), 2);
	EXPECT_EQ(st->splits[0], 512);
	EXPECT_EQ(st->splits[1], 1);
	EXPECT_EQ(st->collapses[0], 512);
	EXPECT_EQ(st->collapses[1], 1);
	EXPECT_EQ(st->collapse_misses, 0);
	EXPECT_EQ(st->tables_allocated, st->tables_freed);
	/* Back to the tables of an empty VM plus those above the 1G leaf. */
	hgm_tables_full = hgm.vm.pt.tables;
	EXPECT(hgm_tables_full <= hgm_tables_empty + 1);
	/* Regions collapse as they complete: a few 4K tables at a time, never 512. */
	EXPECT(hgm.vm.pt.tables_peak >= hgm_tables_empty + 2);
	EXPECT(hgm.vm.pt.tables_peak < hgm_tables_empty + 64);
	ktap_diag("page tables: %llu now, peak %llu (%llu KiB), empty VM %llu", hgm_tables_full,
		  hgm.vm.pt.tables_peak, hgm.vm.pt.tables_peak * PAGE_SIZE / 1024,
		  hgm_tables_empty);
}

static void test_hgm_discard_most_leaves_few_tables(void)
{
	const struct postcopy_stats *st = &hgm.vm.pc.stats;
	u64 peak = hgm.vm.pt.tables_peak;

	if (hgm_unusable() || no_gib_leaves())
		return;
	hgm.rc = pc_run_guest(&hgm, 1, TG_MODE_DISCARD_MOST);
	expect_guest_ok(&hgm);
	EXPECT_EQ(hgm.vm.reports[GRANULE_REPORT_BYTES_DISCARD], RAM_SIZE - TG_KEEP_BYTES);
	EXPECT_EQ(st->pages_discarded, (RAM_SIZE - TG_KEEP_BYTES) / PAGE_SIZE);
	/* The 1G leaf was split once; the kept 2M stays one leaf; the rest is gone. */
	EXPECT_EQ(leaf_level(&hgm.vm, RAM_BASE), 1);
	EXPECT_EQ(leaf_level(&hgm.vm, RAM_BASE + TG_KEEP_BYTES), -1);
	EXPECT_EQ(leaf_level(&hgm.vm, RAM_BASE + RAM_SIZE - PAGE_SIZE), -1);
	EXPECT_EQ(st->splits[1], 2);
	EXPECT_EQ(hgm.vm.pt.tables, hgm_tables_full + 1);
	ktap_diag("after discarding %llu MiB of %llu: page-table bytes %llu, peak %llu "
		  "(%llu.%02llu%%)",
		  (RAM_SIZE - TG_KEEP_BYTES) >> 20, RAM_SIZE >> 20,
		  pt_table_bytes(&hgm.vm.pt, hgm.vm.pt.tables), pt_table_bytes(&hgm.vm.pt, peak),
		  hgm.vm.pt.tables * 100 / peak, hgm.vm.pt.tables * 10000 / peak % 100);
}

static void test_hgm_discarded_pages_come_back_from_source(void)
{
	const struct postcopy_stats *st = &hgm.vm.pc.stats;
	u64 faults = st->faults, arrived = st->pages_arrived;

	if (hgm_unusable() || no_gib_leaves())
		return;
	/* Its sequential pages sit in the kept 2M; the 63 strided ones and the last were discarded.
	 */
	hgm.rc = pc_run_guest(&hgm, 2, TG_MODE_PATTERN_TOUCH);
	expect_guest_ok(&hgm);
	EXPECT_EQ(st->faults - faults, TG_STRIDES);
	EXPECT_EQ(st->pages_arrived - arrived, TG_STRIDES);
	EXPECT_EQ(leaf_level(&hgm.vm, RAM_BASE + RAM_SIZE - PAGE_SIZE), 0);
	EXPECT_EQ(host_mismatches(&hgm.vm.slots[0], RAM_BASE + RAM_SIZE - PAGE_SIZE, 1), 0);
}

static void test_hgm_destroy_returns_memory(void)
{
	if (hgm_skipped) {
		ktap_skip("test_hgm_full_migration_verified was skipped");
		return;
	}
	if (hgm_prepared)
		vm_report(&hgm.vm);
	pc_destroy(&hgm);
	EXPECT_EQ(hgm.vm.pt.tables, 0);
	EXPECT_EQ(pmm_free_bytes(), hgm_baseline);
}

/*
 * The random-touch workload, no mover: every page arrives by its own fault
 * and every 2M region is a 4K table at once (the peak the page-table target
 * of docs/benchmarks.md is measured against). The last arrivals collapse the
 * GiB to one 1G leaf; a discard of all but 2 MiB then leaves one table below
 * the GiB's entry, the one holding the kept 2M leaf.
 */
static void test_hgm_scattered_touch_peak_then_discard_reclaims(void)
{
	struct postcopy_config cfg = config(POSTCOPY_UNIT_4K, POSTCOPY_SEQUENTIAL);
	static struct pc_run g;
	const struct postcopy_stats *st = &g.vm.pc.stats;
	u64 baseline = pmm_free_bytes(), pages = RAM_SIZE / PAGE_SIZE, above, peak, now;

	if (too_small(0, postcopy_slot_bytes(RAM_SIZE), true) || no_gib_leaves())
		return;
	cfg.source = source_pattern(SEED, 0, 0); /* no link cost: the tables are the point */
	g.rc = pc_prepare(&g, RAM_SIZE, &cfg);
	EXPECT_EQ(g.rc, 0);
	if (!g.rc)
		g.rc = pc_run_guest(&g, 0, TG_MODE_PATTERN_SCATTER);
	expect_guest_ok(&g);
	if (g.rc) {
		pc_destroy(&g);
		return;
	}
	EXPECT_EQ(g.vm.reports[GRANULE_REPORT_BYTES_VERIFIED], RAM_SIZE - PAGE_SIZE);
	EXPECT_EQ(st->pages_arrived, pages - 1);
	EXPECT_EQ(st->urgent_requests, pages - 1);
	EXPECT_EQ(st->arrival_dups, 0);
	EXPECT_EQ(leaf_level(&g.vm, RAM_BASE), 2);
	/* The root and the tables above the GiB were there at the peak too. */
	above = g.vm.pt.tables - pt_count_tables(&g.vm.pt, RAM_BASE, RAM_SIZE);
	peak = g.vm.pt.tables_peak - above;
	EXPECT_EQ(peak, 1 + RAM_SIZE / MiB(2));
	g.rc = pc_run_guest(&g, 1, TG_MODE_DISCARD_MOST);
	expect_guest_ok(&g);
	now = pt_count_tables(&g.vm.pt, RAM_BASE, RAM_SIZE);
	EXPECT_EQ(now, 1);
	EXPECT_EQ(g.vm.pt.tables, above + now);
	EXPECT_EQ(leaf_level(&g.vm, RAM_BASE), 1);
	ktap_diag("scattered touch: %llu tables below the GiB at the peak, %llu after discarding "
		  "all but 2 MiB (%llu.%03llu%%); %llu above it (root included)",
		  peak, now, now * 100 / peak, now * 100000 / peak % 1000, above);
	pc_destroy(&g);
	EXPECT_EQ(pmm_free_bytes(), baseline);
}

/* ---- The comparison modes: a fault waits for its whole 2M / 1G ---- */

/* Runs the strided-touch guest with a unit, mover running; returns its p50 (0 on failure). */
static u64 run_unit(enum postcopy_unit unit, bool mover, int leaf)
{
	static struct pc_run g;
	struct postcopy_config cfg = config(unit, POSTCOPY_SEQUENTIAL);
	u64 baseline = pmm_free_bytes(), median = 0;

	g.rc = pc_prepare(&g, RAM_SIZE, &cfg);
	EXPECT_EQ(g.rc, 0);
	if (!g.rc && mover)
		EXPECT_EQ(vm_postcopy_start_mover(&g.vm, (unsigned)mover_cpu(-1)), 0);
	if (!g.rc) {
		g.rc = pc_run_guest(&g, 0, TG_MODE_PATTERN_TOUCH);
		expect_guest_ok(&g);
		vm_postcopy_stop_mover(&g.vm);
		EXPECT_EQ(leaf_level(&g.vm, RAM_BASE + RAM_SIZE - PAGE_SIZE), leaf);
		EXPECT_EQ(g.vm.pc.stats.arrival_dups, 0);
		median = p50(&g.vm);
		vm_report(&g.vm);
	}
	pc_destroy(&g);
	EXPECT_EQ(pmm_free_bytes(), baseline);
	return median;
}

/* The comparison cases measure against the HGM case's median: nothing to compare without it. */
static bool no_hgm_median(void)
{
	if (hgm_skipped)
		ktap_skip("no HGM median to compare with: test_hgm_full_migration_verified was "
			  "skipped");
	return hgm_skipped;
}

static void test_non_hgm_2m_faults_wait_longer(void)
{
	u64 median;

	if (no_hgm_median() || too_small(1, postcopy_slot_bytes(RAM_SIZE), false))
		return;
	median = run_unit(POSTCOPY_UNIT_2M, true, 1);

	ktap_diag("fault-to-resume p50: HGM %llu ticks, 2M %llu ticks (x%llu)", hgm_p50, median,
		  hgm_p50 ? median / hgm_p50 : 0);
	/* 512 times the bytes per fault: deterministic enough to assert the order. */
	EXPECT(median > hgm_p50);
}

static void test_non_hgm_1g_faults_wait_longest(void)
{
	u64 median;

	/* One 1G leaf at the end: a 1 GiB block behind the slot. */
	if (no_hgm_median() || too_small(0, postcopy_slot_bytes(RAM_SIZE), true) || no_gib_leaves())
		return;
	median = run_unit(POSTCOPY_UNIT_1G, false, 2);

	ktap_diag("fault-to-resume p50: HGM %llu ticks, 1G %llu ticks (x%llu)", hgm_p50, median,
		  hgm_p50 ? median / hgm_p50 : 0);
	EXPECT(median > hgm_p50);
}

/* ---- Discard racing the mover and the faults ---- */

static void test_discard_during_migration_refetches(void)
{
	static struct pc_run g;
	struct postcopy_config cfg = config(POSTCOPY_UNIT_4K, POSTCOPY_AROUND_FAULTS);
	u64 baseline = pmm_free_bytes();

	if (too_small(1, postcopy_slot_bytes(MiB(256)), false))
		return;
	g.rc = pc_prepare(&g, MiB(256), &cfg);
	EXPECT_EQ(g.rc, 0);
	if (!g.rc) {
		u64 start = arch_counter_read(), quarter = MiB(256) / PAGE_SIZE / 4;

		EXPECT_EQ(vm_postcopy_start_mover(&g.vm, (unsigned)mover_cpu(-1)), 0);
		/* A quarter in: behind the mover collapsed regions, ahead of it nothing. */
		while (__atomic_load_n(&g.vm.pc.stats.pages_streamed, __ATOMIC_RELAXED) < quarter &&
		       arch_counter_read() - start < mover_timeout())
			arch_cpu_relax();
		/*
		 * Discarded while the mover streams and installs in the same
		 * regions (sequence retries), then every byte read back: each
		 * discarded page must come again from the source, never stale.
		 */
		g.rc = pc_run_guest(&g, 0, TG_MODE_DISCARD_MOST);
		EXPECT(g.vm.pc.stats.pages_discarded >= quarter / 2);
		expect_guest_ok(&g);
		g.rc = pc_run_guest(&g, 1, TG_MODE_PATTERN_ALL);
		expect_guest_ok(&g);
		EXPECT(vm_postcopy_wait_mover(&g.vm, mover_timeout()));
		EXPECT_EQ(g.vm.pc.mover_error, 0);
		EXPECT_EQ(g.vm.pc.stats.arrival_dups, 0);
		EXPECT(vm_postcopy_complete(&g.vm));
		EXPECT_EQ(g.vm.pc.stats.collapse_misses, 0);
		vm_report(&g.vm);
	}
	pc_destroy(&g);
	EXPECT_EQ(pmm_free_bytes(), baseline);
}

/* ---- Discard under the zero policy ---- */

static void test_discard_zero_policy_reads_zeros(void)
{
	static struct pc_run g;
	struct postcopy_config cfg = config(POSTCOPY_UNIT_4K, POSTCOPY_SEQUENTIAL);
	u64 baseline = pmm_free_bytes();

	if (too_small(1, postcopy_slot_bytes(MiB(64)), false))
		return;
	cfg.after_discard = POSTCOPY_DISCARD_ZERO;
	g.rc = pc_prepare(&g, MiB(64), &cfg);
	EXPECT_EQ(g.rc, 0);
	if (!g.rc) {
		EXPECT_EQ(vm_postcopy_start_mover(&g.vm, (unsigned)mover_cpu(-1)), 0);
		/* Given up while still migrating: those pages need not travel at all. */
		g.rc = pc_run_guest(&g, 0, TG_MODE_DISCARD_MOST);
		expect_guest_ok(&g);
		/*
		 * The kept 2M too but the guest's own page (the hypercall's own
		 * function): every page the guest touches must then read 0.
		 */
		EXPECT_EQ(vm_discard(&g.vm, RAM_BASE + PAGE_SIZE, TG_KEEP_BYTES - PAGE_SIZE), 0);
		g.rc = pc_run_guest(&g, 1, TG_MODE_ZERO);
		expect_guest_ok(&g);
		/* Pages discarded behind the mover stay absent until touched: no completeness. */
		EXPECT(vm_postcopy_wait_mover(&g.vm, mover_timeout()));
		EXPECT_EQ(g.vm.pc.mover_error, 0);
		EXPECT_EQ(g.vm.pc.stats.arrival_dups, 0);
		vm_report(&g.vm);
	}
	pc_destroy(&g);
	EXPECT_EQ(pmm_free_bytes(), baseline);
}

/* ---- A source that loses a page stops that VM only ---- */

/*
 * The lossy VM: 1 GiB beside the healthy 256 MiB where both fit, else 256 MiB
 * as well. What the case checks (a lost page stops only its own VM) does not
 * depend on its size.
 */
static u64 lossy_size(u64 healthy_bytes)
{
	char why[160];

	if (postcopy_fits(healthy_bytes + postcopy_slot_bytes(RAM_SIZE), false, why, sizeof(why)))
		return RAM_SIZE;
	ktap_diag("the lossy VM is 256 MiB: a 1 GiB one beside the healthy VM %s", why);
	return MiB(256);
}

static void test_lost_page_stops_only_its_vm(void)
{
	static struct pc_run lossy, healthy;
	struct postcopy_config bad = config(POSTCOPY_UNIT_4K, POSTCOPY_AROUND_FAULTS);
	struct postcopy_config good = config(POSTCOPY_UNIT_4K, POSTCOPY_AROUND_FAULTS);
	u64 baseline = pmm_free_bytes(), healthy_bytes = postcopy_slot_bytes(MiB(256)), size;
	int cpu_good = mover_cpu(-1), cpu_bad = mover_cpu(cpu_good);

	if (too_small(2, 2 * healthy_bytes, false))
		return;
	size = lossy_size(healthy_bytes);
	/* The fifth strided page never arrives; asking for it gives up after 10 ms. */
	bad.source.fail_gpa = RAM_BASE + 5 * (size / TG_STRIDES);
	bad.source.fail_timeout_ticks = arch_counter_freq() / 100;
	healthy.rc = pc_prepare(&healthy, MiB(256), &good);
	lossy.rc = pc_prepare(&lossy, size, &bad);
	EXPECT_EQ(healthy.rc, 0);
	EXPECT_EQ(lossy.rc, 0);
	if (!healthy.rc && !lossy.rc) {
		EXPECT_EQ(vm_postcopy_start_mover(&healthy.vm, (unsigned)cpu_good), 0);
		EXPECT_EQ(vm_postcopy_start_mover(&lossy.vm, (unsigned)cpu_bad), 0);
		lossy.rc = pc_run_guest(&lossy, 0, TG_MODE_PATTERN_TOUCH);
		EXPECT_EQ(lossy.rc, ERR_TIMEDOUT);
		EXPECT(!lossy.vcpu.exited);
		EXPECT(lossy.vm.pc.stats.source_failures >= 1);
		/* The other VM, its mover streaming all along, runs to the end. */
		healthy.rc = pc_run_guest(&healthy, 0, TG_MODE_PATTERN_ALL);
		expect_guest_ok(&healthy);
		EXPECT(vm_postcopy_wait_mover(&healthy.vm, mover_timeout()));
		EXPECT(vm_postcopy_complete(&healthy.vm));
		EXPECT_EQ(healthy.vm.pc.stats.source_failures, 0);
		vm_postcopy_stop_mover(&lossy.vm);
		ktap_diag("lossy VM: %llu source failure(s), mover error %s",
			  lossy.vm.pc.stats.source_failures, err_name(lossy.vm.pc.mover_error));
	}
	pc_destroy(&lossy);
	pc_destroy(&healthy);
	EXPECT_EQ(pmm_free_bytes(), baseline);
}

/* Each case skips by itself what this machine is too small for (too_small()). */
KTAP_SUITE_SKIPPABLE(suite_postcopy, "postcopy", vm_tests_unavailable,
		     KTAP_CASE(test_hgm_full_migration_verified),
		     KTAP_CASE(test_hgm_collapsed_to_one_1g_leaf),
		     KTAP_CASE(test_hgm_discard_most_leaves_few_tables),
		     KTAP_CASE(test_hgm_discarded_pages_come_back_from_source),
		     KTAP_CASE(test_hgm_destroy_returns_memory),
		     KTAP_CASE(test_hgm_scattered_touch_peak_then_discard_reclaims),
		     KTAP_CASE(test_non_hgm_2m_faults_wait_longer),
		     KTAP_CASE(test_non_hgm_1g_faults_wait_longest),
		     KTAP_CASE(test_discard_during_migration_refetches),
		     KTAP_CASE(test_discard_zero_policy_reads_zeros),
		     KTAP_CASE(test_lost_page_stops_only_its_vm));
