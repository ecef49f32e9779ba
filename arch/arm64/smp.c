/* SPDX-License-Identifier: MIT */
/* CPU discovery from /cpus and start-up through PSCI CPU_ON. */
#include "arch/arch.h"
#include "arch/arm64/arm64.h"
#include "arch/arm64/psci.h"
#include "arch/arm64/sysreg.h"
#include "arch/pt_format.h"
#include "boot/boot_info.h"
#include "drivers/fdt.h"
#include "kernel/percpu.h"
#include "kernel/smp.h"
#include "lib/panic.h"
#include "lib/printf.h"

extern char arm64_vectors_el1[], arm64_vectors_el2[];

static u64 mpidr_affinity(void)
{
	return read_sysreg(mpidr_el1) & (GENMASK(39, 32) | GENMASK(23, 0));
}

unsigned arch_smp_discover(struct boot_info *bi)
{
	u64 hwids[MAX_CPUS], self = mpidr_affinity();
	const void *fdt = arm64_fdt();
	unsigned next = 1;
	char why[96];
	int n;

	percpu[0].hwid = self;
	__atomic_store_n(&percpu[0].online, true, __ATOMIC_RELEASE);
	if (!fdt)
		return 1;
	n = dt_cpus(fdt, hwids, MAX_CPUS, why, sizeof(why));
	if (n < 0)
		boot_fail("device tree: %s", why);
	/* Logical CPU 0 is the boot CPU whatever its place in /cpus. */
	for (int i = 0; i < n; i++) {
		if (hwids[i] == self)
			continue;
		if (next == MAX_CPUS)
			break;
		percpu[next++].hwid = hwids[i];
	}
	if (n > 0 && next == (unsigned)n + 1)
		printf("smp: boot CPU MPIDR 0x%llx is not in /cpus\n", (unsigned long long)self);
	return next;
}

static struct arm64_secondary_boot boot_blocks[MAX_CPUS] __aligned(64);

int arch_cpu_start(unsigned cpu, u64 hwid, void *stack_top)
{
	struct arm64_secondary_boot *b = &boot_blocks[cpu];
	s64 rc;

	if (psci_conduit == PSCI_NONE) {
		printf("smp: CPU %u: no PSCI conduit to start it\n", cpu);
		return ERR_NOTSUP;
	}
	b->mmu = arm64_mmu;
	b->stack_top = (u64)stack_top;
	b->percpu = (u64)&percpu[cpu];
	b->vbar = (u64)(arm64_at_el2 ? arm64_vectors_el2 : arm64_vectors_el1);
	b->entry_el = arm64_features.entry_el;
	arm64_dcache_poc(DCACHE_CLEAN, (u64)(uintptr_t)b, sizeof(*b));
	/* The image is identity mapped, so these addresses are also physical. */
	rc = psci_call(PSCI_CPU_ON, hwid, (u64)arm64_secondary_entry, (u64)b);
	if (rc != PSCI_SUCCESS) {
		printf("smp: PSCI CPU_ON of CPU %u (MPIDR 0x%llx) failed: %s (%lld)\n", cpu,
		       (unsigned long long)hwid, psci_error_name(rc), (long long)rc);
		return ERR_IO;
	}
	return 0;
}

/*
 * The kernel's tables were built for the boot CPU's FEAT_BBM level; a CPU
 * with less would meet resize sequences it does not support (a direct size
 * change would be unpredictable there, D8.16.2). It stays off, and says so.
 */
static void check_bbm_level(void)
{
	unsigned mine = (unsigned)FIELD_GET(read_sysreg(ID_AA64MMFR2_EL1), 55, 52);

	if (mine >= arch_pt_bbm_level())
		return;
	printf("smp: CPU %u (MPIDR 0x%llx) has FEAT_BBM level %u, below the %u the page tables "
	       "use: left off (boot with bbm=%u to use it)\n",
	       this_cpu_id(), (unsigned long long)mpidr_affinity(), mine, arch_pt_bbm_level(),
	       mine);
	arch_halt();
}

__noreturn void arm64_secondary_c_entry(void)
{
	arm64_cpu_init_common();
	check_bbm_level();
	arm64_platform_cpu_init();
	secondary_main();
}
