/* SPDX-License-Identifier: MIT */
/* Crafted memory maps: the firmware's mistakes must become clear errors. */
#include <string.h>

#include "tests/host/harness.h"
#include "mm/memmap.h"

static struct memmap m;
static char why[160];

#define R(base, size, type)                                                                        \
	{                                                                                          \
		(base), (size), MEM_##type                                                         \
	}

static enum memmap_error build(const struct mem_range *raw, unsigned n)
{
	return memmap_build(&m, raw, n, NULL, 0, why, sizeof(why));
}

static void test_sorted_and_aligned(void)
{
	const struct mem_range raw[] = {R(0x80000000, MiB(64), USABLE),
					R(0x40000123, MiB(64), USABLE)};

	EXPECT_EQ(build(raw, 2), MEMMAP_OK);
	EXPECT_EQ(m.nr_usable, 2);
	EXPECT_EQ(m.usable[0].base, 0x40001000);
	EXPECT_EQ(m.usable[0].size, MiB(64) - 0x1000);
	EXPECT_EQ(m.usable[1].base, 0x80000000);
	EXPECT_EQ(m.ram_top, 0x80000000 + MiB(64));
}

static void test_reserved_inside_usable_splits(void)
{
	const struct mem_range raw[] = {R(0x40000000, MiB(64), USABLE),
					R(0x40100800, 0x1000, RESERVED)};

	EXPECT_EQ(build(raw, 2), MEMMAP_OK);
	EXPECT_EQ(m.nr_usable, 2);
	/* Pages touched by the reservation are removed whole. */
	EXPECT_EQ(m.usable[0].base + m.usable[0].size, 0x40100000);
	EXPECT_EQ(m.usable[1].base, 0x40102000);
}

static void test_overlapping_usable_is_an_error(void)
{
	const struct mem_range raw[] = {R(0x40000000, MiB(64), USABLE),
					R(0x42000000, MiB(64), USABLE)};

	EXPECT_EQ(build(raw, 2), MEMMAP_OVERLAP);
	EXPECT(strstr(why, "overlap") != NULL);
}

static void test_no_usable_memory(void)
{
	const struct mem_range raw[] = {R(0x40000000, MiB(64), RESERVED)};

	EXPECT_EQ(build(raw, 1), MEMMAP_NO_USABLE);
	EXPECT_EQ(build(raw, 0), MEMMAP_NO_USABLE);
}

static void test_only_tiny_ranges(void)
{
	const struct mem_range raw[] = {R(0x1000, 0x800, USABLE), R(0x40000000, MiB(1), USABLE)};

	EXPECT_EQ(build(raw, 2), MEMMAP_TOO_SMALL);
	EXPECT(strstr(why, "KiB usable") != NULL);
}

static void test_wrapping_range(void)
{
	const struct mem_range raw[] = {R(0xfffffffffffff000ULL, MiB(2), USABLE)};

	EXPECT_EQ(build(raw, 1), MEMMAP_WRAP);
}

static void test_reservation_covering_everything(void)
{
	const struct mem_range raw[] = {R(0x40000000, MiB(64), USABLE)};
	const struct mem_range all[] = {R(0x3f000000, MiB(128), BOOT_DATA)};

	EXPECT_EQ(memmap_build(&m, raw, 1, all, 1, why, sizeof(why)), MEMMAP_NO_USABLE);
}

static void test_carve_takes_highest_fit(void)
{
	const struct mem_range raw[] = {R(0x40000000, MiB(64), USABLE),
					R(0x100000000ULL, MiB(64), USABLE)};
	u64 base;

	EXPECT_EQ(build(raw, 2), MEMMAP_OK);
	base = memmap_carve(&m, MiB(2), MiB(2), 0x100000000ULL);
	EXPECT_EQ(base, 0x40000000 + MiB(62));
	EXPECT_EQ(m.total_usable, MiB(126));
	EXPECT_EQ(memmap_carve(&m, GiB(1), PAGE_SIZE, ~0ULL), 0);
}

static void test_frame_zero_never_usable(void)
{
	const struct mem_range raw[] = {R(0, MiB(64), USABLE)};

	EXPECT_EQ(build(raw, 1), MEMMAP_OK);
	EXPECT_EQ(m.usable[0].base, PAGE_SIZE);
}

static void test_ram_ranges_merge_boot_data(void)
{
	static struct boot_info bi;
	struct mem_range ram[4];

	bi.nr_ranges = 3;
	bi.ranges[0] = (struct mem_range)R(0x40000000, GiB(1), USABLE);
	bi.ranges[1] = (struct mem_range)R(0x48000000, MiB(1), BOOT_DATA);
	bi.ranges[2] = (struct mem_range)R(0x80000000, GiB(1), USABLE);
	/* One range: the DTB inside RAM and the touching bank merge, so 2M blocks survive. */
	EXPECT_EQ(memmap_ram_ranges(&bi, ram, 4), 1);
	EXPECT_EQ(ram[0].size, GiB(2));
}

KTAP_SUITE(suite_host_memmap, "host-memmap", KTAP_CASE(test_sorted_and_aligned),
	   KTAP_CASE(test_reserved_inside_usable_splits),
	   KTAP_CASE(test_overlapping_usable_is_an_error), KTAP_CASE(test_no_usable_memory),
	   KTAP_CASE(test_only_tiny_ranges), KTAP_CASE(test_wrapping_range),
	   KTAP_CASE(test_reservation_covering_everything), KTAP_CASE(test_carve_takes_highest_fit),
	   KTAP_CASE(test_frame_zero_never_usable), KTAP_CASE(test_ram_ranges_merge_boot_data));
