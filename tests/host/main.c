/* SPDX-License-Identifier: MIT */
#include <stdio.h>

#include "tests/host/harness.h"

extern const struct ktap_suite suite_host_lib, suite_host_memmap, suite_host_pmm,
	suite_host_pgtable, suite_host_formats, suite_host_tlbi, suite_host_reclaim,
	suite_host_model, suite_host_fuzz;

static const struct ktap_suite *const suites[] = {
	&suite_host_lib,     &suite_host_memmap,  &suite_host_pmm,
	&suite_host_pgtable, &suite_host_formats, &suite_host_tlbi,
	&suite_host_reclaim, &suite_host_model,	  &suite_host_fuzz};

static bool all(const struct ktap_suite *s)
{
	(void)s;
	return true;
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	return ktap_run(suites, ARRAY_SIZE(suites), all) ? 1 : 0;
}
