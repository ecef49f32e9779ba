/* SPDX-License-Identifier: MIT */
/*
 * The free-running counter and the per-CPU one-shot timer, through
 * arch/arch.h and kernel/smp.h only. Times are counter ticks.
 */
#include "arch/arch.h"
#include "kernel/smp.h"
#include "lib/ktap.h"

/* One-shot delay, and how late it may fire (generous: TCG runs CPUs as host threads). */
#define ONESHOT_MS  5
#define LATENESS_MS 500
#define MIN_FREQ    1000000ULL	   /* 1 MHz: the Arm ARM's lowest recommended rate */
#define MAX_FREQ    10000000000ULL /* 10 GHz */

static u64 ms_ticks(u64 ms)
{
	return arch_counter_freq() * ms / 1000;
}

static void frequency_sane(void)
{
	u64 f = arch_counter_freq();

	if (f < MIN_FREQ || f > MAX_FREQ)
		ktap_diag("counter frequency %llu Hz", (unsigned long long)f);
	EXPECT(f >= MIN_FREQ && f <= MAX_FREQ);
}

static void counter_monotonic(void)
{
	u64 prev = arch_counter_read(), first = prev;
	unsigned backwards = 0;

	for (unsigned i = 0; i < 100000; i++) {
		u64 now = arch_counter_read();

		backwards += now < prev;
		prev = now;
	}
	EXPECT_EQ(backwards, 0);
	/* It is also running: 100000 reads take far more than one tick. */
	EXPECT(prev > first);
}

static void read_counter_on(void *arg)
{
	*(u64 *)arg = arch_counter_read();
}

/* A value read on another CPU lies between the reads before and after the call here. */
static void counter_consistent_across_cpus(void)
{
	for (unsigned i = 0; i < nr_cpus; i++) {
		u64 before = arch_counter_read(), there = 0, after;

		EXPECT_EQ(smp_call(i, read_counter_on, &there, true), 0);
		after = arch_counter_read();
		EXPECT(there >= before && there <= after);
	}
}

static u64 armed_at[MAX_CPUS];

static void arm_oneshot(void *arg)
{
	u64 ticks = *(u64 *)arg;

	armed_at[this_cpu_id()] = arch_counter_read();
	arch_timer_oneshot(ticks);
}

/*
 * Arms the one-shot on cpu and waits for its interrupt count to move. Returns
 * the ticks from arming to seeing the interrupt, or 0 on a timeout.
 */
static u64 oneshot_latency(unsigned cpu, u64 ticks)
{
	u64 before = __atomic_load_n(&percpu[cpu].timer_interrupts, __ATOMIC_ACQUIRE);
	u64 start, seen;

	if (smp_call(cpu, arm_oneshot, &ticks, true))
		return 0;
	start = arch_counter_read();
	while (__atomic_load_n(&percpu[cpu].timer_interrupts, __ATOMIC_ACQUIRE) == before) {
		if (arch_counter_read() - start > ticks + ms_ticks(LATENESS_MS))
			return 0;
		arch_cpu_relax();
	}
	seen = arch_counter_read();
	return seen - armed_at[cpu];
}

static void oneshot_fires_on_every_cpu(void)
{
	u64 ticks = ms_ticks(ONESHOT_MS);
	unsigned long flags = arch_irq_save();

	/* The boot CPU takes its own timer interrupt while it polls. */
	arch_irq_enable();
	for (unsigned i = 0; i < nr_cpus; i++) {
		u64 latency = oneshot_latency(i, ticks);

		if (!latency)
			ktap_diag("CPU %u: one-shot of %llu ticks did not fire within %u ms", i,
				  (unsigned long long)ticks, LATENESS_MS);
		else if (latency < ticks)
			ktap_diag("CPU %u: fired after %llu ticks, before the %llu asked", i,
				  (unsigned long long)latency, (unsigned long long)ticks);
		EXPECT(latency >= ticks);
		EXPECT(latency <= ticks + ms_ticks(LATENESS_MS));
	}
	arch_irq_restore(flags);
}

/*
 * Arming and cancelling happen with interrupts masked: a host thread
 * descheduled between the two (TCG on a busy machine) must not let the timer
 * fire legitimately. Once cancelled the level-sensitive line is low, so
 * nothing may arrive when interrupts open again.
 */
static void oneshot_cancel(void)
{
	u64 before = __atomic_load_n(&this_cpu()->timer_interrupts, __ATOMIC_ACQUIRE);
	unsigned long flags = arch_irq_save();
	u64 start;

	arch_timer_oneshot(ms_ticks(2));
	arch_timer_oneshot(0);
	start = arch_counter_read();
	/* Long past the deadline, with the timer's condition met had it not been cancelled. */
	while (arch_counter_read() - start < ms_ticks(5))
		arch_cpu_relax();
	arch_irq_enable();
	start = arch_counter_read();
	while (arch_counter_read() - start < ms_ticks(20))
		arch_cpu_relax();
	EXPECT_EQ(__atomic_load_n(&this_cpu()->timer_interrupts, __ATOMIC_ACQUIRE), before);
	arch_irq_restore(flags);
}

KTAP_SUITE(suite_timer, "timer", KTAP_CASE(frequency_sane), KTAP_CASE(counter_monotonic),
	   KTAP_CASE(counter_consistent_across_cpus), KTAP_CASE(oneshot_fires_on_every_cpu),
	   KTAP_CASE(oneshot_cancel));
