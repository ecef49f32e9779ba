/* SPDX-License-Identifier: MIT */
/* The common C entry: every boot path ends here with a filled boot_info. */
#include "arch/arch.h"
#include "boot/boot_info.h"
#include "kernel/cmdline.h"
#include "kernel/panic.h"
#include "kernel/smp.h"
#include "kernel/stack.h"
#include "lib/printf.h"
#include "mm/kmap.h"
#include "mm/memmap.h"
#include "mm/pmm.h"
#include "tests/kernel/suites.h"

u8 boot_stack[STACK_GUARD_SIZE + STACK_SIZE] __aligned(PAGE_SIZE);

static const char *const protocol_names[] = {
	[BOOT_ARM64_IMAGE] = "arm64 Image",
	[BOOT_UEFI] = "UEFI",
	[BOOT_PVH] = "PVH",
	[BOOT_MULTIBOOT2] = "Multiboot2",
};

static void check_boot_info(struct boot_info *bi)
{
	if (bi->cmdline_truncated)
		boot_fail("command line longer than %d bytes", BOOT_CMDLINE_MAX - 1);
	if (bi->ranges_overflow)
		boot_fail("firmware memory map has more than %d ranges", BOOT_MAX_RANGES);
	if (cmdline_parse(bi->cmdline, &kopt))
		boot_fail("bad command line");
}

__noreturn void kernel_main(struct boot_info *bi)
{
	arch_early_init(bi);
	printf("granule: booting via %s at %s%u\n", protocol_names[bi->protocol],
	       bi->entry_el ? "EL" : "ring ", bi->entry_el);
	printf("granule: command line '%s'\n", bi->cmdline);
	check_boot_info(bi);
	arch_report_features();

	memmap_init(bi);
	pmm_init(bi);
	kmap_init(bi);
	pmm_report();
	arch_platform_init(bi);
	smp_init(bi);
	printf("granule: ready (%u CPUs, %llu MiB free)\n", smp_online_count(),
	       (unsigned long long)(pmm_free_bytes() >> 20));

	if (kopt.run_tests)
		kernel_exit(kernel_tests_run(&kopt) ? 1 : 0);
	printf("granule: no demo yet; boot with test=all to run the suites\n");
	kernel_exit(0);
}
