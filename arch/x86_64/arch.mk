# x86_64: native gcc, sources, and the granule.elf (PVH + Multiboot2) / granule.iso rules.
# Rules below come before the Makefile's "all": keep it the default goal.
.DEFAULT_GOAL := all
CROSS ?=

# No SSE/x87 in kernel code (interrupt entry does not save it), no red zone (interrupts
# push onto the current stack), linked at a fixed low address (small code model).
ARCH_CFLAGS := -m64 -march=x86-64 -mno-red-zone -mgeneral-regs-only -mno-mmx -mno-sse \
	-mno-sse2 -mcmodel=small -fno-pie -fno-pic -fno-asynchronous-unwind-tables

# pt_format.c (the lead's) is picked up by the wildcard once it exists.
ARCH_SRCS := $(wildcard boot/x86_64/*.S boot/x86_64/*.c arch/x86_64/*.S arch/x86_64/*.c) \
	drivers/uart16550.c drivers/lapic.c drivers/acpi.c

ARCH_IMAGES := $(BUILD)/granule.elf $(BUILD)/granule.iso

X86_LDFLAGS := -nostdlib -static -no-pie -z max-page-size=0x1000 -z noexecstack \
	--build-id=none -T linker/x86_64.ld

# KERNEL_OBJS is defined after this file is included: expand it late.
.SECONDEXPANSION:
$(BUILD)/granule.elf: $$(KERNEL_OBJS) linker/x86_64.ld
	$(if $(Q),@echo "  LD      $(ARCH) $@")
	$(Q)$(LD) $(X86_LDFLAGS) -o $@.tmp $(KERNEL_OBJS)
	@readelf -nW $@.tmp | grep -q 'Xen.*0x00000012' || \
		{ echo "$@: PVH note (Xen, type 18) missing" >&2; rm -f $@.tmp; exit 1; }
	@mv $@.tmp $@

# A GRUB rescue ISO booting the kernel with Multiboot2 and an empty command line (the demo);
# scripts/bochs-boot.sh builds its own per run with the command line it is given.
$(BUILD)/granule.iso: $(BUILD)/granule.elf scripts/bochs/grub.cfg.in
	@command -v grub-mkrescue >/dev/null && command -v xorriso >/dev/null || \
		{ echo "$@: grub-mkrescue or xorriso missing: run 'make deps'" >&2; exit 1; }
	@rm -rf $(BUILD)/iso && mkdir -p $(BUILD)/iso/boot/grub
	$(if $(Q),@echo "  ISO     $(ARCH) $@")
	$(Q)cp $< $(BUILD)/iso/boot/granule.elf
	$(Q)sed 's|@CMDLINE@||' scripts/bochs/grub.cfg.in > $(BUILD)/iso/boot/grub/grub.cfg
	$(Q)grub-mkrescue -o $@ $(BUILD)/iso 2>$(BUILD)/grub-mkrescue.log || \
		{ cat $(BUILD)/grub-mkrescue.log >&2; exit 1; }
