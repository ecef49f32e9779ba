/* SPDX-License-Identifier: MIT */
#include "lib/panic.h"
#include "mm/grace.h"

struct grace_slot grace_slots[GRACE_SLOTS];
u64 grace_epoch = 1;
#ifdef GRACE_TSAN
u64 grace_fence_word;
#endif

void grace_synchronize(void)
{
	u64 seen;

	/* Waiting for our own section would never end. */
	BUG_ON(__atomic_load_n(&grace_slots[grace_slot_id()].epoch, __ATOMIC_RELAXED) != 0);
	/*
	 * Readers that enter from now on read a newer epoch (and, through the
	 * acquire in grace_read_enter, see the tables already detached).
	 */
	seen = __atomic_fetch_add(&grace_epoch, 1, __ATOMIC_SEQ_CST);
	/* The mirror of the reader's store-load fence (see grace_read_enter). */
	grace_full_fence();
	for (unsigned i = 0; i < GRACE_SLOTS; i++) {
		for (;;) {
			/* Acquire: the reader's table loads happen before the pages are reused. */
			u64 e = __atomic_load_n(&grace_slots[i].epoch, __ATOMIC_ACQUIRE);

			if (!e || e > seen)
				break;
			arch_cpu_relax();
		}
	}
}
