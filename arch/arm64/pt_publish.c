/* SPDX-License-Identifier: MIT */
#include "arch/pt_format.h"

/*
 * Table stores must be visible to the table walkers before a translation that
 * uses them can be started: DSB ISHST orders them against later walks on any
 * CPU in the Inner Shareable domain, ISB stops this CPU having already started
 * a walk with the old contents (Arm ARM D8.2.6, "Ordering of translation
 * table updates").
 */
void arch_pt_publish(void)
{
	__asm__ volatile("dsb ishst\n\tisb" ::: "memory");
}
