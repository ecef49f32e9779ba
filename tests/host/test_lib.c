/* SPDX-License-Identifier: MIT */
/* lib/ and the command-line parser; printf is built renamed (gr_*) beside libc's. */
#include <string.h>

#include "tests/host/harness.h"
#include "kernel/cmdline.h"
#include "lib/id_pool.h"
#include "lib/parse.h"

int gr_snprintf(char *buf, size_t size, const char *fmt, ...);

static void test_parse_u64(void)
{
	u64 v = 0;

	EXPECT(parse_u64("42", 2, &v) && v == 42);
	EXPECT(parse_u64("0x1f", 4, &v) && v == 31);
	EXPECT(!parse_u64("16M", 3, &v));
	EXPECT(parse_size("16M", 3, 0, &v) && v == MiB(16));
	EXPECT(parse_size("2g", 2, 0, &v) && v == GiB(2));
	EXPECT(parse_size("1k", 2, 20, &v) && v == KiB(1));
	EXPECT(parse_size("0x10M", 5, 0, &v) && v == MiB(16));
	EXPECT(parse_size("512", 3, 20, &v) && v == MiB(512));
	EXPECT(!parse_size("1T", 2, 0, &v));
	EXPECT(!parse_size("M", 1, 0, &v));
	EXPECT(!parse_size("17179869184G", 12, 0, &v));
	EXPECT(!parse_u64("", 0, &v));
	EXPECT(!parse_u64("12x", 3, &v));
	EXPECT(!parse_u64("99999999999999999999", 20, &v));
	EXPECT(!parse_u64("0x", 2, &v));
}

static void test_snprintf(void)
{
	char buf[64];

	gr_snprintf(buf, sizeof(buf), "%d|%5u|%-4s|%04x|%#llx|%c|%%", -12, 7u, "ab", 0xbeef,
		    0x123ULL, 'z');
	EXPECT(!strcmp(buf, "-12|    7|ab  |beef|0x123|z|%"));
	gr_snprintf(buf, sizeof(buf), "%016llx %p", 0xabcULL, (void *)0x1000);
	EXPECT(!strcmp(buf, "0000000000000abc 0x1000"));
	EXPECT_EQ(gr_snprintf(buf, 4, "%s", "truncated"), 9);
	EXPECT(!strcmp(buf, "tru"));
	gr_snprintf(buf, sizeof(buf), "%.3s|%*d|%lld", "abcdef", 4, 5, -9223372036854775807LL - 1);
	EXPECT(!strcmp(buf, "abc|   5|-9223372036854775808"));
}

static void test_cmdline(void)
{
	struct kernel_options o = {.max_cpus = MAX_CPUS};
	char line[] = "test=alloc,kpt  smp=2 semihosting";
	char bad[] = "test=all bogus=1";
	char badsmp[] = "smp=0";

	EXPECT_EQ(cmdline_parse(line, &o), 0);
	EXPECT(o.run_tests && !o.all_tests && o.nr_suites == 2);
	EXPECT(cmdline_wants_suite(&o, "kpt") && !cmdline_wants_suite(&o, "smp"));
	EXPECT(o.max_cpus == 2 && o.semihosting);
	o = (struct kernel_options){.max_cpus = MAX_CPUS};
	EXPECT_EQ(cmdline_parse(bad, &o), ERR_INVAL);
	EXPECT_EQ(cmdline_parse(badsmp, &o), ERR_INVAL);
}

/* demo_mem= reads its unit: a bare number is MiB, and a unit that cannot work is refused. */
static void test_cmdline_demo_mem(void)
{
	struct kernel_options o = {0};
	char mib[] = "demo_mem=512", gib[] = "demo_mem=2g", kib[] = "demo_mem=1k";
	char odd[] = "demo_mem=3M", huge[] = "demo_mem=65G", unit[] = "demo_mem=1T";

	EXPECT_EQ(cmdline_parse(mib, &o), 0);
	EXPECT_EQ(o.demo_mem, MiB(512));
	EXPECT_EQ(cmdline_parse(gib, &o), 0);
	EXPECT_EQ(o.demo_mem, GiB(2));
	o = (struct kernel_options){0};
	EXPECT_EQ(cmdline_parse(kib, &o), ERR_INVAL);
	EXPECT_EQ(cmdline_parse(odd, &o), ERR_INVAL);
	EXPECT_EQ(cmdline_parse(huge, &o), ERR_INVAL);
	EXPECT_EQ(cmdline_parse(unit, &o), ERR_INVAL);
	EXPECT_EQ(o.demo_mem, 0);
}

/* vm_budget=: seconds or a unit, 0/off for none, at most a day; unset means the default. */
static void test_cmdline_vm_budget(void)
{
	struct kernel_options o = {0};
	char secs[] = "vm_budget=30", ms[] = "vm_budget=500ms", s[] = "vm_budget=2s";
	char off[] = "vm_budget=off", zero[] = "vm_budget=0", day[] = "vm_budget=86400";
	char again[] = "vm_budget=30"; /* cmdline_parse() splits its buffer in place */
	char bad[][24] = {"vm_budget=5min",  "vm_budget=ms", "vm_budget=s",
			  "vm_budget=86401", "vm_budget=",   "vm_budget=-1"};

	EXPECT_EQ(cmdline_vm_budget_ms(&o), 0);
	o.run_tests = true;
	EXPECT_EQ(cmdline_vm_budget_ms(&o), CMDLINE_TEST_VM_BUDGET_MS);
	EXPECT_EQ(cmdline_parse(secs, &o), 0);
	EXPECT_EQ(cmdline_vm_budget_ms(&o), 30000);
	EXPECT_EQ(cmdline_parse(ms, &o), 0);
	EXPECT_EQ(o.vm_budget_ms, 500);
	EXPECT_EQ(cmdline_parse(s, &o), 0);
	EXPECT_EQ(o.vm_budget_ms, 2000);
	EXPECT_EQ(cmdline_parse(day, &o), 0);
	EXPECT_EQ(o.vm_budget_ms, CMDLINE_VM_BUDGET_MAX_MS);
	EXPECT_EQ(cmdline_parse(zero, &o), 0);
	EXPECT_EQ(cmdline_vm_budget_ms(&o), 0);
	EXPECT_EQ(cmdline_parse(again, &o), 0);
	EXPECT_EQ(cmdline_parse(off, &o), 0);
	/* Set to none: no default under test= either. */
	EXPECT(o.vm_budget_set);
	EXPECT_EQ(cmdline_vm_budget_ms(&o), 0);
	for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
		o = (struct kernel_options){0};
		EXPECT_EQ(cmdline_parse(bad[i], &o), ERR_INVAL);
		EXPECT(!o.vm_budget_set);
	}
}

/* stress_rounds=: a count from 1; unset (0) leaves each stress case its own. */
static void test_cmdline_stress_rounds(void)
{
	struct kernel_options o = {0};
	char twenty[] = "stress_rounds=20";
	char bad[][24] = {"stress_rounds=0", "stress_rounds=", "stress_rounds=2k",
			  "stress_rounds=1000001"};

	EXPECT_EQ(cmdline_parse(twenty, &o), 0);
	EXPECT_EQ(o.stress_rounds, 20);
	for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
		o = (struct kernel_options){0};
		EXPECT_EQ(cmdline_parse(bad[i], &o), ERR_INVAL);
		EXPECT_EQ(o.stress_rounds, 0);
	}
}

/* The lowest free id, never 0, below both the caller's limit and the pool's capacity. */
static void test_id_pool(void)
{
	ID_POOL_DEFINE(pool, 128);

	EXPECT_EQ(id_pool_alloc(&pool, 4), 1);
	EXPECT_EQ(id_pool_alloc(&pool, 4), 2);
	EXPECT_EQ(id_pool_alloc(&pool, 4), 3);
	EXPECT_EQ(id_pool_alloc(&pool, 4), 0); /* the CPU tags ids below 4 only */
	id_pool_free(&pool, 2);
	id_pool_free(&pool, 0);	  /* never handed out: ignored */
	id_pool_free(&pool, 500); /* outside the pool: ignored */
	EXPECT_EQ(id_pool_alloc(&pool, 4), 2);
	for (u32 id = 4; id < 128; id++)
		EXPECT_EQ(id_pool_alloc(&pool, 1u << 16), id);
	EXPECT_EQ(id_pool_alloc(&pool, 1u << 16), 0); /* capacity, not the limit, ends it */
}

/* initrd= is taken out of the line, wherever and however often it appears. */
static void test_cmdline_take(void)
{
	char line[] = "initrd=\\guest.elf  test=all\tsmp=2 initrdx=1 initrd=/second";
	char none[] = "test=all";
	char empty[] = "initrd= quiet";
	char value[16];
	char small[4];

	EXPECT_EQ(cmdline_take(line, "initrd", value, sizeof(value)), 2);
	EXPECT(!strcmp(value, "\\guest.elf"));
	EXPECT(!strcmp(line, "test=all smp=2 initrdx=1"));
	EXPECT_EQ(cmdline_take(none, "initrd", value, sizeof(value)), 0);
	EXPECT(!strcmp(none, "test=all"));
	EXPECT_EQ(cmdline_take(empty, "initrd", value, sizeof(value)), 1);
	EXPECT(!strcmp(value, "") && !strcmp(empty, "quiet"));
	strcpy(line, "initrd=\\toolong.elf");
	EXPECT_EQ(cmdline_take(line, "initrd", small, sizeof(small)), ERR_RANGE);
	EXPECT(!strcmp(small, "\\to") && !strcmp(line, ""));
}

/* The demo's link options: 0 is a value (no latency), not "unset"; bad values are refused. */
static void test_cmdline_demo_link(void)
{
	struct kernel_options o = {0};
	char line[] = "demo demo_latency=0 demo_bandwidth=250 demo_policy=around";
	char bad_policy[] = "demo_policy=random";
	char no_value[] = "demo_latency";
	char too_fast[] = "demo_bandwidth=1000001";

	EXPECT_EQ(cmdline_parse(line, &o), 0);
	EXPECT(o.demo && o.demo_latency_set && o.demo_latency_us == 0);
	EXPECT(o.demo_bandwidth_set && o.demo_mbytes_s == 250);
	EXPECT_EQ(o.demo_policy, 1);
	o = (struct kernel_options){0};
	EXPECT_EQ(cmdline_parse(bad_policy, &o), ERR_INVAL);
	EXPECT_EQ(cmdline_parse(no_value, &o), ERR_INVAL);
	EXPECT(!o.demo_latency_set);
	EXPECT_EQ(cmdline_parse(too_fast, &o), ERR_INVAL);
	EXPECT(!o.demo_bandwidth_set);
}

KTAP_SUITE(suite_host_lib, "host-lib", KTAP_CASE(test_parse_u64), KTAP_CASE(test_snprintf),
	   KTAP_CASE(test_cmdline_demo_mem), KTAP_CASE(test_cmdline_vm_budget),
	   KTAP_CASE(test_cmdline_stress_rounds), KTAP_CASE(test_id_pool), KTAP_CASE(test_cmdline),
	   KTAP_CASE(test_cmdline_take), KTAP_CASE(test_cmdline_demo_link));
