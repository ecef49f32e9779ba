/* SPDX-License-Identifier: MIT */
/*
 * Ticket spinlocks on the compiler's __atomic builtins (which gcc lowers to
 * LSE or LL/SC on arm64 with -mno-outline-atomics, and to LOCK XADD on x86).
 */
#ifndef LIB_SPINLOCK_H
#define LIB_SPINLOCK_H

#include "arch/arch.h"
#include "lib/types.h"

struct spinlock {
	u16 next;
	u16 owner;
};

#define SPINLOCK_INIT                                                                              \
	{                                                                                          \
		0, 0                                                                               \
	}

static inline void spin_lock_init(struct spinlock *l)
{
	l->next = 0;
	l->owner = 0;
}

static inline void spin_lock(struct spinlock *l)
{
	u16 ticket = __atomic_fetch_add(&l->next, 1, __ATOMIC_RELAXED);

	while (__atomic_load_n(&l->owner, __ATOMIC_ACQUIRE) != ticket)
		arch_cpu_relax();
}

static inline bool spin_trylock(struct spinlock *l)
{
	/*
	 * Acquire: the previous holder's release is a store to owner, not to
	 * next, so this load is what orders its critical section before ours.
	 */
	u16 owner = __atomic_load_n(&l->owner, __ATOMIC_ACQUIRE);
	u16 expected = owner;

	return __atomic_compare_exchange_n(&l->next, &expected, (u16)(owner + 1), false,
					   __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

static inline void spin_unlock(struct spinlock *l)
{
	__atomic_store_n(&l->owner, (u16)(l->owner + 1), __ATOMIC_RELEASE);
}

static inline bool spin_is_locked(struct spinlock *l)
{
	return __atomic_load_n(&l->owner, __ATOMIC_RELAXED) !=
	       __atomic_load_n(&l->next, __ATOMIC_RELAXED);
}

static inline unsigned long spin_lock_irqsave(struct spinlock *l)
{
	unsigned long flags = arch_irq_save();

	spin_lock(l);
	return flags;
}

static inline void spin_unlock_irqrestore(struct spinlock *l, unsigned long flags)
{
	spin_unlock(l);
	arch_irq_restore(flags);
}

#endif
