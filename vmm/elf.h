/* SPDX-License-Identifier: MIT */
/*
 * Loading a guest from a static ELF64 executable (the test guests of
 * tests/guests/, handed to the kernel as a boot module): every header field
 * the loader relies on is checked first, and a bad file is refused with one
 * message naming the check, before any byte reaches guest memory.
 */
#ifndef VMM_ELF_H
#define VMM_ELF_H

#include "lib/types.h"

struct vm;

/* ELF64 (System V gABI, "ELF Header" and "Program Header"): the fields the loader reads. */
struct elf64_ehdr {
	u8 ident[16];
	u16 type, machine;
	u32 version;
	u64 entry, phoff, shoff;
	u32 flags;
	u16 ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};

struct elf64_phdr {
	u32 type, flags;
	u64 offset, vaddr, paddr, filesz, memsz, align;
};

#define ELF_MAX_PHDRS 64

/* What a load found; why is set (a static message) when the file was refused. */
struct elf_load {
	u64 entry;
	u64 low, high; /* guest-physical extent of the loaded segments */
	const char *why;
	char detail[96]; /* why, with the numbers */
};

/*
 * Checks the ELF at [image, image + size) against vm: class, data encoding,
 * version, type, machine (this architecture's), the program header table
 * inside the file, each PT_LOAD's bytes inside the file and its memory
 * inside one RAM slot, outside [reserved, reserved + reserved_size) (what the
 * VMM keeps for itself, e.g. boot data) and not overlapping another, and the
 * entry inside an executable segment. Then copies each PT_LOAD to its
 * p_paddr and zero-fills p_memsz beyond p_filesz. Returns 0, or ERR_INVAL
 * with out->why and out->detail saying what was wrong.
 */
int vm_load_elf(struct vm *vm, const void *image, u64 size, u64 reserved, u64 reserved_size,
		struct elf_load *out);

#endif
