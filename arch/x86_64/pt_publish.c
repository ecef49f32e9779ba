/* SPDX-License-Identifier: MIT */
#include "arch/pt_format.h"

/*
 * x86 page walks are coherent with ordinary stores (SDM Vol. 3A 4.10.4 needs
 * only the invalidation of stale cached entries), so publishing a new entry is
 * a compiler barrier keeping the stores before the first use.
 */
void arch_pt_publish(void)
{
	__asm__ volatile("" ::: "memory");
}

/* x86 has no FEAT_BBM: its formats write size changes, then invalidate. */
unsigned arch_pt_bbm_level(void)
{
	return 0;
}
