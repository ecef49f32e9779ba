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
		printf("vm%u: cannot inject the abort for gpa 0x%llx (error %d)\n", v->vm->id,
		       exit->fault.gpa, rc);
		return VM_ERR_GUEST;
	}
	vm_stat_inc(&v->vm->stats.aborts_injected);
	return VCPU_RESUME;
}

static int dirty_fault(struct vcpu *v, struct vm_slot *s, u64 gpa)
{
	int rc = vm_dirty_fault(v->vm, s, gpa);

	if (rc) {
		printf("vm%u: dirty-log fault at gpa 0x%llx failed (%d): stopping\n", v->vm->id,
		       gpa, rc);
		return rc;
	}
	return VCPU_RESUME;
}

int vm_handle_stage2_fault(struct vcpu *v, const struct vm_exit *exit)
{
	const struct vm_exit_fault *f = &exit->fault;
	struct vm *vm = v->vm;
	struct vm_slot *s = vm_find_slot(vm, f->gpa);
	struct pt_translation t;
	int rc;

	if (!s)
		return inject_outside_memory(v, exit);
	/* A write to a page write-protected for the dirty log (vmm/dirty.c). */
	if (f->kind == VM_FAULT_PERMISSION && f->write && vm->dirty_logging)
		return dirty_fault(v, s, f->gpa);
	/* Otherwise guest RAM is mapped read-write-execute with AF set: only absence can fault. */
	if (f->kind != VM_FAULT_TRANSLATION) {
		printf("vm%u: %s fault at gpa 0x%llx (%s, pc 0x%llx) in guest RAM: stopping\n",
		       vm->id, fault_kinds[f->kind], f->gpa,
		       f->exec	  ? "exec"
		       : f->write ? "write"
				  : "read",
		       exit->pc);
		return VM_ERR_GUEST;
	}
	/* Another vCPU (or an earlier exit) may have mapped it since the walk faulted. */
	if (pt_translate(&vm->pt, f->gpa, &t))
		return VCPU_RESUME;
	rc = s->pc ? postcopy_fault(vm, s, f->gpa) : vm_slot_map_page(vm, s, f->gpa);
	if (rc == VM_ERR_SOURCE) {
		printf("vm%u: page 0x%llx never arrived from the page source: stopping the VM\n",
		       vm->id, ALIGN_DOWN(f->gpa, PAGE_SIZE));
		return rc;
	}
	if (rc) {
		printf("vm%u: mapping gpa 0x%llx failed (engine error %d): out of table memory\n",
		       vm->id, f->gpa, rc);
		return VM_ERR_NOMEM;
	}
	vm->stats.stage2_faults++;
	return VCPU_RESUME;
}
