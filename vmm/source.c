/* SPDX-License-Identifier: MIT */
/* The modelled migration stream (vmm/source.h). */
#include "vmm/source.h"
#include "arch/arch.h"
#include "lib/memzero.h"
#include "vmm/pattern.h"

struct page_source source_pattern(u64 seed, u64 latency_us, u64 mbytes_per_s)
{
	u64 freq = arch_counter_freq();

	return (struct page_source){
		.content = SOURCE_PATTERN,
		.seed = seed,
		.latency_ticks = latency_us * freq / 1000000,
		/* Per MiB, not bytes per tick: a GHz TSC moves less than a byte per tick. */
		.ticks_per_mib = mbytes_per_s ? freq * MiB(1) / (mbytes_per_s * 1000000) : 0,
		.fail_gpa = SOURCE_NO_FAILURE,
	};
}

void source_spin_ticks(u64 ticks)
{
	u64 start = arch_counter_read();

	while (arch_counter_read() - start < ticks)
		arch_cpu_relax();
}

void source_wait_latency(const struct page_source *src)
{
	source_spin_ticks(src->latency_ticks);
}

static bool holds_failing_page(const struct page_source *src, u64 gpa, u64 len)
{
	return src->fail_gpa != SOURCE_NO_FAILURE && src->fail_gpa - gpa < len;
}

/*
 * Out of line on purpose: the demo's round trip (kernel/demo.c) times this
 * function alone and takes it off each fault, so both must run the same
 * instructions. Inlined, the pattern loop takes the shape of its caller:
 * timed with a constant address it hoists part of the mixing (9 instructions
 * a word instead of 12 on arm64, 14 instead of 19 on x86-64), and inside
 * source_transfer() x86-64 also reloads dst from the stack every word, its
 * callee-saved registers taken by what lives across the counter reads.
 */
__attribute__((noinline)) void source_fill(const struct page_source *src, void *dst, u64 gpa,
					   u64 len)
{
	if (src->content == SOURCE_PATTERN)
		granule_pattern_fill(dst, gpa, len, src->seed);
	else
		memzero_pages(dst, len);
}

int source_transfer(const struct page_source *src, void *dst, u64 gpa, u64 len)
{
	if (holds_failing_page(src, gpa, len)) {
		source_spin_ticks(src->fail_timeout_ticks);
		return ERR_TIMEDOUT;
	}
	/* len <= 1 GiB and ticks_per_mib < 2^33 (a 8 GHz counter at 1 MB/s): no overflow. */
	source_spin_ticks(len * src->ticks_per_mib / MiB(1));
	source_fill(src, dst, gpa, len);
	return 0;
}
