/* SPDX-License-Identifier: MIT */
#include "lib/id_pool.h"

u32 id_pool_alloc(struct id_pool *pool, u32 limit)
{
	u32 found = 0;

	limit = MIN(limit, pool->capacity);
	spin_lock(&pool->lock);
	for (u32 id = 1; id < limit && !found; id++) {
		if (!(pool->used[id / 64] & BIT(id % 64))) {
			pool->used[id / 64] |= BIT(id % 64);
			found = id;
		}
	}
	spin_unlock(&pool->lock);
	return found;
}

void id_pool_free(struct id_pool *pool, u32 id)
{
	if (!id || id >= pool->capacity)
		return;
	spin_lock(&pool->lock);
	pool->used[id / 64] &= ~BIT(id % 64);
	spin_unlock(&pool->lock);
}
