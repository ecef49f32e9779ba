/* SPDX-License-Identifier: MIT */
#ifndef DRIVERS_PL011_H
#define DRIVERS_PL011_H

#include "lib/printf.h"
#include "lib/types.h"

/* A PL011 UART as a console; base is its mapped register block. */
struct pl011 {
	struct console con;
	volatile u32 *base;
};

/* Sets up the console structure for the UART at base (left as firmware configured it). */
void pl011_init(struct pl011 *uart, const char *name, void *base);

#endif
