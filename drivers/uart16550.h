/* SPDX-License-Identifier: MIT */
/* A polled 16550 UART on x86 I/O ports (COM1 at 0x3f8). */
#ifndef DRIVERS_UART16550_H
#define DRIVERS_UART16550_H

#include "lib/types.h"

/* Programs 115200 8N1, interrupts off, and registers the port as a console. */
void uart16550_init(u16 port);

/* Waits (bounded) until every byte written has left the transmitter. */
void uart16550_flush(void);

#endif
