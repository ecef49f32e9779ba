/* SPDX-License-Identifier: MIT */
/*
 * HugeTLB Vmemmap Optimization: while a 2 MiB or 1 GiB block is handed out as
 * one huge page, the struct pages of its tail frames are all alike, so the
 * vmemmap pages holding only tails are remapped read-only to one shared page
 * and their frames go back to the allocator. Restoring (before the block is
 * freed) gives each tail page its own frame again. Both directions change the
 * kernel's live stage-1 tables while other CPUs read struct pages; how the
 * changes are sequenced is the strategy (docs/bbm-study.md).
 */
#ifndef MM_HVO_H
#define MM_HVO_H

#include "lib/types.h"

enum hvo_strategy {
	HVO_OFF,
	/* a: every change break-before-make, the other CPUs parked meanwhile (IPI rendezvous). */
	HVO_RENDEZVOUS,
	/* b: every change break-before-make; a reader that faults waits for the make. */
	HVO_FIXUP,
	/* c: the block split with FEAT_BBM level 1's nT sequence; tail remaps break (fixup). */
	HVO_NT,
	/* d: the block split directly (FEAT_BBM level 2); tail remaps break (fixup). */
	HVO_DIRECT,
	/* e: tails made read-only, then moved between read-only pages: no break but the split's. */
	HVO_NO_BREAK,
	HVO_STRATEGIES,
};

struct hvo_stats {
	u64 optimized, restored, failed;
	u64 vmemmap_pages_freed;    /* tail vmemmap frames given back, all time */
	u64 vmemmap_pages_restored; /* frames given to tail vmemmap pages again */
	s64 saved_pages;	    /* freed - restored - vmemmap tables kept: saved now */
	u64 fixup_waits, fixup_wait_ticks, fixup_wait_ticks_max;
	u64 rendezvous, rendezvous_ticks;
	u64 remap_ticks, remap_ticks_max; /* each optimize or restore, end to end */
	/* The kernel tables' live sequences (pt_live_stats), HVO's and everyone else's. */
	u64 breaks, break_ticks, break_ticks_max, nt_sequences, direct_resizes;
};

/*
 * How strategy a reaches the other CPUs: runs fn(arg) on cpu without waiting
 * for it; 0, or nonzero when cpu is not online (kernel/smp.h's smp_call()).
 */
typedef int (*hvo_cpu_call_fn)(unsigned cpu, void (*fn)(void *), void *arg);
/*
 * The default: its tail remaps never break, and the one split per 2M of
 * vmemmap uses the best sequence the CPU has (docs/bbm-study.md has the
 * figures behind the choice).
 */
#define HVO_DEFAULT HVO_NO_BREAK
/*
 * Sets HVO up with strategy want (the default, with a message, when this CPU
 * cannot use want) and cpu_call for its rendezvous, and prints the choice.
 */
void hvo_init(enum hvo_strategy want, hvo_cpu_call_fn cpu_call);
enum hvo_strategy hvo_strategy(void);
/* Why this CPU cannot use s, or NULL when it can. */
const char *hvo_strategy_unusable(enum hvo_strategy s);
/* Switches strategy (tests, the BBM study); false if the CPU cannot use it. */
bool hvo_set_strategy(enum hvo_strategy s);
const char *hvo_strategy_name(enum hvo_strategy s);

/* Optimizes the vmemmap of the allocated block at head (order 9 or 18). */
bool hvo_optimize(paddr_t head, unsigned order);
/* Gives the block's tail struct pages their own memory again. False without memory. */
bool hvo_restore(paddr_t head, unsigned order);
bool hvo_is_optimized(paddr_t head);

void hvo_get_stats(struct hvo_stats *out);
/* Zeroes the maxima, so the next hvo_get_stats() shows those of what ran since. */
void hvo_reset_peaks(void);
void hvo_report(void);

#endif
