/* SPDX-License-Identifier: MIT */
/* The x86_64 formats' set-up that only the x86_64 backend (and the host tests) call. */
#ifndef ARCH_X86_64_PT_FORMAT_H
#define ARCH_X86_64_PT_FORMAT_H

#include "arch/pt_format.h"

/*
 * x86 stage 2 (a copy of x86_64_ept4_format or x86_64_npt_format): how live
 * page-size changes are sequenced on a CPU with the ITLB-multihit erratum
 * (Intel without PSCHANGE_MC_NO) or AMD's TLB-multimatch erratum 383
 * (family 10h): break-before-make if either, else write then invalidate.
 * The rule and its sources: arch/x86_64/pt_format.c.
 */
void x86_stage2_format_resize_init(struct pt_format *fmt, bool itlb_multihit, bool tlb_multimatch);

#endif
