#!/usr/bin/env bash
# make debug: boots granule under QEMU paused with its gdbstub (-s -S), and attaches
# gdb-multiarch with the kernel's symbols and scripts/gdb/granule.gdb.
#
#   scripts/gdb/debug.sh ARCH KERNEL SYMBOLS_ELF [CMDLINE] [qemu-boot.sh options...]
#
# QEMU's console goes to this terminal (interleaved with gdb's) and to build/ARCH/debug.log.
# Symbols are loaded at LOAD_OFFSET (default: 0x40200000 for a position-independent arm64 image).
# QEMU runs under timeout (DEBUG_TIMEOUT seconds, default 3600) and is stopped when gdb exits.
set -euo pipefail

[[ $# -ge 3 ]] || { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
ARCH=$1 KERNEL=$2 ELF=$3
CMDLINE=${4:-demo}
shift $(($# < 4 ? $# : 4))
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)

case "$ARCH" in
arm64) GDB_ARCH=aarch64 ;;
x86_64) GDB_ARCH=i386:x86-64 ;;
*) echo "debug: ARCH must be arm64 or x86_64" >&2; exit 2 ;;
esac
[[ -f $ELF ]] || { echo "debug: no symbols in '$ELF' (run make ARCH=$ARCH)" >&2; exit 1; }
if ss -ltn 2>/dev/null | grep -q ':1234 '; then
	echo "debug: something already listens on port 1234 (another QEMU gdbstub?)" >&2
	exit 1
fi

LOG=$ROOT/build/$ARCH/debug.log
mkdir -p "$(dirname "$LOG")"
timeout "${DEBUG_TIMEOUT:-3600}" "$ROOT/scripts/qemu-boot.sh" --gdb "$@" "$ARCH" "$KERNEL" "$CMDLINE" \
	> >(tee "$LOG") 2>&1 &
QEMU_PID=$!
trap 'kill "$QEMU_PID" 2>/dev/null || true; wait "$QEMU_PID" 2>/dev/null || true' EXIT

# Wait for the gdbstub to listen (QEMU needs a moment to start).
for _ in $(seq 50); do
	ss -ltn 2>/dev/null | grep -q ':1234 ' && break
	kill -0 "$QEMU_PID" 2>/dev/null || { echo "debug: QEMU did not start (see $LOG)" >&2; exit 1; }
	sleep 0.1
done

# A position-independent kernel (linked at 0: the arm64 Image relocates itself) runs where QEMU
# loaded it: RAM + 2 MiB on the virt machine. LOAD_OFFSET overrides.
lowest=$(readelf -lW "$ELF" | awk '$1 == "LOAD" { print $3; exit }')
if [[ -z ${LOAD_OFFSET:-} ]]; then
	LOAD_OFFSET=0
	[[ $ARCH == arm64 && $((lowest)) -eq 0 ]] && LOAD_OFFSET=0x40200000
fi

gdb-multiarch -q -ex "set architecture $GDB_ARCH" -ex "symbol-file -o $LOAD_OFFSET $ELF" \
	-x "$HERE/granule.gdb"
