/* SPDX-License-Identifier: MIT */
/* VM lifetime, memory slots and their backing, and the stage-2 TLB regime. */
#include "vmm/vm.h"
#include "kernel/cmdline.h"
#include "lib/memzero.h"
#include "lib/printf.h"
#include "lib/string.h"
#include "mm/huge_page.h"
#include "mm/kmap.h"
#include "mm/pmm.h"

static unsigned vm_next_id = 1;

/* ---- The stage-2 regime: invalidation by guest-physical address under the VM's identifier ---- */

static void stage2_flush_range(const struct pgtable *pt, u64 gpa, u64 size, unsigned level)
{
	arch_vm_tlb_flush_range(pt->owner, gpa, size, level);
}

static void stage2_flush_all(const struct pgtable *pt)
{
	arch_vm_tlb_flush_all(pt->owner);
}

static void stage2_publish(const struct pgtable *pt)
{
	arch_pt_publish();
}

static const struct pt_regime stage2_regime = {
	.name = "guest stage-2",
	.flush_range = stage2_flush_range,
	.flush_all = stage2_flush_all,
	.publish = stage2_publish,
};

/* ---- Slots ---- */

/* The smallest pmm order holding bytes. */
static unsigned order_for_bytes(u64 bytes)
{
	unsigned order = 0;

	while ((PAGE_SIZE << order) < bytes)
		order++;
	return order;
}

static u64 block_size(const struct vm_slot *s)
{
	return PAGE_SIZE << s->block_order;
}

static void slot_free_blocks(struct vm_slot *s)
{
	for (u64 i = 0; i < s->nr_blocks; i++)
		if (pa_addr(s->blocks[i]))
			huge_page_free(s->blocks[i], s->block_order);
}

static void slot_free(struct vm_slot *s)
{
	slot_postcopy_free(s);
	if (s->dirty)
		pmm_free(virt_to_phys(s->dirty), s->dirty_order);
	if (s->blocks) {
		slot_free_blocks(s);
		pmm_free(virt_to_phys(s->blocks), s->blocks_order);
	}
	if (s->present)
		pmm_free(virt_to_phys(s->present), s->present_order);
	if (s->locks)
		pmm_free(virt_to_phys(s->locks), s->locks_order);
	*s = (struct vm_slot){0};
}

/*
 * Backing blocks are taken uninitialised: no byte of them reaches a guest
 * before vm_page_fill() zeroed or loaded its page, so a 1 GiB slot costs
 * nothing up front, and the previous owner's data never shows.
 */
static bool slot_alloc_blocks(struct vm_slot *s, unsigned order)
{
	s->block_order = order;
	s->nr_blocks = s->size >> (PAGE_SHIFT + order);
	for (u64 i = 0; i < s->nr_blocks; i++) {
		/* Huge pages: their struct pages' vmemmap is optimized meanwhile (mm/hvo.h). */
		s->blocks[i] = huge_page_alloc(order);
		if (!pa_addr(s->blocks[i])) {
			slot_free_blocks(s);
			memset(s->blocks, 0, s->nr_blocks * sizeof(*s->blocks));
			return false;
		}
	}
	return true;
}

static int slot_init(struct vm_slot *s, u64 gpa, u64 size)
{
	u64 max_blocks = size >> (PAGE_SHIFT + ORDER_2M);
	paddr_t blocks, present, locks;

	*s = (struct vm_slot){.gpa = gpa, .size = size};
	s->blocks_order = order_for_bytes(max_blocks * sizeof(paddr_t));
	s->present_order = order_for_bytes(size >> (PAGE_SHIFT + 3));
	s->locks_order = order_for_bytes(max_blocks * sizeof(struct spinlock));
	blocks = pmm_alloc(s->blocks_order);
	present = pmm_alloc(s->present_order);
	/* pmm_alloc() zeroes: every lock starts unlocked (spin_lock_init's state). */
	locks = pmm_alloc(s->locks_order);
	s->blocks = pa_addr(blocks) ? phys_to_virt(blocks) : NULL;
	s->present = pa_addr(present) ? phys_to_virt(present) : NULL;
	s->locks = pa_addr(locks) ? phys_to_virt(locks) : NULL;
	if (!s->blocks || !s->present || !s->locks)
		goto nomem;
	/* 1 GiB blocks where the range allows them (1G stage-2 leaves later), else 2 MiB. */
	if (IS_ALIGNED(gpa | size, GiB(1)) && slot_alloc_blocks(s, ORDER_1G))
		return 0;
	if (slot_alloc_blocks(s, ORDER_2M))
		return 0;
nomem:
	slot_free(s);
	return ERR_NOMEM;
}

static bool ranges_overlap(u64 a, u64 a_size, u64 b, u64 b_size)
{
	return a < b + b_size && b < a + a_size;
}

int vm_add_slot(struct vm *vm, u64 gpa, u64 size)
{
	int rc;

	if (!size || !IS_ALIGNED(gpa | size, MiB(2)) || gpa + size < gpa ||
	    gpa + size > BIT(vm->gpa_bits) || vm->nr_slots == VM_MAX_SLOTS)
		return ERR_INVAL;
	for (unsigned i = 0; i < vm->nr_slots; i++)
		if (ranges_overlap(gpa, size, vm->slots[i].gpa, vm->slots[i].size))
			return ERR_INVAL;
	rc = slot_init(&vm->slots[vm->nr_slots], gpa, size);
	if (!rc)
		vm->nr_slots++;
	return rc;
}

struct vm_slot *vm_find_slot(struct vm *vm, u64 gpa)
{
	for (unsigned i = 0; i < vm->nr_slots; i++) {
		struct vm_slot *s = &vm->slots[i];

		if (gpa >= s->gpa && gpa - s->gpa < s->size)
			return s;
	}
	return NULL;
}

void *vm_slot_page(const struct vm_slot *s, u64 gpa)
{
	u64 offset = ALIGN_DOWN(gpa - s->gpa, PAGE_SIZE);
	paddr_t block = s->blocks[offset >> (PAGE_SHIFT + s->block_order)];

	return phys_to_virt(pa_add(block, offset & (block_size(s) - 1)));
}

static u64 page_index(const struct vm_slot *s, u64 gpa)
{
	return (gpa - s->gpa) >> PAGE_SHIFT;
}

static bool slot_page_present(const struct vm_slot *s, u64 gpa)
{
	u64 i = page_index(s, gpa);

	return __atomic_load_n(&s->present[i / 64], __ATOMIC_ACQUIRE) & BIT(i % 64);
}

static void slot_page_mark(struct vm_slot *s, u64 gpa, bool present)
{
	u64 i = page_index(s, gpa);

	if (present)
		__atomic_fetch_or(&s->present[i / 64], BIT(i % 64), __ATOMIC_RELEASE);
	else
		__atomic_fetch_and(&s->present[i / 64], ~BIT(i % 64), __ATOMIC_RELEASE);
}

bool vm_page_present(struct vm *vm, u64 gpa)
{
	struct vm_slot *s = vm_find_slot(vm, gpa);

	return s && slot_page_present(s, gpa);
}

/* With the page's region lock held: its content, zero-filled the first time. */
static void *slot_page_fill_locked(struct vm *vm, struct vm_slot *s, u64 gpa)
{
	void *page = vm_slot_page(s, gpa);

	if (!slot_page_present(s, gpa)) {
		memzero_pages(page, PAGE_SIZE);
		arch_vm_cache_sync(page, PAGE_SIZE, false);
		slot_page_mark(s, gpa, true);
		vm_stat_inc(&vm->stats.pages_zeroed);
	}
	return page;
}

void *vm_page_fill(struct vm *vm, u64 gpa)
{
	struct vm_slot *s = vm_find_slot(vm, gpa);
	void *page;

	if (!s)
		return NULL;
	/* In postcopy, an absent page comes from the source, not as zeros. */
	if (s->pc)
		return postcopy_page_fill(vm, s, gpa);
	spin_lock(vm_slot_lock(s, gpa));
	page = slot_page_fill_locked(vm, s, gpa);
	spin_unlock(vm_slot_lock(s, gpa));
	return page;
}

int vm_slot_map_page(struct vm *vm, struct vm_slot *s, u64 gpa)
{
	u64 page_gpa = ALIGN_DOWN(gpa, PAGE_SIZE);
	int rc;

	spin_lock(vm_slot_lock(s, gpa));
	/*
	 * Exactly this 4 KiB: PT_MAP_MAX_LEVEL(0) makes the engine install (or
	 * split) only the tables on this address's path.
	 */
	rc = pt_map(&vm->pt, page_gpa, virt_to_phys(slot_page_fill_locked(vm, s, page_gpa)),
		    PAGE_SIZE, vm_ram_attrs(vm), PT_MAP_MAX_LEVEL(0));
	spin_unlock(vm_slot_lock(s, gpa));
	if (!rc)
		vm_stat_inc(&vm->stats.maps);
	return rc;
}

int vm_load(struct vm *vm, u64 gpa, const void *image, u64 size)
{
	struct vm_slot *s = vm_find_slot(vm, gpa);
	const u8 *src = image;

	/* Loading is done before postcopy starts: afterwards the source owns the content. */
	if (!s || s->pc || size > s->size - (gpa - s->gpa))
		return ERR_INVAL;
	for (u64 done = 0; done < size;) {
		u64 at = gpa + done, chunk = MIN(size - done, PAGE_SIZE - (at & (PAGE_SIZE - 1)));
		u8 *page;

		spin_lock(vm_slot_lock(s, at));
		page = slot_page_fill_locked(vm, s, at);
		memcpy(page + (at & (PAGE_SIZE - 1)), src + done, chunk);
		/* The guest may run it with its caches off: to memory, and no stale code. */
		arch_vm_cache_sync(page, PAGE_SIZE, true);
		spin_unlock(vm_slot_lock(s, at));
		done += chunk;
	}
	return 0;
}

/* Discards [gpa, gpa + len), inside one 2M region, under its lock. */
static int discard_in_region(struct vm *vm, struct vm_slot *s, u64 gpa, u64 len)
{
	int rc;

	spin_lock(vm_slot_lock(s, gpa));
	/* Unmapped (and invalidated) first: no vCPU may keep using a page marked absent. */
	rc = pt_unmap(&vm->pt, gpa, len);
	for (u64 at = gpa; at < gpa + len; at += PAGE_SIZE) {
		if (slot_page_present(s, at)) {
			slot_page_mark(s, at, false);
			vm_stat_inc(&vm->stats.pages_discarded);
		}
	}
	spin_unlock(vm_slot_lock(s, gpa));
	return rc;
}

int vm_discard(struct vm *vm, u64 gpa, u64 len)
{
	struct vm_slot *s = vm_find_slot(vm, gpa);
	int rc;

	if (!s || len > s->size - (gpa - s->gpa))
		return ERR_INVAL;
	if (s->pc)
		return postcopy_discard(vm, s, gpa, len);
	rc = 0;
	for (u64 at = gpa; at < gpa + len && !rc;) {
		u64 end = MIN(ALIGN_DOWN(at, MiB(2)) + MiB(2), gpa + len);

		rc = discard_in_region(vm, s, at, end - at);
		at = end;
	}
	return rc;
}

/* ---- Lifetime ---- */

int vm_create(struct vm *vm, unsigned gpa_bits)
{
	const char *reason;
	int bits;

	*vm = (struct vm){0};
	if (!arch_vm_available(&reason)) {
		printf("vm: cannot create a VM: %s\n", reason);
		return ERR_NOTSUP;
	}
	bits = arch_vm_format_init(&vm->fmt, gpa_bits ? gpa_bits : VM_DEFAULT_GPA_BITS);
	if (bits < 0)
		return bits;
	vm->gpa_bits = (unsigned)bits;
	if (pt_init(&vm->pt, &vm->fmt, &stage2_regime))
		return ERR_NOMEM;
	if (arch_vm_init(&vm->arch, &vm->fmt, vm->pt.root)) {
		pt_destroy(&vm->pt);
		return ERR_NOMEM;
	}
	vm->pt.owner = &vm->arch;
	vm->console_bol = true;
	vm->budget_ms = cmdline_vm_budget_ms(&kopt);
	vm->id = __atomic_fetch_add(&vm_next_id, 1, __ATOMIC_RELAXED);
	return 0;
}

void vm_destroy(struct vm *vm)
{
	/* The mover uses the tables and the slots: it stops first. */
	vm_postcopy_stop_mover(vm);
	/* Tables first (each removal invalidated under the VM's identifier), then the memory. */
	pt_destroy(&vm->pt);
	arch_vm_destroy(&vm->arch);
	for (unsigned i = 0; i < vm->nr_slots; i++)
		slot_free(&vm->slots[i]);
	vm->nr_slots = 0;
}
