/* SPDX-License-Identifier: MIT */
/*
 * x86-64 4-level and 5-level paging entries (Intel SDM Vol. 3A, 4.5 "4-Level
 * Paging and 5-Level Paging", tables 4-15 to 4-20). Pure data and pure
 * functions: compiled into the kernel and into the host tests alike.
 */
#include "arch/pt_format.h"
#include "arch/x86_64/pt_format.h"

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
 * writes first and queues the INVLPG / shootdown in its gather. Changes of
 * page size are not classified here: see X86_RESIZE below.
 */
static enum pt_live_change x86_classify_live(u64 old, u64 new, unsigned level)
{
	(void)old;
	(void)new;
	(void)level;
	return PT_LIVE_WRITE_THEN_INVALIDATE;
}

/*
 * Page-size changes of live entries: a split (a leaf becomes a table of the
 * same translations one level down) and a collapse (the reverse), for every
 * x86 format here. The engine asks fmt->resize[] (mm/pgtable.c,
 * resize_entry()); x86 has no FEAT_BBM, so arch_pt_bbm_level() is 0 and only
 * resize[0] is ever used. The decision:
 *
 *  Architecture. Intel SDM Vol. 3A 4.10.2.3 ("Details of TLB Use") lets a TLB
 *  hold a large-page entry and small-page entries for one 4 KiB range after a
 *  size change; behaviour is undefined only if the two differ in frame or
 *  attributes, in which case the SDM's recipe is to clear P, invalidate, and
 *  only then write the new size. A split or collapse of identical
 *  translations may therefore be written, then invalidated (4.10.4.2; for
 *  EPT the cached guest-physical and combined mappings go with INVEPT, Vol.
 *  3C "Caching Translation Information").
 *  Linux relies on it for its own tables (arch/x86/mm/pat/set_memory.c,
 *  __split_large_page(): install the split table, then flush_tlb_all()),
 *  and KVM splits live EPT/NPT leaves with no flush at all
 *  (arch/x86/kvm/mmu/tdp_mmu.c, tdp_mmu_split_huge_page(): the translation
 *  is the same either way).
 *
 *  Errata, which override the architecture on the CPUs they name:
 *  - "ITLB multihit", Intel's "Machine Check Error Avoidance on Page Size
 *    Change" (CVE-2018-12207, INTEL-SA-00210; errata such as SKL002): an
 *    instruction fetch that finds one address in the ITLB at two page sizes
 *    may raise an unrecoverable machine check (MCACOD 0150H). Intel's text
 *    names a size change together with a frame or memory-type change, but
 *    Linux's X86_BUG_ITLB_MULTIHIT commit (db4d30fbb71b) says the errata do
 *    not disclose the whole impact and that the cure is careful invalidation
 *    around page-size changes, for host tables and EPT alike; KVM's
 *    nx_huge_pages (b8e8c8303ff2; Documentation/admin-guide/hw-vuln/
 *    multihit.rst) keeps every huge EPT leaf non-executable, and its in-place
 *    collapse (tdp_mmu.c recover_huge_pages_range() with spte.c
 *    make_huge_spte()) makes the new huge leaf non-executable whenever that
 *    mitigation is on. Only the ITLB is concerned, so only executable leaves.
 *    Affected: Intel CPUs not reporting PSCHANGE_MC_NO, bit 6 of
 *    IA32_ARCH_CAPABILITIES, an MSR that exists only when
 *    CPUID.(EAX=7,ECX=0):EDX[29] says so (Linux common.c cpu_set_bug_bits();
 *    granule does not copy Linux's list of unaffected Atoms: it breaks there
 *    too, which costs time, never correctness). Under KVM the virtual MSR
 *    always reports PSCHANGE_MC_NO (x86.c kvm_get_arch_capabilities()).
 *  - AMD Family 10h erratum 383 (Revision Guide 41322, "CPU Core May Machine
 *    Check When System Software Changes Page Tables Dynamically"): a live
 *    page-size change of a valid entry may leave duplicate TLB entries and
 *    a machine check on the next access, for any access, not just fetches;
 *    AMD's workaround is to change a page's size only after the entry was
 *    invalidated and flushed from every TLB, i.e. break-before-make. Linux
 *    marks every family 10h part X86_BUG_AMD_TLB_MMATCH (amd.c
 *    init_amd_gh()) and KVM sets the erratum's MSR bit (svm.c
 *    svm_init_erratum_383()); KVM's shadow MMU invalidates and flushes before
 *    any small-to-large change (3be2264be3c0). Other AMD CPUs have neither
 *    erratum (multihit.rst: non-Intel CPUs are not affected). The APM's own
 *    page-size paragraph was not at hand when this was decided: the rule
 *    for AMD rests on the architecture above and on the revision guide.
 *
 *  So, per format and per transition (split and collapse alike):
 *  - EPT: write-then-invalidate where PSCHANGE_MC_NO is reported; on other
 *    Intel CPUs break-before-make for executable leaves (non-executable ones
 *    could still be written then invalidated).
 *  - NPT: write-then-invalidate, except break-before-make on family 10h.
 *  - Host 4-/5-level tables: the same hardware rules; but the host never
 *    resizes an executable leaf (kernel text is mapped once, mm/kmap.c; the
 *    resizes are of vmemmap and direct-map data), so write-then-invalidate
 *    is right everywhere except family 10h, where a host resize would need
 *    a break as well (not selected: the host format is shared and const).
 *
 * The engine cannot tell an executable leaf from another when it resizes
 * (resize[] is per format and FEAT_BBM level, not per entry), and guest RAM
 * is mapped executable anyway (vmm/dirty.c, vmm/postcopy.c): a stage-2
 * format on an affected CPU breaks every live size change.
 * x86_stage2_format_resize_init() makes that choice at VM creation
 * (arch/x86_64/vm.c) from what arch/x86_64/features.c read. A guest's own
 * page-size changes on an ITLB-multihit CPU are a separate matter that no
 * sequence here can cure: only non-executable huge leaves (KVM's
 * nx_huge_pages) would.
 */
#define X86_RESIZE                                                                                 \
	{                                                                                          \
		PT_LIVE_WRITE_THEN_INVALIDATE, PT_LIVE_WRITE_THEN_INVALIDATE,                      \
			PT_LIVE_WRITE_THEN_INVALIDATE                                              \
	}

void x86_stage2_format_resize_init(struct pt_format *fmt, bool itlb_multihit, bool tlb_multimatch)
{
	enum pt_live_change how = itlb_multihit || tlb_multimatch ? PT_LIVE_BREAK_BEFORE_MAKE
								  : PT_LIVE_WRITE_THEN_INVALIDATE;

	for (unsigned i = 0; i < PT_BBM_LEVELS; i++)
		fmt->resize[i] = how;
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
