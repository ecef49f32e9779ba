#!/usr/bin/env bash
# Boots the arm64 Image through real U-Boot (Debian's u-boot-qemu, qemu_arm64) with `booti`.
#
#   scripts/uboot-boot.sh [options] arm64 KERNEL [CMDLINE] [-- QEMU_ARGS...]
#
#   KERNEL      build/arm64/Image (an arm64 Linux Image: booti checks its header)
#   CMDLINE     kernel command line (default: test=all), set with U-Boot's setenv bootargs
#   options     --smp N (1)  --mem SIZE (512M)  --cpu MODEL (max)  --accel tcg|kvm (tcg)
#               --machine PROPS  extra -machine properties, e.g. virtualization=off
#               --initrd FILE    a raw boot module (the guest ELF) as booti's initrd;
#                                `-initrd FILE` among QEMU_ARGS means the same
#               --interactive    serial and QEMU monitor on this terminal (Ctrl-A X quits)
#               --dry-run        print the U-Boot commands and the QEMU command line
#   Environment: TIMEOUT seconds for the whole run (default 300), UBOOT_BIN the firmware
#                (default /usr/lib/u-boot/qemu_arm64/u-boot.bin).
#
# How the commands reach U-Boot: QEMU loads the Image raw at 0x40400000 and the initrd at
# 0x48000000 (-device loader), not where QEMU's own -kernel would put them; this script writes
# a U-Boot environment (mkenvimage) whose bootcmd is
#     setenv bootargs "CMDLINE"; booti 0x40400000 [0x48000000:SIZE | -] ${fdtcontroladdr}
# into the second CFI flash bank, where qemu_arm64 keeps its environment (CONFIG_ENV_ADDR
# 0x4000000, 256 KiB). U-Boot reads it at start and runs bootcmd after bootdelay=0, so nothing
# is typed on the console. booti hands the kernel QEMU's DTB (U-Boot's control DTB), with
# /chosen bootargs and linux,initrd-start/end filled in by U-Boot, and enters it at EL2.
#
# Exit status: as scripts/qemu-boot.sh, the kernel's own status through Arm semihosting
# (-semihosting, and the kernel's `semihosting` option, added here). If U-Boot does not take
# the environment (bad CRC: another U-Boot build) or booti returns, QEMU is stopped and the
# script exits 125 with a message; 124 on timeout; 2 on usage errors and missing tools.
# QEMU options are comma-separated lists: the commas below are meant.
# shellcheck disable=SC2054
set -euo pipefail

usage() {
	sed -n '3,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
	exit 2
}
die() {
	echo "uboot-boot: $*" >&2
	exit 2
}

KERNEL_ADDR=0x40400000 # U-Boot's kernel_addr_r; QEMU's -kernel puts an Image at 0x40200000
INITRD_ADDR=0x48000000 # 128 MiB into RAM, above any Image granule builds (checked below)
ENV_SIZE=0x40000       # qemu_arm64_defconfig: CONFIG_ENV_SIZE, CONFIG_ENV_SECT_SIZE
FLASH_SIZE=64M         # each of QEMU virt's two CFI flash banks
UBOOT_BIN=${UBOOT_BIN:-/usr/lib/u-boot/qemu_arm64/u-boot.bin}
TIMEOUT_S=${TIMEOUT:-300}

SMP=1 MEM=512M CPU=max ACCEL=tcg MACHINE_PROPS='' INITRD='' INTERACTIVE=0 DRY_RUN=0
while [[ $# -gt 0 && $1 == --* && $1 != -- ]]; do
	case "$1" in
	--smp) SMP=$2; shift 2 ;;
	--mem) MEM=$2; shift 2 ;;
	--cpu) CPU=$2; shift 2 ;;
	--accel) ACCEL=$2; shift 2 ;;
	--machine) MACHINE_PROPS=$2; shift 2 ;;
	--initrd) INITRD=$2; shift 2 ;;
	--interactive) INTERACTIVE=1; shift ;;
	--dry-run) DRY_RUN=1; shift ;;
	*) usage ;;
	esac
done
[[ $# -ge 2 ]] || usage
ARCH=$1 KERNEL=$2
shift 2
[[ $ARCH == arm64 ]] || die "U-Boot booti boots arm64 only, not '$ARCH'"
CMDLINE="test=all"
if [[ $# -gt 0 && $1 != -- ]]; then
	CMDLINE=$1
	shift
fi
[[ $# -gt 0 && $1 == -- ]] && shift
# QEMU's -initrd would only reach U-Boot's fw_cfg, which booti does not read: take it here.
EXTRA=()
while [[ $# -gt 0 ]]; do
	if [[ $1 == -initrd ]]; then
		[[ $# -ge 2 ]] || die "-initrd needs a file"
		INITRD=$2
		shift 2
	else
		EXTRA+=("$1")
		shift
	fi
done
[[ $TIMEOUT_S =~ ^[1-9][0-9]*$ ]] || die "TIMEOUT must be a positive number of seconds"

[[ -f $KERNEL ]] || { echo "uboot-boot: no kernel image '$KERNEL' (run make ARCH=arm64)" >&2; exit 125; }
[[ -z $INITRD || -f $INITRD ]] || die "no initrd '$INITRD' (make guests builds the guest ELF)"
[[ -f $UBOOT_BIN ]] || die "no U-Boot at $UBOOT_BIN: install u-boot-qemu ('make deps')"
command -v mkenvimage >/dev/null || die "mkenvimage missing: install u-boot-tools ('make deps')"
command -v qemu-system-aarch64 >/dev/null || die "qemu-system-aarch64 missing: run 'make deps'"

# The Image must end below the initrd: booti runs it where it lies (2 MiB aligned, text_offset
# 0), and its header's image_size (offset 16) covers the BSS as well.
[[ $(od -An -tx1 -j56 -N4 "$KERNEL" | tr -d ' \n') == 41524d64 ]] ||
	die "$KERNEL has no arm64 Image header (magic ARM\\x64 at 0x38)"
image_size=$((0x$(od -An -tx8 --endian=little -j16 -N8 "$KERNEL" | tr -d ' ')))
((KERNEL_ADDR + image_size <= INITRD_ADDR)) ||
	die "$KERNEL needs $image_size bytes at $KERNEL_ADDR: that reaches the initrd at $INITRD_ADDR"

# The command line goes into a double-quoted hush word: nothing that ends or expands it.
[[ " $CMDLINE " == *" semihosting "* ]] || CMDLINE="$CMDLINE semihosting"
CMDLINE=${CMDLINE# }
if [[ $CMDLINE == *[\"\$\\\`]* ]] || LC_ALL=C grep -q '[^ -~]' <<<"$CMDLINE"; then
	die "the command line must be printable ASCII without \" \$ \\ \` (U-Boot shell syntax)"
fi

INITRD_ARG=-
LOADERS=(-device "loader,file=$KERNEL,addr=$KERNEL_ADDR,force-raw=on")
if [[ -n $INITRD ]]; then
	initrd_size=$(stat -c %s "$INITRD")
	[[ $initrd_size -gt 0 ]] || die "initrd '$INITRD' is empty"
	INITRD_ARG=$(printf '%#x:%#x' "$INITRD_ADDR" "$initrd_size")
	LOADERS+=(-device "loader,file=$INITRD,addr=$INITRD_ADDR,force-raw=on")
fi
# The markers let this script see U-Boot fail instead of waiting at its prompt.
BOOTCMD="echo uboot-boot: bootcmd from the flash environment; setenv bootargs \"$CMDLINE\";"
BOOTCMD+=" booti $KERNEL_ADDR $INITRD_ARG \${fdtcontroladdr}; echo uboot-boot: booti returned"

MACHINE="virt,gic-version=3,virtualization=on"
[[ -n $MACHINE_PROPS ]] && MACHINE="$MACHINE,$MACHINE_PROPS"

if [[ $DRY_RUN -eq 1 ]]; then
	tmp=/tmp/uboot-boot.DRY
else
	tmp=$(mktemp -d)
fi
ARGS=(-machine "$MACHINE" -accel "$ACCEL" -cpu "$CPU" -smp "$SMP" -m "$MEM"
	-bios "$UBOOT_BIN" -drive "if=pflash,format=raw,unit=1,file=$tmp/flash1.img"
	"${LOADERS[@]}" -nic none -no-reboot -semihosting)
if [[ $INTERACTIVE -eq 1 ]]; then
	ARGS+=(-nographic)
else
	ARGS+=(-display none -monitor none -serial stdio)
fi
ARGS+=("${EXTRA[@]}")

if [[ $DRY_RUN -eq 1 ]]; then
	echo "U-Boot environment: bootdelay=0"
	echo "U-Boot environment: bootcmd=$BOOTCMD"
	printf '%q ' qemu-system-aarch64 "${ARGS[@]}"
	echo
	exit 0
fi

qemu_pid=
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	[[ -n $qemu_pid ]] && kill "$qemu_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

printf 'bootdelay=0\nbootcmd=%s\n' "$BOOTCMD" >"$tmp/env.txt"
mkenvimage -s "$ENV_SIZE" -o "$tmp/flash1.img" "$tmp/env.txt"
truncate -s "$FLASH_SIZE" "$tmp/flash1.img" # CFI erased state is 0xff, but nothing reads there
echo "uboot-boot: U-Boot $UBOOT_BIN runs: $BOOTCMD"

if [[ $INTERACTIVE -eq 1 ]]; then
	rc=0
	qemu-system-aarch64 "${ARGS[@]}" || rc=$?
	exit "$rc"
fi

: >"$tmp/log"
timeout --foreground "$TIMEOUT_S" qemu-system-aarch64 "${ARGS[@]}" </dev/null >"$tmp/log" 2>&1 &
qemu_pid=$!

# Print the console as it comes; stop QEMU when U-Boot ignored the environment or booti
# returned (U-Boot would sit at its prompt until the timeout).
tail -f -n +1 --pid="$qemu_pid" "$tmp/log" | sed -u 's/\r//g' |
	while IFS= read -r line; do
		printf '%s\n' "$line"
		case $line in
		*"using default environment"* | "uboot-boot: booti returned"*)
			printf '%s\n' "$line" >"$tmp/failed"
			kill "$qemu_pid" 2>/dev/null || true
			;;
		esac
	done
rc=0
wait "$qemu_pid" || rc=$?
qemu_pid=

if [[ -f $tmp/failed ]]; then
	echo "uboot-boot: U-Boot did not boot the kernel ('$(cat "$tmp/failed")'); QEMU stopped" >&2
	exit 125
fi
if [[ $rc -eq 124 ]]; then
	echo "uboot-boot: timeout after $TIMEOUT_S s" >&2
	exit 124
fi
if ! grep -q '^Starting kernel' "$tmp/log"; then
	echo "uboot-boot: QEMU exited $rc before U-Boot started the kernel" >&2
	exit 125
fi
# Semihosting SYS_EXIT: QEMU exits with the kernel's status (QEMU's own failures are 1 too,
# so the "granule: exit N" line stays the first witness, as with qemu-boot.sh).
exit "$rc"
