/* SPDX-License-Identifier: MIT */
/*
 * Common entry (called by <arch>/crt0.S with the entry registers, stack set, .bss cleared) and
 * the console and exit paths every other file uses.
 *
 * Until arch_mmu_on() returns, arm64 runs with its MMU off, where every data access is Device
 * memory (Arm ARM, "The effects of disabling an address translation stage"): no libc
 * call (newlib's string functions use unaligned and DC ZVA accesses) may run before it.
 */
#include "tests/guests/guest.h"
#include "vmm/hypercall.h"
#include "vmm/pattern.h"

#include <stdlib.h>

struct guest_boot guest_boot;
uint64_t guest_heap_start, guest_heap_end;

void guest_entry(uint64_t r0, uint64_t r1, uint64_t r2, uint64_t r3);

/* PSCI CPU_OFF (Arm DEN 0022D, 5.3): granule's VMM takes PSCI IDs over its hypercall too. */
#define PSCI_CPU_OFF 0x84000002ULL

void guest_entry(uint64_t r0, uint64_t r1, uint64_t r2, uint64_t r3)
{
	arch_boot_info(r0, r1, r2);
	/* The vCPU count is the VMM contract's (no DTB or start info, a RAM size given). */
	guest_boot.nr_vcpus = !r0 && r1 && r3 >= 1 && r3 <= GUEST_MAX_VCPUS ? (unsigned)r3 : 1;
	if (!guest_boot.seed)
		guest_boot.seed = GRANULE_PATTERN_SEED_DEFAULT;
	guest_heap_start = arch_mmu_on(guest_backend_bare);
	guest_heap_end = guest_heap_start + GUEST_HEAP_SIZE;
	if (guest_heap_end + GUEST_SZ_2M > guest_boot.ram_end) {
		guest_panic_hex("guest: RAM too small for image, heap and a 2 MiB arena; RAM end ",
				guest_boot.ram_end);
		guest_exit(2);
	}
	/* exit(), not guest_exit(): newlib flushes stdout first. */
	exit(guest_main());
}

/* Hands the console at most GRANULE_CONSOLE_MAX bytes per call, as the ABI asks. */
void guest_console_write(const char *s, size_t len)
{
	while (len) {
		size_t n = len < GRANULE_CONSOLE_MAX ? len : GRANULE_CONSOLE_MAX;
		int64_t r = guest_hc(GRANULE_HC_CONSOLE_WRITE, (uint64_t)(uintptr_t)s, n, 0);

		if (r <= 0)
			return; /* nowhere left to say anything */
		s += r;
		len -= (size_t)r;
	}
}

void guest_exit(int status)
{
	guest_hc(GRANULE_HC_EXIT, (uint64_t)(int64_t)status, 0, 0);
	/* A VMM that returned from EXIT is broken; spin rather than run on. */
	for (;;)
		;
}

void guest_panic_print(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	guest_console_write(s, n);
}

void guest_panic_hex(const char *label, uint64_t value)
{
	char buf[19] = "0x";

	for (int i = 0; i < 16; i++)
		buf[2 + i] = "0123456789abcdef"[(value >> (60 - 4 * i)) & 0xf];
	buf[18] = 0;
	guest_panic_print(label);
	guest_panic_print(buf);
	guest_panic_print("\n");
}

void guest_secondary_main(struct guest_cpu *cpu)
{
	cpu->fn(cpu);
	guest_hc(PSCI_CPU_OFF, 0, 0, 0);
	/* CPU_OFF returns only on failure: nothing sensible is left to do. */
	guest_panic_print("guest: PSCI CPU_OFF returned\n");
	guest_exit(3);
}
