/* SPDX-License-Identifier: MIT */
/*
 * The hypervisor's own stage-1 address space, built by the page-table engine:
 *   identity   the kernel image at its load address (text RX, rodata R, data RW NX)
 *              and device MMIO (Device memory, never executable)
 *   DIRECT     all RAM at DIRECT_MAP_BASE + pa, RW NX, largest blocks possible
 *   VMEMMAP    the struct page array at VMEMMAP_BASE, 2M blocks where possible
 *   STACKS     per-CPU stacks, each with an unmapped guard page below it
 */
#ifndef MM_KMAP_H
#define MM_KMAP_H

#include "boot/boot_info.h"

/* All in the lower half so one layout serves 48-bit arm64 TTBR0 and x86-64. */
#define DIRECT_MAP_BASE 0x0000400000000000ULL /* 64 TiB */
#define DIRECT_MAP_SIZE 0x0000100000000000ULL /* 16 TiB of RAM at most */
#define VMEMMAP_BASE	0x0000500000000000ULL
#define STACKS_BASE	0x0000600000000000ULL
/* Physical addresses at or above this cannot be identity mapped below DIRECT_MAP_BASE. */
#define IDENTITY_LIMIT DIRECT_MAP_BASE

void kmap_init(struct boot_info *bi);
bool kmap_active(void);

/*
 * Maps size bytes of MMIO at pa (Device memory, RW, never executable) at its
 * identity address and returns the pointer. Callable before kmap_init(): the
 * region is then recorded and mapped when the kernel's tables are built.
 */
void *kmap_device(paddr_t pa, u64 size);
/*
 * Maps RAM at its identity address read-only and executable (x86 AP start-up
 * code below 1 MiB, which runs before paging knows any other address). The
 * caller writes the code through phys_to_virt() first.
 */
void *kmap_identity_code(paddr_t pa, u64 size);
/* Allocates a STACK_SIZE stack below an unmapped guard page; returns its top. */
void *kmap_stack_alloc(void);

/* VA - PA for RAM: 0 (identity) until kmap_init(), DIRECT_MAP_BASE after. */
extern u64 kmap_ram_offset;

/* Physical <-> kernel virtual for RAM. Inline: every table access goes through it. */
static inline void *phys_to_virt(paddr_t pa)
{
	return (void *)(uintptr_t)(pa_addr(pa) + kmap_ram_offset);
}

static inline paddr_t virt_to_phys(const void *va)
{
	return pa_init((u64)(uintptr_t)va - kmap_ram_offset);
}

/* The root of the kernel's tables, for tests that read them back. */
paddr_t kmap_root(void);
struct pgtable;
const struct pgtable *kmap_pgtable(void);
/* For mm/ code that changes the kernel's own mappings (mm/hvo.c). */
struct pgtable *kmap_pgtable_mut(void);
/* The frame the vmemmap at va was built on (its boot-time backing), or 0 outside it. */
paddr_t kmap_vmemmap_backing(u64 va);
bool kmap_in_vmemmap(u64 va);

#endif
