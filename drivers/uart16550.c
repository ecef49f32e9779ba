/* SPDX-License-Identifier: MIT */
#include "drivers/uart16550.h"
#include "arch/x86_64/x86.h"
#include "lib/printf.h"

/* Register offsets (with DLAB clear unless noted), as in the PC16550D data sheet. */
#define UART_THR	 0 /* transmit holding */
#define UART_DLL	 0 /* divisor latch low, DLAB = 1 */
#define UART_IER	 1
#define UART_DLM	 1 /* divisor latch high, DLAB = 1 */
#define UART_FCR	 2
#define UART_LCR	 3
#define UART_MCR	 4
#define UART_LSR	 5
#define LCR_8N1		 0x03
#define LCR_DLAB	 0x80
#define FCR_ENABLE_CLEAR 0x07
#define MCR_DTR_RTS	 0x03
#define LSR_THRE	 0x20
#define LSR_TEMT	 0x40 /* transmitter and FIFO empty */
/* A missing UART reads 0xff (THRE set), so this bound only matters for a stuck one. */
#define UART_SPIN_LIMIT 100000

static u16 uart_port;

static void uart_putc(struct console *con, char c)
{
	(void)con;
	for (unsigned i = 0; i < UART_SPIN_LIMIT; i++)
		if (inb(uart_port + UART_LSR) & LSR_THRE)
			break;
	outb(uart_port + UART_THR, (u8)c);
}

static struct console uart_console = {.name = "uart16550", .putc = uart_putc};

void uart16550_init(u16 port)
{
	uart_port = port;
	outb(port + UART_IER, 0);
	outb(port + UART_LCR, LCR_DLAB);
	outb(port + UART_DLL, 1); /* 115200 = 1.8432 MHz / 16 / 1 */
	outb(port + UART_DLM, 0);
	outb(port + UART_LCR, LCR_8N1);
	outb(port + UART_FCR, FCR_ENABLE_CLEAR);
	outb(port + UART_MCR, MCR_DTR_RTS);
	console_register(&uart_console);
}

void uart16550_flush(void)
{
	if (!uart_port)
		return;
	for (unsigned i = 0; i < UART_SPIN_LIMIT; i++)
		if (inb(uart_port + UART_LSR) & LSR_TEMT)
			return;
}
