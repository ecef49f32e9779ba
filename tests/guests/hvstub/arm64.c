/* SPDX-License-Identifier: MIT */
/*
 * hvstub for arm64, the C half: an independent implementation of the hypercall ABI at EL2
 * (docs/hypercalls.md), so that the guest's hypercall backend, its register convention and its
 * ABI checks are tested against a second implementation before granule's VMM exists.
 *
 * It also plays the page source: RAM after the image starts out holding the pattern with a
 * non-default seed (passed to the guest in x2), and DISCARD writes the pattern back over the
 * range, which is what a refault from the source gives. Its EL2 MMU is off, so its stores are
 * non-cacheable while the guest reads through write-back mappings: coherent under QEMU, which
 * models no caches, and nowhere else (the real VMM cleans what it writes).
 *
 * It calls nothing of the guest's runtime after setup: all its state is in .data, since the
 * guest's crt0 clears .bss after hvstub_setup() returns.
 */
#include "tests/guests/guest.h"
#include "vmm/hypercall.h"
#include "vmm/pattern.h"

#define ESR_EC(esr) ((esr) >> 26)
#define EC_HVC64    0x16
#define PL011_DR    ((volatile uint32_t *)0x09000000UL)
#define PL011_FR    ((volatile uint32_t *)0x09000018UL)
#define PL011_TXFF  (1u << 5)

/* Not the default, so that the guest's use of x2 is tested. */
#define HVSTUB_SEED 0x5eed0f6a7a6e75ULL

struct hvstub_state {
	uint64_t ram_base, ram_end;
	bool semihosting;
	uint64_t exits;
};

static struct hvstub_state st __attribute__((section(".data")));

uint64_t hvstub_setup(uint64_t dtb);
uint64_t hvstub_seed(void);
void hvstub_handle(uint64_t *regs);
void hvstub_unexpected(void);

/* The page source: [start, end) (4 KiB aligned) holds the pattern again. */
static void fill(uint64_t start, uint64_t end)
{
	for (uint64_t p = start; p < end; p += GUEST_PAGE_SIZE)
		granule_pattern_fill((void *)(uintptr_t)p, p, GUEST_PAGE_SIZE, HVSTUB_SEED);
}

/* Learns RAM and the semihosting option from QEMU's DTB with the guest's own parser. */
uint64_t hvstub_setup(uint64_t dtb)
{
	arch_boot_info(dtb, 0, 0);
	st.ram_base = guest_boot.ram_base;
	st.ram_end = guest_boot.ram_end;
	st.semihosting = guest_boot.semihosting;
	fill((uint64_t)(uintptr_t)__image_end, st.ram_end);
	return st.ram_end - st.ram_base;
}

uint64_t hvstub_seed(void)
{
	return HVSTUB_SEED;
}

static void putc_el2(char c)
{
	while (*PL011_FR & PL011_TXFF)
		;
	*PL011_DR = (uint8_t)c;
}

static void puts_el2(const char *s)
{
	while (*s)
		putc_el2(*s++);
}

static bool in_ram(uint64_t gpa, uint64_t len)
{
	return gpa >= st.ram_base && gpa <= st.ram_end && len <= st.ram_end - gpa;
}

__attribute__((noreturn)) static void stub_exit(uint64_t status)
{
	uint64_t block[2] = {0x20026, status}; /* ADP_Stopped_ApplicationExit, status */

	if (st.semihosting) {
		register uint64_t x0 __asm__("x0") = 0x18; /* SYS_EXIT */
		register uint64_t x1 __asm__("x1") = (uint64_t)(uintptr_t)block;

		__asm__ volatile("hlt #0xf000" ::"r"(x0), "r"(x1) : "memory");
	}
	/* PSCI SYSTEM_OFF: QEMU's PSCI is behind SMC when EL2 exists. */
	__asm__ volatile("mov x0, %0\n\tsmc #0" ::"r"(0x84000008ULL) : "x0");
	for (;;)
		__asm__ volatile("wfi");
}

static int64_t call(uint64_t nr, uint64_t a1, uint64_t a2)
{
	switch (nr) {
	case GRANULE_HC_VERSION: return GRANULE_ABI_VERSION;
	case GRANULE_HC_CONSOLE_WRITE:
		if (a2 > GRANULE_CONSOLE_MAX)
			return GRANULE_E_INVAL;
		if (!in_ram(a1, a2))
			return GRANULE_E_RANGE;
		for (uint64_t i = 0; i < a2; i++)
			putc_el2(((const char *)(uintptr_t)a1)[i]);
		return (int64_t)a2;
	case GRANULE_HC_DISCARD:
		if ((a1 | a2) & (GRANULE_DISCARD_ALIGN - 1))
			return GRANULE_E_INVAL;
		if (!in_ram(a1, a2))
			return GRANULE_E_RANGE;
		fill(a1, a1 + a2);
		return 0;
	case GRANULE_HC_REPORT: return a1 < GRANULE_REPORT_KEY_MAX ? 0 : GRANULE_E_INVAL;
	case GRANULE_HC_EXIT: stub_exit(a1);
	default: return GRANULE_E_NOSYS;
	}
}

/* regs: the guest's x0..x30 as saved by arm64_entry.S; the result goes into x0. */
void hvstub_handle(uint64_t *regs)
{
	uint64_t esr;

	__asm__ volatile("mrs %0, esr_el2" : "=r"(esr));
	if (ESR_EC(esr) != EC_HVC64 || (esr & 0xffff) != 0)
		hvstub_unexpected();
	st.exits++;
	regs[0] = (uint64_t)call(regs[0], regs[1], regs[2]);
}

void hvstub_unexpected(void)
{
	uint64_t esr, elr;

	__asm__ volatile("mrs %0, esr_el2\n\tmrs %1, elr_el2" : "=r"(esr), "=r"(elr));
	puts_el2("hvstub: unexpected exception at EL2, ESR_EL2 EC ");
	putc_el2("0123456789abcdef"[ESR_EC(esr) >> 4 & 0xf]);
	putc_el2("0123456789abcdef"[ESR_EC(esr) & 0xf]);
	puts_el2("\ngranule: exit 3\n");
	stub_exit(3);
}
