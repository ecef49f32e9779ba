/* SPDX-License-Identifier: MIT */
/*
 * SMP bring-up and IPIs, through arch/arch.h and kernel/smp.h only: every CPU
 * the firmware described and the command line allowed is online with its own
 * hardware id, runs cross-calls on itself, and receives every IPI sent to it.
 */
#include "arch/arch.h"
#include "kernel/smp.h"
#include "lib/ktap.h"

#define IPI_ROUNDS   200
#define STORM_ROUNDS 500

/* Counter ticks in ms: waits are bounded, never open-ended. */
static u64 ms_ticks(u64 ms)
{
	return arch_counter_freq() * ms / 1000;
}

static bool need_secondaries(void)
{
	if (nr_cpus > 1)
		return true;
	ktap_skip("only one CPU started (smp=1 or a single-CPU machine)");
	return false;
}

static void all_cpus_online(void)
{
	EXPECT(nr_cpus >= 1);
	for (unsigned i = 0; i < nr_cpus; i++) {
		if (!__atomic_load_n(&percpu[i].online, __ATOMIC_ACQUIRE))
			ktap_diag("CPU %u (hwid 0x%llx) is not online", i,
				  (unsigned long long)percpu[i].hwid);
		EXPECT(__atomic_load_n(&percpu[i].online, __ATOMIC_ACQUIRE));
	}
	EXPECT_EQ(smp_online_count(), nr_cpus);
}

static void hwids_distinct(void)
{
	for (unsigned i = 0; i < nr_cpus; i++)
		for (unsigned j = i + 1; j < nr_cpus; j++) {
			if (percpu[i].hwid == percpu[j].hwid)
				ktap_diag("CPUs %u and %u share hwid 0x%llx", i, j,
					  (unsigned long long)percpu[i].hwid);
			EXPECT(percpu[i].hwid != percpu[j].hwid);
		}
}

struct where {
	struct percpu *cpu;
	unsigned id;
	bool irqs_on;
};

static void record_where(void *arg)
{
	struct where *w = arg;

	w->cpu = this_cpu();
	w->id = this_cpu_id();
	w->irqs_on = arch_irqs_enabled();
}

static void call_runs_on_target(void)
{
	for (unsigned i = 0; i < nr_cpus; i++) {
		struct where w = {NULL, ~0u, false};

		EXPECT_EQ(smp_call(i, record_where, &w, true), 0);
		EXPECT(w.cpu == &percpu[i]);
		EXPECT_EQ(w.id, i);
	}
}

/* Sends one IPI_WAKE and waits until the target counted it; false on timeout. */
static bool ipi_round_trip(unsigned cpu)
{
	u64 before = __atomic_load_n(&percpu[cpu].ipis_received[IPI_WAKE], __ATOMIC_ACQUIRE);
	u64 start = arch_counter_read();

	arch_send_ipi(cpu, IPI_WAKE);
	while (__atomic_load_n(&percpu[cpu].ipis_received[IPI_WAKE], __ATOMIC_ACQUIRE) == before) {
		if (arch_counter_read() - start > ms_ticks(1000))
			return false;
		arch_cpu_relax();
	}
	return true;
}

static void ipi_reaches_every_cpu(void)
{
	if (!need_secondaries())
		return;
	for (unsigned i = 1; i < nr_cpus; i++) {
		bool ok = ipi_round_trip(i);

		if (!ok)
			ktap_diag("CPU %u did not receive an IPI within 1 s", i);
		EXPECT(ok);
	}
}

static void ipi_counts_match(void)
{
	if (!need_secondaries())
		return;
	for (unsigned i = 1; i < nr_cpus; i++) {
		u64 before = __atomic_load_n(&percpu[i].ipis_received[IPI_WAKE], __ATOMIC_ACQUIRE);
		unsigned sent = 0;

		/* One at a time: a second SGI sent while one is pending would merge with it. */
		while (sent < IPI_ROUNDS && ipi_round_trip(i))
			sent++;
		EXPECT_EQ(sent, IPI_ROUNDS);
		EXPECT_EQ(__atomic_load_n(&percpu[i].ipis_received[IPI_WAKE], __ATOMIC_ACQUIRE) -
				  before,
			  sent);
	}
}

static u64 storm_counts[MAX_CPUS];

static void storm_increment(void *arg)
{
	u64 *count = arg;

	/* Only the target writes its own slot: a plain increment is enough. */
	(*count)++;
}

static void cross_call_storm(void)
{
	unsigned failed = 0;

	if (!need_secondaries())
		return;
	for (unsigned i = 0; i < nr_cpus; i++)
		storm_counts[i] = 0;
	/* Fire-and-forget calls round-robin: each waits only for the target's previous call. */
	for (unsigned r = 0; r < STORM_ROUNDS; r++)
		for (unsigned i = 1; i < nr_cpus; i++)
			failed += smp_call(i, storm_increment, &storm_counts[i], false) != 0;
	/* A waited call behind the storm: when it returns, every earlier call has run. */
	for (unsigned i = 1; i < nr_cpus; i++)
		failed += smp_call(i, storm_increment, &storm_counts[i], true) != 0;
	EXPECT_EQ(failed, 0);
	for (unsigned i = 1; i < nr_cpus; i++)
		EXPECT_EQ(__atomic_load_n(&storm_counts[i], __ATOMIC_ACQUIRE), STORM_ROUNDS + 1);
}

/* A work item that records where it ran and the order items ran in. */
struct work_probe {
	struct where where;
	u32 *sequence;
	u32 position;
};

static void work_record(void *arg)
{
	struct work_probe *p = arg;

	record_where(&p->where);
	p->position = __atomic_fetch_add(p->sequence, 1, __ATOMIC_RELAXED);
}

/* Thread context: on its CPU, interrupts enabled, items in the order queued. */
static void work_runs_in_thread_context(void)
{
	static struct smp_work work[2];
	struct work_probe probe[2];
	u32 sequence = 0;

	if (!need_secondaries())
		return;
	EXPECT_EQ(smp_work_queue(0, &work[0], work_record, &probe[0]), -1);
	for (unsigned i = 1; i < nr_cpus; i++) {
		for (unsigned k = 0; k < 2; k++) {
			probe[k] = (struct work_probe){.where = {NULL, ~0u, false},
						       .sequence = &sequence};
			EXPECT_EQ(smp_work_queue(i, &work[k], work_record, &probe[k]), 0);
		}
		for (unsigned k = 0; k < 2; k++) {
			EXPECT(smp_work_wait(&work[k], ms_ticks(1000)));
			EXPECT(probe[k].where.cpu == &percpu[i]);
			EXPECT(probe[k].where.irqs_on);
		}
		EXPECT_EQ(probe[1].position, probe[0].position + 1);
		EXPECT(smp_cpu_idle(i));
	}
}

KTAP_SUITE(suite_smp, "smp", KTAP_CASE(all_cpus_online), KTAP_CASE(hwids_distinct),
	   KTAP_CASE(call_runs_on_target), KTAP_CASE(ipi_reaches_every_cpu),
	   KTAP_CASE(ipi_counts_match), KTAP_CASE(cross_call_storm),
	   KTAP_CASE(work_runs_in_thread_context));
