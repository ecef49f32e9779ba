/* SPDX-License-Identifier: MIT */
/*
 * x86-64 4-level and 5-level paging entries (Intel SDM Vol. 3A, 4.5 "4-Level
 * Paging and 5-Level Paging", tables 4-15 to 4-20). Pure data and pure
 * functions: compiled into the kernel and into the host tests alike.
 */
#include "arch/pt_format.h"

#define PTE_P	BIT(0)
#define PTE_RW	BIT(1)
#define PTE_US	BIT(2)
#define PTE_PWT BIT(3)
#define PTE_PCD BIT(4)
#define PTE_A	BIT(5)
#define PTE_D	BIT(6)
#define PTE_PS	BIT(7) /* above level 0: this entry maps a page (2M/1G) */
#define PTE_G	BIT(8)
#define PTE_SW0 BIT(9)
#define PTE_SW1 BIT(10)
#define PTE_XD	BIT(63)
#define PTE_OA	GENMASK(51, 12)

static unsigned x86_level(unsigned level)
{
	return level + 1;
}

/*
 * The SDM does not require a break on x86: software writes the new entry and
 * then invalidates (Vol. 3A 4.10.4.2 "Recommended Invalidation"). The engine
 * writes first and queues the INVLPG / shootdown in its gather.
 */
static enum pt_live_change x86_classify_live(u64 old, u64 new, unsigned level)
{
	(void)old;
	(void)new;
	(void)level;
	return PT_LIVE_WRITE_THEN_INVALIDATE;
}

/*
 * A page-size change alone is written then invalidated as well: a TLB holding
 * both sizes for one address is harmless when they agree (SDM Vol. 3A
 * 4.10.2.3, 4.10.4.2); x86 has no FEAT_BBM.
 */
#define X86_RESIZE                                                                                 \
	{                                                                                          \
		PT_LIVE_WRITE_THEN_INVALIDATE, PT_LIVE_WRITE_THEN_INVALIDATE,                      \
			PT_LIVE_WRITE_THEN_INVALIDATE                                              \
	}

/*
 * With the power-on PAT (SDM 11.12.4: PA0 WB, PA1 WT, PA2 UC-, PA3 UC):
 * PWT=PCD=0 selects WB, PCD selects UC-, PWT|PCD selects UC.
 */
/* One attribute per line reads better than what clang-format would make of it. */
/* clang-format off */
#define X86_PAGING_FORMAT(levels_, va_bits_, name_, leaf_always_)                       \
	{                                                                               \
		.name = name_, .levels = levels_, .va_bits = va_bits_, .root_pages = 1, \
		.leaf_levels = BIT(0) | BIT(1) | BIT(2), .oa_mask = PTE_OA,             \
		.valid_mask = PTE_P, .type_mask = PTE_PS, .table_type = 0,              \
		.table_bits = PTE_P | PTE_RW | PTE_US, .page_bits = 0,                  \
		.block_bits = PTE_PS, .leaf_always = leaf_always_,                      \
		.prot_bits = {                                                          \
			[0] = { 0, 0 },                                                 \
			[1] = { PTE_RW, 0 },                                            \
			[2] = { 0, PTE_XD },                                            \
			[3] = { PTE_US, 0 },                                            \
			[4] = { PTE_G, 0 },                                             \
			[5] = { 0, 0 }, /* Accessed: preset in every leaf */            \
			[6] = { 0, 0 }, /* Dirty: preset in every leaf */               \
			[7] = { PTE_SW0, 0 },                                           \
			[8] = { PTE_SW1, 0 },                                           \
		},                                                                      \
		.implied_prot = PT_READ, .memtype_mask = PTE_PWT | PTE_PCD,             \
		.memtype_bits = {                                                       \
			[PT_MEM_NORMAL] = 0,                                            \
			[PT_MEM_NORMAL_NC] = PTE_PCD,                                   \
			[PT_MEM_DEVICE] = PTE_PWT | PTE_PCD,                            \
		},                                                                      \
		.arch_level = x86_level, .classify_live = x86_classify_live,            \
		.resize = X86_RESIZE,                                                   \
	}
/* clang-format on */

/*
 * Accessed and Dirty are preset in every leaf (as Linux does for kernel
 * mappings): the CPU never needs a locked update of a leaf it uses (SDM Vol.
 * 3A 4.8), and a run of leaves stays uniform for collapse, which the CPU's own
 * A/D writes would otherwise break.
 */
#define X86_LEAF_AD (PTE_A | PTE_D)

const struct pt_format x86_64_4level_format =
	X86_PAGING_FORMAT(4, 48, "x86-64 4-level", PTE_P | X86_LEAF_AD);
const struct pt_format x86_64_5level_format =
	X86_PAGING_FORMAT(5, 57, "x86-64 5-level", PTE_P | X86_LEAF_AD);
/*
 * AMD NPT uses the long-mode format; every guest access is checked as a user
 * access, so leaves (and tables) carry U=1 (APM Vol. 2, 15.25.5).
 */
const struct pt_format x86_64_npt_format =
	X86_PAGING_FORMAT(4, 48, "AMD NPT 4-level", PTE_P | PTE_US | X86_LEAF_AD);

/* ---- Intel EPT (SDM Vol. 3C, 29.3.2, tables 29-1 to 29-6) ---- */

#define EPT_R		 BIT(0)
#define EPT_W		 BIT(1)
#define EPT_X		 BIT(2)
#define EPT_MEMTYPE(t)	 ((u64)(t) << 3) /* leaves only */
#define EPT_MEMTYPE_MASK GENMASK(5, 3)
#define EPT_MT_UC	 0
#define EPT_MT_WC	 1
#define EPT_MT_WB	 6
#define EPT_PS		 BIT(7)
#define EPT_A		 BIT(8)
#define EPT_D		 BIT(9)
#define EPT_SW0		 BIT(11) /* ignored by the processor */
#define EPT_SW1		 BIT(52)

const struct pt_format x86_64_ept4_format = {
	.name = "Intel EPT 4-level",
	.levels = 4,
	.va_bits = 48,
	.root_pages = 1,
	.leaf_levels = BIT(0) | BIT(1) | BIT(2),
	.oa_mask = PTE_OA,
	/* Not present iff bits 2:0 are all clear (29.3.2). */
	.valid_mask = EPT_R | EPT_W | EPT_X,
	.type_mask = EPT_PS,
	.table_type = 0,
	.table_bits = EPT_R | EPT_W | EPT_X,
	.page_bits = 0,
	.block_bits = EPT_PS,
	.leaf_always = 0,
	.prot_bits =
		{
			[0] = {EPT_R, 0},
			[1] = {EPT_W, 0},
			[2] = {EPT_X, 0},
			[5] = {EPT_A, 0},
			[6] = {EPT_D, 0},
			[7] = {EPT_SW0, 0},
			[8] = {EPT_SW1, 0},
		},
	.memtype_mask = EPT_MEMTYPE_MASK,
	.memtype_bits =
		{
			[PT_MEM_NORMAL] = EPT_MEMTYPE(EPT_MT_WB),
			[PT_MEM_NORMAL_NC] = EPT_MEMTYPE(EPT_MT_WC),
			[PT_MEM_DEVICE] = EPT_MEMTYPE(EPT_MT_UC),
		},
	.arch_level = x86_level,
	.classify_live = x86_classify_live,
	.resize = X86_RESIZE,
};
