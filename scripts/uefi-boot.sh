#!/usr/bin/env bash
# Boots granule.efi under QEMU with UEFI firmware (OVMF on x86-64, AAVMF on arm64).
#
#   scripts/uefi-boot.sh [--file PATH]... ARCH EFI_FILE CMDLINE [SMP] [MEM] [CPU]
#     --file    copy PATH into the FAT volume's root beside the app (repeatable),
#               e.g. a guest ELF for the command line's initrd=\NAME
#     ARCH      arm64 | x86_64
#     EFI_FILE  the application (build/ARCH/granule.efi)
#     CMDLINE   the kernel command line, passed as the app's UEFI load options
#     SMP       CPUs (default 1), MEM memory (default 512M),
#     CPU       QEMU -cpu (default max,+svm,+npt on x86-64, max on arm64)
#   Environment: TIMEOUT seconds for the whole run (default 120),
#                QEMU_EXTRA more QEMU arguments (word split).
#
# The app and a startup.nsh that runs it with CMDLINE sit in a read-only QEMU
# FAT directory on a virtio disk; the firmware's UEFI Shell runs startup.nsh
# (the usual way to give an app load options without writing NVRAM). The shell
# waits 5 s for a key before startup.nsh; this script presses one as soon as
# the shell asks. If the app returns (the stub refused to boot), the script
# powers the machine off.
#
# Serial output goes to stdout. Exit status: 0 only if the kernel printed
# "granule: exit 0"; 1 if it ended otherwise; 2 on usage errors; 124 on timeout.
# QEMU options are comma-separated lists: the commas in the arrays below are meant.
# shellcheck disable=SC2054
set -uo pipefail

usage() {
	echo "usage: $0 [--file PATH]... ARCH EFI_FILE CMDLINE [SMP] [MEM] [CPU]" >&2
	exit 2
}
die() {
	echo "uefi-boot: $*" >&2
	exit 2
}

files=()
while [ $# -gt 0 ]; do
	case $1 in
	--file)
		[ $# -ge 2 ] || usage
		files+=("$2")
		shift 2
		;;
	--file=*)
		files+=("${1#--file=}")
		shift
		;;
	-*) usage ;;
	*) break ;;
	esac
done
if [ $# -lt 3 ] || [ $# -gt 6 ]; then
	usage
fi
arch=$1 efi=$2 cmdline=$3 smp=${4:-1} mem=${5:-512M} cpu=${6:-}
timeout_s=${TIMEOUT:-120}

[ -f "$efi" ] || die "no such file: $efi (build it with: make ARCH=$arch)"
for f in "${files[@]}"; do
	[ -f "$f" ] || die "--file: no such file: $f"
	case ${f##*/} in
	granule.efi | startup.nsh) die "--file: ${f##*/} is the name of the app or its script" ;;
	esac
done
[[ $smp =~ ^[1-9][0-9]*$ ]] || die "SMP must be a positive number, not '$smp'"
[[ $timeout_s =~ ^[1-9][0-9]*$ ]] || die "TIMEOUT must be a positive number of seconds"
# The UEFI Shell gives these characters a meaning in a script line.
if grep -q '["%^#<>|`]' <<<"$cmdline"; then
	die "the command line may not contain any of \" % ^ # < > | \` (UEFI Shell syntax)"
fi
if LC_ALL=C grep -q '[^ -~]' <<<"$cmdline"; then
	die "the command line must be printable ASCII"
fi

case $arch in
x86_64)
	firmware=/usr/share/ovmf/OVMF.fd
	qemu=(qemu-system-x86_64 -M q35 -cpu "${cpu:-max,+svm,+npt}"
		-device isa-debug-exit,iobase=0xf4,iosize=0x04)
	;;
arm64)
	firmware=/usr/share/qemu-efi-aarch64/QEMU_EFI.fd
	# AAVMF publishes the DTB only when QEMU gives it no ACPI tables.
	qemu=(qemu-system-aarch64 -M virt,virtualization=on,gic-version=3,acpi=off
		-cpu "${cpu:-max}" -semihosting)
	;;
*) die "ARCH must be arm64 or x86_64, not '$arch'" ;;
esac
[ -f "$firmware" ] || die "firmware $firmware missing: run 'make deps'"
command -v "${qemu[0]}" >/dev/null || die "${qemu[0]} missing: run 'make deps'"

tmp=$(mktemp -d) || exit 2
qemu_pid=
cleanup() {
	[ -n "$qemu_pid" ] && kill "$qemu_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

mkdir "$tmp/esp"
cp "$efi" "$tmp/esp/granule.efi"
for f in "${files[@]}"; do
	cp "$f" "$tmp/esp/"
done
printf '@echo -off\r\nfs0:\r\ngranule.efi %s\r\nreset -s\r\n' "$cmdline" >"$tmp/esp/startup.nsh"
mkfifo "$tmp/in"
: >"$tmp/log"

# shellcheck disable=SC2206 # QEMU_EXTRA is word split on purpose
qemu+=(-bios "$firmware" -smp "$smp" -m "$mem" -nic none -nographic -monitor none
	-serial stdio
	-drive "if=none,id=esp,format=raw,readonly=on,file=fat:$tmp/esp"
	-device virtio-blk-pci,drive=esp ${QEMU_EXTRA:-})

exec 3<>"$tmp/in"
start=$(date +%s%N)
timeout --foreground "$timeout_s" "${qemu[@]}" <&3 >"$tmp/log" 2>&1 &
qemu_pid=$!

# The countdown is redrawn in place, without a line end: poll the log for it.
(
	until grep -qa 'seconds to skip .*startup.nsh' "$tmp/log"; do
		kill -0 "$qemu_pid" 2>/dev/null || exit 0
		sleep 0.2
	done
	printf '\r' >&3
) &
presser=$!

elapsed() { echo "$((($(date +%s%N) - start) / 1000000))" | sed 's/...$/.&/; s/^\./0./'; }
# Serial output without the firmware's terminal control sequences.
tail -f -n +1 --pid="$qemu_pid" "$tmp/log" |
	sed -u 's/\x1b\[[0-9;?]*[a-zA-Z]//g; s/\x1b[=>][0-9]*[a-zA-Z]\?//g; s/\r//g' |
	while IFS= read -r line; do
		printf '%s\n' "$line"
		if [[ $line == "granule: UEFI stub"* && -z ${reached:-} ]]; then
			reached=1
			echo "uefi-boot: firmware reached the app after $(elapsed) s"
		fi
	done
wait "$qemu_pid"
status=$?
qemu_pid=
kill "$presser" 2>/dev/null
wait "$presser" 2>/dev/null

if [ "$status" -eq 124 ]; then
	echo "uefi-boot: timeout after ${timeout_s} s" >&2
	exit 124
fi
if ! grep -qa 'granule: exit 0' "$tmp/log"; then
	echo "uefi-boot: no 'granule: exit 0' line (QEMU status $status)" >&2
	exit 1
fi
echo "uefi-boot: passed in $(elapsed) s"
