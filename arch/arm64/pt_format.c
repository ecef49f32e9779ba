/* SPDX-License-Identifier: MIT */
/*
 * arm64 VMSAv8-64 descriptors, 4 KiB granule (Arm ARM DDI 0487, D8.3
 * "Translation table descriptor formats"). Pure data and pure functions:
 * compiled into the kernel and into the host tests alike.
 */
#include "arch/arm64/pt_format.h"
#include "arch/pt_format.h"

/* Descriptor bits (D8.3.1, D8.3.2). */
#define DESC_VALID	   BIT(0)
#define DESC_TABLE	   BIT(1) /* at levels 0-2 (Arm numbering): table, else block */
#define DESC_PAGE	   BIT(1) /* at level 3 a valid descriptor must be a page */
#define DESC_ATTRINDX(i)   ((u64)(i) << 2)
#define DESC_ATTRINDX_MASK GENMASK(4, 2)
#define DESC_AP_RO	   BIT(7) /* AP[2]: read-only */
#define DESC_SH_INNER	   (3ULL << 8)
#define DESC_AF		   BIT(10)
#define DESC_NT		   BIT(16) /* block descriptors, FEAT_BBM */
#define DESC_XN		   BIT(54) /* EL2 regime: one execute-never bit */
#define DESC_SW0	   BIT(55)
#define DESC_SW1	   BIT(56)
#define DESC_OA_48	   GENMASK(47, 12)

/*
 * MAIR_EL2 slots, programmed by arch_kernel_pt_activate():
 * 0 Device-nGnRE, 1 Normal WB RAWA, 2 Normal NC, 3 Device-nGnRnE.
 */
#define MAIR_IDX_DEVICE	   0
#define MAIR_IDX_NORMAL	   1
#define MAIR_IDX_NORMAL_NC 2

static unsigned arm_level(unsigned level)
{
	return 3 - level;
}

/*
 * Break-before-make is required when a change alters the memory attributes or
 * shareability, the size of the translation (table <-> block), or the output
 * address when the old or the new translation is writable; permission, AF and
 * software-bit changes may be written directly, then invalidated (Arm ARM
 * DDI 0487J.a D8.16.1 "Using break-before-make when updating translation
 * table entries"). So an output-address change between two read-only leaves
 * needs no break: until the invalidation completes a reader may see either
 * page, which is harmless where the caller made their contents identical
 * (HVO's remap of vmemmap tails, mm/hvo.c). A table entry's address always
 * breaks. attr_mask is where the format keeps memory attributes and
 * shareability, oa_mask its output address.
 */
static enum pt_live_change arm64_classify(u64 old, u64 new, unsigned level, u64 attr_mask,
					  u64 oa_mask, bool writable)
{
	bool table = level && ((old | new) & DESC_TABLE);

	if ((old ^ new) & (attr_mask | DESC_TABLE))
		return PT_LIVE_BREAK_BEFORE_MAKE;
	if (((old ^ new) & oa_mask) && (table || writable))
		return PT_LIVE_BREAK_BEFORE_MAKE;
	return PT_LIVE_WRITE_THEN_INVALIDATE;
}

static enum pt_live_change s1_classify_live(u64 old, u64 new, unsigned level)
{
	return arm64_classify(old, new, level, DESC_ATTRINDX_MASK | DESC_SH_INNER, DESC_OA_48,
			      !(old & DESC_AP_RO) || !(new &DESC_AP_RO));
}

/*
 * A change of block size alone, with every address translated alike before
 * and after (a block split into a table of the same translations, or the
 * reverse), by FEAT_BBM level (Arm ARM DDI 0487J.a D8.16.2 "Support levels for
 * changing block size"; ID_AA64MMFR2_EL1.BBM):
 *  0: break-before-make, as for any other size change.
 *  1: the block-sized side carries nT while both sizes may be cached: the old
 *     block is rewritten with nT (or the new block written with nT), then the
 *     invalidation, then the final entry. An nT block is never cached in a way
 *     that conflicts, so no TLB holds both sizes; but a CPU may also treat it
 *     like an invalid entry and take a Translation fault, so accessors of the
 *     range must tolerate a transient fault exactly as under a break.
 *  2: the new entry may be written directly, then invalidated. Until the
 *     invalidation completes a CPU may raise a TLB conflict abort, which the
 *     exception handler recovers from by a local invalidation
 *     (arch/arm64/exceptions.c).
 */
#define ARM64_RESIZE                                                                               \
	.resize = {PT_LIVE_BREAK_BEFORE_MAKE, PT_LIVE_NT_BLOCK_FIRST,                              \
		   PT_LIVE_WRITE_THEN_INVALIDATE},                                                 \
	.nt_bit = DESC_NT

/*
 * What every arm64 format here shares: 4K granule, blocks at Arm levels 1 and
 * 2 (1G, 2M), pages at level 3 (D8.3.1), AF set up front (no Access flag
 * faults).
 */
#define ARM64_4K_COMMON                                                                            \
	.leaf_levels = BIT(0) | BIT(1) | BIT(2), .valid_mask = DESC_VALID,                         \
	.type_mask = DESC_VALID | DESC_TABLE, .table_type = DESC_VALID | DESC_TABLE,               \
	.table_bits = DESC_VALID | DESC_TABLE, .page_bits = DESC_VALID | DESC_PAGE,                \
	.block_bits = DESC_VALID, .arch_level = arm_level, ARM64_RESIZE

/* The VMSAv8-64 layout: a 48-bit output address in place, Normal memory inner shareable. */
#define ARM64_4K_DESCRIPTORS                                                                       \
	ARM64_4K_COMMON, .oa_mask = DESC_OA_48, .leaf_always = DESC_AF | DESC_SH_INNER

/*
 * FEAT_LPA2 with the 4K granule (TCR_ELx.DS = 1, D8.3.1): 52-bit output
 * addresses, OA[49:12] in place and OA[51:50] in bits [9:8], where the
 * shareability field was (Normal memory then takes TCR_ELx.SH0's). Table
 * descriptors carry the next table's address the same way. With a 52-bit VA
 * the walk starts one level higher (Arm level -1, 16 entries).
 */
#define DESC_OA_LPA2	   GENMASK(49, 12)
#define DESC_OA_LPA2_HIGH  GENMASK(51, 50) /* as an address */
#define DESC_OA_LPA2_SHIFT 42		   /* address bit 50 <- descriptor bit 8 */
#define ARM64_4K_LPA2_DESCRIPTORS                                                                  \
	ARM64_4K_COMMON, .oa_mask = DESC_OA_LPA2, .oa_high_mask = DESC_OA_LPA2_HIGH,               \
			 .oa_high_shift = DESC_OA_LPA2_SHIFT, .leaf_always = DESC_AF

static enum pt_live_change s1_lpa2_classify_live(u64 old, u64 new, unsigned level)
{
	/* No shareability field: bits [9:8] hold OA[51:50]. */
	return arm64_classify(old, new, level, DESC_ATTRINDX_MASK, DESC_OA_LPA2 | GENMASK(9, 8),
			      !(old & DESC_AP_RO) || !(new &DESC_AP_RO));
}

/* The EL2 stage-1 attribute encodings (D8.4), the same in both layouts. */
#define ARM64_S1_EL2_ATTRIBUTES                                                                    \
	.prot_bits = {[0] = {0, 0},	     /* PT_READ: every valid EL2 mapping is readable */    \
		      [1] = {0, DESC_AP_RO}, /* PT_WRITE */                                        \
		      [2] = {0, DESC_XN},    /* PT_EXEC */                                         \
		      [3] = {0, 0},	     /* PT_USER: the EL2 regime has no EL0 */              \
		      [4] = {0, 0},	     /* PT_GLOBAL: no ASIDs in the EL2 regime */           \
		      [5] = {0, 0},	     /* PT_ACCESSED: AF always set */                      \
		      [6] = {0, 0},	     /* PT_DIRTY */                                        \
		      [7] = {DESC_SW0, 0},   [8] = {DESC_SW1, 0}},                                 \
	.implied_prot = PT_READ, .memtype_mask = DESC_ATTRINDX_MASK,                               \
	.memtype_bits = {[PT_MEM_NORMAL] = DESC_ATTRINDX(MAIR_IDX_NORMAL),                         \
			 [PT_MEM_NORMAL_NC] = DESC_ATTRINDX(MAIR_IDX_NORMAL_NC),                   \
			 [PT_MEM_DEVICE] = DESC_ATTRINDX(MAIR_IDX_DEVICE)}

const struct pt_format arm64_s1_el2_format = {
	.name = "arm64 stage-1 EL2 4K/48-bit",
	.levels = 4,
	.va_bits = 48,
	.root_pages = 1,
	ARM64_4K_DESCRIPTORS,
	ARM64_S1_EL2_ATTRIBUTES,
	.classify_live = s1_classify_live,
};

#define ARM64_S1_EL2_LPA2(fmt_name, fmt_levels, fmt_va_bits)                                       \
	{                                                                                          \
		.name = fmt_name, .levels = fmt_levels, .va_bits = fmt_va_bits, .root_pages = 1,   \
		ARM64_4K_LPA2_DESCRIPTORS, ARM64_S1_EL2_ATTRIBUTES,                                \
		.classify_live = s1_lpa2_classify_live,                                            \
	}

const struct pt_format arm64_s1_el2_lpa2_format =
	ARM64_S1_EL2_LPA2("arm64 stage-1 EL2 4K/48-bit VA, LPA2 52-bit PA", 4, 48);
const struct pt_format arm64_s1_el2_lpa2_va52_format =
	ARM64_S1_EL2_LPA2("arm64 stage-1 EL2 4K/52-bit VA, LPA2 52-bit PA", 5, 52);

/* ---- Stage 2 (D8.3.2: stage 2 block and page descriptors) ---- */

#define S2_MEMATTR(x)		((u64)(x) << 2) /* MemAttr[3:0], FEAT_S2FWB off */
#define S2_MEMATTR_MASK		GENMASK(5, 2)
#define S2_MEMATTR_NORMAL_WB	S2_MEMATTR(0xf) /* outer WB, inner WB */
#define S2_MEMATTR_NORMAL_NC	S2_MEMATTR(0x5) /* outer NC, inner NC */
#define S2_MEMATTR_DEVICE_NGNRE S2_MEMATTR(0x1)
#define S2AP_READ		BIT(6)
#define S2AP_WRITE		BIT(7)
#define S2_XN			BIT(54) /* XN[1]: not executable at EL1 or EL0 */
/* At most 16 concatenated tables at the initial lookup level (D8.2.7, VTCR_EL2.SL0). */
#define S2_MAX_CONCAT 16

static enum pt_live_change s2_classify_live(u64 old, u64 new, unsigned level)
{
	return arm64_classify(old, new, level, S2_MEMATTR_MASK | DESC_SH_INNER, DESC_OA_48,
			      ((old | new) & S2AP_WRITE) != 0);
}

static const struct pt_format arm64_s2_template = {
	.name = "arm64 stage-2 4K",
	ARM64_4K_DESCRIPTORS,
	.prot_bits =
		{
			[0] = {S2AP_READ, 0},
			[1] = {S2AP_WRITE, 0},
			[2] = {0, S2_XN},
			[7] = {DESC_SW0, 0},
			[8] = {DESC_SW1, 0},
		},
	.memtype_mask = S2_MEMATTR_MASK,
	.memtype_bits =
		{
			[PT_MEM_NORMAL] = S2_MEMATTR_NORMAL_WB,
			[PT_MEM_NORMAL_NC] = S2_MEMATTR_NORMAL_NC,
			[PT_MEM_DEVICE] = S2_MEMATTR_DEVICE_NGNRE,
		},
	.classify_live = s2_classify_live,
};

/* Bits the root level resolves when the tables have levels levels. */
static unsigned root_bits(unsigned ipa_bits, unsigned levels)
{
	return ipa_bits - (PAGE_SHIFT + PT_INDEX_BITS * (levels - 1));
}

int arm64_s2_format_init(struct pt_format *fmt, unsigned ipa_bits)
{
	unsigned levels = 1;

	if (ipa_bits < 25 || ipa_bits > 48)
		return ERR_INVAL;
	/* The fewest levels whose root fits one table... */
	while (root_bits(ipa_bits, levels) > PT_INDEX_BITS)
		levels++;
	/* ...or one level fewer when up to 16 concatenated tables can serve as root. */
	if (levels > 2 && root_bits(ipa_bits, levels - 1) <= PT_INDEX_BITS + 4)
		levels--;
	*fmt = arm64_s2_template;
	fmt->levels = levels;
	fmt->va_bits = ipa_bits;
	fmt->root_pages = root_bits(ipa_bits, levels) > PT_INDEX_BITS
				  ? 1u << (root_bits(ipa_bits, levels) - PT_INDEX_BITS)
				  : 1;
	return 0;
}
