/* SPDX-License-Identifier: MIT */
#include "lib/memzero.h"

void memzero_pages(void *dst, size_t bytes)
{
	volatile u64 *p = dst;
	volatile u64 *end = p + bytes / sizeof(u64);

	/* volatile: a compiler may not turn this back into a call to memset. */
	for (; p < end; p += 8) {
		p[0] = 0;
		p[1] = 0;
		p[2] = 0;
		p[3] = 0;
		p[4] = 0;
		p[5] = 0;
		p[6] = 0;
		p[7] = 0;
	}
}
