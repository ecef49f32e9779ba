/* SPDX-License-Identifier: MIT */
/*
 * x86-64 guest: entry information (PVH start info, or the VMM's registers), its own 4-level
 * page tables, VMCALL/VMMCALL, the IDT, and the bare backend's devices on QEMU (COM1,
 * isa-debug-exit).
 */
#include "tests/guests/guest.h"
#include "vmm/hypercall.h"

#define COM1	   0x3f8
#define DEBUG_EXIT 0xf4
#define PVH_MAGIC  0x336ec578
#define E820_RAM   1
#define SEL_CODE64 0x18

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(port));
}

static inline void outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" ::"a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;

	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline void cpuid(uint32_t leaf, uint32_t r[4])
{
	__asm__ volatile("cpuid"
			 : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
			 : "a"(leaf), "c"(0));
}

/* ---- IDT: every exception is fatal and reported ---- */
struct idt_gate {
	uint16_t off0, sel;
	uint8_t ist, type;
	uint16_t off1;
	uint32_t off2, zero;
};

static struct idt_gate idt[32] __attribute__((aligned(16)));
extern char x86_vector_stubs[];

/* Loads the IDT on this vCPU (the boot vCPU after idt_init(), each secondary: x86_64/smp.c). */
void x86_idt_load(void)
{
	struct __attribute__((packed)) {
		uint16_t limit;
		uint64_t base;
	} ptr = {sizeof(idt) - 1, (uint64_t)(uintptr_t)idt};

	__asm__ volatile("lidt %0" ::"m"(ptr));
}

static void idt_init(void)
{
	for (unsigned v = 0; v < 32; v++) {
		uint64_t a = (uint64_t)(uintptr_t)x86_vector_stubs + 16 * v;

		/* 64-bit interrupt gate, present, DPL 0 (SDM Vol. 3A, "64-Bit Mode IDT"). */
		idt[v] = (struct idt_gate){(uint16_t)a,		SEL_CODE64,	     0, 0x8e,
					   (uint16_t)(a >> 16), (uint32_t)(a >> 32), 0};
	}
	x86_idt_load();
}

void x86_exception(const uint64_t *frame);

void x86_exception(const uint64_t *frame)
{
	uint64_t cr2;

	__asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
	guest_panic_hex("guest: unexpected exception, vector ", frame[0]);
	guest_panic_hex("  error code ", frame[1]);
	guest_panic_hex("  RIP ", frame[2]);
	guest_panic_hex("  CR2 ", cr2);
	guest_panic_print("granule: exit 3\n");
	guest_exit(3);
}

/* ---- entry information ---- */
/* xen/include/public/arch-x86/hvm/start_info.h, version 1. */
struct hvm_start_info {
	uint32_t magic, version, flags, nr_modules;
	uint64_t modlist_paddr, cmdline_paddr, rsdp_paddr, memmap_paddr;
	uint32_t memmap_entries, reserved;
};

struct hvm_memmap_entry {
	uint64_t addr, size;
	uint32_t type, reserved;
};

static bool use_vmmcall;

/* The RAM range of the PVH memory map that holds the image. */
static void pvh_memory(const struct hvm_start_info *si)
{
	const struct hvm_memmap_entry *e;
	uint64_t image = (uint64_t)(uintptr_t)__image_start;

	if (si->version < 1 || !si->memmap_paddr) {
		guest_panic_print("guest: PVH start info without a memory map (version 0)\n");
		guest_exit(2);
	}
	e = (const struct hvm_memmap_entry *)(uintptr_t)si->memmap_paddr;
	for (uint32_t i = 0; i < si->memmap_entries; i++) {
		if (e[i].type == E820_RAM && e[i].addr <= image && image - e[i].addr < e[i].size) {
			guest_boot.ram_base = e[i].addr;
			guest_boot.ram_end = e[i].addr + e[i].size;
			return;
		}
	}
	guest_panic_print("guest: no RAM range of the PVH memory map holds the image\n");
	guest_exit(2);
}

/* r0 = ebx (start info or 0), r1 = esi (RAM pages when ebx = 0), r2 = edi (seed). */
void arch_boot_info(uint64_t r0, uint64_t r1, uint64_t r2)
{
	uint32_t r[4];

	idt_init();
	/* VMCALL is VMX's, VMMCALL SVM's; each is #UD on the other (SDM VMCALL, APM VMMCALL).
	 */
	cpuid(0, r);
	use_vmmcall = r[1] != 0x756e6547; /* "Genu"ineIntel */
	/* PVH defines ebx only: esi and edi are the loader's leftovers then, not a seed. */
	if (r0 && *(const uint32_t *)(uintptr_t)r0 == PVH_MAGIC) {
		pvh_memory((const struct hvm_start_info *)(uintptr_t)r0);
		return;
	}
	guest_boot.seed = r2;
	guest_boot.ram_base = GRANULE_GUEST_RAM_BASE_X86_64;
	guest_boot.ram_end = GRANULE_GUEST_RAM_BASE_X86_64 + r1 * GUEST_PAGE_SIZE;
	if (!r1) {
		guest_panic_print("guest: no RAM size: ebx = 0 and esi = 0\n");
		guest_exit(2);
	}
}

/* ---- page tables ---- */
#define PTE_P  0x1ULL
#define PTE_RW 0x2ULL
#define PTE_PS 0x80ULL
#define TABLE  (PTE_P | PTE_RW)
#define LEAF   (PTE_P | PTE_RW | PTE_PS)

static uint64_t table_next; /* bump allocator for table pages, right after the image */

static uint64_t *table_alloc(void)
{
	uint64_t *t = (uint64_t *)(uintptr_t)table_next;

	table_next += GUEST_PAGE_SIZE;
	for (unsigned i = 0; i < 512; i++)
		t[i] = 0;
	return t;
}

static uint64_t *next_table(uint64_t *entry)
{
	if (!*entry)
		*entry = (uint64_t)(uintptr_t)table_alloc() | TABLE;
	return (uint64_t *)(uintptr_t)(*entry & 0x000ffffffffff000ULL);
}

/*
 * [start, end) identity-mapped write-back: 1 GiB pages where the CPU has them (CPUID
 * 0x80000001 EDX.Page1GB) and a whole GiB is RAM, else 2 MiB pages.
 */
static void map_ram(uint64_t *pml4, uint64_t start, uint64_t end, bool gb_pages)
{
	uint64_t a = start;

	while (a < end) {
		uint64_t *pdpt = next_table(&pml4[(a >> 39) & 511]);
		uint64_t *pde = &pdpt[(a >> 30) & 511];

		if (gb_pages && !(a & (GUEST_SZ_1G - 1)) && end - a >= GUEST_SZ_1G) {
			*pde = a | LEAF;
			a += GUEST_SZ_1G;
			continue;
		}
		next_table(pde)[(a >> 21) & 511] = a | LEAF;
		a += GUEST_SZ_2M;
	}
}

uint64_t arch_mmu_on(bool map_devices)
{
	uint32_t r[4];
	uint64_t *pml4;
	bool gb_pages = false;

	cpuid(0x80000000, r);
	if (r[0] >= 0x80000001) {
		cpuid(0x80000001, r);
		gb_pages = r[3] & (1u << 26);
	}
	/* The bare devices are I/O ports: map_devices needs no mapping here. */
	table_next = guest_align_up((uint64_t)(uintptr_t)__image_end, GUEST_PAGE_SIZE);
	pml4 = table_alloc();
	guest_boot.ram_end = guest_align_down(guest_boot.ram_end, GUEST_SZ_2M);
	map_ram(pml4, guest_align_down(guest_boot.ram_base, GUEST_SZ_2M), guest_boot.ram_end,
		gb_pages);
	/* Writing CR3 flushes the boot tables' non-global translations (SDM Vol. 3A, "Operations
	 * that Invalidate TLBs and Paging-Structure Caches"). */
	__asm__ volatile("mov %0, %%cr3" ::"r"((uint64_t)(uintptr_t)pml4) : "memory");
	return table_next;
}

/* ---- hypercall ---- */
int64_t arch_hypercall(uint64_t nr, uint64_t a1, uint64_t a2, uint64_t a3)
{
	uint64_t rax = nr;

	if (use_vmmcall)
		__asm__ volatile("vmmcall" : "+a"(rax) : "D"(a1), "S"(a2), "d"(a3) : "memory");
	else
		__asm__ volatile("vmcall" : "+a"(rax) : "D"(a1), "S"(a2), "d"(a3) : "memory");
	return (int64_t)rax;
}

uint64_t arch_ticks(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

/* ---- bare backend devices ---- */
/* 16550: 115200 8N1, FIFOs on, polled (the classic register layout at COM1). */
static void com1_init(void)
{
	outb(COM1 + 1, 0x00); /* no interrupts */
	outb(COM1 + 3, 0x80); /* DLAB */
	outb(COM1 + 0, 0x01); /* divisor 1: 115200 */
	outb(COM1 + 1, 0x00);
	outb(COM1 + 3, 0x03); /* 8N1 */
	outb(COM1 + 2, 0xc7); /* FIFOs on and cleared */
	outb(COM1 + 4, 0x03); /* DTR, RTS */
}

void arch_bare_putc(char c)
{
	static bool ready;

	if (!ready) {
		com1_init();
		ready = true;
	}
	for (unsigned spin = 0; spin < 100000 && !(inb(COM1 + 5) & 0x20); spin++)
		;
	outb(COM1, (uint8_t)c);
}

void arch_bare_exit(int status)
{
	/* isa-debug-exit: QEMU exits with (status << 1) | 1. */
	outl(DEBUG_EXIT, (uint32_t)status);
	for (;;)
		__asm__ volatile("cli; hlt");
}
