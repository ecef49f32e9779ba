/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include "tests/host/fuzz_ops.h"
#include "tests/host/harness.h"
#include "tests/host/model.h"
#include "mm/kmap.h"
#include "mm/pmm.h"

/* The window operations touch: 2 GiB, so 1 GiB leaves occur, at a VA that needs every level. */
#define WIN_BASE  0x0000004000000000ULL
#define WIN_PAGES (GiB(2) >> PAGE_SHIFT)
#define REF_VALID BIT(63)

enum op { OP_MAP, OP_UNMAP, OP_PROTECT, OP_SPLIT, OP_COLLAPSE, OP_TOUCH, OP_COUNT };

struct stream {
	const u8 *data;
	size_t len, pos;
};

struct fuzz_state {
	struct pgtable pt;
	u64 *ref; /* per page: REF_VALID | pa | memtype << 12 | prot */
	unsigned failures;
};

static u64 take(struct stream *s, unsigned bytes)
{
	u64 v = 0;

	for (unsigned i = 0; i < bytes; i++)
		v = (v << 8) | (s->pos < s->len ? s->data[s->pos++] : 0);
	return v;
}

static u64 ref_encode(u64 pa, struct pt_attrs a)
{
	return REF_VALID | pa | (u64)a.memtype << 9 | a.prot;
}

/* A granule-aligned range inside the window, biased to small sizes. */
static void pick_range(struct stream *s, u64 granule, u64 *first, u64 *pages)
{
	u64 gpages = granule >> PAGE_SHIFT, slots = WIN_PAGES / gpages;
	u64 start = take(s, 3) % slots;
	u64 max = slots - start;
	u64 n = 1 + take(s, 1) % 8;

	if (take(s, 1) % 8 == 0)
		n = 1 + take(s, 2) % max;
	*first = start * gpages;
	*pages = MIN(n, max) * gpages;
}

static u64 pick_granule(struct stream *s)
{
	static const u64 granules[] = {KiB(4), KiB(4), MiB(2), GiB(1)};

	return granules[take(s, 1) % ARRAY_SIZE(granules)];
}

static struct pt_attrs pick_attrs(struct stream *s)
{
	static const u32 prots[] = {PT_READ, PT_READ | PT_WRITE, PT_READ | PT_EXEC,
				    PT_READ | PT_WRITE | PT_SW0};
	u8 v = (u8)take(s, 1);

	return (struct pt_attrs){prots[v & 3], (v >> 2) % 4 == 0 ? PT_MEM_DEVICE : PT_MEM_NORMAL};
}

static void fail(struct fuzz_state *st, const char *what, u64 va)
{
	if (st->failures < 8)
		ktap_diag("fuzz: %s at 0x%llx", what, va);
	st->failures++;
}

static void check_page(struct fuzz_state *st, u64 page)
{
	struct pt_translation t;
	u64 va = WIN_BASE + (page << PAGE_SHIFT), want = st->ref[page];
	bool mapped = pt_translate(&st->pt, va, &t);

	if (mapped != !!(want & REF_VALID)) {
		fail(st,
		     mapped ? "mapped, reference says unmapped" : "unmapped, reference says mapped",
		     va);
		return;
	}
	if (mapped && ref_encode(pa_addr(t.pa), t.attrs) != want)
		fail(st, "translation differs from the reference", va);
}

static void check_range_edges(struct fuzz_state *st, u64 first, u64 pages)
{
	u64 probes[] = {first, first + pages - 1, first ? first - 1 : 0,
			MIN(first + pages, WIN_PAGES - 1)};

	for (unsigned i = 0; i < ARRAY_SIZE(probes); i++)
		check_page(st, probes[i]);
}

static void apply(struct fuzz_state *st, struct stream *s)
{
	enum op op = (enum op)(take(s, 1) % OP_COUNT);
	u64 granule = pick_granule(s), first, pages;
	u64 va;
	struct pt_attrs attrs;
	int rc = 0;

	pick_range(s, granule, &first, &pages);
	va = WIN_BASE + (first << PAGE_SHIFT);
	switch (op) {
	case OP_MAP: {
		u64 pa = ALIGN_DOWN(take(s, 4) << PAGE_SHIFT, granule) + GiB(4);
		unsigned flags = (unsigned)(take(s, 1) % 4); /* 0: any size, else max level + 1 */

		attrs = pick_attrs(s);
		rc = pt_map(&st->pt, va, pa_init(pa), pages << PAGE_SHIFT, attrs, flags);
		if (!rc)
			for (u64 p = 0; p < pages; p++)
				st->ref[first + p] = ref_encode(pa + (p << PAGE_SHIFT), attrs);
		break;
	}
	case OP_UNMAP:
		rc = pt_unmap(&st->pt, va, pages << PAGE_SHIFT);
		memset(&st->ref[first], 0, pages * sizeof(u64));
		break;
	case OP_PROTECT:
		attrs = pick_attrs(s);
		rc = pt_protect(&st->pt, va, pages << PAGE_SHIFT, attrs);
		for (u64 p = first; p < first + pages; p++)
			if (st->ref[p] & REF_VALID)
				st->ref[p] = ref_encode(st->ref[p] & GENMASK(51, 12), attrs);
		break;
	case OP_SPLIT:
		rc = pt_split(&st->pt, va, pages << PAGE_SHIFT, (unsigned)(take(s, 1) % 3));
		break;
	case OP_COLLAPSE: rc = pt_collapse(&st->pt, va, pages << PAGE_SHIFT); break;
	case OP_TOUCH:
		for (unsigned i = 0; i < 8; i++)
			model_touch(&st->pt, (unsigned)(take(s, 1) % MODEL_CPUS),
				    WIN_BASE + ((take(s, 3) % WIN_PAGES) << PAGE_SHIFT));
		return;
	default: return;
	}
	if (rc)
		fail(st, "operation failed", va);
	check_range_edges(st, first, pages);
}

static void check_everything_sampled(struct fuzz_state *st, u64 seed)
{
	for (unsigned i = 0; i < 64; i++) {
		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		check_page(st, (seed >> 20) % WIN_PAGES);
	}
	if (model_stale(&st->pt))
		fail(st, "a CPU still caches a stale translation", 0);
	if (model_bbm_violations())
		fail(st, "break-before-make rule broken", 0);
}

static unsigned run_format(const struct pt_format *fmt, const u8 *data, size_t len)
{
	struct fuzz_state st = {0};
	struct stream s = {data, len, 0};
	u64 free0;
	unsigned step = 0;

	/* The input picks the FEAT_BBM level, so every resize sequence is fuzzed. */
	unsigned bbm = len ? data[0] % PT_BBM_LEVELS : 0;

	harness_reset_memory();
	model_reset(bbm, fmt->resize[0] == PT_LIVE_BREAK_BEFORE_MAKE); /* arm64 rules */
	free0 = pmm_free_bytes();
	st.ref = calloc(WIN_PAGES, sizeof(u64));
	harness_bbm_level = bbm;
	if (pt_init(&st.pt, fmt, &model_regime))
		abort();
	harness_bbm_level = 0;
	/* A CPU reading every entry as it is written: the worst interleaving. */
	model_racer_cpu = (int)(bbm % MODEL_CPUS);
	while (s.pos < s.len && step++ < 64) {
		apply(&st, &s);
		/* Simulated CPUs keep using the memory while the tables change. */
		for (unsigned c = 0; c < MODEL_CPUS; c++)
			model_touch(&st.pt, c,
				    WIN_BASE + ((take(&s, 3) % WIN_PAGES) << PAGE_SHIFT));
		check_everything_sampled(&st, step * 7919 + s.pos);
	}
	pt_destroy(&st.pt);
	if (pmm_free_bytes() != free0)
		fail(&st, "table pages leaked after teardown", 0);
	free(st.ref);
	return st.failures;
}

unsigned fuzz_run(const u8 *data, size_t len)
{
	return run_format(&arm64_s1_el2_format, data, len) +
	       run_format(&x86_64_4level_format, data, len) +
	       run_format(&arm64_s1_el2_lpa2_va52_format, data, len);
}
