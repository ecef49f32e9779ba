/* SPDX-License-Identifier: MIT */
/* The arm64 formats' set-up that only the arm64 backend (and the host tests) call. */
#ifndef ARCH_ARM64_PT_FORMAT_H
#define ARCH_ARM64_PT_FORMAT_H

#include "arch/pt_format.h"

/*
 * arm64 stage 2 for an IPA size: the fewest levels, folding the first into up
 * to 16 concatenated root tables where the architecture allows (D8.2.7).
 * Returns 0, or ERR_INVAL (lib/errno.h) for an IPA size the 4K granule cannot
 * describe.
 */
int arm64_s2_format_init(struct pt_format *fmt, unsigned ipa_bits);

#endif
