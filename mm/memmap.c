/* SPDX-License-Identifier: MIT */
/*
 * Turns the firmware's memory description into the set of pages the kernel may
 * own: usable ranges, page aligned inward, sorted, checked for overlap, minus
 * every reserved range and everything the boot left in memory (image, DTB,
 * trampoline page). Any inconsistency is an error, never a silent guess:
 * handing out a page the firmware still uses corrupts state much later.
 */
#include "mm/memmap.h"
#include "lib/panic.h"
#include "lib/printf.h"
#include "lib/string.h"

struct memmap kernel_memmap;

/* Enough to boot, build page tables, and run the suites. */
#define MEMMAP_MIN_USABLE MiB(8)

static const char *const type_names[] = {
	[MEM_USABLE] = "usable",
	[MEM_RESERVED] = "reserved",
	[MEM_ACPI] = "ACPI",
	[MEM_BOOT_DATA] = "boot data",
};

static void sort_ranges(struct mem_range *r, unsigned n)
{
	for (unsigned i = 1; i < n; i++) {
		struct mem_range key = r[i];
		unsigned j = i;

		for (; j > 0 && r[j - 1].base > key.base; j--)
			r[j] = r[j - 1];
		r[j] = key;
	}
}

static bool range_wraps(const struct mem_range *r)
{
	return r->size && r->base + r->size - 1 < r->base;
}

static u64 range_end(const struct mem_range *r)
{
	return r->base + r->size;
}

/* Removes [base, end) from the sorted usable list, splitting a range if needed. */
static bool subtract(struct memmap *m, u64 base, u64 end)
{
	for (unsigned i = 0; i < m->nr_usable; i++) {
		struct mem_range *u = &m->usable[i];
		u64 ubase = u->base, uend = range_end(u);

		if (end <= ubase || base >= uend)
			continue;
		if (base > ubase && end < uend) {
			if (m->nr_usable == MEMMAP_MAX)
				return false;
			memmove(&m->usable[i + 2], &m->usable[i + 1],
				(m->nr_usable - i - 1) * sizeof(*u));
			m->nr_usable++;
			m->usable[i + 1] = (struct mem_range){end, uend - end, MEM_USABLE};
			u->size = base - ubase;
			return true;
		}
		if (base <= ubase && end >= uend) {
			memmove(u, u + 1, (m->nr_usable - i - 1) * sizeof(*u));
			m->nr_usable--;
			i--;
			continue;
		}
		if (base <= ubase) {
			u->base = end;
			u->size = uend - end;
		} else {
			u->size = base - ubase;
		}
	}
	return true;
}

static enum memmap_error fail(enum memmap_error e, char *why, size_t why_size, const char *fmt,
			      const struct mem_range *a, const struct mem_range *b)
{
	if (b)
		snprintf(why, why_size, fmt, a->base, range_end(a) - 1, type_names[a->type],
			 b->base, range_end(b) - 1, type_names[b->type]);
	else if (a)
		snprintf(why, why_size, fmt, a->base, a->size);
	else
		snprintf(why, why_size, "%s", fmt);
	return e;
}

/* Copies the usable ranges, aligned inward, dropping those smaller than a page. */
static enum memmap_error collect_usable(struct memmap *out, const struct mem_range *raw,
					unsigned nr_raw, char *why, size_t why_size)
{
	for (unsigned i = 0; i < nr_raw; i++) {
		u64 base, end;

		if (range_wraps(&raw[i]))
			return fail(
				MEMMAP_WRAP, why, why_size,
				"range 0x%llx size 0x%llx wraps past the top of the address space",
				&raw[i], NULL);
		if (raw[i].type != MEM_USABLE)
			continue;
		base = ALIGN_UP(raw[i].base, PAGE_SIZE);
		end = ALIGN_DOWN(range_end(&raw[i]), PAGE_SIZE);
		if (end <= base || end - base < MEMMAP_MIN_RANGE)
			continue;
		if (out->nr_usable == MEMMAP_MAX)
			return fail(MEMMAP_TOO_MANY, why, why_size,
				    "more usable ranges than the kernel tracks", NULL, NULL);
		out->usable[out->nr_usable++] = (struct mem_range){base, end - base, MEM_USABLE};
	}
	sort_ranges(out->usable, out->nr_usable);
	return MEMMAP_OK;
}

/* Overlap between two ranges the firmware called usable means the map is corrupt. */
static enum memmap_error check_usable_overlap(const struct memmap *m, char *why, size_t why_size)
{
	for (unsigned i = 0; i + 1 < m->nr_usable; i++) {
		if (range_end(&m->usable[i]) > m->usable[i + 1].base)
			return fail(
				MEMMAP_OVERLAP, why, why_size,
				"usable ranges overlap: [0x%llx-0x%llx] %s and [0x%llx-0x%llx] %s",
				&m->usable[i], &m->usable[i + 1]);
	}
	return MEMMAP_OK;
}

/*
 * RAM for a claim: usable ranges, and boot data other than the claim's own
 * record (boot_info_set_module adds one for the module: it says where the
 * loader put it, not that RAM is there). The UEFI stub records the loader's
 * pages it cannot allocate early (granule's read-only code) as boot data.
 */
static bool is_ram(const struct mem_range *r, const struct memmap_claim *claim)
{
	if (r->type == MEM_USABLE)
		return true;
	return claim && r->type == MEM_BOOT_DATA &&
	       !(r->base == claim->base && r->size == claim->size);
}

/* The RAM range (is_ram) holding pa with the highest end, or NULL. */
static const struct mem_range *ram_holding(const struct mem_range *raw, unsigned nr_raw, u64 pa,
					   const struct memmap_claim *claim)
{
	const struct mem_range *best = NULL;

	for (unsigned i = 0; i < nr_raw; i++) {
		const struct mem_range *r = &raw[i];

		if (!is_ram(r, claim) || !r->size || range_wraps(r) || pa < r->base ||
		    pa >= range_end(r))
			continue;
		if (!best || range_end(r) > range_end(best))
			best = r;
	}
	return best;
}

static bool in_ram(const struct mem_range *raw, unsigned nr_raw, u64 base, u64 size, u64 *ram_end,
		   const struct memmap_claim *claim)
{
	u64 cursor = base;
	const struct mem_range *r;

	/* Each step moves the cursor to a range's end, so nr_raw steps reach the run's end. */
	for (unsigned step = 0; step <= nr_raw; step++) {
		r = ram_holding(raw, nr_raw, cursor, claim);
		if (!r)
			break;
		cursor = range_end(r);
	}
	*ram_end = cursor == base ? 0 : cursor;
	if (!size || base + size - 1 < base)
		return false;
	return cursor != base && cursor - base >= size;
}

bool memmap_range_in_ram(const struct mem_range *raw, unsigned nr_raw, u64 base, u64 size,
			 u64 *ram_end)
{
	return in_ram(raw, nr_raw, base, size, ram_end, NULL);
}

static bool overlaps(const struct mem_range *r, u64 base, u64 size)
{
	return r->size && base < range_end(r) && r->base < base + size;
}

/* The loader reserving exactly the pages it put the claim in (memmap.h). */
static bool is_own_reservation(const struct mem_range *r, const struct memmap_claim *c)
{
	return c->own_reservation_ok &&
	       ALIGN_DOWN(r->base, PAGE_SIZE) == ALIGN_DOWN(c->base, PAGE_SIZE) &&
	       ALIGN_UP(range_end(r), PAGE_SIZE) == ALIGN_UP(c->base + c->size, PAGE_SIZE);
}

static enum memmap_error check_claim(const struct mem_range *raw, unsigned nr_raw,
				     const struct memmap_claim *c, char *why, size_t why_size)
{
	unsigned long long base = c->base, last = c->base + c->size - 1;
	u64 ram_end;

	if (c->base + c->size - 1 < c->base) {
		snprintf(why, why_size, "%s at 0x%llx size 0x%llx wraps past the top of memory",
			 c->what, base, (unsigned long long)c->size);
		return MEMMAP_WRAP;
	}
	/* Reserved first: the firmware's own use of these pages is the more precise message. */
	for (unsigned i = 0; i < nr_raw; i++) {
		const struct mem_range *r = &raw[i];

		if (r->type == MEM_USABLE || r->type == MEM_BOOT_DATA ||
		    !overlaps(r, c->base, c->size) || is_own_reservation(r, c))
			continue;
		snprintf(why, why_size,
			 "%s [0x%llx-0x%llx] lies in memory the firmware reserved: "
			 "[0x%llx-0x%llx] %s",
			 c->what, base, last, (unsigned long long)r->base,
			 (unsigned long long)(range_end(r) - 1), type_names[r->type]);
		return MEMMAP_IN_RESERVED;
	}
	if (!in_ram(raw, nr_raw, c->base, c->size, &ram_end, c)) {
		if (ram_end)
			snprintf(why, why_size,
				 "%s [0x%llx-0x%llx] reaches past the end of RAM at 0x%llx",
				 c->what, base, last, (unsigned long long)ram_end);
		else
			snprintf(why, why_size,
				 "%s [0x%llx-0x%llx] is not in RAM the firmware describes", c->what,
				 base, last);
		return MEMMAP_NOT_RAM;
	}
	return MEMMAP_OK;
}

enum memmap_error memmap_check_claims(const struct mem_range *raw, unsigned nr_raw,
				      const struct memmap_claim *claims, unsigned nr_claims,
				      char *why, size_t why_size)
{
	why[0] = '\0';
	for (unsigned i = 0; i < nr_claims; i++) {
		enum memmap_error e;

		if (!claims[i].size)
			continue;
		e = check_claim(raw, nr_raw, &claims[i], why, why_size);
		if (e)
			return e;
	}
	return MEMMAP_OK;
}

enum memmap_error memmap_build(struct memmap *out, const struct mem_range *raw, unsigned nr_raw,
			       const struct mem_range *reserved, unsigned nr_reserved, char *why,
			       size_t why_size)
{
	enum memmap_error e;

	memset(out, 0, sizeof(*out));
	why[0] = '\0';
	e = collect_usable(out, raw, nr_raw, why, why_size);
	if (e)
		return e;
	e = check_usable_overlap(out, why, why_size);
	if (e)
		return e;
	/*
	 * A reserved range inside a usable one is normal (DTB /memreserve/, UEFI
	 * maps describe holes separately): the reservation wins. One that touches
	 * the kernel image or the boot module was refused before this
	 * (memmap_check_claims, from memmap_init). Whole pages
	 * touched by a reservation are removed, so the range is aligned outward.
	 */
	for (unsigned i = 0; i < nr_raw + nr_reserved; i++) {
		const struct mem_range *r = i < nr_raw ? &raw[i] : &reserved[i - nr_raw];

		if (r->type == MEM_USABLE || !r->size)
			continue;
		if (!subtract(out, ALIGN_DOWN(r->base, PAGE_SIZE),
			      ALIGN_UP(range_end(r), PAGE_SIZE)))
			return fail(MEMMAP_TOO_MANY, why, why_size,
				    "reservations split usable memory into too many pieces", NULL,
				    NULL);
	}
	/* Frame 0 is never handed out: physical address 0 is how allocation failure reads. */
	subtract(out, 0, PAGE_SIZE);
	for (unsigned i = 0; i < out->nr_usable; i++) {
		out->total_usable += out->usable[i].size;
		out->ram_top = MAX(out->ram_top, range_end(&out->usable[i]));
	}
	if (!out->nr_usable)
		return fail(MEMMAP_NO_USABLE, why, why_size,
			    "no usable memory left after removing reserved ranges", NULL, NULL);
	if (out->total_usable < MEMMAP_MIN_USABLE) {
		snprintf(why, why_size, "only %llu KiB usable, granule needs at least %llu KiB",
			 (unsigned long long)(out->total_usable >> 10),
			 (unsigned long long)(MEMMAP_MIN_USABLE >> 10));
		return MEMMAP_TOO_SMALL;
	}
	return MEMMAP_OK;
}

static void print_raw_map(const struct boot_info *bi)
{
	printf("memory: firmware map, %u ranges\n", bi->nr_ranges);
	for (unsigned i = 0; i < bi->nr_ranges; i++) {
		const struct mem_range *r = &bi->ranges[i];

		printf("memory:   [0x%012llx-0x%012llx] %s\n", (unsigned long long)r->base,
		       (unsigned long long)(r->base + r->size - 1), type_names[r->type]);
	}
}

/*
 * The kernel image and the boot module must be in RAM nobody else owns: the
 * Devicetree Specification (v0.4, 3.5.4) says no-map and plain reserved-memory
 * regions alike are not for the OS's general use, /memreserve/ (5.3) likewise;
 * UEFI 2.x 7.2 only hands LoaderCode/LoaderData to the loaded image. Running
 * over firmware memory would corrupt it (or us) long after boot.
 */
static void check_claims(const struct boot_info *bi)
{
	const struct memmap_claim claims[] = {
		{"kernel image", bi->image_start, bi->image_end - bi->image_start, false},
		{"boot module (initrd)", bi->module_base, bi->module_size, true},
	};
	char why[200];

	if (memmap_check_claims(bi->ranges, bi->nr_ranges, claims, ARRAY_SIZE(claims), why,
				sizeof(why)))
		boot_fail("memory map: %s", why);
}

void memmap_init(struct boot_info *bi)
{
	struct mem_range kept[3];
	unsigned nr_kept = 0;
	char why[160];
	enum memmap_error e;

	/* A boot path that found an untrustworthy input before the console was up. */
	if (bi->input_error[0])
		boot_fail("boot input: %s", bi->input_error);

	kept[nr_kept++] =
		(struct mem_range){bi->image_start, bi->image_end - bi->image_start, MEM_BOOT_DATA};
	if (bi->fdt)
		kept[nr_kept++] = (struct mem_range){bi->fdt, MAX(bi->fdt_size, 1), MEM_BOOT_DATA};
	if (bi->lowmem_trampoline)
		kept[nr_kept++] =
			(struct mem_range){bi->lowmem_trampoline, PAGE_SIZE, MEM_BOOT_DATA};
	print_raw_map(bi);
	check_claims(bi);
	e = memmap_build(&kernel_memmap, bi->ranges, bi->nr_ranges, kept, nr_kept, why,
			 sizeof(why));
	if (e)
		boot_fail("memory map: %s", why);
	printf("memory: %llu MiB usable in %u ranges, top 0x%llx\n",
	       (unsigned long long)(kernel_memmap.total_usable >> 20), kernel_memmap.nr_usable,
	       (unsigned long long)kernel_memmap.ram_top);
}

u64 memmap_carve(struct memmap *m, u64 size, u64 align, u64 limit)
{
	/* Highest fit first: low memory is precious (x86 trampolines, DMA). */
	for (unsigned i = m->nr_usable; i-- > 0;) {
		struct mem_range *u = &m->usable[i];
		u64 end = MIN(range_end(u), limit);
		u64 base;

		if (end < size)
			continue;
		base = ALIGN_DOWN(end - size, align);
		if (base < u->base)
			continue;
		subtract(m, base, base + size);
		m->total_usable -= size;
		return base;
	}
	return 0;
}

unsigned memmap_ram_ranges(const struct boot_info *bi, struct mem_range *out, unsigned max)
{
	unsigned n = 0;

	for (unsigned i = 0; i < bi->nr_ranges && n < max; i++) {
		const struct mem_range *r = &bi->ranges[i];
		u64 base = ALIGN_UP(r->base, PAGE_SIZE), end = ALIGN_DOWN(range_end(r), PAGE_SIZE);

		if ((r->type == MEM_USABLE || r->type == MEM_BOOT_DATA) && base < end)
			out[n++] = (struct mem_range){base, end - base, MEM_USABLE};
	}
	sort_ranges(out, n);
	/* Merge overlapping and touching ranges: the DTB inside RAM is not a second range. */
	unsigned merged = 0;

	for (unsigned i = 0; i < n; i++) {
		struct mem_range *last = merged ? &out[merged - 1] : NULL;

		if (last && out[i].base <= range_end(last))
			last->size = MAX(range_end(last), range_end(&out[i])) - last->base;
		else
			out[merged++] = out[i];
	}
	return merged;
}
