/* SPDX-License-Identifier: MIT */
/*
 * The stage-2 fault path, shared by every backend: decode (done by the
 * backend) -> find the slot -> fill and map exactly the 4 KiB touched ->
 * resume. An access outside every slot is the guest's error: it gets an
 * external abort, as a bus error on real hardware would give it.
 */
#include "lib/printf.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"

static const char *const fault_kinds[] = {
	[VM_FAULT_TRANSLATION] = "translation",
	[VM_FAULT_PERMISSION] = "permission",
	[VM_FAULT_ACCESS_FLAG] = "access flag",
};

static int inject_outside_memory(struct vcpu *v, const struct vm_exit *exit)
{
	int rc = arch_vcpu_inject_abort(v->arch, exit);

	if (rc) {
		printf("vm%u: cannot inject the abort for gpa 0x%llx (%s)\n", v->vm->id,
		       exit->fault.gpa, err_name(rc));
		return ERR_IO;
	}
	vm_stat_inc(&v->vm->stats.aborts_injected);
	return VCPU_RESUME;
}

static int dirty_fault(struct vcpu *v, struct vm_slot *s, u64 gpa)
{
	int rc = vm_dirty_fault(v->vm, s, gpa);

	if (rc == ERR_IO)
		printf("vm%u: write fault at gpa 0x%llx in read-only guest RAM, no dirty log: "
		       "stopping\n",
		       v->vm->id, gpa);
	else if (rc)
		printf("vm%u: dirty-log fault at gpa 0x%llx failed (%s): stopping\n", v->vm->id,
		       gpa, err_name(rc));
	if (rc)
		return rc;
	return VCPU_RESUME;
}

/*
 * Whether gpa is mapped now, once any break-before-make on its path has made
 * its new entry. Between the break and the make of a live split or collapse
 * (the x86 rule on CPUs with a page-size erratum, arch/x86_64/pt_format.c;
 * arm64 at FEAT_BBM level 0) the entry is the engine's break marker, invalid
 * to every walker (mm/pgtable.h rule 4): a vCPU walking it exits with a
 * translation fault although the page stays mapped, and must simply run
 * again. Mapping it here instead would redo a split the collapse just undid,
 * or count a fault that was none. The engine holds the entry's table lock
 * from the break to the make and every walk reads entries under that lock
 * (rules 1-2), so a read-only walk down the page's path (pt_count_tables)
 * returns only after the make; resizes, the only breaks on this path, are of
 * entries above level 0, which that walk reads. A page whose content does not
 * exist yet was never mapped: its fault is real and skips the walk.
 */
static bool mapped_after_breaks(struct vm *vm, u64 gpa)
{
	struct pt_translation t;

	if (pt_translate(&vm->pt, gpa, &t))
		return true;
	if (!vm_page_present(vm, gpa))
		return false;
	(void)pt_count_tables(&vm->pt, ALIGN_DOWN(gpa, PAGE_SIZE), PAGE_SIZE);
	return pt_translate(&vm->pt, gpa, &t);
}

int vm_handle_stage2_fault(struct vcpu *v, const struct vm_exit *exit)
{
	const struct vm_exit_fault *f = &exit->fault;
	struct vm *vm = v->vm;
	struct vm_slot *s = vm_find_slot(vm, f->gpa);
	int rc;

	if (!s)
		return inject_outside_memory(v, exit);
	/*
	 * A write to a page write-protected for the dirty log (vmm/dirty.c),
	 * also when logging stopped since: vm_dirty_fault() then resumes, or
	 * stops the VM if the page is still read-only.
	 */
	if (f->kind == VM_FAULT_PERMISSION && f->write)
		return dirty_fault(v, s, f->gpa);
	/* Otherwise guest RAM is mapped read-write-execute with AF set: only absence can fault. */
	if (f->kind != VM_FAULT_TRANSLATION) {
		printf("vm%u: %s fault at gpa 0x%llx (%s, pc 0x%llx) in guest RAM: stopping\n",
		       vm->id, fault_kinds[f->kind], f->gpa,
		       f->exec	  ? "exec"
		       : f->write ? "write"
				  : "read",
		       exit->pc);
		return ERR_IO;
	}
	/*
	 * Another vCPU (or an earlier exit) may have mapped it since the walk
	 * faulted, or the walk met a break that has been made since: run again.
	 */
	if (mapped_after_breaks(vm, f->gpa))
		return VCPU_RESUME;
	rc = s->pc ? postcopy_fault(vm, s, f->gpa) : vm_slot_map_page(vm, s, f->gpa);
	if (rc == ERR_TIMEDOUT) {
		printf("vm%u: page 0x%llx never arrived from the page source: stopping the VM\n",
		       vm->id, ALIGN_DOWN(f->gpa, PAGE_SIZE));
		return rc;
	}
	if (rc) {
		printf("vm%u: mapping gpa 0x%llx failed (%s): out of table memory\n", vm->id,
		       f->gpa, err_name(rc));
		return ERR_NOMEM;
	}
	vm->stats.stage2_faults++;
	return VCPU_RESUME;
}
