/* SPDX-License-Identifier: MIT */
#ifndef LIB_PARSE_H
#define LIB_PARSE_H

#include "lib/types.h"

/*
 * Parses len bytes of s as an unsigned number: decimal, or hex with 0x, with an
 * optional K/M/G suffix. Returns false on anything else or on overflow.
 */
bool parse_u64(const char *s, size_t len, u64 *out);
/* A character's value as a digit in bases up to 36; 99 for anything else. */
int digit_value(char c);

#endif
