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

bool parse_u64(const char *s, size_t len, u64 *out)
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
		unsigned shift = 0;

		if ((unsigned)d >= base) {
			if (i + 1 != len)
				return false;
			switch (s[i]) {
			case 'K':
			case 'k': shift = 10; break;
			case 'M':
			case 'm': shift = 20; break;
			case 'G':
			case 'g': shift = 30; break;
			default: return false;
			}
			if (value > (~0ULL >> shift))
				return false;
			*out = value << shift;
			return true;
		}
		if (value > (~0ULL - (u64)d) / base)
			return false;
		value = value * base + (u64)d;
	}
	*out = value;
	return true;
}
