/* SPDX-License-Identifier: MIT */
/* What the VM suites (test_vm.c, test_postcopy.c) share. */
#ifndef TESTS_KERNEL_VM_TESTS_H
#define TESTS_KERNEL_VM_TESTS_H

#include "vmm/hypercall.h"

/* Where the built-in test guest's RAM starts, per architecture (docs/hypercalls.md). */
#if defined(ARCH_x86_64)
#define RAM_BASE GRANULE_GUEST_RAM_BASE_X86_64
#else
#define RAM_BASE GRANULE_GUEST_RAM_BASE_ARM64
#endif
#define RAM_SIZE GiB(1)

/* True, with the reason, when this machine cannot run the built-in test guest. */
bool vm_tests_unavailable(const char **reason);

struct vm;
/*
 * Creates vm with one ram_size slot at RAM_BASE holding the built-in test
 * guest's image; *created says whether vm needs vm_destroy() (also on error).
 */
int vm_tests_create_with_guest(struct vm *vm, bool *created, u64 ram_size);

#endif
