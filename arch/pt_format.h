/* SPDX-License-Identifier: MIT */
/*
 * Page-table formats as data. The engine (mm/pgtable.c) walks and edits every
 * format with the same code; a format says how many levels there are, which
 * levels may hold leaves, and which bits encode each portable attribute.
 *
 * Levels count up from the leaf: level 0 maps 4 KiB, level 1 2 MiB, level 2
 * 1 GiB, level 3 512 GiB, level 4 256 TiB. (The Arm ARM numbers the other way:
 * its level 3 is our level 0; pt_format.arch_level() converts for TTL hints.)
 */
#ifndef ARCH_PT_FORMAT_H
#define ARCH_PT_FORMAT_H

#include "lib/errno.h"
#include "lib/types.h"

#define PT_ENTRIES    512
#define PT_INDEX_BITS 9
#define PT_MAX_LEVELS 5

static inline unsigned pt_level_shift(unsigned level)
{
	return PAGE_SHIFT + PT_INDEX_BITS * level;
}

static inline u64 pt_level_size(unsigned level)
{
	return 1ULL << pt_level_shift(level);
}

/* Portable attributes of a leaf mapping. */
enum pt_prot {
	PT_READ = BIT(0),
	PT_WRITE = BIT(1),
	PT_EXEC = BIT(2),
	PT_USER = BIT(3), /* EL0 / CPL3 accessible (stage-1 only) */
	PT_GLOBAL = BIT(4),
	PT_ACCESSED = BIT(5),
	PT_DIRTY = BIT(6),
	PT_SW0 = BIT(7), /* software bits: ignored by hardware */
	PT_SW1 = BIT(8),
};
#define PT_PROT_BITS 9

enum pt_memtype {
	PT_MEM_NORMAL,	  /* write-back cacheable */
	PT_MEM_NORMAL_NC, /* non-cacheable */
	PT_MEM_DEVICE,	  /* Device-nGnRE / UC */
	PT_MEM_TYPES,
};

struct pt_attrs {
	u32 prot; /* enum pt_prot bits */
	enum pt_memtype memtype;
};

/* The bits one portable attribute contributes, when present and when absent. */
struct pt_attr_bits {
	u64 set;   /* OR-ed in when the attribute is present */
	u64 clear; /* OR-ed in when it is absent (inverted bits like XN, AP[2]) */
};

/* How a change from one valid entry to another must be sequenced. */
enum pt_live_change {
	/* Write the new entry, then invalidate (permission-only changes; x86). */
	PT_LIVE_WRITE_THEN_INVALIDATE,
	/* Break-before-make: invalid, invalidate, then the new entry. */
	PT_LIVE_BREAK_BEFORE_MAKE,
	/*
	 * FEAT_BBM level 1, for a change of size only: the block-sized side
	 * first with nT set, invalidate, then the final entry (see arm64's
	 * pt_format.c for the rule).
	 */
	PT_LIVE_NT_BLOCK_FIRST,
};

/* FEAT_BBM levels: 0 (none), 1 (nT bit), 2 (direct size change). */
#define PT_BBM_LEVELS 3

struct pt_format {
	const char *name;
	unsigned levels; /* root is level levels-1 */
	unsigned va_bits;
	/* Concatenated root tables (arm64 stage-2 with a start level skipped): 1 otherwise. */
	unsigned root_pages;
	u32 leaf_levels; /* BIT(level) for each level that may hold a leaf */
	u64 oa_mask;	 /* output-address bits of any descriptor, in place */
	/*
	 * Output-address bits kept elsewhere in the descriptor (arm64 LPA2:
	 * OA[51:50] in bits [9:8]): the address bits oa_high_mask, shifted right
	 * by oa_high_shift. 0 in formats that keep the whole address in place.
	 */
	u64 oa_high_mask;
	unsigned oa_high_shift;

	/* An entry is valid iff (e & valid_mask) != 0. */
	u64 valid_mask;
	/* Above level 0: a valid entry is a table iff (e & type_mask) == table_type. */
	u64 type_mask;
	u64 table_type;
	/* Bits every table descriptor carries (arm: 0b11; x86: P|RW|US; EPT: R|W|X). */
	u64 table_bits;
	/* Bits every level-0 leaf carries, and every leaf above level 0 (block). */
	u64 page_bits;
	u64 block_bits;
	/* Bits every leaf carries (arm64: AF, shareability). */
	u64 leaf_always;

	struct pt_attr_bits prot_bits[PT_PROT_BITS]; /* indexed by log2(enum pt_prot) */
	/* Attributes every valid leaf has without a bit of its own (READ on stage-1). */
	u32 implied_prot;
	u64 memtype_mask;
	u64 memtype_bits[PT_MEM_TYPES];

	/* Architecture level number for a level (Arm: 3 - level; x86: level + 1). */
	unsigned (*arch_level)(unsigned level);
	/*
	 * The architecture's rule for replacing one valid entry by another in a
	 * live table: which sequence the change needs. Pure, host-testable.
	 */
	enum pt_live_change (*classify_live)(u64 old, u64 new, unsigned level);
	/*
	 * How a change of size alone is sequenced (a block becoming a table of
	 * the same translations, or the reverse), by the FEAT_BBM level the
	 * regime may use. nt_bit is the block bit level 1's sequence sets.
	 */
	enum pt_live_change resize[PT_BBM_LEVELS];
	u64 nt_bit;
};

/* Formats every build knows (arch/<arch>/pt_format.c defines its own arch's). */
extern const struct pt_format arm64_s1_el2_format;
/* FEAT_LPA2 (TCR_EL2.DS = 1): 52-bit output addresses; 48-bit VA (4 levels) or 52-bit (5). */
extern const struct pt_format arm64_s1_el2_lpa2_format;
extern const struct pt_format arm64_s1_el2_lpa2_va52_format;
extern const struct pt_format x86_64_4level_format;
extern const struct pt_format x86_64_5level_format;
extern const struct pt_format x86_64_ept4_format; /* Intel EPT, 4-level walk */
extern const struct pt_format x86_64_npt_format;  /* AMD NPT (long-mode format, U=1) */

/* Makes table stores so far visible to this and other CPUs' table walkers. */
void arch_pt_publish(void);
/*
 * The FEAT_BBM level new page tables may rely on (0-2): the CPUs' level,
 * capped by the bbm= boot option. 0 where the architecture has no such thing.
 */
unsigned arch_pt_bbm_level(void);

#endif
