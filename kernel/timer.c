/* SPDX-License-Identifier: MIT */
/* The arch-neutral half of the timer: per-CPU handler dispatch and delays. */
#include "kernel/timer.h"
#include "arch/arch.h"
#include "kernel/percpu.h"

static void (*handlers[MAX_CPUS])(void);

void timer_set_handler(void (*fn)(void))
{
	WRITE_ONCE(handlers[this_cpu_id()], fn);
}

void timer_handle(void)
{
	struct percpu *cpu = this_cpu();
	void (*fn)(void) = READ_ONCE(handlers[cpu->id]);

	cpu->timer_interrupts++;
	if (fn)
		fn();
}

void udelay(u64 us)
{
	u64 start = arch_counter_read();
	u64 ticks = us * arch_counter_freq() / 1000000;

	while (arch_counter_read() - start < ticks)
		arch_cpu_relax();
}
