/* SPDX-License-Identifier: MIT */
#include <stdarg.h>

#include "lib/ktap.h"
#include "lib/printf.h"

struct case_state {
	unsigned failures;
	const char *skip_reason;
};

static struct case_state current;

void ktap_expect(bool ok, const char *file, int line, const char *expr)
{
	if (ok)
		return;
	current.failures++;
	printf("        # %s:%d: expectation failed: %s\n", file, line, expr);
}

void ktap_skip(const char *reason)
{
	current.skip_reason = reason;
}

void ktap_diag(const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	printf("        # %s\n", buf);
}

static bool run_suite(const struct ktap_suite *s, unsigned index)
{
	const char *reason = NULL;
	unsigned failed = 0;

	printf("    KTAP version 1\n    # Subtest: %s\n", s->name);
	if (s->skip && s->skip(&reason)) {
		printf("    1..0 # SKIP %s\n", reason);
		printf("ok %u %s # SKIP %s\n", index, s->name, reason);
		return true;
	}
	printf("    1..%u\n", s->nr_cases);
	for (unsigned i = 0; i < s->nr_cases; i++) {
		current = (struct case_state){0};
		s->cases[i].run();
		if (current.skip_reason) {
			printf("    ok %u %s # SKIP %s\n", i + 1, s->cases[i].name,
			       current.skip_reason);
		} else {
			printf("    %s %u %s\n", current.failures ? "not ok" : "ok", i + 1,
			       s->cases[i].name);
			failed += current.failures != 0;
		}
	}
	printf("%s %u %s\n", failed ? "not ok" : "ok", index, s->name);
	return failed == 0;
}

unsigned ktap_run(const struct ktap_suite *const *suites, unsigned nr,
		  bool (*selected)(const struct ktap_suite *))
{
	unsigned count = 0, index = 0, failed = 0;

	for (unsigned i = 0; i < nr; i++)
		count += selected(suites[i]);
	printf("KTAP version 1\n1..%u\n", count);
	for (unsigned i = 0; i < nr; i++)
		if (selected(suites[i]))
			failed += !run_suite(suites[i], ++index);
	return failed;
}
