/* SPDX-License-Identifier: MIT */
/*
 * Arch-neutral SMP: secondary start-up on guarded stacks, and a one-slot-per-CPU
 * cross-call over IPI_CALL.
 */
#include "kernel/smp.h"
#include "boot/boot_info.h"
#include "kernel/cmdline.h"
#include "kernel/panic.h"
#include "lib/printf.h"
#include "mm/kmap.h"

struct percpu percpu[MAX_CPUS];
unsigned nr_cpus = 1;

struct cross_call {
	void (*fn)(void *);
	void *arg;
	u32 pending; /* 1 from post until the target has run fn */
};

static struct cross_call calls[MAX_CPUS];
static bool ipis_ready;

/* 1 second in counter ticks: a CPU that does not answer by then is reported. */
static u64 timeout_ticks(void)
{
	return arch_counter_freq();
}

void smp_init(struct boot_info *bi)
{
	unsigned found = arch_smp_discover(bi);
	u64 start;

	__atomic_store_n(&this_cpu()->online, true, __ATOMIC_RELEASE);
	ipis_ready = true;
	nr_cpus = MIN(found, kopt.max_cpus);
	printf("smp: %u CPUs described by firmware, starting %u\n", found, nr_cpus);
	for (unsigned i = 1; i < nr_cpus; i++) {
		percpu[i].id = i;
		percpu[i].stack_top = kmap_stack_alloc();
		if (arch_cpu_start(i, percpu[i].hwid, percpu[i].stack_top))
			continue;
		start = arch_counter_read();
		while (!__atomic_load_n(&percpu[i].online, __ATOMIC_ACQUIRE)) {
			if (arch_counter_read() - start > timeout_ticks()) {
				printf("smp: CPU %u (hwid 0x%llx) did not come online\n", i,
				       (unsigned long long)percpu[i].hwid);
				break;
			}
			arch_cpu_relax();
		}
	}
	printf("smp: %u CPUs online\n", smp_online_count());
}

unsigned smp_online_count(void)
{
	unsigned n = 0;

	for (unsigned i = 0; i < MAX_CPUS; i++)
		n += __atomic_load_n(&percpu[i].online, __ATOMIC_ACQUIRE);
	return n;
}

__noreturn void secondary_main(void)
{
	struct percpu *cpu = this_cpu();

	__atomic_store_n(&cpu->online, true, __ATOMIC_RELEASE);
	arch_irq_enable();
	for (;;)
		arch_wait_for_interrupt();
}

int smp_call(unsigned cpu, void (*fn)(void *), void *arg, bool wait)
{
	struct cross_call *c = &calls[cpu];
	u64 start;

	if (cpu >= MAX_CPUS || !__atomic_load_n(&percpu[cpu].online, __ATOMIC_ACQUIRE))
		return -1;
	if (cpu == this_cpu_id()) {
		fn(arg);
		return 0;
	}
	/* One outstanding call per target: claim the slot. */
	start = arch_counter_read();
	for (;;) {
		u32 idle = 0;

		if (__atomic_compare_exchange_n(&c->pending, &idle, 1, false, __ATOMIC_ACQUIRE,
						__ATOMIC_RELAXED))
			break;
		if (arch_counter_read() - start > timeout_ticks())
			return -1;
		arch_cpu_relax();
	}
	c->fn = fn;
	c->arg = arg;
	/* Publish fn/arg before the IPI makes the target look at them. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	__atomic_store_n(&c->pending, 2, __ATOMIC_RELEASE);
	arch_send_ipi(cpu, IPI_CALL);
	if (!wait)
		return 0;
	start = arch_counter_read();
	while (__atomic_load_n(&c->pending, __ATOMIC_ACQUIRE)) {
		if (arch_counter_read() - start > timeout_ticks())
			return -1;
		arch_cpu_relax();
	}
	return 0;
}

void ipi_handle(enum ipi_type type)
{
	struct percpu *cpu = this_cpu();
	struct cross_call *c = &calls[cpu->id];

	if (type < IPI_TYPES)
		cpu->ipis_received[type]++;
	if (type != IPI_CALL || __atomic_load_n(&c->pending, __ATOMIC_ACQUIRE) != 2)
		return;
	c->fn(c->arg);
	__atomic_store_n(&c->pending, 0, __ATOMIC_RELEASE);
}

static void halt_here(void *unused)
{
	(void)unused;
	__atomic_store_n(&this_cpu()->online, false, __ATOMIC_RELEASE);
	arch_halt();
}

void smp_stop_others(void)
{
	if (!ipis_ready)
		return;
	for (unsigned i = 0; i < nr_cpus; i++)
		if (i != this_cpu_id())
			smp_call(i, halt_here, NULL, false);
}
