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
 * there. Returns 0, ERR_NOENT when the CPU is offline, or ERR_TIMEDOUT when it did not
 * answer in time.
 *
 * The rule for waited calls (wait = true). A CPU that waits with interrupts
 * masked takes no IPI, yet the CPU waiting for its answer may be the one it
 * waits for: an x86 TLB shootdown is a waited smp_call() made under a table
 * lock with interrupts masked (mm/pgtable.c, a break-before-make or the
 * settling of a pending invalidation; arch/x86_64/mmu.c), while another CPU
 * spins on that same lock, masked too; or two CPUs both in a masked
 * smp_call(wait) to each other. So every masked busy-wait runs the waited
 * call posted to its CPU (cpu_wait_relax(), arch/arch.h): the table-lock
 * spin, smp_call()'s own waits, the x86 guest-TLB kick. A waited fn may
 * therefore run on a CPU that holds table locks (and a ticket in the queue of
 * another), in the middle of a page-table operation: it must be short, must
 * never take a table lock (nor any lock a masked waiter may hold) and must
 * never wait for another CPU. The TLB flushes are such functions.
 *
 * A call not waited for (wait = false) runs only from the IPI, on a CPU with
 * interrupts enabled, so outside every table lock (mm/pgtable.h rule 5): it
 * may wait for other CPUs (mm/hvo.c's rendezvous parks CPUs that way, and
 * copes with one that never comes). There is one call slot per CPU: a
 * waited call queued behind an unwaited one waits for the target's next
 * interrupt-enabled moment, so unwaited calls are not for CPUs that others
 * shoot down from under table locks meanwhile (today: only arm64's
 * rendezvous, where TLB invalidation sends no IPI, and the panic path).
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
 * not an idle loop) and wakes it. Returns 0, ERR_NOENT when cpu is the boot CPU,
 * offline or out of range, ERR_BUSY when w is still queued or running.
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
	u32 running; /* members inside fn now */
	u32 started; /* members that have entered fn: a member may return before another starts */
};
unsigned smp_crew_start(struct smp_crew *crew, void (*fn)(void *), void *arg);
bool smp_crew_stopping(const struct smp_crew *crew);
/* Tells the crew to stop and waits until every member has returned. */
void smp_crew_stop(struct smp_crew *crew);

#endif
