/* SPDX-License-Identifier: MIT */
#ifndef TESTS_KERNEL_CPU_ORACLE_H
#define TESTS_KERNEL_CPU_ORACLE_H

#include "lib/types.h"

/*
 * What the CPU itself reports, read by the tests (tests/kernel/<arch>/) straight
 * from the ID registers or CPUID, never from the kernel's feature table: a test
 * must not share its source of truth with the code it checks.
 */

/*
 * The leaf levels (BIT(level), level 0 = 4 KiB) the CPU allows in the kernel's
 * own translation regime (EL2 stage 1 on arm64, IA-32e paging on x86-64).
 */
u32 cpu_oracle_kernel_leaf_levels(void);

#endif
