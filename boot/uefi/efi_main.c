/* SPDX-License-Identifier: MIT */
/*
 * The UEFI application entry, one for arm64 and x86-64. GNU-EFI's crt0 has
 * already applied the image's own relocations when efi_main() runs. It gathers
 * what the kernel needs while boot services exist (command line, tables, image
 * extent, the initrd= boot module, memory map), exits boot services and enters
 * kernel_main() on the kernel's boot stack. Firmware runs with VA == PA, so no
 * address translation is needed anywhere here.
 */
#include "boot/uefi/uefi.h"
#include <efishell.h>
#include "kernel/stack.h"
#include "lib/string.h"

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *st);

#define EBS_MAX_TRIES 8

/* In .bss, hence inside the image extent that memmap_init() keeps. */
static struct boot_info uefi_boot_info;
/* Static so that the ExitBootServices retry never allocates (UEFI 2.x 7.4). */
static u64 memmap_buf[KiB(64) / sizeof(u64)];

static EFI_GUID loaded_image_guid = EFI_LOADED_IMAGE_PROTOCOL_GUID;
static EFI_GUID acpi20_guid = ACPI_20_TABLE_GUID;
static EFI_GUID acpi10_guid = ACPI_TABLE_GUID;
static EFI_GUID dtb_guid = EFI_DTB_TABLE_GUID;
static EFI_GUID shell_params_guid = EFI_SHELL_PARAMETERS_PROTOCOL_GUID;

static void *find_config_table(EFI_SYSTEM_TABLE *st, EFI_GUID *guid)
{
	for (UINTN i = 0; i < st->NumberOfTableEntries; i++) {
		EFI_CONFIGURATION_TABLE *t = &st->ConfigurationTable[i];

		if (!memcmp(&t->VendorGuid, guid, sizeof(*guid)))
			return t->VendorTable;
	}
	return NULL;
}

static void print_banner(EFI_SYSTEM_TABLE *st)
{
	char vendor[64];
	size_t n = 0;

	for (const CHAR16 *v = st->FirmwareVendor; v && *v && n + 1 < sizeof(vendor); v++)
		vendor[n++] = *v < 0x80 ? (char)*v : '?';
	vendor[n] = '\0';
	efi_print("granule: UEFI stub, firmware '%s' rev 0x%x, UEFI %u.%u\n", vendor,
		  st->FirmwareRevision, st->Hdr.Revision >> 16, st->Hdr.Revision & 0xffff);
}

/* The DTB and the ACPI RSDP come from the configuration table (UEFI 2.x 4.6). */
static void find_tables(EFI_SYSTEM_TABLE *st, struct boot_info *bi)
{
	void *rsdp = find_config_table(st, &acpi20_guid);
	void *fdt = find_config_table(st, &dtb_guid);

	if (!rsdp)
		rsdp = find_config_table(st, &acpi10_guid);
	bi->acpi_rsdp = (uintptr_t)rsdp;
	bi->fdt = (uintptr_t)fdt;
	efi_print("granule: ACPI RSDP 0x%llx, DTB 0x%llx\n", (unsigned long long)bi->acpi_rsdp,
		  (unsigned long long)bi->fdt);
}

static bool in_image(const struct boot_info *bi, const void *start, size_t size)
{
	uintptr_t p = (uintptr_t)start;

	return p >= bi->image_start && p + size <= bi->image_end;
}

/*
 * Started from the UEFI Shell, the image handle carries the shell's parsed
 * arguments (UEFI Shell 2.2, 2.3); otherwise the load options are the
 * command line as the boot entry gave it (UEFI 2.x 3.1.3).
 */
static EFI_STATUS read_cmdline(EFI_HANDLE image, EFI_BOOT_SERVICES *bs, EFI_LOADED_IMAGE *li,
			       struct boot_info *bi)
{
	EFI_SHELL_PARAMETERS_PROTOCOL *shell;
	int err;

	if (!EFI_ERROR(bs->HandleProtocol(image, &shell_params_guid, (void **)&shell)))
		err = efi_shell_args_to_cmdline(shell->Argv, shell->Argc, bi->cmdline,
						sizeof(bi->cmdline));
	else
		err = efi_load_options_to_cmdline(li->LoadOptions, li->LoadOptionsSize, bi->cmdline,
						  sizeof(bi->cmdline));
	if (err)
		return EFI_INVALID_PARAMETER;
	efi_print("granule: command line '%s'\n", bi->cmdline);
	return EFI_SUCCESS;
}

static EFI_STATUS read_loaded_image(EFI_HANDLE image, EFI_BOOT_SERVICES *bs, struct boot_info *bi,
				    EFI_LOADED_IMAGE **out)
{
	EFI_LOADED_IMAGE *li;
	EFI_STATUS status;

	status = bs->HandleProtocol(image, &loaded_image_guid, (void **)&li);
	if (EFI_ERROR(status)) {
		efi_print("granule: no loaded image protocol on our own handle (status 0x%llx)\n",
			  (unsigned long long)status);
		return status;
	}
	bi->image_start = (uintptr_t)li->ImageBase;
	bi->image_end = bi->image_start + li->ImageSize;
	efi_print("granule: image at 0x%llx-0x%llx\n", (unsigned long long)bi->image_start,
		  (unsigned long long)bi->image_end - 1);
	/*
	 * The kernel keeps only [image_start, image_end): boot_info and the boot
	 * stack must be inside, which fails if the PE left out .bss.
	 */
	if (!in_image(bi, bi, sizeof(*bi)) || !in_image(bi, boot_stack, sizeof(boot_stack))) {
		efi_print("granule: .bss lies outside the loaded image: granule.efi is "
			  "mislinked\n");
		return EFI_LOAD_ERROR;
	}
	*out = li;
	return read_cmdline(image, bs, li, bi);
}

/*
 * ExitBootServices fails with EFI_INVALID_PARAMETER when the map changed after
 * GetMemoryMap (an event callback may allocate). Only GetMemoryMap and
 * ExitBootServices may be called then, so retry the pair with nothing in
 * between (UEFI 2.x 7.4, ExitBootServices()).
 */
static EFI_STATUS exit_boot_services(EFI_HANDLE image, EFI_BOOT_SERVICES *bs, UINTN *map_size,
				     UINTN *desc_size)
{
	EFI_STATUS status = EFI_INVALID_PARAMETER;

	for (int i = 0; i < EBS_MAX_TRIES && status == EFI_INVALID_PARAMETER; i++) {
		UINTN key;
		UINT32 version;

		*map_size = sizeof(memmap_buf);
		status = bs->GetMemoryMap(map_size, (EFI_MEMORY_DESCRIPTOR *)memmap_buf, &key,
					  desc_size, &version);
		if (EFI_ERROR(status))
			return status;
		status = bs->ExitBootServices(image, key);
	}
	return status;
}

/* A first map only to report its size and fail early, while printing still works. */
static EFI_STATUS check_memory_map(EFI_BOOT_SERVICES *bs)
{
	UINTN size = sizeof(memmap_buf), key, desc_size;
	UINT32 version;
	EFI_STATUS status;

	status = bs->GetMemoryMap(&size, (EFI_MEMORY_DESCRIPTOR *)memmap_buf, &key, &desc_size,
				  &version);
	if (status == EFI_BUFFER_TOO_SMALL) {
		efi_print("granule: UEFI memory map needs %llu bytes, the stub has %zu\n",
			  (unsigned long long)size, sizeof(memmap_buf));
		return status;
	}
	if (EFI_ERROR(status)) {
		efi_print("granule: GetMemoryMap failed (status 0x%llx)\n",
			  (unsigned long long)status);
		return status;
	}
	/* DescriptorSize below the 1.0 descriptor cannot be stepped through (UEFI 2.x 7.2). */
	if (desc_size < sizeof(EFI_MEMORY_DESCRIPTOR) || size > sizeof(memmap_buf)) {
		efi_print("granule: UEFI memory map is malformed: %llu bytes of %llu-byte "
			  "descriptors\n",
			  (unsigned long long)size, (unsigned long long)desc_size);
		return EFI_COMPROMISED_DATA;
	}
	efi_print("granule: memory map: %llu descriptors of %llu bytes\n",
		  (unsigned long long)(size / desc_size), (unsigned long long)desc_size);
	return EFI_SUCCESS;
}

static EFI_STATUS gather(EFI_HANDLE image, EFI_SYSTEM_TABLE *st, struct boot_info *bi)
{
	EFI_BOOT_SERVICES *bs = st->BootServices;
	EFI_LOADED_IMAGE *li;
	EFI_STATUS status;

	/* The boot manager arms a 5 minute watchdog before starting us (UEFI 2.x 3.1.2). */
	bs->SetWatchdogTimer(0, 0, 0, NULL);
	status = read_loaded_image(image, bs, bi, &li);
	if (EFI_ERROR(status))
		return status;
	find_tables(st, bi);
	status = uefi_arch_prepare(bs, bi);
	if (EFI_ERROR(status))
		return status;
	/* After the cheap checks: a bad DTB is reported before a long read. */
	status = efi_load_initrd(bs, li->DeviceHandle, bi);
	if (EFI_ERROR(status))
		return status;
	return check_memory_map(bs);
}

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *st)
{
	struct boot_info *bi = &uefi_boot_info;
	UINTN map_size, desc_size;
	EFI_STATUS status;

	efi_con_init(st);
	print_banner(st);
	status = gather(image, st, bi);
	if (EFI_ERROR(status)) {
		/*
		 * Back to the firmware with the status; the exit line is the one
		 * every granule run ends with, which scripts and the test runner read.
		 */
		efi_print("granule: UEFI stub giving up (status 0x%llx)\n",
			  (unsigned long long)status);
		efi_print("granule: exit 1\n");
		return status;
	}
	efi_print("granule: exiting boot services\n");
	efi_con_init(NULL);
	status = exit_boot_services(image, st->BootServices, &map_size, &desc_size);
	if (EFI_ERROR(status)) {
		/* Boot services may be half gone: no console left, only the status. */
		return status;
	}

	uefi_arch_handoff(bi);
	efi_memmap_to_boot_info(bi, memmap_buf, map_size, desc_size);
	bi->protocol = BOOT_UEFI;
	/* Boot services left every RAM page identity mapped (UEFI 2.x 2.3.4, 2.3.6). */
	bi->identity_limit = ~0ULL;
	uefi_call_on_stack(kernel_main, bi, boot_stack + STACK_GUARD_SIZE + STACK_SIZE);
}
