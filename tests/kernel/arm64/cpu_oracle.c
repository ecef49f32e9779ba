/* SPDX-License-Identifier: MIT */
#include "tests/kernel/cpu_oracle.h"
#include "lib/types.h"

#define TGRAN4_SHIFT 28 /* ID_AA64MMFR0_EL1.TGran4, bits [31:28] */
#define TGRAN4_NONE  0xf
#define TGRAN4_52BIT 0x1
/* FEAT_LPA2's 52-bit descriptors: TCR_EL2.DS (E2H = 0) and TCR_EL1.DS (D17.2.131, D17.2.132). */
#define TCR_EL2_DS BIT(32)
#define TCR_EL1_DS BIT(59)

static u64 read_id_aa64mmfr0(void)
{
	u64 v;

	__asm__ volatile("mrs %0, id_aa64mmfr0_el1" : "=r"(v));
	return v;
}

/* Whether the kernel's regime (EL2 when entered there, else EL1) uses 52-bit descriptors. */
static bool kernel_regime_ds(void)
{
	u64 el, tcr;

	__asm__ volatile("mrs %0, CurrentEL" : "=r"(el));
	if (((el >> 2) & 3) == 2) {
		__asm__ volatile("mrs %0, tcr_el2" : "=r"(tcr));
		return tcr & TCR_EL2_DS;
	}
	__asm__ volatile("mrs %0, tcr_el1" : "=r"(tcr));
	return tcr & TCR_EL1_DS;
}

/*
 * The 4K granule (Arm ARM DDI 0487J.a D8.2.7, Table D8-12 "Block descriptor
 * and page descriptor support"): pages at level 3, blocks at levels 2 and 1;
 * a level 0 block (512 GiB) only with FEAT_LPA2 (TGran4 = 0b0001) and
 * TCR_ELx.DS = 1. No leaf at all when the CPU lacks the granule.
 */
u32 cpu_oracle_kernel_leaf_levels(void)
{
	u64 tgran4 = (read_id_aa64mmfr0() >> TGRAN4_SHIFT) & 0xf;

	if (tgran4 == TGRAN4_NONE)
		return 0;
	if (tgran4 == TGRAN4_52BIT && kernel_regime_ds())
		return BIT(0) | BIT(1) | BIT(2) | BIT(3);
	return BIT(0) | BIT(1) | BIT(2);
}
