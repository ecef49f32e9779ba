/* SPDX-License-Identifier: MIT */
#ifndef KERNEL_SMP_H
#define KERNEL_SMP_H

#include "kernel/percpu.h"

struct boot_info;

/* Discovers CPUs and starts up to kopt.max_cpus of them; prints one line per CPU. */
void smp_init(struct boot_info *bi);
/* Where each secondary CPU's arch entry ends up, with its percpu pointer set. */
__noreturn void secondary_main(void);
/*
 * Runs fn(arg) on cpu through an IPI. With wait, returns after fn finished
 * there. Returns 0, or -1 when the CPU is offline or did not answer in time.
 */
int smp_call(unsigned cpu, void (*fn)(void *), void *arg, bool wait);
/* Halts every other online CPU (panic path); safe before IPIs exist. */
void smp_stop_others(void);
unsigned smp_online_count(void);

/*
 * Work in thread context on a secondary CPU: the secondaries' idle loop runs
 * queued items one after another with interrupts enabled, so an item may run
 * as long as it likes (a vCPU, the postcopy mover) while the CPU still takes
 * its timer and IPIs. smp_call() is the other tool: short functions in
 * interrupt context. The item's memory belongs to the caller until
 * smp_work_done() says the item has run.
 */
struct smp_work {
	void (*fn)(void *arg);
	void *arg;
	struct smp_work *next;
	u32 state; /* enum smp_work_state */
};

enum smp_work_state {
	SMP_WORK_IDLE,
	SMP_WORK_QUEUED,
	SMP_WORK_RUNNING,
	SMP_WORK_DONE,
};

/*
 * Queues w to run fn(arg) on cpu (a secondary: the boot CPU runs kernel_main,
 * not an idle loop) and wakes it. Returns 0, or -1 when cpu is the boot CPU,
 * offline or out of range, or w is still queued or running.
 */
int smp_work_queue(unsigned cpu, struct smp_work *w, void (*fn)(void *), void *arg);
bool smp_work_done(const struct smp_work *w);
/* Waits until w has run, at most timeout_ticks; true when it has. */
bool smp_work_wait(const struct smp_work *w, u64 timeout_ticks);
/* Whether cpu is a secondary that is online and runs no work item now. */
bool smp_cpu_idle(unsigned cpu);

/*
 * A loop on every idle secondary (stress readers and the like), in thread
 * context: fn(arg) runs until smp_crew_stop(), checking smp_crew_stopping().
 * Returns how many CPUs run it once all have started.
 */
struct smp_crew {
	struct smp_work work[MAX_CPUS];
	void (*fn)(void *arg);
	void *arg;
	bool stop;
	u32 running;
};
unsigned smp_crew_start(struct smp_crew *crew, void (*fn)(void *), void *arg);
bool smp_crew_stopping(const struct smp_crew *crew);
/* Tells the crew to stop and waits until every member has returned. */
void smp_crew_stop(struct smp_crew *crew);

#endif
