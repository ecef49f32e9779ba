/* SPDX-License-Identifier: MIT */
#ifndef LIB_PRINTF_H
#define LIB_PRINTF_H

#include <stdarg.h>

#include "lib/types.h"

/*
 * Formatted output. Supports %d %i %u %x %X %o %p %s %c %% with the flags
 * '-', '0', ' ', '+', '#', a width and precision (also '*'), and the length
 * modifiers hh h l ll z t j.
 */
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) __printf(3, 4);

/* Console output: every byte goes to each registered console. */
int printf(const char *fmt, ...) __printf(1, 2);
int vprintf(const char *fmt, va_list ap);
void console_puts(const char *s);

struct console {
	const char *name;
	void (*putc)(struct console *con, char c);
	void *priv;
};

void console_register(struct console *con);
/* Bypasses the console lock; for the panic path after other CPUs stopped. */
void console_emergency(void);

#endif
