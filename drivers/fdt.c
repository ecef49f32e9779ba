/* SPDX-License-Identifier: MIT */
#include <libfdt.h>

#include "drivers/fdt.h"
#include "lib/errno.h"
#include "lib/printf.h"

/* ---- What Debian's libfdt.a needs from a C library ---- */

/*
 * Debian builds libfdt with -fstack-protector-strong. The guard is a constant:
 * granule has no entropy this early, and the check still catches overruns.
 */
extern unsigned long __stack_chk_guard;
unsigned long __stack_chk_guard = 0x5f6772616e756c65UL;
__noreturn void __stack_chk_fail(void);
__noreturn void __stack_chk_fail(void)
{
	/* libfdt is below kernel/: report and stop without depending on it. */
	printf("granule: libfdt: stack protector tripped\n");
	for (;;)
		__asm__ volatile("" ::: "memory");
}

/* ---- Validation ---- */

/*
 * libfdt's fdt_check_header() reads only the header's fields: magic, version,
 * totalsize no smaller than the header, and each block (memory reservation
 * map, structure, strings) inside totalsize (Devicetree Specification v0.4,
 * 5.2). The size limit is the caller's (booting.rst: 2 MiB).
 */
bool dt_check_header(const void *fdt, u64 max_size, char *why, size_t why_size)
{
	int err = fdt_check_header(fdt);

	if (err) {
		snprintf(why, why_size, "header check failed: %s (magic 0x%x)", fdt_strerror(err),
			 fdt_magic(fdt));
		return false;
	}
	if (fdt_totalsize(fdt) > max_size) {
		snprintf(why, why_size,
			 "header totalsize 0x%x is larger than the 0x%llx the boot protocol allows",
			 fdt_totalsize(fdt), (unsigned long long)max_size);
		return false;
	}
	return true;
}

bool dt_check(const void *fdt, char *why, size_t why_size)
{
	int err;

	if (!dt_check_header(fdt, ~0ULL, why, why_size))
		return false;
	err = fdt_check_full(fdt, fdt_totalsize(fdt));
	if (err) {
		snprintf(why, why_size, "structure check failed: %s", fdt_strerror(err));
		return false;
	}
	return true;
}

u64 dt_total_size(const void *fdt)
{
	return fdt_totalsize(fdt);
}

/* ---- reg parsing ---- */

static u64 read_cells(const fdt32_t *cells, int n)
{
	u64 v = 0;

	for (int i = 0; i < n; i++)
		v = (v << 32) | fdt32_to_cpu(cells[i]);
	return v;
}

/* Cell counts of node's children, checked: granule handles 1 or 2 address/size cells. */
static bool child_cells(const void *fdt, int node, int *ac, int *sc)
{
	*ac = fdt_address_cells(fdt, node);
	*sc = fdt_size_cells(fdt, node);
	return *ac >= 1 && *ac <= 2 && *sc >= 0 && *sc <= 2;
}

static bool reg_entry(const void *fdt, int node, int ac, int sc, unsigned index, struct dt_reg *out,
		      int *count)
{
	int len;
	const fdt32_t *reg = fdt_getprop(fdt, node, "reg", &len);
	int entry = (ac + sc) * 4;

	*count = 0;
	if (!reg || len % entry)
		return false;
	*count = len / entry;
	if ((int)index >= *count)
		return false;
	reg += index * (unsigned)(ac + sc);
	out->base = read_cells(reg, ac);
	out->size = read_cells(reg + ac, sc);
	return true;
}

bool dt_node_reg(const void *fdt, int node, unsigned index, struct dt_reg *out)
{
	int parent = fdt_parent_offset(fdt, node), ac, sc, count;

	if (parent < 0 || !child_cells(fdt, parent, &ac, &sc))
		return false;
	return reg_entry(fdt, node, ac, sc, index, out, &count);
}

static bool node_enabled(const void *fdt, int node)
{
	const char *status = fdt_getprop(fdt, node, "status", NULL);

	return !status || !strcmp(status, "okay") || !strcmp(status, "ok");
}

/* Adds every reg entry of node as type; false (with why) on a malformed reg. */
static bool add_reg_ranges(const void *fdt, int node, int ac, int sc, enum mem_type type,
			   struct boot_info *bi, char *why, size_t why_size)
{
	struct dt_reg r;
	int count, len;

	if (!fdt_getprop(fdt, node, "reg", &len))
		return true;
	if (len % ((ac + sc) * 4)) {
		snprintf(why, why_size, "node %s: reg is %d bytes, not a multiple of %d cells",
			 fdt_get_name(fdt, node, NULL), len, ac + sc);
		return false;
	}
	for (unsigned i = 0; reg_entry(fdt, node, ac, sc, i, &r, &count); i++)
		if (r.size)
			boot_info_add_range(bi, r.base, r.size, type);
	return true;
}

bool dt_fill_memory(const void *fdt, u64 fdt_pa, struct boot_info *bi, char *why, size_t why_size)
{
	int ac, sc, node, resv;
	unsigned memory_nodes = 0;

	if (!child_cells(fdt, 0, &ac, &sc)) {
		snprintf(why, why_size, "root #address-cells/#size-cells %d/%d unsupported",
			 fdt_address_cells(fdt, 0), fdt_size_cells(fdt, 0));
		return false;
	}
	fdt_for_each_subnode(node, fdt, 0)
	{
		const char *type = fdt_getprop(fdt, node, "device_type", NULL);

		if (!type || strcmp(type, "memory") || !node_enabled(fdt, node))
			continue;
		memory_nodes++;
		if (!add_reg_ranges(fdt, node, ac, sc, MEM_USABLE, bi, why, why_size))
			return false;
	}
	if (!memory_nodes) {
		snprintf(why, why_size, "no /memory node");
		return false;
	}
	resv = fdt_path_offset(fdt, "/reserved-memory");
	if (resv >= 0) {
		if (!child_cells(fdt, resv, &ac, &sc)) {
			snprintf(why, why_size, "/reserved-memory: bad #address-cells/#size-cells");
			return false;
		}
		fdt_for_each_subnode(node, fdt, resv)
		{
			if (!add_reg_ranges(fdt, node, ac, sc, MEM_RESERVED, bi, why, why_size))
				return false;
		}
	}
	for (int i = 0; i < fdt_num_mem_rsv(fdt); i++) {
		uint64_t base, size;

		if (!fdt_get_mem_rsv(fdt, i, &base, &size) && size)
			boot_info_add_range(bi, base, size, MEM_RESERVED);
	}
	boot_info_add_range(bi, fdt_pa, fdt_totalsize(fdt), MEM_BOOT_DATA);
	return true;
}

/* A property of one or two big-endian cells (Devicetree Specification, 2.2.4). */
static bool prop_u64(const void *fdt, int node, const char *name, u64 *out, bool *present)
{
	int len = 0;
	const fdt32_t *p = fdt_getprop(fdt, node, name, &len);

	*present = p != NULL;
	if (!p)
		return true;
	if (len == 4)
		*out = fdt32_to_cpu(p[0]);
	else if (len == 8)
		*out = (u64)fdt32_to_cpu(p[0]) << 32 | fdt32_to_cpu(p[1]);
	else
		return false;
	return true;
}

bool dt_fill_initrd(const void *fdt, struct boot_info *bi, char *why, size_t why_size)
{
	int chosen = fdt_path_offset(fdt, "/chosen");
	u64 start = 0, end = 0;
	bool has_start, has_end;

	if (chosen < 0)
		return true;
	if (!prop_u64(fdt, chosen, "linux,initrd-start", &start, &has_start) ||
	    !prop_u64(fdt, chosen, "linux,initrd-end", &end, &has_end)) {
		snprintf(why, why_size, "/chosen linux,initrd-start/end are not 1 or 2 cells");
		return false;
	}
	if (has_start != has_end || end < start) {
		snprintf(why, why_size, "/chosen initrd range [0x%llx, 0x%llx) is malformed", start,
			 end);
		return false;
	}
	boot_info_set_module(bi, start, end - start);
	return true;
}

void dt_fill_cmdline(const void *fdt, struct boot_info *bi)
{
	int chosen = fdt_path_offset(fdt, "/chosen"), len = 0;
	const char *args = chosen >= 0 ? fdt_getprop(fdt, chosen, "bootargs", &len) : NULL;

	boot_info_set_cmdline(bi, args ? args : "", args ? (size_t)len : 0);
}

/* ---- Devices ---- */

int dt_find_compatible(const void *fdt, const char *compatible)
{
	int node = fdt_node_offset_by_compatible(fdt, -1, compatible);

	while (node >= 0 && !node_enabled(fdt, node))
		node = fdt_node_offset_by_compatible(fdt, node, compatible);
	return node;
}

int dt_find_console(const void *fdt, const char *compatible)
{
	int chosen = fdt_path_offset(fdt, "/chosen"), node;
	const char *path = chosen >= 0 ? fdt_getprop(fdt, chosen, "stdout-path", NULL) : NULL;

	if (path) {
		/* "path[:options]"; a path without a leading '/' is an alias. */
		const char *colon = strchr(path, ':');

		node = fdt_path_offset_namelen(fdt, path,
					       colon ? (int)(colon - path) : (int)strlen(path));
		if (node >= 0 && !fdt_node_check_compatible(fdt, node, compatible))
			return node;
	}
	return dt_find_compatible(fdt, compatible);
}

bool dt_find_gicv3(const void *fdt, struct dt_gicv3 *out)
{
	int node = dt_find_compatible(fdt, "arm,gic-v3"), len;
	const fdt32_t *regions;
	unsigned n = 1;

	if (node < 0 || !dt_node_reg(fdt, node, 0, &out->dist))
		return false;
	regions = fdt_getprop(fdt, node, "#redistributor-regions", &len);
	if (regions && len == 4)
		n = fdt32_to_cpu(*regions);
	out->nr_redist = 0;
	for (unsigned i = 0; i < n && i < DT_MAX_REDIST_REGIONS; i++) {
		if (!dt_node_reg(fdt, node, 1 + i, &out->redist[i]))
			return false;
		out->nr_redist++;
	}
	return out->nr_redist > 0;
}

const char *dt_psci_method(const void *fdt)
{
	int node = dt_find_compatible(fdt, "arm,psci-0.2");

	if (node < 0)
		node = dt_find_compatible(fdt, "arm,psci");
	return node >= 0 ? fdt_getprop(fdt, node, "method", NULL) : NULL;
}

int dt_cpus(const void *fdt, u64 *hwids, unsigned max, char *why, size_t why_size)
{
	int cpus = fdt_path_offset(fdt, "/cpus"), ac, sc, node, count;
	unsigned n = 0;
	struct dt_reg reg;

	if (cpus < 0) {
		snprintf(why, why_size, "no /cpus node");
		return ERR_INVAL;
	}
	if (!child_cells(fdt, cpus, &ac, &sc) || sc != 0) {
		snprintf(why, why_size, "/cpus: #address-cells %d / #size-cells %d unsupported",
			 fdt_address_cells(fdt, cpus), fdt_size_cells(fdt, cpus));
		return ERR_INVAL;
	}
	fdt_for_each_subnode(node, fdt, cpus)
	{
		const char *type = fdt_getprop(fdt, node, "device_type", NULL);

		if (!type || strcmp(type, "cpu") || !node_enabled(fdt, node))
			continue;
		if (!reg_entry(fdt, node, ac, sc, 0, &reg, &count)) {
			snprintf(why, why_size, "cpu node %s has no valid reg",
				 fdt_get_name(fdt, node, NULL));
			return ERR_INVAL;
		}
		if (n < max)
			hwids[n] = reg.base;
		n++;
	}
	return (int)MIN(n, max);
}

int dt_timer_intid(const void *fdt, unsigned index)
{
	int node = dt_find_compatible(fdt, "arm,armv8-timer"), len;
	const fdt32_t *irq = node >= 0 ? fdt_getprop(fdt, node, "interrupts", &len) : NULL;

	/* GIC binding: <type number flags>, type 1 = PPI whose INTID is number + 16. */
	if (!irq || len < (int)(index + 1) * 12 || fdt32_to_cpu(irq[index * 3]) != 1)
		return -1;
	return (int)fdt32_to_cpu(irq[index * 3 + 1]) + 16;
}
