# arm64: cross compiler, sources, and the granule.elf / Image rules.
# Rules below come before the Makefile's "all": keep it the default goal.
.DEFAULT_GOAL := all
CROSS ?= aarch64-linux-gnu-

# Where the multiarch libfdt (make deps) is unpacked.
ARM64_SYSROOT := $(DEPS_DIR)/arm64/usr
LIBFDT_A := $(ARM64_SYSROOT)/lib/aarch64-linux-gnu/libfdt.a

# Early console: physical address of a PL011 usable before the DTB is read
# (QEMU virt's UART). `make EARLYCON=none` leaves it out (boards with the UART
# elsewhere); `make EARLYCON=0x...` names another PL011.
EARLYCON ?= 0x09000000
ifneq ($(EARLYCON),none)
ARM64_EARLYCON_FLAGS := -DARM64_EARLYCON=$(EARLYCON)
endif
# Rebuild the one file that uses it when the value changes (make tracks no flags).
ARM64_EARLYCON_STAMP := $(BUILD)/.earlycon-$(EARLYCON)
$(BUILD)/arch/arm64/cpu.c.o: $(ARM64_EARLYCON_STAMP)
$(ARM64_EARLYCON_STAMP):
	@mkdir -p $(dir $@) && rm -f $(BUILD)/.earlycon-* && touch $@

# No FP/SIMD in kernel code (exception entry does not save it), no unaligned
# accesses (Device memory with the MMU off), inline atomics (Debian's gcc
# outlines them into libgcc helpers otherwise), position independent.
ARCH_CFLAGS := -mgeneral-regs-only -mstrict-align -mno-outline-atomics -fpie \
	-isystem $(ARM64_SYSROOT)/include $(ARM64_EARLYCON_FLAGS)

ARCH_SRCS := $(wildcard boot/arm64/*.S boot/arm64/*.c arch/arm64/*.S) \
	$(filter-out arch/arm64/pt_format.c,$(wildcard arch/arm64/*.c)) \
	$(wildcard arch/arm64/pt_format.c) \
	drivers/pl011.c drivers/gicv3.c drivers/fdt.c

ARCH_IMAGES := $(BUILD)/granule.elf $(BUILD)/Image

ARM64_LDFLAGS := -pie --no-dynamic-linker -z norelro -z notext --gc-sections \
	--build-id=none --no-warn-rwx-segments -T linker/arm64.ld
ARM64_LIBGCC = $(shell $(CROSS)gcc -print-libgcc-file-name)
# What any arm64 link of the kernel needs after its objects (the UEFI app too).
ARM64_LIBS = $(LIBFDT_A) $(ARM64_LIBGCC)

$(LIBFDT_A):
	@echo "arm64 libfdt missing ($@): run 'make deps'" >&2; exit 1

# The image relocates itself with R_AARCH64_RELATIVE only (boot/arm64/head.S;
# R_AARCH64_NONE is what --gc-sections leaves of dropped GOT entries):
# refuse to produce one that needs anything else.
# KERNEL_OBJS is defined after this file is included: expand it late.
.SECONDEXPANSION:
$(BUILD)/granule.elf: $$(KERNEL_OBJS) $(LIBFDT_A) linker/arm64.ld
	$(if $(Q),@echo "  LD      $(ARCH) $@")
	$(Q)$(LD) $(ARM64_LDFLAGS) -o $@.tmp $(KERNEL_OBJS) $(ARM64_LIBS)
	@bad=$$($(CROSS)readelf -rW $@.tmp | awk '/^[0-9a-f]+ +[0-9a-f]+ R_/ && $$3 != "R_AARCH64_RELATIVE" && $$3 != "R_AARCH64_NONE"'); \
	if [ -n "$$bad" ]; then echo "$@: relocations other than R_AARCH64_RELATIVE:" >&2; \
		echo "$$bad" >&2; rm -f $@.tmp; exit 1; fi
	@mv $@.tmp $@

$(BUILD)/Image: $(BUILD)/granule.elf
	$(if $(Q),@echo "  IMAGE   $(ARCH) $@")
	$(Q)$(OBJCOPY) -O binary $< $@
