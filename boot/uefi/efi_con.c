/* SPDX-License-Identifier: MIT */
/* Text output through ConOut and the load-options command line. */
#include <stdarg.h>

#include "boot/uefi/uefi.h"
#include "lib/errno.h"
#include "lib/printf.h"

static SIMPLE_TEXT_OUTPUT_INTERFACE *con_out;

void efi_con_init(EFI_SYSTEM_TABLE *st)
{
	con_out = st ? st->ConOut : NULL;
}

/* OutputString takes UCS-2 and moves the cursor only on "\r\n" (UEFI 2.x 12.4). */
static void con_write(const char *s)
{
	CHAR16 buf[128];
	size_t n = 0;

	if (!con_out)
		return;
	for (; *s; s++) {
		if (n + 3 > ARRAY_SIZE(buf)) {
			buf[n] = 0;
			con_out->OutputString(con_out, buf);
			n = 0;
		}
		if (*s == '\n')
			buf[n++] = '\r';
		buf[n++] = (u8)*s;
	}
	buf[n] = 0;
	con_out->OutputString(con_out, buf);
}

void efi_print(const char *fmt, ...)
{
	/* Room for a message naming a path of up to 255 characters (efi_initrd.c). */
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	con_write(buf);
}

static bool is_space(CHAR16 c)
{
	return c == ' ' || c == '\t';
}

/* The UEFI Shell (in LoadOptions) and some loaders put the image path before the options. */
static bool is_image_path(const CHAR16 *s, u32 len)
{
	static const char ext[] = ".efi";
	u32 end = 0;

	while (end < len && !is_space(s[end]))
		end++;
	if (end < sizeof(ext) - 1)
		return false;
	for (u32 i = 0; i < sizeof(ext) - 1; i++) {
		CHAR16 c = s[end - (sizeof(ext) - 1) + i];

		if ((c | 0x20) != ext[i])
			return false;
	}
	return true;
}

/*
 * Appends len UCS-2 characters to out; only printable ASCII is accepted.
 * Returns 0, ERR_INVAL for another character or ERR_RANGE when out is full.
 */
static int append_ascii(char *out, size_t out_size, size_t *n, const CHAR16 *s, u32 len)
{
	for (u32 i = 0; i < len; i++) {
		CHAR16 c = is_space(s[i]) ? ' ' : s[i];

		if (c < 0x20 || c > 0x7e) {
			efi_print("granule: UEFI command line: character U+%04X is not printable "
				  "ASCII; the command line must be plain ASCII\n",
				  c);
			return ERR_INVAL;
		}
		if (*n + 1 >= out_size) {
			efi_print("granule: UEFI command line longer than %zu bytes\n",
				  out_size - 1);
			return ERR_RANGE;
		}
		out[(*n)++] = (char)c;
	}
	out[*n] = '\0';
	return 0;
}

static u32 ucs2_len(const CHAR16 *s, u32 max)
{
	u32 len = 0;

	while (len < max && s[len])
		len++;
	return len;
}

int efi_load_options_to_cmdline(const CHAR16 *opts, u32 size_bytes, char *out, size_t out_size)
{
	u32 len = opts ? ucs2_len(opts, size_bytes / sizeof(CHAR16)) : 0, i = 0;
	size_t n = 0;
	int rc;

	out[0] = '\0';
	if (len && is_image_path(opts, len)) {
		while (i < len && !is_space(opts[i]))
			i++;
	}
	while (i < len && is_space(opts[i]))
		i++;
	rc = append_ascii(out, out_size, &n, opts + i, len - i);
	if (rc)
		return rc;
	while (n && out[n - 1] == ' ')
		out[--n] = '\0';
	return 0;
}

int efi_shell_args_to_cmdline(CHAR16 **argv, UINTN argc, char *out, size_t out_size)
{
	size_t n = 0;
	static const CHAR16 space = ' ';
	int rc = 0;

	out[0] = '\0';
	/* argv[0] is the image as typed; the options follow. */
	for (UINTN i = 1; i < argc && !rc; i++) {
		if (i > 1)
			rc = append_ascii(out, out_size, &n, &space, 1);
		if (!rc)
			rc = append_ascii(out, out_size, &n, argv[i], ucs2_len(argv[i], ~0U));
	}
	return rc;
}
