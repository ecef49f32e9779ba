/* SPDX-License-Identifier: MIT */
/*
 * The arm64 Image boot path: head.S relocated the image and set up a stack;
 * this fills boot_info from the DTB the loader passed in x0 and enters the
 * common kernel. The MMU is off, so every physical address is usable as is.
 *
 * One option belongs to this boot path rather than to the kernel: dtb=ADDR
 * names a device tree already in RAM to use instead of the loader's (the
 * loader's still provides the command line). It is how tests hand the kernel
 * blobs QEMU's -dtb refuses to load, and how a board's loader that cannot pass
 * a DTB in x0 can be helped. It is removed from the command line here. The
 * loader's device tree says where RAM is; the replacement is read only where
 * that RAM holds it (header first, then the totalsize the header gives).
 */
#include "arch/arm64/arm64.h"
#include "boot/boot_info.h"
#include "drivers/fdt.h"
#include "lib/panic.h"
#include "lib/parse.h"
#include "lib/printf.h"
#include "lib/string.h"
#include "mm/memmap.h"

extern char _text[], _end[];
__noreturn void boot_arm64_main(u64 fdt_pa, u64 entry_el);

static struct boot_info image_boot_info;

static size_t strcspn_space(const char *s)
{
	size_t n = 0;

	while (s[n] && s[n] != ' ' && s[n] != '\t')
		n++;
	return n;
}

/*
 * Documentation/arch/arm64/booting.rst, "Setup the device tree": the blob is
 * 8-byte aligned, at most 2 MiB, in RAM. Only the header is read here; after
 * it, every block the blob has lies in [fdt_pa, fdt_pa + totalsize) and
 * totalsize is at most 2 MiB, so the later checks read a bounded range.
 */
static void check_dtb_header(u64 fdt_pa, const char *source)
{
	char why[128];

	if (!IS_ALIGNED(fdt_pa, 8))
		boot_fail("device tree at 0x%llx (%s) is not 8-byte aligned",
			  (unsigned long long)fdt_pa, source);
	if (!dt_check_header((const void *)fdt_pa, DT_MAX_SIZE, why, sizeof(why)))
		boot_fail("device tree at 0x%llx (%s) is corrupt: %s", (unsigned long long)fdt_pa,
			  source, why);
}

/* The whole structure (dt_check): reads only inside the header's totalsize. */
static void check_dtb_body(u64 fdt_pa, const char *source)
{
	char why[128];

	if (!dt_check((const void *)fdt_pa, why, sizeof(why)))
		boot_fail("device tree at 0x%llx (%s) is corrupt: %s", (unsigned long long)fdt_pa,
			  source, why);
}

/* boot_fail()s unless [pa, pa + size) is usable RAM among bi's ranges (whose: their source). */
static void require_in_ram(const struct boot_info *bi, u64 pa, u64 size, const char *what,
			   const char *whose)
{
	u64 ram_end;

	if (memmap_range_in_ram(bi->ranges, bi->nr_ranges, pa, size, &ram_end))
		return;
	if (ram_end)
		boot_fail("%s [0x%llx-0x%llx] reaches past the end of RAM at 0x%llx (RAM as %s "
			  "describes it)",
			  what, (unsigned long long)pa, (unsigned long long)(pa + size - 1),
			  (unsigned long long)ram_end, whose);
	boot_fail("%s at 0x%llx is not in RAM %s describes", what, (unsigned long long)pa, whose);
}

/* Fills bi's ranges from the checked blob, which must lie inside the RAM it describes. */
static void fill_memory(struct boot_info *bi, u64 fdt_pa, const char *what)
{
	const void *fdt = (const void *)fdt_pa;
	char why[128];

	if (!dt_fill_memory(fdt, fdt_pa, bi, why, sizeof(why)))
		boot_fail("device tree: %s", why);
	require_in_ram(bi, fdt_pa, dt_total_size(fdt), what, "the device tree itself");
}

/*
 * The dtb= blob, checked against the loader's RAM (already in bi) before each
 * read: first its header, then the totalsize the header gives. Only then is it
 * read whole, and its own memory nodes replace the loader's.
 */
static void switch_to_dtb_option(struct boot_info *bi, u64 pa)
{
	const char *loaders = "the loader's device tree";

	require_in_ram(bi, pa, DT_HEADER_SIZE, "dtb= device tree header", loaders);
	check_dtb_header(pa, "from dtb=");
	require_in_ram(bi, pa, dt_total_size((const void *)pa), "dtb= device tree", loaders);
	check_dtb_body(pa, "from dtb=");
	bi->nr_ranges = 0;
	fill_memory(bi, pa, "device tree (from dtb=)");
}

/*
 * Finds dtb=ADDR in the command line, removes it, and returns true with the
 * address; boot_fail()s when the value is not a number.
 */
static bool take_dtb_option(char *cmdline, u64 *addr)
{
	for (char *p = cmdline; *p;) {
		char *end = p + strcspn_space(p);

		if (!strncmp(p, "dtb=", 4)) {
			if (!parse_u64(p + 4, (size_t)(end - p - 4), addr))
				boot_fail("dtb= wants a physical address, not '%.*s'",
					  (int)(end - p - 4), p + 4);
			/* Drop the token and one space next to it. */
			if (p > cmdline)
				p--;
			else if (*end)
				end++;
			memmove(p, end, strlen(end) + 1);
			return true;
		}
		p = *end ? end + 1 : end;
	}
	return false;
}

__noreturn void boot_arm64_main(u64 fdt_pa, u64 entry_el)
{
	struct boot_info *bi = &image_boot_info;
	u64 replacement;
	char why[128];

	arm64_boot_cpu_setup((unsigned)entry_el);
	arm64_earlycon_init();
	bi->protocol = BOOT_ARM64_IMAGE;
	bi->entry_el = (u32)entry_el;
	bi->identity_limit = ~0ULL;
	bi->image_start = (u64)_text;
	bi->image_end = (u64)_end;
	if (!fdt_pa)
		boot_fail("no device tree: the loader passed x0 = 0 (boot the Image with a DTB)");
	/*
	 * Nothing but the blob itself says where RAM is, so the loader's header and
	 * its totalsize (at most 2 MiB) are trusted to be readable, then the blob
	 * must lie inside the RAM its memory nodes describe.
	 */
	check_dtb_header(fdt_pa, "from the loader");
	check_dtb_body(fdt_pa, "from the loader");
	dt_fill_cmdline((const void *)fdt_pa, bi);
	fill_memory(bi, fdt_pa, "device tree (from the loader)");
	if (take_dtb_option(bi->cmdline, &replacement)) {
		fdt_pa = replacement;
		switch_to_dtb_option(bi, fdt_pa);
	}
	bi->fdt = fdt_pa;
	bi->fdt_size = dt_total_size((const void *)fdt_pa);
	if (!dt_fill_initrd((const void *)fdt_pa, bi, why, sizeof(why)))
		boot_fail("device tree: %s", why);
	kernel_main(bi);
}
