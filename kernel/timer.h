/* SPDX-License-Identifier: MIT */
#ifndef KERNEL_TIMER_H
#define KERNEL_TIMER_H

#include "lib/types.h"

/*
 * Sets the function this CPU's one-shot timer interrupt runs (NULL: count
 * only). Runs in interrupt context with interrupts masked.
 */
void timer_set_handler(void (*fn)(void));
/* Busy-waits for at least us microseconds on the free-running counter. */
void udelay(u64 us);

#endif
