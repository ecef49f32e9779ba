/* SPDX-License-Identifier: MIT */
#ifndef ARCH_ARM64_PSCI_H
#define ARCH_ARM64_PSCI_H

#include "lib/types.h"

/* Function IDs (DEN 0022 5.1): SMC64 where the call takes addresses. */
#define PSCI_VERSION	0x84000000u
#define PSCI_CPU_ON	0xc4000003u
#define PSCI_SYSTEM_OFF 0x84000008u

/* Return codes (DEN 0022 5.2.2). */
#define PSCI_SUCCESS		0
#define PSCI_NOT_SUPPORTED	-1
#define PSCI_INVALID_PARAMETERS -2
#define PSCI_DENIED		-3
#define PSCI_ALREADY_ON		-4
#define PSCI_ON_PENDING		-5
#define PSCI_INTERNAL_FAILURE	-6
#define PSCI_NOT_PRESENT	-7
#define PSCI_DISABLED		-8
#define PSCI_INVALID_ADDRESS	-9

const char *psci_error_name(s64 err);

#endif
