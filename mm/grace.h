/* SPDX-License-Identifier: MIT */
/*
 * Grace periods for lockless page-table readers (an epoch scheme).
 *
 * A reader (pt_translate, and the engine's own lockless descents) announces
 * the global epoch in its slot before touching any table and clears the slot
 * when done. A writer that detached tables advances the epoch and waits until
 * no slot still holds an epoch at or below the one it saw: every reader that
 * could have reached a detached table has then left, and the pages can be
 * reused. Readers never wait; writers wait only outside any read section and
 * with no table lock held, so waiting cannot deadlock.
 *
 * Slots are indexed by grace_slot_id(), provided by whoever runs the engine:
 * the kernel returns this_cpu_id() (mm/grace_percpu.c), the host tests a
 * per-thread id (tests/host/harness.c). Generic code needs no arch internals.
 */
#ifndef MM_GRACE_H
#define MM_GRACE_H

#include "arch/arch.h"
#include "lib/types.h"

#define GRACE_SLOTS MAX_CPUS

/* One cache line per slot: readers on different CPUs never share a line. */
struct grace_slot {
	u64 epoch; /* the epoch the reader entered in; 0 = not reading */
} __aligned(64);

extern struct grace_slot grace_slots[GRACE_SLOTS];
extern u64 grace_epoch; /* starts at 1 and only grows: 0 never names an epoch */

/* The slot this CPU (kernel) or thread (host) reads through: below GRACE_SLOTS. */
unsigned grace_slot_id(void);

/*
 * A full (store-load) barrier. ThreadSanitizer does not model fences, so its
 * builds use a sequentially consistent read-modify-write of one shared word
 * instead, which it does model (and which is a full barrier on x86 too).
 */
#if defined(__SANITIZE_THREAD__)
#define GRACE_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define GRACE_TSAN 1
#endif
#endif
#ifdef GRACE_TSAN
extern u64 grace_fence_word;
static inline void grace_full_fence(void)
{
	__atomic_fetch_add(&grace_fence_word, 0, __ATOMIC_SEQ_CST);
}
#else
static inline void grace_full_fence(void)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}
#endif

/* What a read section restores on exit. */
struct grace_token {
	struct grace_slot *slot;
	u64 prev; /* non-zero: nested in an outer section of this slot */
};

/*
 * Enters a read section. Nesting (an interrupt reading while the code it
 * interrupted reads) keeps the outer, older epoch: the inner section only
 * restores it. This stays correct however an interrupt lands, because
 * interrupts nest last-in first-out and every section restores what it found.
 */
static inline struct grace_token grace_read_enter(void)
{
	struct grace_slot *slot = &grace_slots[grace_slot_id()];
	struct grace_token t = {slot, __atomic_load_n(&slot->epoch, __ATOMIC_RELAXED)};

	if (!t.prev) {
		/*
		 * Acquire: an epoch read here that a writer's advance produced
		 * makes that writer's detaching stores visible to this reader.
		 */
		__atomic_store_n(&slot->epoch, __atomic_load_n(&grace_epoch, __ATOMIC_ACQUIRE),
				 __ATOMIC_RELAXED);
		/*
		 * Store-load fence: either the writer's scan sees this slot, or
		 * this reader's table loads see the writer's detaching store (the
		 * writer has the mirror fence between that store and its scan).
		 */
		grace_full_fence();
	}
	return t;
}

static inline void grace_read_exit(struct grace_token t)
{
	/* Release: every table load of the section happens before the writer sees it end. */
	if (!t.prev)
		__atomic_store_n(&t.slot->epoch, 0, __ATOMIC_RELEASE);
}

/*
 * Waits until every read section that may have seen the tables detached
 * before this call has ended. Never call it inside a read section.
 */
void grace_synchronize(void);

#endif
