/* SPDX-License-Identifier: MIT */
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

#include "tests/host/harness.h"
#include "lib/panic.h"
#include "mm/grace.h"
#include "mm/kmap.h"
#include "mm/memmap.h"
#include "lib/ktap.h"
#include "mm/pmm.h"

static u8 *arena;
/* Per thread: each test thread is a simulated CPU with its own interrupt mask. */
static __thread bool irqs_on = true;
static __thread unsigned this_cpu;

/* ---- The fake arch: just enough of arch/arch.h for generic code ---- */
unsigned long arch_irq_save(void)
{
	unsigned long was = irqs_on;

	irqs_on = false;
	return was;
}

void arch_irq_restore(unsigned long flags)
{
	irqs_on = flags;
}

/*
 * Spinning threads give their CPU away: the stress test runs more threads
 * than the machine has cores, and a ticket lock or a grace period waits for
 * a thread that may not be running.
 */
void arch_cpu_relax(void)
{
	/* Under the interleaving explorer a spinner hands its turn to the scheduler instead. */
	if (host_yield_hook)
		host_yield_hook("spin", NULL);
	else
		sched_yield();
}

/* No cross-CPU calls on the host: a masked wait only relaxes (arch/arch.h). */
void cpu_wait_relax(void)
{
	arch_cpu_relax();
}

/* Set by the interleaving explorer (tests/host/explore.c) while it runs a schedule. */
void (*host_yield_hook)(const char *point, const void *addr);

/* Allocation failure injection for the engine's table pages (harness_fail_allocs()). */
static __thread u64 allocs_until_failure;

void harness_fail_allocs(u64 after)
{
	allocs_until_failure = after;
}

bool host_alloc_fails(void);
bool host_alloc_fails(void)
{
	if (!allocs_until_failure)
		return false;
	return --allocs_until_failure == 0 ? (allocs_until_failure = 1, true) : false;
}

void arch_pt_publish(void)
{
}

/* The host counter: nanoseconds, for the live-sequence statistics. */
u64 arch_counter_read(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (u64)ts.tv_sec * 1000000000ULL + (u64)ts.tv_nsec;
}

unsigned harness_bbm_level;

unsigned arch_pt_bbm_level(void)
{
	return harness_bbm_level;
}

/* Called between levels of lockless walks when set (tests/host/stress.c). */
void (*host_reader_pause)(void);

/* The grace-period slot of this thread (mm/grace.h): the main thread is CPU 0. */
unsigned grace_slot_id(void)
{
	return this_cpu;
}

/* Interrupt masks of the simulated CPUs the explorer switches between on one thread. */
static bool cpu_irqs_off[GRACE_SLOTS];

void harness_switch_cpu(unsigned cpu)
{
	cpu_irqs_off[this_cpu] = !irqs_on;
	this_cpu = cpu;
	irqs_on = !cpu_irqs_off[cpu];
}

bool harness_irqs_on(void)
{
	return irqs_on;
}

void harness_set_cpu(unsigned cpu)
{
	if (cpu >= GRACE_SLOTS) {
		fprintf(stderr, "harness: cpu %u beyond %u grace slots\n", cpu, GRACE_SLOTS);
		exit(2);
	}
	this_cpu = cpu;
}

/*
 * Freed table pages are filled with leaves pointing far outside the arena:
 * a reader that walks a table after it was freed (a grace-period bug) gets
 * a translation no test ever maps, and the stress test reports it. With the
 * quarantine on, freed tables also stay out of the allocator for a while
 * (first in, first out), so such a reader finds the poison, not a new table.
 */
#define QUARANTINE_PAGES 256
static struct {
	struct spinlock lock;
	bool on;
	unsigned head, count;
	u64 freed; /* table pages freed so far */
	paddr_t pages[QUARANTINE_PAGES];
} quarantine;

static void release_table_page(paddr_t table)
{
	__atomic_store_n(&pa_to_page(table)->state, PAGE_ALLOCATED_HEAD, __ATOMIC_RELAXED);
	pmm_free(table, 0);
}

bool host_table_freed(paddr_t table);
bool host_table_freed(paddr_t table)
{
	u64 *e = phys_to_virt(table);
	paddr_t evicted = pa_init(0);
	bool kept;

	for (unsigned i = 0; i < PT_ENTRIES; i++)
		__atomic_store_n(&e[i], HOST_POISON_ENTRY, __ATOMIC_RELAXED);
	spin_lock(&quarantine.lock);
	quarantine.freed++;
	kept = quarantine.on;
	if (kept && quarantine.count == QUARANTINE_PAGES) {
		/* Full: the oldest leaves, the new page takes its slot and becomes the newest. */
		evicted = quarantine.pages[quarantine.head];
		quarantine.pages[quarantine.head] = table;
		quarantine.head = (quarantine.head + 1) % QUARANTINE_PAGES;
	} else if (kept) {
		quarantine.pages[(quarantine.head + quarantine.count++) % QUARANTINE_PAGES] = table;
	}
	spin_unlock(&quarantine.lock);
	if (pa_addr(evicted))
		release_table_page(evicted);
	return kept;
}

u64 harness_tables_freed(void)
{
	return __atomic_load_n(&quarantine.freed, __ATOMIC_RELAXED);
}

void harness_quarantine(bool on)
{
	spin_lock(&quarantine.lock);
	quarantine.on = on;
	while (quarantine.count) {
		release_table_page(quarantine.pages[quarantine.head]);
		quarantine.head = (quarantine.head + 1) % QUARANTINE_PAGES;
		quarantine.count--;
	}
	spin_unlock(&quarantine.lock);
}

/* phys_to_virt() is kmap.h's inline: the arena is the "direct map". */
u64 kmap_ram_offset;

bool kmap_active(void)
{
	return true;
}

/* The kernel would stop; a host test aborts, which the runner counts as a failure. */
static __noreturn void die(const char *prefix, const char *fmt, va_list ap)
{
	fprintf(stdout, "%s: ", prefix);
	vfprintf(stdout, fmt, ap);
	fprintf(stdout, "\n");
	fflush(stdout);
	abort();
}

__noreturn void panic(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	die("PANIC", fmt, ap);
}

__noreturn void boot_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	die("boot failed", fmt, ap);
}

/* ---- Memory ---- */
void harness_reset_memory(void)
{
	static struct boot_info bi;

	if (arena)
		munmap(arena, ARENA_SIZE);
	arena = mmap(NULL, ARENA_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (arena == MAP_FAILED) {
		perror("mmap arena");
		exit(2);
	}
	kmap_ram_offset = (u64)(uintptr_t)arena - ARENA_PA;
	bi = (struct boot_info){.identity_limit = ~0ULL, .nr_ranges = 1};
	bi.ranges[0] = (struct mem_range){ARENA_PA, ARENA_SIZE, MEM_USABLE};
	char why[128];

	if (memmap_build(&kernel_memmap, bi.ranges, 1, NULL, 0, why, sizeof(why))) {
		fprintf(stderr, "arena memmap: %s\n", why);
		exit(2);
	}
	pmm_init(&bi);
}

/* ---- The invariant walk: counts exact, table count exact ---- */

/* Recursively checks counts; returns the number of table pages below and including table. */
static u64 check_table(const struct pgtable *pt, paddr_t table, unsigned level, bool *ok)
{
	const u64 *e = phys_to_virt(table);
	unsigned n = level == pt->fmt->levels - 1 ? PT_ENTRIES * pt->fmt->root_pages : PT_ENTRIES;
	unsigned valid = 0;
	u64 tables = 1;

	for (unsigned i = 0; i < n; i++) {
		if (!pt_entry_valid(pt->fmt, e[i]))
			continue;
		valid++;
		if (pt_entry_is_table(pt->fmt, e[i], level))
			tables += check_table(pt, pt_entry_pa(pt->fmt, e[i]), level - 1, ok);
	}
	if (pa_to_page(table)->pt_valid != valid || pa_to_page(table)->state != PAGE_TABLE) {
		ktap_diag("table 0x%llx level %u: count %u, valid entries %u, state %u",
			  (unsigned long long)pa_addr(table), level, pa_to_page(table)->pt_valid,
			  valid, pa_to_page(table)->state);
		*ok = false;
	}
	return tables;
}

bool harness_pt_invariants(const struct pgtable *pt)
{
	bool ok = true;
	u64 tables = check_table(pt, pt->root, pt->fmt->levels - 1, &ok);

	if (tables != pt->tables) {
		ktap_diag("tree has %llu table pages, engine counts %llu",
			  (unsigned long long)tables, (unsigned long long)pt->tables);
		ok = false;
	}
	return ok;
}

/* ---- A counting regime ---- */
struct host_tlb_stats host_tlb;

static void host_flush_range(const struct pgtable *pt, u64 va, u64 size, unsigned level)
{
	__atomic_fetch_add(&host_tlb.range_flushes, 1, __ATOMIC_RELAXED);
}

static void host_flush_all(const struct pgtable *pt)
{
	__atomic_fetch_add(&host_tlb.full_flushes, 1, __ATOMIC_RELAXED);
}

static void host_publish(const struct pgtable *pt)
{
	__atomic_fetch_add(&host_tlb.publishes, 1, __ATOMIC_RELAXED);
}

const struct pt_regime host_regime = {
	.name = "host model",
	.flush_range = host_flush_range,
	.flush_all = host_flush_all,
	.publish = host_publish,
};
