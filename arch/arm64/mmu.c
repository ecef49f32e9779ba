/* SPDX-License-Identifier: MIT */
/* The kernel's stage-1 translation regime (EL2, or EL1&0 when entered at EL1) and its TLB. */
#include "arch/arch.h"
#include "arch/arm64/arm64.h"
#include "arch/arm64/sysreg.h"
#include "arch/arm64/tlbi.h"
#include "arch/pt_format.h"
#include "arch/tlb.h"
#include "boot/boot_info.h"
#include "kernel/percpu.h"
#include "lib/printf.h"

/*
 * MAIR attribute indexes; the stage-1 format (pt_format.c) encodes AttrIndx
 * with exactly this numbering.
 */
#define MAIR_DEVICE_nGnRE  0x04ULL /* index 0 */
#define MAIR_NORMAL_WB	   0xffULL /* index 1: inner/outer write-back, read/write-allocate */
#define MAIR_NORMAL_NC	   0x44ULL /* index 2 */
#define MAIR_DEVICE_nGnRnE 0x00ULL /* index 3 */
#define MAIR_VALUE                                                                                 \
	(MAIR_DEVICE_nGnRE | MAIR_NORMAL_WB << 8 | MAIR_NORMAL_NC << 16 | MAIR_DEVICE_nGnRnE << 24)

/* TCR fields common to TCR_EL2 (E2H = 0) and the TTBR0 half of TCR_EL1 (D17.2.131). */
#define TCR_T0SZ(bits)	  (64ULL - (bits))
#define TCR_IRGN0_WBWA	  (1ULL << 8)
#define TCR_ORGN0_WBWA	  (1ULL << 10)
#define TCR_SH0_INNER	  (3ULL << 12)
#define TCR_TG0_4K	  (0ULL << 14)
#define TCR_EL2_RES1	  (BIT(31) | BIT(23))
#define TCR_EL2_PS_SHIFT  16
#define TCR_EL1_EPD1	  BIT(23) /* no walks through TTBR1_EL1 */
#define TCR_EL1_TG1_4K	  (2ULL << 30)
#define TCR_EL1_IPS_SHIFT 32
#define TCR_EL2_DS	  BIT(32) /* FEAT_LPA2: 52-bit descriptors (D8.3.1) */
/* Without FEAT_LPA2 (TCR.DS) a 4K-granule regime outputs at most 48 bits. */
#define PARANGE_48 5

/* The kernel's EL2 tables use the LPA2 layout, and a 52-bit VA, wherever the CPU has it. */
static bool kernel_lpa2(void)
{
	return arm64_at_el2 && arm64_features.lpa2;
}

struct arm64_mmu_regs arm64_mmu;

/*
 * Entered at EL1, granule's tables are EL1&0 stage-1 tables. The descriptor
 * format is the EL2 one except for execute-never: bit 54 is UXN there, and
 * PXN (bit 53) is what stops EL1 from executing (Arm ARM D8.4.2).
 */
#define DESC_PXN BIT(53)
static struct pt_format el1_format;

const struct pt_format *arch_kernel_pt_format(void)
{
	if (kernel_lpa2())
		return &arm64_s1_el2_lpa2_va52_format;
	if (arm64_at_el2)
		return &arm64_s1_el2_format;
	/* At EL1 (a rare case: no hypervisor) granule stays with the 48-bit layout. */
	if (!el1_format.name) {
		el1_format = arm64_s1_el2_format;
		el1_format.name = "arm64 stage-1 EL1&0 4K/48-bit";
		el1_format.prot_bits[2].clear |= DESC_PXN; /* prot_bits[log2(PT_EXEC)] */
	}
	return &el1_format;
}

static u64 tcr_value(void)
{
	u64 ps = MIN(arm64_features.parange, PARANGE_48);
	u64 tcr = TCR_IRGN0_WBWA | TCR_ORGN0_WBWA | TCR_SH0_INNER | TCR_TG0_4K;

	/* With DS, SH0 also gives Normal memory its shareability: the descriptors have none. */
	if (kernel_lpa2())
		return tcr | TCR_T0SZ(52) | TCR_EL2_DS | TCR_EL2_RES1 |
		       (u64)arm64_features.parange << TCR_EL2_PS_SHIFT;
	tcr |= TCR_T0SZ(48);
	if (arm64_at_el2)
		return tcr | TCR_EL2_RES1 | ps << TCR_EL2_PS_SHIFT;
	return tcr | TCR_EL1_EPD1 | TCR_EL1_TG1_4K | ps << TCR_EL1_IPS_SHIFT;
}

static u64 sctlr_value(void)
{
	/* WXN: writable never executable, whatever a descriptor says. SA: SP alignment checks. */
	u64 on = SCTLR_M | SCTLR_C | SCTLR_I | SCTLR_WXN | SCTLR_SA;

	return on | (arm64_at_el2 ? SCTLR_EL2_RES1 : SCTLR_EL1_RES1);
}

/*
 * Until now every data access was Device-nGnRnE (MMU off, Arm ARM D8.2.10):
 * the writes went to memory around the caches, which may still hold clean
 * lines from the boot loader's time for the same addresses. Once the caches
 * are on such a line would shadow what granule wrote (the image's data and
 * bss, the page tables, the struct page array). Invalidate all RAM, which
 * holds no dirty line granule needs: the boot protocol has the loader clean
 * the image to the PoC, and granule itself never wrote through the cache.
 * QEMU does not model caches, so only boards exercise this.
 */
static void invalidate_ram_before_caches(void)
{
	const struct boot_info *bi = arm64_boot_info;

	for (unsigned i = 0; bi && i < bi->nr_ranges; i++)
		if (bi->ranges[i].type == MEM_USABLE)
			arm64_dcache_poc(DCACHE_INVAL, bi->ranges[i].base, bi->ranges[i].size);
}

void arch_kernel_pt_activate(paddr_t root)
{
	if (!(read_el_sysreg(sctlr) & SCTLR_M))
		invalidate_ram_before_caches();
	arm64_mmu.mair = MAIR_VALUE;
	arm64_mmu.tcr = tcr_value();
	arm64_mmu.ttbr0 = pa_addr(root);
	arm64_mmu.sctlr = sctlr_value();
	arm64_mmu_switch(&arm64_mmu);
}

/* TLBI instructions, then the DSB/ISB barriers around them (arch/tlb.h). */
static void count_tlb(u64 tlbis, u64 barriers)
{
	tlb_count(this_cpu_id(), tlbis, barriers, 0);
}

/* Above this many TLBI instructions one full invalidation is cheaper. */
#define TLBI_OPS_LIMIT 64

/*
 * Range operations are written as SYS so the kernel need not be built for
 * Armv8.4 (which would let the compiler use v8.4 instructions on v8.0
 * boards): RVAE2IS is SYS #4, C8, C2, #1 and RVAAE1IS is SYS #0, C8, C2, #3.
 */
static void issue_tlbi(u64 op, bool is_range, void *ctx)
{
	(void)ctx;
	count_tlb(1, 0);
	if (!is_range && arm64_at_el2)
		__asm__ volatile("tlbi vae2is, %0" : : "r"(op) : "memory");
	else if (!is_range)
		__asm__ volatile("tlbi vaae1is, %0" : : "r"(op) : "memory");
	else if (arm64_at_el2)
		__asm__ volatile("sys #4, c8, c2, #1, %0" : : "r"(op) : "memory");
	else
		__asm__ volatile("sys #0, c8, c2, #3, %0" : : "r"(op) : "memory");
}

/*
 * Broadcast invalidation (Arm ARM D8.13.5, "Ordering and completion of TLB
 * maintenance instructions"): DSB ISHST makes the table update visible to the
 * walkers of every CPU before the TLBI; DSB ISH waits until the TLBI completed
 * on every CPU in the Inner Shareable domain; ISB makes this CPU's later
 * instructions use the new translation. These are by-VA, not last-level-only
 * operations: they also drop cached table entries on the path, which freeing
 * a detached table relies on (mm/gather.c).
 *
 * level is the leaf level of everything in the range (0 = 4K), or ~0u when
 * mixed or unknown: then every 4K step is invalidated, since one TLBI only
 * covers the leaf holding its address.
 */
void arch_kernel_tlb_flush_range(u64 va, u64 size, unsigned level)
{
	/*
	 * With TCR_EL2.DS (LPA2) a range TLBI's base address is VA[52:16], in
	 * 64 KiB units (the TLBI RVAE2IS operand when TCR_ELx.DS is 1), which
	 * tlbi_range_plan() does not encode: LPA2 kernels invalidate by VA.
	 */
	bool by_range = arm64_features.tlbi_range >= 2 && !kernel_lpa2();
	struct tlb_plan p = tlb_plan(va, size, level, by_range ? ~0ULL : TLBI_OPS_LIMIT);
	u64 pages = (p.end - p.start) >> PAGE_SHIFT;

	if (p.full || (by_range && pages > TLBI_RANGE_MAX_PAGES)) {
		arch_kernel_tlb_flush_all();
		return;
	}
	count_tlb(0, 3); /* DSB ISHST, DSB ISH, ISB */
	dsb(ishst);
	if (by_range)
		tlbi_range_plan(p.start, pages, level, arm64_features.ttl, issue_tlbi, NULL);
	else
		for (u64 a = p.start; a < p.end; a += p.step)
			issue_tlbi(tlbi_va_operand(a, level, arm64_features.ttl), false, NULL);
	dsb(ish);
	isb();
}

void arch_kernel_tlb_flush_all(void)
{
	count_tlb(1, 3);
	dsb(ishst);
	if (arm64_at_el2)
		__asm__ volatile("tlbi alle2is" : : : "memory");
	else
		__asm__ volatile("tlbi vmalle1is" : : : "memory");
	dsb(ish);
	isb();
}

/* TLBI ...IS is broadcast to the Inner Shareable domain by hardware (D8.17). */
bool arch_tlb_flush_interrupts_cpus(void)
{
	return false;
}
