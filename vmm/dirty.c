/* SPDX-License-Identifier: MIT */
/*
 * Dirty logging by write protection (KVM's scheme): while a VM logs, every
 * RAM mapping is read-only (and executable); the first write to a page takes
 * a stage-2 permission fault, which sets the page's bit in its slot's dirty
 * bitmap with one atomic test-and-set (recorded exactly once per harvest,
 * however many vCPUs fault on it), makes that 4K writable again, and resumes.
 * A harvest takes each bitmap word with an atomic exchange, then write-protects
 * the pages it took: a write that lands between the two is in this harvest's
 * copy (the page is read after the harvest returns), a later one faults and is
 * in the next. The engine's pt_protect() splits a 2M/1G leaf around the 4K
 * it changes. For VMs outside postcopy (whose region model expects its own
 * leaves): vm_dirty_log_start() refuses a postcopy VM.
 */
#include "mm/kmap.h"
#include "mm/pmm.h"
#include "vmm/vm.h"

static const struct pt_attrs ram_rwx = {PT_READ | PT_WRITE | PT_EXEC, PT_MEM_NORMAL};
static const struct pt_attrs ram_rx = {PT_READ | PT_EXEC, PT_MEM_NORMAL};

struct pt_attrs vm_ram_attrs(const struct vm *vm)
{
	return __atomic_load_n(&vm->dirty_logging, __ATOMIC_ACQUIRE) ? ram_rx : ram_rwx;
}

static u64 bitmap_words(const struct vm_slot *s)
{
	return s->size / PAGE_SIZE / 64;
}

static void dirty_free(struct vm_slot *s)
{
	if (s->dirty)
		pmm_free(virt_to_phys(s->dirty), s->dirty_order);
	s->dirty = NULL;
}

static int dirty_alloc(struct vm_slot *s)
{
	paddr_t pa;

	s->dirty_order = 0;
	while ((PAGE_SIZE << s->dirty_order) < bitmap_words(s) * 8)
		s->dirty_order++;
	pa = pmm_alloc(s->dirty_order);
	s->dirty = pa_addr(pa) ? phys_to_virt(pa) : NULL;
	return s->dirty ? 0 : ERR_NOMEM;
}

int vm_dirty_log_start(struct vm *vm)
{
	if (vm->pc.active || vm->dirty_logging)
		return ERR_NOTSUP;
	for (unsigned i = 0; i < vm->nr_slots; i++) {
		if (dirty_alloc(&vm->slots[i])) {
			vm_dirty_log_stop(vm);
			return ERR_NOMEM;
		}
	}
	/* Before the protection: a fault from now on maps read-only. */
	__atomic_store_n(&vm->dirty_logging, true, __ATOMIC_RELEASE);
	for (unsigned i = 0; i < vm->nr_slots; i++)
		if (pt_protect(&vm->pt, vm->slots[i].gpa, vm->slots[i].size, ram_rx))
			return ERR_NOMEM;
	return 0;
}

void vm_dirty_log_stop(struct vm *vm)
{
	__atomic_store_n(&vm->dirty_logging, false, __ATOMIC_RELEASE);
	for (unsigned i = 0; i < vm->nr_slots; i++) {
		struct vm_slot *s = &vm->slots[i];

		if (s->dirty)
			pt_protect(&vm->pt, s->gpa, s->size, ram_rwx);
		dirty_free(s);
	}
}

int vm_dirty_fault(struct vm *vm, struct vm_slot *s, u64 gpa)
{
	u64 i = (gpa - s->gpa) / PAGE_SIZE, page = ALIGN_DOWN(gpa, PAGE_SIZE);

	/* Logging stopped since the fault: the stop made RAM writable again. */
	if (!__atomic_load_n(&vm->dirty_logging, __ATOMIC_ACQUIRE) || !s->dirty)
		return 0;
	if (!(__atomic_fetch_or(&s->dirty[i / 64], BIT(i % 64), __ATOMIC_ACQ_REL) & BIT(i % 64)))
		vm_stat_inc(&vm->stats.pages_dirtied);
	/* Idempotent: a second vCPU that faulted on the same page makes it writable again too. */
	return pt_protect(&vm->pt, page, PAGE_SIZE, ram_rwx) ? ERR_NOMEM : 0;
}

u64 vm_dirty_log_harvest(struct vm *vm, struct vm_slot *s, u64 *out)
{
	u64 count = 0;

	if (!s->dirty)
		return 0;
	for (u64 w = 0; w < bitmap_words(s); w++) {
		u64 bits = __atomic_exchange_n(&s->dirty[w], 0, __ATOMIC_ACQ_REL);

		if (out)
			out[w] = bits;
		for (; bits; bits &= bits - 1) {
			u64 gpa = s->gpa + (w * 64 + (u64)__builtin_ctzll(bits)) * PAGE_SIZE;

			pt_protect(&vm->pt, gpa, PAGE_SIZE, ram_rx);
			count++;
		}
	}
	return count;
}
