/* SPDX-License-Identifier: MIT */
#ifndef TESTS_KERNEL_SUITES_H
#define TESTS_KERNEL_SUITES_H

#include "kernel/cmdline.h"

/* Runs the suites the options select; returns the number of failed suites. */
unsigned kernel_tests_run(const struct kernel_options *opts);

#endif
