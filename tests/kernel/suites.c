/* SPDX-License-Identifier: MIT */
/* The in-kernel KTAP suites, in the order test=all runs them. */
#include "tests/kernel/suites.h"
#include "lib/ktap.h"

extern const struct ktap_suite suite_alloc, suite_kpt, suite_smp, suite_timer, suite_hvo, suite_vm,
	suite_postcopy, suite_vcpus, suite_elf, suite_guests, suite_exception;

static const struct ktap_suite *const suites[] = {
	&suite_alloc,	 &suite_kpt,   &suite_smp, &suite_timer,  &suite_hvo,	    &suite_vm,
	&suite_postcopy, &suite_vcpus, &suite_elf, &suite_guests, &suite_exception,
};

static const struct kernel_options *options;

static bool selected(const struct ktap_suite *s)
{
	/* Fatal suites end the run on purpose: only when named explicitly. */
	if (s->fatal)
		return !options->all_tests && cmdline_wants_suite(options, s->name);
	return cmdline_wants_suite(options, s->name);
}

unsigned kernel_tests_run(const struct kernel_options *opts)
{
	options = opts;
	for (unsigned i = 0; i < opts->nr_suites; i++) {
		bool known = false;

		for (unsigned j = 0; j < ARRAY_SIZE(suites); j++)
			known |= !__builtin_strcmp(opts->suites[i], suites[j]->name);
		if (!known) {
			ktap_diag("unknown suite '%s'", opts->suites[i]);
			return 1;
		}
	}
	return ktap_run(suites, ARRAY_SIZE(suites), selected);
}
