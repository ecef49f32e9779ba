/* SPDX-License-Identifier: MIT */
/*
 * arm64 guest: entry information (registers, or QEMU's DTB), the EL1 stage-1 MMU, the HVC
 * hypercall, and the bare backend's devices on QEMU virt (PL011, semihosting, PSCI).
 */
#include "tests/guests/guest.h"
#include "vmm/hypercall.h"

#define PL011_BASE 0x09000000UL
#define PL011_DR   0x00
#define PL011_FR   0x18
#define PL011_TXFF (1u << 5)

/* ---- entry information ---- */
extern uint64_t arm64_entered_el2;

static uint32_t be32(const void *p)
{
	const uint8_t *b = p; /* byte loads: the DTB is read with the MMU off */

	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static bool str_eq(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

static bool has_word(const char *s, const char *word)
{
	for (;;) {
		const char *w = word;

		while (*s == ' ')
			s++;
		if (!*s)
			return false;
		while (*w && *s == *w)
			s++, w++;
		if (!*w && (*s == ' ' || !*s))
			return true;
		while (*s && *s != ' ')
			s++;
	}
}

#define FDT_MAGIC      0xd00dfeed
#define FDT_BEGIN_NODE 1
#define FDT_END_NODE   2
#define FDT_PROP       3
#define FDT_NOP	       4

/*
 * The few things the guest needs from a flattened device tree (Devicetree Specification v0.4,
 * chapter 5): the first /memory* node's first reg range (root #address-cells and #size-cells,
 * default 2 and 1), and whether /chosen bootargs says "semihosting".
 */
static void parse_fdt(const uint8_t *fdt)
{
	const uint8_t *p = fdt + be32(fdt + 8), *strings = fdt + be32(fdt + 12);
	const uint8_t *end = fdt + be32(fdt + 4);
	uint32_t acells = 2, scells = 1;
	int depth = 0;
	bool in_memory = false, in_chosen = false, have_memory = false;

	while (p < end) {
		uint32_t token = be32(p), len;
		const char *name;

		p += 4;
		switch (token) {
		case FDT_BEGIN_NODE:
			name = (const char *)p;
			depth++;
			in_memory = depth == 2 && name[0] == 'm' && name[1] == 'e' &&
				    name[2] == 'm' && name[3] == 'o' && name[4] == 'r' &&
				    name[5] == 'y' && (name[6] == 0 || name[6] == '@');
			in_chosen = depth == 2 && str_eq(name, "chosen");
			while (*p)
				p++;
			p = (const uint8_t *)guest_align_up((uint64_t)(uintptr_t)p + 1, 4);
			break;
		case FDT_END_NODE:
			depth--;
			in_memory = in_chosen = false;
			break;
		case FDT_PROP:
			len = be32(p);
			name = (const char *)strings + be32(p + 4);
			p += 8;
			if (depth == 1 && str_eq(name, "#address-cells"))
				acells = be32(p);
			else if (depth == 1 && str_eq(name, "#size-cells"))
				scells = be32(p);
			else if (in_memory && !have_memory && str_eq(name, "reg") &&
				 len >= 4 * (acells + scells)) {
				uint64_t base = 0, size = 0;

				for (uint32_t i = 0; i < acells; i++)
					base = base << 32 | be32(p + 4 * i);
				for (uint32_t i = 0; i < scells; i++)
					size = size << 32 | be32(p + 4 * (acells + i));
				guest_boot.ram_base = base;
				guest_boot.ram_end = base + size;
				have_memory = true;
			} else if (in_chosen && str_eq(name, "bootargs")) {
				guest_boot.semihosting = has_word((const char *)p, "semihosting");
			}
			p = (const uint8_t *)guest_align_up((uint64_t)(uintptr_t)p + len, 4);
			break;
		case FDT_NOP: break;
		default: return; /* FDT_END, or damage */
		}
	}
}

/*
 * x1 != 0: the VMM's contract (RAM at GRANULE_GUEST_RAM_BASE_ARM64, x1 bytes). Otherwise a DTB:
 * x0, or where QEMU puts it for an ELF kernel, the start of RAM.
 */
void arch_boot_info(uint64_t r0, uint64_t r1, uint64_t r2)
{
	const uint8_t *fdt = (const uint8_t *)(uintptr_t)(r0 ? r0 : GRANULE_GUEST_RAM_BASE_ARM64);

	guest_boot.seed = r2;
	guest_boot.from_el2 = arm64_entered_el2 != 0;
	guest_boot.ram_base = GRANULE_GUEST_RAM_BASE_ARM64;
	/* With x1 given and no x0, RAM is not probed: its first page may not even have arrived. */
	if ((r0 || !r1) && be32(fdt) == FDT_MAGIC)
		parse_fdt(fdt);
	if (r1) {
		guest_boot.ram_base = GRANULE_GUEST_RAM_BASE_ARM64;
		guest_boot.ram_end = GRANULE_GUEST_RAM_BASE_ARM64 + r1;
	}
	if (guest_boot.ram_end <= guest_boot.ram_base) {
		guest_panic_print("guest: no RAM size: x1 = 0 and no DTB with a /memory node\n");
		guest_exit(2);
	}
}

/* ---- stage-1 MMU at EL1 ---- */
/* VMSAv8-64 descriptors, 4 KiB granule (Arm ARM, "VMSAv8-64 translation table format descriptors").
 */
#define PTE_BLOCK    0x1ULL
#define PTE_TABLE    0x3ULL
#define PTE_ATTR(i)  ((uint64_t)(i) << 2)
#define PTE_SH_INNER (3ULL << 8)
#define PTE_AF	     (1ULL << 10)
#define PTE_PXN	     (1ULL << 53)
#define PTE_UXN	     (1ULL << 54)
#define ATTR_NORMAL  0 /* MAIR_EL1 Attr0 = 0xff: Normal, inner/outer write-back */
#define ATTR_DEVICE  1 /* MAIR_EL1 Attr1 = 0x04: Device-nGnRE */
#define MAIR_VALUE   (0xffULL | 0x04ULL << 8)

/* 39-bit VA: T0SZ = 25, so with a 4 KiB granule the walk starts at level 1 (Arm ARM, TCR_EL1.T0SZ).
 */
#define TCR_T0SZ      25ULL
#define TCR_IRGN0_WB  (1ULL << 8)
#define TCR_ORGN0_WB  (1ULL << 10)
#define TCR_SH0_INNER (3ULL << 12)
#define TCR_EPD1      (1ULL << 23) /* no TTBR1 walks: the guest lives in the low half */
#define TCR_IPS_SHIFT 32

#define SCTLR_M (1ULL << 0)
#define SCTLR_C (1ULL << 2)
#define SCTLR_I (1ULL << 12)
/* SCTLR_EL1 bits that are RES1 in Armv8.0 (29, 28, 23, 22, 20, 11). */
#define SCTLR_RES1 0x30d00800ULL

static uint64_t l1[512] __attribute__((aligned(4096)));
/* Level-2 tables for at most the first and last partial GiB of RAM. */
static uint64_t l2_pool[2][512] __attribute__((aligned(4096)));
static unsigned l2_used;

#define RAM_FLAGS (PTE_AF | PTE_SH_INNER | PTE_ATTR(ATTR_NORMAL))

/* RAM in [start, end) (2 MiB aligned) as 1 GiB blocks where a whole GiB is RAM, else 2 MiB. */
static void map_ram(uint64_t start, uint64_t end)
{
	for (uint64_t gib = guest_align_down(start, GUEST_SZ_1G); gib < end; gib += GUEST_SZ_1G) {
		uint64_t *l2;
		unsigned idx = (unsigned)(gib >> 30);

		if (gib >= start && gib + GUEST_SZ_1G <= end) {
			l1[idx] = gib | RAM_FLAGS | PTE_BLOCK;
			continue;
		}
		l2 = l2_pool[l2_used++];
		l1[idx] = (uint64_t)(uintptr_t)l2 | PTE_TABLE;
		for (uint64_t mb = gib; mb < gib + GUEST_SZ_1G; mb += GUEST_SZ_2M)
			if (mb >= start && mb < end)
				l2[(mb >> 21) & 511] = mb | RAM_FLAGS | PTE_BLOCK;
	}
}

/*
 * Everything written so far (.bss, the tables, guest_boot) went to memory uncached, MMU off.
 * Lines for the same addresses may still sit in a cache, clean but stale (written by the VMM or
 * loader through its cacheable mapping, or fetched speculatively): once the guest's accesses
 * and table walks become cacheable they would hit those. So the whole image is invalidated to
 * the point of coherency first, as Linux's arm64 head.S does for what it writes with the MMU
 * off. Under stage 2, DC IVAC from EL1 acts as clean and invalidate, equally fine here. The
 * instruction cache is invalidated too before SCTLR_EL1.I turns it on.
 */
static void invalidate_image(void)
{
	uint64_t ctr, line;

	__asm__ volatile("mrs %0, ctr_el0" : "=r"(ctr));
	line = 4ULL << ((ctr >> 16) & 0xf); /* CTR_EL0.DminLine: log2 of words */
	for (uint64_t a = guest_align_down((uint64_t)(uintptr_t)__image_start, line);
	     a < (uint64_t)(uintptr_t)__image_end; a += line)
		__asm__ volatile("dc ivac, %0" ::"r"(a) : "memory");
	__asm__ volatile("dsb sy\n\tic iallu\n\tdsb nsh\n\tisb" ::: "memory");
}

uint64_t arch_mmu_on(bool map_devices)
{
	uint64_t mmfr0, pa_range, tcr, sctlr;

	map_ram(guest_align_down(guest_boot.ram_base, GUEST_SZ_2M),
		guest_align_down(guest_boot.ram_end, GUEST_SZ_2M));
	guest_boot.ram_end = guest_align_down(guest_boot.ram_end, GUEST_SZ_2M);
	/* QEMU virt's devices (PL011 at 0x09000000) all lie in the first GiB. */
	if (map_devices)
		l1[0] = PTE_AF | PTE_ATTR(ATTR_DEVICE) | PTE_PXN | PTE_UXN | PTE_BLOCK;

	/* TCR_EL1.IPS = ID_AA64MMFR0_EL1.PARange (Arm ARM, TCR_EL1.IPS), at most 48 bits (0b101)
	 * here. */
	__asm__ volatile("mrs %0, id_aa64mmfr0_el1" : "=r"(mmfr0));
	pa_range = mmfr0 & 0xf;
	if (pa_range > 5)
		pa_range = 5;
	tcr = TCR_T0SZ | TCR_IRGN0_WB | TCR_ORGN0_WB | TCR_SH0_INNER | TCR_EPD1 |
	      pa_range << TCR_IPS_SHIFT;
	invalidate_image();
	/*
	 * Tables were written with the MMU and caches off, so they are in memory, and
	 * invalidate_image() dropped any older cached copy. Old TLB entries from whoever ran
	 * before are dropped before translation starts.
	 */
	__asm__ volatile("msr mair_el1, %0\n\t"
			 "msr tcr_el1, %1\n\t"
			 "msr ttbr0_el1, %2\n\t"
			 "isb\n\t"
			 "tlbi vmalle1\n\t"
			 "dsb nsh\n\t"
			 "isb" ::"r"(MAIR_VALUE),
			 "r"(tcr), "r"((uint64_t)(uintptr_t)l1)
			 : "memory");
	sctlr = SCTLR_RES1 | SCTLR_M | SCTLR_C | SCTLR_I;
	__asm__ volatile("msr sctlr_el1, %0\n\tisb" ::"r"(sctlr) : "memory");
	return guest_align_up((uint64_t)(uintptr_t)__image_end, GUEST_PAGE_SIZE);
}

/* ---- hypercall ---- */
int64_t arch_hypercall(uint64_t nr, uint64_t a1, uint64_t a2, uint64_t a3)
{
	register uint64_t x0 __asm__("x0") = nr;
	register uint64_t x1 __asm__("x1") = a1;
	register uint64_t x2 __asm__("x2") = a2;
	register uint64_t x3 __asm__("x3") = a3;

	__asm__ volatile("hvc #0" : "+r"(x0) : "r"(x1), "r"(x2), "r"(x3) : "memory");
	return (int64_t)x0;
}

uint64_t arch_ticks(void)
{
	uint64_t v;

	__asm__ volatile("isb\n\tmrs %0, cntvct_el0" : "=r"(v));
	return v;
}

/* ---- bare backend devices ---- */
void arch_bare_putc(char c)
{
	volatile uint32_t *base = (volatile uint32_t *)PL011_BASE;

	while (base[PL011_FR / 4] & PL011_TXFF)
		;
	base[PL011_DR / 4] = (uint8_t)c;
}

#define SEMIHOSTING_SYS_EXIT	     0x18
#define ADP_STOPPED_APPLICATION_EXIT 0x20026
#define PSCI_SYSTEM_OFF		     0x84000008

void arch_bare_exit(int status)
{
	/*
	 * Semihosting SYS_EXIT with the AArch64 parameter block {reason, status} (Arm
	 * "Semihosting for AArch32 and AArch64", 6.5), HLT #0xF000; only when QEMU was asked for
	 * it, since without -semihosting HLT is an undefined instruction.
	 */
	if (guest_boot.semihosting) {
		uint64_t block[2] = {ADP_STOPPED_APPLICATION_EXIT, (uint64_t)(int64_t)status};
		register uint64_t x0 __asm__("x0") = SEMIHOSTING_SYS_EXIT;
		register uint64_t x1 __asm__("x1") = (uint64_t)(uintptr_t)block;

		__asm__ volatile("hlt #0xf000" ::"r"(x0), "r"(x1) : "memory");
	}
	/* PSCI SYSTEM_OFF: over SMC when QEMU has EL2 (virtualization=on), else HVC. */
	if (guest_boot.from_el2)
		__asm__ volatile("mov x0, %0\n\tsmc #0" ::"r"((uint64_t)PSCI_SYSTEM_OFF) : "x0");
	else
		__asm__ volatile("mov x0, %0\n\thvc #0" ::"r"((uint64_t)PSCI_SYSTEM_OFF) : "x0");
	for (;;)
		__asm__ volatile("wfi");
}

/* ---- exceptions ---- */
void arm64_exception(uint64_t vector);

void arm64_exception(uint64_t vector)
{
	uint64_t esr, far, elr;

	__asm__ volatile("mrs %0, esr_el1\n\tmrs %1, far_el1\n\tmrs %2, elr_el1"
			 : "=r"(esr), "=r"(far), "=r"(elr));
	guest_panic_hex("guest: unexpected exception, vector ", vector);
	guest_panic_hex("  ESR_EL1 ", esr);
	guest_panic_hex("  FAR_EL1 ", far);
	guest_panic_hex("  ELR_EL1 ", elr);
	guest_panic_print("granule: exit 3\n");
	guest_exit(3);
}
