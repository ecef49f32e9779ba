/* SPDX-License-Identifier: MIT */
/* The common C entry: every boot path ends here with a filled boot_info. */
#include "arch/arch.h"
#include "boot/boot_info.h"
#include "kernel/bbm_study.h"
#include "kernel/cmdline.h"
#include "kernel/demo.h"
#include "kernel/smp.h"
#include "kernel/stack.h"
#include "lib/panic.h"
#include "lib/printf.h"
#include "mm/hvo.h"
#include "mm/kernel_image.h"
#include "mm/kmap.h"
#include "mm/memmap.h"
#include "mm/pgtable.h"
#include "mm/pmm.h"
#include "tests/kernel/suites.h"

u8 boot_stack[STACK_GUARD_SIZE + STACK_SIZE] __aligned(PAGE_SIZE);

/* HVO's rendezvous reaches the other CPUs this way (mm/hvo.h). */
static int smp_call_nowait(unsigned cpu, void (*fn)(void *), void *arg)
{
	return smp_call(cpu, fn, arg, false);
}

static const char *const protocol_names[] = {
	[BOOT_ARM64_IMAGE] = "arm64 Image",
	[BOOT_UEFI] = "UEFI",
	[BOOT_PVH] = "PVH",
	[BOOT_MULTIBOOT2] = "Multiboot2",
};

/* The default run where no VM can run (EL1, no SVM): what the kernel built for itself. */
static void demo_boot_report(void)
{
	const struct pgtable *pt = kmap_pgtable();

	printf("demo: the hypervisor's own stage-1 tables, image region:\n");
	pt_dump(pt, (u64)(uintptr_t)__image_start,
		ALIGN_UP((u64)(uintptr_t)__image_end, PAGE_SIZE) - (u64)(uintptr_t)__image_start);
	printf("demo: direct map (first 4 GiB of RAM addresses):\n");
	pt_dump(pt, DIRECT_MAP_BASE, GiB(4));
	printf("demo: %llu table pages now, %llu at peak; boot with test=all to run the suites\n",
	       pt->tables, pt->tables_peak);
}

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
	int status;

	boot_info_kernel = bi;
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
	hvo_init(kopt.hvo_set ? (enum hvo_strategy)kopt.hvo : HVO_DEFAULT, smp_call_nowait);
	arch_platform_init(bi);
	smp_init(bi);
	printf("granule: ready (%u CPUs, %llu MiB free)\n", smp_online_count(),
	       (unsigned long long)(pmm_free_bytes() >> 20));

	if (kopt.run_tests)
		kernel_exit(kernel_tests_run(&kopt) ? 1 : 0);
	if (kopt.bbm_study_rounds)
		kernel_exit(bbm_study_run(kopt.bbm_study_rounds) ? 1 : 0);
	status = demo_run();
	if (status < 0) {
		demo_boot_report();
		status = 0;
	}
	kernel_exit(status);
}
