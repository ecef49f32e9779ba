/* SPDX-License-Identifier: MIT */
/*
 * PL011 output only (Arm PrimeCell UART TRM DDI 0183). The firmware or QEMU
 * has configured baud rate and format; granule only waits for FIFO space.
 */
#include "drivers/pl011.h"

#define UARTDR	    0x00
#define UARTFR	    0x18
#define UARTFR_TXFF (1u << 5) /* transmit FIFO full */

static void pl011_putc(struct console *con, char c)
{
	struct pl011 *uart = container_of(con, struct pl011, con);

	while (uart->base[UARTFR / 4] & UARTFR_TXFF)
		;
	uart->base[UARTDR / 4] = (u8)c;
}

void pl011_init(struct pl011 *uart, const char *name, void *base)
{
	uart->base = base;
	uart->con.name = name;
	uart->con.putc = pl011_putc;
	uart->con.priv = uart;
}
