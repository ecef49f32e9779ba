/* SPDX-License-Identifier: MIT */
/*
 * Just enough ACPI to find the CPUs: RSDP (ACPI 6.4 5.2.5), RSDT/XSDT (5.2.7-8) and the
 * MADT (5.2.12). Tables are read at their physical addresses, so callers run while the
 * boot identity map (or firmware's 1:1 map) is live.
 */
#ifndef DRIVERS_ACPI_H
#define DRIVERS_ACPI_H

#include "arch/arch.h"
#include "lib/types.h"

/* Scans the EBDA's first KiB and 0xe0000-0xfffff for a valid RSDP; 0 when there is none. */
u64 acpi_find_rsdp_bios(void);

struct acpi_madt_info {
	u64 lapic_base;
	u32 apic_ids[MAX_CPUS]; /* enabled (or online-capable) local APICs, in table order */
	unsigned nr_cpus;
	unsigned nr_ignored; /* enabled CPUs past MAX_CPUS */
	unsigned nr_disabled;
};

/*
 * Finds the MADT through rsdp and lists its CPUs. Returns 0, or ERR_INVAL after printing
 * what was wrong (bad checksum, no MADT, table out of reach).
 */
int acpi_parse_madt(u64 rsdp, struct acpi_madt_info *out);

#endif
