/* SPDX-License-Identifier: MIT */
#ifndef LIB_PARSE_H
#define LIB_PARSE_H

#include "lib/types.h"

/*
 * Parses len bytes of s as an unsigned number: decimal, or hex with 0x.
 * Returns false on anything else (a unit suffix included) or on overflow.
 */
bool parse_u64(const char *s, size_t len, u64 *out);
/*
 * Parses len bytes of s as a size: a number as parse_u64 takes, then an
 * optional K, M or G (binary units, either case); without one the number counts
 * units of 1 << default_unit_shift bytes. *bytes gets the size in bytes; false
 * on any other suffix or on overflow.
 */
bool parse_size(const char *s, size_t len, u64 default_unit_shift, u64 *bytes);
/* A character's value as a digit in bases up to 36; 99 for anything else. */
int digit_value(char c);

#endif
