/* SPDX-License-Identifier: MIT */
/* Number parsing for the command line and tests; no libc dependency. */
#include "lib/parse.h"

int digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'Z')
		return c - 'A' + 10;
	return 99;
}

/* The number in s[0, len): decimal, or hex with 0x; false on anything else or on overflow. */
static bool parse_number(const char *s, size_t len, u64 *out)
{
	unsigned base = 10;
	u64 value = 0;
	size_t i = 0;

	if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		i = 2;
	}
	if (i == len)
		return false;
	for (; i < len; i++) {
		int d = digit_value(s[i]);

		if ((unsigned)d >= base || value > (~0ULL - (u64)d) / base)
			return false;
		value = value * base + (u64)d;
	}
	*out = value;
	return true;
}

bool parse_u64(const char *s, size_t len, u64 *out)
{
	return parse_number(s, len, out);
}

/* The shift of a size suffix (K, M, G, either case), or -1. */
static int suffix_shift(char c)
{
	switch (c) {
	case 'K':
	case 'k': return 10;
	case 'M':
	case 'm': return 20;
	case 'G':
	case 'g': return 30;
	default: return -1;
	}
}

bool parse_size(const char *s, size_t len, u64 default_unit_shift, u64 *bytes)
{
	u64 n, shift = default_unit_shift;

	if (len && suffix_shift(s[len - 1]) >= 0)
		shift = (u64)suffix_shift(s[--len]);
	if (!parse_number(s, len, &n) || n > (~0ULL >> shift))
		return false;
	*bytes = n << shift;
	return true;
}
