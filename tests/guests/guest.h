/* SPDX-License-Identifier: MIT */
/*
 * The test guests' runtime: what the architecture code (tests/guests/<arch>/) and the backend
 * (backend_bare.c or backend_hypercall.c, chosen at build time) provide to the common code.
 * docs/hypercalls.md describes the entry state and memory layout these implement.
 */
#ifndef GUEST_H
#define GUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GUEST_PAGE_SIZE 4096ULL
#define GUEST_SZ_2M	0x200000ULL
#define GUEST_SZ_1G	0x40000000ULL
#define GUEST_HEAP_SIZE (4ULL << 20) /* malloc's arena (sbrk) */

/* What the guest learned at entry: its RAM, the pattern seed, the bare backend's options. */
struct guest_boot {
	uint64_t ram_base; /* first guest-physical byte of the RAM range holding the image */
	uint64_t ram_end;  /* one past its last byte */
	uint64_t seed;	   /* granule_pattern_*() seed */
	bool semihosting;  /* arm64 bare: "semihosting" on the command line (QEMU -semihosting) */
	bool from_el2;	   /* arm64 bare: entered at EL2 and dropped to EL1 (PSCI over SMC) */
	unsigned nr_vcpus; /* vCPUs the VMM gave (x3 / edx at entry, ABI 1.1), 1 otherwise */
};

#define GUEST_MAX_VCPUS 8

/*
 * What a secondary vCPU starts from (its start call's context): the stack, and the primary's
 * MMU registers, which the arch entry loads before any C runs. Read with the MMU off on arm64:
 * arch_start_cpu() cleans it to the point of coherency first.
 */
struct guest_cpu {
	uint64_t stack_top; /* offset 0, read by the entry code */
	uint64_t mmu[4];    /* arm64: MAIR, TCR, TTBR0, SCTLR_EL1; x86: CR3 */
	unsigned index;
	void (*fn)(struct guest_cpu *cpu);
};

extern struct guest_boot guest_boot;

/* Image bounds from the linker script. */
extern char __image_start[], __image_end[], __bss_start[], __bss_end[];

static inline uint64_t guest_align_up(uint64_t x, uint64_t a)
{
	return (x + a - 1) & ~(a - 1);
}

static inline uint64_t guest_align_down(uint64_t x, uint64_t a)
{
	return x & ~(a - 1);
}

/* ---- architecture (tests/guests/<arch>/) ---- */
/* Fills guest_boot from the entry registers (and the DTB or PVH start info). MMU off. */
void arch_boot_info(uint64_t r0, uint64_t r1, uint64_t r2);
/*
 * Turns on stage-1 translation: RAM identity-mapped write-back, plus the bare backend's MMIO
 * devices when map_devices. Returns the first free page-aligned address after the image and
 * any page tables it took from RAM.
 */
uint64_t arch_mmu_on(bool map_devices);
/* The hypercall instruction (HVC #0, VMCALL/VMMCALL): x0/rax = nr, args, result. */
int64_t arch_hypercall(uint64_t nr, uint64_t a1, uint64_t a2, uint64_t a3);
/* A free-running counter (CNTVCT_EL0, TSC) for diagnostics only, never asserted on. */
uint64_t arch_ticks(void);
/* Bare backend: one byte to the emulator's UART; end the emulator with a status. */
void arch_bare_putc(char c);
__attribute__((noreturn)) void arch_bare_exit(int status);

/*
 * Starts vCPU index at the arch's secondary entry with cpu as its context: PSCI CPU_ON over HVC
 * on arm64, GRANULE_HC_VCPU_START on x86-64. Returns 0 or the call's negative error.
 */
int64_t arch_start_cpu(unsigned index, struct guest_cpu *cpu);

/* x86-64 only: loads the IDT on this vCPU (the boot vCPU's, shared by the secondaries). */
void x86_idt_load(void);

/* ---- backend (backend_bare.c | backend_hypercall.c) ---- */
/* Every hypercall goes through here: the real instruction, or bare's emulation of it. */
int64_t guest_hc(uint64_t nr, uint64_t a1, uint64_t a2, uint64_t a3);
extern const char guest_backend_name[];
/*
 * True for the bare backend: QEMU's devices are mapped, and since no page source filled RAM
 * before the guest ran, the guest writes the pattern itself.
 */
extern const bool guest_backend_bare;

/* ---- common ---- */
void guest_console_write(const char *s, size_t len);
__attribute__((noreturn)) void guest_exit(int status);
/* Last-resort report (exception handlers): no malloc, no stdio. */
void guest_panic_print(const char *s);
void guest_panic_hex(const char *label, uint64_t value);
int guest_main(void);
/* Where every secondary vCPU's C code starts (boot.c): cpu->fn(cpu), then PSCI CPU_OFF. */
__attribute__((noreturn)) void guest_secondary_main(struct guest_cpu *cpu);
/* The heap that _sbrk hands out: [start, end). */
extern uint64_t guest_heap_start, guest_heap_end;

#endif
