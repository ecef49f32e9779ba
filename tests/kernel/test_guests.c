/* SPDX-License-Identifier: MIT */
/*
 * The newlib test guest (tests/guests/, guest-hypercall.elf) as a real VM:
 * the kernel gets it as a boot module (QEMU -initrd on arm64, PVH module 0 on
 * x86, initrd=\FILE under UEFI), loads it with the ELF loader (vmm/elf.h) and
 * runs it in postcopy with
 * the pattern source, on several vCPUs. The guest's own KTAP (its workloads:
 * ABI, libc, sequential and random touch, byte-for-byte verification,
 * discard then refault, several vCPUs on disjoint and shared ranges) is
 * printed behind "# "; this suite checks what it reported and how it ended.
 */
#include "boot/boot_info.h"
#include "lib/ktap.h"
#include "lib/printf.h"
#include "mm/kmap.h"
#include "mm/pmm.h"
#include "vmm/elf.h"
#include "vmm/pattern.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"
#include "tests/kernel/vm_tests.h"

#define GUEST_RAM	 MiB(128)
#define GUEST_RESERVED	 MiB(2) /* boot data below the image (docs/hypercalls.md) */
#define GUEST_VCPUS	 4
#define GUEST_LATENCY_US 5
#define GUEST_MBYTES_S	 2000

static struct vm guest_vm;
static struct vcpu guest_vcpus[GUEST_VCPUS];
static unsigned guest_nr_vcpus;
static u64 guest_baseline;
static int guest_rc = ERR_INVAL;
static u64 guest_entry;

static bool guests_unavailable(const char **reason)
{
	if (vm_tests_unavailable(reason))
		return true;
	if (!boot_info_kernel->module_size) {
		*reason = "no guest ELF: boot with QEMU -initrd build/guests/<arch>/"
			  "guest-hypercall.elf (a PVH module on x86; initrd=\\FILE under "
			  "UEFI)";
		return true;
	}
	return false;
}

/* docs/hypercalls.md "Entry state": RAM size in x1 (arm64, bytes) or esi (x86, pages). */
static void entry_args(u64 args[4], unsigned vcpus)
{
#if defined(ARCH_x86_64)
	args[1] = GUEST_RAM / PAGE_SIZE;
#else
	args[1] = GUEST_RAM;
#endif
	args[0] = 0;
	args[2] = 0; /* the default seed: GRANULE_PATTERN_SEED_DEFAULT */
	args[3] = vcpus;
}

static int guest_vm_load(void)
{
	const void *image = phys_to_virt(pa_init(boot_info_kernel->module_base));
	struct elf_load out;
	int rc = vm_create(&guest_vm, 0);

	if (rc)
		return rc;
	rc = vm_add_slot(&guest_vm, RAM_BASE, GUEST_RAM);
	if (!rc)
		rc = vm_load_elf(&guest_vm, image, boot_info_kernel->module_size, RAM_BASE,
				 GUEST_RESERVED, &out);
	if (rc) {
		ktap_diag("guest ELF refused: %s (%s)", out.why ? out.why : "?", out.detail);
		return rc;
	}
	ktap_diag("guest ELF: %llu bytes at 0x%llx, loaded [0x%llx, 0x%llx), entry 0x%llx",
		  boot_info_kernel->module_size, boot_info_kernel->module_base, out.low, out.high,
		  out.entry);
	guest_entry = out.entry;
	return 0;
}

static int guest_vm_prepare(unsigned n)
{
	struct postcopy_config cfg = {
		.source = source_pattern(GRANULE_PATTERN_SEED_DEFAULT, GUEST_LATENCY_US,
					 GUEST_MBYTES_S),
		.unit = POSTCOPY_UNIT_4K,
		.policy = POSTCOPY_AROUND_FAULTS,
	};
	u64 args[4];
	int rc = guest_vm_load();

	entry_args(args, n);
	if (!rc)
		rc = vm_postcopy_attach(&guest_vm, &cfg);
	if (!rc)
		rc = vcpu_create(&guest_vcpus[0], &guest_vm, 0, guest_entry, args);
	for (unsigned i = 1; !rc && i < n; i++)
		rc = vcpu_create_off(&guest_vcpus[i], &guest_vm, i);
	guest_vm.console_prefix = "        # guest: ";
	return rc;
}

static void test_guest_runs_to_exit_0(void)
{
	unsigned cpus[GUEST_VCPUS - 1];
	int spare;

	guest_baseline = pmm_free_bytes();
	guest_nr_vcpus = vm_pick_cpus(GUEST_VCPUS, cpus, &spare);
	guest_rc = guest_vm_prepare(guest_nr_vcpus);
	EXPECT_EQ(guest_rc, 0);
	if (guest_rc)
		return;
	if (spare >= 0)
		EXPECT_EQ(vm_postcopy_start_mover(&guest_vm, (unsigned)spare), 0);
	ktap_diag("%u vCPU(s), mover on CPU %d", guest_nr_vcpus, spare);
	guest_rc = vm_run(&guest_vm, cpus);
	vm_postcopy_stop_mover(&guest_vm);
	EXPECT_EQ(guest_rc, 0);
	if (guest_vm.exit_status)
		ktap_diag("guest exit status %llu (its failed cases are above)",
			  guest_vm.exit_status);
	EXPECT_EQ(guest_vm.exit_status, 0);
}

static bool guest_ran(void)
{
	if (!guest_rc)
		return true;
	ktap_skip("the guest did not run");
	return false;
}

/* What the guest reported (vmm/hypercall.h keys) matches a full, clean run. */
static void test_guest_verified_every_byte(void)
{
	const u64 *r = guest_vm.reports;

	if (!guest_ran())
		return;
	ktap_diag("reported: %llu pages touched, %llu bytes verified, %llu mismatches, %llu bytes "
		  "discarded, %llu vCPUs",
		  r[GRANULE_REPORT_PAGES_TOUCHED], r[GRANULE_REPORT_BYTES_VERIFIED],
		  r[GRANULE_REPORT_MISMATCHES], r[GRANULE_REPORT_BYTES_DISCARD],
		  r[GRANULE_REPORT_VCPUS]);
	EXPECT(r[GRANULE_REPORT_BYTES_VERIFIED] > GUEST_RAM / 2);
	EXPECT_EQ(r[GRANULE_REPORT_MISMATCHES], 0);
	EXPECT(r[GRANULE_REPORT_BYTES_DISCARD] > 0);
	/*
	 * The smp workload reports the vCPUs it ran on; given one vCPU (a
	 * one-CPU machine) the guest skips it ("the VMM gave one vCPU") and
	 * reports nothing.
	 */
	EXPECT_EQ(r[GRANULE_REPORT_VCPUS], guest_nr_vcpus > 1 ? guest_nr_vcpus : 0);
}

/* The VMM's side: faults on several vCPUs, one arrival per absent page, collapses. */
static void test_guest_postcopy_figures(void)
{
	const struct postcopy_stats *st = &guest_vm.pc.stats;

	if (!guest_ran())
		return;
	vm_report(&guest_vm);
	EXPECT(st->faults > 0);
	EXPECT_EQ(st->arrival_dups, 0);
	EXPECT(st->collapses[0] > 0);
	EXPECT_EQ(guest_vm.stats.aborts_injected, 0);
}

static void test_guest_destroy_returns_memory(void)
{
	if (guest_rc == ERR_INVAL && !guest_vm.nr_slots) {
		ktap_skip("no VM was created");
		return;
	}
	for (unsigned i = guest_nr_vcpus; i-- > 0;)
		vcpu_destroy(&guest_vcpus[i]);
	vm_destroy(&guest_vm);
	EXPECT_EQ(pmm_free_bytes(), guest_baseline);
}

KTAP_SUITE_SKIPPABLE(suite_guests, "guests", guests_unavailable,
		     KTAP_CASE(test_guest_runs_to_exit_0),
		     KTAP_CASE(test_guest_verified_every_byte),
		     KTAP_CASE(test_guest_postcopy_figures),
		     KTAP_CASE(test_guest_destroy_returns_memory));
