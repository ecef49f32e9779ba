/* SPDX-License-Identifier: MIT */
/*
 * A pool of small hardware ids (arm64 VMIDs, SVM ASIDs, VMX VPIDs): the
 * lowest free one is handed out, 0 never (each architecture keeps id 0 for
 * the host), and the caller's limit is what the CPU reports it can tag.
 */
#ifndef LIB_ID_POOL_H
#define LIB_ID_POOL_H

#include "lib/spinlock.h"
#include "lib/types.h"

struct id_pool {
	u64 *used; /* one bit per id */
	u32 capacity;
	struct spinlock lock;
};

/* A static pool of ids 1..capacity-1; capacity a multiple of 64. */
#define ID_POOL_DEFINE(name, ids)                                                                  \
	static u64 name##_used[(ids) / 64];                                                        \
	static struct id_pool name = {name##_used, (ids), SPINLOCK_INIT}

/* The lowest free id below MIN(limit, capacity), marked used; 0 when none is free. */
u32 id_pool_alloc(struct id_pool *pool, u32 limit);
/* Gives id back; 0 and ids outside the pool are ignored. */
void id_pool_free(struct id_pool *pool, u32 id);

#endif
