/* SPDX-License-Identifier: MIT */
/*
 * The hypervisor's own stage-1 tables (layout in mm/kmap.h), built with the
 * page-table engine while the boot translation (MMU off, firmware tables, or
 * the x86 boot stub's identity map) is still live, then activated.
 */
#include "mm/kmap.h"
#include "arch/arch.h"
#include "kernel/stack.h"
#include "lib/errno.h"
#include "lib/panic.h"
#include "lib/printf.h"
#include "mm/kernel_image.h"
#include "mm/memmap.h"
#include "mm/pgtable.h"
#include "mm/pmm.h"

#define MAX_EARLY_DEVICES 16

struct device_region {
	u64 base, size;
};

static struct pgtable kernel_pt;
static bool kmap_live;
u64 kmap_ram_offset;
static struct device_region early_devices[MAX_EARLY_DEVICES];
static unsigned nr_early_devices;
static u64 stacks_next = STACKS_BASE;
static struct spinlock kmap_lock;

static const struct pt_attrs text_attrs = {PT_READ | PT_EXEC | PT_GLOBAL, PT_MEM_NORMAL};
static const struct pt_attrs rodata_attrs = {PT_READ | PT_GLOBAL, PT_MEM_NORMAL};
static const struct pt_attrs data_attrs = {PT_READ | PT_WRITE | PT_GLOBAL, PT_MEM_NORMAL};
static const struct pt_attrs device_attrs = {PT_READ | PT_WRITE | PT_GLOBAL, PT_MEM_DEVICE};

/* ---- The kernel regime: invalidation only matters once the tables are live ---- */

static void kernel_flush_range(const struct pgtable *pt, u64 va, u64 size, unsigned level)
{
	if (kmap_live)
		arch_kernel_tlb_flush_range(va, size, level);
}

static void kernel_flush_all(const struct pgtable *pt)
{
	if (kmap_live)
		arch_kernel_tlb_flush_all();
}

static void kernel_publish(const struct pgtable *pt)
{
	arch_pt_publish();
}

static const struct pt_regime kernel_regime = {
	.name = "hypervisor stage-1",
	.flush_range = kernel_flush_range,
	.flush_all = kernel_flush_all,
	.publish = kernel_publish,
};

/* ---- Address conversion ---- */

bool kmap_active(void)
{
	return kmap_live;
}

paddr_t kmap_root(void)
{
	return kernel_pt.root;
}

const struct pgtable *kmap_pgtable(void)
{
	return &kernel_pt;
}

struct pgtable *kmap_pgtable_mut(void)
{
	return &kernel_pt;
}

/* ---- Building ---- */

static void map_or_fail(u64 va, u64 pa, u64 size, struct pt_attrs attrs, const char *what)
{
	int rc = pt_map(&kernel_pt, va, pa_init(pa), size, attrs, 0);

	if (rc)
		boot_fail("kernel page tables: cannot map %s [0x%llx-0x%llx]: %s", what,
			  (unsigned long long)va, (unsigned long long)(va + size - 1),
			  err_name(rc));
}

static u64 image_pa(const char *symbol)
{
	return (u64)(uintptr_t)symbol; /* the image runs at VA == PA */
}

static void map_image(void)
{
	u64 text = image_pa(__text_start), text_end = image_pa(__text_end);
	u64 ro = image_pa(__rodata_start), ro_end = image_pa(__rodata_end);
	u64 data = image_pa(__data_start), end = ALIGN_UP(image_pa(__image_end), PAGE_SIZE);
	u64 guard = image_pa((const char *)boot_stack);

	map_or_fail(text, text, text_end - text, text_attrs, "kernel text");
	map_or_fail(ro, ro, ro_end - ro, rodata_attrs, "kernel rodata");
	map_or_fail(data, data, end - data, data_attrs, "kernel data");
	/* The boot stack's guard page: an overflow faults instead of corrupting data. */
	if (pt_unmap(&kernel_pt, guard, STACK_GUARD_SIZE))
		boot_fail("kernel page tables: cannot unmap the boot stack guard");
}

static void map_direct(const struct boot_info *bi)
{
	static struct mem_range ram[BOOT_MAX_RANGES];
	unsigned n = memmap_ram_ranges(bi, ram, ARRAY_SIZE(ram));

	for (unsigned i = 0; i < n; i++) {
		u64 base = ram[i].base, end = ram[i].base + ram[i].size;

		if (end > DIRECT_MAP_SIZE)
			boot_fail("RAM at 0x%llx is above the %llu TiB the direct map covers",
				  (unsigned long long)base,
				  (unsigned long long)(DIRECT_MAP_SIZE >> 40));
		map_or_fail(DIRECT_MAP_BASE + base, base, end - base, data_attrs, "direct map");
	}
}

static u64 vmemmap_va_start(void)
{
	u64 granule = page_array_bytes >= MiB(2) ? MiB(2) : PAGE_SIZE;

	return ALIGN_DOWN(VMEMMAP_BASE + page_array_first_frame * sizeof(struct page), granule);
}

static void map_vmemmap(void)
{
	map_or_fail(vmemmap_va_start(), pa_addr(page_array_pa), page_array_bytes, data_attrs,
		    "vmemmap");
}

bool kmap_in_vmemmap(u64 va)
{
	return kmap_live && va >= vmemmap_va_start() && va < vmemmap_va_start() + page_array_bytes;
}

paddr_t kmap_vmemmap_backing(u64 va)
{
	if (!kmap_in_vmemmap(va))
		return pa_init(0);
	return pa_init(pa_addr(page_array_pa) + ALIGN_DOWN(va - vmemmap_va_start(), PAGE_SIZE));
}

static void map_device_now(u64 base, u64 size)
{
	map_or_fail(base, base, size, device_attrs, "device MMIO");
}

static void report(void)
{
	printf("kmap: %s tables live: %llu table pages (%llu KiB)\n", kernel_pt.fmt->name,
	       (unsigned long long)kernel_pt.tables,
	       (unsigned long long)(kernel_pt.tables * PAGE_SIZE >> 10));
	printf("kmap: image text 0x%llx-0x%llx rx, rodata r, data rw nx; guard page 0x%llx\n",
	       (unsigned long long)image_pa(__text_start),
	       (unsigned long long)image_pa(__text_end) - 1,
	       (unsigned long long)image_pa((const char *)boot_stack));
	printf("kmap: direct map at 0x%llx, vmemmap at 0x%llx, stacks at 0x%llx\n", DIRECT_MAP_BASE,
	       vmemmap_va_start(), STACKS_BASE);
}

void kmap_init(struct boot_info *bi)
{
	if (pt_init(&kernel_pt, arch_kernel_pt_format(), &kernel_regime))
		boot_fail("kernel page tables: no memory for the root table");
	map_image();
	map_direct(bi);
	map_vmemmap();
	for (unsigned i = 0; i < nr_early_devices; i++)
		map_device_now(early_devices[i].base, early_devices[i].size);

	arch_kernel_pt_activate(kernel_pt.root);
	/* From here on RAM is reached through the direct map, struct pages through the vmemmap. */
	kmap_ram_offset = DIRECT_MAP_BASE;
	pmm_rebase_page_array((struct page *)VMEMMAP_BASE);
	kmap_live = true;
	pmm_add_late_memory();
	report();
}

void *kmap_device(paddr_t pa, u64 size)
{
	u64 base = ALIGN_DOWN(pa_addr(pa), PAGE_SIZE);
	u64 end = ALIGN_UP(pa_addr(pa) + size, PAGE_SIZE);
	unsigned long flags;

	if (end > IDENTITY_LIMIT)
		panic("device at 0x%llx is above the identity-mapped range",
		      (unsigned long long)pa_addr(pa));
	if (!kmap_live) {
		if (nr_early_devices == MAX_EARLY_DEVICES)
			panic("more than %d devices mapped before the kernel's page tables",
			      MAX_EARLY_DEVICES);
		early_devices[nr_early_devices++] = (struct device_region){base, end - base};
	} else {
		flags = spin_lock_irqsave(&kmap_lock);
		map_device_now(base, end - base);
		spin_unlock_irqrestore(&kmap_lock, flags);
	}
	return (void *)(uintptr_t)pa_addr(pa);
}

void *kmap_identity_code(paddr_t pa, u64 size)
{
	u64 base = ALIGN_DOWN(pa_addr(pa), PAGE_SIZE);
	u64 end = ALIGN_UP(pa_addr(pa) + size, PAGE_SIZE);

	/* Read-only and executable: the caller writes the code through the direct map. */
	map_or_fail(base, base, end - base, text_attrs, "identity code page");
	return (void *)(uintptr_t)pa_addr(pa);
}

void *kmap_stack_alloc(void)
{
	paddr_t pa = pmm_alloc(ORDER_4K + 3); /* 32 KiB = STACK_SIZE */
	unsigned long flags;
	u64 bottom;

	_Static_assert(STACK_SIZE == PAGE_SIZE << 3, "stack order out of sync with STACK_SIZE");
	if (!pa_addr(pa))
		panic("out of memory for a CPU stack");
	flags = spin_lock_irqsave(&kmap_lock);
	/* Each slot is a guard page (never mapped) followed by the stack. */
	bottom = stacks_next + STACK_GUARD_SIZE;
	stacks_next = bottom + STACK_SIZE;
	spin_unlock_irqrestore(&kmap_lock, flags);
	map_or_fail(bottom, pa_addr(pa), STACK_SIZE, data_attrs, "CPU stack");
	return (void *)(uintptr_t)(bottom + STACK_SIZE);
}
