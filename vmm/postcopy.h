/* SPDX-License-Identifier: MIT */
/*
 * Postcopy demand paging with high-granularity mapping (HGM), shared by every
 * backend. A VM in postcopy has its RAM slots backed by host huge blocks that
 * start empty; a page source (vmm/source.h) models the migration stream.
 *
 *   fault    a stage-2 fault on an absent page requests exactly that 4 KiB
 *            (urgent), maps only it at 4K (the engine creates tables only on
 *            its path) and resumes the vCPU.
 *   mover    a loop on another physical CPU streams the remaining pages in
 *            policy order and installs them the same way.
 *   collapse when all 512 pages of a 2M region are mapped it becomes one 2M
 *            leaf; when all 512 regions of a 1G block are, one 1G leaf.
 *   discard  unmaps, forgets the content; a later touch fetches it again.
 *
 * Locking: one spinlock per 2 MiB region (faults in different regions never
 * share a lock); claiming a page for transfer and installing it take it, the
 * transfer itself runs unlocked. Faults versus invalidations (collapse,
 * discard) use the VM's invalidation sequence: a resolver samples it before
 * looking at the page and abandons its install (retries) if it moved by the
 * time it holds the region lock. docs/postcopy.md has the full design.
 */
#ifndef VMM_POSTCOPY_H
#define VMM_POSTCOPY_H

#include "kernel/smp.h"
#include "lib/spinlock.h"
#include "vmm/source.h"

struct vm;
struct vm_slot;

/* The granule a fault waits for and maps. 4K is HGM; 2M and 1G are the comparison modes. */
enum postcopy_unit {
	POSTCOPY_UNIT_4K,
	POSTCOPY_UNIT_2M,
	POSTCOPY_UNIT_1G,
};

/* The order the mover streams pages in. */
enum postcopy_policy {
	POSTCOPY_SEQUENTIAL,	/* ascending guest-physical address */
	POSTCOPY_AROUND_FAULTS, /* first the 2M region of the latest fault, then ascending */
};

/* What a discarded page holds when it is touched again. */
enum postcopy_after_discard {
	POSTCOPY_DISCARD_REFETCH, /* the source's content, fetched again */
	POSTCOPY_DISCARD_ZERO,	  /* zeros (the balloon / MADV_DONTNEED semantics) */
};

struct postcopy_config {
	struct page_source source;
	enum postcopy_unit unit;
	enum postcopy_policy policy;
	enum postcopy_after_discard after_discard;
};

/*
 * Fault-to-resume latency in counter ticks: a log-linear histogram (8
 * sub-buckets per power of two, so a percentile is within 12.5%) plus the
 * exact maximum. Fixed size, lock-free (atomic increments).
 */
#define LATENCY_SUB_BITS 3
#define LATENCY_BUCKETS	 ((64 - LATENCY_SUB_BITS + 1) << LATENCY_SUB_BITS)

struct latency_hist {
	u64 count, sum, max;
	u64 buckets[LATENCY_BUCKETS];
};

/* Counters (atomic); splits and collapses are indexed [0] = 2M<->4K, [1] = 1G<->2M. */
struct postcopy_stats {
	u64 faults;	   /* postcopy stage-2 faults resolved */
	u64 fault_retries; /* installs abandoned because the invalidation sequence moved */
	u64 mover_retries;
	u64 fault_waits;     /* faults that found their page already in flight */
	u64 urgent_requests; /* requests that paid the source's latency */
	u64 pages_arrived;   /* arrivals recorded: exactly once per absence */
	u64 pages_streamed;  /* of those, brought by the mover */
	u64 arrival_dups;    /* an arrival recorded for a page already present: a bug if not 0 */
	u64 pages_discarded;
	u64 splits[2];	      /* a 2M region mapped through a 4K table / a 1G through a 2M one */
	u64 collapses[2];     /* 512 x 4K -> one 2M leaf / 512 x 2M -> one 1G leaf */
	u64 collapse_misses;  /* a complete region the engine did not turn into a leaf */
	u64 tables_allocated; /* 4K- and 2M-level tables the slots' transitions created */
	u64 tables_freed;     /* ... and freed (collapse, reclaim after discard) */
	u64 source_failures;  /* transfers that never completed */
	struct latency_hist latency; /* every fault */
	/* Faults that sent the source a request (not those that found their page arriving). */
	struct latency_hist urgent_latency;
};

enum mover_state {
	MOVER_IDLE,
	MOVER_RUNNING,
	MOVER_DONE,
};

/* A VM's postcopy state (inside struct vm). */
struct vm_postcopy {
	bool active;
	struct postcopy_config cfg;
	/* Bumped (under the region locks it covers) by every invalidation of a stage-2 entry. */
	u64 inval_seq;
	u64 hint; /* 1 + the page of the latest fault: the mover's AROUND_FAULTS target */
	u32 mover_state, mover_stop;
	unsigned mover_cpu;
	struct smp_work mover_work; /* the mover runs as a work item on mover_cpu */
	int mover_error;	    /* the mover's first error (a page the source lost), or 0 */
	u64 mover_ticks;	    /* how long the mover ran */
	u64 step_cursor;	    /* vm_postcopy_stream_step()'s next offset into the slots */
	struct postcopy_stats stats;
};

/* Per-2M-region state (one per region of a postcopy slot). */
enum region_state {
	REGION_EMPTY, /* nothing mapped */
	REGION_TABLE, /* some pages mapped at 4K through a table */
	REGION_LEAF,  /* one 2M leaf (or part of a 1G one) */
};

struct pc_region {
	struct spinlock lock;
	u16 mapped; /* 4K pages mapped, 0..512 */
	u8 state;   /* enum region_state */
};

/* Per-1G-block state. */
struct pc_gib {
	u32 nonempty; /* regions not REGION_EMPTY: a 2M-level table (or leaf) exists */
	u32 full;     /* regions that are REGION_LEAF */
	u32 leaf;     /* mapped by one 1G leaf */
};

/* A slot's postcopy state: bitmaps one bit per 4K page, and region metadata. */
struct slot_postcopy {
	u64 *requested; /* claimed for transfer (and still set once present) */
	u64 *mapped;	/* mapped in stage 2, at 4K or inside a leaf */
	u64 *zero_next; /* discarded under POSTCOPY_DISCARD_ZERO: the next arrival is zeros */
	struct pc_region *regions;
	struct pc_gib *gibs;
	unsigned orders[5]; /* pmm orders of the five arrays above */
};

/*
 * Puts every slot of vm in postcopy mode with cfg: pages already loaded
 * (vm_load) are present, everything else comes from cfg->source. Call after
 * the slots are added and loaded, before any vCPU runs. ERR_NOTSUP for
 * POSTCOPY_UNIT_1G when the stage-2 format has no 1 GiB leaves on this CPU
 * (HGM and the 2M unit still collapse, to 2M leaves at most).
 */
int vm_postcopy_attach(struct vm *vm, const struct postcopy_config *cfg);
/* Starts the background mover on cpu (not this one). */
int vm_postcopy_start_mover(struct vm *vm, unsigned cpu);
/* The highest-numbered idle secondary CPU other than this one (kernel/smp.h), or -1 for none. */
int vm_postcopy_pick_cpu(void);
/*
 * One step of the mover on the calling CPU: streams the next 2M region not
 * yet claimed by another step. Returns false when every region was claimed.
 */
bool vm_postcopy_stream_step(struct vm *vm);
/* Waits for the mover to finish streaming (true) or for timeout_ticks (false). */
bool vm_postcopy_wait_mover(struct vm *vm, u64 timeout_ticks);
/* Stops the mover, if it runs, and waits until it has. */
void vm_postcopy_stop_mover(struct vm *vm);
/* True when every page of every postcopy slot is present. */
bool vm_postcopy_complete(struct vm *vm);

/* Called by vmm/: the fault path, a hypercall's page access, discard, slot teardown. */
int postcopy_fault(struct vm *vm, struct vm_slot *s, u64 gpa);
void *postcopy_page_fill(struct vm *vm, struct vm_slot *s, u64 gpa);
int postcopy_discard(struct vm *vm, struct vm_slot *s, u64 gpa, u64 len);
void slot_postcopy_free(struct vm_slot *s);

/*
 * Sizing, for callers that pick a guest size for the machine (the demo, the
 * VM suites): what a slot of size costs at most (its backing, its own and the
 * postcopy metadata, and the stage-2 tables of a slot whose every 2M region is
 * a 4K table at once; a plain slot needs less), and whether that much fits in
 * the memory free now. The backing takes blocks of 2 MiB or more, so those are
 * what is compared; with gib_block the slot also needs one free 1 GiB block
 * (1G leaves). When it does not fit, why names what is needed and what is
 * free ("needs 1030 MiB free in blocks of 2 MiB or more, have 1012 MiB").
 */
u64 postcopy_slot_bytes(u64 size);
u64 postcopy_backing_free(void);
bool postcopy_fits(u64 bytes, bool gib_block, char *why, size_t len);

/* Percentile p (0..100) of the fault-to-resume latency, in ticks (bucket upper bound). */
u64 postcopy_latency_percentile(const struct latency_hist *h, unsigned p);
/* Prints the VM's figures: faults, latency, splits, collapses, tables. */
void vm_report(struct vm *vm);

#endif
