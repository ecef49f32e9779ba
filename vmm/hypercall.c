/* SPDX-License-Identifier: MIT */
/*
 * The guest hypercall ABI (vmm/hypercall.h, docs/hypercalls.md): version,
 * console write, discard, report, exit. Bad numbers and arguments get
 * GRANULE_E_* results; the guest keeps running.
 */
#include "lib/printf.h"
#include "lib/string.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"

/* Whether [gpa, gpa + len) lies inside one slot. */
static bool range_in_ram(struct vm *vm, u64 gpa, u64 len)
{
	struct vm_slot *s = vm_find_slot(vm, gpa);

	return s && len <= s->size - (gpa - s->gpa);
}

/*
 * The guest's bytes, each line after vm->console_prefix when there is one
 * (the guests suite puts its guest's KTAP behind "# " so it reads as
 * diagnostics). The lock keeps one vCPU's line whole.
 */
static void console_print(struct vm *vm, const char *text, u64 len)
{
	unsigned long flags = spin_lock_irqsave(&vm->console_lock);

	while (len) {
		const char *nl = memchr(text, '\n', len);
		u64 n = nl ? (u64)(nl - text) + 1 : len;

		if (vm->console_prefix && vm->console_bol)
			printf("%s", vm->console_prefix);
		printf("%.*s", (int)n, text);
		vm->console_bol = nl != NULL;
		text += n;
		len -= n;
	}
	spin_unlock_irqrestore(&vm->console_lock, flags);
}

/* Prints the guest's bytes a page at a time, from the pages' content (zero if never touched). */
static s64 hc_console_write(struct vm *vm, u64 gpa, u64 len)
{
	if (len > GRANULE_CONSOLE_MAX)
		return GRANULE_E_INVAL;
	if (!range_in_ram(vm, gpa, len))
		return GRANULE_E_RANGE;
	for (u64 done = 0; done < len;) {
		u64 at = gpa + done, chunk = MIN(len - done, PAGE_SIZE - (at & (PAGE_SIZE - 1)));
		const char *page = vm_page_fill(vm, at);

		if (!page)
			return GRANULE_E_INVAL; /* the page source lost it */
		/* The guest may have written it with its caches off. */
		arch_vm_cache_sync((void *)page, PAGE_SIZE, false);
		console_print(vm, page + (at & (PAGE_SIZE - 1)), chunk);
		done += chunk;
	}
	return (s64)len;
}

static s64 hc_discard(struct vm *vm, u64 gpa, u64 len)
{
	if (!IS_ALIGNED(gpa | len, GRANULE_DISCARD_ALIGN))
		return GRANULE_E_INVAL;
	if (!range_in_ram(vm, gpa, len))
		return GRANULE_E_RANGE;
	return vm_discard(vm, gpa, len) ? GRANULE_E_INVAL : 0;
}

static s64 hc_report(struct vm *vm, u64 key, u64 value)
{
	if (key >= GRANULE_REPORT_KEY_MAX)
		return GRANULE_E_INVAL;
	vm->reports[key] = value;
	return 0;
}

/* Starts a secondary vCPU: the generic analogue of PSCI CPU_ON (x86 guests use it). */
static s64 hc_vcpu_start(struct vm *vm, u64 index, u64 entry, u64 context)
{
	int rc;

	if (index >= VM_MAX_VCPUS || !vm->vcpus[index])
		return GRANULE_E_INVAL;
	rc = vcpu_start(vm->vcpus[index], entry, context);
	if (rc == ERR_FAULT)
		return GRANULE_E_RANGE;
	return rc == ERR_BUSY ? GRANULE_E_BUSY : 0;
}

int vm_handle_hypercall(struct vcpu *v, const struct vm_exit *exit)
{
	const struct vm_exit_call *c = &exit->call;
	struct vm *vm = v->vm;
	s64 result;

	/* PSCI function IDs over HVC (SMCCC's HVC conduit): vmm/psci.c. */
	if (psci_is_call(c->nr))
		return psci_handle(v, c);

	vm_stat_inc(&vm->stats.hypercalls);
	switch (c->nr) {
	case GRANULE_HC_VERSION: result = GRANULE_ABI_VERSION; break;
	case GRANULE_HC_CONSOLE_WRITE: result = hc_console_write(vm, c->args[0], c->args[1]); break;
	case GRANULE_HC_DISCARD: result = hc_discard(vm, c->args[0], c->args[1]); break;
	case GRANULE_HC_REPORT: result = hc_report(vm, c->args[0], c->args[1]); break;
	case GRANULE_HC_EXIT:
		v->exited = true;
		v->exit_status = c->args[0];
		vm_stop(vm, 0, c->args[0]);
		return VCPU_EXITED;
	case GRANULE_HC_VCPU_START:
		result = hc_vcpu_start(vm, c->args[0], c->args[1], c->args[2]);
		break;
	default: result = GRANULE_E_NOSYS; break;
	}
	if (result < 0)
		vm_stat_inc(&vm->stats.bad_hypercalls);
	arch_vcpu_set_result(v->arch, (u64)result);
	return VCPU_RESUME;
}
