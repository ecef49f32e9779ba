/* SPDX-License-Identifier: MIT */
/*
 * The guest ELF loader (vmm/elf.h). References: System V gABI, "ELF Header"
 * (e_ident, e_type, e_machine) and "Program Header" (PT_LOAD, p_offset,
 * p_paddr, p_filesz <= p_memsz); the machine numbers are the gABI's registry
 * (EM_X86_64 = 62, EM_AARCH64 = 183).
 */
#include "vmm/elf.h"
#include "lib/printf.h"
#include "lib/string.h"
#include "vmm/vm.h"

#define EI_CLASS    4
#define EI_DATA	    5
#define EI_VERSION  6
#define ELFCLASS64  2
#define ELFDATA2LSB 1
#define EV_CURRENT  1
#define ET_EXEC	    2
#define PT_LOAD	    1
#define PF_X	    1
#define EM_X86_64   62
#define EM_AARCH64  183

#if defined(ARCH_x86_64)
#define EM_THIS EM_X86_64
#else
#define EM_THIS EM_AARCH64
#endif

static const u8 elf_magic[4] = {0x7f, 'E', 'L', 'F'};

/* Records why (a fixed message) and the detail with numbers; returns ERR_INVAL. */
__attribute__((format(printf, 3, 4))) static int refuse(struct elf_load *out, const char *why,
							const char *fmt, ...)
{
	va_list ap;

	out->why = why;
	va_start(ap, fmt);
	vsnprintf(out->detail, sizeof(out->detail), fmt, ap);
	va_end(ap);
	return ERR_INVAL;
}

/* Whether [offset, offset + len) lies inside a file of size bytes, without wrapping. */
static bool in_file(u64 offset, u64 len, u64 size)
{
	return offset <= size && len <= size - offset;
}

static int check_ident(const struct elf64_ehdr *eh, u64 size, struct elf_load *out)
{
	if (size < sizeof(*eh))
		return refuse(out, "file shorter than an ELF64 header", "%llu bytes", size);
	if (memcmp(eh->ident, elf_magic, sizeof(elf_magic)))
		return refuse(out, "not an ELF file", "magic %02x %02x %02x %02x", eh->ident[0],
			      eh->ident[1], eh->ident[2], eh->ident[3]);
	if (eh->ident[EI_CLASS] != ELFCLASS64)
		return refuse(out, "not a 64-bit ELF", "class %u", eh->ident[EI_CLASS]);
	if (eh->ident[EI_DATA] != ELFDATA2LSB)
		return refuse(out, "not little-endian", "data encoding %u", eh->ident[EI_DATA]);
	if (eh->ident[EI_VERSION] != EV_CURRENT || eh->version != EV_CURRENT)
		return refuse(out, "unknown ELF version", "version %u", eh->version);
	return 0;
}

static int check_header(const struct elf64_ehdr *eh, u64 size, struct elf_load *out)
{
	int rc = check_ident(eh, size, out);

	if (rc)
		return rc;
	if (eh->type != ET_EXEC)
		return refuse(out, "not an executable", "e_type %u", eh->type);
	if (eh->machine != EM_THIS)
		return refuse(out, "built for another machine", "e_machine %u, this is %u",
			      eh->machine, EM_THIS);
	if (eh->phentsize != sizeof(struct elf64_phdr))
		return refuse(out, "bad program header size", "e_phentsize %u", eh->phentsize);
	if (!eh->phnum || eh->phnum > ELF_MAX_PHDRS)
		return refuse(out, "bad program header count", "e_phnum %u (1..%u)", eh->phnum,
			      ELF_MAX_PHDRS);
	if (!in_file(eh->phoff, (u64)eh->phnum * sizeof(struct elf64_phdr), size))
		return refuse(out, "program headers outside the file", "e_phoff 0x%llx", eh->phoff);
	return 0;
}

static bool overlaps(u64 a, u64 a_len, u64 b, u64 b_len)
{
	return a < b + b_len && b < a + a_len;
}

/* One PT_LOAD: its bytes in the file, its memory in one slot and outside the reserved range. */
static int check_segment(struct vm *vm, const struct elf64_phdr *ph, unsigned i, u64 size,
			 u64 reserved, u64 reserved_size, struct elf_load *out)
{
	struct vm_slot *s = vm_find_slot(vm, ph->paddr);

	if (ph->filesz > ph->memsz)
		return refuse(out, "segment file size exceeds its memory size",
			      "segment %u: p_filesz 0x%llx > p_memsz 0x%llx", i, ph->filesz,
			      ph->memsz);
	if (!in_file(ph->offset, ph->filesz, size))
		return refuse(out, "segment bytes outside the file",
			      "segment %u: p_offset 0x%llx + 0x%llx > %llu", i, ph->offset,
			      ph->filesz, size);
	if (!ph->memsz)
		return 0;
	if (!s || ph->memsz > s->size - (ph->paddr - s->gpa))
		return refuse(out, "segment outside guest RAM", "segment %u: [0x%llx, +0x%llx)", i,
			      ph->paddr, ph->memsz);
	if (overlaps(ph->paddr, ph->memsz, reserved, reserved_size))
		return refuse(out, "segment overlaps memory the VMM reserves",
			      "segment %u at 0x%llx, reserved [0x%llx, +0x%llx)", i, ph->paddr,
			      reserved, reserved_size);
	return 0;
}

static const struct elf64_phdr *phdr(const void *image, const struct elf64_ehdr *eh, unsigned i)
{
	return (const struct elf64_phdr *)((const u8 *)image + eh->phoff) + i;
}

/* Segments against each other, and the entry point inside an executable one. */
static int check_layout(const void *image, const struct elf64_ehdr *eh, struct elf_load *out)
{
	bool entry_ok = false, any = false;

	for (unsigned i = 0; i < eh->phnum; i++) {
		const struct elf64_phdr *a = phdr(image, eh, i);

		if (a->type != PT_LOAD || !a->memsz)
			continue;
		any = true;
		entry_ok |= (a->flags & PF_X) && eh->entry >= a->paddr &&
			    eh->entry - a->paddr < a->memsz;
		for (unsigned j = i + 1; j < eh->phnum; j++) {
			const struct elf64_phdr *b = phdr(image, eh, j);

			if (b->type == PT_LOAD && overlaps(a->paddr, a->memsz, b->paddr, b->memsz))
				return refuse(out, "segments overlap", "segments %u and %u", i, j);
		}
	}
	if (!any)
		return refuse(out, "no loadable segment", "%u program headers", eh->phnum);
	if (!entry_ok)
		return refuse(out, "entry point not in an executable segment", "e_entry 0x%llx",
			      eh->entry);
	return 0;
}

static int check_all(struct vm *vm, const void *image, u64 size, u64 reserved, u64 reserved_size,
		     struct elf_load *out)
{
	const struct elf64_ehdr *eh = image;
	int rc = check_header(eh, size, out);

	for (unsigned i = 0; !rc && i < eh->phnum; i++) {
		const struct elf64_phdr *ph = phdr(image, eh, i);

		if (ph->type == PT_LOAD)
			rc = check_segment(vm, ph, i, size, reserved, reserved_size, out);
	}
	return rc ? rc : check_layout(image, eh, out);
}

/* Zeros [gpa, gpa + len) of guest memory a page at a time: a segment's .bss part. */
static int load_zeros(struct vm *vm, u64 gpa, u64 len)
{
	static const u8 zeros[PAGE_SIZE];
	int rc = 0;

	for (u64 done = 0; done < len && !rc;) {
		u64 chunk = MIN(len - done, PAGE_SIZE - ((gpa + done) & (PAGE_SIZE - 1)));

		rc = vm_load(vm, gpa + done, zeros, chunk);
		done += chunk;
	}
	return rc;
}

int vm_load_elf(struct vm *vm, const void *image, u64 size, u64 reserved, u64 reserved_size,
		struct elf_load *out)
{
	const struct elf64_ehdr *eh = image;
	int rc;

	*out = (struct elf_load){.low = ~0ULL};
	rc = check_all(vm, image, size, reserved, reserved_size, out);
	for (unsigned i = 0; !rc && i < eh->phnum; i++) {
		const struct elf64_phdr *ph = phdr(image, eh, i);

		if (ph->type != PT_LOAD || !ph->memsz)
			continue;
		rc = vm_load(vm, ph->paddr, (const u8 *)image + ph->offset, ph->filesz);
		if (!rc)
			rc = load_zeros(vm, ph->paddr + ph->filesz, ph->memsz - ph->filesz);
		out->low = MIN(out->low, ph->paddr);
		out->high = MAX(out->high, ph->paddr + ph->memsz);
	}
	if (rc && !out->why)
		return refuse(out, "loading a segment failed", "%s", err_name(rc));
	out->entry = eh->entry;
	return rc;
}
