/* SPDX-License-Identifier: MIT */
/*
 * The guest ELF loader (vmm/elf.h) on bad input: a minimal valid executable
 * loads; each single damage to it is refused with the message naming that
 * check, and nothing reaches guest memory.
 */
#include "lib/ktap.h"
#include "lib/string.h"
#include "vmm/elf.h"
#include "vmm/vm.h"
#include "tests/kernel/vm_tests.h"

#define RESERVED   MiB(2) /* what the VMM keeps at the start of RAM for boot data */
#define SLOT_SIZE  MiB(4)
#define CODE_BYTES 64

/* One ELF header, two program headers (a PT_LOAD of code, a PT_NOTE), then the code. */
struct test_elf {
	struct elf64_ehdr eh;
	struct elf64_phdr ph[2];
	u8 code[CODE_BYTES];
};

#if defined(ARCH_x86_64)
#define MACHINE 62
#else
#define MACHINE 183
#endif

static struct vm elf_vm;
static struct test_elf elf;

static void valid_elf(struct test_elf *e)
{
	u64 load = RAM_BASE + RESERVED;

	*e = (struct test_elf){0};
	memcpy(e->eh.ident,
	       "\x7f"
	       "ELF\x02\x01\x01",
	       7);
	e->eh.type = 2;
	e->eh.machine = MACHINE;
	e->eh.version = 1;
	e->eh.entry = load;
	e->eh.phoff = __builtin_offsetof(struct test_elf, ph);
	e->eh.ehsize = sizeof(e->eh);
	e->eh.phentsize = sizeof(struct elf64_phdr);
	e->eh.phnum = 2;
	e->ph[0] = (struct elf64_phdr){.type = 1,
				       .flags = 5,
				       .offset = __builtin_offsetof(struct test_elf, code),
				       .vaddr = load,
				       .paddr = load,
				       .filesz = CODE_BYTES,
				       .memsz = 2 * PAGE_SIZE,
				       .align = PAGE_SIZE};
	e->ph[1] = (struct elf64_phdr){.type = 4};
	for (unsigned i = 0; i < CODE_BYTES; i++)
		e->code[i] = (u8)(i + 1);
}

struct damage {
	const char *why; /* the message vm_load_elf() must give */
	void (*apply)(struct test_elf *e, u64 *size);
};

#define DAMAGE(name, stmt)                                                                         \
	static void damage_##name(struct test_elf *e, u64 *size)                                   \
	{                                                                                          \
		(void)e;                                                                           \
		(void)size;                                                                        \
		stmt;                                                                              \
	}
DAMAGE(short, *size = 20)
DAMAGE(magic, e->eh.ident[1] = 'X')
DAMAGE(class, e->eh.ident[4] = 1)
DAMAGE(endian, e->eh.ident[5] = 2)
DAMAGE(version, e->eh.version = 2)
DAMAGE(type, e->eh.type = 3)
DAMAGE(machine, e->eh.machine = MACHINE == 62 ? 183 : 62)
DAMAGE(phentsize, e->eh.phentsize = 32)
DAMAGE(phnum, e->eh.phnum = 0)
DAMAGE(phoff, e->eh.phoff = ~0ULL - 8)
DAMAGE(filesz, e->ph[0].filesz = 3 * PAGE_SIZE)
DAMAGE(offset, e->ph[0].offset = sizeof(*e) - 8)
DAMAGE(outside, e->ph[0].paddr = RAM_BASE + SLOT_SIZE - PAGE_SIZE)
DAMAGE(reserved, e->ph[0].paddr = RAM_BASE + RESERVED - PAGE_SIZE)
DAMAGE(overlap, e->ph[1] = e->ph[0]; e->ph[1].paddr += PAGE_SIZE; e->ph[1].flags = 6)
DAMAGE(entry, e->eh.entry = RAM_BASE + RESERVED + 2 * PAGE_SIZE)
DAMAGE(noload, e->ph[0].type = 4)
DAMAGE(noexec, e->ph[0].flags = 6)

static const struct damage damages[] = {
	{"file shorter than an ELF64 header", damage_short},
	{"not an ELF file", damage_magic},
	{"not a 64-bit ELF", damage_class},
	{"not little-endian", damage_endian},
	{"unknown ELF version", damage_version},
	{"not an executable", damage_type},
	{"built for another machine", damage_machine},
	{"bad program header size", damage_phentsize},
	{"bad program header count", damage_phnum},
	{"program headers outside the file", damage_phoff},
	{"segment file size exceeds its memory size", damage_filesz},
	{"segment bytes outside the file", damage_offset},
	{"segment outside guest RAM", damage_outside},
	{"segment overlaps memory the VMM reserves", damage_reserved},
	{"segments overlap", damage_overlap},
	{"entry point not in an executable segment", damage_entry},
	{"no loadable segment", damage_noload},
	{"entry point not in an executable segment", damage_noexec},
};

static bool elf_vm_ready(void)
{
	int rc = vm_create(&elf_vm, 0);

	if (!rc)
		rc = vm_add_slot(&elf_vm, RAM_BASE, SLOT_SIZE);
	EXPECT_EQ(rc, 0);
	if (rc && elf_vm.nr_slots)
		vm_destroy(&elf_vm);
	return !rc;
}

static void test_valid_elf_loads(void)
{
	struct elf_load out;
	const u8 *at;

	if (!elf_vm_ready())
		return;
	valid_elf(&elf);
	EXPECT_EQ(vm_load_elf(&elf_vm, &elf, sizeof(elf), RAM_BASE, RESERVED, &out), 0);
	EXPECT(out.why == NULL);
	EXPECT_EQ(out.entry, RAM_BASE + RESERVED);
	EXPECT_EQ(out.low, RAM_BASE + RESERVED);
	EXPECT_EQ(out.high, RAM_BASE + RESERVED + 2 * PAGE_SIZE);
	at = vm_page_fill(&elf_vm, RAM_BASE + RESERVED);
	EXPECT(at && !memcmp(at, elf.code, CODE_BYTES) && at[CODE_BYTES] == 0);
	/* The .bss part: its second page is loaded as zeros, not left to the source. */
	EXPECT(vm_page_present(&elf_vm, RAM_BASE + RESERVED + PAGE_SIZE));
	vm_destroy(&elf_vm);
}

static void test_bad_elf_each_refused_with_its_message(void)
{
	for (unsigned i = 0; i < ARRAY_SIZE(damages); i++) {
		struct elf_load out;
		u64 size = sizeof(elf);
		int rc;

		if (!elf_vm_ready())
			return;
		valid_elf(&elf);
		damages[i].apply(&elf, &size);
		rc = vm_load_elf(&elf_vm, &elf, size, RAM_BASE, RESERVED, &out);
		EXPECT_EQ(rc, ERR_INVAL);
		if (!out.why || strcmp(out.why, damages[i].why))
			ktap_diag("damage %u: '%s' (%s), expected '%s'", i,
				  out.why ? out.why : "accepted", out.detail, damages[i].why);
		else
			ktap_diag("refused: %s (%s)", out.why, out.detail);
		EXPECT(out.why && !strcmp(out.why, damages[i].why));
		/* Checked before loading: no page of the slot was filled. */
		EXPECT_EQ(elf_vm.stats.pages_zeroed, 0);
		vm_destroy(&elf_vm);
	}
}

KTAP_SUITE_SKIPPABLE(suite_elf, "elf", vm_tests_unavailable, KTAP_CASE(test_valid_elf_loads),
		     KTAP_CASE(test_bad_elf_each_refused_with_its_message));
