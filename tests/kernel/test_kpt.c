/* SPDX-License-Identifier: MIT */
/*
 * The kernel's own stage-1 tables, checked two ways: by reading the tables
 * back through the engine, and by deliberate accesses that must fault.
 */
#include "arch/arch.h"
#include "kernel/percpu.h"
#include "kernel/smp.h"
#include "kernel/stack.h"
#include "lib/ktap.h"
#include "lib/string.h"
#include "mm/kernel_image.h"
#include "mm/kmap.h"
#include "mm/pgtable.h"
#include "mm/pmm.h"
#include "tests/kernel/cpu_oracle.h"

/* A scratch VA far from every region the kernel uses. */
#define SCRATCH_VA 0x0000700000000000ULL

static u64 data_word = 0x5ca1ab1e;
static const u64 rodata_word = 0xc0ffee;

static void returns_immediately(void)
{
}

static bool translation(u64 va, struct pt_translation *t)
{
	return pt_translate(kmap_pgtable(), va, t);
}

static void expect_prot(u64 va, u32 prot)
{
	struct pt_translation t;

	EXPECT(translation(va, &t));
	EXPECT_EQ(t.attrs.prot & (PT_READ | PT_WRITE | PT_EXEC), prot);
}

static void expect_fault(u64 va, enum probe_access access, bool fault)
{
	struct probe_result r = arch_probe(va, access);

	if (r.faulted != fault)
		ktap_diag("access %d at 0x%llx: %s (%s)", access, (unsigned long long)va,
			  r.faulted ? "faulted" : "did not fault", r.kind);
	EXPECT(r.faulted == fault);
	if (r.faulted)
		EXPECT_EQ(r.fault_addr, va);
}

static void test_text_read_execute_only(void)
{
	u64 text = (u64)(uintptr_t)returns_immediately;

	expect_prot(text, PT_READ | PT_EXEC);
	expect_fault(text, PROBE_READ, false);
	expect_fault(text, PROBE_EXEC, false);
	expect_fault(text, PROBE_WRITE, true);
}

static void test_rodata_read_only(void)
{
	u64 ro = (u64)(uintptr_t)&rodata_word;

	expect_prot(ro, PT_READ);
	expect_fault(ro, PROBE_READ, false);
	expect_fault(ro, PROBE_WRITE, true);
	expect_fault(ALIGN_DOWN(ro, PAGE_SIZE), PROBE_EXEC, true);
}

static void test_data_never_executable(void)
{
	static u8 code_copy[64] __aligned(16);
	u64 data = (u64)(uintptr_t)&data_word;

	expect_prot(data, PT_READ | PT_WRITE);
	expect_fault(data, PROBE_WRITE, false);
	EXPECT_EQ(data_word, 0x5ca1ab1e);
	/* Real code in a data page must still not run. */
	memcpy(code_copy, (const void *)(uintptr_t)returns_immediately, sizeof(code_copy));
	expect_fault((u64)(uintptr_t)code_copy, PROBE_EXEC, true);
}

static u64 addr(const void *symbol)
{
	return (u64)(uintptr_t)symbol;
}

static void test_sections_cover_image(void)
{
	EXPECT(addr(__text_start) < addr(__text_end) && addr(__text_end) <= addr(__rodata_start));
	EXPECT(addr(__rodata_start) < addr(__rodata_end) &&
	       addr(__rodata_end) <= addr(__data_start));
	EXPECT(IS_ALIGNED(addr(__text_start) | addr(__rodata_start) | addr(__data_start),
			  PAGE_SIZE));
	expect_prot(addr(__rodata_end) - 8, PT_READ);
	expect_prot(addr(__text_end) - 4, PT_READ | PT_EXEC);
}

static void test_boot_stack_guard_page(void)
{
	u64 guard = (u64)(uintptr_t)boot_stack;
	struct pt_translation t;

	EXPECT(!translation(guard, &t));
	expect_fault(guard + 8, PROBE_READ, true);
	expect_fault(guard + STACK_GUARD_SIZE, PROBE_READ, false);
}

static void test_secondary_stack_guard_page(void)
{
	u8 *top = kmap_stack_alloc();
	u64 bottom = (u64)(uintptr_t)top - STACK_SIZE;

	expect_fault(bottom, PROBE_WRITE, false);
	expect_fault(bottom - 8, PROBE_READ, true);
	EXPECT(bottom >= STACKS_BASE);
}

static void test_direct_map_aliases_ram(void)
{
	paddr_t pa = pmm_alloc(ORDER_4K);
	u64 *direct = phys_to_virt(pa);
	struct pt_translation t;

	EXPECT_EQ((u64)(uintptr_t)direct, DIRECT_MAP_BASE + pa_addr(pa));
	EXPECT(translation((u64)(uintptr_t)direct, &t));
	EXPECT_EQ(pa_addr(t.pa), pa_addr(pa));
	EXPECT_EQ(t.attrs.prot & (PT_WRITE | PT_EXEC), PT_WRITE);
	direct[1] = 0x1234;
	EXPECT_EQ(virt_to_phys(direct).value, pa_addr(pa));
	expect_fault((u64)(uintptr_t)direct, PROBE_EXEC, true);
	pmm_free(pa, ORDER_4K);
}

static void test_null_page_unmapped(void)
{
	expect_fault(0, PROBE_READ, true);
	expect_fault(PAGE_SIZE, PROBE_WRITE, true);
}

/* A live change must reach the TLB: map, use, write-protect, unmap, reclaim. */
static void test_live_changes_take_effect(void)
{
	struct pgtable *pt = (struct pgtable *)kmap_pgtable();
	paddr_t pa = pmm_alloc(ORDER_4K);
	struct pt_attrs rw = {PT_READ | PT_WRITE, PT_MEM_NORMAL};
	struct pt_attrs ro = {PT_READ, PT_MEM_NORMAL};
	u64 tables0 = pt->tables;

	EXPECT_EQ(pt_map(pt, SCRATCH_VA, pa, PAGE_SIZE, rw, 0), 0);
	expect_fault(SCRATCH_VA, PROBE_WRITE, false);
	EXPECT_EQ(pt_protect(pt, SCRATCH_VA, PAGE_SIZE, ro), 0);
	expect_fault(SCRATCH_VA, PROBE_WRITE, true);
	expect_fault(SCRATCH_VA, PROBE_READ, false);
	EXPECT_EQ(pt_unmap(pt, SCRATCH_VA, PAGE_SIZE), 0);
	expect_fault(SCRATCH_VA, PROBE_READ, true);
	/* Every table the scratch page needed is reclaimed again. */
	EXPECT_EQ(pt->tables, tables0);
	pmm_free(pa, ORDER_4K);
}

/* Write-protects a range whose every page this CPU has just written (so the TLB holds them). */
static void protect_range_and_check(struct pgtable *pt, u64 va, u64 pages)
{
	struct pt_attrs rw = {PT_READ | PT_WRITE, PT_MEM_NORMAL};
	struct pt_attrs ro = {PT_READ, PT_MEM_NORMAL};
	u64 last = va + (pages - 1) * PAGE_SIZE;

	for (u64 a = va; a <= last; a += PAGE_SIZE)
		expect_fault(a, PROBE_WRITE, false);
	EXPECT_EQ(pt_protect(pt, va, pages * PAGE_SIZE, ro), 0);
	/* First, middle and last page: a wrong range or TTL encoding leaves one writable. */
	expect_fault(va, PROBE_WRITE, true);
	expect_fault(va + (pages / 2) * PAGE_SIZE, PROBE_WRITE, true);
	expect_fault(last, PROBE_WRITE, true);
	EXPECT_EQ(pt_protect(pt, va, pages * PAGE_SIZE, rw), 0);
}

/*
 * Multi-page invalidations: an odd count (single-page tail), a count above
 * one range operation's scale 0 (several scales), and a 2M block (TTL level 2).
 */
static void test_range_invalidation(void)
{
	struct pgtable *pt = (struct pgtable *)kmap_pgtable();
	struct pt_attrs rw = {PT_READ | PT_WRITE, PT_MEM_NORMAL};
	paddr_t pa = pmm_alloc(ORDER_2M + 1);
	u64 tables0 = pt->tables;

	EXPECT(pa_addr(pa) != 0);
	if (!pa_addr(pa))
		return;
	EXPECT_EQ(pt_map(pt, SCRATCH_VA, pa, MiB(2), rw, PT_MAP_MAX_LEVEL(0)), 0);
	protect_range_and_check(pt, SCRATCH_VA, 37);
	protect_range_and_check(pt, SCRATCH_VA, 512);
	EXPECT_EQ(pt_unmap(pt, SCRATCH_VA, MiB(2)), 0);
	expect_fault(SCRATCH_VA + KiB(4) * 300, PROBE_READ, true);

	EXPECT_EQ(pt_map(pt, SCRATCH_VA, pa, MiB(4), rw, 0), 0);
	expect_fault(SCRATCH_VA + MiB(3), PROBE_WRITE, false);
	EXPECT_EQ(pt_unmap(pt, SCRATCH_VA + MiB(2), MiB(2)), 0);
	expect_fault(SCRATCH_VA + MiB(3), PROBE_READ, true);
	expect_fault(SCRATCH_VA + MiB(1), PROBE_READ, false);
	EXPECT_EQ(pt_unmap(pt, SCRATCH_VA, MiB(2)), 0);
	EXPECT_EQ(pt->tables, tables0);
	pmm_free(pa, ORDER_2M + 1);
}

static void test_direct_map_uses_blocks(void)
{
	struct pt_translation t;
	u64 big = 0;

	/* Any RAM large and aligned enough must be mapped with 2M or 1G leaves. */
	for (u64 off = 0; off < GiB(4) && !big; off += MiB(2))
		if (translation(DIRECT_MAP_BASE + GiB(1) + off, &t) && t.level >= 1)
			big = t.level;
	for (u64 off = 0; off < GiB(4) && !big; off += MiB(2))
		if (translation(DIRECT_MAP_BASE + off, &t) && t.level >= 1)
			big = t.level;
	EXPECT(big >= 1);
}

/*
 * Every leaf of the kernel's own tables is of a size its format allows, and the format allows
 * only what the CPU reports (x86 drops 1 GiB leaves without CPUID.80000001H:EDX.Page1GB, a
 * reserved bit then: TCG does not fault on it, KVM does). The CPU's report comes from the
 * test's own oracle (tests/kernel/<arch>/cpu_oracle.c), not from the kernel's feature table.
 */
static void expect_leaves_allowed(u64 va, u64 size, u64 step, u64 *leaves)
{
	const struct pt_format *fmt = kmap_pgtable()->fmt;
	u32 allowed = fmt->leaf_levels & cpu_oracle_kernel_leaf_levels();
	struct pt_translation t;

	for (u64 off = 0; off < size; off += step) {
		if (!translation(va + off, &t))
			continue;
		++*leaves;
		if (!(allowed & BIT(t.level))) {
			ktap_diag("leaf at level %u for 0x%llx: format and CPU allow mask 0x%x",
				  t.level, (unsigned long long)(va + off), allowed);
			EXPECT(false);
			return;
		}
	}
}

static void test_leaves_of_allowed_sizes(void)
{
	u64 image = (u64)(uintptr_t)__image_start, leaves = 0;

	/* The direct map in 2 MiB steps up to 64 GiB of physical space; the image by page. */
	expect_leaves_allowed(DIRECT_MAP_BASE, GiB(64), MiB(2), &leaves);
	expect_leaves_allowed(image, ALIGN_UP((u64)(uintptr_t)__image_end, PAGE_SIZE) - image,
			      PAGE_SIZE, &leaves);
	/* Whether or not a leaf of that size exists now, the format must not offer it. */
	EXPECT(!(kmap_pgtable()->fmt->leaf_levels & ~cpu_oracle_kernel_leaf_levels()));
	ktap_diag("%llu translations checked against leaf mask 0x%x (CPU reports 0x%x)",
		  (unsigned long long)leaves, kmap_pgtable()->fmt->leaf_levels,
		  cpu_oracle_kernel_leaf_levels());
	EXPECT(leaves > 0);
}

/* ---- Resizing a live block under readers on every other CPU ---- */

#define RESIZE_ROUNDS 200
#define RESIZE_WORDS  (MiB(2) / sizeof(u64))

static struct {
	struct smp_crew crew;
	u64 reads[MAX_CPUS], wrong[MAX_CPUS];
} resize_readers;

static u64 resize_pattern(u64 i)
{
	return i * 0x9e3779b97f4a7c15ULL + 1;
}

/* Runs on each other CPU, in thread context, until told to stop: every word must read right. */
static void resize_reader(void *arg)
{
	const volatile u64 *words = (const volatile u64 *)SCRATCH_VA;
	unsigned cpu = this_cpu_id();
	u64 i = cpu * 7919;

	(void)arg;
	while (!smp_crew_stopping(&resize_readers.crew)) {
		i = (i + 4099) % RESIZE_WORDS;
		if (words[i] != resize_pattern(i))
			resize_readers.wrong[cpu]++;
		resize_readers.reads[cpu]++;
	}
}

/*
 * A live 2M block split to 4K and collapsed back, again and again, while the
 * other CPUs read it: with FEAT_BBM level 1 (nT) or 2 (direct), or x86's
 * write-then-invalidate, no reader may ever fault or read a wrong word.
 */
static void test_resize_under_readers(void)
{
	struct pgtable *pt = (struct pgtable *)kmap_pgtable();
	struct pt_attrs rw = {PT_READ | PT_WRITE, PT_MEM_NORMAL};
	u64 *direct, reads = 0, wrong = 0;
	struct pt_translation t;
	unsigned readers;
	paddr_t pa;

	if (pt->fmt->resize[pt->bbm_level] == PT_LIVE_BREAK_BEFORE_MAKE) {
		ktap_skip("FEAT_BBM level 0: a split breaks the block, and a reader would take the "
			  "break's translation fault");
		return;
	}
	pa = pmm_alloc(ORDER_2M);
	EXPECT(pa_addr(pa) != 0);
	if (!pa_addr(pa))
		return;
	direct = phys_to_virt(pa);
	for (u64 i = 0; i < RESIZE_WORDS; i++)
		direct[i] = resize_pattern(i);
	EXPECT_EQ(pt_map(pt, SCRATCH_VA, pa, MiB(2), rw, 0), 0);
	readers = smp_crew_start(&resize_readers.crew, resize_reader, NULL);
	for (unsigned round = 0; round < RESIZE_ROUNDS; round++) {
		EXPECT_EQ(pt_split(pt, SCRATCH_VA, MiB(2), 0), 0);
		EXPECT_EQ(pt_collapse(pt, SCRATCH_VA, MiB(2)), 0);
	}
	smp_crew_stop(&resize_readers.crew);
	for (unsigned cpu = 0; cpu < MAX_CPUS; cpu++) {
		reads += resize_readers.reads[cpu];
		wrong += resize_readers.wrong[cpu];
	}
	ktap_diag("FEAT_BBM level %u, %u rounds: %u readers, %llu reads", pt->bbm_level,
		  RESIZE_ROUNDS, readers, (unsigned long long)reads);
	EXPECT_EQ(wrong, 0);
	EXPECT(readers == 0 || reads > 0);
	EXPECT(translation(SCRATCH_VA + KiB(12), &t) && t.level == 1);
	EXPECT_EQ(pt_unmap(pt, SCRATCH_VA, MiB(2)), 0);
	pmm_free(pa, ORDER_2M);
}

/*
 * ---- Interrupt-off sections of bulk operations (mm/pgtable.h rule 5) ----
 *
 * 1 GiB mapped with 4K pages (512 leaf tables) is unmapped, and mapped again
 * to be collapsed and split: every operation must mask per table, never for
 * the whole range. A measuring build (-DPT_MEASURE_MASKED) reports the
 * longest masked section the engine opened on this CPU; under QEMU
 * -icount shift=0 a nanosecond of virtual time is one instruction, so the
 * figure is printed in both units (the other CPUs are idle in WFI/HLT and
 * add nothing).
 */
struct masked_figures {
	u64 ticks, max_ticks, sections;
};

static void masked_begin(struct masked_figures *f)
{
#ifdef PT_MEASURE_MASKED
	__atomic_store_n(&pt_masked_ticks_max[this_cpu_id()], 0, __ATOMIC_RELAXED);
	__atomic_store_n(&pt_masked_sections[this_cpu_id()], 0, __ATOMIC_RELAXED);
#endif
	f->ticks = arch_counter_read();
}

static void masked_end(struct masked_figures *f, const char *what)
{
	u64 ns_per_tick_x1000 = 1000000000000ULL / arch_counter_freq();

	f->ticks = arch_counter_read() - f->ticks;
#ifdef PT_MEASURE_MASKED
	f->max_ticks = __atomic_load_n(&pt_masked_ticks_max[this_cpu_id()], __ATOMIC_RELAXED);
	f->sections = __atomic_load_n(&pt_masked_sections[this_cpu_id()], __ATOMIC_RELAXED);
	ktap_diag("%s: longest masked section %llu ticks = %llu ns (instructions at -icount "
		  "shift=0), %llu sections; whole operation %llu ticks = %llu ns",
		  what, (unsigned long long)f->max_ticks,
		  (unsigned long long)(f->max_ticks * ns_per_tick_x1000 / 1000),
		  (unsigned long long)f->sections, (unsigned long long)f->ticks,
		  (unsigned long long)(f->ticks * ns_per_tick_x1000 / 1000));
#else
	f->max_ticks = f->sections = 0;
	ktap_diag("%s: %llu ticks = %llu ns (masked sections measured only with "
		  "-DPT_MEASURE_MASKED)",
		  what, (unsigned long long)f->ticks,
		  (unsigned long long)(f->ticks * ns_per_tick_x1000 / 1000));
#endif
}

/* A deterministic structural check: at least one masked section per leaf table. */
static void expect_per_table(const struct masked_figures *f, u64 tables)
{
#ifdef PT_MEASURE_MASKED
	if (f->sections < tables)
		ktap_diag("%llu masked sections for %llu tables: masked across tables",
			  (unsigned long long)f->sections, (unsigned long long)tables);
	EXPECT(f->sections >= tables);
#endif
	(void)f;
	(void)tables;
}

/*
 * Maps 1 GiB at SCRATCH_VA with 4K pages: of one 1 GiB block, or where none
 * is free (mem=1G) of 512 aliases of one 2M block, 2M per pt_map().
 */
static void map_1g_4k(struct pgtable *pt, paddr_t pa, bool aliased)
{
	struct pt_attrs rw = {PT_READ | PT_WRITE, PT_MEM_NORMAL};

	if (!aliased) {
		EXPECT_EQ(pt_map(pt, SCRATCH_VA, pa, GiB(1), rw, PT_MAP_MAX_LEVEL(0)), 0);
		return;
	}
	for (u64 off = 0; off < GiB(1); off += MiB(2))
		EXPECT_EQ(pt_map(pt, SCRATCH_VA + off, pa, MiB(2), rw, PT_MAP_MAX_LEVEL(0)), 0);
}

static void test_masked_sections_1g(void)
{
	struct pgtable *pt = (struct pgtable *)kmap_pgtable();
	bool aliased = !pmm_free_blocks(ORDER_1G);
	unsigned order = aliased ? ORDER_2M : ORDER_1G;
	struct masked_figures f;
	struct pt_translation t;
	u64 tables0 = pt->tables;
	/* Never touched through SCRATCH_VA: the frames only give the mapping a real target. */
	paddr_t pa = pmm_alloc(order);

	EXPECT(pa_addr(pa) != 0);
	if (!pa_addr(pa))
		return;
	if (aliased)
		ktap_diag("no free 1 GiB block: 1 GiB of 512 aliases of one 2M block");

	masked_begin(&f);
	map_1g_4k(pt, pa, aliased);
	masked_end(&f, aliased ? "map 1 GiB of 4K pages (512 calls)" : "map 1 GiB of 4K pages");
	expect_per_table(&f, 512);
	/* 512 leaf tables and one level-1 table (the levels above may exist already). */
	EXPECT(pt->tables - tables0 >= 513);
	EXPECT(translation(SCRATCH_VA + GiB(1) - PAGE_SIZE, &t) && t.level == 0);

	masked_begin(&f);
	EXPECT_EQ(pt_unmap(pt, SCRATCH_VA, GiB(1)), 0);
	masked_end(&f, "unmap 1 GiB of 4K pages");
	expect_per_table(&f, 512);
	EXPECT_EQ(pt->tables, tables0);

	map_1g_4k(pt, pa, aliased);
	masked_begin(&f);
	EXPECT_EQ(pt_collapse(pt, SCRATCH_VA, GiB(1)), 0);
	masked_end(&f, "collapse 1 GiB of 4K pages");
	expect_per_table(&f, 512);
	EXPECT(translation(SCRATCH_VA, &t) && t.level >= 1);

	EXPECT_EQ(pt_split(pt, SCRATCH_VA, GiB(1), 1), 0);
	masked_begin(&f);
	EXPECT_EQ(pt_split(pt, SCRATCH_VA, GiB(1), 0), 0);
	masked_end(&f, "split 1 GiB of 2M blocks to 4K");
	expect_per_table(&f, 512);
	EXPECT(translation(SCRATCH_VA + MiB(3), &t) && t.level == 0);

	EXPECT_EQ(pt_unmap(pt, SCRATCH_VA, GiB(1)), 0);
	EXPECT_EQ(pt->tables, tables0);
	pmm_free(pa, order);
}

static void test_dump(void)
{
	pt_dump(kmap_pgtable(), (u64)(uintptr_t)__image_start,
		ALIGN_UP((u64)(uintptr_t)__image_end, PAGE_SIZE) - (u64)(uintptr_t)__image_start);
	EXPECT(kmap_pgtable()->tables > 1);
}

KTAP_SUITE(suite_kpt, "kpt", KTAP_CASE(test_text_read_execute_only),
	   KTAP_CASE(test_rodata_read_only), KTAP_CASE(test_data_never_executable),
	   KTAP_CASE(test_sections_cover_image), KTAP_CASE(test_boot_stack_guard_page),
	   KTAP_CASE(test_secondary_stack_guard_page), KTAP_CASE(test_direct_map_aliases_ram),
	   KTAP_CASE(test_null_page_unmapped), KTAP_CASE(test_live_changes_take_effect),
	   KTAP_CASE(test_range_invalidation), KTAP_CASE(test_direct_map_uses_blocks),
	   KTAP_CASE(test_leaves_of_allowed_sizes), KTAP_CASE(test_resize_under_readers),
	   KTAP_CASE(test_masked_sections_1g), KTAP_CASE(test_dump));
