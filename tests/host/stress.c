/* SPDX-License-Identifier: MIT */
/*
 * Multithreaded stress of the page-table engine (pthreads, one simulated CPU
 * per thread, host regime):
 *  - faulters map and unmap single 4K pages in 2M ranges of their own, all
 *    below one shared level-1 table (compare-and-swap installs race there,
 *    and so do reclaims of their emptied level-0 tables);
 *  - on one shared range, other threads map 4K pages and 2M blocks, split,
 *    collapse, protect, unmap and reclaim, all at once;
 *  - readers translate random addresses without locks the whole time.
 * Every mapping anyone makes sends va to pa_of(va), so any translation with
 * another output address is garbage: a table read after it was freed (freed
 * tables are poisoned, tests/host/harness.c) or a torn update. At the end:
 * each faulter's pages are mapped exactly as it left them (no lost update),
 * the invariant walk holds (counts exact), and after teardown the allocator
 * is back at its baseline (no table leaked or freed twice).
 *
 * Usage: stress [milliseconds per format]; prints KTAP. Built plain for
 * make test-host and make stress, and with ASan or TSan (make stress-asan,
 * make stress-tsan).
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "tests/host/harness.h"
#include "mm/pmm.h"

#define VA_BASE		   0x0000008000000000ULL /* a fresh 512G slot: every level is built */
#define PA_BASE		   0x0000000100000000ULL
#define PRIVATE_BASE	   VA_BASE	      /* faulters' ranges: the first 1G */
#define SHARED_BASE	   (VA_BASE + GiB(1)) /* everyone's range: the next 1G */
#define SHARED_SIZE	   MiB(16)
#define FAULTERS	   3
#define RANGES_PER_FAULTER 4
#define PRIVATE_PAGES	   (RANGES_PER_FAULTER * 512)
#define READERS		   2

static const struct pt_attrs rw = {PT_READ | PT_WRITE, PT_MEM_NORMAL};
static const struct pt_attrs ro = {PT_READ, PT_MEM_NORMAL};

static struct pgtable pt;
static bool stop;
static unsigned errors;

struct worker {
	pthread_t thread;
	unsigned cpu;
	u64 rng;
	u64 ops;
	unsigned index;		  /* faulter number */
	u8 mapped[PRIVATE_PAGES]; /* faulters: what each of their pages should be */
};

static u64 pa_of(u64 va)
{
	return va - VA_BASE + PA_BASE;
}

static u64 next_random(struct worker *w)
{
	w->rng ^= w->rng << 13;
	w->rng ^= w->rng >> 7;
	w->rng ^= w->rng << 17;
	return w->rng;
}

static bool stopped(void)
{
	return __atomic_load_n(&stop, __ATOMIC_RELAXED);
}

static void error(const char *what, u64 va, long long detail)
{
	if (__atomic_fetch_add(&errors, 1, __ATOMIC_RELAXED) < 8)
		ktap_diag("%s at 0x%llx (%lld)", what, (unsigned long long)va, detail);
}

static void expect_ok(int rc, const char *op, u64 va)
{
	if (rc)
		error(op, va, rc);
}

/* Faulter n's page i: 2M ranges interleaved with the other faulters'. */
static u64 private_va(unsigned n, unsigned i)
{
	return PRIVATE_BASE + MiB(2) * ((i / 512) * FAULTERS + n) + KiB(4) * (i % 512);
}

static void *faulter(void *arg)
{
	struct worker *w = arg;

	harness_set_cpu(w->cpu);
	while (!stopped()) {
		unsigned i = (unsigned)(next_random(w) % PRIVATE_PAGES);
		u64 va = private_va(w->index, i);

		/* Mostly faults; the unmaps empty whole tables now and then. */
		if (next_random(w) % 4) {
			expect_ok(pt_map(&pt, va, pa_init(pa_of(va)), KiB(4), rw, 0), "fault", va);
			w->mapped[i] = 1;
		} else {
			expect_ok(pt_unmap(&pt, va, KiB(4)), "unmap 4K", va);
			w->mapped[i] = 0;
		}
		w->ops++;
	}
	return NULL;
}

static u64 shared_chunk(struct worker *w)
{
	return SHARED_BASE + MiB(2) * (next_random(w) % (SHARED_SIZE / MiB(2)));
}

/* Maps into the shared range: single pages (faults) and whole 2M blocks. */
static void *shared_mapper(void *arg)
{
	struct worker *w = arg;

	harness_set_cpu(w->cpu);
	while (!stopped()) {
		u64 chunk = shared_chunk(w);
		u64 va = chunk + KiB(4) * (next_random(w) % 512);

		if (next_random(w) % 8)
			expect_ok(pt_map(&pt, va, pa_init(pa_of(va)), KiB(4), rw, 0),
				  "shared fault", va);
		else
			expect_ok(pt_map(&pt, chunk, pa_init(pa_of(chunk)), MiB(2), rw, 0),
				  "shared 2M map", chunk);
		w->ops++;
	}
	return NULL;
}

/* Splits, collapses and protects in the shared range. */
static void *shared_reshaper(void *arg)
{
	struct worker *w = arg;

	harness_set_cpu(w->cpu);
	while (!stopped()) {
		u64 chunk = shared_chunk(w);

		switch (next_random(w) % 4) {
		case 0: expect_ok(pt_split(&pt, chunk, MiB(2), 0), "split", chunk); break;
		case 1: expect_ok(pt_collapse(&pt, chunk, MiB(2)), "collapse", chunk); break;
		case 2:
			expect_ok(pt_protect(&pt, chunk, MiB(2), next_random(w) % 2 ? rw : ro),
				  "protect", chunk);
			break;
		default:
			/* Refill a whole chunk with 4K pages, so collapse has runs to find. */
			expect_ok(pt_map(&pt, chunk, pa_init(pa_of(chunk)), MiB(2), rw,
					 PT_MAP_MAX_LEVEL(0)),
				  "refill 4K", chunk);
			break;
		}
		w->ops++;
	}
	return NULL;
}

/* Unmaps pieces of the shared range (reclaiming tables) and scans for empty ones. */
static void *shared_unmapper(void *arg)
{
	struct worker *w = arg;

	harness_set_cpu(w->cpu);
	while (!stopped()) {
		u64 va = shared_chunk(w) + KiB(4) * (next_random(w) % 512);
		u64 size = KiB(4) << (next_random(w) % 11); /* 4K .. 4M */

		size = MIN(size, SHARED_BASE + SHARED_SIZE - va);
		if (next_random(w) % 16)
			expect_ok(pt_unmap(&pt, va, size), "shared unmap", va);
		else
			expect_ok(pt_reclaim_scan(&pt, SHARED_BASE, SHARED_SIZE), "reclaim scan",
				  SHARED_BASE);
		w->ops++;
	}
	return NULL;
}

extern void (*host_reader_pause)(void);

/* Now and then a reader loses its CPU between two levels of a walk. */
static void reader_yield(void)
{
	static __thread unsigned calls;

	if (++calls % 8 == 0)
		sched_yield();
}

/* Lockless translations: never anything but the one translation everybody maps. */
static void *reader(void *arg)
{
	struct worker *w = arg;

	harness_set_cpu(w->cpu);
	while (!stopped()) {
		u64 r = next_random(w);
		u64 va = (r & 1 ? SHARED_BASE + (r >> 1) % SHARED_SIZE
				: private_va((unsigned)((r >> 1) % FAULTERS),
					     (unsigned)((r >> 3) % PRIVATE_PAGES))) &
			 ~(KiB(4) - 1);
		struct pt_translation t;

		if (pt_translate(&pt, va, &t)) {
			if (pa_addr(t.pa) != pa_of(va))
				error("translation to a foreign address", va,
				      (long long)pa_addr(t.pa));
			else if (t.level > 1 || t.attrs.memtype != PT_MEM_NORMAL)
				error("translation with wrong level or type", va, t.level);
		}
		w->ops++;
	}
	return NULL;
}

/* Every faulter page is mapped exactly when its owner last mapped it. */
static void check_private_pages(struct worker *faulters)
{
	for (unsigned n = 0; n < FAULTERS; n++) {
		for (unsigned i = 0; i < PRIVATE_PAGES; i++) {
			u64 va = private_va(n, i);
			struct pt_translation t;
			bool present = pt_translate(&pt, va, &t);

			if (present != faulters[n].mapped[i])
				error(present ? "page mapped after its unmap" : "lost fault", va,
				      n);
			else if (present && pa_addr(t.pa) != pa_of(va))
				error("faulted page maps elsewhere", va, (long long)pa_addr(t.pa));
		}
	}
}

static unsigned run_ms = 1000;

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static void stress_format(const struct pt_format *fmt)
{
	/* Threads by role, in this order: the faulters, the shared range's three, the readers. */
	void *(*const roles[])(void *) = {shared_mapper, shared_reshaper, shared_unmapper};
	static struct worker workers[FAULTERS + ARRAY_SIZE(roles) + READERS];
	unsigned nr = 0;
	u64 free0, ops = 0, freed0 = harness_tables_freed();

	harness_reset_memory();
	errors = 0;
	stop = false;
	free0 = pmm_free_bytes();
	EXPECT_EQ(pt_init(&pt, fmt, &host_regime), 0);
	host_reader_pause = reader_yield;
	harness_quarantine(true);
	for (unsigned i = 0; i < ARRAY_SIZE(workers); i++) {
		struct worker *w = &workers[i];
		void *(*fn)(void *) = reader;

		if (i < FAULTERS)
			fn = faulter;
		else if (i < FAULTERS + ARRAY_SIZE(roles))
			fn = roles[i - FAULTERS];

		*w = (struct worker){
			.cpu = i + 1, .rng = 0x9e3779b97f4a7c15ULL * (i + 1), .index = i};
		if (pthread_create(&w->thread, NULL, fn, w)) {
			ktap_diag("pthread_create failed");
			EXPECT(false);
			break;
		}
		nr++;
	}
	sleep_ms(run_ms);
	__atomic_store_n(&stop, true, __ATOMIC_RELAXED);
	for (unsigned i = 0; i < nr; i++) {
		pthread_join(workers[i].thread, NULL);
		ops += workers[i].ops;
	}
	host_reader_pause = NULL;
	ktap_diag("%s: %u threads, %llu operations in %u ms, %llu tables freed, %llu at peak",
		  fmt->name, nr, (unsigned long long)ops, run_ms,
		  (unsigned long long)(harness_tables_freed() - freed0),
		  (unsigned long long)pt.tables_peak);
	check_private_pages(workers);
	EXPECT(harness_pt_invariants(&pt));
	EXPECT_EQ(errors, 0);
	pt_destroy(&pt);
	harness_quarantine(false);
	EXPECT_EQ(pt.tables, 0);
	EXPECT_EQ(pmm_free_bytes(), free0);
}

static void test_stress_arm64_s1(void)
{
	stress_format(&arm64_s1_el2_format);
}

static void test_stress_x86_64_4level(void)
{
	stress_format(&x86_64_4level_format);
}

KTAP_SUITE(suite_host_stress, "host-stress", KTAP_CASE(test_stress_arm64_s1),
	   KTAP_CASE(test_stress_x86_64_4level));

static bool all(const struct ktap_suite *s)
{
	return true;
}

int main(int argc, char **argv)
{
	static const struct ktap_suite *const suites[] = {&suite_host_stress};

	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc > 1)
		run_ms = (unsigned)strtoul(argv[1], NULL, 0);
	return ktap_run(suites, ARRAY_SIZE(suites), all) ? 1 : 0;
}
