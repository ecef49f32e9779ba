/* SPDX-License-Identifier: MIT */
/* The hypercall backend: every call is the real instruction, handled by granule's VMM. */
#include "tests/guests/guest.h"

const char guest_backend_name[] = "hypercall";
/* The VMM's page source delivers the pattern (docs/hypercalls.md, "Memory pattern"). */
const bool guest_backend_bare = false;

int64_t guest_hc(uint64_t nr, uint64_t a1, uint64_t a2, uint64_t a3)
{
	return arch_hypercall(nr, a1, a2, a3);
}
