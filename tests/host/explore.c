/* SPDX-License-Identifier: MIT */
/*
 * The interleaving explorer: two or three engine operations on overlapping
 * addresses, each on its own simulated CPU, run under every schedule a bound
 * allows, and checked after each one.
 *
 * How: each operation runs on a cooperative thread (ucontext) of this one OS
 * thread, and the engine's yield points (mm/pgtable.c yield_point(), the
 * table-lock spin, arch_cpu_relax() in the harness) hand control to the
 * scheduler here, which decides which thread goes on. Nothing runs between
 * two yield points but the thread that owns the turn, so a schedule is just
 * the list of those decisions and replays exactly.
 *
 *  - Systematic: depth-first over the decisions, re-running each schedule
 *    from the start (stateless), with at most PREEMPTION_BOUND preemptions
 *    (switching away from a thread that could go on). Most concurrency bugs
 *    need one or two (Musuvathi and Qadeer, "Iterative context bounding",
 *    PLDI 2007).
 *  - Random: PCT (Burckhardt et al., ASPLOS 2010): random thread priorities
 *    and d - 1 random priority-change points, seeded, for the larger cases.
 *
 * A thread waiting for a held table lock is not runnable; a thread that spins
 * (arch_cpu_relax: a grace period, a ticket lock) must let another one run.
 * No runnable thread, or a schedule longer than MAX_STEPS, is a hang.
 *
 * After each schedule: the harness invariants (exact counts, table total),
 * no pending invalidation, the model TLB (no stale cached translation for the
 * CPUs that had touched the range before) and its break-before-make checker,
 * the return codes and the final translations at the probe addresses equal
 * those of one sequential order of the same operations, and each lockless
 * translate saw a translation some sequential order passes through.
 *
 * Scenarios are data (the table at the end). build/host/explore runs the
 * bounded set (make test-host); `make explore` runs it with larger bounds.
 * tests/host/mutations/ holds engine bugs it must catch (scripts/explore-mutants.sh).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>

#include "lib/ktap.h"
#include "mm/pmm.h"
#include "tests/host/harness.h"
#include "tests/host/model.h"

#define MAX_THREADS	3
#define STACK_BYTES	(256 * 1024)
#define MAX_STEPS	20000 /* yields in one schedule before it counts as a hang */
#define MAX_DECISIONS	8192
#define MAX_PROBES	24
#define MAX_ORDERS	6 /* 3! */
#define SEEN_PER_READER (MAX_ORDERS * (MAX_THREADS + 1))
#define VA0		0x0000008000000000ULL /* a 512G entry of its own */
#define PA0		0x0000000100000000ULL
#define PROBE_CPUS	3 /* model CPUs 0-2 touch the probes before the operations run */
#define MODEL_RACER	3 /* and CPU 3 reads every entry the moment it is written */

/* ---- Operations and scenarios ---- */

enum op_kind {
	OP_MAP = 1,  /* pt_map(va, PA0 + (va - VA0) + pa_shift, size), leaves up to level */
	OP_UNMAP,    /* pt_unmap */
	OP_PROTECT,  /* pt_protect to read-only */
	OP_SPLIT,    /* pt_split down to level */
	OP_COLLAPSE, /* pt_collapse */
	OP_RECLAIM,  /* pt_reclaim_scan */
	OP_TRANSLATE /* pt_translate(va): the lockless reader */
};

struct op {
	enum op_kind kind;
	u64 va, size;
	unsigned level; /* OP_MAP: largest leaf level; OP_SPLIT: the level to split to */
	u64 pa_shift;	/* OP_MAP: added to the identity-like output address */
};

struct scenario {
	const char *name;
	const struct pt_format *fmt;
	enum pt_reclaim reclaim;
	struct op setup[4]; /* run sequentially before the operations */
	struct op ops[MAX_THREADS];
	/* A schedule that once found a bug (print_schedule()'s form), replayed first. */
	const char *regression;
	unsigned nr_setup, nr_ops; /* counted at start (entries with a kind) */
};

static const struct pt_attrs attrs_rw = {PT_READ | PT_WRITE, PT_MEM_NORMAL};
static const struct pt_attrs attrs_ro = {PT_READ, PT_MEM_NORMAL};

static const char *const op_names[] = {"-",	"map",	    "unmap",   "protect",
				       "split", "collapse", "reclaim", "translate"};

static struct pgtable pt;
static struct pt_live_stats live;

/* What an operation returned, and for a translate what it saw. */
struct outcome {
	int rc;
	bool mapped;
	u64 pa;
	u32 prot;
};

static struct outcome run_op(const struct op *op)
{
	struct outcome out = {0};
	struct pt_translation t;

	switch (op->kind) {
	case OP_MAP:
		out.rc = pt_map(&pt, op->va, pa_init(PA0 + (op->va - VA0) + op->pa_shift), op->size,
				attrs_rw, PT_MAP_MAX_LEVEL(op->level));
		break;
	case OP_UNMAP: out.rc = pt_unmap(&pt, op->va, op->size); break;
	case OP_PROTECT: out.rc = pt_protect(&pt, op->va, op->size, attrs_ro); break;
	case OP_SPLIT: out.rc = pt_split(&pt, op->va, op->size, op->level); break;
	case OP_COLLAPSE: out.rc = pt_collapse(&pt, op->va, op->size); break;
	case OP_RECLAIM: out.rc = pt_reclaim_scan(&pt, op->va, op->size); break;
	case OP_TRANSLATE:
		out.mapped = pt_translate(&pt, op->va, &t);
		out.pa = out.mapped ? pa_addr(t.pa) : 0;
		out.prot = out.mapped ? t.attrs.prot : 0;
		break;
	}
	return out;
}

/* ---- Probes: where the final translations are compared ---- */

struct probes {
	unsigned n;
	u64 va[MAX_PROBES];
};

static void probe_add(struct probes *p, u64 va)
{
	va &= ~(u64)(PAGE_SIZE - 1);
	for (unsigned i = 0; i < p->n; i++)
		if (p->va[i] == va)
			return;
	if (p->n < MAX_PROBES && va >= VA0)
		p->va[p->n++] = va;
}

/* Each operation's first, last and middle page and its neighbours, and an address nobody maps. */
static void probes_for(const struct scenario *s, struct probes *p)
{
	p->n = 0;
	probe_add(p, VA0 + MiB(600));
	for (unsigned i = 0; i < s->nr_ops + s->nr_setup; i++) {
		const struct op *op = i < s->nr_ops ? &s->ops[i] : &s->setup[i - s->nr_ops];
		u64 size = op->size ? op->size : PAGE_SIZE;

		probe_add(p, op->va);
		probe_add(p, op->va + size - PAGE_SIZE);
		probe_add(p, op->va + size / 2);
		probe_add(p, op->va - PAGE_SIZE);
		probe_add(p, op->va + size);
	}
}

/* The final state a run is compared by: return codes and translations at the probes. */
struct result {
	int rc[MAX_THREADS];
	struct outcome at[MAX_PROBES];
};

static struct outcome translation_at(u64 va)
{
	struct op op = {.kind = OP_TRANSLATE, .va = va};

	return run_op(&op);
}

static bool same_translation(const struct outcome *a, const struct outcome *b)
{
	return a->mapped == b->mapped && a->pa == b->pa && a->prot == b->prot;
}

static void record_result(const struct scenario *s, const struct probes *p, struct result *r,
			  const struct outcome *outs)
{
	for (unsigned i = 0; i < s->nr_ops; i++)
		r->rc[i] = s->ops[i].kind == OP_TRANSLATE ? 0 : outs[i].rc;
	for (unsigned i = 0; i < p->n; i++)
		r->at[i] = translation_at(p->va[i]);
}

static bool same_result(const struct scenario *s, const struct probes *p, const struct result *a,
			const struct result *b)
{
	for (unsigned i = 0; i < s->nr_ops; i++)
		if (a->rc[i] != b->rc[i])
			return false;
	for (unsigned i = 0; i < p->n; i++)
		if (!same_translation(&a->at[i], &b->at[i]))
			return false;
	return true;
}

/* ---- A fresh table for each run ---- */

static void fresh_table(const struct scenario *s)
{
	pt_destroy(&pt);
	if (pt_init(&pt, s->fmt, &model_regime)) {
		printf("explore: pt_init failed\n");
		exit(2);
	}
	pt.reclaim = s->reclaim;
	pt.live_stats = &live;
	for (unsigned i = 0; i < s->nr_setup; i++)
		if (run_op(&s->setup[i]).rc) {
			printf("explore: %s: setup step %u failed\n", s->name, i);
			exit(2);
		}
	/* Probing CPUs cache the setup's translations: the operations must invalidate them. */
	model_reset(harness_bbm_level, s->fmt->name[0] == 'a');
	live = (struct pt_live_stats){0};
}

/* ---- Sequential orders: what a correct engine may end with ---- */

struct oracle {
	unsigned nr_orders;
	struct result final[MAX_ORDERS];
	/* Per translate operation: every translation its address has at some point of some order.
	 */
	unsigned nr_seen[MAX_THREADS];
	struct outcome seen[MAX_THREADS][SEEN_PER_READER];
};

static void remember_seen(struct oracle *o, const struct scenario *s, unsigned reader)
{
	struct outcome now = translation_at(s->ops[reader].va);

	for (unsigned i = 0; i < o->nr_seen[reader]; i++)
		if (same_translation(&o->seen[reader][i], &now))
			return;
	o->seen[reader][o->nr_seen[reader]++] = now;
}

static void remember_all_seen(struct oracle *o, const struct scenario *s)
{
	for (unsigned r = 0; r < s->nr_ops; r++)
		if (s->ops[r].kind == OP_TRANSLATE)
			remember_seen(o, s, r);
}

static bool next_permutation(unsigned *a, unsigned n)
{
	int i = (int)n - 2, j = (int)n - 1;

	while (i >= 0 && a[i] >= a[i + 1])
		i--;
	if (i < 0)
		return false;
	while (a[j] <= a[i])
		j--;
	unsigned t = a[i];
	a[i] = a[j];
	a[j] = t;
	for (unsigned l = (unsigned)i + 1, r = n - 1; l < r; l++, r--) {
		t = a[l];
		a[l] = a[r];
		a[r] = t;
	}
	return true;
}

static void build_oracle(const struct scenario *s, const struct probes *p, struct oracle *o)
{
	unsigned order[MAX_THREADS] = {0, 1, 2};

	memset(o, 0, sizeof(*o));
	do {
		struct outcome outs[MAX_THREADS];

		fresh_table(s);
		remember_all_seen(o, s);
		for (unsigned i = 0; i < s->nr_ops; i++) {
			outs[order[i]] = run_op(&s->ops[order[i]]);
			remember_all_seen(o, s);
		}
		record_result(s, p, &o->final[o->nr_orders++], outs);
	} while (next_permutation(order, s->nr_ops));
}

/* ---- Cooperative threads and the scheduler ---- */

struct thread {
	ucontext_t ctx;
	const struct op *op;
	struct outcome out;
	bool done;
	const char *point; /* where it last yielded */
	const void *addr;
	unsigned steps;
	char stack[STACK_BYTES] __attribute__((aligned(16)));
};

static struct thread threads[MAX_THREADS];
static unsigned nr_threads, current;
static ucontext_t scheduler_ctx;

/* One decision: the runnable threads in the order tried, and which was taken. */
struct decision {
	u8 nr, taken;
	u8 candidate[MAX_THREADS];
	u8 preemptive; /* the first candidate could go on: taking another one preempts it */
};

enum strategy { SYSTEMATIC, PCT };

static struct {
	enum strategy strategy;
	unsigned bound;			    /* SYSTEMATIC: preemptions allowed */
	struct decision log[MAX_DECISIONS]; /* this run's decisions */
	unsigned nr_log;
	unsigned nr_forced; /* log[0..nr_forced) are replayed, not chosen */
	/* A regression schedule: the thread to take at each decision, by number. */
	u8 replay[MAX_DECISIONS];
	unsigned nr_replay;
	unsigned preemptions;
	unsigned steps;
	bool hang, starting;
	/* PCT */
	u64 rng;
	unsigned priority[MAX_THREADS];
	unsigned change_at[MAX_THREADS]; /* steps at which the running thread's priority drops */
	unsigned nr_changes;
} sched;

static bool runnable(const struct thread *t)
{
	if (t->done)
		return false;
	/* A waiter for a held lock cannot get it: the holder must run first. */
	if (t->point && !strcmp(t->point, "lock-wait"))
		return !spin_is_locked((struct spinlock *)t->addr);
	return true;
}

static bool spinning(const struct thread *t)
{
	return t->point && !strcmp(t->point, "spin");
}

static u64 rng_next(void)
{
	sched.rng ^= sched.rng << 13;
	sched.rng ^= sched.rng >> 7;
	sched.rng ^= sched.rng << 17;
	return sched.rng;
}

/*
 * The candidates in the order a systematic search tries them: the current
 * thread first (no preemption) unless it spins or cannot go on, then the
 * others in turn after it.
 */
static unsigned candidates(u8 *out, bool *preemptive)
{
	const struct thread *cur = &threads[current];
	unsigned n = 0;

	*preemptive = runnable(cur) && !spinning(cur) && !sched.starting;
	if (*preemptive || sched.starting)
		out[n++] = (u8)current;
	for (unsigned k = 1; k <= nr_threads; k++) {
		unsigned i = (current + k) % nr_threads;

		if (i != current && runnable(&threads[i]))
			out[n++] = (u8)i;
	}
	/* A spinner with nobody else to run spins on: the hang check sees it. */
	if (!n && runnable(cur))
		out[n++] = (u8)current;
	return n;
}

static unsigned pct_pick(const u8 *cand, unsigned n)
{
	unsigned best = 0;

	for (unsigned c = 0; c < sched.nr_changes; c++)
		if (sched.change_at[c] == sched.steps)
			sched.priority[current] = c; /* below every starting priority */
	for (unsigned i = 1; i < n; i++)
		if (sched.priority[cand[i]] > sched.priority[cand[best]])
			best = i;
	/* The top thread spins: it waits for another one, which runs instead. */
	if (spinning(&threads[cand[best]]) && n > 1)
		best = best ? 0 : 1;
	return best;
}

/* Where thread sits among d's candidates (0, the default, when it cannot run there). */
static unsigned candidate_index(const struct decision *d, unsigned thread)
{
	for (unsigned i = 0; i < d->nr; i++)
		if (d->candidate[i] == thread)
			return i;
	return 0;
}

/* Picks the next thread; returns MAX_THREADS when none can run. */
static unsigned decide(void)
{
	struct decision d = {0};
	bool preemptive;
	unsigned idx = 0;

	d.nr = (u8)candidates(d.candidate, &preemptive);
	d.preemptive = preemptive;
	if (!d.nr)
		return MAX_THREADS;
	if (d.nr == 1)
		return d.candidate[0];
	if (sched.nr_log >= MAX_DECISIONS) {
		sched.hang = true;
		return MAX_THREADS;
	}
	if (sched.nr_log < sched.nr_forced)
		idx = sched.log[sched.nr_log].taken;
	else if (sched.nr_log < sched.nr_replay)
		idx = candidate_index(&d, sched.replay[sched.nr_log]);
	else if (sched.strategy == PCT)
		idx = pct_pick(d.candidate, d.nr);
	if (idx >= d.nr)
		idx = 0;
	d.taken = (u8)idx;
	if (idx && preemptive)
		sched.preemptions++;
	sched.log[sched.nr_log++] = d;
	return d.candidate[idx];
}

/* The engine's yield points (host_yield_hook): back to the scheduler. */
static void yield_to_scheduler(const char *point, const void *addr)
{
	struct thread *t = &threads[current];

	t->point = point;
	t->addr = addr;
	t->steps++;
	swapcontext(&t->ctx, &scheduler_ctx);
}

static void thread_main(unsigned index)
{
	struct thread *t = &threads[index];

	t->out = run_op(t->op);
	t->done = true;
	t->point = NULL;
}

static void thread_start(unsigned i, const struct op *op)
{
	struct thread *t = &threads[i];

	t->op = op;
	t->done = false;
	t->point = NULL;
	t->addr = NULL;
	t->steps = 0;
	getcontext(&t->ctx);
	t->ctx.uc_stack.ss_sp = t->stack;
	t->ctx.uc_stack.ss_size = sizeof(t->stack);
	t->ctx.uc_link = &scheduler_ctx;
	makecontext(&t->ctx, (void (*)(void))thread_main, 1, i);
}

/* Runs the scenario's operations concurrently under the current schedule settings. */
static void run_schedule(const struct scenario *s)
{
	fresh_table(s);
	for (unsigned c = 0; c < PROBE_CPUS; c++)
		for (unsigned i = 0; i < s->nr_ops; i++)
			model_touch(&pt, c, s->ops[i].va);
	model_racer_cpu = MODEL_RACER;
	nr_threads = s->nr_ops;
	for (unsigned i = 0; i < nr_threads; i++)
		thread_start(i, &s->ops[i]);
	sched.nr_log = 0;
	sched.preemptions = 0;
	sched.steps = 0;
	sched.hang = false;
	current = 0;
	/* The first decision (who starts) is free, like every switch away from a finished thread.
	 */
	sched.starting = true;
	host_yield_hook = yield_to_scheduler;
	for (;;) {
		unsigned next, alive = 0;

		for (unsigned i = 0; i < nr_threads; i++)
			alive += !threads[i].done;
		if (!alive)
			break;
		next = decide();
		/* Nobody can run (a deadlock), or the run goes on and on (a livelock). */
		if (next == MAX_THREADS || ++sched.steps > MAX_STEPS) {
			sched.hang = true;
			break;
		}
		sched.starting = false;
		harness_switch_cpu(next + 1);
		current = next;
		swapcontext(&scheduler_ctx, &threads[next].ctx);
	}
	host_yield_hook = NULL;
	harness_switch_cpu(0);
	/* The racer stays on until the checks: its last access may still be pending. */
}

/* ---- Checking one schedule ---- */

static const struct scenario *failed_scenario;

/* The threads in turn, run-length coded: "1x4 0x16" is four decisions for thread 1, then 0. */
static void print_schedule(void)
{
	char line[600];
	unsigned len, i = 0;

	len = (unsigned)snprintf(line, sizeof(line),
				 "schedule (%u decisions, %u preemptions):", sched.nr_log,
				 sched.preemptions);
	while (i < sched.nr_log && len < sizeof(line) - 16) {
		unsigned who = sched.log[i].candidate[sched.log[i].taken], run = 0;

		while (i < sched.nr_log && sched.log[i].candidate[sched.log[i].taken] == who)
			i++, run++;
		len += (unsigned)snprintf(line + len, sizeof(line) - len, " %ux%u", who, run);
	}
	ktap_diag("%s", line);
}

static bool check_schedule(const struct scenario *s, const struct probes *p, const struct oracle *o)
{
	struct outcome outs[MAX_THREADS];
	struct result r;
	bool ok = true, matched = false;

	if (sched.hang) {
		for (unsigned i = 0; i < nr_threads; i++)
			if (!threads[i].done)
				ktap_diag("hang: thread %u (%s) stuck at %s after %u steps", i,
					  op_names[threads[i].op->kind],
					  threads[i].point ? threads[i].point : "?",
					  threads[i].steps);
		/* Its threads cannot be resumed: the run stops here. */
		print_schedule();
		return false;
	}
	if (!harness_pt_invariants(&pt))
		ok = false;
	if (pt.unflushed) {
		ktap_diag("%u walks still hold invalidations", pt.unflushed);
		ok = false;
	}
	if (model_stale(&pt)) {
		ktap_diag("a CPU still caches a translation the tables no longer have");
		ok = false;
	}
	if (model_bbm_violations()) {
		ktap_diag("%u break-before-make violations", model_bbm_violations());
		ok = false;
	}
	for (unsigned i = 0; i < nr_threads; i++)
		outs[i] = threads[i].out;
	record_result(s, p, &r, outs);
	for (unsigned k = 0; k < o->nr_orders && !matched; k++)
		matched = same_result(s, p, &r, &o->final[k]);
	if (!matched) {
		ktap_diag("the end state matches no sequential order of the operations:");
		for (unsigned i = 0; i < s->nr_ops; i++)
			ktap_diag("  op %u (%s) returned %d", i, op_names[s->ops[i].kind], r.rc[i]);
		for (unsigned i = 0; i < p->n; i++)
			ktap_diag("  0x%llx -> %s 0x%llx prot 0x%x", (unsigned long long)p->va[i],
				  r.at[i].mapped ? "pa" : "unmapped",
				  (unsigned long long)r.at[i].pa, r.at[i].prot);
		ok = false;
	}
	for (unsigned i = 0; i < s->nr_ops; i++) {
		/* A break's window reads as unmapped (rule 4): the fault path waits it out. */
		bool seen = s->ops[i].kind != OP_TRANSLATE || (!outs[i].mapped && live.breaks);

		for (unsigned k = 0; !seen && k < o->nr_seen[i]; k++)
			seen = same_translation(&outs[i], &o->seen[i][k]);
		if (!seen) {
			ktap_diag(
				"translate of 0x%llx saw %s 0x%llx, which no sequential order has",
				(unsigned long long)s->ops[i].va,
				outs[i].mapped ? "pa" : "unmapped", (unsigned long long)outs[i].pa);
			ok = false;
		}
	}
	if (!ok)
		print_schedule();
	return ok;
}

/* ---- Strategies ---- */

/*
 * The next schedule of the depth-first search: the deepest decision with an
 * untried candidate the preemption bound allows. False when all are done.
 */
static bool backtrack(void)
{
	for (int k = (int)sched.nr_log - 1; k >= 0; k--) {
		struct decision *d = &sched.log[k];
		unsigned before = 0;

		for (int j = 0; j < k; j++)
			before += sched.log[j].taken && sched.log[j].preemptive;
		if (d->taken + 1u >= d->nr)
			continue;
		if (d->preemptive && before + 1 > sched.bound)
			continue;
		d->taken++;
		sched.nr_forced = (unsigned)k + 1;
		return true;
	}
	return false;
}

/* Parses "1x4 0x6 1x12" into sched.replay; false when malformed. */
static bool parse_replay(const char *text)
{
	sched.nr_replay = 0;
	while (text && *text) {
		char *end;
		unsigned long who = strtoul(text, &end, 10), run;

		if (end == text || *end != 'x' || who >= MAX_THREADS)
			return false;
		run = strtoul(end + 1, &end, 10);
		if (!run || sched.nr_replay + run > MAX_DECISIONS)
			return false;
		while (run--)
			sched.replay[sched.nr_replay++] = (u8)who;
		text = end + strspn(end, " ");
	}
	return true;
}

struct exploration {
	u64 schedules;
	u64 max_steps;
	bool ok;
};

/* The scenario's regression schedule, once. */
static void explore_regression(const struct scenario *s, const struct probes *p,
			       const struct oracle *o, struct exploration *x)
{
	if (!parse_replay(s->regression)) {
		ktap_diag("%s: bad regression schedule \"%s\"", s->name, s->regression);
		x->ok = false;
		return;
	}
	sched.strategy = SYSTEMATIC;
	sched.nr_forced = 0;
	run_schedule(s);
	sched.nr_replay = 0;
	x->schedules++;
	x->max_steps = MAX(x->max_steps, sched.steps);
	if (!check_schedule(s, p, o)) {
		ktap_diag("%s: its regression schedule fails", s->name);
		x->ok = false;
	}
}

/*
 * Every schedule with at most bound preemptions, up to cap of them. Returns
 * whether the search was complete.
 */
static bool explore_systematic(const struct scenario *s, const struct probes *p,
			       const struct oracle *o, unsigned bound, u64 cap,
			       struct exploration *x)
{
	u64 runs = 0;

	sched.strategy = SYSTEMATIC;
	sched.bound = bound;
	sched.nr_forced = 0;
	do {
		run_schedule(s);
		runs++;
		x->schedules++;
		x->max_steps = MAX(x->max_steps, sched.steps);
		if (!check_schedule(s, p, o)) {
			x->ok = false;
			return false;
		}
	} while (runs < cap && backtrack());
	ktap_diag("%s: %llu schedules with up to %u preemptions%s", s->name,
		  (unsigned long long)runs, bound, runs < cap ? " (all of them)" : " (capped)");
	return runs < cap;
}

static void explore_pct(const struct scenario *s, const struct probes *p, const struct oracle *o,
			unsigned depth, u64 runs, u64 seed, struct exploration *x)
{
	sched.strategy = PCT;
	sched.nr_forced = 0;
	for (u64 r = 0; r < runs; r++) {
		sched.rng = seed * 0x9e3779b97f4a7c15ULL + r + 1;
		for (unsigned i = 0; i < s->nr_ops; i++)
			sched.priority[i] = depth + (unsigned)(rng_next() % 1000);
		sched.nr_changes = depth - 1;
		for (unsigned c = 0; c < sched.nr_changes; c++)
			sched.change_at[c] = 1 + (unsigned)(rng_next() % (x->max_steps + 1));
		run_schedule(s);
		x->schedules++;
		x->max_steps = MAX(x->max_steps, sched.steps);
		if (!check_schedule(s, p, o)) {
			ktap_diag("PCT seed %llu run %llu", (unsigned long long)seed,
				  (unsigned long long)r);
			x->ok = false;
			return;
		}
	}
}

/* ---- The scenarios ---- */

/* clang-format off */
#define MAP(v, sz, lvl)		{OP_MAP, (v), (sz), (lvl), 0}
#define MAP_AT(v, sz, lvl, sh)	{OP_MAP, (v), (sz), (lvl), (sh)}
#define UNMAP(v, sz)		{OP_UNMAP, (v), (sz), 0, 0}
#define PROTECT(v, sz)		{OP_PROTECT, (v), (sz), 0, 0}
#define SPLIT(v, sz, lvl)	{OP_SPLIT, (v), (sz), (lvl), 0}
#define COLLAPSE(v, sz)		{OP_COLLAPSE, (v), (sz), 0, 0}
#define RECLAIM(v, sz)		{OP_RECLAIM, (v), (sz), 0, 0}
#define TRANSLATE(v)		{OP_TRANSLATE, (v), 0, 0, 0}
/* clang-format on */

/* A level-2 table under VA0 whose 1G entry for VA0 is still empty (the walker/install race). */
#define EMPTY_1G_SETUP                                                                             \
	{                                                                                          \
		MAP(VA0 + GiB(5), PAGE_SIZE, 0)                                                    \
	}
/* The lockless demand-fault path: one 4K page. */
#define FAULT(v) MAP(v, PAGE_SIZE, 0)

static const struct pt_format *const arm64 = &arm64_s1_el2_format;
static const struct pt_format *const x86 = &x86_64_4level_format;

/* The bounded set, in make test-host. */
/* clang-format off */
static const struct scenario scenarios[] = {
	/*
	 * The race of issue 11: a walk's snapshot of an empty entry against a
	 * lockless installer. The protect case keeps the schedule that caught it
	 * (tests/host/mutations/visitor-reload.diff).
	 */
	{"walker-install/protect/arm64", arm64, PT_RECLAIM_IMMEDIATE, EMPTY_1G_SETUP,
	 {PROTECT(VA0 + MiB(2), PAGE_SIZE), FAULT(VA0 + KiB(4))}, .regression = "1x4 0x6 1x12"},
	{"walker-install/protect/x86", x86, PT_RECLAIM_IMMEDIATE, EMPTY_1G_SETUP,
	 {PROTECT(VA0 + MiB(2), PAGE_SIZE), FAULT(VA0 + KiB(4))}, .regression = "1x4 0x6 1x12"},
	{"walker-install/unmap/arm64", arm64, PT_RECLAIM_IMMEDIATE, EMPTY_1G_SETUP,
	 {UNMAP(VA0 + MiB(2), 2 * PAGE_SIZE), FAULT(VA0 + KiB(4))}},
	{"walker-install/split/x86", x86, PT_RECLAIM_IMMEDIATE, EMPTY_1G_SETUP,
	 {SPLIT(VA0 + MiB(2), PAGE_SIZE, 0), FAULT(VA0 + KiB(4))}},
	{"walker-install/map1G/arm64", arm64, PT_RECLAIM_IMMEDIATE, EMPTY_1G_SETUP,
	 {MAP(VA0, GiB(1), 2), FAULT(VA0 + KiB(4))}},
	/* Two faults installing the same missing tables, and two maps of one page. */
	{"fault-fault/same-1G/arm64", arm64, PT_RECLAIM_IMMEDIATE, EMPTY_1G_SETUP,
	 {FAULT(VA0 + KiB(4)), FAULT(VA0 + MiB(2) + KiB(4))}},
	{"fault-fault/same-page/x86", x86, PT_RECLAIM_IMMEDIATE, EMPTY_1G_SETUP,
	 {FAULT(VA0 + KiB(4)), MAP_AT(VA0 + KiB(4), PAGE_SIZE, 0, GiB(64))}},
	/* A fault against the reclaim of the empty tables it descends through. */
	{"fault-reclaim/deferred/arm64", arm64, PT_RECLAIM_DEFERRED,
	 {FAULT(VA0 + MiB(4)), UNMAP(VA0 + MiB(4), 2 * PAGE_SIZE)},
	 {RECLAIM(VA0, GiB(1)), FAULT(VA0 + KiB(4))}},
	{"fault-unmap/immediate/x86", x86, PT_RECLAIM_IMMEDIATE, {FAULT(VA0 + KiB(8))},
	 {UNMAP(VA0, MiB(2)), FAULT(VA0 + KiB(4))}},
	/* A fault refilling what an unmap cleared and has not invalidated yet. */
	{"unmap-refault/arm64", arm64, PT_RECLAIM_IMMEDIATE, {MAP(VA0, MiB(2), 0)},
	 {UNMAP(VA0, 2 * PAGE_SIZE), MAP_AT(VA0 + KiB(4), PAGE_SIZE, 0, GiB(64))}},
	/* A fault into a 2M run being collapsed, and a split racing a protect. */
	{"fault-collapse/arm64", arm64, PT_RECLAIM_IMMEDIATE, {MAP(VA0, MiB(2), 0)},
	 {COLLAPSE(VA0, GiB(1)), MAP_AT(VA0 + KiB(4), PAGE_SIZE, 0, GiB(64))}},
	{"split-protect/x86", x86, PT_RECLAIM_IMMEDIATE, {MAP(VA0, MiB(2), 1)},
	 {SPLIT(VA0, MiB(2), 0), PROTECT(VA0 + KiB(4), PAGE_SIZE)}},
	/* A lockless reader during a split and during an unmap with reclaim. */
	{"split-translate/arm64", arm64, PT_RECLAIM_IMMEDIATE, {MAP(VA0, MiB(2), 1)},
	 {SPLIT(VA0, MiB(2), 0), TRANSLATE(VA0 + KiB(12))}},
	{"unmap-translate/x86", x86, PT_RECLAIM_IMMEDIATE, {MAP(VA0, MiB(4), 0)},
	 {UNMAP(VA0, MiB(2)), TRANSLATE(VA0 + KiB(12))}},
	/* Three at once: a fault, an unmap and a reclaim scan in one 1G. */
	{"fault-unmap-reclaim/arm64", arm64, PT_RECLAIM_DEFERRED, {FAULT(VA0 + MiB(2))},
	 {FAULT(VA0 + KiB(4)), UNMAP(VA0 + MiB(2), 2 * PAGE_SIZE), RECLAIM(VA0, GiB(1))}},
};
/* clang-format on */

/* Bounds: the systematic search's preemptions and schedule cap, and PCT's runs. */
struct bounds {
	unsigned preemptions;
	u64 cap, pct_runs;
	unsigned pct_depth;
};

static struct bounds bounds = {2, 3000, 100, 3};

static unsigned count_ops(const struct op *ops, unsigned max)
{
	unsigned n = 0;

	while (n < max && ops[n].kind)
		n++;
	return n;
}

static void explore_scenario(const struct scenario *table_entry)
{
	static struct oracle oracle;
	static struct scenario copy;
	const struct scenario *s = &copy;
	struct probes probes;
	struct exploration x = {.ok = true};
	/* Three threads: one preemption fewer (two is already tens of thousands of schedules). */
	unsigned bound;

	copy = *table_entry;
	copy.nr_setup = count_ops(copy.setup, ARRAY_SIZE(copy.setup));
	copy.nr_ops = count_ops(copy.ops, ARRAY_SIZE(copy.ops));
	bound = s->nr_ops > 2 ? MAX(bounds.preemptions, 2u) - 1 : bounds.preemptions;

	failed_scenario = s;
	probes_for(s, &probes);
	build_oracle(s, &probes, &oracle);
	if (s->regression)
		explore_regression(s, &probes, &oracle, &x);
	/* Iterative context bounding: all of one preemption before a sample of more. */
	for (unsigned b = 1; x.ok && b <= bound; b++)
		if (!explore_systematic(s, &probes, &oracle, b,
					b == 1 ? 10 * bounds.cap : bounds.cap, &x))
			break;
	ktap_diag("%s: %s %llu schedules (longest %llu steps), %u sequential orders", s->name,
		  x.ok ? "passed" : "FAILED after", (unsigned long long)x.schedules,
		  (unsigned long long)x.max_steps, oracle.nr_orders);
	if (x.ok && bounds.pct_runs) {
		u64 systematic = x.schedules;

		explore_pct(s, &probes, &oracle, bounds.pct_depth, bounds.pct_runs, 1, &x);
		ktap_diag("%s: %s %llu PCT schedules (depth %u)", s->name,
			  x.ok ? "passed" : "FAILED after",
			  (unsigned long long)(x.schedules - systematic), bounds.pct_depth);
	}
	EXPECT(x.ok);
	failed_scenario = NULL;
	if (!x.ok) {
		/* A broken tree cannot be destroyed safely: start the next scenario on new memory.
		 */
		harness_reset_memory();
		if (pt_init(&pt, s->fmt, &model_regime))
			exit(2);
	}
}

/* An engine BUG_ON() or panic() in the middle of a schedule: say which, then die. */
static void on_abort(int sig)
{
	(void)sig;
	host_yield_hook = NULL;
	if (failed_scenario) {
		printf("# explore: %s aborted in this schedule\n", failed_scenario->name);
		print_schedule();
	}
	fflush(stdout);
	signal(SIGABRT, SIG_DFL);
	abort();
}

static unsigned nr_selected;
static const char *selected[16];

static bool is_selected(const struct scenario *s)
{
	bool chosen = !nr_selected;

	for (unsigned k = 0; k < nr_selected; k++)
		chosen = chosen || !strncmp(s->name, selected[k], strlen(selected[k]));
	return chosen;
}

/* One KTAP case per selected scenario, run in table order. */
static const struct scenario *case_scenario[ARRAY_SIZE(scenarios)];
static unsigned next_case;

static void run_next_case(void)
{
	explore_scenario(case_scenario[next_case++]);
}

static struct ktap_case cases[ARRAY_SIZE(scenarios)];
static struct ktap_suite suite_host_explore = {.name = "host-explore", .cases = cases};

static void build_suite(void)
{
	for (unsigned i = 0; i < ARRAY_SIZE(scenarios); i++) {
		if (!is_selected(&scenarios[i]))
			continue;
		case_scenario[suite_host_explore.nr_cases] = &scenarios[i];
		cases[suite_host_explore.nr_cases++] =
			(struct ktap_case){scenarios[i].name, run_next_case};
	}
}

static bool all(const struct ktap_suite *s)
{
	(void)s;
	return true;
}

static void usage(void)
{
	fprintf(stderr, "usage: explore [--preemptions N] [--cap N] [--pct-runs N] [--pct-depth N] "
			"[scenario-prefix...]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct ktap_suite *const suites[] = {&suite_host_explore};

	for (int i = 1; i < argc; i++) {
		u64 *num = NULL;
		unsigned *small = NULL;

		if (!strcmp(argv[i], "--preemptions"))
			small = &bounds.preemptions;
		else if (!strcmp(argv[i], "--pct-depth"))
			small = &bounds.pct_depth;
		else if (!strcmp(argv[i], "--cap"))
			num = &bounds.cap;
		else if (!strcmp(argv[i], "--pct-runs"))
			num = &bounds.pct_runs;
		else if (argv[i][0] == '-')
			usage();
		else if (nr_selected < ARRAY_SIZE(selected))
			selected[nr_selected++] = argv[i];
		if ((num || small) && ++i >= argc)
			usage();
		if (num)
			*num = strtoull(argv[i], NULL, 0);
		if (small)
			*small = (unsigned)strtoul(argv[i], NULL, 0);
	}
	if (!bounds.pct_depth)
		usage();
	setvbuf(stdout, NULL, _IONBF, 0);
	signal(SIGABRT, on_abort);
	harness_reset_memory();
	if (pt_init(&pt, arm64, &model_regime))
		return 2;
	build_suite();
	return ktap_run(suites, ARRAY_SIZE(suites), all) ? 1 : 0;
}
