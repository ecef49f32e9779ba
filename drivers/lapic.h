/* SPDX-License-Identifier: MIT */
/* The local APIC in xAPIC mode through its MMIO page (SDM Vol 3 chapter 10 "Advanced Programmable
 * Interrupt Controller"). */
#ifndef DRIVERS_LAPIC_H
#define DRIVERS_LAPIC_H

#include "lib/types.h"

/* ICR delivery modes (SDM Vol 3 10.6.1, figure 10-12). */
#define LAPIC_DM_FIXED	 0x000
#define LAPIC_DM_INIT	 0x500
#define LAPIC_DM_STARTUP 0x600

/* Uses the xAPIC register page mapped at base (the same on every CPU). */
void lapic_set_base(volatile void *base);
bool lapic_ready(void);
u32 lapic_id(void);
/* Software-enables this CPU's APIC with the spurious vector; masks LINT0 and the timer. */
void lapic_enable(u8 spurious_vector);
void lapic_eoi(void);
/*
 * Sends an IPI (icr_low: vector | delivery mode; physical destination, edge, assert) to
 * apic_id and waits for the APIC to accept it. Returns 0, or -1 if it stays busy.
 */
int lapic_send_ipi(u32 apic_id, u32 icr_low);
/* One-shot timer, divide by 16: fires vector after count bus-clock/16 ticks (0 stops it). */
void lapic_timer_oneshot(u8 vector, u32 count);
u32 lapic_timer_current(void);

#endif
