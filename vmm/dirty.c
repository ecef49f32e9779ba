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
 *
 * Every change of a page's write permission happens under its 2M region
 * lock (vm_slot_lock()), as vm_slot_map_page() maps under it: the fault's
 * bit-then-writable pair, the harvest's write-protect, and the protection
 * passes of start and stop. Without it (vmm/fault_protocol.pml found each):
 * a harvest between a fault's bit and its pt_protect() would leave the page
 * writable with its bit taken, losing every later write; a fault that read
 * "not logging" could map a page writable behind start's protection pass.
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

/* Gives every 2M region of s attrs, each under its lock; ERR_NOMEM if a split failed. */
static int protect_by_region(struct vm *vm, struct vm_slot *s, struct pt_attrs attrs)
{
	int rc = 0;

	for (u64 gpa = s->gpa; gpa < s->gpa + s->size; gpa += MiB(2)) {
		spin_lock(vm_slot_lock(s, gpa));
		rc = rc ?: pt_protect(&vm->pt, gpa, MIN(MiB(2), s->gpa + s->size - gpa), attrs);
		spin_unlock(vm_slot_lock(s, gpa));
	}
	return rc;
}

/* Waits until no fault still uses a bitmap it read before s->dirty was cleared. */
static void drain_region_locks(struct vm_slot *s)
{
	for (u64 gpa = s->gpa; gpa < s->gpa + s->size; gpa += MiB(2)) {
		spin_lock(vm_slot_lock(s, gpa));
		spin_unlock(vm_slot_lock(s, gpa));
	}
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
	/*
	 * Before the protection: a fault from now on maps read-only. One that
	 * read "not logging" holds its region's lock until its page is mapped,
	 * so the pass below, region by region under the same lock, comes after.
	 */
	__atomic_store_n(&vm->dirty_logging, true, __ATOMIC_RELEASE);
	for (unsigned i = 0; i < vm->nr_slots; i++)
		if (protect_by_region(vm, &vm->slots[i], ram_rx))
			return ERR_NOMEM;
	return 0;
}

void vm_dirty_log_stop(struct vm *vm)
{
	__atomic_store_n(&vm->dirty_logging, false, __ATOMIC_RELEASE);
	for (unsigned i = 0; i < vm->nr_slots; i++) {
		struct vm_slot *s = &vm->slots[i];
		u64 *bitmap = s->dirty;

		if (!bitmap)
			continue;
		protect_by_region(vm, s, ram_rwx);
		__atomic_store_n(&s->dirty, NULL, __ATOMIC_RELEASE);
		drain_region_locks(s);
		s->dirty = bitmap;
		dirty_free(s);
	}
}

/*
 * Was RAM at page made writable since the fault (logging stopped)? Then the
 * vCPU only retries. A write fault on RAM that is still read-only without a
 * log is no dirty-log fault: the caller stops the VM.
 */
static int fault_after_stop(struct vm *vm, u64 page)
{
	struct pt_translation t;

	return pt_translate(&vm->pt, page, &t) && (t.attrs.prot & PT_WRITE) ? 0 : ERR_IO;
}

int vm_dirty_fault(struct vm *vm, struct vm_slot *s, u64 gpa)
{
	u64 i = (gpa - s->gpa) / PAGE_SIZE, page = ALIGN_DOWN(gpa, PAGE_SIZE);
	struct spinlock *lock = vm_slot_lock(s, gpa);
	u64 *bitmap;
	int rc;

	spin_lock(lock);
	bitmap = __atomic_load_n(&s->dirty, __ATOMIC_ACQUIRE);
	if (!__atomic_load_n(&vm->dirty_logging, __ATOMIC_ACQUIRE) || !bitmap) {
		spin_unlock(lock);
		return fault_after_stop(vm, page);
	}
	if (!(__atomic_fetch_or(&bitmap[i / 64], BIT(i % 64), __ATOMIC_ACQ_REL) & BIT(i % 64)))
		vm_stat_inc(&vm->stats.pages_dirtied);
	/* Idempotent: a second vCPU that faulted on the same page makes it writable again too. */
	rc = pt_protect(&vm->pt, page, PAGE_SIZE, ram_rwx) ? ERR_NOMEM : 0;
	spin_unlock(lock);
	return rc;
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

			/* Under the lock: never between a fault's bit and its making the page
			 * writable. */
			spin_lock(vm_slot_lock(s, gpa));
			pt_protect(&vm->pt, gpa, PAGE_SIZE, ram_rx);
			spin_unlock(vm_slot_lock(s, gpa));
			count++;
		}
	}
	return count;
}
