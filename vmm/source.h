/* SPDX-License-Identifier: MIT */
/*
 * A page source: the other end of a postcopy live migration, modelled. It
 * produces the content of any guest page (the deterministic pattern of
 * vmm/pattern.h, or zeros) and charges for it as a network would: a
 * per-request latency (paid by urgent requests, which cannot ride a stream
 * already in flight) and a bandwidth (every byte, urgent or streamed). The
 * charge is a busy-wait on the free-running counter, so whoever asked (a
 * faulting vCPU, the background mover) waits exactly as it would for a real
 * transfer. A failure knob names one page that never arrives.
 */
#ifndef VMM_SOURCE_H
#define VMM_SOURCE_H

#include "lib/errno.h"
#include "lib/types.h"

enum source_content {
	SOURCE_PATTERN, /* granule_pattern_fill(gpa, seed) */
	SOURCE_ZERO,	/* zeros: a fresh VM with nothing to migrate */
};

#define SOURCE_NO_FAILURE (~0ull)

struct page_source {
	enum source_content content;
	u64 seed;		/* for SOURCE_PATTERN */
	u64 latency_ticks;	/* per urgent request: round trip before the first byte */
	u64 ticks_per_mib;	/* bandwidth: counter ticks to move 1 MiB; 0 = unlimited */
	u64 fail_gpa;		/* a page that never arrives, or SOURCE_NO_FAILURE */
	u64 fail_timeout_ticks; /* how long a request for it waits before giving up */
};

/*
 * A source with the pattern of seed, latency_us of request latency and
 * mbytes_per_s of bandwidth, converted to counter ticks at this CPU's
 * counter frequency; no failure.
 */
struct page_source source_pattern(u64 seed, u64 latency_us, u64 mbytes_per_s);

/* Waits one request latency: the start of an urgent request. */
void source_wait_latency(const struct page_source *src);
/*
 * Transfers [gpa, gpa + len) (page aligned) into dst, waiting len at the
 * source's bandwidth. Returns 0, or ERR_TIMEDOUT (lib/errno.h) when the range
 * holds the failing page: it did not arrive within fail_timeout_ticks (dst is
 * then undefined).
 */
int source_transfer(const struct page_source *src, void *dst, u64 gpa, u64 len);
/*
 * Writes the content of [gpa, gpa + len) (page aligned) into dst, with no
 * wait: the part of source_transfer() that is the page copy.
 */
void source_fill(const struct page_source *src, void *dst, u64 gpa, u64 len);
/* Busy-waits until the counter has advanced by ticks. */
void source_spin_ticks(u64 ticks);

#endif
