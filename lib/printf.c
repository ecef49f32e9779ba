/* SPDX-License-Identifier: MIT */
#include "lib/printf.h"
#include "lib/spinlock.h"
#include "lib/string.h"

struct out {
	char *buf;
	size_t size;
	size_t len;
};

static void out_char(struct out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

static void out_pad(struct out *o, char c, int n)
{
	while (n-- > 0)
		out_char(o, c);
}

struct spec {
	bool left, zero, plus, space, alt;
	int width, precision;
	char length; /* 'H' hh, 'h', 'l', 'L' ll/j/z/t, 0 int */
};

static void out_number(struct out *o, const struct spec *sp, u64 value, bool negative,
		       unsigned base, bool upper)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	int n = 0, prefix_len = 0, zeros = 0, pad;
	char prefix[3];

	do {
		tmp[n++] = digits[value % base];
		value /= base;
	} while (value);
	if (sp->precision == 0 && n == 1 && tmp[0] == '0')
		n = 0;

	if (negative)
		prefix[prefix_len++] = '-';
	else if (sp->plus)
		prefix[prefix_len++] = '+';
	else if (sp->space)
		prefix[prefix_len++] = ' ';
	if (sp->alt && base == 16) {
		prefix[prefix_len++] = '0';
		prefix[prefix_len++] = upper ? 'X' : 'x';
	}

	if (sp->precision > n)
		zeros = sp->precision - n;
	pad = sp->width - prefix_len - zeros - n;
	if (sp->zero && !sp->left && sp->precision < 0) {
		zeros += pad > 0 ? pad : 0;
		pad = 0;
	}
	if (!sp->left)
		out_pad(o, ' ', pad);
	for (int i = 0; i < prefix_len; i++)
		out_char(o, prefix[i]);
	out_pad(o, '0', zeros);
	while (n)
		out_char(o, tmp[--n]);
	if (sp->left)
		out_pad(o, ' ', pad);
}

static void out_string(struct out *o, const struct spec *sp, const char *s)
{
	int len;

	if (!s)
		s = "(null)";
	len = (int)strnlen(s, sp->precision >= 0 ? (size_t)sp->precision : (size_t)-1);
	if (!sp->left)
		out_pad(o, ' ', sp->width - len);
	for (int i = 0; i < len; i++)
		out_char(o, s[i]);
	if (sp->left)
		out_pad(o, ' ', sp->width - len);
}

static const char *parse_spec(const char *fmt, struct spec *sp, va_list *ap)
{
	*sp = (struct spec){.precision = -1};
	for (;; fmt++) {
		if (*fmt == '-')
			sp->left = true;
		else if (*fmt == '0')
			sp->zero = true;
		else if (*fmt == '+')
			sp->plus = true;
		else if (*fmt == ' ')
			sp->space = true;
		else if (*fmt == '#')
			sp->alt = true;
		else
			break;
	}
	if (*fmt == '*') {
		sp->width = va_arg(*ap, int);
		if (sp->width < 0) {
			sp->left = true;
			sp->width = -sp->width;
		}
		fmt++;
	}
	while (*fmt >= '0' && *fmt <= '9')
		sp->width = sp->width * 10 + (*fmt++ - '0');
	if (*fmt == '.') {
		fmt++;
		sp->precision = 0;
		if (*fmt == '*') {
			sp->precision = va_arg(*ap, int);
			fmt++;
		}
		while (*fmt >= '0' && *fmt <= '9')
			sp->precision = sp->precision * 10 + (*fmt++ - '0');
	}
	if (fmt[0] == 'h' && fmt[1] == 'h') {
		sp->length = 'H';
		fmt += 2;
	} else if (fmt[0] == 'l' && fmt[1] == 'l') {
		sp->length = 'L';
		fmt += 2;
	} else if (*fmt == 'l' || *fmt == 'z' || *fmt == 't' || *fmt == 'j') {
		sp->length = 'L';
		fmt++;
	} else if (*fmt == 'h') {
		sp->length = 'h';
		fmt++;
	}
	return fmt;
}

static u64 arg_unsigned(const struct spec *sp, va_list *ap)
{
	switch (sp->length) {
	case 'L': return va_arg(*ap, unsigned long long);
	case 'h': return (u16)va_arg(*ap, unsigned int);
	case 'H': return (u8)va_arg(*ap, unsigned int);
	default: return va_arg(*ap, unsigned int);
	}
}

static s64 arg_signed(const struct spec *sp, va_list *ap)
{
	switch (sp->length) {
	case 'L': return va_arg(*ap, long long);
	case 'h': return (s16)va_arg(*ap, int);
	case 'H': return (int8_t)va_arg(*ap, int);
	default: return va_arg(*ap, int);
	}
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap_in)
{
	struct out o = {buf, size, 0};
	va_list ap;

	va_copy(ap, ap_in);
	while (*fmt) {
		struct spec sp;

		if (*fmt != '%') {
			out_char(&o, *fmt++);
			continue;
		}
		fmt = parse_spec(fmt + 1, &sp, &ap);
		switch (*fmt) {
		case 'd':
		case 'i': {
			s64 v = arg_signed(&sp, &ap);

			out_number(&o, &sp, v < 0 ? -(u64)v : (u64)v, v < 0, 10, false);
			break;
		}
		case 'u': out_number(&o, &sp, arg_unsigned(&sp, &ap), false, 10, false); break;
		case 'o': out_number(&o, &sp, arg_unsigned(&sp, &ap), false, 8, false); break;
		case 'x': out_number(&o, &sp, arg_unsigned(&sp, &ap), false, 16, false); break;
		case 'X': out_number(&o, &sp, arg_unsigned(&sp, &ap), false, 16, true); break;
		case 'p':
			sp.alt = true;
			out_number(&o, &sp, (uintptr_t)va_arg(ap, void *), false, 16, false);
			break;
		case 's': out_string(&o, &sp, va_arg(ap, const char *)); break;
		case 'c': out_char(&o, (char)va_arg(ap, int)); break;
		case '%': out_char(&o, '%'); break;
		case '\0': fmt--; break;
		default:
			out_char(&o, '%');
			out_char(&o, *fmt);
			break;
		}
		fmt++;
	}
	va_end(ap);
	if (size)
		buf[o.len < size ? o.len : size - 1] = '\0';
	return (int)o.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

#define MAX_CONSOLES 4

static struct console *consoles[MAX_CONSOLES];
static unsigned nr_consoles;
static struct spinlock console_lock;
static bool console_unlocked;

void console_register(struct console *con)
{
	if (nr_consoles < MAX_CONSOLES)
		consoles[nr_consoles++] = con;
}

void console_emergency(void)
{
	console_unlocked = true;
}

static void console_write(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		for (unsigned c = 0; c < nr_consoles; c++) {
			if (s[i] == '\n')
				consoles[c]->putc(consoles[c], '\r');
			consoles[c]->putc(consoles[c], s[i]);
		}
	}
}

int vprintf(const char *fmt, va_list ap)
{
	char buf[512];
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	bool locked = !console_unlocked;
	unsigned long flags = 0;

	if (locked)
		flags = spin_lock_irqsave(&console_lock);
	console_write(buf, MIN((size_t)n, sizeof(buf) - 1));
	if (locked)
		spin_unlock_irqrestore(&console_lock, flags);
	return n;
}

int printf(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vprintf(fmt, ap);
	va_end(ap);
	return n;
}

void console_puts(const char *s)
{
	printf("%s", s);
}
