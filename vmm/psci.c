/* SPDX-License-Identifier: MIT */
/*
 * PSCI for guests (Arm DEN 0022D, "Arm Power State Coordination Interface",
 * version 1.1), emulated by the VMM: the guest's SMC traps (HCR_EL2.TSC) and
 * arrives here, as does an HVC whose x0 is a PSCI function ID (SMCCC, Arm DEN
 * 0028, allows either conduit). Function IDs follow SMCCC's encoding (2.5):
 * bit 31 fast call, bit 30 SMC64, owner 4 (standard secure service) in bits
 * 29:24, the function number in 4:0; PSCI uses 0x84000000-0x8400001F and
 * 0xC4000000-0xC400001F (DEN 0022D, 5.1). The function ID is w0: for SMC32
 * calls the upper halves of x0..x3 are ignored (SMCCC 2.6).
 */
#include "lib/printf.h"
#include "vmm/vcpu.h"

#define PSCI_VERSION	       0x84000000u
#define PSCI_CPU_SUSPEND       0x84000001u
#define PSCI_CPU_OFF	       0x84000002u
#define PSCI_CPU_ON	       0x84000003u
#define PSCI_AFFINITY_INFO     0x84000004u
#define PSCI_MIGRATE_INFO_TYPE 0x84000006u
#define PSCI_SYSTEM_OFF	       0x84000008u
#define PSCI_SYSTEM_RESET      0x84000009u
#define PSCI_FEATURES	       0x8400000au
#define PSCI_SMC64	       0x40000000u /* bit 30: the SMC64 form of a function */
#define PSCI_FN_MASK	       0xbfffffe0u /* the ID without its SMC64 bit and number */
#define PSCI_FN_BASE	       0x84000000u

/* PSCI 1.1 (DEN 0022D, 5.1.5 "Implementation responsibilities"; 7.3 for FEATURES). */
#define PSCI_VERSION_1_1 0x00010001u

/* Return codes (DEN 0022D, table 5.2.2 "Return error codes"). */
#define PSCI_SUCCESS		0
#define PSCI_NOT_SUPPORTED	(-1)
#define PSCI_INVALID_PARAMETERS (-2)
#define PSCI_DENIED		(-3)
#define PSCI_ALREADY_ON		(-4)
#define PSCI_ON_PENDING		(-5)
#define PSCI_INVALID_ADDRESS	(-9)

/* MIGRATE_INFO_TYPE = 2: no Trusted OS that needs migrating (DEN 0022D, 5.9). */
#define PSCI_TOS_NOT_PRESENT 2

bool psci_is_call(u64 function_id)
{
	return ((u32)function_id & PSCI_FN_MASK) == PSCI_FN_BASE;
}

/* The 32-bit form of a function: SMC32 and SMC64 variants are the same function here. */
static u32 psci_function(u64 x0)
{
	return (u32)x0 & ~PSCI_SMC64;
}

/* SMC32 arguments are the low 32 bits of the registers (SMCCC 2.6). */
static u64 psci_arg(u64 x0, u64 arg)
{
	return (u32)x0 & PSCI_SMC64 ? arg : (u32)arg;
}

static bool psci_implemented(u32 fn)
{
	switch (psci_function(fn)) {
	case PSCI_VERSION:
	case PSCI_CPU_OFF:
	case PSCI_CPU_ON:
	case PSCI_AFFINITY_INFO:
	case PSCI_MIGRATE_INFO_TYPE:
	case PSCI_SYSTEM_OFF:
	case PSCI_FEATURES: return true;
	default: return false;
	}
}

/*
 * CPU_ON(target_cpu, entry_point_address, context_id) (DEN 0022D, 5.4):
 * target_cpu in MPIDR format; an unknown one is INVALID_PARAMETERS, an entry
 * outside the guest's RAM INVALID_ADDRESS, a vCPU already on ALREADY_ON, one
 * being started ON_PENDING. The target starts at entry in the caller's EL,
 * MMU off, with context_id in x0 (5.4.2, 6.4.3).
 */
static s64 psci_cpu_on(struct vcpu *v, u64 mpidr, u64 entry, u64 context)
{
	struct vcpu *target = vm_vcpu_by_mpidr(v->vm, mpidr);
	int rc;

	if (!target)
		return PSCI_INVALID_PARAMETERS;
	rc = vcpu_start(target, entry, context);
	if (rc == ERR_FAULT)
		return PSCI_INVALID_ADDRESS;
	if (rc == ERR_BUSY)
		return __atomic_load_n(&target->power, __ATOMIC_ACQUIRE) == VCPU_ON_PENDING
			       ? PSCI_ON_PENDING
			       : PSCI_ALREADY_ON;
	return rc ? PSCI_INVALID_PARAMETERS : PSCI_SUCCESS;
}

/*
 * AFFINITY_INFO(target_affinity, lowest_affinity_level) (DEN 0022D, 5.5):
 * level 0 only, the vCPU's state as ON (0), OFF (1) or ON_PENDING (2).
 */
static s64 psci_affinity_info(struct vcpu *v, u64 mpidr, u64 level)
{
	struct vcpu *target = vm_vcpu_by_mpidr(v->vm, mpidr);

	if (!target || level != 0)
		return PSCI_INVALID_PARAMETERS;
	return __atomic_load_n(&target->power, __ATOMIC_ACQUIRE);
}

static s64 psci_call(struct vcpu *v, const struct vm_exit_call *c)
{
	u64 a1 = psci_arg(c->nr, c->args[0]), a2 = psci_arg(c->nr, c->args[1]);
	u64 a3 = psci_arg(c->nr, c->args[2]);

	switch (psci_function(c->nr)) {
	case PSCI_VERSION: return PSCI_VERSION_1_1;
	case PSCI_FEATURES: return psci_implemented((u32)a1) ? PSCI_SUCCESS : PSCI_NOT_SUPPORTED;
	case PSCI_CPU_ON: return psci_cpu_on(v, a1, a2, a3);
	case PSCI_AFFINITY_INFO: return psci_affinity_info(v, a1, a2);
	case PSCI_MIGRATE_INFO_TYPE: return PSCI_TOS_NOT_PRESENT;
	default: return PSCI_NOT_SUPPORTED;
	}
}

int psci_handle(struct vcpu *v, const struct vm_exit_call *c)
{
	switch ((u32)c->nr) {
	/* SYSTEM_OFF does not return (DEN 0022D, 5.10): the whole VM ends, status 0. */
	case PSCI_SYSTEM_OFF:
		v->exited = true;
		v->exit_status = 0;
		vm_stop(v->vm, 0, 0);
		return VCPU_EXITED;
	/* CPU_OFF does not return on success (5.3); the last vCPU off ends the VM. */
	case PSCI_CPU_OFF:
		if (!vcpu_turn_off(v))
			return VCPU_EXITED;
		arch_vcpu_set_result(v->arch, (u64)(s64)PSCI_DENIED);
		return VCPU_RESUME;
	}
	arch_vcpu_set_result(v->arch, (u64)psci_call(v, c));
	return VCPU_RESUME;
}
