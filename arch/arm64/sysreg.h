/* SPDX-License-Identifier: MIT */
/*
 * System register access for arch/arm64. granule runs at EL2 when the boot
 * path enters there and at EL1 otherwise, so the registers of "our" exception
 * level are picked at run time by the EL_* accessors.
 */
#ifndef ARCH_ARM64_SYSREG_H
#define ARCH_ARM64_SYSREG_H

#include "lib/types.h"

#define read_sysreg(r)                                                                             \
	({                                                                                         \
		u64 _v;                                                                            \
		__asm__ volatile("mrs %0, " #r : "=r"(_v));                                        \
		_v;                                                                                \
	})
#define write_sysreg(r, v)                                                                         \
	do {                                                                                       \
		u64 _wv = (u64)(v);                                                                \
		__asm__ volatile("msr " #r ", %0" : : "r"(_wv) : "memory");                        \
	} while (0)

#define isb()	 __asm__ volatile("isb" : : : "memory")
#define dsb(opt) __asm__ volatile("dsb " #opt : : : "memory")
#define dmb(opt) __asm__ volatile("dmb " #opt : : : "memory")

/* True when granule owns EL2 (set once by the boot CPU before anything else). */
extern bool arm64_at_el2;

#define read_el_sysreg(r) (arm64_at_el2 ? read_sysreg(r##_el2) : read_sysreg(r##_el1))
#define write_el_sysreg(r, v)                                                                      \
	do {                                                                                       \
		if (arm64_at_el2)                                                                  \
			write_sysreg(r##_el2, v);                                                  \
		else                                                                               \
			write_sysreg(r##_el1, v);                                                  \
	} while (0)

/* GICv3 CPU interface registers by encoding (older assemblers lack some names). */
#define ICC_SRE_EL2	 S3_4_C12_C9_5
#define ICC_SRE_EL1	 S3_0_C12_C12_5
#define ICC_PMR_EL1	 S3_0_C4_C6_0
#define ICC_IAR1_EL1	 S3_0_C12_C12_0
#define ICC_EOIR1_EL1	 S3_0_C12_C12_1
#define ICC_BPR1_EL1	 S3_0_C12_C12_3
#define ICC_CTLR_EL1	 S3_0_C12_C12_4
#define ICC_IGRPEN1_EL1	 S3_0_C12_C12_7
#define ICC_SGI1R_EL1	 S3_0_C12_C11_5
#define ID_AA64MMFR2_EL1 S3_0_C0_C7_2

/* SCTLR_ELx bits (Arm ARM D17.2.118 / D17.2.120). */
#define SCTLR_M	  BIT(0)
#define SCTLR_A	  BIT(1)
#define SCTLR_C	  BIT(2)
#define SCTLR_SA  BIT(3)
#define SCTLR_I	  BIT(12)
#define SCTLR_WXN BIT(19)
/* Bits that are RES1 in SCTLR_EL2 with HCR_EL2.E2H == 0 (4, 5, 11, 16, 18, 22, 23, 28, 29). */
#define SCTLR_EL2_RES1                                                                             \
	(BIT(4) | BIT(5) | BIT(11) | BIT(16) | BIT(18) | BIT(22) | BIT(23) | BIT(28) | BIT(29))
/* Bits that are RES1 in SCTLR_EL1 in ARMv8.0 (11, 20, 22, 23, 28, 29). */
#define SCTLR_EL1_RES1 (BIT(11) | BIT(20) | BIT(22) | BIT(23) | BIT(28) | BIT(29))

/* HCR_EL2 (D17.2.48). */
#define HCR_FMO BIT(3)
#define HCR_IMO BIT(4)
#define HCR_AMO BIT(5)
#define HCR_RW	BIT(31)
#define HCR_E2H BIT(34)

/* ESR_ELx exception classes used by the handlers (D17.2.37). */
#define EC_IABT_CUR 0x21
#define EC_DABT_CUR 0x25
#define ESR_EC(esr) FIELD_GET(esr, 31, 26)

#endif
