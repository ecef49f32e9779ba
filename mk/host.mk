# Host-side tests: generic mm/, lib/ and kernel/cmdline code compiled natively
# against a fake arch (tests/host/harness.c), printing KTAP like the kernel.
HOST_BUILD := build/host
HOST_CC ?= cc
HOST_CFLAGS := -std=gnu11 -O1 -g -I. -DHOST_TEST -Wall -Wextra -Werror -Wno-unused-parameter \
	-Wno-missing-field-initializers -fno-strict-aliasing -MMD -MP
HOST_SRCS := mm/memmap.c mm/pmm.c mm/pgtable.c mm/gather.c lib/ktap.c lib/parse.c \
	kernel/cmdline.c arch/arm64/pt_format.c arch/x86_64/pt_format.c \
	$(wildcard tests/host/*.c)
HOST_OBJS := $(patsubst %.c,$(HOST_BUILD)/%.o,$(HOST_SRCS)) $(HOST_BUILD)/lib/printf_renamed.o
# lib/printf.c beside libc: its entry points are renamed gr_* for the tests.
PRINTF_RENAME := -Dvsnprintf=gr_vsnprintf -Dsnprintf=gr_snprintf -Dprintf=gr_printf \
	-Dvprintf=gr_vprintf -Dconsole_puts=gr_console_puts -Dconsole_register=gr_console_register \
	-Dconsole_emergency=gr_console_emergency

$(HOST_BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  HOSTCC  $<")
	$(Q)$(HOST_CC) $(HOST_CFLAGS) -c $< -o $@

$(HOST_BUILD)/lib/printf_renamed.o: lib/printf.c
	@mkdir -p $(dir $@)
	$(Q)$(HOST_CC) $(HOST_CFLAGS) -fno-builtin $(PRINTF_RENAME) -c $< -o $@

$(HOST_BUILD)/host-tests: $(HOST_OBJS)
	$(Q)$(HOST_CC) $(HOST_CFLAGS) $^ -o $@

.PHONY: test-host
test-host: $(HOST_BUILD)/host-tests
	$(HOST_BUILD)/host-tests

-include $(HOST_OBJS:.o=.d)
