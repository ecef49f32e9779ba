/* SPDX-License-Identifier: MIT */
/*
 * The page-table engine on both stage-1 formats: encodings checked bit for bit
 * against the manuals' field layouts, every operation checked by translating
 * back and by an invariant walk (valid counts exact, table count exact).
 */
#include <stdio.h>

#include "tests/host/harness.h"
#include "arch/arm64/pt_format.h"
#include "arch/x86_64/pt_format.h"
#include "mm/kmap.h"
#include "mm/pmm.h"

static const struct pt_format *const formats[] = {&arm64_s1_el2_format, &x86_64_4level_format,
						  &arm64_s1_el2_lpa2_va52_format};
static const struct pt_attrs rw = {PT_READ | PT_WRITE, PT_MEM_NORMAL};
static const struct pt_attrs ro = {PT_READ, PT_MEM_NORMAL};
static const struct pt_attrs rx = {PT_READ | PT_EXEC, PT_MEM_NORMAL};
static const struct pt_attrs dev = {PT_READ | PT_WRITE, PT_MEM_DEVICE};

/* A VA and PA far from anything else, 1 GiB aligned. */
#define VA0 0x0000008000000000ULL
#define PA0 0x0000000100000000ULL

static bool invariants_hold(const struct pgtable *pt)
{
	return harness_pt_invariants(pt);
}

static bool maps_to(const struct pgtable *pt, u64 va, u64 pa, unsigned level)
{
	struct pt_translation t;

	if (!pt_translate(pt, va, &t)) {
		ktap_diag("0x%llx: not mapped", (unsigned long long)va);
		return false;
	}
	if (pa_addr(t.pa) != pa || t.level != level) {
		ktap_diag("0x%llx -> 0x%llx level %u, expected 0x%llx level %u",
			  (unsigned long long)va, (unsigned long long)pa_addr(t.pa), t.level,
			  (unsigned long long)pa, level);
		return false;
	}
	return true;
}

static void each_format(void (*body)(const struct pt_format *fmt))
{
	for (unsigned i = 0; i < ARRAY_SIZE(formats); i++) {
		harness_reset_memory();
		body(formats[i]);
	}
}

/* ---- Encodings, from the manuals' field tables ---- */

static void test_arm64_encoding(void)
{
	const struct pt_format *f = &arm64_s1_el2_format;

	/* Page: valid|page 0b11, AttrIndx=1 <<2, SH=IS 0b11<<8, AF bit 10, XN bit 54. */
	EXPECT_EQ(pt_encode_leaf(f, pa_init(0x40001000), rw, 0), 0x0040000040001707ULL);
	/* Read-only executable: AP[2] (bit 7) set, XN clear. */
	EXPECT_EQ(pt_encode_leaf(f, pa_init(0x40001000), rx, 0), 0x0000000040001787ULL);
	/* Device-nGnRE is MAIR slot 0. */
	EXPECT_EQ(pt_encode_leaf(f, pa_init(0x09000000), dev, 0), 0x0040000009000703ULL);
	/* 2M block at Arm level 2: bit 1 clear. */
	EXPECT_EQ(pt_encode_leaf(f, pa_init(0x40200000), rw, 1), 0x0040000040200705ULL);
	EXPECT_EQ(pt_encode_table(f, pa_init(0x40005000)), 0x0000000040005003ULL);
	EXPECT(!pt_entry_is_table(f, 0x0000000040001787ULL, 0));
	EXPECT(pt_entry_is_table(f, 0x0000000040005003ULL, 1));
	EXPECT(!pt_entry_is_table(f, 0x0040000040200705ULL, 1));
	EXPECT_EQ(pt_decode_attrs(f, 0x0000000040001787ULL).prot, PT_READ | PT_EXEC);
	EXPECT_EQ(pt_decode_attrs(f, 0x0040000009000703ULL).memtype, PT_MEM_DEVICE);
	EXPECT_EQ(f->arch_level(0), 3);
}

/* FEAT_LPA2 descriptors (D8.3.1, TCR.DS = 1): OA[49:12] in place, OA[51:50] in bits [9:8]. */
static void test_arm64_lpa2_encoding(void)
{
	const struct pt_format *f = &arm64_s1_el2_lpa2_va52_format;
	u64 page = pt_encode_leaf(f, pa_init(0x000f123456789000ULL), rw, 0);

	/* OA, OA[51:50] = 0b11 at [9:8], AF, AttrIndx 1, page, XN; no shareability field. */
	EXPECT_EQ(page, 0x0043123456789707ULL);
	EXPECT_EQ(pa_addr(pt_entry_pa(f, page)), 0x000f123456789000ULL);
	EXPECT_EQ(pt_encode_table(f, pa_init(0x000c000000005000ULL)), 0x0000000000005303ULL);
	EXPECT_EQ(pa_addr(pt_entry_pa(f, 0x0000000000005303ULL)), 0x000c000000005000ULL);
	EXPECT_EQ(f->levels, 5);
	EXPECT_EQ(arm64_s1_el2_lpa2_format.levels, 4);
	/* Only the 4K page field moves: a 2M block keeps its alignment, and the high bits. */
	EXPECT_EQ(
		pa_addr(pt_leaf_pa(f, pt_encode_leaf(f, pa_init(0x0008000000200000ULL), rw, 1), 1)),
		0x0008000000200000ULL);
}

/*
 * Output addresses above 2^50 through the engine's fast paths: a run that
 * crosses the 1 PiB line (the template arithmetic must not carry into the
 * attribute bits), and a split and collapse of a block up there, at a VA only
 * a 52-bit regime has.
 */
static void test_lpa2_high_output_addresses(void)
{
	const struct pt_format *f = &arm64_s1_el2_lpa2_va52_format;
	const u64 va = 0x000f000000000000ULL, line = 1ULL << 50;
	struct pgtable pt;

	harness_reset_memory();
	EXPECT_EQ(pt_init(&pt, f, &host_regime), 0);
	EXPECT_EQ(pt_map(&pt, va, pa_init(line - KiB(8)), KiB(16), rw, PT_MAP_MAX_LEVEL(0)), 0);
	for (u64 off = 0; off < KiB(16); off += KiB(4))
		EXPECT(maps_to(&pt, va + off, line - KiB(8) + off, 0));
	EXPECT_EQ(pt_map(&pt, va + GiB(1), pa_init(3 * line + MiB(2)), MiB(2), rx, 0), 0);
	EXPECT(maps_to(&pt, va + GiB(1) + 0x1234, 3 * line + MiB(2) + 0x1234, 1));
	EXPECT_EQ(pt_split(&pt, va + GiB(1), MiB(2), 0), 0);
	EXPECT(maps_to(&pt, va + GiB(1) + KiB(12), 3 * line + MiB(2) + KiB(12), 0));
	EXPECT_EQ(pt_collapse(&pt, va + GiB(1), MiB(2)), 0);
	EXPECT(maps_to(&pt, va + GiB(1) + KiB(12), 3 * line + MiB(2) + KiB(12), 1));
	EXPECT(invariants_hold(&pt));
	pt_destroy(&pt);
}

static void test_x86_encoding(void)
{
	const struct pt_format *f = &x86_64_4level_format;

	/* P|RW, A|D preset (bits 5, 6), XD bit 63 (SDM table 4-20). */
	EXPECT_EQ(pt_encode_leaf(f, pa_init(0x1000), rw, 0), 0x8000000000001063ULL);
	/* 2M page: PS bit 7 (table 4-18). */
	EXPECT_EQ(pt_encode_leaf(f, pa_init(0x200000), rw, 1), 0x80000000002000e3ULL);
	/* UC: PCD|PWT with the power-on PAT. */
	EXPECT_EQ(pt_encode_leaf(f, pa_init(0xfee00000), dev, 0), 0x80000000fee0007bULL);
	EXPECT_EQ(pt_encode_leaf(f, pa_init(0x1000), rx, 0), 0x0000000000001061ULL);
	EXPECT_EQ(pt_decode_attrs(f, 0x0000000000001061ULL).prot, PT_READ | PT_EXEC);
	EXPECT_EQ(pt_encode_table(f, pa_init(0x5000)), 0x0000000000005007ULL);
	EXPECT(pt_entry_is_table(f, 0x5007, 1));
	EXPECT(!pt_entry_is_table(f, 0x80000000002000e3ULL, 1));
	/* At level 0 bit 7 is PAT, not PS: still a leaf. */
	EXPECT(!pt_entry_is_table(f, 0x1083, 0));
	EXPECT_EQ(f->arch_level(0), 1);
}

static void test_live_change_rules(void)
{
	const struct pt_format *a = &arm64_s1_el2_format, *x = &x86_64_4level_format;
	u64 page_rw = pt_encode_leaf(a, pa_init(0x40001000), rw, 0);
	u64 page_ro = pt_encode_leaf(a, pa_init(0x40001000), ro, 0);
	u64 other = pt_encode_leaf(a, pa_init(0x40002000), ro, 0);
	u64 device = pt_encode_leaf(a, pa_init(0x40001000), dev, 0);
	u64 block = pt_encode_leaf(a, pa_init(0x40200000), rw, 1);
	u64 table = pt_encode_table(a, pa_init(0x40005000));

	EXPECT_EQ(a->classify_live(page_rw, page_ro, 0), PT_LIVE_WRITE_THEN_INVALIDATE);
	/* A new output address: a break if either side is writable, not between read-only pages. */
	EXPECT_EQ(a->classify_live(page_ro, other, 0), PT_LIVE_WRITE_THEN_INVALIDATE);
	EXPECT_EQ(a->classify_live(page_rw, other, 0), PT_LIVE_BREAK_BEFORE_MAKE);
	EXPECT_EQ(a->classify_live(other, page_rw, 0), PT_LIVE_BREAK_BEFORE_MAKE);
	EXPECT_EQ(a->classify_live(table, pt_encode_table(a, pa_init(0x40006000)), 1),
		  PT_LIVE_BREAK_BEFORE_MAKE);
	EXPECT_EQ(a->classify_live(page_rw, device, 0), PT_LIVE_BREAK_BEFORE_MAKE);
	EXPECT_EQ(a->classify_live(block, table, 1), PT_LIVE_BREAK_BEFORE_MAKE);
	EXPECT_EQ(x->classify_live(0x80000000002000e3ULL, 0x5007, 1),
		  PT_LIVE_WRITE_THEN_INVALIDATE);
	/* A size change alone, by FEAT_BBM level (Arm ARM D8.16.2); x86 never breaks. */
	EXPECT_EQ(a->resize[0], PT_LIVE_BREAK_BEFORE_MAKE);
	EXPECT_EQ(a->resize[1], PT_LIVE_NT_BLOCK_FIRST);
	EXPECT_EQ(a->resize[2], PT_LIVE_WRITE_THEN_INVALIDATE);
	EXPECT_EQ(a->nt_bit, 1ULL << 16);
	for (unsigned level = 0; level < PT_BBM_LEVELS; level++) {
		EXPECT_EQ(x->resize[level], PT_LIVE_WRITE_THEN_INVALIDATE);
		EXPECT_EQ(x86_64_ept4_format.resize[level], PT_LIVE_WRITE_THEN_INVALIDATE);
		EXPECT_EQ(x86_64_npt_format.resize[level], PT_LIVE_WRITE_THEN_INVALIDATE);
	}
}

/* ---- Operations ---- */

static void map_largest_leaves_body(const struct pt_format *fmt)
{
	struct pgtable pt;
	u64 free0 = pmm_free_bytes();

	EXPECT_EQ(pt_init(&pt, fmt, &host_regime), 0);
	/* 1G + 2M + 4K, each aligned: one leaf of each size. */
	EXPECT_EQ(pt_map(&pt, VA0, pa_init(PA0), GiB(1) + MiB(2) + KiB(4), rw, 0), 0);
	EXPECT(maps_to(&pt, VA0 + 0x1234, PA0 + 0x1234, 2));
	EXPECT(maps_to(&pt, VA0 + GiB(1) + 0x5000, PA0 + GiB(1) + 0x5000, 1));
	EXPECT(maps_to(&pt, VA0 + GiB(1) + MiB(2), PA0 + GiB(1) + MiB(2), 0));
	EXPECT(!pt_translate(&pt, VA0 + GiB(1) + MiB(2) + KiB(4), &(struct pt_translation){0}));
	/* root, level 2, level 1 (for the 2M and the table), level 0 */
	EXPECT_EQ(pt.tables, fmt->levels);
	EXPECT(invariants_hold(&pt));
	pt_destroy(&pt);
	EXPECT_EQ(pmm_free_bytes(), free0);
}

static void test_map_largest_leaves(void)
{
	each_format(map_largest_leaves_body);
}

static void forced_4k_body(const struct pt_format *fmt)
{
	struct pgtable pt;

	EXPECT_EQ(pt_init(&pt, fmt, &host_regime), 0);
	EXPECT_EQ(pt_map(&pt, VA0, pa_init(PA0), GiB(1), rw, PT_MAP_MAX_LEVEL(0)), 0);
	/* root + level-2 + level-1 + 512 level-0 tables */
	EXPECT_EQ(pt.tables, fmt->levels - 1 + 512);
	for (u64 off = 0; off < GiB(1); off += MiB(2) + KiB(4))
		if (!maps_to(&pt, VA0 + off, PA0 + off, 0))
			break;
	/* The GiB's own: its level-1 table and the 512 below it; half of it, 256. */
	EXPECT_EQ(pt_count_tables(&pt, VA0, GiB(1)), 1 + 512);
	EXPECT_EQ(pt_count_tables(&pt, VA0, MiB(512)), 256);
	EXPECT_EQ(pt_count_tables(&pt, VA0 + KiB(4), MiB(2)), 0);
	/* Unmapping all but one 2M region frees 511 level-0 tables. */
	EXPECT_EQ(pt_unmap(&pt, VA0 + MiB(2), GiB(1) - MiB(2)), 0);
	EXPECT_EQ(pt_count_tables(&pt, VA0, GiB(1)), 2);
	EXPECT_EQ(pt_table_bytes(&pt, pt.tables), (fmt->levels + fmt->root_pages - 1) * PAGE_SIZE);
	EXPECT(invariants_hold(&pt));
	pt_destroy(&pt);
}

/*
 * A format narrowed to the CPU's leaf sizes (x86 without Page1GB, EPT without
 * 1 GiB pages: arch/x86_64/mmu.c, svm.c, vmx.c) never gets a leaf it lacks:
 * not from a map of a whole aligned GiB, not when asked for one, not from a
 * collapse of 512 uniform 2M blocks.
 */
static void no_1g_body(const struct pt_format *base)
{
	struct pt_format fmt = *base;
	struct pt_translation t;
	struct pgtable pt;

	fmt.leaf_levels &= ~(u32)BIT(2);
	EXPECT_EQ(pt_init(&pt, &fmt, &host_regime), 0);
	EXPECT_EQ(pt_map(&pt, VA0, pa_init(PA0), GiB(1), rw, 0), 0);
	EXPECT(maps_to(&pt, VA0 + GiB(1) - PAGE_SIZE, PA0 + GiB(1) - PAGE_SIZE, 1));
	EXPECT_EQ(pt_map(&pt, VA0 + GiB(1), pa_init(PA0 + GiB(1)), GiB(1), rw, PT_MAP_MAX_LEVEL(2)),
		  0);
	EXPECT(maps_to(&pt, VA0 + GiB(1), PA0 + GiB(1), 1));
	EXPECT_EQ(pt_collapse(&pt, VA0, GiB(2)), 0);
	for (u64 off = 0; off < GiB(2); off += MiB(64))
		if (!pt_translate(&pt, VA0 + off, &t) || t.level > 1) {
			ktap_diag("0x%llx: level %u after collapse",
				  (unsigned long long)(VA0 + off), t.level);
			EXPECT(false);
			break;
		}
	EXPECT(invariants_hold(&pt));
	pt_destroy(&pt);
}

static void test_no_leaf_the_format_lacks(void)
{
	no_1g_body(&x86_64_4level_format);
	no_1g_body(&x86_64_npt_format);
	no_1g_body(&x86_64_ept4_format);
	no_1g_body(&arm64_s1_el2_format);
}

static void test_map_forced_4k(void)
{
	each_format(forced_4k_body);
}

static void split_collapse_body(const struct pt_format *fmt)
{
	struct pgtable pt;
	u64 probe = VA0 + MiB(700) + KiB(12);

	EXPECT_EQ(pt_init(&pt, fmt, &host_regime), 0);
	EXPECT_EQ(pt_map(&pt, VA0, pa_init(PA0), GiB(1), rw, 0), 0);
	EXPECT_EQ(pt.tables, fmt->levels - 2);
	/* A demand fault's split: only the path to one 4K, 1G -> 2M -> 4K. */
	EXPECT_EQ(pt_split(&pt, probe, KiB(4), 0), 0);
	EXPECT_EQ(pt.tables, fmt->levels);
	EXPECT(maps_to(&pt, probe, PA0 + MiB(700) + KiB(12), 0));
	EXPECT(maps_to(&pt, VA0 + MiB(100), PA0 + MiB(100), 1));
	EXPECT(invariants_hold(&pt));
	/* Uniform again: collapse 4K -> 2M -> 1G in one pass (post-order). */
	EXPECT_EQ(pt_collapse(&pt, VA0, GiB(1)), 0);
	EXPECT_EQ(pt.tables, fmt->levels - 2);
	EXPECT(maps_to(&pt, probe, PA0 + MiB(700) + KiB(12), 2));
	EXPECT(invariants_hold(&pt));
	pt_destroy(&pt);
}

static void test_split_and_collapse(void)
{
	each_format(split_collapse_body);
}

static void no_collapse_when_mixed_body(const struct pt_format *fmt)
{
	struct pgtable pt;

	EXPECT_EQ(pt_init(&pt, fmt, &host_regime), 0);
	EXPECT_EQ(pt_map(&pt, VA0, pa_init(PA0), MiB(2), rw, PT_MAP_MAX_LEVEL(0)), 0);
	/* One page with other permissions blocks the collapse. */
	EXPECT_EQ(pt_protect(&pt, VA0 + KiB(8), KiB(4), ro), 0);
	EXPECT_EQ(pt_collapse(&pt, VA0, MiB(2)), 0);
	EXPECT(maps_to(&pt, VA0, PA0, 0));
	EXPECT_EQ(pt.tables, fmt->levels);
	pt_destroy(&pt);
}

static void test_collapse_refuses_mixed(void)
{
	each_format(no_collapse_when_mixed_body);
}

/* One collapse over tables with different attributes: each leaf keeps its table's own. */
static void collapse_keeps_each_tables_attrs_body(const struct pt_format *fmt)
{
	static const struct pt_attrs *const expect[] = {&rw, &rw, &ro, &dev, &rw};
	struct pgtable pt;
	struct pt_translation t;

	EXPECT_EQ(pt_init(&pt, fmt, &host_regime), 0);
	EXPECT_EQ(pt_map(&pt, VA0, pa_init(PA0), MiB(10), rw, PT_MAP_MAX_LEVEL(0)), 0);
	for (unsigned i = 0; i < 5; i++)
		EXPECT_EQ(pt_protect(&pt, VA0 + i * MiB(2), MiB(2), *expect[i]), 0);
	EXPECT_EQ(pt_collapse(&pt, VA0, MiB(10)), 0);
	for (unsigned i = 0; i < 5; i++) {
		EXPECT(maps_to(&pt, VA0 + i * MiB(2) + KiB(4), PA0 + i * MiB(2) + KiB(4), 1));
		EXPECT(pt_translate(&pt, VA0 + i * MiB(2), &t));
		EXPECT_EQ(t.attrs.prot, expect[i]->prot);
		EXPECT_EQ(t.attrs.memtype, expect[i]->memtype);
	}
	EXPECT(invariants_hold(&pt));
	pt_destroy(&pt);
}

static void test_collapse_keeps_each_tables_attrs(void)
{
	each_format(collapse_keeps_each_tables_attrs_body);
}

static void protect_body(const struct pt_format *fmt)
{
	struct pgtable pt;
	struct pt_translation t;

	EXPECT_EQ(pt_init(&pt, fmt, &host_regime), 0);
	EXPECT_EQ(pt_map(&pt, VA0, pa_init(PA0), MiB(2), rw, 0), 0);
	EXPECT_EQ(pt_protect(&pt, VA0 + KiB(4), KiB(4), ro), 0);
	EXPECT(pt_translate(&pt, VA0 + KiB(4), &t));
	EXPECT_EQ(t.attrs.prot, PT_READ);
	EXPECT_EQ(t.level, 0);
	EXPECT(pt_translate(&pt, VA0, &t));
	EXPECT_EQ(t.attrs.prot, PT_READ | PT_WRITE);
	EXPECT(invariants_hold(&pt));
	pt_destroy(&pt);
}

static void test_protect_splits_partial_block(void)
{
	each_format(protect_body);
}

static void reclaim_body(const struct pt_format *fmt)
{
	struct pgtable pt;
	u64 free0 = pmm_free_bytes();

	EXPECT_EQ(pt_init(&pt, fmt, &host_regime), 0);
	EXPECT_EQ(pt_map(&pt, VA0 + KiB(4), pa_init(PA0), KiB(4), rw, 0), 0);
	EXPECT_EQ(pt.tables, fmt->levels);
	EXPECT_EQ(pt_unmap(&pt, VA0 + KiB(4), KiB(4)), 0);
	/* Every level emptied is reclaimed, up to but not including the root. */
	EXPECT_EQ(pt.tables, 1);
	EXPECT_EQ(pmm_free_bytes(), free0 - PAGE_SIZE);
	EXPECT(invariants_hold(&pt));
	pt_destroy(&pt);
	EXPECT_EQ(pmm_free_bytes(), free0);
}

static void test_unmap_reclaims_every_level(void)
{
	each_format(reclaim_body);
}

static void partial_unmap_body(const struct pt_format *fmt)
{
	struct pgtable pt;

	EXPECT_EQ(pt_init(&pt, fmt, &host_regime), 0);
	EXPECT_EQ(pt_map(&pt, VA0, pa_init(PA0), GiB(1), rw, 0), 0);
	EXPECT_EQ(pt_unmap(&pt, VA0 + MiB(2) + KiB(4), KiB(4)), 0);
	EXPECT(!pt_translate(&pt, VA0 + MiB(2) + KiB(4), &(struct pt_translation){0}));
	EXPECT(maps_to(&pt, VA0 + MiB(2), PA0 + MiB(2), 0));
	EXPECT(maps_to(&pt, VA0 + MiB(2) + KiB(8), PA0 + MiB(2) + KiB(8), 0));
	EXPECT(maps_to(&pt, VA0 + MiB(4), PA0 + MiB(4), 1));
	EXPECT(invariants_hold(&pt));
	pt_destroy(&pt);
}

static void test_unmap_inside_block(void)
{
	each_format(partial_unmap_body);
}

static void bad_input_body(const struct pt_format *fmt)
{
	struct pgtable pt;

	EXPECT_EQ(pt_init(&pt, fmt, &host_regime), 0);
	EXPECT_EQ(pt_map(&pt, VA0 + 1, pa_init(PA0), KiB(4), rw, 0), ERR_INVAL);
	EXPECT_EQ(pt_map(&pt, VA0, pa_init(PA0 + 8), KiB(4), rw, 0), ERR_INVAL);
	EXPECT_EQ(pt_map(&pt, VA0, pa_init(PA0), 0, rw, 0), ERR_INVAL);
	EXPECT_EQ(pt_map(&pt, 1ULL << fmt->va_bits, pa_init(PA0), KiB(4), rw, 0), ERR_INVAL);
	EXPECT_EQ(pt_map(&pt, ~0ULL & ~0xfffULL, pa_init(PA0), KiB(8), rw, 0), ERR_INVAL);
	EXPECT_EQ(pt.tables, 1);
	pt_destroy(&pt);
}

static void test_bad_ranges_rejected(void)
{
	each_format(bad_input_body);
}

static void oom_body(const struct pt_format *fmt)
{
	struct pgtable pt;
	paddr_t hog[64];
	unsigned n = 0;
	int rc;

	EXPECT_EQ(pt_init(&pt, fmt, &host_regime), 0);
	/* Leave the allocator with only a handful of pages. */
	for (int order = PMM_MAX_ORDER; order >= 0; order--)
		while (n < ARRAY_SIZE(hog) && pmm_free_bytes() > (PAGE_SIZE << order) + KiB(12) &&
		       pa_addr(hog[n] = pmm_alloc_below((unsigned)order, ~0ULL)))
			n++;
	rc = pt_map(&pt, VA0, pa_init(PA0), MiB(64), rw, PT_MAP_MAX_LEVEL(0));
	EXPECT_EQ(rc, ERR_NOMEM);
	/* Prepare, then commit: out of memory the map changed nothing, not even a table. */
	EXPECT(!pt_translate(&pt, VA0, &(struct pt_translation){0}));
	EXPECT_EQ(pt.tables, 1);
	EXPECT(invariants_hold(&pt));
	pt_destroy(&pt);
	while (n--) {
		struct page *p = pa_to_page(hog[n]);

		pmm_free(hog[n], p->order);
	}
}

static void test_out_of_memory_leaves_tree_consistent(void)
{
	each_format(oom_body);
}

static void test_invalidation_batched(void)
{
	struct pgtable pt;

	harness_reset_memory();
	EXPECT_EQ(pt_init(&pt, &arm64_s1_el2_format, &host_regime), 0);
	EXPECT_EQ(pt_map(&pt, VA0, pa_init(PA0), MiB(2), rw, PT_MAP_MAX_LEVEL(0)), 0);
	host_tlb = (struct host_tlb_stats){0};
	/* 512 pages removed: one gather, one flush, not 512. */
	EXPECT_EQ(pt_unmap(&pt, VA0, MiB(2)), 0);
	EXPECT_EQ(host_tlb.range_flushes + host_tlb.full_flushes, 1);
	/* A fresh map of empty entries needs no invalidation at all. */
	host_tlb = (struct host_tlb_stats){0};
	EXPECT_EQ(pt_map(&pt, VA0, pa_init(PA0), MiB(2), rw, PT_MAP_MAX_LEVEL(0)), 0);
	EXPECT_EQ(host_tlb.range_flushes + host_tlb.full_flushes, 0);
	EXPECT_EQ(host_tlb.publishes, 1);
	pt_destroy(&pt);
}

KTAP_SUITE(suite_host_pgtable, "host-pgtable", KTAP_CASE(test_arm64_encoding),
	   KTAP_CASE(test_arm64_lpa2_encoding), KTAP_CASE(test_lpa2_high_output_addresses),
	   KTAP_CASE(test_x86_encoding), KTAP_CASE(test_live_change_rules),
	   KTAP_CASE(test_map_largest_leaves), KTAP_CASE(test_no_leaf_the_format_lacks),
	   KTAP_CASE(test_map_forced_4k), KTAP_CASE(test_split_and_collapse),
	   KTAP_CASE(test_collapse_refuses_mixed), KTAP_CASE(test_collapse_keeps_each_tables_attrs),
	   KTAP_CASE(test_protect_splits_partial_block), KTAP_CASE(test_unmap_reclaims_every_level),
	   KTAP_CASE(test_unmap_inside_block), KTAP_CASE(test_bad_ranges_rejected),
	   KTAP_CASE(test_out_of_memory_leaves_tree_consistent),
	   KTAP_CASE(test_invalidation_batched));

/* ---- The guest formats ---- */

static void test_arm64_stage2_geometry(void)
{
	struct pt_format f;

	/* 40-bit IPA: 3 levels from Arm level 1, 2 concatenated root tables (VTCR SL0=1). */
	EXPECT_EQ(arm64_s2_format_init(&f, 40), 0);
	EXPECT_EQ(f.levels, 3);
	EXPECT_EQ(f.root_pages, 2);
	/* 48-bit: 4 levels, one root table. 44-bit: 32 tables would be needed at level 1: 4 levels.
	 */
	EXPECT_EQ(arm64_s2_format_init(&f, 48), 0);
	EXPECT(f.levels == 4 && f.root_pages == 1);
	EXPECT_EQ(arm64_s2_format_init(&f, 44), 0);
	EXPECT(f.levels == 4 && f.root_pages == 1);
	EXPECT_EQ(arm64_s2_format_init(&f, 42), 0);
	EXPECT(f.levels == 3 && f.root_pages == 8);
	/* 32-bit: start at Arm level 2 with 4 concatenated tables. */
	EXPECT_EQ(arm64_s2_format_init(&f, 32), 0);
	EXPECT(f.levels == 2 && f.root_pages == 4);
	EXPECT_EQ(arm64_s2_format_init(&f, 52), ERR_INVAL);
}

static void test_arm64_stage2_encoding(void)
{
	struct pt_format f;
	const struct pt_attrs rwx = {PT_READ | PT_WRITE | PT_EXEC, PT_MEM_NORMAL};

	arm64_s2_format_init(&f, 40);
	/* Page: 0b11, MemAttr 0b1111 <<2, S2AP RW bits 7:6, SH IS, AF. */
	EXPECT_EQ(pt_encode_leaf(&f, pa_init(0x80001000), rwx, 0), 0x00000000800017ffULL);
	/* Read-only, not executable: XN (bit 54), S2AP = 0b01 (read-only). */
	EXPECT_EQ(pt_encode_leaf(&f, pa_init(0x80001000), ro, 0), 0x004000008000177fULL);
	/* Device-nGnRE MemAttr 0b0001, 2M block. */
	EXPECT_EQ(pt_encode_leaf(&f, pa_init(0x80200000), dev, 1), 0x00400000802007c5ULL);
	EXPECT_EQ(pt_decode_attrs(&f, 0x004000008000177fULL).prot, PT_READ);
}

static void test_ept_encoding(void)
{
	const struct pt_format *f = &x86_64_ept4_format;
	const struct pt_attrs rwx = {PT_READ | PT_WRITE | PT_EXEC, PT_MEM_NORMAL};

	/* R|W|X, memory type WB (6) in bits 5:3. */
	EXPECT_EQ(pt_encode_leaf(f, pa_init(0x1000), rwx, 0), 0x0000000000001037ULL);
	/* 1G leaf: PS bit 7. */
	EXPECT_EQ(pt_encode_leaf(f, pa_init(GiB(1)), rwx, 2), 0x00000000400000b7ULL);
	/* UC device memory, read-write. */
	EXPECT_EQ(pt_encode_leaf(f, pa_init(0xfee00000), dev, 0), 0x00000000fee00003ULL);
	EXPECT_EQ(pt_encode_table(f, pa_init(0x5000)), 0x0000000000005007ULL);
	/* Write-only-free "not present": all of bits 2:0 clear. */
	EXPECT(!pt_entry_valid(f, 0x0000000000001030ULL));
	EXPECT_EQ(pt_decode_attrs(f, 0x0000000000001037ULL).prot, PT_READ | PT_WRITE | PT_EXEC);
}

static void test_npt_encoding(void)
{
	const struct pt_format *f = &x86_64_npt_format;

	/* P|RW|US, A|D preset, NX for non-executable guest memory. */
	EXPECT_EQ(pt_encode_leaf(f, pa_init(0x1000), rw, 0), 0x8000000000001067ULL);
	EXPECT_EQ(pt_encode_leaf(f, pa_init(GiB(1)), rw, 2), 0x80000000400000e7ULL);
}

static void guest_formats_body(const struct pt_format *fmt)
{
	struct pgtable pt;
	u64 top = (1ULL << fmt->va_bits) - GiB(1);

	EXPECT_EQ(pt_init(&pt, fmt, &host_regime), 0);
	EXPECT_EQ(pt_map(&pt, top, pa_init(PA0), GiB(1), rw, 0), 0);
	EXPECT_EQ(pt_split(&pt, top + KiB(4), KiB(4), 0), 0);
	EXPECT(maps_to(&pt, top + KiB(4), PA0 + KiB(4), 0));
	EXPECT_EQ(pt_map(&pt, top + GiB(1), pa_init(PA0), KiB(4), rw, 0), ERR_INVAL);
	EXPECT(invariants_hold(&pt));
	pt_destroy(&pt);
}

static void test_guest_formats_whole_ipa_space(void)
{
	static struct pt_format s2_40, s2_32;

	arm64_s2_format_init(&s2_40, 40);
	arm64_s2_format_init(&s2_32, 32);
	const struct pt_format *const guest[] = {&s2_40, &s2_32, &x86_64_ept4_format,
						 &x86_64_npt_format, &x86_64_5level_format};
	for (unsigned i = 0; i < ARRAY_SIZE(guest); i++) {
		harness_reset_memory();
		guest_formats_body(guest[i]);
	}
}

KTAP_SUITE(suite_host_formats, "host-formats", KTAP_CASE(test_arm64_stage2_geometry),
	   KTAP_CASE(test_arm64_stage2_encoding), KTAP_CASE(test_ept_encoding),
	   KTAP_CASE(test_npt_encoding), KTAP_CASE(test_guest_formats_whole_ipa_space));

static void reclaim_policy_body(const struct pt_format *fmt)
{
	struct pgtable pt;

	EXPECT_EQ(pt_init(&pt, fmt, &host_regime), 0);
	pt.reclaim = PT_RECLAIM_DEFERRED;
	EXPECT_EQ(pt_map(&pt, VA0, pa_init(PA0), MiB(4), rw, PT_MAP_MAX_LEVEL(0)), 0);
	EXPECT_EQ(pt.tables, fmt->levels + 1); /* two level-0 tables */
	EXPECT_EQ(pt_unmap(&pt, VA0, MiB(4)), 0);
	/* Deferred: the empty tables stay until a scan (a re-map reuses them). */
	EXPECT_EQ(pt.tables, fmt->levels + 1);
	EXPECT(invariants_hold(&pt));
	EXPECT_EQ(pt_reclaim_scan(&pt, VA0, GiB(1)), 0);
	EXPECT_EQ(pt.tables, 1);
	EXPECT(invariants_hold(&pt));
	pt_destroy(&pt);
}

static void test_deferred_reclaim(void)
{
	each_format(reclaim_policy_body);
}

KTAP_SUITE(suite_host_reclaim, "host-reclaim", KTAP_CASE(test_deferred_reclaim));
