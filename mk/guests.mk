# Test guests (tests/guests/): small unikernels linked with newlib, for both architectures
# whatever ARCH is, each with two backends chosen at link time:
#   bare       runs directly under QEMU (UART, semihosting/PSCI, isa-debug-exit): testable now
#   hypercall  speaks granule's hypercall ABI (vmm/hypercall.h, docs/hypercalls.md)
#
#   make newlib        build newlib for both arches into deps/newlib/<arch> (cached: once)
#   make guests        build/guests/<arch>/guest-{bare,hypercall}.elf, and on arm64
#                      guest-hvstub.elf: the hypercall guest behind a minimal EL2 that implements
#                      the ABI (tests/guests/hvstub/), to test that backend under QEMU now
#   make test-guests   boot the guests under QEMU (the guest-* configurations of
#                      tests/run/matrix.cfg, through tests/run/runner.py): bare, behind the hvstub,
#                      and as granule VMs (guest-vm-*: the kernel with the guest as its initrd);
#                      make test runs them too
GUEST_ARCHES := arm64 x86_64
GUEST_BACKENDS := bare hypercall
GUEST_BUILD := build/guests
NEWLIB_DIR := $(DEPS_DIR)/newlib
GUEST_RUNNER_ARGS ?=

GUEST_COMMON_SRCS := tests/guests/boot.c tests/guests/main.c tests/guests/syscalls.c
GUEST_WARNINGS := -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes
# Hosted by newlib (not -ffreestanding), but static and at a fixed address like newlib itself
# (scripts/newlib.sh explains the per-arch flags, which must match newlib's).
GUEST_CFLAGS := -std=gnu11 -O2 -g -fno-pic -fno-pie -fno-stack-protector -ffunction-sections \
	-fdata-sections -I. $(GUEST_WARNINGS) -MMD -MP
GUEST_LDFLAGS := -nostdlib -static -no-pie --gc-sections -z max-page-size=4096 \
	-z noexecstack --build-id=none

GUEST_arm64_CROSS := aarch64-linux-gnu-
GUEST_arm64_CFLAGS := -mstrict-align -mno-outline-atomics
GUEST_x86_64_CROSS :=
GUEST_x86_64_CFLAGS := -m64 -march=x86-64 -mno-red-zone -mcmodel=small \
	-fno-asynchronous-unwind-tables

.PHONY: newlib guests test-guests
newlib:
	@for a in $(GUEST_ARCHES); do scripts/newlib.sh $$a || exit 1; done

# $(1) = arch. Objects in build/guests/<arch>/, newlib's headers before gcc's own (-nostdinc
# keeps the host's glibc headers out).
define guest_arch_rules
GUEST_$(1)_CC := $$(GUEST_$(1)_CROSS)gcc
GUEST_$(1)_ALL_CFLAGS = $$(GUEST_CFLAGS) $$(GUEST_$(1)_CFLAGS) -nostdinc \
	-isystem $$(NEWLIB_DIR)/$(1)/include \
	-isystem $$(shell $$(GUEST_$(1)_CC) -print-file-name=include)
GUEST_$(1)_OBJS := $$(patsubst %,$$(GUEST_BUILD)/$(1)/%.o,$$(GUEST_COMMON_SRCS) \
	$$(wildcard tests/guests/$(1)/*.c tests/guests/$(1)/*.S))

$$(NEWLIB_DIR)/$(1)/.stamp:
	scripts/newlib.sh $(1)

$$(GUEST_BUILD)/$(1)/%.c.o: %.c $$(NEWLIB_DIR)/$(1)/.stamp
	@mkdir -p $$(dir $$@)
	$$(if $$(Q),@echo "  CC      guest $(1) $$<")
	$$(Q)$$(GUEST_$(1)_CC) $$(GUEST_$(1)_ALL_CFLAGS) -c $$< -o $$@

$$(GUEST_BUILD)/$(1)/%.S.o: %.S
	@mkdir -p $$(dir $$@)
	$$(if $$(Q),@echo "  AS      guest $(1) $$<")
	$$(Q)$$(GUEST_$(1)_CC) -D__ASSEMBLER__ -I. $$(GUEST_$(1)_CFLAGS) -MMD -MP -c $$< -o $$@

-include $$(GUEST_$(1)_OBJS:.o=.d)
endef

# $(1) = arch, $(2) = backend: one ELF per pair.
define guest_image_rules
GUEST_IMAGES += $$(GUEST_BUILD)/$(1)/guest-$(2).elf
$$(GUEST_BUILD)/$(1)/guest-$(2).elf: $$(GUEST_$(1)_OBJS) \
		$$(GUEST_BUILD)/$(1)/tests/guests/backend_$(2).c.o tests/guests/$(1)/guest.ld
	$$(if $$(Q),@echo "  LD      guest $(1) $$@")
	$$(Q)$$(GUEST_$(1)_CROSS)ld $$(GUEST_LDFLAGS) -T tests/guests/$(1)/guest.ld -o $$@ \
		$$(filter %.o,$$^) -L$$(NEWLIB_DIR)/$(1)/lib --start-group -lc -lm \
		$$(shell $$(GUEST_$(1)_CC) $$(GUEST_$(1)_CFLAGS) -print-libgcc-file-name) --end-group
endef

GUEST_IMAGES :=
$(foreach a,$(GUEST_ARCHES),$(eval $(call guest_arch_rules,$(a))))
$(foreach a,$(GUEST_ARCHES),$(foreach b,$(GUEST_BACKENDS),$(eval $(call guest_image_rules,$(a),$(b)))))

# arm64 hvstub: entered at EL2 (-e hvstub_entry), it starts the hypercall guest at EL1.
HVSTUB_arm64_OBJS := $(GUEST_BUILD)/arm64/tests/guests/hvstub/arm64_entry.S.o \
	$(GUEST_BUILD)/arm64/tests/guests/hvstub/arm64.c.o
GUEST_IMAGES += $(GUEST_BUILD)/arm64/guest-hvstub.elf
$(GUEST_BUILD)/arm64/guest-hvstub.elf: $(HVSTUB_arm64_OBJS) $(GUEST_arm64_OBJS) \
		$(GUEST_BUILD)/arm64/tests/guests/backend_hypercall.c.o tests/guests/arm64/guest.ld
	$(if $(Q),@echo "  LD      guest arm64 $@")
	$(Q)$(GUEST_arm64_CROSS)ld $(GUEST_LDFLAGS) -e hvstub_entry -T tests/guests/arm64/guest.ld \
		-o $@ $(filter %.o,$^) -L$(NEWLIB_DIR)/arm64/lib --start-group -lc -lm \
		$(shell $(GUEST_arm64_CC) -print-libgcc-file-name) --end-group
-include $(HVSTUB_arm64_OBJS:.o=.d)

guests: $(GUEST_IMAGES)
	@true

# The guest-vm-* configurations boot granule itself with the hypercall guest as its initrd.
test-guests: guests
	$(MAKE) --no-print-directory ARCH=arm64 all
	$(MAKE) --no-print-directory ARCH=x86_64 all
	python3 tests/run/runner.py --config 'guest-*' $(GUEST_RUNNER_ARGS)
