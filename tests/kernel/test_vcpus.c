/* SPDX-License-Identifier: MIT */
/*
 * Several vCPUs per VM on several CPUs (vmm/smp.c, vmm/psci.c) and the fault
 * path under real concurrency: PSCI CPU_ON and its errors from a guest,
 * GRANULE_HC_VCPU_START's checks, faults in different 2M regions that share
 * no lock, faults on one region that record each arrival exactly once, and
 * faults racing discards that never leave a stale mapping (the VM's
 * invalidation sequence).
 */
#include "kernel/percpu.h"
#include "kernel/smp.h"
#include "lib/ktap.h"
#include "mm/kmap.h"
#include "mm/pmm.h"
#include "vmm/pattern.h"
#include "vmm/test_guest.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"
#include "tests/kernel/vm_tests.h"

#define SEED	     0x5eedc0deULL
#define REGION	     MiB(2)
#define REGION_PAGES (REGION / PAGE_SIZE)
#define RACE_ROUNDS  200
#define WAIT_MS	     5000
#define HELD_MS	     50

static u64 ms_ticks(u64 ms)
{
	return arch_counter_freq() * ms / 1000;
}

/* Two secondary CPUs that run no work item; false (and a skip) when there are not two. */
static bool two_spare_cpus(unsigned cpu[2])
{
	unsigned n = 0;

	for (unsigned i = 1; i < nr_cpus && n < 2; i++)
		if (smp_cpu_idle(i))
			cpu[n++] = i;
	if (n == 2)
		return true;
	ktap_skip("needs two idle secondary CPUs (smp >= 3)");
	return false;
}

/* ---- PSCI CPU_ON from the built-in guest ---- */

static struct vm smp_vm;
static struct vcpu smp_vcpus[2];

static void test_psci_cpu_on_and_errors(void)
{
	const struct arch_test_guest *image = arch_vm_test_guest();
	u64 args[4] = {0, MiB(2), SEED, TG_MODE_SMP}, baseline = pmm_free_bytes();
	unsigned cpu[2];
	int rc;

#if defined(ARCH_x86_64)
	ktap_skip("x86 has no PSCI; the x86 built-in guest has no SMP mode (the newlib guest's "
		  "smp workload covers GRANULE_HC_VCPU_START)");
	return;
#endif
	if (!two_spare_cpus(cpu))
		return;
	rc = vm_create(&smp_vm, 0);
	EXPECT_EQ(rc, 0);
	if (rc)
		return;
	rc = vm_add_slot(&smp_vm, RAM_BASE, MiB(2));
	if (!rc)
		rc = vm_load(&smp_vm, RAM_BASE, image->image, image->size);
	if (!rc)
		rc = vcpu_create(&smp_vcpus[0], &smp_vm, 0, RAM_BASE, args);
	if (!rc)
		rc = vcpu_create_off(&smp_vcpus[1], &smp_vm, 1);
	EXPECT_EQ(rc, 0);
	if (!rc)
		rc = vm_run(&smp_vm, &cpu[0]);
	EXPECT_EQ(rc, 0);
	if (smp_vm.exit_status != TG_EXIT_OK)
		ktap_diag("guest exit status %llu (vmm/test_guest.h TG_EXIT_SMP_*)",
			  smp_vm.exit_status);
	EXPECT_EQ(smp_vm.exit_status, TG_EXIT_OK);
	EXPECT_EQ(smp_vcpus[1].power, VCPU_OFF);
	EXPECT_EQ(smp_vcpus[1].cpu, (int)cpu[0]);
	EXPECT_EQ(smp_vcpus[1].result, 0);
	vcpu_destroy(&smp_vcpus[1]);
	vcpu_destroy(&smp_vcpus[0]);
	vm_destroy(&smp_vm);
	EXPECT_EQ(pmm_free_bytes(), baseline);
}

/* ---- vcpu_start()'s checks (GRANULE_HC_VCPU_START and CPU_ON share them) ---- */

static void test_vcpu_start_errors(void)
{
	u64 args[4] = {0};
	int rc = vm_create(&smp_vm, 0);

	EXPECT_EQ(rc, 0);
	if (rc)
		return;
	rc = vm_add_slot(&smp_vm, RAM_BASE, MiB(2));
	if (!rc)
		rc = vcpu_create(&smp_vcpus[0], &smp_vm, 0, RAM_BASE, args);
	if (!rc)
		rc = vcpu_create_off(&smp_vcpus[1], &smp_vm, 1);
	EXPECT_EQ(rc, 0);
	if (!rc) {
		EXPECT_EQ(vcpu_create_off(&smp_vcpus[1], &smp_vm, 1), ERR_INVAL);
		EXPECT_EQ(vcpu_create_off(&smp_vcpus[1], &smp_vm, VM_MAX_VCPUS), ERR_INVAL);
		EXPECT(vm_vcpu_by_mpidr(&smp_vm, 1) == &smp_vcpus[1]);
		EXPECT(vm_vcpu_by_mpidr(&smp_vm, 2) == NULL);
		EXPECT(vm_vcpu_by_mpidr(&smp_vm, 1ULL << 40 | 1) == NULL);
		EXPECT_EQ(vcpu_start(&smp_vcpus[0], RAM_BASE, 0), ERR_BUSY);
		EXPECT_EQ(vcpu_start(&smp_vcpus[1], RAM_BASE + MiB(2), 0), ERR_FAULT);
		EXPECT_EQ(smp_vcpus[1].power, VCPU_OFF);
		EXPECT_EQ(vcpu_start(&smp_vcpus[1], RAM_BASE + PAGE_SIZE, 7), 0);
		EXPECT_EQ(smp_vcpus[1].power, VCPU_ON_PENDING);
		EXPECT_EQ(vcpu_start(&smp_vcpus[1], RAM_BASE, 0), ERR_BUSY);
		EXPECT_EQ(smp_vm.vcpus_on, 2);
		EXPECT_EQ(vcpu_turn_off(&smp_vcpus[1]), 0);
		EXPECT(!vm_stopping(&smp_vm));
		EXPECT_EQ(vcpu_turn_off(&smp_vcpus[0]), 0);
		EXPECT(vm_stopping(&smp_vm)); /* the last vCPU off ends the VM */
	}
	vcpu_destroy(&smp_vcpus[1]);
	vcpu_destroy(&smp_vcpus[0]);
	vm_destroy(&smp_vm);
}

/* ---- The postcopy fault path on several CPUs at once ---- */

static struct vm pc_vm;

/* The cases use regions 3 to 10 of the first GiB: 64 MiB holds them where 1 GiB does not fit. */
#define PC_VM_SMALL MiB(64)

/*
 * 1 GiB where it fits, else PC_VM_SMALL (said in a diagnostic); 0, after a
 * skip that says what is needed, where not even that fits.
 */
static u64 pc_vm_size(void)
{
	static char why[160];
	char big[160];

	if (postcopy_fits(postcopy_slot_bytes(RAM_SIZE), false, big, sizeof(big)))
		return RAM_SIZE;
	if (!postcopy_fits(postcopy_slot_bytes(PC_VM_SMALL), false, why, sizeof(why))) {
		ktap_skip(why);
		return 0;
	}
	ktap_diag("a %llu MiB VM: 1 GiB %s", PC_VM_SMALL >> 20, big);
	return PC_VM_SMALL;
}

static int pc_vm_prepare(u64 latency_us, u64 size)
{
	struct postcopy_config cfg = {
		.source = source_pattern(SEED, latency_us, 0),
		.unit = POSTCOPY_UNIT_4K,
		.policy = POSTCOPY_SEQUENTIAL,
	};
	int rc = vm_create(&pc_vm, 0);

	if (rc)
		return rc;
	rc = vm_add_slot(&pc_vm, RAM_BASE, size);
	if (!rc)
		rc = vm_postcopy_attach(&pc_vm, &cfg);
	if (rc)
		vm_destroy(&pc_vm);
	return rc;
}

static bool pc_vm_ready(u64 latency_us)
{
	u64 size = pc_vm_size();
	int rc;

	if (!size)
		return false;
	rc = pc_vm_prepare(latency_us, size);
	EXPECT_EQ(rc, 0);
	return !rc;
}

/* What a stand-in vCPU does on its CPU: fault [gpa, gpa + len) page by page, maybe backwards. */
struct faulter {
	u64 gpa, len;
	bool backwards;
	unsigned rounds; /* with discard: alternate faults and discards this often */
	bool discard;
	int rc;
	struct smp_work work;
};

static void fault_range(struct faulter *f)
{
	struct vm_slot *s = &pc_vm.slots[0];

	for (u64 i = 0; i < f->len / PAGE_SIZE && !f->rc; i++) {
		u64 page = f->backwards ? f->len / PAGE_SIZE - 1 - i : i;

		f->rc = postcopy_fault(&pc_vm, s, f->gpa + page * PAGE_SIZE);
	}
}

static void faulter_main(void *arg)
{
	struct faulter *f = arg;

	for (unsigned r = 0; r < MAX(f->rounds, 1u) && !f->rc; r++) {
		if (f->discard)
			f->rc = vm_discard(&pc_vm, f->gpa, f->len);
		else
			fault_range(f);
	}
}

static bool faulter_start(struct faulter *f, unsigned cpu)
{
	f->rc = 0;
	return smp_work_queue(cpu, &f->work, faulter_main, f) == 0;
}

/* Runs a on cpu[0] and b on cpu[1] at once and waits for both; each must end with 0. */
static void run_pair(struct faulter *a, struct faulter *b, const unsigned cpu[2])
{
	EXPECT(faulter_start(a, cpu[0]));
	EXPECT(faulter_start(b, cpu[1]));
	EXPECT(smp_work_wait(&a->work, ms_ticks(4 * WAIT_MS)));
	EXPECT(smp_work_wait(&b->work, ms_ticks(4 * WAIT_MS)));
	EXPECT_EQ(a->rc, 0);
	EXPECT_EQ(b->rc, 0);
}

/* Every mapped page of [gpa, gpa + len) maps its own backing page, which holds the pattern. */
static u64 bad_mappings(u64 gpa, u64 len, u64 *mapped)
{
	struct vm_slot *s = &pc_vm.slots[0];
	u64 bad = 0;

	*mapped = 0;
	for (u64 at = gpa; at < gpa + len; at += PAGE_SIZE) {
		struct pt_translation t;
		const u64 *page = vm_slot_page(s, at);

		if (!pt_translate(&pc_vm.pt, at, &t))
			continue;
		(*mapped)++;
		bad += pa_addr(t.pa) != pa_addr(virt_to_phys(page)) ||
		       !vm_page_present(&pc_vm, at) ||
		       page[1] != granule_pattern_word(at + 8, SEED);
	}
	return bad;
}

/*
 * Region A's lock is held here while another CPU faults every page of
 * region B (same GiB): it must finish, so no lock is shared; a third CPU's
 * fault in region A must wait until the lock is released.
 */
static void test_faults_in_two_regions_share_no_lock(void)
{
	static struct faulter in_b, in_a;
	u64 a = RAM_BASE + 4 * REGION, b = RAM_BASE + 9 * REGION, mapped;
	struct pc_region *ra;
	unsigned cpu[2];
	bool b_done, a_waited;

	if (!two_spare_cpus(cpu))
		return;
	if (!pc_vm_ready(0))
		return;
	ra = &pc_vm.slots[0].pc->regions[(a - RAM_BASE) / REGION];
	in_b = (struct faulter){.gpa = b, .len = REGION};
	in_a = (struct faulter){.gpa = a, .len = PAGE_SIZE};
	spin_lock(&ra->lock);
	EXPECT(faulter_start(&in_b, cpu[0]));
	EXPECT(faulter_start(&in_a, cpu[1]));
	b_done = smp_work_wait(&in_b.work, ms_ticks(WAIT_MS));
	a_waited = !smp_work_wait(&in_a.work, ms_ticks(HELD_MS));
	spin_unlock(&ra->lock);
	EXPECT(b_done);
	EXPECT(a_waited);
	EXPECT(smp_work_wait(&in_a.work, ms_ticks(WAIT_MS)));
	EXPECT(smp_work_wait(&in_b.work, ms_ticks(WAIT_MS)));
	EXPECT_EQ(in_a.rc, 0);
	EXPECT_EQ(in_b.rc, 0);
	EXPECT_EQ(bad_mappings(b, REGION, &mapped), 0);
	EXPECT_EQ(mapped, REGION_PAGES);
	EXPECT_EQ(pc_vm.pc.stats.collapses[0], 1); /* region B became one 2M leaf */
	vm_destroy(&pc_vm);
}

/* Two CPUs fault the same 2M region, one upwards, one downwards: one arrival per page. */
static void test_shared_region_faults_arrive_once(void)
{
	static struct faulter up, down;
	u64 gpa = RAM_BASE + 3 * REGION, mapped;
	unsigned cpu[2];

	if (!two_spare_cpus(cpu))
		return;
	if (!pc_vm_ready(5))
		return;
	up = (struct faulter){.gpa = gpa, .len = REGION};
	down = (struct faulter){.gpa = gpa, .len = REGION, .backwards = true};
	run_pair(&up, &down, cpu);
	EXPECT_EQ(pc_vm.pc.stats.pages_arrived, REGION_PAGES);
	EXPECT_EQ(pc_vm.pc.stats.arrival_dups, 0);
	EXPECT_EQ(pc_vm.pc.stats.faults, 2 * REGION_PAGES);
	EXPECT_EQ(bad_mappings(gpa, REGION, &mapped), 0);
	EXPECT_EQ(mapped, REGION_PAGES);
	ktap_diag("%llu faults, %llu arrivals, %llu waited for a page in flight, %llu retries",
		  pc_vm.pc.stats.faults, pc_vm.pc.stats.pages_arrived, pc_vm.pc.stats.fault_waits,
		  pc_vm.pc.stats.fault_retries);
	vm_destroy(&pc_vm);
}

/*
 * One CPU faults a region over and over while another discards it over and
 * over: whatever the interleaving, a page mapped at the end is present, maps
 * its own backing page and holds the pattern, and arrivals minus discards is
 * what is present.
 */
static void test_faults_race_discards_no_stale_mapping(void)
{
	static struct faulter faults, discards;
	u64 gpa = RAM_BASE + 5 * REGION, mapped, present = 0;
	const struct postcopy_stats *st = &pc_vm.pc.stats;
	unsigned cpu[2];

	if (!two_spare_cpus(cpu))
		return;
	if (!pc_vm_ready(0))
		return;
	faults = (struct faulter){.gpa = gpa, .len = 64 * PAGE_SIZE, .rounds = RACE_ROUNDS};
	discards = (struct faulter){
		.gpa = gpa, .len = 64 * PAGE_SIZE, .rounds = RACE_ROUNDS, .discard = true};
	run_pair(&faults, &discards, cpu);
	EXPECT_EQ(bad_mappings(gpa, REGION, &mapped), 0);
	for (u64 at = gpa; at < gpa + REGION; at += PAGE_SIZE)
		present += vm_page_present(&pc_vm, at);
	EXPECT_EQ(st->arrival_dups, 0);
	EXPECT_EQ(st->pages_arrived - st->pages_discarded, present);
	ktap_diag("%llu arrivals, %llu discarded, %llu present, %llu mapped, %llu fault retries",
		  st->pages_arrived, st->pages_discarded, present, mapped, st->fault_retries);
	vm_destroy(&pc_vm);
}

KTAP_SUITE_SKIPPABLE(suite_vcpus, "vcpus", vm_tests_unavailable,
		     KTAP_CASE(test_psci_cpu_on_and_errors), KTAP_CASE(test_vcpu_start_errors),
		     KTAP_CASE(test_faults_in_two_regions_share_no_lock),
		     KTAP_CASE(test_shared_region_faults_arrive_once),
		     KTAP_CASE(test_faults_race_discards_no_stale_mapping));
