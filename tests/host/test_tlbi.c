/* SPDX-License-Identifier: MIT */
/*
 * arm64 TLBI operands, decoded field by field from the Arm ARM's operand
 * layout (independently of the encoder), and range plans checked to cover
 * exactly the pages asked for: QEMU cannot catch a wrong range, it flushes
 * everything for anything larger than a few pages.
 */
#include "tests/host/harness.h"
#include "arch/arm64/tlbi.h"

#define BASE 0x0000700000000000ULL

struct plan {
	u64 next_page; /* the page the next operation must start at */
	u64 pages;
	unsigned ops, gaps;
	unsigned bad_fields;
};

static void check_op(u64 op, bool is_range, void *ctx)
{
	struct plan *p = ctx;
	u64 first, count;

	if (is_range) {
		u64 num = FIELD_GET(op, 43, 39), scale = FIELD_GET(op, 45, 44);

		first = FIELD_GET(op, 36, 0);
		count = (num + 1) << (5 * scale + 1);
		p->bad_fields += FIELD_GET(op, 47, 46) != 1 || FIELD_GET(op, 63, 48) != 0;
	} else {
		first = FIELD_GET(op, 43, 0);
		count = 1;
	}
	/* Operations must tile the range in order, without gaps or overlap. */
	p->gaps += first != p->next_page;
	p->next_page = first + count;
	p->pages += count;
	p->ops++;
}

static bool plan_covers(u64 pages, unsigned *ops)
{
	struct plan p = {BASE >> PAGE_SHIFT, 0, 0, 0, 0};

	tlbi_range_plan(BASE, pages, 0, true, check_op, &p);
	if (p.pages != pages || p.gaps || p.bad_fields)
		ktap_diag("%llu pages: planned %llu, gaps %u, bad fields %u", pages, p.pages,
			  p.gaps, p.bad_fields);
	*ops = p.ops;
	return p.pages == pages && !p.gaps && !p.bad_fields;
}

static void test_range_plans_cover_exactly(void)
{
	static const u64 counts[] = {1,	 2,   3,    37,	    63,	    64,
				     65, 512, 1000, 262144, 262145, TLBI_RANGE_MAX_PAGES};
	unsigned ops;

	for (unsigned i = 0; i < ARRAY_SIZE(counts); i++)
		EXPECT(plan_covers(counts[i], &ops));
	/* 2M of 4K pages: one operation (NUM 7 at SCALE 1). */
	EXPECT(plan_covers(512, &ops));
	EXPECT_EQ(ops, 1);
	EXPECT(plan_covers(TLBI_RANGE_MAX_PAGES, &ops));
	EXPECT_EQ(ops, 1);
}

static void test_ttl_hints(void)
{
	/* TTL = TG 4K (0b01) : Arm level; 4K leaves are Arm level 3, 2M level 2, 1G level 1. */
	EXPECT_EQ(FIELD_GET(tlbi_va_operand(BASE, 0, true), 47, 44), 0x7);
	EXPECT_EQ(FIELD_GET(tlbi_va_operand(BASE, 1, true), 47, 44), 0x6);
	EXPECT_EQ(FIELD_GET(tlbi_va_operand(BASE, 2, true), 47, 44), 0x5);
	/* Unknown level or no FEAT_TTL: no hint at all. */
	EXPECT_EQ(FIELD_GET(tlbi_va_operand(BASE, ~0u, true), 47, 44), 0);
	EXPECT_EQ(FIELD_GET(tlbi_va_operand(BASE, 0, false), 47, 44), 0);
	EXPECT_EQ(FIELD_GET(tlbi_va_operand(BASE, 0, true), 43, 0), BASE >> PAGE_SHIFT);
	/* The range form's TTL is the Arm level alone, in bits 38:37. */
	EXPECT_EQ(FIELD_GET(tlbi_range_operand(BASE, 7, 1, 1, true), 38, 37), 2);
	EXPECT_EQ(FIELD_GET(tlbi_range_operand(BASE, 7, 1, ~0u, true), 38, 37), 0);
}

KTAP_SUITE(suite_host_tlbi, "host-tlbi", KTAP_CASE(test_range_plans_cover_exactly),
	   KTAP_CASE(test_ttl_hints));
