/* SPDX-License-Identifier: MIT */
/*
 * KTAP output (Documentation/dev-tools/ktap.rst): one "KTAP version 1" header,
 * a plan, and per suite a subtest block with one result line per case.
 */
#ifndef LIB_KTAP_H
#define LIB_KTAP_H

#include "lib/types.h"

struct ktap_case {
	const char *name;
	void (*run)(void);
};

struct ktap_suite {
	const char *name;
	const struct ktap_case *cases;
	unsigned nr_cases;
	/* Ends the run on purpose (the exception report): never part of test=all. */
	bool fatal;
	/* Prints a reason and returns true when the whole suite must be skipped. */
	bool (*skip)(const char **reason);
};

#define KTAP_SUITE(sym, suite_name, ...)                                                           \
	static const struct ktap_case sym##_cases[] = {__VA_ARGS__};                               \
	const struct ktap_suite sym = {                                                            \
		.name = suite_name, .cases = sym##_cases, .nr_cases = ARRAY_SIZE(sym##_cases)}
/* A suite that skips, with the reason skip_fn gives, where it cannot run. */
#define KTAP_SUITE_SKIPPABLE(sym, suite_name, skip_fn, ...)                                        \
	static const struct ktap_case sym##_cases[] = {__VA_ARGS__};                               \
	const struct ktap_suite sym = {.name = suite_name,                                         \
				       .cases = sym##_cases,                                       \
				       .nr_cases = ARRAY_SIZE(sym##_cases),                        \
				       .skip = skip_fn}
#define KTAP_CASE(fn)                                                                              \
	{                                                                                          \
#fn, fn                                                                            \
	}

/* Called from inside a case. */
void ktap_expect(bool ok, const char *file, int line, const char *expr);
void ktap_skip(const char *reason);
void ktap_diag(const char *fmt, ...) __printf(1, 2);

#define EXPECT(cond) ktap_expect(!!(cond), __FILE__, __LINE__, #cond)
#define EXPECT_EQ(a, b)                                                                            \
	do {                                                                                       \
		u64 _a = (u64)(a), _b = (u64)(b);                                                  \
		if (_a != _b)                                                                      \
			ktap_diag("%s:%d: %s == %s: 0x%llx != 0x%llx", __FILE__, __LINE__, #a, #b, \
				  (unsigned long long)_a, (unsigned long long)_b);                 \
		ktap_expect(_a == _b, __FILE__, __LINE__, #a " == " #b);                           \
	} while (0)

/* Runs the suites; returns the number of failed cases. */
unsigned ktap_run(const struct ktap_suite *const *suites, unsigned nr,
		  bool (*selected)(const struct ktap_suite *));

#endif
