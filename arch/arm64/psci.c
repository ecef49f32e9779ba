/* SPDX-License-Identifier: MIT */
/* PSCI (Arm DEN 0022) over the conduit the DTB names, SMCCC 64-bit calls. */
#include "arch/arm64/arm64.h"
#include "arch/arm64/psci.h"
#include "arch/arm64/sysreg.h"
#include "drivers/fdt.h"
#include "lib/printf.h"
#include "lib/string.h"

u64 arm64_smc_call(u64 fn, u64 a1, u64 a2, u64 a3);
u64 arm64_hvc_call(u64 fn, u64 a1, u64 a2, u64 a3);
extern char arm64_smc_insn[], arm64_hvc_insn[];

enum psci_conduit psci_conduit;

void psci_init(const void *fdt)
{
	const char *method = dt_psci_method(fdt);

	psci_conduit = PSCI_NONE;
	if (!method) {
		printf("psci: no PSCI node in the device tree: no secondary CPUs, no power-off\n");
		return;
	}
	if (!strcmp(method, "smc")) {
		psci_conduit = PSCI_SMC;
	} else if (!strcmp(method, "hvc")) {
		/* From EL2, HVC traps to granule itself: only EL3 firmware can serve it. */
		if (arm64_at_el2) {
			printf("psci: method \"hvc\" cannot reach firmware from EL2: PSCI "
			       "disabled\n");
			return;
		}
		psci_conduit = PSCI_HVC;
	} else {
		printf("psci: unknown method \"%s\": PSCI disabled\n", method);
	}
}

/* Without a DTB (early failures): SMC reaches EL3 from EL2, HVC the hypervisor from EL1. */
static enum psci_conduit guess_conduit(void)
{
	return arm64_at_el2 ? PSCI_SMC : PSCI_HVC;
}

s64 psci_call(u64 fn, u64 a1, u64 a2, u64 a3)
{
	enum psci_conduit c = psci_conduit != PSCI_NONE ? psci_conduit : guess_conduit();
	u64 ret;

	/* Firmware without EL3 (or without a hypervisor) makes the call undefined: catch that. */
	arm64_try_insn_begin((u64)(c == PSCI_SMC ? arm64_smc_insn : arm64_hvc_insn));
	ret = c == PSCI_SMC ? arm64_smc_call(fn, a1, a2, a3) : arm64_hvc_call(fn, a1, a2, a3);
	if (arm64_try_insn_end())
		return PSCI_NOT_SUPPORTED;
	return (s64)ret;
}

const char *psci_error_name(s64 err)
{
	switch (err) {
	case PSCI_SUCCESS: return "success";
	case PSCI_NOT_SUPPORTED: return "NOT_SUPPORTED";
	case PSCI_INVALID_PARAMETERS: return "INVALID_PARAMETERS";
	case PSCI_DENIED: return "DENIED";
	case PSCI_ALREADY_ON: return "ALREADY_ON";
	case PSCI_ON_PENDING: return "ON_PENDING";
	case PSCI_INTERNAL_FAILURE: return "INTERNAL_FAILURE";
	case PSCI_NOT_PRESENT: return "NOT_PRESENT";
	case PSCI_DISABLED: return "DISABLED";
	case PSCI_INVALID_ADDRESS: return "INVALID_ADDRESS";
	default: return "unknown error";
	}
}
