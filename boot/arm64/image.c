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
 * a DTB in x0 can be helped. It is removed from the command line here.
 */
#include "arch/arm64/arm64.h"
#include "boot/boot_info.h"
#include "drivers/fdt.h"
#include "kernel/panic.h"
#include "lib/parse.h"
#include "lib/printf.h"
#include "lib/string.h"

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

static bool in_usable_range(const struct boot_info *bi, u64 pa)
{
	for (unsigned i = 0; i < bi->nr_ranges; i++)
		if (bi->ranges[i].type == MEM_USABLE && pa >= bi->ranges[i].base &&
		    pa - bi->ranges[i].base < bi->ranges[i].size)
			return true;
	return false;
}

/* Validates the blob at fdt_pa; boot_fail()s naming the failed check. */
static const void *checked_fdt(u64 fdt_pa, const char *source)
{
	const void *fdt = (const void *)fdt_pa;
	char why[128];

	if (!IS_ALIGNED(fdt_pa, 8))
		boot_fail("device tree at 0x%llx (%s) is not 8-byte aligned",
			  (unsigned long long)fdt_pa, source);
	if (!dt_check(fdt, why, sizeof(why)))
		boot_fail("device tree at 0x%llx (%s) is corrupt: %s", (unsigned long long)fdt_pa,
			  source, why);
	return fdt;
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
	const void *fdt;
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
	fdt = checked_fdt(fdt_pa, "from the loader");
	dt_fill_cmdline(fdt, bi);
	if (take_dtb_option(bi->cmdline, &replacement)) {
		/* Reading outside RAM with the MMU off could hang or fault: check first. */
		if (!dt_fill_memory(fdt, fdt_pa, bi, why, sizeof(why)))
			boot_fail("device tree: %s", why);
		if (!in_usable_range(bi, replacement))
			boot_fail("dtb=0x%llx is not in RAM the loader's device tree describes",
				  (unsigned long long)replacement);
		bi->nr_ranges = 0;
		fdt_pa = replacement;
		fdt = checked_fdt(fdt_pa, "from dtb=");
	}
	bi->fdt = fdt_pa;
	bi->fdt_size = dt_total_size(fdt);
	if (!dt_fill_memory(fdt, fdt_pa, bi, why, sizeof(why)) ||
	    !dt_fill_initrd(fdt, bi, why, sizeof(why)))
		boot_fail("device tree: %s", why);
	kernel_main(bi);
}
