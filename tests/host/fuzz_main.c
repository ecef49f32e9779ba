/* SPDX-License-Identifier: MIT */
/* libFuzzer entry point (make fuzz): any input is a sequence of engine operations. */
#include <stdlib.h>

#include "tests/host/fuzz_ops.h"

int LLVMFuzzerTestOneInput(const u8 *data, size_t size);

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	/* A failed check is a finding: abort so libFuzzer saves the input. */
	if (fuzz_run(data, size, NULL))
		abort();
	return 0;
}
