/* SPDX-License-Identifier: MIT */
/*
 * strtoul for libfdt (overlay fixups and alias indices use it): no sign, no
 * locale, no errno. Not in the host test build, where libc provides it.
 */
#include "lib/parse.h"

unsigned long strtoul(const char *s, char **end, int base);

unsigned long strtoul(const char *s, char **end, int base)
{
	unsigned long v = 0;

	while (*s == ' ' || *s == '\t')
		s++;
	if ((base == 0 || base == 16) && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') &&
	    digit_value(s[2]) < 16) {
		s += 2;
		base = 16;
	} else if (base == 0) {
		base = s[0] == '0' ? 8 : 10;
	}
	while (digit_value(*s) < base)
		v = v * (unsigned long)base + (unsigned long)digit_value(*s++);
	if (end)
		*end = (char *)s;
	return v;
}
