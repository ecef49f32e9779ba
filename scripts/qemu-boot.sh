#!/usr/bin/env bash
# Boots granule under QEMU with -kernel: the arm64 Image, or the x86-64 ELF through its PVH note.
#
#   scripts/qemu-boot.sh [options] ARCH KERNEL [CMDLINE] [-- QEMU_ARGS...]
#
#   ARCH        arm64 | x86_64
#   KERNEL      build/arm64/Image, or build/x86_64/granule.elf
#   CMDLINE     kernel command line (default: test=all)
#   options     --smp N (1)  --mem SIZE (512M)  --cpu MODEL (max)  --accel tcg|kvm (tcg)
#               --machine PROPS  extra -machine properties, e.g. virtualization=off
#               --interactive    serial and QEMU monitor on this terminal (Ctrl-A X quits)
#               --gdb            start paused with the gdbstub on tcp::1234 (-s -S)
#               --dry-run        print the QEMU command line instead of running it
#
# Exit status: the kernel's own exit status when QEMU reports it, so callers can compare it with
# the "granule: exit N" line. arm64 ends through Arm semihosting (QEMU -semihosting, and the
# kernel's `semihosting` option, added here), x86-64 through isa-debug-exit at port 0xf4, where
# QEMU exits with (N << 1) | 1. Anything else (QEMU failed, or the guest reset or powered off
# without reporting a status) exits 125, with a message.
set -euo pipefail

usage() {
	sed -n '3,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

SMP=1 MEM=512M CPU=max ACCEL=tcg MACHINE_PROPS='' INTERACTIVE=0 GDB=0 DRY_RUN=0
while [[ $# -gt 0 && $1 == --* && $1 != -- ]]; do
	case "$1" in
	--smp) SMP=$2; shift 2 ;;
	--mem) MEM=$2; shift 2 ;;
	--cpu) CPU=$2; shift 2 ;;
	--accel) ACCEL=$2; shift 2 ;;
	--machine) MACHINE_PROPS=$2; shift 2 ;;
	--interactive) INTERACTIVE=1; shift ;;
	--gdb) GDB=1; shift ;;
	--dry-run) DRY_RUN=1; shift ;;
	*) usage ;;
	esac
done
[[ $# -ge 2 ]] || usage
ARCH=$1 KERNEL=$2
shift 2
CMDLINE="test=all"
if [[ $# -gt 0 && $1 != -- ]]; then
	CMDLINE=$1
	shift
fi
[[ $# -gt 0 && $1 == -- ]] && shift
EXTRA=("$@")

[[ -f $KERNEL ]] || { echo "qemu-boot: no kernel image '$KERNEL' (run make ARCH=$ARCH)" >&2; exit 125; }

case "$ARCH" in
arm64)
	QEMU=qemu-system-aarch64
	MACHINE="virt,gic-version=3,virtualization=on"
	# Semihosting carries the exit status; the kernel only uses it when told to.
	[[ " $CMDLINE " == *" semihosting "* ]] || CMDLINE="$CMDLINE semihosting"
	ARGS=(-semihosting)
	;;
x86_64)
	QEMU=qemu-system-x86_64
	MACHINE="q35"
	ARGS=(-device "isa-debug-exit,iobase=0xf4,iosize=0x04")
	;;
*) usage ;;
esac
# A later property overrides an earlier one (virtualization=off wins over the default).
[[ -n $MACHINE_PROPS ]] && MACHINE="$MACHINE,$MACHINE_PROPS"
CMDLINE=${CMDLINE# }

ARGS=(-machine "$MACHINE" -accel "$ACCEL" -cpu "$CPU" -smp "$SMP" -m "$MEM"
	-kernel "$KERNEL" -append "$CMDLINE" -nic none -no-reboot "${ARGS[@]}")
if [[ $INTERACTIVE -eq 1 ]]; then
	ARGS+=(-nographic)
else
	# Batch: the serial port on stdout, no monitor, nothing read from stdin.
	ARGS+=(-display none -monitor none -serial stdio)
fi
[[ $GDB -eq 1 ]] && ARGS+=(-s -S)
ARGS+=("${EXTRA[@]}")

if [[ $DRY_RUN -eq 1 ]]; then
	printf '%q ' "$QEMU" "${ARGS[@]}"
	echo
	exit 0
fi

rc=0
if [[ $INTERACTIVE -eq 1 ]]; then
	"$QEMU" "${ARGS[@]}" || rc=$?
else
	"$QEMU" "${ARGS[@]}" </dev/null || rc=$?
fi

# isa-debug-exit: QEMU exits with (N << 1) | 1 for the kernel's status N.
debug_exit_status() {
	[[ $rc -ne 0 && $((rc & 1)) -eq 1 ]] && echo $((rc >> 1))
}

# Interactive and gdb sessions may end however the user ends them (Ctrl-A X: status 0).
if [[ $INTERACTIVE -eq 1 || $GDB -eq 1 ]]; then
	[[ $ARCH == x86_64 ]] && status=$(debug_exit_status) && exit "$status"
	exit "$rc"
fi

case "$ARCH" in
arm64)
	# Semihosting SYS_EXIT: QEMU exits with the kernel's status. QEMU's own failures are 1 too,
	# so the "granule: exit N" line stays the first witness.
	exit "$rc"
	;;
x86_64)
	status=$(debug_exit_status) && exit "$status"
	echo "qemu-boot: QEMU exited $rc without an isa-debug-exit status (reset, power-off or QEMU error)" >&2
	exit 125
	;;
esac
