/* SPDX-License-Identifier: MIT */
#include "tests/kernel/cpu_oracle.h"
#include "lib/types.h"

/*
 * 4-level paging (Intel SDM Vol. 3A 4.5, Table 4-15 and 4-16): 2 MiB pages with
 * PDE.PS always; 1 GiB pages with PDPTE.PS only when CPUID.80000001H:EDX.Page1GB
 * [bit 26] is 1, PS being a reserved bit otherwise.
 */
u32 cpu_oracle_kernel_leaf_levels(void)
{
	u32 eax = 0x80000001, ebx, ecx = 0, edx;

	__asm__ volatile("cpuid" : "+a"(eax), "=b"(ebx), "+c"(ecx), "=d"(edx));
	return BIT(0) | BIT(1) | ((edx & BIT(26)) ? BIT(2) : 0);
}
