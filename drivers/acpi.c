/* SPDX-License-Identifier: MIT */
#include "drivers/acpi.h"
#include "lib/errno.h"
#include "lib/printf.h"
#include "lib/string.h"

/* Tables are read through the boot identity map: nothing at or above this is reachable. */
#define ACPI_REACH GiB(4)

struct acpi_rsdp {
	char signature[8]; /* "RSD PTR " */
	u8 checksum;	   /* over the first 20 bytes */
	char oem_id[6];
	u8 revision; /* 0 = ACPI 1.0 (RSDT only), 2 = XSDT present */
	u32 rsdt_address;
	u32 length; /* revision >= 2 from here */
	u64 xsdt_address;
	u8 extended_checksum; /* over length bytes */
	u8 reserved[3];
} __packed;

struct acpi_header {
	char signature[4];
	u32 length;
	u8 revision;
	u8 checksum;
	char oem_id[6];
	char oem_table_id[8];
	u32 oem_revision;
	u32 creator_id;
	u32 creator_revision;
} __packed;

struct acpi_madt {
	struct acpi_header h;
	u32 lapic_address;
	u32 flags;
} __packed;

#define MADT_LOCAL_APIC	    0
#define MADT_LAPIC_OVERRIDE 5
#define MADT_LOCAL_X2APIC   9
#define MADT_ENABLED	    BIT(0)
#define MADT_ONLINE_CAPABLE BIT(1)

static u8 checksum(const void *p, size_t len)
{
	const u8 *b = p;
	u8 sum = 0;

	while (len--)
		sum += *b++;
	return sum;
}

static bool rsdp_valid(const struct acpi_rsdp *r)
{
	if (memcmp(r->signature, "RSD PTR ", 8) || checksum(r, 20))
		return false;
	return r->revision < 2 || (r->length >= sizeof(*r) && !checksum(r, r->length));
}

static u64 scan_for_rsdp(u64 start, u64 len)
{
	for (u64 pa = start; pa + sizeof(struct acpi_rsdp) <= start + len; pa += 16)
		if (rsdp_valid((const void *)(uintptr_t)pa))
			return pa;
	return 0;
}

/* A pointer to low physical memory that gcc does not treat as a null-page access. */
static const void *low_phys(u64 pa)
{
	__asm__("" : "+r"(pa));
	return (const void *)(uintptr_t)pa;
}

u64 acpi_find_rsdp_bios(void)
{
	/* ACPI 6.4 5.2.5.1: the EBDA segment is the 16-bit word at 0x40e. */
	u64 ebda = (u64) * (const volatile u16 *)low_phys(0x40e) << 4;
	u64 found = 0;

	if (ebda >= 0x80000 && ebda < 0xa0000)
		found = scan_for_rsdp(ebda, 1024);
	return found ? found : scan_for_rsdp(0xe0000, 0x20000);
}

static const struct acpi_header *table_at(u64 pa, const char *what)
{
	const struct acpi_header *h = (const void *)(uintptr_t)pa;

	if (!pa || pa + sizeof(*h) > ACPI_REACH || pa + h->length > ACPI_REACH) {
		printf("acpi: %s at 0x%llx is outside the first 4 GiB; ignored\n", what,
		       (unsigned long long)pa);
		return NULL;
	}
	if (h->length < sizeof(*h) || checksum(h, h->length)) {
		printf("acpi: %s at 0x%llx ('%.4s', %u bytes) has a bad length or checksum\n", what,
		       (unsigned long long)pa, h->signature, h->length);
		return NULL;
	}
	return h;
}

/* Returns the table with signature sig listed in the RSDT (4-byte entries) or XSDT (8-byte). */
static const struct acpi_header *find_table(const struct acpi_rsdp *rsdp, const char *sig)
{
	bool xsdt = rsdp->revision >= 2 && rsdp->xsdt_address;
	const struct acpi_header *root =
		table_at(xsdt ? rsdp->xsdt_address : rsdp->rsdt_address, xsdt ? "XSDT" : "RSDT");
	unsigned entry_size = xsdt ? 8 : 4;

	if (!root)
		return NULL;
	const u8 *entries = (const u8 *)(root + 1);
	unsigned n = (root->length - sizeof(*root)) / entry_size;

	for (unsigned i = 0; i < n; i++) {
		u64 pa = 0;

		memcpy(&pa, entries + i * entry_size, entry_size);
		const struct acpi_header *h = (const void *)(uintptr_t)pa;

		if (pa && pa + sizeof(*h) <= ACPI_REACH && !memcmp(h->signature, sig, 4))
			return table_at(pa, sig);
	}
	printf("acpi: no %s table in the %s\n", sig, xsdt ? "XSDT" : "RSDT");
	return NULL;
}

static void madt_add_cpu(struct acpi_madt_info *out, u32 apic_id, u32 flags)
{
	if (!(flags & (MADT_ENABLED | MADT_ONLINE_CAPABLE))) {
		out->nr_disabled++;
		return;
	}
	if (out->nr_cpus == MAX_CPUS) {
		out->nr_ignored++;
		return;
	}
	out->apic_ids[out->nr_cpus++] = apic_id;
}

int acpi_parse_madt(u64 rsdp_pa, struct acpi_madt_info *out)
{
	const struct acpi_rsdp *rsdp = (const void *)(uintptr_t)rsdp_pa;

	memset(out, 0, sizeof(*out));
	if (!rsdp_pa) {
		printf("acpi: no RSDP (the loader gave none and the BIOS areas hold none)\n");
		return ERR_INVAL;
	}
	if (rsdp_pa + sizeof(*rsdp) > ACPI_REACH || !rsdp_valid(rsdp)) {
		printf("acpi: RSDP at 0x%llx has a bad signature or checksum\n",
		       (unsigned long long)rsdp_pa);
		return ERR_INVAL;
	}
	const struct acpi_madt *madt = (const void *)find_table(rsdp, "APIC");

	if (!madt || madt->h.length < sizeof(*madt)) {
		printf("acpi: %s\n", madt ? "the MADT is shorter than its header" : "no MADT");
		return ERR_INVAL;
	}
	out->lapic_base = madt->lapic_address;
	const u8 *p = (const u8 *)(madt + 1);
	const u8 *end = (const u8 *)madt + madt->h.length;

	while (p + 2 <= end) {
		u8 type = p[0], len = p[1];

		if (len < 2 || p + len > end) {
			printf("acpi: MADT entry of type %u at offset %u has a bad length %u\n",
			       type, (unsigned)(p - (const u8 *)madt), len);
			return ERR_INVAL;
		}
		if (type == MADT_LOCAL_APIC && len >= 8)
			madt_add_cpu(out, p[3], *(const u32 *)(p + 4));
		else if (type == MADT_LOCAL_X2APIC && len >= 16)
			madt_add_cpu(out, *(const u32 *)(p + 4), *(const u32 *)(p + 8));
		else if (type == MADT_LAPIC_OVERRIDE && len >= 12)
			memcpy(&out->lapic_base, p + 4, 8);
		p += len;
	}
	return 0;
}
