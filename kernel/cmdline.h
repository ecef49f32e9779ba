/* SPDX-License-Identifier: MIT */
#ifndef KERNEL_CMDLINE_H
#define KERNEL_CMDLINE_H

#include "lib/errno.h"
#include "lib/types.h"

#define CMDLINE_MAX_SUITES     32
#define CMDLINE_DEMO_MAX_VCPUS 4
/*
 * The time budget of every VM a run with test= starts, unless vm_budget=
 * says otherwise: several times the guest time of the longest legitimate
 * run of a suite's guest under loaded emulation (postcopy's 1 GiB HGM
 * migration: about 75 s of wall time, most of it waiting for pages, which
 * does not count), short enough that a runaway guest leaves the emulator's
 * timeout for the suites after it.
 */
#define CMDLINE_TEST_VM_BUDGET_MS 60000
#define CMDLINE_VM_BUDGET_MAX_MS  86400000 /* one day */

/* Every option the kernel understands; anything else is an error. */
struct kernel_options {
	/* test=all | test=suite[,suite...]: run these KTAP suites, then exit. */
	bool run_tests;
	bool all_tests;
	const char *suites[CMDLINE_MAX_SUITES];
	unsigned nr_suites;
	/* demo: run the demo (the default when no test= is given). */
	bool demo;
	/* demo=compare|hgm|2m|1g: which postcopy modes the demo runs (kernel/demo.c). */
	enum demo_mode {
		DEMO_COMPARE, /* HGM, then 2M and 1G for comparison (the default) */
		DEMO_HGM,
		DEMO_2M,
		DEMO_1G,
	} demo_mode;
	/* demo_mem=SIZE[M|G]: the demo VM's RAM (default 1G); a multiple of 2 MiB. */
	u64 demo_mem;
	/*
	 * demo_vcpus=N: vCPUs of the demo's migration, 1..CMDLINE_DEMO_MAX_VCPUS
	 * (0 = the default, 4); at most one per CPU.
	 */
	unsigned demo_vcpus;
	/*
	 * demo_latency=US, demo_bandwidth=MB/s: the demo's page source, per
	 * urgent request and per byte (default 20 us and 1000 MB/s; a bandwidth
	 * of 0 charges nothing per byte). demo_policy=sequential|around: the
	 * mover's order (vmm/postcopy.h).
	 */
	unsigned demo_latency_us, demo_mbytes_s;
	bool demo_latency_set, demo_bandwidth_set;
	unsigned demo_policy;
	/*
	 * vm_budget=DURATION: the guest time a vCPU may use before granule
	 * stops its VM (vmm/vm.h); seconds, or with a unit (500ms, 2s); 0 or
	 * off: no budget.
	 * Unset: CMDLINE_TEST_VM_BUDGET_MS with test=, none otherwise.
	 */
	u64 vm_budget_ms;
	bool vm_budget_set;
	/* smp=N: start at most N CPUs (1 = boot CPU only). */
	unsigned max_cpus;
	/*
	 * bbm=0|1|2: the highest FEAT_BBM level page-table changes may rely on
	 * (default 2: whatever the CPUs have); lower it to study the stricter
	 * sequences on a CPU that has more.
	 */
	unsigned bbm_level;
	bool bbm_level_set; /* bbm= was given: a level above the CPU's is reported as lowered */
	/* bbm_study[=ROUNDS]: run the break-before-make study (kernel/bbm_study.c), then exit. */
	unsigned bbm_study_rounds;
	/* hvo=off|a|b|c|d|e: the vmemmap optimization strategy (mm/hvo.h); default e. */
	unsigned hvo;
	bool hvo_set;
	/*
	 * stress_rounds=N: at most N rounds in each stress case of the test
	 * suites (the hvo stress); 0, unset: each case's own count. For an
	 * emulator where every table write traps (kvm_pvm's shadow paging).
	 */
	unsigned stress_rounds;
	/* semihosting: end the run through Arm semihosting (emulators only). */
	bool semihosting;
	/* console=none|serial: silence or keep the serial console. */
	bool quiet;
};

extern struct kernel_options kopt;

/*
 * Parses space-separated key[=value] options in place. Returns 0, or ERR_INVAL
 * (lib/errno.h) after printing which option was wrong and why.
 */
int cmdline_parse(char *cmdline, struct kernel_options *opts);
/*
 * Removes every "key=VALUE" word from cmdline, in place (the words left are
 * joined by single spaces), and copies the first VALUE into value. For options
 * a boot path consumes itself (the UEFI stub's initrd=), so that the kernel's
 * parser never sees them. Returns how many such words there were (a count, not
 * an error), or ERR_RANGE (lib/errno.h) when the first VALUE does not fit in
 * value_size bytes with its NUL (value then holds as much of it as fits, for
 * the error message).
 */
int cmdline_take(char *cmdline, const char *key, char *value, size_t value_size);
bool cmdline_wants_suite(const struct kernel_options *opts, const char *suite);
/* The time budget a new VM gets, in ms (0: none): vm_budget=, else the default above. */
u64 cmdline_vm_budget_ms(const struct kernel_options *opts);

#endif
