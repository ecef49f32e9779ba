/* SPDX-License-Identifier: MIT */
#include <stdarg.h>

#include "arch/arch.h"
#include "kernel/smp.h"
#include "lib/panic.h"
#include "lib/printf.h"

__noreturn void kernel_exit(int status)
{
	/* The runner reads this line; emulator exit codes are only a second opinion. */
	printf("granule: exit %d\n", status);
	arch_exit(status);
}

static __noreturn void die(int status, const char *prefix, const char *fmt, va_list ap)
{
	char buf[256];

	arch_irq_save();
	smp_stop_others();
	console_emergency();
	vsnprintf(buf, sizeof(buf), fmt, ap);
	printf("granule: %s: %s\n", prefix, buf);
	kernel_exit(status);
}

__noreturn void panic(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	die(2, "PANIC", fmt, ap);
}

__noreturn void boot_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	die(1, "boot failed", fmt, ap);
}
