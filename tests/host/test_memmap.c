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

static enum memmap_error claims(const struct mem_range *raw, unsigned n,
				const struct memmap_claim *c, unsigned nc)
{
	return memmap_check_claims(raw, n, c, nc, why, sizeof(why));
}

/* The kernel image inside a DTB /memreserve/ or /reserved-memory region: refused, both named. */
static void test_image_in_reserved_is_refused(void)
{
	const struct mem_range raw[] = {R(0x40000000, MiB(512), USABLE),
					R(0x40200000, MiB(1), RESERVED)};
	const struct memmap_claim image = {"kernel image", 0x40280000, 0x100000, false};

	EXPECT_EQ(claims(raw, 2, &image, 1), MEMMAP_IN_RESERVED);
	EXPECT(strstr(why, "kernel image [0x40280000-0x4037ffff]") != NULL);
	EXPECT(strstr(why, "[0x40200000-0x402fffff] reserved") != NULL);
}

/* One byte of overlap is enough, at either end. */
static void test_claim_touching_reserved_edges(void)
{
	const struct mem_range below[] = {R(0x40000000, MiB(512), USABLE),
					  R(0x40100000, 0x100001, RESERVED)};
	const struct mem_range above[] = {R(0x40000000, MiB(512), USABLE),
					  R(0x402fffff, 0x1000, ACPI)};
	const struct mem_range beside[] = {R(0x40000000, MiB(512), USABLE),
					   R(0x40100000, MiB(1), RESERVED),
					   R(0x40300000, MiB(1), ACPI)};
	const struct memmap_claim image = {"kernel image", 0x40200000, MiB(1), false};

	EXPECT_EQ(claims(below, 2, &image, 1), MEMMAP_IN_RESERVED);
	EXPECT_EQ(claims(above, 2, &image, 1), MEMMAP_IN_RESERVED);
	EXPECT(strstr(why, "ACPI") != NULL);
	/* Ranges that only touch the image's ends leave it alone. */
	EXPECT_EQ(claims(beside, 3, &image, 1), MEMMAP_OK);
}

/*
 * A reservation of exactly the module's pages is the loader keeping it (U-Boot's
 * /memreserve/ for the initrd); for the kernel image, or a larger range, it is a conflict.
 */
static void test_own_reservation_of_module(void)
{
	const struct mem_range raw[] = {R(0x40000000, MiB(512), USABLE),
					R(0x48000000, 0x38158, RESERVED)};
	const struct mem_range wider[] = {R(0x40000000, MiB(512), USABLE),
					  R(0x48000000, 0x40000, RESERVED)};
	struct memmap_claim mod = {"boot module (initrd)", 0x48000000, 0x38158, true};

	EXPECT_EQ(claims(raw, 2, &mod, 1), MEMMAP_OK);
	EXPECT_EQ(claims(wider, 2, &mod, 1), MEMMAP_IN_RESERVED);
	EXPECT(strstr(why, "boot module (initrd) [0x48000000-0x48038157]") != NULL);
	mod.own_reservation_ok = false;
	EXPECT_EQ(claims(raw, 2, &mod, 1), MEMMAP_IN_RESERVED);
}

/* The claim must be RAM: beyond its end, in a hole, or not described at all. */
static void test_claim_outside_ram(void)
{
	const struct mem_range raw[] = {R(0x40000000, MiB(64), USABLE),
					R(0x50000000, MiB(64), USABLE)};
	const struct memmap_claim past = {"boot module (initrd)", 0x43ff0000, 0x20000, true};
	const struct memmap_claim hole = {"boot module (initrd)", 0x48000000, 0x1000, true};
	const struct memmap_claim wraps = {"boot module (initrd)", 0xfffffffffffff000ULL, 0x2000,
					   true};

	EXPECT_EQ(claims(raw, 2, &past, 1), MEMMAP_NOT_RAM);
	EXPECT(strstr(why, "end of RAM at 0x44000000") != NULL);
	EXPECT_EQ(claims(raw, 2, &hole, 1), MEMMAP_NOT_RAM);
	EXPECT(strstr(why, "not in RAM") != NULL);
	/* The module's own boot-data record (boot_info_set_module) does not make it RAM. */
	const struct mem_range own[] = {R(0x40000000, MiB(64), USABLE),
					R(0x48000000, 0x1000, BOOT_DATA)};
	EXPECT_EQ(claims(own, 2, &hole, 1), MEMMAP_NOT_RAM);
	EXPECT_EQ(claims(raw, 2, &wraps, 1), MEMMAP_WRAP);
}

/* UEFI: the image's read-only pages are boot data between usable runs, still RAM. */
static void test_image_over_boot_data_is_ram(void)
{
	const struct mem_range raw[] = {R(0x48000000, 0xb42af000, USABLE),
					R(0xfc2af000, 0x3c000, BOOT_DATA),
					R(0xfc2eb000, 0x86000, USABLE)};
	const struct memmap_claim image = {"kernel image", 0xfc2af000, 0xc1000, false};

	EXPECT_EQ(claims(raw, 3, &image, 1), MEMMAP_OK);
	/* memmap_range_in_ram (the DTB's check) counts usable RAM only. */
	u64 end;
	EXPECT(!memmap_range_in_ram(raw, 3, 0xfc2af000, 0x1000, &end));
}

/* Empty claims (no module) pass; every claim is checked, not just the first. */
static void test_claims_all_checked(void)
{
	const struct mem_range raw[] = {R(0x40000000, MiB(64), USABLE),
					R(0x43000000, MiB(1), RESERVED)};
	const struct memmap_claim list[] = {
		{"kernel image", 0x40200000, MiB(1), false},
		{"boot module (initrd)", 0, 0, true},
		{"boot module (initrd)", 0x42f00000, MiB(2), true},
	};

	EXPECT_EQ(claims(raw, 2, list, 2), MEMMAP_OK);
	EXPECT_EQ(claims(raw, 2, list, 3), MEMMAP_IN_RESERVED);
}

/* A blob in RAM split over adjacent or overlapping usable ranges is in RAM; one byte past is not.
 */
static void test_range_in_ram(void)
{
	const struct mem_range raw[] = {
		R(0x40000000, MiB(1), USABLE), R(0x40100000, MiB(1), USABLE),
		R(0x40080000, MiB(1), USABLE), R(0x40200000, MiB(1), RESERVED)};
	u64 end;

	EXPECT(memmap_range_in_ram(raw, 4, 0x400f0000, 0x20000, &end));
	EXPECT_EQ(end, 0x40200000);
	EXPECT(memmap_range_in_ram(raw, 4, 0x40000000, MiB(2), &end));
	/* Reserved ranges are not usable RAM: the blob may not reach into them. */
	EXPECT(!memmap_range_in_ram(raw, 4, 0x401fffe0, 40, &end));
	EXPECT_EQ(end, 0x40200000);
	EXPECT(!memmap_range_in_ram(raw, 4, 0x3ffffff8, 40, &end));
	EXPECT_EQ(end, 0);
	EXPECT(!memmap_range_in_ram(raw, 4, 0x40000000, 0, &end));
	EXPECT(!memmap_range_in_ram(raw, 4, 0x40000000, ~0ULL, &end));
}

KTAP_SUITE(suite_host_memmap, "host-memmap", KTAP_CASE(test_sorted_and_aligned),
	   KTAP_CASE(test_reserved_inside_usable_splits),
	   KTAP_CASE(test_overlapping_usable_is_an_error), KTAP_CASE(test_no_usable_memory),
	   KTAP_CASE(test_only_tiny_ranges), KTAP_CASE(test_wrapping_range),
	   KTAP_CASE(test_reservation_covering_everything), KTAP_CASE(test_carve_takes_highest_fit),
	   KTAP_CASE(test_frame_zero_never_usable), KTAP_CASE(test_ram_ranges_merge_boot_data),
	   KTAP_CASE(test_image_in_reserved_is_refused),
	   KTAP_CASE(test_claim_touching_reserved_edges), KTAP_CASE(test_own_reservation_of_module),
	   KTAP_CASE(test_claim_outside_ram), KTAP_CASE(test_image_over_boot_data_is_ram),
	   KTAP_CASE(test_claims_all_checked), KTAP_CASE(test_range_in_ram));
