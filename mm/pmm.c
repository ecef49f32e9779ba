/* SPDX-License-Identifier: MIT */
/*
 * Buddy allocator over 4 KiB frames, orders 0 (4 KiB) to 18 (1 GiB).
 *
 * Free lists link blocks by frame number through their head struct page, so
 * the lists stay valid when the struct page array moves from its identity
 * address to the vmemmap. Only the head frame of a block carries its state
 * and order; frames absorbed by a merge are marked tails so a stale head can
 * never be mistaken for a free buddy.
 */
#include "mm/pmm.h"
#include "lib/memzero.h"
#include "lib/panic.h"
#include "lib/printf.h"
#include "lib/string.h"
#include "mm/kmap.h"
#include "mm/memmap.h"

#define NO_PFN (~0ULL)

struct page *page_array;
u64 page_array_frames;
u64 page_array_first_frame;
paddr_t page_array_pa;
u64 page_array_bytes;

struct free_area {
	u64 head;
	u64 blocks;
};

static struct free_area free_area[PMM_MAX_ORDER + 1];
static struct spinlock pmm_lock;
static u64 free_frames, total_frames;
static u64 boot_identity_limit;

static struct page *pfn_page(u64 pfn)
{
	return &page_array[pfn];
}

static bool pfn_tracked(u64 pfn)
{
	return pfn >= page_array_first_frame && pfn < page_array_frames;
}

static void list_push(unsigned order, u64 pfn)
{
	struct page *p = pfn_page(pfn);
	struct free_area *area = &free_area[order];

	p->state = PAGE_FREE_HEAD;
	p->order = (u8)order;
	p->prev_pfn = NO_PFN;
	p->next_pfn = area->head;
	if (area->head != NO_PFN)
		pfn_page(area->head)->prev_pfn = pfn;
	area->head = pfn;
	area->blocks++;
}

static void list_remove(unsigned order, u64 pfn)
{
	struct page *p = pfn_page(pfn);
	struct free_area *area = &free_area[order];

	if (p->prev_pfn != NO_PFN)
		pfn_page(p->prev_pfn)->next_pfn = p->next_pfn;
	else
		area->head = p->next_pfn;
	if (p->next_pfn != NO_PFN)
		pfn_page(p->next_pfn)->prev_pfn = p->prev_pfn;
	area->blocks--;
}

static bool is_free_buddy(u64 pfn, unsigned order)
{
	const struct page *p;

	if (!pfn_tracked(pfn) || !pfn_tracked(pfn + (1ULL << order) - 1))
		return false;
	p = pfn_page(pfn);
	/*
	 * Atomic: the buddy may be allocated, and its owner then writes its
	 * state without this lock (a page table marking itself PAGE_TABLE).
	 */
	return __atomic_load_n(&p->state, __ATOMIC_RELAXED) == PAGE_FREE_HEAD && p->order == order;
}

static void free_block(u64 pfn, unsigned order)
{
	free_frames += 1ULL << order;
	while (order < PMM_MAX_ORDER) {
		u64 buddy = pfn ^ (1ULL << order);

		if (!is_free_buddy(buddy, order))
			break;
		list_remove(order, buddy);
		pfn_page(MAX(pfn, buddy))->state = PAGE_FREE_TAIL;
		pfn = MIN(pfn, buddy);
		order++;
	}
	list_push(order, pfn);
}

/* The largest block that starts at pfn, is aligned to its size and ends by end. */
static unsigned largest_block(u64 pfn, u64 end)
{
	unsigned order = 0;

	while (order < PMM_MAX_ORDER && IS_ALIGNED(pfn, 1ULL << (order + 1)) &&
	       pfn + (1ULL << (order + 1)) <= end)
		order++;
	return order;
}

static void free_range(u64 base, u64 end)
{
	u64 pfn = base >> PAGE_SHIFT, last = end >> PAGE_SHIFT;

	total_frames += last - pfn;
	while (pfn < last) {
		unsigned order = largest_block(pfn, last);

		free_block(pfn, order);
		pfn += 1ULL << order;
	}
}

/*
 * Spare frames: given by pmm_give(), free and counted so, but handed out only
 * when no buddy block is left, and never merged with a buddy: the vmemmap
 * frames HVO frees stay where pmm_claim() finds them again, so restoring a
 * huge page's vmemmap usually gets its boot-time frames back and the 2M
 * vmemmap block can collapse.
 */
static u64 spare_head = NO_PFN;

static void spare_push(u64 pfn)
{
	struct page *p = pfn_page(pfn);

	p->state = PAGE_FREE_SPARE;
	p->order = 0;
	p->prev_pfn = NO_PFN;
	p->next_pfn = spare_head;
	if (spare_head != NO_PFN)
		pfn_page(spare_head)->prev_pfn = pfn;
	spare_head = pfn;
	free_frames++;
}

static void spare_take(u64 pfn)
{
	struct page *p = pfn_page(pfn);

	if (p->prev_pfn != NO_PFN)
		pfn_page(p->prev_pfn)->next_pfn = p->next_pfn;
	else
		spare_head = p->next_pfn;
	if (p->next_pfn != NO_PFN)
		pfn_page(p->next_pfn)->prev_pfn = p->prev_pfn;
	p->state = PAGE_ALLOCATED_HEAD;
	p->order = 0;
	free_frames--;
}

/* First free block of at least order that lies wholly below limit; NO_PFN if none. */
static u64 take_block(unsigned order, u64 limit_pfn, unsigned *found_order)
{
	for (unsigned o = order; o <= PMM_MAX_ORDER; o++) {
		for (u64 pfn = free_area[o].head; pfn != NO_PFN; pfn = pfn_page(pfn)->next_pfn) {
			if (pfn + (1ULL << order) > limit_pfn)
				continue;
			list_remove(o, pfn);
			*found_order = o;
			return pfn;
		}
	}
	return NO_PFN;
}

static paddr_t alloc_locked(unsigned order, u64 limit)
{
	unsigned o;
	u64 pfn = take_block(order, limit >> PAGE_SHIFT, &o);

	if (pfn == NO_PFN && !order && spare_head != NO_PFN && spare_head < limit >> PAGE_SHIFT) {
		pfn = spare_head;
		spare_take(pfn);
		return pa_init(pfn << PAGE_SHIFT);
	}
	if (pfn == NO_PFN)
		return pa_init(0);
	/* Keep the lower half, return the upper halves: the caller's limit stays met. */
	while (o > order) {
		o--;
		list_push(o, pfn + (1ULL << o));
	}
	pfn_page(pfn)->state = PAGE_ALLOCATED_HEAD;
	pfn_page(pfn)->order = (u8)order;
	free_frames -= 1ULL << order;
	return pa_init(pfn << PAGE_SHIFT);
}

static paddr_t alloc_block(unsigned order, u64 limit)
{
	unsigned long flags;
	paddr_t pa;

	if (order > PMM_MAX_ORDER)
		return pa_init(0);
	flags = spin_lock_irqsave(&pmm_lock);
	pa = alloc_locked(order, limit);
	spin_unlock_irqrestore(&pmm_lock, flags);
	return pa;
}

paddr_t pmm_alloc_below(unsigned order, u64 limit)
{
	paddr_t pa = alloc_block(order, limit);

	/* Freed pages may hold another VM's or the kernel's data: never hand them out dirty. */
	if (pa_addr(pa))
		memzero_pages(phys_to_virt(pa), PAGE_SIZE << order);
	return pa;
}

static u64 current_limit(void)
{
	return kmap_active() ? ~0ULL : boot_identity_limit;
}

paddr_t pmm_alloc(unsigned order)
{
	return pmm_alloc_below(order, current_limit());
}

paddr_t pmm_alloc_uninit(unsigned order)
{
	return alloc_block(order, current_limit());
}

void pmm_free(paddr_t pa, unsigned order)
{
	u64 pfn = pa_addr(pa) >> PAGE_SHIFT;
	struct page *p;
	unsigned long flags;

	BUG_ON(!pfn_tracked(pfn) || !IS_ALIGNED(pfn, 1ULL << order));
	p = pfn_page(pfn);
	if (p->state != PAGE_ALLOCATED_HEAD || p->order != order)
		panic("pmm_free(0x%llx, order %u): page is %s order %u (double free?)",
		      (unsigned long long)pa_addr(pa), order,
		      p->state == PAGE_ALLOCATED_HEAD ? "allocated" : "not allocated", p->order);
	/* Its tail struct pages are shared read-only: huge_page_free() restores them first. */
	if (p->flags & PAGE_FLAG_HVO)
		panic("pmm_free(0x%llx, order %u): an optimized huge page (mm/huge_page.h)",
		      (unsigned long long)pa_addr(pa), order);
	flags = spin_lock_irqsave(&pmm_lock);
	free_block(pfn, order);
	spin_unlock_irqrestore(&pmm_lock, flags);
}

static void place_page_array(struct boot_info *bi)
{
	const struct memmap *m = &kernel_memmap;
	u64 first = m->usable[0].base >> PAGE_SHIFT;
	u64 frames = (m->ram_top >> PAGE_SHIFT) - first;
	u64 bytes = frames * sizeof(struct page);
	/*
	 * The vmemmap maps frame f's struct page at VMEMMAP_BASE + f * 32. Give the
	 * backing the same offset within a 2 MiB block as its virtual address so
	 * the vmemmap can use 2M blocks (4K pages only for small machines).
	 */
	u64 granule = bytes >= MiB(1) ? MiB(2) : PAGE_SIZE;
	u64 offset = (first * sizeof(struct page)) & (granule - 1);
	u64 region = ALIGN_UP(offset + bytes, granule);
	u64 base = memmap_carve(&kernel_memmap, region, granule, bi->identity_limit);

	if (!base)
		boot_fail("no room for the struct page array (%llu KiB) below 0x%llx",
			  (unsigned long long)(region >> 10),
			  (unsigned long long)bi->identity_limit);
	page_array_first_frame = first;
	page_array_frames = first + frames;
	page_array_pa = pa_init(base);
	page_array_bytes = region;
	page_array = (struct page *)((u8 *)phys_to_virt(pa_init(base + offset)) -
				     first * sizeof(struct page));
	memzero_pages(phys_to_virt(page_array_pa), region);
}

void pmm_report(void)
{
	printf("memory: struct page array %llu KiB at 0x%llx for frames 0x%llx-0x%llx\n",
	       page_array_bytes >> 10, pa_addr(page_array_pa), page_array_first_frame,
	       page_array_frames - 1);
	printf("memory: %llu MiB free of %llu MiB managed\n", pmm_free_bytes() >> 20,
	       pmm_total_bytes() >> 20);
}

void pmm_init(struct boot_info *bi)
{
	boot_identity_limit = bi->identity_limit;
	free_frames = total_frames = 0;
	for (unsigned o = 0; o <= PMM_MAX_ORDER; o++)
		free_area[o] = (struct free_area){NO_PFN, 0};
	place_page_array(bi);
	/* PAGE_RESERVED is 0: the zeroed array already marks every frame reserved. */
	for (unsigned i = 0; i < kernel_memmap.nr_usable; i++) {
		const struct mem_range *r = &kernel_memmap.usable[i];
		u64 end = MIN(r->base + r->size, boot_identity_limit);

		if (r->base < end)
			free_range(r->base, end);
	}
}

void pmm_add_late_memory(void)
{
	for (unsigned i = 0; i < kernel_memmap.nr_usable; i++) {
		const struct mem_range *r = &kernel_memmap.usable[i];
		u64 base = MAX(r->base, boot_identity_limit);

		if (base < r->base + r->size)
			free_range(base, r->base + r->size);
	}
	boot_identity_limit = ~0ULL;
}

void pmm_give(paddr_t pa)
{
	u64 pfn = pa_addr(pa) >> PAGE_SHIFT;
	struct page *p;
	unsigned long flags;

	BUG_ON(!pfn_tracked(pfn));
	p = pfn_page(pfn);
	BUG_ON(p->state != PAGE_RESERVED && (p->state != PAGE_ALLOCATED_HEAD || p->order));
	flags = spin_lock_irqsave(&pmm_lock);
	if (p->state == PAGE_RESERVED)
		total_frames++;
	spare_push(pfn);
	spin_unlock_irqrestore(&pmm_lock, flags);
}

/* Takes the free frame pfn out of the free block of order o at head, splitting it. */
static void claim_from(u64 head, unsigned o, u64 pfn)
{
	list_remove(o, head);
	while (o > 0) {
		u64 half = 1ULL << --o;

		/* Keep the half holding pfn, give back the other. */
		if (pfn >= head + half) {
			list_push(o, head);
			head += half;
		} else {
			list_push(o, head + half);
		}
	}
	pfn_page(pfn)->state = PAGE_ALLOCATED_HEAD;
	pfn_page(pfn)->order = 0;
	free_frames--;
}

bool pmm_claim(paddr_t pa)
{
	u64 pfn = pa_addr(pa) >> PAGE_SHIFT;
	unsigned long flags;
	bool found = false;

	if (!pfn_tracked(pfn))
		return false;
	flags = spin_lock_irqsave(&pmm_lock);
	if (pfn_page(pfn)->state == PAGE_FREE_SPARE) {
		spare_take(pfn);
		found = true;
	}
	for (unsigned o = 0; o <= PMM_MAX_ORDER && !found; o++) {
		u64 head = ALIGN_DOWN(pfn, 1ULL << o);

		if (pfn_tracked(head) && is_free_buddy(head, o)) {
			claim_from(head, o, pfn);
			found = true;
		}
	}
	spin_unlock_irqrestore(&pmm_lock, flags);
	return found;
}

void pmm_rebase_page_array(struct page *vmemmap_base)
{
	page_array = vmemmap_base;
}

u64 pmm_free_bytes(void)
{
	return free_frames << PAGE_SHIFT;
}

u64 pmm_total_bytes(void)
{
	return total_frames << PAGE_SHIFT;
}

u64 pmm_free_blocks(unsigned order)
{
	return order <= PMM_MAX_ORDER ? free_area[order].blocks : 0;
}
