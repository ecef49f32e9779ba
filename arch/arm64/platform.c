/* SPDX-License-Identifier: MIT */
/* GICv3 interrupts, SGI-based IPIs and the generic timer. */
#include "arch/arch.h"
#include "arch/arm64/arm64.h"
#include "arch/arm64/sysreg.h"
#include "boot/boot_info.h"
#include "drivers/fdt.h"
#include "drivers/gicv3.h"
#include "kernel/percpu.h"
#include "lib/panic.h"
#include "lib/printf.h"
#include "mm/kmap.h"

/* Architectural PPIs (Arm ARM D11.2.4 / BSA): EL2 physical timer 26, virtual timer 27. */
#define INTID_HYP_TIMER	 26
#define INTID_VIRT_TIMER 27
#define CNT_CTL_ENABLE	 BIT(0)

static u32 timer_intid;
static u64 counter_freq;
static bool platform_ready;

static u64 mpidr_affinity(void)
{
	/* Aff3 (39:32) and Aff2..Aff0 (23:0), without the MT/U flags. */
	return read_sysreg(mpidr_el1) & (GENMASK(39, 32) | GENMASK(23, 0));
}

static void *map_region(const struct dt_reg *r)
{
	return kmap_device(pa_init(r->base), ALIGN_UP(r->size, PAGE_SIZE));
}

void arch_platform_init(struct boot_info *bi)
{
	const void *fdt = arm64_fdt();
	struct gicv3_redist_region regions[DT_MAX_REDIST_REGIONS];
	struct dt_gicv3 gic;
	int intid;

	if (!fdt)
		boot_fail("arm64 needs a device tree to find its interrupt controller");
	if (!dt_find_gicv3(fdt, &gic))
		boot_fail("no usable GICv3 (compatible \"arm,gic-v3\" with distributor and "
			  "redistributor reg) in the device tree");
	for (unsigned i = 0; i < gic.nr_redist; i++)
		regions[i] = (struct gicv3_redist_region){map_region(&gic.redist[i]),
							  gic.redist[i].size};
	gicv3_init(map_region(&gic.dist), regions, gic.nr_redist);

	counter_freq = read_sysreg(cntfrq_el0);
	if (!counter_freq)
		boot_fail("CNTFRQ_EL0 is 0: the firmware did not program the counter frequency");
	/* At EL2 the EL2 physical timer (CNTHP); at EL1 the virtual timer (CNTV). */
	intid = dt_timer_intid(fdt, arm64_at_el2 ? 3 : 2);
	timer_intid = intid > 0 ? (u32)intid : arm64_at_el2 ? INTID_HYP_TIMER : INTID_VIRT_TIMER;
	psci_init(fdt);
	printf("platform: GICv3 distributor 0x%llx, %u redistributor region(s), timer INTID %u, "
	       "counter %llu Hz\n",
	       (unsigned long long)gic.dist.base, gic.nr_redist, timer_intid,
	       (unsigned long long)counter_freq);
	platform_ready = true;
	arm64_platform_cpu_init();
	arch_irq_enable();
}

void arm64_platform_cpu_init(void)
{
	u32 sgis = (u32)GENMASK(IPI_TYPES - 1, 0);

	arch_timer_oneshot(0);
	if (!gicv3_cpu_init(mpidr_affinity(), sgis | BIT(timer_intid)))
		panic("no GICv3 redistributor answers for MPIDR 0x%llx",
		      (unsigned long long)mpidr_affinity());
}

/* ---- IPIs: SGI n carries ipi_type n ---- */

void arch_send_ipi(unsigned cpu, enum ipi_type type)
{
	if (cpu < MAX_CPUS && platform_ready)
		gicv3_send_sgi(percpu[cpu].hwid, type);
}

/* ---- Timer ---- */

u64 arch_counter_read(void)
{
	/* ISB: the read is not speculated ahead of earlier instructions (D11.2.2). */
	isb();
	return arm64_at_el2 ? read_sysreg(cntpct_el0) : read_sysreg(cntvct_el0);
}

u64 arch_counter_freq(void)
{
	return counter_freq ? counter_freq : read_sysreg(cntfrq_el0);
}

void arch_timer_oneshot(u64 ticks)
{
	if (!ticks) {
		if (arm64_at_el2)
			write_sysreg(cnthp_ctl_el2, 0);
		else
			write_sysreg(cntv_ctl_el0, 0);
		isb();
		return;
	}
	/* Compare against the same counter arch_counter_read() returns. */
	if (arm64_at_el2) {
		write_sysreg(cnthp_cval_el2, arch_counter_read() + ticks);
		write_sysreg(cnthp_ctl_el2, CNT_CTL_ENABLE);
	} else {
		write_sysreg(cntv_cval_el0, arch_counter_read() + ticks);
		write_sysreg(cntv_ctl_el0, CNT_CTL_ENABLE);
	}
	isb();
}

/* ---- Interrupt dispatch ---- */

void arm64_handle_irq(struct exception_frame *f)
{
	for (;;) {
		u32 intid = gicv3_ack();

		if (intid >= GIC_SPURIOUS)
			return;
		if (intid < IPI_TYPES) {
			/* EOI first: the cross-call may never return (smp_stop_others halts). */
			gicv3_eoi(intid);
			ipi_handle((enum ipi_type)intid);
		} else if (intid == timer_intid) {
			/* The timer output is level-sensitive: disable it before the EOI. */
			arch_timer_oneshot(0);
			gicv3_eoi(intid);
			timer_handle();
		} else {
			gicv3_eoi(intid);
			printf("irq: unexpected INTID %u on CPU %u\n", intid, this_cpu_id());
		}
	}
}
