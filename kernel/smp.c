/* SPDX-License-Identifier: MIT */
/*
 * Arch-neutral SMP: secondary start-up on guarded stacks, a one-slot-per-CPU
 * cross-call over IPI_CALL (interrupt context), and per-CPU work queues that
 * the secondaries' idle loop runs in thread context (kernel/smp.h).
 */
#include "kernel/smp.h"
#include "lib/errno.h"
#include "boot/boot_info.h"
#include "kernel/cmdline.h"
#include "lib/panic.h"
#include "lib/printf.h"
#include "lib/spinlock.h"
#include "mm/kmap.h"

struct percpu percpu[MAX_CPUS];
unsigned nr_cpus = 1;

struct cross_call {
	void (*fn)(void *);
	void *arg;
	u32 pending; /* enum call_state */
	/*
	 * Calls completed in this slot: a waiter waits for its own call's end,
	 * not for the slot to look free (by then another may be posted).
	 */
	u32 done;
};

/*
 * A call slot's states. Which of the two posted states a call is in says
 * where it may run: a waited call from any masked wait of the target too
 * (cpu_wait_relax()), an unwaited one only from the IPI (kernel/smp.h).
 */
enum call_state {
	CALL_FREE,
	CALL_CLAIMED,	    /* a sender is filling it in */
	CALL_POSTED_WAITED, /* the sender waits for it */
	CALL_RUNNING,
	CALL_POSTED, /* nobody waits for it */
};

static struct cross_call calls[MAX_CPUS];
static bool ipis_ready;

/* A FIFO of work items per CPU; the lock is taken with interrupts masked. */
struct work_queue {
	struct spinlock lock;
	struct smp_work *head, *tail;
	u32 busy; /* an item is running */
};

static struct work_queue work_queues[MAX_CPUS];

/* 1 second in counter ticks: a CPU that does not come online by then is reported. */
static u64 timeout_ticks(void)
{
	return arch_counter_freq();
}

/*
 * How long smp_call() waits for a target: 10 s, then its caller reports the
 * CPU (a TLB shootdown panics). Generous because under emulation a CPU is a
 * host thread, and on an overloaded host (more vCPUs than cores, other
 * emulators running) it can go unscheduled for over a second while the
 * counter, which follows the host clock, runs on. Linux's CSD-lock watchdog
 * similarly waits 5 s before it complains.
 */
static u64 call_timeout_ticks(void)
{
	return 10 * arch_counter_freq();
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

static struct smp_work *work_pop(struct work_queue *q)
{
	struct smp_work *w;

	spin_lock(&q->lock);
	w = q->head;
	if (w) {
		q->head = w->next;
		if (!q->head)
			q->tail = NULL;
		__atomic_store_n(&q->busy, 1, __ATOMIC_RELAXED);
	}
	spin_unlock(&q->lock);
	return w;
}

/*
 * The idle loop: the queue is looked at with interrupts masked, and the CPU
 * waits with them still masked, so an IPI sent after the look cannot be lost:
 * WFI (and x86's "sti; hlt", see arch_wait_for_interrupt) wakes on it and the
 * restore takes it. Items run with interrupts enabled.
 */
static __noreturn void idle_loop(struct work_queue *q)
{
	for (;;) {
		unsigned long flags = arch_irq_save();
		struct smp_work *w = work_pop(q);

		if (!w)
			arch_wait_for_interrupt();
		arch_irq_restore(flags);
		if (!w)
			continue;
		__atomic_store_n(&w->state, SMP_WORK_RUNNING, __ATOMIC_RELAXED);
		w->fn(w->arg);
		__atomic_store_n(&q->busy, 0, __ATOMIC_RELAXED);
		/* Last touch of w: from here on its memory is the owner's again. */
		__atomic_store_n(&w->state, SMP_WORK_DONE, __ATOMIC_RELEASE);
	}
}

__noreturn void secondary_main(void)
{
	struct percpu *cpu = this_cpu();

	__atomic_store_n(&cpu->online, true, __ATOMIC_RELEASE);
	arch_irq_enable();
	idle_loop(&work_queues[cpu->id]);
}

static bool is_secondary_online(unsigned cpu)
{
	return cpu > 0 && cpu < MAX_CPUS && __atomic_load_n(&percpu[cpu].online, __ATOMIC_ACQUIRE);
}

int smp_work_queue(unsigned cpu, struct smp_work *w, void (*fn)(void *), void *arg)
{
	struct work_queue *q = &work_queues[cpu];
	u32 state = __atomic_load_n(&w->state, __ATOMIC_ACQUIRE);
	unsigned long flags;

	if (!is_secondary_online(cpu))
		return ERR_NOENT;
	if (state == SMP_WORK_QUEUED || state == SMP_WORK_RUNNING)
		return ERR_BUSY;
	*w = (struct smp_work){.fn = fn, .arg = arg, .state = SMP_WORK_QUEUED};
	flags = spin_lock_irqsave(&q->lock);
	if (q->tail)
		q->tail->next = w;
	else
		q->head = w;
	q->tail = w;
	spin_unlock_irqrestore(&q->lock, flags);
	arch_send_ipi(cpu, IPI_WAKE);
	return 0;
}

bool smp_work_done(const struct smp_work *w)
{
	return __atomic_load_n(&w->state, __ATOMIC_ACQUIRE) == SMP_WORK_DONE;
}

bool smp_work_wait(const struct smp_work *w, u64 timeout_ticks)
{
	u64 start = arch_counter_read();

	while (!smp_work_done(w)) {
		if (arch_counter_read() - start > timeout_ticks)
			return false;
		arch_cpu_relax();
	}
	return true;
}

bool smp_cpu_idle(unsigned cpu)
{
	struct work_queue *q = &work_queues[cpu];

	return is_secondary_online(cpu) && !__atomic_load_n(&q->head, __ATOMIC_RELAXED) &&
	       !__atomic_load_n(&q->busy, __ATOMIC_RELAXED);
}

/*
 * Runs the call posted to this CPU, if one is posted in a state the caller
 * may run (from_wait: only a waited one), marking it running first so a wait
 * inside it cannot run it again.
 */
static void run_own_call(bool from_wait)
{
	struct cross_call *c = &calls[this_cpu_id()];
	u32 posted = CALL_POSTED_WAITED;

	if (!__atomic_compare_exchange_n(&c->pending, &posted, CALL_RUNNING, false,
					 __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
		posted = CALL_POSTED;
		if (from_wait ||
		    !__atomic_compare_exchange_n(&c->pending, &posted, CALL_RUNNING, false,
						 __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
			return;
	}
	c->fn(c->arg);
	__atomic_store_n(&c->done, c->done + 1, __ATOMIC_RELEASE);
	__atomic_store_n(&c->pending, CALL_FREE, __ATOMIC_RELEASE);
}

/*
 * One step of any busy-wait that may have interrupts masked (arch/arch.h):
 * the CPU it waits for may be waiting for this one's answer to a call (a
 * TLB shootdown from under the table lock this CPU spins on, or a call to
 * this CPU made from inside that CPU's own smp_call() wait), so it answers
 * the waited call posted to it meanwhile. Only waited calls: they are short
 * and never wait or take a table lock (the rule in kernel/smp.h), which makes
 * them safe to run in the middle of this CPU's own page-table operation.
 */
void cpu_wait_relax(void)
{
	if (__atomic_load_n(&calls[this_cpu_id()].pending, __ATOMIC_RELAXED) == CALL_POSTED_WAITED)
		run_own_call(true);
	arch_cpu_relax();
}

static void crew_member(void *arg)
{
	struct smp_crew *crew = arg;

	__atomic_fetch_add(&crew->running, 1, __ATOMIC_ACQ_REL);
	__atomic_fetch_add(&crew->started, 1, __ATOMIC_ACQ_REL);
	crew->fn(crew->arg);
	__atomic_fetch_sub(&crew->running, 1, __ATOMIC_ACQ_REL);
}

unsigned smp_crew_start(struct smp_crew *crew, void (*fn)(void *), void *arg)
{
	unsigned started = 0;

	*crew = (struct smp_crew){.fn = fn, .arg = arg};
	for (unsigned cpu = 1; cpu < MAX_CPUS; cpu++)
		if (cpu != this_cpu_id() && smp_cpu_idle(cpu) &&
		    !smp_work_queue(cpu, &crew->work[cpu], crew_member, crew))
			started++;
	/* Not running: a fn that returns by itself may be done before the last member starts. */
	while (__atomic_load_n(&crew->started, __ATOMIC_ACQUIRE) < started)
		arch_cpu_relax();
	return started;
}

bool smp_crew_stopping(const struct smp_crew *crew)
{
	return __atomic_load_n(&crew->stop, __ATOMIC_ACQUIRE);
}

void smp_crew_stop(struct smp_crew *crew)
{
	__atomic_store_n(&crew->stop, true, __ATOMIC_RELEASE);
	for (unsigned cpu = 1; cpu < MAX_CPUS; cpu++)
		if (crew->work[cpu].fn)
			while (!smp_work_done(&crew->work[cpu]))
				arch_cpu_relax();
}

int smp_call(unsigned cpu, void (*fn)(void *), void *arg, bool wait)
{
	struct cross_call *c = &calls[cpu];
	u64 start;
	u32 done;

	if (cpu >= MAX_CPUS || !__atomic_load_n(&percpu[cpu].online, __ATOMIC_ACQUIRE))
		return ERR_NOENT;
	if (cpu == this_cpu_id()) {
		fn(arg);
		return 0;
	}
	/*
	 * One outstanding call per target: claim the slot. This CPU may be
	 * masked (a shootdown under a table lock), and the target may be
	 * waiting for it the same way: each serves what was posted to it.
	 */
	start = arch_counter_read();
	for (;;) {
		u32 idle = CALL_FREE;

		if (__atomic_compare_exchange_n(&c->pending, &idle, CALL_CLAIMED, false,
						__ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
			break;
		if (arch_counter_read() - start > call_timeout_ticks())
			return ERR_TIMEDOUT;
		cpu_wait_relax();
	}
	c->fn = fn;
	c->arg = arg;
	/* Stable while the slot is claimed: only the end of a running call moves it. */
	done = __atomic_load_n(&c->done, __ATOMIC_RELAXED);
	/* Publish fn/arg before the IPI makes the target look at them. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	__atomic_store_n(&c->pending, wait ? CALL_POSTED_WAITED : CALL_POSTED, __ATOMIC_RELEASE);
	arch_send_ipi(cpu, IPI_CALL);
	if (!wait)
		return 0;
	start = arch_counter_read();
	while (__atomic_load_n(&c->done, __ATOMIC_ACQUIRE) == done) {
		if (arch_counter_read() - start > call_timeout_ticks())
			return ERR_TIMEDOUT;
		cpu_wait_relax();
	}
	return 0;
}

void ipi_handle(enum ipi_type type)
{
	struct percpu *cpu = this_cpu();

	if (type < IPI_TYPES)
		cpu->ipis_received[type]++;
	if (type == IPI_CALL)
		run_own_call(false);
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
