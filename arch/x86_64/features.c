/* SPDX-License-Identifier: MIT */
/*
 * CPU feature detection and the boot report: CPUID, then the VMX capability MSRs (Intel SDM
 * Vol 3 Appendix A) or the SVM leaf (AMD APM Vol 2 15.4, CPUID 0x8000000A).
 */
#include "arch/arch.h"
#include "arch/x86_64/x86.h"
#include "lib/printf.h"
#include "lib/string.h"

struct x86_features x86_features;

static void cpuid(u32 leaf, u32 *a, u32 *b, u32 *c, u32 *d)
{
	cpuid_count(leaf, 0, a, b, c, d);
}

static void detect_basic(struct x86_features *f)
{
	u32 a, b, c, d;

	cpuid(0, &f->max_leaf, &b, &c, &d);
	memcpy(f->vendor, &b, 4);
	memcpy(f->vendor + 4, &d, 4);
	memcpy(f->vendor + 8, &c, 4);
	f->vendor[12] = '\0';
	cpuid(1, &a, &b, &c, &d);
	f->stepping = a & 0xf;
	f->family = ((a >> 8) & 0xf) + (((a >> 8) & 0xf) == 0xf ? (a >> 20) & 0xff : 0);
	f->model = ((a >> 4) & 0xf) | (((a >> 16) & 0xf) << 4);
	f->apic = d & BIT(9);
	f->vmx = c & BIT(5);
	f->pcid = c & BIT(17);
	f->x2apic = c & BIT(21);
	f->tsc_deadline = c & BIT(24);
	if (f->max_leaf >= 7) {
		cpuid_count(7, 0, &a, &b, &c, &d);
		f->invpcid = b & BIT(10);
		f->la57 = c & BIT(16);
		f->arch_capabilities = d & BIT(29);
	}
	cpuid(0x80000000, &f->max_ext_leaf, &b, &c, &d);
	if (f->max_ext_leaf >= 0x80000001) {
		cpuid(0x80000001, &a, &b, &c, &d);
		f->svm = c & BIT(2);
		f->nx = d & BIT(20);
		f->pdpe1gb = d & BIT(26);
		f->long_mode = d & BIT(29);
	}
	if (f->max_ext_leaf >= 0x80000007) {
		cpuid(0x80000007, &a, &b, &c, &d);
		f->invariant_tsc = d & BIT(8);
	}
}

/*
 * The errata that decide how live page-size changes are sequenced
 * (arch/x86_64/pt_format.c, X86_RESIZE): as Linux's cpu_set_bug_bits() and
 * init_amd_gh() name them. IA32_ARCH_CAPABILITIES is read only when CPUID
 * reports it (SDM Vol. 4, MSR 10AH); a CPU without it is taken as affected.
 */
static void detect_page_size_errata(struct x86_features *f)
{
	u64 cap = 0;

	if (f->arch_capabilities && rdmsr_safe(MSR_ARCH_CAPABILITIES, &cap))
		f->arch_cap = cap;
	f->itlb_multihit = !strcmp(f->vendor, "GenuineIntel") && !(f->arch_cap & BIT(6));
	f->tlb_multimatch = !strcmp(f->vendor, "AuthenticAMD") && f->family == 0x10;
}

static void decode_ept_vpid_cap(struct x86_features *f, u64 cap)
{
	/* SDM Vol 3 A.10, "VPID and EPT capabilities". */
	f->ept_vpid_cap = cap;
	f->ept_walk4 = cap & BIT(6);
	f->ept_walk5 = cap & BIT(7);
	f->ept_wb = cap & BIT(14);
	f->ept_2m = cap & BIT(16);
	f->ept_1g = cap & BIT(17);
	f->invept = cap & BIT(20);
	f->ept_ad = cap & BIT(21);
	f->invept_single = cap & BIT(25);
	f->invept_all = cap & BIT(26);
	f->invvpid = cap & BIT(32);
	f->invvpid_addr = cap & BIT(40);
	f->invvpid_single = cap & BIT(41);
	f->invvpid_all = cap & BIT(42);
}

static void detect_vmx(struct x86_features *f)
{
	u64 fc = 0, basic = 0, misc = 0, procbased = 0, procbased2 = 0, cap = 0;

	if (!f->vmx)
		return;
	/* SDM Vol 3 23.7 "Enabling and Entering VMX Operation": VMXON needs the lock bit and "VMX
	 * outside SMX" (bit 2). */
	if (rdmsr_safe(MSR_FEATURE_CONTROL, &fc)) {
		f->vmx_locked = fc & BIT(0);
		f->vmx_enabled = f->vmx_locked && (fc & BIT(2));
	}
	if (!rdmsr_safe(MSR_VMX_BASIC, &basic))
		return;
	f->vmcs_revision = basic & 0x7fffffff;
	f->vmcs_size = (basic >> 32) & 0x1fff;
	f->vmcs_wb = ((basic >> 50) & 0xf) == 6;
	f->vmx_true_ctls = basic & BIT(55);
	if (rdmsr_safe(MSR_VMX_MISC, &misc))
		f->vmx_lma_store = misc & BIT(5);
	/*
	 * Secondary controls exist when "activate secondary controls" (bit 31) may be 1: the
	 * allowed-1 settings are the high half (A.3.2), read from the TRUE MSR when BASIC[55].
	 */
	if (!rdmsr_safe(f->vmx_true_ctls ? MSR_VMX_TRUE_PROCBASED_CTLS : MSR_VMX_PROCBASED_CTLS,
			&procbased) ||
	    !(procbased & BIT(32 + 31)))
		return;
	if (!rdmsr_safe(MSR_VMX_PROCBASED_CTLS2, &procbased2))
		return;
	f->ept = procbased2 & BIT(32 + 1);
	f->vpid = procbased2 & BIT(32 + 5);
	f->unrestricted_guest = procbased2 & BIT(32 + 7);
	/* A.10: IA32_VMX_EPT_VPID_CAP exists only if EPT or VPID may be enabled. */
	if ((f->ept || f->vpid) && rdmsr_safe(MSR_VMX_EPT_VPID_CAP, &cap))
		decode_ept_vpid_cap(f, cap);
}

static void detect_svm(struct x86_features *f)
{
	u32 a, b, c, d;
	u64 vm_cr = 0;

	if (!f->svm || f->max_ext_leaf < 0x8000000a)
		return;
	cpuid(0x8000000a, &a, &b, &c, &d);
	f->svm_revision = a & 0xff;
	f->svm_asids = b;
	f->npt = d & BIT(0);
	f->nrips = d & BIT(3);
	f->vmcb_clean = d & BIT(5);
	f->flush_by_asid = d & BIT(6);
	f->decode_assists = d & BIT(7);
	/* APM Vol 2 15.30.1: VM_CR.SVMDIS (bit 4) set means EFER.SVME cannot be set. */
	if (rdmsr_safe(MSR_VM_CR, &vm_cr))
		f->svm_disabled = vm_cr & BIT(4);
}

void x86_features_detect(void)
{
	detect_basic(&x86_features);
	detect_page_size_errata(&x86_features);
	detect_vmx(&x86_features);
	detect_svm(&x86_features);
}

static const char *yes_no(bool b)
{
	return b ? "yes" : "no";
}

static void report_vmx(const struct x86_features *f)
{
	if (!f->vmx) {
		printf("feature: VMX: no\n");
		return;
	}
	printf("feature: VMX: yes, %s (IA32_FEATURE_CONTROL %s), VMCS revision 0x%x\n",
	       f->vmx_enabled  ? "enabled by firmware"
	       : f->vmx_locked ? "disabled and locked by firmware"
			       : "not locked (granule can enable it)",
	       f->vmx_locked ? "locked" : "unlocked", f->vmcs_revision);
	printf("feature: VMCS: %u bytes, %s, TRUE control MSRs %s, unrestricted guest %s, exits "
	       "store EFER.LMA %s\n",
	       f->vmcs_size, f->vmcs_wb ? "write-back" : "not write-back", yes_no(f->vmx_true_ctls),
	       yes_no(f->unrestricted_guest), yes_no(f->vmx_lma_store));
	if (!f->ept) {
		printf("feature: EPT: no%s\n", f->vpid ? " (VPID only)" : "");
		return;
	}
	printf("feature: EPT: yes, walk 4-level %s 5-level %s, leaves 2M %s 1G %s, A/D %s, WB %s\n",
	       yes_no(f->ept_walk4), yes_no(f->ept_walk5), yes_no(f->ept_2m), yes_no(f->ept_1g),
	       yes_no(f->ept_ad), yes_no(f->ept_wb));
	printf("feature: INVEPT: %s (single-context %s, all-context %s)\n", yes_no(f->invept),
	       yes_no(f->invept_single), yes_no(f->invept_all));
	printf("feature: VPID: %s, INVVPID %s (address %s, single-context %s, all-context %s)\n",
	       yes_no(f->vpid), yes_no(f->invvpid), yes_no(f->invvpid_addr),
	       yes_no(f->invvpid_single), yes_no(f->invvpid_all));
}

static void report_svm(const struct x86_features *f)
{
	if (!f->svm) {
		printf("feature: SVM: no\n");
		return;
	}
	printf("feature: SVM: yes%s, revision %u, %u ASIDs\n",
	       f->svm_disabled ? " but disabled by firmware (VM_CR.SVMDIS)" : "", f->svm_revision,
	       f->svm_asids);
	printf("feature: NPT: %s, NRIPS %s, FlushByAsid %s, VMCB clean bits %s, decode assists "
	       "%s\n",
	       yes_no(f->npt), yes_no(f->nrips), yes_no(f->flush_by_asid), yes_no(f->vmcb_clean),
	       yes_no(f->decode_assists));
}

static void report_page_size(const struct x86_features *f)
{
	if (f->arch_capabilities)
		printf("feature: IA32_ARCH_CAPABILITIES 0x%llx, PSCHANGE_MC_NO %s\n",
		       (unsigned long long)f->arch_cap, yes_no(f->arch_cap & BIT(6)));
	else
		printf("feature: IA32_ARCH_CAPABILITIES: not reported (CPUID.7.0:EDX[29])\n");
	printf("feature: live page-size changes of guest RAM: %s\n",
	       f->itlb_multihit ? "break-before-make (ITLB multihit: Intel without PSCHANGE_MC_NO)"
	       : f->tlb_multimatch ? "break-before-make (AMD family 10h erratum 383)"
				   : "write, then invalidate");
}

void arch_report_features(void)
{
	const struct x86_features *f = &x86_features;

	printf("feature: CPU: %s family 0x%x model 0x%x stepping %u\n", f->vendor, f->family,
	       f->model, f->stepping);
	printf("feature: long mode %s, NX %s, 1G pages %s, LA57 %s, PCID %s, INVPCID %s\n",
	       yes_no(f->long_mode), yes_no(f->nx), yes_no(f->pdpe1gb), yes_no(f->la57),
	       yes_no(f->pcid), yes_no(f->invpcid));
	printf("feature: local APIC: xAPIC (MMIO), x2APIC %s (not used), TSC-deadline %s\n",
	       yes_no(f->x2apic), yes_no(f->tsc_deadline));
	printf("feature: TSC: %llu kHz (%s), invariant %s\n",
	       (unsigned long long)(f->tsc_hz / 1000), f->tsc_source, yes_no(f->invariant_tsc));
	report_vmx(f);
	report_svm(f);
	report_page_size(f);
}
