/* SPDX-License-Identifier: MIT */
#include <stdarg.h>

#include "boot/boot_info.h"
#include "lib/printf.h"
#include "lib/string.h"

void boot_info_add_range(struct boot_info *bi, u64 base, u64 size, enum mem_type type)
{
	if (bi->nr_ranges == BOOT_MAX_RANGES) {
		bi->ranges_overflow = true;
		return;
	}
	bi->ranges[bi->nr_ranges++] = (struct mem_range){base, size, type};
}

void boot_info_set_cmdline(struct boot_info *bi, const char *cmdline, size_t max_len)
{
	size_t len = strnlen(cmdline, max_len);

	bi->cmdline_truncated = len >= sizeof(bi->cmdline);
	if (bi->cmdline_truncated)
		len = sizeof(bi->cmdline) - 1;
	memcpy(bi->cmdline, cmdline, len);
	bi->cmdline[len] = '\0';
}

const struct boot_info *boot_info_kernel;

void boot_info_set_module(struct boot_info *bi, u64 base, u64 size)
{
	if (!size)
		return;
	boot_info_add_range(bi, base, size, MEM_BOOT_DATA);
	if (bi->module_size)
		return;
	bi->module_base = base;
	bi->module_size = size;
}

void boot_info_input_error(struct boot_info *bi, const char *fmt, ...)
{
	va_list ap;

	/* The first refusal is the cause; later ones may only be its consequences. */
	if (bi->input_error[0])
		return;
	va_start(ap, fmt);
	vsnprintf(bi->input_error, sizeof(bi->input_error), fmt, ap);
	va_end(ap);
}
