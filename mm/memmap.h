/* SPDX-License-Identifier: MIT */
/*
 * The validated physical memory map: the firmware's ranges sorted, checked and
 * reduced to usable RAM minus everything that must not be handed out.
 */
#ifndef MM_MEMMAP_H
#define MM_MEMMAP_H

#include "boot/boot_info.h"

#define MEMMAP_MAX 256
/* Below this a usable range is not worth tracking (and is suspicious). */
#define MEMMAP_MIN_RANGE PAGE_SIZE

struct memmap {
	struct mem_range usable[MEMMAP_MAX]; /* sorted, disjoint, page aligned */
	unsigned nr_usable;
	u64 ram_top; /* end of the highest usable page */
	u64 total_usable;
};

enum memmap_error {
	MEMMAP_OK,
	MEMMAP_NO_USABLE,   /* nothing usable at all */
	MEMMAP_OVERLAP,	    /* two usable ranges overlap, or usable overlaps reserved */
	MEMMAP_WRAP,	    /* base + size overflows */
	MEMMAP_TOO_MANY,    /* more pieces than MEMMAP_MAX after subtraction */
	MEMMAP_TOO_SMALL,   /* less usable memory than the kernel needs to run */
	MEMMAP_NOT_RAM,	    /* a boot claim (image, module) is not in RAM the firmware describes */
	MEMMAP_IN_RESERVED, /* a boot claim overlaps memory the firmware reserved */
};

/*
 * Something the boot left in memory that the kernel goes on using: its own
 * image, the boot module. The firmware must describe it as RAM and must not
 * have reserved any of it for itself.
 */
struct memmap_claim {
	const char *what; /* "kernel image", "boot module": names it in the error */
	u64 base;
	u64 size;
	/*
	 * A reservation of exactly this claim's pages is the loader keeping what it
	 * placed (U-Boot's fdt_initrd() adds a /memreserve/ for the initrd), not a
	 * conflict. Never set for the kernel image: no loader reserves that.
	 */
	bool own_reservation_ok;
};

/*
 * Builds out from raw ranges, removing [reserve_base, reserve_base + size)
 * pairs in reserved[] as well. Writes a readable reason into why on error.
 * Pure function: host-tested with crafted maps, and run again in-kernel.
 */
enum memmap_error memmap_build(struct memmap *out, const struct mem_range *raw, unsigned nr_raw,
			       const struct mem_range *reserved, unsigned nr_reserved, char *why,
			       size_t why_size);

/*
 * Checks each claim against the raw firmware ranges: it must lie in usable RAM
 * or boot data other than its own record (adjacent ranges count as one) and
 * overlap no reserved or ACPI range.
 * Returns MEMMAP_OK, or an error with both ranges named in why.
 * Pure function: host-tested.
 */
enum memmap_error memmap_check_claims(const struct mem_range *raw, unsigned nr_raw,
				      const struct memmap_claim *claims, unsigned nr_claims,
				      char *why, size_t why_size);

/*
 * True when [base, base + size) lies in ranges of type MEM_USABLE among raw,
 * adjacent or overlapping ranges counting as one; false for size 0 or a range
 * that wraps. *ram_end gets the end of the RAM that holds base (0 when base is
 * not in RAM), for messages. Pure function: host-tested.
 */
bool memmap_range_in_ram(const struct mem_range *raw, unsigned nr_raw, u64 base, u64 size,
			 u64 *ram_end);

/* Builds the kernel's map from boot_info (minus image, DTB, trampoline); boot_fail()s on error. */
void memmap_init(struct boot_info *bi);
extern struct memmap kernel_memmap;

/*
 * RAM the firmware described (usable and boot data), page aligned inward,
 * sorted and merged: what the direct map covers. Returns the count.
 */
unsigned memmap_ram_ranges(const struct boot_info *bi, struct mem_range *out, unsigned max);

/*
 * Takes size bytes (aligned to align) out of the usable map below limit, for
 * allocations made before the page allocator exists (the struct page array).
 * Returns the physical base, or 0 when nothing fits.
 */
u64 memmap_carve(struct memmap *m, u64 size, u64 align, u64 limit);

#endif
