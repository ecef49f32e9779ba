/* SPDX-License-Identifier: MIT */
#include "drivers/lapic.h"
#include "arch/arch.h"

/* Register offsets (SDM Vol 3 10.4.1, table 10-1 "Local APIC Register Address Map"). */
#define LAPIC_ID	    0x20
#define LAPIC_TPR	    0x80
#define LAPIC_EOI	    0xb0
#define LAPIC_SVR	    0xf0
#define LAPIC_ESR	    0x280
#define LAPIC_ICR_LOW	    0x300
#define LAPIC_ICR_HIGH	    0x310
#define LAPIC_LVT_TIMER	    0x320
#define LAPIC_LVT_LINT0	    0x350
#define LAPIC_LVT_ERROR	    0x370
#define LAPIC_TIMER_INIT    0x380
#define LAPIC_TIMER_CURRENT 0x390
#define LAPIC_TIMER_DIVIDE  0x3e0

#define SVR_APIC_ENABLE	     BIT(8)
#define LVT_MASKED	     BIT(16)
#define ICR_LEVEL_ASSERT     BIT(14)
#define ICR_DELIVERY_PENDING BIT(12)
#define TIMER_DIVIDE_16	     0x3
/* Delivery is quick; this bound only turns a wedged APIC into an error instead of a hang. */
#define ICR_SPIN_LIMIT 1000000

static volatile u8 *lapic_base;

static u32 lapic_read(u32 reg)
{
	return *(volatile u32 *)(lapic_base + reg);
}

static void lapic_write(u32 reg, u32 v)
{
	*(volatile u32 *)(lapic_base + reg) = v;
}

void lapic_set_base(volatile void *base)
{
	lapic_base = base;
}

bool lapic_ready(void)
{
	return lapic_base != NULL;
}

u32 lapic_id(void)
{
	return lapic_read(LAPIC_ID) >> 24;
}

void lapic_enable(u8 spurious_vector)
{
	lapic_write(LAPIC_TPR, 0);
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED);
	/* The legacy PIC is masked and unused: no ExtINT through LINT0 (10.5.1 "Local Vector
	 * Table"). */
	lapic_write(LAPIC_LVT_LINT0, LVT_MASKED);
	lapic_write(LAPIC_LVT_ERROR, LVT_MASKED);
	lapic_write(LAPIC_TIMER_DIVIDE, TIMER_DIVIDE_16);
	lapic_write(LAPIC_SVR, SVR_APIC_ENABLE | spurious_vector);
	/* 10.5.3 "Error Handling": the ESR is updated by a write; clear anything firmware left. */
	lapic_write(LAPIC_ESR, 0);
	lapic_write(LAPIC_ESR, 0);
}

void lapic_eoi(void)
{
	lapic_write(LAPIC_EOI, 0);
}

static bool wait_icr_idle(void)
{
	for (unsigned i = 0; i < ICR_SPIN_LIMIT; i++) {
		if (!(lapic_read(LAPIC_ICR_LOW) & ICR_DELIVERY_PENDING))
			return true;
		arch_cpu_relax();
	}
	return false;
}

int lapic_send_ipi(u32 apic_id, u32 icr_low)
{
	/* The ICR is two registers: an IRQ that sent its own IPI in between would mix them. */
	unsigned long flags = arch_irq_save();
	int rc = 0;

	if (!wait_icr_idle()) {
		rc = -1;
		goto out;
	}
	/* 10.6.1 "Interrupt Command Register": writing the low half sends, so the destination (high
	 * half) goes first. */
	lapic_write(LAPIC_ICR_HIGH, apic_id << 24);
	lapic_write(LAPIC_ICR_LOW, icr_low | ICR_LEVEL_ASSERT);
	if (!wait_icr_idle())
		rc = -1;
out:
	arch_irq_restore(flags);
	return rc;
}

void lapic_timer_oneshot(u8 vector, u32 count)
{
	/* 10.5.4 "APIC Timer": one-shot mode is LVT timer mode 00; writing the initial count starts
	 * it. */
	lapic_write(LAPIC_LVT_TIMER, count ? vector : LVT_MASKED | vector);
	lapic_write(LAPIC_TIMER_INIT, count);
}

u32 lapic_timer_current(void)
{
	return lapic_read(LAPIC_TIMER_CURRENT);
}
