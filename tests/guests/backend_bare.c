/* SPDX-License-Identifier: MIT */
/*
 * The bare backend: the hypercall ABI emulated inside the guest on QEMU's devices (UART,
 * semihosting / PSCI / isa-debug-exit), so the runtime and workloads run without granule.
 * Argument checking follows docs/hypercalls.md exactly, so the ABI's error cases are tested
 * here the same way the VMM's are later.
 */
#include "tests/guests/guest.h"
#include "vmm/hypercall.h"

const char guest_backend_name[] = "bare";
/* Nothing filled RAM before the guest: it writes the pattern itself. */
const bool guest_backend_bare = true;

/* [gpa, gpa + len) inside guest RAM, without overflow. */
static bool in_ram(uint64_t gpa, uint64_t len)
{
	return gpa >= guest_boot.ram_base && gpa <= guest_boot.ram_end &&
	       len <= guest_boot.ram_end - gpa;
}

static int64_t console_write(uint64_t gpa, uint64_t len)
{
	const char *s = (const char *)(uintptr_t)gpa;

	if (len > GRANULE_CONSOLE_MAX)
		return GRANULE_E_INVAL;
	if (!in_ram(gpa, len))
		return GRANULE_E_RANGE;
	for (uint64_t i = 0; i < len; i++)
		arch_bare_putc(s[i]);
	return (int64_t)len;
}

/* Nothing to drop: the content stays, which is what a refault from the source gives back. */
static int64_t discard(uint64_t gpa, uint64_t len)
{
	if ((gpa | len) & (GRANULE_DISCARD_ALIGN - 1))
		return GRANULE_E_INVAL;
	if (!in_ram(gpa, len))
		return GRANULE_E_RANGE;
	return 0;
}

static void print_decimal(uint64_t v)
{
	char buf[21];
	int i = 20;

	buf[20] = 0;
	do
		buf[--i] = (char)('0' + v % 10);
	while (v /= 10);
	guest_panic_print(buf + i);
}

static int64_t report(uint64_t key, uint64_t value)
{
	static const char *const names[] = {
		[GRANULE_REPORT_PAGES_TOUCHED] = "pages_touched",
		[GRANULE_REPORT_BYTES_VERIFIED] = "bytes_verified",
		[GRANULE_REPORT_MISMATCHES] = "mismatches",
		[GRANULE_REPORT_BYTES_DISCARD] = "bytes_discarded",
		[GRANULE_REPORT_PHASE] = "phase",
	};

	if (key >= GRANULE_REPORT_KEY_MAX)
		return GRANULE_E_INVAL;
	/* The VMM collects these for its report; here they go to the console as diagnostics. */
	guest_panic_print("        # report ");
	guest_panic_print(key < sizeof(names) / sizeof(names[0]) && names[key] ? names[key]
									       : "key");
	guest_panic_print(" = ");
	print_decimal(value);
	guest_panic_print("\n");
	return 0;
}

int64_t guest_hc(uint64_t nr, uint64_t a1, uint64_t a2, uint64_t a3)
{
	switch (nr) {
	case GRANULE_HC_VERSION: return GRANULE_ABI_VERSION;
	case GRANULE_HC_CONSOLE_WRITE: return console_write(a1, a2);
	case GRANULE_HC_DISCARD: return discard(a1, a2);
	case GRANULE_HC_REPORT: return report(a1, a2);
	case GRANULE_HC_EXIT: arch_bare_exit((int)a1);
	default: return GRANULE_E_NOSYS;
	}
}
