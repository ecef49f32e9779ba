/* SPDX-License-Identifier: MIT */
/*
 * The x86-64 virtualization interface of arch/arch.h, dispatched at run time
 * to the backend this CPU has: AMD SVM with nested paging (svm.c) or Intel
 * VMX with EPT (vmx.c). The choice is made once from the boot CPU's features
 * (features.c); every CPU of a machine has the same extension. What does
 * not depend on the extension (cache maintenance, the test guest) is here.
 */
#include "arch/arch.h"
#include "arch/pt_format.h"
#include "arch/x86_64/pt_format.h"
#include "arch/x86_64/vm_common.h"
#include "arch/x86_64/x86.h"

static const struct x86_vm_backend *chosen;
static const char *chosen_reason;

/* SVM: CPUID 0x80000001 ECX.SVM; VMX: CPUID.1:ECX.VMX. No CPU has both. */
static const struct x86_vm_backend *pick(const char **reason)
{
	const struct x86_features *f = &x86_features;
	const struct x86_vm_backend *b;

	if (f->svm)
		b = &x86_svm_backend;
	else if (f->vmx)
		b = &x86_vmx_backend;
	else {
		*reason = "neither SVM (CPUID 0x80000001 ECX.SVM) nor VMX (CPUID.1:ECX.VMX) on "
			  "this CPU";
		return NULL;
	}
	return b->usable(reason) ? b : NULL;
}

static const struct x86_vm_backend *backend(void)
{
	if (!chosen && !chosen_reason)
		chosen = pick(&chosen_reason);
	return chosen;
}

bool arch_vm_available(const char **reason)
{
	if (backend())
		return true;
	*reason = chosen_reason;
	return false;
}

int arch_vm_format_init(struct pt_format *fmt, unsigned want_bits)
{
	int bits;

	if (!backend())
		return ERR_NOTSUP;
	bits = chosen->format_init(fmt, want_bits);
	/* How live splits and collapses go on this CPU (the rule: pt_format.c, X86_RESIZE). */
	x86_stage2_format_resize_init(fmt, x86_features.itlb_multihit, x86_features.tlb_multimatch);
	return bits;
}

int arch_vm_init(struct arch_vm *avm, const struct pt_format *fmt, paddr_t root)
{
	return chosen->vm_init(avm, fmt, root);
}

void arch_vm_destroy(struct arch_vm *avm)
{
	chosen->vm_destroy(avm);
}

void arch_vm_tlb_flush_all(const struct arch_vm *avm)
{
	chosen->tlb_flush_all(avm);
}

/*
 * Neither backend can drop a guest-physical range: SVM flushes per ASID at
 * VMRUN (APM Vol. 2 15.16.1), INVEPT per EPTP (SDM Vol. 3C 28.3.3.1). The
 * whole VM goes.
 */
void arch_vm_tlb_flush_range(const struct arch_vm *avm, u64 gpa, u64 size, unsigned level)
{
	(void)gpa;
	(void)size;
	(void)level;
	chosen->tlb_flush_all(avm);
}

/*
 * x86 caches are coherent with every access, and the guest's memory type
 * combines the NPT / EPT leaf's (write-back) with its own (APM 15.25.8, SDM
 * Vol. 3C 28.2.7): nothing to do.
 */
void arch_vm_cache_sync(void *host_va, u64 size, bool exec)
{
	(void)host_va;
	(void)size;
	(void)exec;
}

size_t arch_vcpu_size(void)
{
	return backend() ? chosen->vcpu_size : 0;
}

void arch_vcpu_init(struct arch_vcpu *v, const struct arch_vm *avm, u64 entry, const u64 args[4])
{
	chosen->vcpu_init(v, avm, entry, args);
}

void arch_vcpu_load(struct arch_vcpu *v)
{
	chosen->vcpu_load(v);
}

void arch_vcpu_put(struct arch_vcpu *v)
{
	chosen->vcpu_put(v);
}

int arch_vcpu_run(struct arch_vcpu *v, struct vm_exit *exit)
{
	return chosen->vcpu_run(v, exit);
}

void arch_vcpu_set_result(struct arch_vcpu *v, u64 value)
{
	chosen->vcpu_set_result(v, value);
}

int arch_vcpu_inject_abort(struct arch_vcpu *v, const struct vm_exit *exit)
{
	return chosen->vcpu_inject_abort(v, exit);
}

/* ---- The built-in test guest (vm_test_guest.S): one image for both backends ---- */

extern const char x86_test_guest_start[], x86_test_guest_end[];

const struct arch_test_guest *arch_vm_test_guest(void)
{
	static struct arch_test_guest guest;

	guest.image = x86_test_guest_start;
	guest.size = (u64)(x86_test_guest_end - x86_test_guest_start);
	return &guest;
}
