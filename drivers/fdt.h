/* SPDX-License-Identifier: MIT */
/*
 * Device tree glue over Debian's libfdt, in two halves: filling boot_info
 * (memory ranges, command line) and finding devices (console, GIC, PSCI, CPUs,
 * timer). Used by the arm64 Image entry and by the UEFI app on arm64. Node
 * addresses are read with the parent's #address-cells/#size-cells and are not
 * translated through "ranges" (granule's platforms put their devices at the root).
 */
#ifndef DRIVERS_FDT_H
#define DRIVERS_FDT_H

#include "boot/boot_info.h"

struct dt_reg {
	u64 base;
	u64 size;
};

/* The arm64 booting protocol's limit (Documentation/arch/arm64/booting.rst, "Setup the device
 * tree"). */
#define DT_MAX_SIZE MiB(2)
/* Bytes dt_check_header() reads (struct fdt_header, Devicetree Specification v0.4, 5.2). */
#define DT_HEADER_SIZE 40

/*
 * Checks the DT_HEADER_SIZE bytes of the header only, and that totalsize is
 * at most max_size: after it, every block lies in [fdt, fdt + totalsize).
 * Returns true when it can be used; otherwise writes which check failed.
 */
bool dt_check_header(const void *fdt, u64 max_size, char *why, size_t why_size);
/*
 * Checks the blob's header and its whole structure block (fdt_check_full),
 * reading nothing outside [fdt, fdt + totalsize).
 * Returns true when it can be used; otherwise writes which check failed.
 */
bool dt_check(const void *fdt, char *why, size_t why_size);
u64 dt_total_size(const void *fdt);

/* ---- Filling boot_info ---- */
/*
 * Adds /memory ranges (usable), /reserved-memory and /memreserve/ (reserved),
 * and the blob itself at fdt_pa (boot data). Returns false with a reason when a
 * node is malformed.
 */
bool dt_fill_memory(const void *fdt, u64 fdt_pa, struct boot_info *bi, char *why, size_t why_size);
/*
 * Records the initrd of /chosen linux,initrd-start and linux,initrd-end (one
 * or two cells each, as Linux's bindings allow) as the boot module. Returns
 * false with a reason when they are malformed; absent is fine.
 */
bool dt_fill_initrd(const void *fdt, struct boot_info *bi, char *why, size_t why_size);
/* Copies /chosen bootargs (an empty line when absent). */
void dt_fill_cmdline(const void *fdt, struct boot_info *bi);

/* ---- Finding devices ---- */
/* The index-th reg entry of a node; false when absent or malformed. */
bool dt_node_reg(const void *fdt, int node, unsigned index, struct dt_reg *out);
/* The node /chosen stdout-path names if it is compatible, else the first compatible node; <0 if
 * none. */
int dt_find_console(const void *fdt, const char *compatible);
/* The first enabled node compatible with compatible, or <0. */
int dt_find_compatible(const void *fdt, const char *compatible);

#define DT_MAX_REDIST_REGIONS 8
struct dt_gicv3 {
	struct dt_reg dist;
	struct dt_reg redist[DT_MAX_REDIST_REGIONS];
	unsigned nr_redist;
};
bool dt_find_gicv3(const void *fdt, struct dt_gicv3 *out);

/* /psci "method": "smc", "hvc", or NULL when there is no PSCI node. */
const char *dt_psci_method(const void *fdt);
/*
 * The reg (MPIDR affinity) of each enabled /cpus/cpu node in tree order, up to
 * max. Returns the number found, or ERR_INVAL with a reason when a node is malformed.
 */
int dt_cpus(const void *fdt, u64 *hwids, unsigned max, char *why, size_t why_size);
/*
 * INTID of the index-th interrupt of the arm,armv8-timer node (0 secure
 * physical, 1 non-secure physical, 2 virtual, 3 hypervisor), or -1.
 */
int dt_timer_intid(const void *fdt, unsigned index);

#endif
