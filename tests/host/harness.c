/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "tests/host/harness.h"
#include "kernel/panic.h"
#include "mm/kmap.h"
#include "mm/memmap.h"
#include "mm/pmm.h"

static u8 *arena;
static bool irqs_on = true;

/* ---- The fake arch: just enough of arch/arch.h for generic code ---- */
unsigned long arch_irq_save(void)
{
	unsigned long was = irqs_on;

	irqs_on = false;
	return was;
}

void arch_irq_restore(unsigned long flags)
{
	irqs_on = flags;
}

void arch_cpu_relax(void)
{
}

void arch_pt_publish(void)
{
}

/* phys_to_virt() is kmap.h's inline: the arena is the "direct map". */
u64 kmap_ram_offset;

bool kmap_active(void)
{
	return true;
}

/* The kernel would stop; a host test aborts, which the runner counts as a failure. */
static __noreturn void die(const char *prefix, const char *fmt, va_list ap)
{
	fprintf(stdout, "%s: ", prefix);
	vfprintf(stdout, fmt, ap);
	fprintf(stdout, "\n");
	fflush(stdout);
	abort();
}

__noreturn void panic(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	die("PANIC", fmt, ap);
}

__noreturn void boot_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	die("boot failed", fmt, ap);
}

/* ---- Memory ---- */
void harness_reset_memory(void)
{
	static struct boot_info bi;

	if (arena)
		munmap(arena, ARENA_SIZE);
	arena = mmap(NULL, ARENA_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (arena == MAP_FAILED) {
		perror("mmap arena");
		exit(2);
	}
	kmap_ram_offset = (u64)(uintptr_t)arena - ARENA_PA;
	bi = (struct boot_info){ .identity_limit = ~0ULL, .nr_ranges = 1 };
	bi.ranges[0] = (struct mem_range){ ARENA_PA, ARENA_SIZE, MEM_USABLE };
	char why[128];

	if (memmap_build(&kernel_memmap, bi.ranges, 1, NULL, 0, why, sizeof(why))) {
		fprintf(stderr, "arena memmap: %s\n", why);
		exit(2);
	}
	pmm_init(&bi);
}

/* ---- A counting regime ---- */
struct host_tlb_stats host_tlb;

static void host_flush_range(const struct pgtable *pt, u64 va, u64 size, unsigned level)
{
	host_tlb.range_flushes++;
}

static void host_flush_all(const struct pgtable *pt)
{
	host_tlb.full_flushes++;
}

static void host_publish(const struct pgtable *pt)
{
	host_tlb.publishes++;
}

const struct pt_regime host_regime = {
	.name = "host model",
	.flush_range = host_flush_range,
	.flush_all = host_flush_all,
	.publish = host_publish,
};
