/* SPDX-License-Identifier: MIT */
/*
 * The boot module under UEFI: the Linux EFI stub's convention, a load option
 * initrd=\PATH\FILE naming a file on the volume granule.efi was loaded from
 * (Linux: Documentation/admin-guide/efi-stub.rst). The other boot paths get
 * their module from the loader (DTB /chosen, PVH, Multiboot2); a UEFI
 * application has to read it itself while boot services exist.
 *
 * The file goes into EfiLoaderData pages. After ExitBootServices the memory
 * map calls those usable (efi_memmap.c), but boot_info_set_module() records
 * them as MEM_BOOT_DATA as well, and memmap_build() lets a reservation win
 * over a usable range, so the allocator never hands them out.
 *
 * Like Linux's stub, a module that cannot be loaded stops the boot: the user
 * asked for it, and a kernel running without it would only fail later (the
 * guests suite would skip, quietly) with the reason long scrolled away.
 */
#include "boot/uefi/uefi.h"
#include "kernel/cmdline.h"

/* Longest path accepted, in characters; the UEFI Shell's own limit is similar. */
#define INITRD_PATH_MAX 256
/*
 * Read in pieces: some firmware file systems fail on very large single reads;
 * Linux's stub reads 1 MiB at a time for that reason.
 */
#define READ_CHUNK MiB(1)

static EFI_GUID simple_fs_guid = SIMPLE_FILE_SYSTEM_PROTOCOL;
static EFI_GUID file_info_guid = EFI_FILE_INFO_ID;

/* The file being loaded, named as the user wrote it, for every message. */
struct initrd {
	char path[INITRD_PATH_MAX];
	EFI_FILE_HANDLE file;
	u64 size;
	EFI_PHYSICAL_ADDRESS base;
};

static EFI_STATUS initrd_fail(const struct initrd *rd, const char *what, EFI_STATUS status)
{
	efi_print("granule: initrd=%s: %s (status 0x%llx); not booting without it\n", rd->path,
		  what, (unsigned long long)status);
	return EFI_ERROR(status) ? status : EFI_LOAD_ERROR;
}

/* UEFI file names are UCS-2 with '\' as the separator (UEFI 2.x 13.5, Open()); '/' is accepted. */
static void path_to_ucs2(const char *path, CHAR16 *out)
{
	size_t i = 0;

	for (; path[i]; i++)
		out[i] = path[i] == '/' ? '\\' : (CHAR16)path[i];
	out[i] = 0;
}

/*
 * The file system of the device granule.efi came from: LoadedImage's
 * DeviceHandle carries the Simple File System protocol when that is a FAT
 * volume (UEFI 2.x 9.1, 13.4); its root directory is the base of the path.
 */
static EFI_STATUS open_file(EFI_BOOT_SERVICES *bs, EFI_HANDLE device, struct initrd *rd)
{
	EFI_SIMPLE_FILE_SYSTEM_PROTOCOL *fs;
	EFI_FILE_HANDLE root;
	CHAR16 name[INITRD_PATH_MAX];
	EFI_STATUS status;

	status = bs->HandleProtocol(device, &simple_fs_guid, (void **)&fs);
	if (EFI_ERROR(status))
		return initrd_fail(rd, "the device granule.efi was loaded from has no file system",
				   status);
	status = fs->OpenVolume(fs, &root);
	if (EFI_ERROR(status))
		return initrd_fail(rd, "cannot open the volume granule.efi was loaded from",
				   status);
	path_to_ucs2(rd->path, name);
	status = root->Open(root, &rd->file, name, EFI_FILE_MODE_READ, 0);
	root->Close(root);
	if (status == EFI_NOT_FOUND)
		return initrd_fail(rd, "no such file on the volume granule.efi was loaded from",
				   status);
	if (EFI_ERROR(status))
		return initrd_fail(rd, "cannot open the file", status);
	return EFI_SUCCESS;
}

/*
 * The size from EFI_FILE_INFO (UEFI 2.x 13.5, GetInfo()); a directory or an
 * empty file is refused.
 */
static EFI_STATUS file_size(struct initrd *rd)
{
	u64 buf[(SIZE_OF_EFI_FILE_INFO + INITRD_PATH_MAX * sizeof(CHAR16)) / sizeof(u64) + 1];
	EFI_FILE_INFO *info = (EFI_FILE_INFO *)buf;
	UINTN size = sizeof(buf);
	EFI_STATUS status;

	status = rd->file->GetInfo(rd->file, &file_info_guid, &size, info);
	if (EFI_ERROR(status))
		return initrd_fail(rd, "cannot read the file's size", status);
	if (info->Attribute & EFI_FILE_DIRECTORY)
		return initrd_fail(rd, "is a directory, not a file", EFI_INVALID_PARAMETER);
	if (!info->FileSize)
		return initrd_fail(rd, "the file is empty", EFI_INVALID_PARAMETER);
	rd->size = info->FileSize;
	return EFI_SUCCESS;
}

static EFI_STATUS read_file(struct initrd *rd)
{
	u8 *dst = (u8 *)(uintptr_t)rd->base;

	for (u64 done = 0; done < rd->size;) {
		UINTN n = MIN(rd->size - done, READ_CHUNK);
		EFI_STATUS status = rd->file->Read(rd->file, &n, dst + done);

		if (EFI_ERROR(status))
			return initrd_fail(rd, "read failed", status);
		/* Read() reports the end of the file as success with 0 bytes (UEFI 2.x 13.5). */
		if (!n)
			return initrd_fail(rd, "the file ended before its recorded size",
					   EFI_END_OF_FILE);
		done += n;
	}
	return EFI_SUCCESS;
}

static EFI_STATUS load_file(EFI_BOOT_SERVICES *bs, struct initrd *rd)
{
	UINTN pages;
	EFI_STATUS status;

	status = file_size(rd);
	if (EFI_ERROR(status))
		return status;
	pages = EFI_SIZE_TO_PAGES(rd->size);
	status = bs->AllocatePages(AllocateAnyPages, EfiLoaderData, pages, &rd->base);
	if (EFI_ERROR(status)) {
		efi_print("granule: initrd=%s: no memory for its %llu bytes (status 0x%llx); not "
			  "booting without it\n",
			  rd->path, (unsigned long long)rd->size, (unsigned long long)status);
		return status;
	}
	status = read_file(rd);
	if (EFI_ERROR(status))
		bs->FreePages(rd->base, pages);
	return status;
}

/*
 * Takes initrd= out of the command line: one file, named, and not too long.
 * Taken out rather than ignored by kernel/cmdline.c (as BOOT_IMAGE is): the
 * option means something only to this stub, and a kernel that ignored it
 * would accept initrd= on the Image, PVH and Multiboot2 paths too, where
 * nothing reads it, and boot without the module the user asked for.
 */
static EFI_STATUS take_option(struct boot_info *bi, struct initrd *rd)
{
	int n = cmdline_take(bi->cmdline, "initrd", rd->path, sizeof(rd->path));

	if (n < 0) {
		efi_print("granule: initrd=%.48s...: the path is longer than %d characters\n",
			  rd->path, INITRD_PATH_MAX - 1);
		return EFI_BAD_BUFFER_SIZE;
	}
	if (n > 1) {
		efi_print("granule: initrd= appears %d times; granule takes one boot module\n", n);
		return EFI_INVALID_PARAMETER;
	}
	if (n == 1 && !rd->path[0]) {
		efi_print("granule: initrd= names no file (initrd=\\PATH\\FILE)\n");
		return EFI_INVALID_PARAMETER;
	}
	return EFI_SUCCESS;
}

EFI_STATUS efi_load_initrd(EFI_BOOT_SERVICES *bs, EFI_HANDLE device, struct boot_info *bi)
{
	struct initrd rd = {.file = NULL};
	EFI_STATUS status;

	status = take_option(bi, &rd);
	if (EFI_ERROR(status) || !rd.path[0])
		return status;
	status = open_file(bs, device, &rd);
	if (EFI_ERROR(status))
		return status;
	status = load_file(bs, &rd);
	rd.file->Close(rd.file);
	if (EFI_ERROR(status))
		return status;
	boot_info_set_module(bi, rd.base, rd.size);
	efi_print("granule: initrd=%s: %llu bytes at 0x%llx\n", rd.path,
		  (unsigned long long)rd.size, (unsigned long long)rd.base);
	return EFI_SUCCESS;
}
