/* SPDX-License-Identifier: MIT */
/*
 * The exception report: an unexpected exception must produce a readable report
 * and a non-zero exit. Fatal by design, so only run when named (test=exception);
 * the runner checks the report text and the exit status.
 */
#include "arch/arch.h"
#include "lib/ktap.h"
#include "lib/printf.h"

static void test_unexpected_exception_is_reported(void)
{
	printf("exception test: triggering an unexpected exception now\n");
	arch_trigger_bad_exception();
	/* Reaching this line means the exception was swallowed: that is the failure. */
	ktap_diag("the exception returned instead of stopping the kernel");
	EXPECT(false);
}

static const struct ktap_case exception_cases[] = {
	KTAP_CASE(test_unexpected_exception_is_reported)};

const struct ktap_suite suite_exception = {
	.name = "exception",
	.cases = exception_cases,
	.nr_cases = ARRAY_SIZE(exception_cases),
	.fatal = true,
};
