/* SPDX-License-Identifier: MIT */
/*
 * Calls into whatever is above granule: firmware (SMC/HVC, SMCCC) and the
 * emulator's semihosting (HLT #0xf000). Each trapping instruction has a global
 * label so arm64_try_insn_begin() can name it: on a machine without EL3, or
 * without semihosting, the instruction is undefined and the handler skips it.
 */
	.text
/* u64 arm64_smc_call(u64 fn, u64 a1, u64 a2, u64 a3) */
	.global	arm64_smc_call, arm64_smc_insn
	.type	arm64_smc_call, %function
arm64_smc_call:
arm64_smc_insn:
	smc	#0
	ret
	.size	arm64_smc_call, . - arm64_smc_call

	.global	arm64_hvc_call, arm64_hvc_insn
	.type	arm64_hvc_call, %function
arm64_hvc_call:
arm64_hvc_insn:
	hvc	#0
	ret
	.size	arm64_hvc_call, . - arm64_hvc_call

/* u64 arm64_semihost_call(u64 op, u64 arg): A64 semihosting is HLT #0xf000. */
	.global	arm64_semihost_call, arm64_semihost_insn
	.type	arm64_semihost_call, %function
arm64_semihost_call:
arm64_semihost_insn:
	hlt	#0xf000
	ret
	.size	arm64_semihost_call, . - arm64_semihost_call
