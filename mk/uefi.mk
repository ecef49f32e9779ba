# granule.efi: the whole kernel as a GNU-EFI application for the current ARCH.
#
# The same generic and arch sources as the other images (KERNEL_SRCS), minus the
# other boot entries (boot/$(ARCH)/), plus boot/uefi/, compiled position
# independent into $(BUILD)/efi/ and linked as a shared object with GNU-EFI's
# crt0 (which applies the image's relocations before efi_main) and one of our
# linker scripts, then converted to PE32+:
#   x86_64  objcopy --target efi-app-x86_64 writes the PE headers.
#   arm64   crt0 carries a hand-made PE header and objcopy -O binary dumps the
#           image; AAVMF refuses a file shorter than SizeOfImage, so the .bss
#           at the end is padded with zeros up to _edata.
# boot/uefi/check-image.sh then proves every allocated section made it into the
# PE and that the loader-time relocations are all RELATIVE writes into .data.

EFI_BUILD := $(BUILD)/efi
EFI_IMAGE := $(BUILD)/granule.efi
EFI_SO := $(EFI_BUILD)/granule.so

ifeq ($(ARCH),x86_64)
EFI_ROOT := /usr
EFI_INC_ARCH := x86_64
# EFIAPI becomes __attribute__((ms_abi)): firmware calls need no wrapper. The
# firmware's interrupt handlers run on our stack until ExitBootServices.
EFI_ARCH_CFLAGS := -DGNU_EFI_USE_MS_ABI -mno-red-zone
EFI_OBJCOPY_FLAGS := -j .text -j .reloc -j .rodata -j .data -j .dynamic -j .rela \
	--target efi-app-x86_64
EFI_ARCH_LIBS := $(X86_64_LIBS)
else
EFI_ROOT := $(DEPS_DIR)/arm64/usr
EFI_INC_ARCH := aarch64
EFI_ARCH_CFLAGS :=
EFI_OBJCOPY_FLAGS := -O binary
# libfdt and libgcc, as arch/arm64/arch.mk links them.
EFI_ARCH_LIBS := $(ARM64_LIBS)
endif

EFI_INC := $(EFI_ROOT)/include/efi
EFI_LIB := $(EFI_ROOT)/lib
EFI_CRT0 := $(EFI_LIB)/crt0-efi-$(EFI_INC_ARCH).o
EFI_LDS := linker/efi-$(ARCH).lds

EFI_SRCS := $(filter-out boot/$(ARCH)/%,$(KERNEL_SRCS)) \
	$(wildcard boot/uefi/efi_*.c) boot/uefi/arch_$(ARCH).c boot/uefi/call_$(ARCH).S
EFI_OBJS := $(patsubst %,$(EFI_BUILD)/%.o,$(EFI_SRCS))

# Code models and PIE choices of the other images conflict with a shared object.
EFI_NOT_PIC := -mcmodel=% -fno-pic -fno-PIC -fno-pie -fno-PIE -fpie -fPIE -static
EFI_CFLAGS := $(filter-out $(EFI_NOT_PIC),$(CFLAGS)) -fPIC -fshort-wchar $(EFI_ARCH_CFLAGS) \
	-isystem $(EFI_INC) -isystem $(EFI_INC)/$(EFI_INC_ARCH)
EFI_ASFLAGS := $(filter-out $(EFI_NOT_PIC),$(ASFLAGS)) -fPIC
# -Bsymbolic and hidden symbols leave only RELATIVE relocations, the one kind
# GNU-EFI's _relocate applies; -z text rejects any relocation of code.
EFI_LDFLAGS := -nostdlib -shared -Bsymbolic --no-undefined -z text -z max-page-size=4096 \
	--defsym=EFI_SUBSYSTEM=0xa -T $(EFI_LDS)
EFI_LIBGCC := $(shell $(CC) $(ARCH_CFLAGS) -print-libgcc-file-name)

all: $(EFI_IMAGE)

$(EFI_CRT0):
	@echo "uefi: $@ is missing: run 'make deps' (GNU-EFI for $(ARCH))" >&2
	@exit 1

$(EFI_BUILD)/%.c.o: %.c | $(EFI_CRT0)
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  CC      $(ARCH) efi $<")
	$(Q)$(CC) $(EFI_CFLAGS) -c $< -o $@

$(EFI_BUILD)/%.S.o: %.S
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  AS      $(ARCH) efi $<")
	$(Q)$(CC) $(EFI_ASFLAGS) -c $< -o $@

$(EFI_SO): $(EFI_CRT0) $(EFI_OBJS) $(EFI_LDS) $(EFI_LIB)/libgnuefi.a
	$(if $(Q),@echo "  LD      $(ARCH) $@")
	$(Q)$(LD) $(EFI_LDFLAGS) -Map=$(EFI_BUILD)/granule.map -o $@ $(EFI_CRT0) $(EFI_OBJS) \
		$(EFI_ARCH_LIBS) $(EFI_LIB)/libgnuefi.a $(EFI_LIBGCC)

$(EFI_IMAGE): $(EFI_SO) boot/uefi/check-image.sh
	$(if $(Q),@echo "  EFI     $(ARCH) $@")
	$(Q)$(OBJCOPY) $(EFI_OBJCOPY_FLAGS) $< $@
ifeq ($(ARCH),arm64)
	$(Q)truncate -s $$(( 0x$$($(CROSS)nm $< | awk '$$3 == "_edata" { print $$1 }') )) $@
endif
	$(Q)CROSS=$(CROSS) boot/uefi/check-image.sh $(ARCH) $< $@

-include $(EFI_OBJS:.o=.d)
