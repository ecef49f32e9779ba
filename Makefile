# granule: a hypervisor MMU kernel for arm64 and x86-64.
#   make [ARCH=arm64|x86_64]   build the kernel images for one architecture
#   make run                   boot the default demo under QEMU
#   make test                  host tests + the boot matrix; ends "N passed, N failed"
#   make deps                  install everything with apt-get (idempotent)
#   make debug                 QEMU paused with its gdbstub, and gdb attached
#   make bench-vmm             the postcopy demo under QEMU -icount: VMM figures
#   make format                clang-format every source file
ARCH ?= arm64
ACCEL ?= tcg
BUILD := build/$(ARCH)
DEPS_DIR := $(CURDIR)/deps

ifeq ($(filter $(ARCH),arm64 x86_64),)
$(error ARCH must be arm64 or x86_64, not '$(ARCH)')
endif

# Generic code: the same objects on every architecture.
COMMON_SRCS := $(wildcard arch/*.c boot/*.c kernel/*.c lib/*.c mm/*.c vmm/*.c tests/kernel/*.c)

WARNINGS := -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wno-missing-field-initializers
BASE_CFLAGS := -std=gnu11 -O2 -g -ffreestanding -fno-builtin -fno-stack-protector \
	-fno-omit-frame-pointer -fno-common -ffunction-sections -fdata-sections \
	-fvisibility=hidden -I. $(WARNINGS) -MMD -MP

# Each architecture sets CROSS, ARCH_CFLAGS, ARCH_SRCS, ARCH_ASFLAGS and its image rules.
-include arch/$(ARCH)/arch.mk

CC := $(CROSS)gcc
LD := $(CROSS)ld
OBJCOPY := $(CROSS)objcopy
# KCFLAGS: extra flags for a special build, e.g. -DPT_MEASURE_MASKED (make bench-masked).
KCFLAGS ?=
CFLAGS := $(BASE_CFLAGS) $(ARCH_CFLAGS) -DARCH_$(ARCH) $(KCFLAGS)
ASFLAGS := -D__ASSEMBLER__ -I. $(ARCH_CFLAGS) -DARCH_$(ARCH) -MMD -MP

# The kernel tests' architecture oracles: what the CPU reports, read apart from the kernel's code.
TEST_ARCH_SRCS := $(wildcard tests/kernel/$(ARCH)/*.c)
KERNEL_SRCS := $(COMMON_SRCS) $(ARCH_SRCS) $(TEST_ARCH_SRCS)
KERNEL_OBJS := $(patsubst %,$(BUILD)/%.o,$(KERNEL_SRCS))

.PHONY: all clean distclean run test test-host debug deps format check-format
all: $(ARCH_IMAGES)

# V=1 shows every command.
Q := $(if $(V),,@)

$(BUILD)/%.c.o: %.c
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  CC      $(ARCH) $<")
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/%.S.o: %.S
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  AS      $(ARCH) $<")
	$(Q)$(CC) $(ASFLAGS) -c $< -o $@

include mk/deps.mk
include mk/host.mk
include mk/test.mk
-include mk/bench.mk
-include mk/uefi.mk
-include mk/guests.mk

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

check-format:
	clang-format --dry-run --Werror $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build

distclean: clean
	rm -rf $(DEPS_DIR)

-include $(KERNEL_OBJS:.o=.d)
