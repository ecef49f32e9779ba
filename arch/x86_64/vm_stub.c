/* SPDX-License-Identifier: MIT */
/*
 * The x86-64 virtualization backends (VMX + EPT, SVM + NPT) come with the
 * next issue; until then every VM entry point says so. vmm/ builds and links
 * unchanged, and suite_vm skips with the reason below.
 */
#include "arch/arch.h"

#define NOT_YET (-95)

bool arch_vm_available(const char **reason)
{
	*reason = "x86-64 VM backend (VMX/EPT, SVM/NPT) not implemented yet";
	return false;
}

int arch_vm_format_init(struct pt_format *fmt, unsigned want_bits)
{
	return NOT_YET;
}

int arch_vm_init(struct arch_vm *avm, const struct pt_format *fmt, paddr_t root)
{
	return NOT_YET;
}

void arch_vm_destroy(struct arch_vm *avm)
{
}

void arch_vm_tlb_flush_range(const struct arch_vm *avm, u64 gpa, u64 size, unsigned level)
{
}

void arch_vm_tlb_flush_all(const struct arch_vm *avm)
{
}

void arch_vm_cache_sync(void *host_va, u64 size, bool exec)
{
}

size_t arch_vcpu_size(void)
{
	return 0;
}

void arch_vcpu_init(struct arch_vcpu *v, const struct arch_vm *avm, u64 entry, const u64 args[4])
{
}

void arch_vcpu_load(struct arch_vcpu *v)
{
}

void arch_vcpu_put(struct arch_vcpu *v)
{
}

int arch_vcpu_run(struct arch_vcpu *v, struct vm_exit *exit)
{
	return NOT_YET;
}

void arch_vcpu_set_result(struct arch_vcpu *v, u64 value)
{
}

int arch_vcpu_inject_abort(struct arch_vcpu *v, const struct vm_exit *exit)
{
	return NOT_YET;
}

const struct arch_test_guest *arch_vm_test_guest(void)
{
	return NULL;
}
