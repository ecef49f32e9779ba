/* SPDX-License-Identifier: MIT */
/*
 * The default run (`make run`): postcopy demand paging with high-granularity
 * mapping (vmm/postcopy.h) on the built-in test guest (vmm/test_guest.h).
 *
 * One VM whose RAM (1 GiB by default) is backed by one 1 GiB host block
 * arrives from a modelled migration stream while its 4 vCPUs, one per CPU
 * (the built-in guest starts vCPUs 1-3 with PSCI CPU_ON), read and check a
 * quarter of the bytes each, while the mover streams on a fifth CPU (`make
 * run` boots 5). With only 4 CPUs (a 4-core board) no CPU is left for the
 * mover: it streams, 2M at a time, on the CPUs whose vCPU has finished
 * (vm->while_off), so nearly every page arrives by a fault, four at a time.
 * The progress bar is drawn between vCPU 0's exits. (x86's built-in guest has
 * no SMP mode: one vCPU there, the mover on another CPU.) With one CPU (one
 * vCPU, no CPU for the mover) the mover shares the vCPU's CPU: one 2M region
 * streams after each of the vCPU's exits. Then the tables are
 * shown collapsed, the guest discards almost everything and the VM reports.
 * The same workload then runs with 2M faults (a fault waits for its whole 2M
 * region) and a table compares the two (demo=hgm|2m|1g runs one mode alone).
 * Three quiet phases with one busy CPU follow: the fault latency of each unit
 * (4K, 2M, 1G) for the same source; page-table reclaim (a scattered touch of
 * every page, which needs the most tables, then a discard of all but 2 MiB);
 * and one 4K fault round trip (exit to resume, page fill excluded), measured
 * by difference. Under QEMU -icount their ticks count instructions
 * (scripts/bench-vmm.py, docs/benchmarks.md).
 *
 * The guest's size fits the machine: 1 GiB by default, halved (down to
 * DEMO_MEM_MIN) until it fits in the memory free, saying so; an explicit
 * demo_mem= that does not fit is refused with what it needs.
 */
#include "kernel/demo.h"
#include "arch/arch.h"
#include "kernel/cmdline.h"
#include "kernel/percpu.h"
#include "kernel/smp.h"
#include "lib/printf.h"
#include "mm/hvo.h"
#include "mm/pmm.h"
#include "vmm/source.h"
#include "vmm/test_guest.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"
#include "tests/kernel/vm_tests.h"

#define DEMO_SEED 0x5eedc0b7ULL
/* The tests' link model (docs/postcopy.md); demo_latency= and demo_bandwidth= override it. */
#define DEMO_LATENCY_US	 20
#define DEMO_MBYTES_S	 1000
#define DEMO_BAR_WIDTH	 40
#define DEMO_RT_MEM	 MiB(64)
#define DEMO_FILL_PAGES	 64
#define DEMO_TIMEOUT_SEC 600
#define DEMO_VCPUS	 CMDLINE_DEMO_MAX_VCPUS
#define DEMO_MEM_DEFAULT GiB(1)
#define DEMO_MEM_MIN	 DEMO_RT_MEM /* the round trip's VM: smaller says little */

/* What one mode's run leaves for the comparison table. */
struct demo_result {
	bool ran, ok;
	u64 faults, p50, p99, max, mean;
	u64 urgent, urgent_p50; /* faults that sent the source a request */
	u64 splits[2], collapses[2];
	u64 tables_allocated, tables_freed;
	u64 pt_bytes_now, pt_bytes_peak;
	int leaf_level; /* of the first page once migrated: 2 = 1G leaf, 1 = 2M, 0 = 4K */
};

/* The progress bar's state: whichever vCPU thread polls first draws the next line. */
struct progress {
	struct vm *vm;
	u64 total;	   /* pages to arrive */
	u32 next;	   /* the next tenth to draw */
	bool stream_exits; /* no CPU for the mover: vCPU 0 streams after each exit */
};

static struct vm demo_vm;
static struct vcpu demo_vcpu;
static struct vcpu demo_vcpus[DEMO_VCPUS];
static struct progress demo_progress;

static const char *const unit_label[] = {
	[POSTCOPY_UNIT_4K] = "HGM",
	[POSTCOPY_UNIT_2M] = "2M",
	[POSTCOPY_UNIT_1G] = "1G",
};

static u64 load64(const u64 *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static void print_bar(const struct progress *p, unsigned tenths, u64 arrived)
{
	char bar[DEMO_BAR_WIDTH + 1];
	unsigned fill = tenths * DEMO_BAR_WIDTH / 10;

	for (unsigned i = 0; i < DEMO_BAR_WIDTH; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[DEMO_BAR_WIDTH] = '\0';
	printf("demo: [%s] %3u%%  %llu/%llu pages (streamed %llu, faults %llu)\n", bar, tenths * 10,
	       arrived, p->total, load64(&p->vm->pc.stats.pages_streamed),
	       load64(&p->vm->pc.stats.faults));
}

/*
 * Called between the vCPUs' exits (vm->after_exit, vm->while_off): draws one
 * line per 10% of the pages arrived. The claim of a line is a compare and
 * swap, so two CPUs never draw the same one.
 */
static void progress_poll(struct progress *p)
{
	u64 arrived = MIN(load64(&p->vm->pc.stats.pages_arrived), p->total);
	u32 next = __atomic_load_n(&p->next, __ATOMIC_RELAXED);

	while (next <= 10 && arrived * 10 >= p->total * next) {
		if (__atomic_compare_exchange_n(&p->next, &next, next + 1, false, __ATOMIC_RELAXED,
						__ATOMIC_RELAXED))
			print_bar(p, next++, arrived);
	}
}

static void progress_after_exit(struct vm *vm)
{
	if (demo_progress.stream_exits)
		vm_postcopy_stream_step(vm);
	progress_poll(&demo_progress);
}

/* A CPU whose vCPU is off streams for the mover (one 2M region a step) and draws the bar. */
static bool stream_while_off(struct vm *vm)
{
	bool more = vm_postcopy_stream_step(vm);

	progress_poll(&demo_progress);
	return more;
}

static void progress_start(struct progress *p, struct vm *vm)
{
	p->vm = vm;
	p->total = vm->slots[0].size / PAGE_SIZE - 1; /* the guest's own page is loaded */
	p->next = 1;
	p->stream_exits = false;
	vm->after_exit = progress_after_exit;
	vm->while_off = stream_while_off;
}

static void progress_stop(struct progress *p)
{
	progress_poll(p);
	p->vm->after_exit = NULL;
	p->vm->while_off = NULL;
}

static u64 link_latency_us(void)
{
	return kopt.demo_latency_set ? kopt.demo_latency_us : DEMO_LATENCY_US;
}

static u64 link_mbytes_s(void)
{
	return kopt.demo_bandwidth_set ? kopt.demo_mbytes_s : DEMO_MBYTES_S;
}

static struct postcopy_config demo_config(enum postcopy_unit unit, u64 latency_us, u64 mbytes_s)
{
	return (struct postcopy_config){
		.source = source_pattern(DEMO_SEED, latency_us, mbytes_s),
		.unit = unit,
		.policy = (enum postcopy_policy)kopt.demo_policy,
	};
}

/* A VM whose first page holds the guest and whose other pages are at the source. */
static int demo_prepare(struct vm *vm, u64 mem, const struct postcopy_config *cfg)
{
	const struct arch_test_guest *image = arch_vm_test_guest();
	int rc = vm_create(vm, 0);

	if (rc)
		return rc;
	rc = vm_add_slot(vm, RAM_BASE, mem);
	if (!rc)
		rc = vm_load(vm, RAM_BASE, image->image, image->size);
	if (!rc)
		rc = vm_postcopy_attach(vm, cfg);
	if (rc)
		vm_destroy(vm);
	return rc;
}

/* Runs a fresh vCPU of vm in mode; *ticks gets the time inside vcpu_run(). */
static int demo_guest(struct vm *vm, unsigned id, u64 mode, u64 *ticks)
{
	u64 args[4] = {0, vm->slots[0].size, DEMO_SEED, mode};
	u64 start;
	int rc = vcpu_create(&demo_vcpu, vm, id, RAM_BASE, args);

	if (rc) {
		printf("demo: vcpu_create failed: %s\n", err_name(rc));
		return rc;
	}
	start = arch_counter_read();
	rc = vcpu_run(&demo_vcpu);
	if (ticks)
		*ticks = arch_counter_read() - start;
	if (!rc && demo_vcpu.exit_status != TG_EXIT_OK) {
		printf("demo: guest exit status %llu (vmm/test_guest.h TG_EXIT_*)\n",
		       demo_vcpu.exit_status);
		rc = ERR_IO;
	}
	vcpu_destroy(&demo_vcpu);
	return rc;
}

/* The engine level of the leaf translating gpa, or -1 (not an error) when nothing does. */
static int leaf_level(struct vm *vm, u64 gpa)
{
	struct pt_translation t;

	return pt_translate(&vm->pt, gpa, &t) ? (int)t.level : -1;
}

static const char *level_name(int level)
{
	static const char *const names[] = {"4K leaf", "2M leaf", "1G leaf"};

	return level >= 0 && level <= 2 ? names[level] : "nothing";
}

static void record_faults(struct demo_result *r, const struct vm *vm)
{
	const struct latency_hist *h = &vm->pc.stats.latency;

	r->faults = vm->pc.stats.faults;
	r->p50 = postcopy_latency_percentile(h, 50);
	r->p99 = postcopy_latency_percentile(h, 99);
	r->max = h->max;
	r->urgent = vm->pc.stats.urgent_latency.count;
	r->urgent_p50 = postcopy_latency_percentile(&vm->pc.stats.urgent_latency, 50);
}

static void record_tables(struct demo_result *r, const struct vm *vm)
{
	const struct postcopy_stats *st = &vm->pc.stats;

	for (unsigned i = 0; i < 2; i++) {
		r->splits[i] = st->splits[i];
		r->collapses[i] = st->collapses[i];
	}
	r->tables_allocated = st->tables_allocated;
	r->tables_freed = st->tables_freed;
	r->pt_bytes_now = pt_table_bytes(&vm->pt, vm->pt.tables);
	r->pt_bytes_peak = pt_table_bytes(&vm->pt, vm->pt.tables_peak);
}

/*
 * The migration's vCPUs: DEMO_VCPUS (arm64: the built-in guest starts them
 * with PSCI CPU_ON) on as many CPUs, or one where the built-in guest has no
 * SMP mode (x86).
 */
static unsigned demo_vcpu_count(unsigned cpus[DEMO_VCPUS - 1], int *spare)
{
	unsigned want = kopt.demo_vcpus ? kopt.demo_vcpus : DEMO_VCPUS, n;

#if defined(ARCH_x86_64)
	want = 1;
#endif
	n = vm_pick_cpus(want, cpus, spare);
	/* One vCPU per CPU: fewer CPUs, fewer vCPUs (each still checks its share of RAM). */
	if (n < want)
		printf("demo: %u vCPUs %s, %u CPU(s) to run them on: running %u\n", want,
		       kopt.demo_vcpus ? "asked for" : "by default", n, n);
	return n;
}

static int demo_vcpus_create(struct vm *vm, unsigned n)
{
	u64 args[4] = {n, vm->slots[0].size, DEMO_SEED,
		       n > 1 ? TG_MODE_PATTERN_SMP : TG_MODE_PATTERN_ALL};
	int rc = vcpu_create(&demo_vcpus[0], vm, 0, RAM_BASE, args);

	for (unsigned i = 1; !rc && i < n; i++)
		rc = vcpu_create_off(&demo_vcpus[i], vm, i);
	return rc;
}

static void demo_vcpus_destroy(unsigned n)
{
	for (unsigned i = n; i-- > 0;)
		vcpu_destroy(&demo_vcpus[i]);
}

/*
 * With a spare CPU the mover runs there all along; without one (4 vCPUs on 4
 * CPUs) it streams on the CPUs whose vCPU is off (stream_while_off).
 */
static void demo_mover_start(struct vm *vm, unsigned n, int spare)
{
	if (spare >= 0 && !vm_postcopy_start_mover(vm, (unsigned)spare)) {
		printf("demo: %u vCPU(s), the mover on CPU %d\n", n, spare);
		return;
	}
	if (n == 1) {
		/* No CPU is ever off: the one vCPU's exits are where the mover gets its turns. */
		demo_progress.stream_exits = true;
		printf("demo: 1 vCPU on 1 CPU, no CPU left for the mover: it shares the vCPU's "
		       "CPU, one 2M region after each exit\n");
		return;
	}
	printf("demo: %u vCPUs on %u CPUs, no CPU left for the mover: it streams on the CPUs "
	       "whose vCPU is off\n",
	       n, n);
}

/* Migration: the guest checks every byte while the pages arrive and the bar advances. */
static int demo_migrate(struct vm *vm, struct demo_result *r)
{
	unsigned cpus[DEMO_VCPUS - 1];
	int spare;
	unsigned n = demo_vcpu_count(cpus, &spare);
	u64 start = arch_counter_read(), ticks = 0;
	int rc = demo_vcpus_create(vm, n);

	if (!rc) {
		progress_start(&demo_progress, vm);
		demo_mover_start(vm, n, spare);
		rc = vm_run(vm, cpus);
		ticks = arch_counter_read() - start;
		if (!vm_postcopy_wait_mover(vm, DEMO_TIMEOUT_SEC * arch_counter_freq()))
			vm_postcopy_stop_mover(vm);
		progress_stop(&demo_progress);
	}
	demo_vcpus_destroy(n);
	if (!rc && vm->exit_status != TG_EXIT_OK) {
		printf("demo: guest exit status %llu (vmm/test_guest.h TG_EXIT_*)\n",
		       vm->exit_status);
		rc = ERR_IO;
	}
	if (rc)
		return rc;
	record_faults(r, vm);
	r->leaf_level = leaf_level(vm, RAM_BASE);
	printf("demo: %u vCPU(s) verified %llu bytes in %llu ticks; first page now mapped by a %s, "
	       "%llu page tables (peak %llu)\n",
	       n, vm->reports[GRANULE_REPORT_BYTES_VERIFIED], ticks, level_name(r->leaf_level),
	       vm->pt.tables, vm->pt.tables_peak);
	return vm->pc.mover_error;
}

/*
 * The vmemmap the VM's huge pages save while they are huge (mm/hvo.h): the
 * tail struct pages' memory given back, less the vmemmap tables it took.
 */
static void report_hvo(void)
{
	struct hvo_stats s;

	hvo_get_stats(&s);
	if (hvo_strategy() == HVO_OFF) {
		printf("demo: vmemmap optimization off (hvo=off)\n");
		return;
	}
	printf("demo: vmemmap optimization (strategy %s): %lld KiB of struct pages saved while "
	       "the guest's memory is huge pages (%llu vmemmap pages freed so far)\n",
	       hvo_strategy_name(hvo_strategy()), (long long)(s.saved_pages * 4),
	       (unsigned long long)s.vmemmap_pages_freed);
}

/* The same workload in one fault unit: migrate, collapse, discard, report. */
static int demo_mode_run(enum postcopy_unit unit, u64 mem, struct demo_result *r)
{
	struct postcopy_config cfg = demo_config(unit, link_latency_us(), link_mbytes_s());
	u64 baseline = pmm_free_bytes();
	int rc;

	printf("demo: ==== %s: %llu MiB guest, faults wait for %s ====\n", unit_label[unit],
	       mem >> 20, unit == POSTCOPY_UNIT_4K ? "their 4K page" : unit_label[unit]);
	rc = demo_prepare(&demo_vm, mem, &cfg);
	if (rc) {
		printf("demo: VM setup failed: %s%s\n", err_name(rc),
		       rc == ERR_NOTSUP && unit == POSTCOPY_UNIT_1G
			       ? " (this CPU's stage 2 has no 1 GiB leaves)"
			       : "");
		return rc;
	}
	printf("demo: slot backed by %llu host %s block(s); source %llu us per urgent request, "
	       "%llu MB/s, mover order %s\n",
	       demo_vm.slots[0].nr_blocks,
	       demo_vm.slots[0].block_order == ORDER_1G ? "1 GiB" : "2 MiB", link_latency_us(),
	       link_mbytes_s(),
	       cfg.policy == POSTCOPY_AROUND_FAULTS ? "around faults" : "sequential");
	report_hvo();
	r->ran = true;
	rc = demo_migrate(&demo_vm, r);
	if (!rc) {
		rc = demo_guest(&demo_vm, 1, TG_MODE_DISCARD_MOST, NULL);
		printf("demo: guest discarded %llu of %llu MiB: page-table bytes %llu, peak %llu\n",
		       demo_vm.reports[GRANULE_REPORT_BYTES_DISCARD] >> 20, mem >> 20,
		       pt_table_bytes(&demo_vm.pt, demo_vm.pt.tables),
		       pt_table_bytes(&demo_vm.pt, demo_vm.pt.tables_peak));
	}
	record_tables(r, &demo_vm);
	vm_report(&demo_vm);
	vm_destroy(&demo_vm);
	if (pmm_free_bytes() != baseline)
		printf("demo: %lld bytes not returned after the VM\n",
		       (long long)(baseline - pmm_free_bytes()));
	r->ok = !rc;
	return rc;
}

/*
 * Ticks to fill n pages from the VM's source: the page copy a fault pays,
 * through the very function its transfer calls.
 */
static u64 fill_ticks(struct vm *vm, unsigned n)
{
	void *page = vm_slot_page(&vm->slots[0], RAM_BASE + PAGE_SIZE);
	u64 start = arch_counter_read();

	for (unsigned i = 0; i < n; i++)
		source_fill(&vm->pc.cfg.source, page, RAM_BASE + PAGE_SIZE, PAGE_SIZE);
	return arch_counter_read() - start;
}

/* Prints x / d with three decimals. */
static void print_milli(const char *what, u64 x, u64 d)
{
	u64 m = d ? x * 1000 / d : 0;

	printf("%s%llu.%03llu", what, m / 1000, m % 1000);
}

/*
 * One 4K fault round trip, exit to resume, page fill excluded: the guest
 * reads every page of a small VM twice, first with every page at a source
 * that costs nothing (no latency, no bandwidth charge, no mover), then with
 * everything mapped. The difference is the faults' cost (collapses
 * included, amortized); the pattern fill, timed alone, is taken off.
 */
static int demo_round_trip(void)
{
	struct postcopy_config cfg = demo_config(POSTCOPY_UNIT_4K, 0, 0);
	u64 cold, warm, faults, fill, total, handler;
	int rc = demo_prepare(&demo_vm, DEMO_RT_MEM, &cfg);

	if (rc)
		return rc;
	rc = demo_guest(&demo_vm, 0, TG_MODE_PATTERN_ALL, &cold);
	if (!rc)
		rc = demo_guest(&demo_vm, 1, TG_MODE_PATTERN_ALL, &warm);
	faults = demo_vm.pc.stats.faults;
	handler = demo_vm.pc.stats.latency.sum;
	if (!rc && faults && cold > warm) {
		fill = fill_ticks(&demo_vm, DEMO_FILL_PAGES) * faults / DEMO_FILL_PAGES;
		total = cold - warm > fill ? cold - warm - fill : 0;
		printf("demo: round trip: %llu faults, cold run %llu ticks, warm run %llu, "
		       "fills %llu",
		       faults, cold, warm, fill);
		print_milli("; per fault: ", total, faults);
		print_milli(" ticks exit to resume, ", handler > fill ? handler - fill : 0, faults);
		printf(" in the fault handler (%llu ticks/s)\n", arch_counter_freq());
	}
	vm_destroy(&demo_vm);
	return rc;
}

static void row(const char *name, const struct demo_result *r, unsigned n,
		u64 (*get)(const struct demo_result *))
{
	printf("demo: | %-34s |", name);
	for (unsigned i = 0; i < n; i++)
		if (r[i].ran)
			printf(" %12llu |", get(&r[i]));
	printf("\n");
}

#define GETTER(name, expr)                                                                         \
	static u64 get_##name(const struct demo_result *r)                                         \
	{                                                                                          \
		return expr;                                                                       \
	}
GETTER(faults, r->faults)
GETTER(p50, r->p50)
GETTER(p99, r->p99)
GETTER(max, r->max)
GETTER(urgent, r->urgent)
GETTER(urgent_p50, r->urgent_p50)
GETTER(split4k, r->splits[0])
GETTER(split2m, r->splits[1])
GETTER(coll2m, r->collapses[0])
GETTER(coll1g, r->collapses[1])
GETTER(talloc, r->tables_allocated)
GETTER(tfreed, r->tables_freed)
GETTER(now, r->pt_bytes_now)
GETTER(peak, r->pt_bytes_peak)
GETTER(leaf, (u64)(r->leaf_level < 0 ? 0 : 1ULL << (12 + 9 * r->leaf_level)) >> 10)

static void demo_table(const struct demo_result *r, unsigned n)
{
	printf("demo: same guest, same source (%llu us per request, %llu MB/s), counter ticks at "
	       "%llu Hz\n",
	       link_latency_us(), link_mbytes_s(), arch_counter_freq());
	printf("demo: | %-34s |", "figure");
	for (unsigned i = 0; i < n; i++)
		if (r[i].ran)
			printf(" %12s |", unit_label[i]);
	printf("\ndemo: | ---------------------------------- |");
	for (unsigned i = 0; i < n; i++)
		if (r[i].ran)
			printf(" -----------: |");
	printf("\n");
	row("faults", r, n, get_faults);
	row("fault-to-resume p50 (ticks)", r, n, get_p50);
	row("fault-to-resume p99 (ticks)", r, n, get_p99);
	row("fault-to-resume max (ticks)", r, n, get_max);
	row("faults that sent a request", r, n, get_urgent);
	row("... their p50 (ticks)", r, n, get_urgent_p50);
	row("splits 2M->4K", r, n, get_split4k);
	row("splits 1G->2M", r, n, get_split2m);
	row("collapses 4K->2M", r, n, get_coll2m);
	row("collapses 2M->1G", r, n, get_coll1g);
	row("tables allocated", r, n, get_talloc);
	row("tables freed", r, n, get_tfreed);
	row("leaf after migration (KiB)", r, n, get_leaf);
	row("page-table bytes after discard", r, n, get_now);
	row("page-table bytes at peak", r, n, get_peak);
}

static void print_ratio(const char *what, u64 x, u64 y)
{
	if (x && y) {
		print_milli(what, y, x);
		printf("x");
	}
}

/*
 * Fault-to-resume latency per unit for the same source, each fault a request
 * of its own: the strided-touch guest (one page in each 1/64 of RAM), no mover.
 */
static int demo_latency(u64 mem)
{
	static struct demo_result r[3];
	int status = 0;

	printf("demo: ==== latency: strided touch, no mover, %llu us per request, %llu MB/s ====\n",
	       link_latency_us(), link_mbytes_s());
	for (unsigned u = POSTCOPY_UNIT_4K; u <= POSTCOPY_UNIT_1G; u++) {
		struct postcopy_config cfg =
			demo_config((enum postcopy_unit)u, link_latency_us(), link_mbytes_s());
		int rc = demo_prepare(&demo_vm, mem, &cfg);
		bool made = !rc;

		if (!rc)
			rc = demo_guest(&demo_vm, 0, TG_MODE_PATTERN_TOUCH, NULL);
		if (!rc) {
			record_faults(&r[u], &demo_vm);
			r[u].ran = true;
			r[u].mean = demo_vm.pc.stats.latency.sum / (r[u].faults ? r[u].faults : 1);
			printf("demo: latency %s: %llu faults, p50 %llu p99 %llu max %llu mean "
			       "%llu "
			       "ticks",
			       unit_label[u], r[u].faults, r[u].p50, r[u].p99, r[u].max, r[u].mean);
			if (u != POSTCOPY_UNIT_4K) {
				print_ratio(": p50 ", r[0].p50, r[u].p50);
				print_ratio(", mean ", r[0].mean, r[u].mean);
				printf(" HGM's");
			}
			printf("\n");
		} else {
			printf("demo: latency %s: failed: %s\n", unit_label[u], err_name(rc));
			status = 1;
		}
		if (made)
			vm_destroy(&demo_vm);
	}
	return status;
}

/* Prints "x / d" as a percentage with three decimals. */
static void print_percent(u64 x, u64 d)
{
	print_milli("", x * 100, d);
	printf("%%");
}

/*
 * Page-table reclaim: the guest reads every page in a scattered order
 * (TG_MODE_PATTERN_SCATTER) with no mover, so every 2M region is a 4K table
 * at once: the peak of a fully touched guest. The last arrivals collapse it
 * to leaves, then the guest discards all but its first 2 MiB. The tables
 * that map only guest RAM are counted by a walk (pt_count_tables); the rest,
 * the root and those above RAM, any mapping in the VM needs.
 */
static int demo_reclaim(u64 mem)
{
	struct postcopy_config cfg = demo_config(POSTCOPY_UNIT_4K, 0, 0);
	struct pgtable *pt = &demo_vm.pt;
	u64 above = 0, peak = 0, now;
	int rc = demo_prepare(&demo_vm, mem, &cfg);

	printf("demo: ==== reclaim: every page read in a scattered order, no mover, then a "
	       "discard ====\n");
	if (rc)
		return rc;
	rc = demo_guest(&demo_vm, 0, TG_MODE_PATTERN_SCATTER, NULL);
	if (!rc) {
		/* Whatever lies above RAM was there at the peak too. */
		above = pt->tables - pt_count_tables(pt, RAM_BASE, mem);
		peak = pt->tables_peak - above;
		printf("demo: reclaim: %llu faults; guest RAM's own tables at the peak %llu, then "
		       "%s "
		       "after the last page\n",
		       demo_vm.pc.stats.faults, peak, level_name(leaf_level(&demo_vm, RAM_BASE)));
		rc = demo_guest(&demo_vm, 1, TG_MODE_DISCARD_MOST, NULL);
	}
	if (!rc) {
		now = pt_count_tables(pt, RAM_BASE, mem);
		printf("demo: reclaim: discarded %llu of %llu MiB: guest RAM's own tables %llu of "
		       "peak "
		       "%llu, ",
		       demo_vm.reports[GRANULE_REPORT_BYTES_DISCARD] >> 20, mem >> 20, now, peak);
		print_percent(now, peak);
		printf("\ndemo: reclaim: the whole stage 2 (root of %u page(s) and %llu table(s) "
		       "above RAM): %llu of peak %llu bytes, ",
		       pt->fmt->root_pages, above - 1, pt_table_bytes(pt, pt->tables),
		       pt_table_bytes(pt, pt->tables_peak));
		print_percent(pt_table_bytes(pt, pt->tables), pt_table_bytes(pt, pt->tables_peak));
		printf("\n");
	}
	vm_destroy(&demo_vm);
	return rc;
}

/* Whether one demo VM of mem fits now; why says what it needs when not. */
static bool demo_fits(u64 mem, char *why, size_t len)
{
	return postcopy_fits(postcopy_slot_bytes(mem), false, why, len);
}

/*
 * The guest's size: demo_mem= as asked, or refused (ERR_NOMEM) when it does
 * not fit; by default 1 GiB, halved until it fits, saying so; ERR_NOTSUP
 * when not even DEMO_MEM_MIN does.
 */
static int demo_pick_mem(u64 *mem)
{
	char why[160], small[160];

	*mem = kopt.demo_mem ? kopt.demo_mem : DEMO_MEM_DEFAULT;
	if (demo_fits(*mem, why, sizeof(why)))
		return 0;
	if (kopt.demo_mem) {
		printf("demo: demo_mem=%lluM refused: a %llu MiB guest %s\n", *mem >> 20,
		       *mem >> 20, why);
		return ERR_NOMEM;
	}
	for (u64 try = *mem / 2; try >= DEMO_MEM_MIN; try /= 2) {
		if (demo_fits(try, small, sizeof(small))) {
			printf("demo: a %llu MiB guest does not fit (it %s); using %llu MiB\n",
			       *mem >> 20, why, try >> 20);
			*mem = try;
			return 0;
		}
	}
	printf("demo: no postcopy demo: even a %llu MiB guest %s\n", DEMO_MEM_MIN >> 20, small);
	return ERR_NOTSUP;
}

int demo_run(void)
{
	static struct demo_result results[3];
	const char *reason;
	u64 mem;
	int status = 0, rc;

	if (vm_tests_unavailable(&reason)) {
		printf("demo: no postcopy demo: %s\n", reason);
		return ERR_NOTSUP;
	}
	rc = demo_pick_mem(&mem);
	/* A request that cannot be met ends the run as failed; no demo at all is not a failure. */
	if (rc == ERR_NOMEM)
		return 1;
	if (rc)
		return rc;
	for (unsigned u = POSTCOPY_UNIT_4K; u <= POSTCOPY_UNIT_1G; u++) {
		bool wanted = kopt.demo_mode == DEMO_HGM + u ||
			      (kopt.demo_mode == DEMO_COMPARE && u != POSTCOPY_UNIT_1G);

		if (wanted && demo_mode_run((enum postcopy_unit)u, mem, &results[u]))
			status = 1;
	}
	demo_table(results, 3);
	if (kopt.demo_mode == DEMO_COMPARE &&
	    (demo_latency(mem) || demo_reclaim(mem) || demo_round_trip()))
		status = 1;
	printf("demo: %s\n", status ? "FAILED" : "done");
	return status;
}
