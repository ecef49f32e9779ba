/* SPDX-License-Identifier: MIT */
/*
 * The workloads of issue 4 on one vCPU, printed as KTAP (the kernel's format, lib/ktap.c):
 * ABI checks, newlib sanity, sequential touch, random touch, every byte verified against the
 * pattern (vmm/pattern.h), a check that the verifier sees one wrong byte, and discard followed
 * by refault and verification.
 *
 * The arena is guest RAM from the first 2 MiB boundary after the heap to the end of RAM. The
 * guest only ever stores the pattern's own values there, so its content is the pattern at all
 * times, whether a page came from the VMM's source, was written back, or was discarded and
 * fetched again.
 */
#include "tests/guests/guest.h"
#include "vmm/hypercall.h"
#include "vmm/pattern.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t arena_start, arena_end, arena_pages;
static unsigned case_failures;
static const char *case_skip;

#define EXPECT(cond) expect((cond), __LINE__, #cond)

static void expect(bool ok, int line, const char *what)
{
	if (ok)
		return;
	case_failures++;
	printf("        # main.c:%d: expectation failed: %s\n", line, what);
}

__attribute__((format(printf, 1, 2))) static void diag(const char *fmt, ...)
{
	va_list ap;

	printf("        # ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static void report(uint64_t key, uint64_t value)
{
	EXPECT(guest_hc(GRANULE_HC_REPORT, key, value, 0) == 0);
}

static volatile uint64_t *word_at(uint64_t gpa)
{
	return (volatile uint64_t *)(uintptr_t)gpa; /* identity-mapped: VA == GPA */
}

/* ---- ABI ---- */
static void case_abi_version(void)
{
	int64_t v = guest_hc(GRANULE_HC_VERSION, 0, 0, 0);

	EXPECT(v == GRANULE_ABI_VERSION);
	diag("ABI version %lld.%lld", (long long)(v >> 16), (long long)(v & 0xffff));
}

/* Every error of docs/hypercalls.md, and the empty ranges that are not errors. */
static void case_abi_errors(void)
{
	static const char msg[] = "";
	uint64_t page = arena_start, end = guest_boot.ram_end;
	uint64_t text = (uint64_t)(uintptr_t)msg;

	EXPECT(guest_hc(GRANULE_HC_COUNT, 0, 0, 0) == GRANULE_E_NOSYS);
	EXPECT(guest_hc(~0ULL, 0, 0, 0) == GRANULE_E_NOSYS);
	EXPECT(guest_hc(GRANULE_HC_DISCARD, page + 8, GUEST_PAGE_SIZE, 0) == GRANULE_E_INVAL);
	EXPECT(guest_hc(GRANULE_HC_DISCARD, page, 100, 0) == GRANULE_E_INVAL);
	EXPECT(guest_hc(GRANULE_HC_DISCARD, end, GUEST_PAGE_SIZE, 0) == GRANULE_E_RANGE);
	EXPECT(guest_hc(GRANULE_HC_DISCARD, end - GUEST_PAGE_SIZE, 2 * GUEST_PAGE_SIZE, 0) ==
	       GRANULE_E_RANGE);
	EXPECT(guest_hc(GRANULE_HC_DISCARD, page, -GUEST_PAGE_SIZE, 0) == GRANULE_E_RANGE);
	EXPECT(guest_hc(GRANULE_HC_DISCARD, page, 0, 0) == 0);
	EXPECT(guest_hc(GRANULE_HC_CONSOLE_WRITE, text, GRANULE_CONSOLE_MAX + 1, 0) ==
	       GRANULE_E_INVAL);
	EXPECT(guest_hc(GRANULE_HC_CONSOLE_WRITE, end, 1, 0) == GRANULE_E_RANGE);
	EXPECT(guest_hc(GRANULE_HC_CONSOLE_WRITE, text, 0, 0) == 0);
	EXPECT(guest_hc(GRANULE_HC_REPORT, GRANULE_REPORT_KEY_MAX, 0, 0) == GRANULE_E_INVAL);
	EXPECT(guest_hc(GRANULE_HC_REPORT, GRANULE_REPORT_PHASE, 2, 0) == 0);
}

/* ---- newlib ---- */
static void case_libc(void)
{
	char buf[64];
	void *blocks[64];
	unsigned bad = 0;

	snprintf(buf, sizeof(buf), "%d-%s-%llx-%.2f", 42, "ok", 0xdeadbeefULL, 1.5);
	EXPECT(strcmp(buf, "42-ok-deadbeef-1.50") == 0);
	EXPECT(strtoul("0x1000", NULL, 0) == 4096);
	for (unsigned i = 0; i < 64; i++) {
		blocks[i] = malloc(i * 1000 + 1);
		EXPECT(blocks[i] != NULL);
		if (blocks[i])
			memset(blocks[i], (int)i, i * 1000 + 1);
	}
	for (unsigned i = 0; i < 64; i++) {
		const unsigned char *p = blocks[i];

		for (unsigned j = 0; p && j < i * 1000 + 1; j++)
			bad += p[j] != i;
		free(blocks[i]);
	}
	EXPECT(bad == 0);
	/* More than the heap holds: _sbrk refuses, malloc says so instead of overrunning. */
	errno = 0;
	EXPECT(malloc(GUEST_HEAP_SIZE * 2) == NULL);
	EXPECT(errno == ENOMEM);
}

/* ---- memory workloads ---- */
static void case_fill(void)
{
	uint64_t t0 = arch_ticks();

	if (!guest_backend_bare) {
		case_skip = "the VMM's page source provides the pattern";
		return;
	}
	for (uint64_t p = arena_start; p < arena_end; p += GUEST_PAGE_SIZE)
		granule_pattern_fill((void *)(uintptr_t)p, p, GUEST_PAGE_SIZE, guest_boot.seed);
	diag("%llu pages filled in %llu ticks", (unsigned long long)arena_pages,
	     (unsigned long long)(arch_ticks() - t0));
}

/* One word of a page against the pattern; the first few mismatches are named. */
static bool check_word(uint64_t gpa, unsigned *mismatches)
{
	uint64_t got = *word_at(gpa), want = granule_pattern_word(gpa, guest_boot.seed);

	if (got == want)
		return true;
	if ((*mismatches)++ < 4)
		diag("gpa 0x%llx: 0x%016llx, pattern 0x%016llx", (unsigned long long)gpa,
		     (unsigned long long)got, (unsigned long long)want);
	return false;
}

static void case_seq_touch(void)
{
	unsigned mismatches = 0;
	uint64_t t0 = arch_ticks();

	for (uint64_t p = arena_start; p < arena_end; p += GUEST_PAGE_SIZE)
		check_word(p, &mismatches);
	EXPECT(mismatches == 0);
	diag("%llu pages read in order in %llu ticks", (unsigned long long)arena_pages,
	     (unsigned long long)(arch_ticks() - t0));
	report(GRANULE_REPORT_PAGES_TOUCHED, arena_pages);
}

/*
 * Every page once, in a pseudo-random order: an LCG modulo the next power of two m >= pages,
 * skipping values >= pages. c odd and a = 1 mod 4 give the LCG full period m (Hull-Dobell,
 * Knuth TAOCP vol. 2, 3.2.1.2, theorem A), so each page comes exactly once.
 */
static void case_random_touch(void)
{
	uint64_t m = 1, x, a, c, seen = 0, t0 = arch_ticks();
	unsigned mismatches = 0;
	unsigned char *visited = calloc(arena_pages / 8 + 1, 1);

	EXPECT(visited != NULL);
	if (!visited)
		return;
	while (m < arena_pages)
		m <<= 1;
	a = 0x5851f42d4c957f2dULL & (m - 1); /* = 1 mod 4 */
	c = (granule_pattern_mix(guest_boot.seed) | 1) & (m - 1);
	x = guest_boot.seed & (m - 1);
	for (uint64_t i = 0; i < arena_pages; i++) {
		uint64_t page, gpa;

		do
			x = (a * x + c) & (m - 1);
		while (x >= arena_pages);
		page = arena_start + x * GUEST_PAGE_SIZE;
		gpa = page + (granule_pattern_mix(x ^ guest_boot.seed) & 511) * 8;
		if (check_word(gpa, &mismatches))
			*word_at(gpa) = granule_pattern_word(gpa, guest_boot.seed); /* dirty it */
		seen += !(visited[x / 8] & (1u << (x % 8)));
		visited[x / 8] |= (unsigned char)(1u << (x % 8));
	}
	free(visited);
	EXPECT(mismatches == 0);
	EXPECT(seen == arena_pages);
	diag("%llu pages read and written in random order in %llu ticks", (unsigned long long)seen,
	     (unsigned long long)(arch_ticks() - t0));
	report(GRANULE_REPORT_PAGES_TOUCHED, seen);
}

/*
 * Every byte of the arena compared with memcmp against a page built from the pattern; returns
 * how many differ, naming the first few unless quiet.
 */
static uint64_t arena_mismatches(bool quiet)
{
	uint64_t *want = malloc(GUEST_PAGE_SIZE), bad_bytes = 0, bad_pages = 0, t0 = arch_ticks();

	EXPECT(want != NULL);
	if (!want)
		return ~0ULL;
	for (uint64_t p = arena_start; p < arena_end; p += GUEST_PAGE_SIZE) {
		const unsigned char *got = (const unsigned char *)(uintptr_t)p;
		const unsigned char *exp = (const unsigned char *)want;

		granule_pattern_fill(want, p, GUEST_PAGE_SIZE, guest_boot.seed);
		if (!memcmp(got, want, GUEST_PAGE_SIZE))
			continue;
		for (unsigned i = 0; i < GUEST_PAGE_SIZE; i++) {
			if (got[i] == exp[i])
				continue;
			if (bad_bytes < 4 && !quiet)
				diag("gpa 0x%llx: byte 0x%02x, pattern 0x%02x",
				     (unsigned long long)(p + i), got[i], exp[i]);
			bad_bytes++;
		}
		bad_pages++;
	}
	free(want);
	diag("%llu bytes verified in %llu ticks: %llu bytes in %llu pages differ",
	     (unsigned long long)(arena_end - arena_start), (unsigned long long)(arch_ticks() - t0),
	     (unsigned long long)bad_bytes, (unsigned long long)bad_pages);
	return bad_bytes;
}

static void verify_arena(void)
{
	uint64_t bad = arena_mismatches(false);

	EXPECT(bad == 0);
	report(GRANULE_REPORT_BYTES_VERIFIED, arena_end - arena_start);
	report(GRANULE_REPORT_MISMATCHES, bad);
}

static void case_verify_all(void)
{
	verify_arena();
}

/* The verifier itself: one flipped byte (then put back) must be exactly one mismatch. */
static void case_verify_detects(void)
{
	uint64_t gpa =
		arena_start + (granule_pattern_mix(guest_boot.seed) % (arena_end - arena_start));
	volatile uint8_t *b = (volatile uint8_t *)(uintptr_t)gpa;

	*b = (uint8_t)~granule_pattern_byte(gpa, guest_boot.seed);
	EXPECT(arena_mismatches(true) == 1);
	*b = granule_pattern_byte(gpa, guest_boot.seed);
}

/* Discard every other 2 MiB of the arena, then read it all again: refaults bring it back. */
static void case_discard_refault(void)
{
	uint64_t discarded = 0;

	for (uint64_t p = arena_start; p + GUEST_SZ_2M <= arena_end; p += 2 * GUEST_SZ_2M) {
		EXPECT(guest_hc(GRANULE_HC_DISCARD, p, GUEST_SZ_2M, 0) == 0);
		discarded += GUEST_SZ_2M;
	}
	diag("%llu bytes discarded", (unsigned long long)discarded);
	report(GRANULE_REPORT_BYTES_DISCARD, discarded);
	verify_arena();
}

/* ---- several vCPUs ---- */

/* PSCI (Arm DEN 0022D): AFFINITY_INFO and its OFF result; the VMM takes it over its hypercall. */
#define PSCI_AFFINITY_INFO 0x84000004ULL
#define PSCI_AFF_OFF	   1
#define SMP_STACK	   16384
#define SMP_SHARED	   GUEST_SZ_2M /* every vCPU touches the arena's first 2 MiB */

static struct guest_cpu smp_cpus[GUEST_MAX_VCPUS];
static uint8_t smp_stacks[GUEST_MAX_VCPUS][SMP_STACK] __attribute__((aligned(16)));
static uint64_t smp_mismatches[GUEST_MAX_VCPUS], smp_pages[GUEST_MAX_VCPUS];
static unsigned smp_nr, smp_done;

/* Every word of the page at p against the pattern; counts the words that differ. No stdio. */
static uint64_t page_mismatches(uint64_t p)
{
	uint64_t bad = 0;

	for (uint64_t a = p; a < p + GUEST_PAGE_SIZE; a += 8)
		bad += *word_at(a) != granule_pattern_word(a, guest_boot.seed);
	return bad;
}

/*
 * vCPU i's share: its own slice of the arena after the shared range (one word checked and
 * written back per page: the page becomes dirty, its content does not change), then every
 * word of the shared range, starting at its own offset into it so that the vCPUs meet on pages
 * none has yet. Secondaries run this too: no malloc, no stdio.
 */
static void smp_touch(unsigned i)
{
	uint64_t start = arena_start + SMP_SHARED, span = (arena_end - start) / smp_nr;
	uint64_t lo = guest_align_down(start + i * span, GUEST_PAGE_SIZE);
	uint64_t hi = i + 1 == smp_nr ? arena_end : guest_align_down(lo + span, GUEST_PAGE_SIZE);
	uint64_t shared_pages = SMP_SHARED / GUEST_PAGE_SIZE, bad = 0, pages = 0;

	for (uint64_t p = lo; p < hi; p += GUEST_PAGE_SIZE, pages++) {
		uint64_t gpa = p + (granule_pattern_mix(p) & 511) * 8;

		if (*word_at(gpa) != granule_pattern_word(gpa, guest_boot.seed))
			bad++;
		else
			*word_at(gpa) = granule_pattern_word(gpa, guest_boot.seed);
	}
	for (uint64_t k = 0; k < shared_pages; k++, pages++)
		bad += page_mismatches(arena_start +
				       ((k + i * shared_pages / smp_nr) % shared_pages) *
					       GUEST_PAGE_SIZE);
	smp_mismatches[i] = bad;
	smp_pages[i] = pages;
}

static void smp_secondary(struct guest_cpu *cpu)
{
	smp_touch(cpu->index);
	__atomic_fetch_add(&smp_done, 1, __ATOMIC_RELEASE);
}

static int64_t smp_start(unsigned i)
{
	smp_cpus[i] = (struct guest_cpu){.stack_top = (uint64_t)(uintptr_t)(smp_stacks[i + 1]),
					 .index = i,
					 .fn = smp_secondary};
	return arch_start_cpu(i, &smp_cpus[i]);
}

/* Waits for the secondaries' work, then for PSCI to show each of them OFF. */
static bool smp_wait(void)
{
	uint64_t spins = 0;

	while (__atomic_load_n(&smp_done, __ATOMIC_ACQUIRE) != smp_nr - 1)
		if (++spins > (1ULL << 36))
			return false;
	for (unsigned i = 1; i < smp_nr; i++)
		while (guest_hc(PSCI_AFFINITY_INFO, i, 0, 0) != PSCI_AFF_OFF)
			if (++spins > (1ULL << 36))
				return false;
	return true;
}

/*
 * Several vCPUs (docs/hypercalls.md, "Several vCPUs"): the arena is discarded first so that
 * every page faults again, then each vCPU touches its disjoint slice and all of them the shared
 * range at once; each counts the words that differ from the pattern.
 */
static void case_smp_touch(void)
{
	uint64_t bad = 0, pages = 0, t0 = arch_ticks();

	smp_nr = guest_boot.nr_vcpus;
	if (guest_backend_bare || smp_nr < 2) {
		case_skip = guest_backend_bare ? "bare backend: one vCPU" : "the VMM gave one vCPU";
		return;
	}
	EXPECT(guest_hc(GRANULE_HC_DISCARD, arena_start, arena_end - arena_start, 0) == 0);
	EXPECT(arch_start_cpu(smp_nr, &smp_cpus[0]) < 0); /* no such vCPU */
	for (unsigned i = 1; i < smp_nr; i++)
		EXPECT(smp_start(i) == 0);
	EXPECT(smp_start(1) < 0); /* already on */
	smp_touch(0);
	EXPECT(smp_wait());
	for (unsigned i = 0; i < smp_nr; i++) {
		bad += smp_mismatches[i];
		pages += smp_pages[i];
	}
	EXPECT(bad == 0);
	EXPECT(pages == arena_pages - SMP_SHARED / GUEST_PAGE_SIZE +
				smp_nr * (SMP_SHARED / GUEST_PAGE_SIZE));
	diag("%u vCPUs touched %llu pages (a 2 MiB range shared by all) in %llu ticks, %llu words "
	     "differ",
	     smp_nr, (unsigned long long)pages, (unsigned long long)(arch_ticks() - t0),
	     (unsigned long long)bad);
	report(GRANULE_REPORT_VCPUS, smp_nr);
}

struct guest_case {
	const char *name;
	void (*run)(void);
};

static const struct guest_case cases[] = {
	{"abi_version", case_abi_version},
	{"abi_errors", case_abi_errors},
	{"libc", case_libc},
	{"fill", case_fill},
	{"seq_touch", case_seq_touch},
	{"random_touch", case_random_touch},
	{"verify_all", case_verify_all},
	{"verify_detects", case_verify_detects},
	{"discard_refault", case_discard_refault},
	{"smp_touch", case_smp_touch},
};

#define NR_CASES (sizeof(cases) / sizeof(cases[0]))

int guest_main(void)
{
	unsigned failed = 0;

	arena_start = guest_align_up(guest_heap_end, GUEST_SZ_2M);
	arena_end = guest_align_down(guest_boot.ram_end, GUEST_PAGE_SIZE);
	arena_pages = (arena_end - arena_start) / GUEST_PAGE_SIZE;
	printf("guest: %s backend, RAM [0x%llx, 0x%llx), arena [0x%llx, 0x%llx) %llu MiB, "
	       "seed 0x%llx\n",
	       guest_backend_name, (unsigned long long)guest_boot.ram_base,
	       (unsigned long long)guest_boot.ram_end, (unsigned long long)arena_start,
	       (unsigned long long)arena_end, (unsigned long long)((arena_end - arena_start) >> 20),
	       (unsigned long long)guest_boot.seed);
	printf("KTAP version 1\n1..1\n");
	printf("    KTAP version 1\n    # Subtest: guest_%s\n    1..%u\n", guest_backend_name,
	       (unsigned)NR_CASES);
	for (unsigned i = 0; i < NR_CASES; i++) {
		case_failures = 0;
		case_skip = NULL;
		report(GRANULE_REPORT_PHASE, i + 1);
		cases[i].run();
		if (case_skip) {
			printf("    ok %u %s # SKIP %s\n", i + 1, cases[i].name, case_skip);
			continue;
		}
		printf("    %s %u %s\n", case_failures ? "not ok" : "ok", i + 1, cases[i].name);
		failed += case_failures != 0;
	}
	printf("%s 1 guest_%s\n", failed ? "not ok" : "ok", guest_backend_name);
	printf("granule: exit %d\n", failed ? 1 : 0);
	return failed ? 1 : 0;
}
