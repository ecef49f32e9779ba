#!/bin/sh
# Boots a granule x86-64 ELF under Bochs through GRUB (Multiboot2) and prints the serial output.
#   scripts/bochs-boot.sh ELF CMDLINE [CPU_MODEL] [SMP] [MEM_MB]
# Defaults: CPU_MODEL corei7_skylake_x (VMX + EPT), SMP 1, MEM_MB 256.
# Exit status: 0 when the kernel printed "granule: exit 0", 1 when it printed another status,
# 2 for bad arguments or a missing tool, 3 when Bochs ended (or timed out) without the line.
# BOCHS_TIMEOUT (seconds, default 120) bounds the run; BOCHS_KEEP=1 keeps the work directory.
set -eu

usage() {
	echo "usage: $0 ELF CMDLINE [CPU_MODEL] [SMP] [MEM_MB]" >&2
	exit 2
}

[ $# -ge 2 ] && [ $# -le 5 ] || usage
elf=$1
cmdline=$2
model=${3:-corei7_skylake_x}
smp=${4:-1}
mem=${5:-256}
timeout_s=${BOCHS_TIMEOUT:-120}
here=$(cd "$(dirname "$0")" && pwd)

[ -f "$elf" ] || { echo "$0: kernel '$elf' not found" >&2; exit 2; }
case $smp in '' | *[!0-9]*) echo "$0: SMP must be a number, not '$smp'" >&2; exit 2 ;; esac
case $mem in '' | *[!0-9]*) echo "$0: MEM_MB must be a number, not '$mem'" >&2; exit 2 ;; esac
case $model in '' | *[!a-z0-9_]*) echo "$0: bad CPU model '$model'" >&2; exit 2 ;; esac
case $cmdline in *'|'* | *'&'* | *'\'*)
	echo "$0: the command line may not contain | & or \\" >&2; exit 2 ;;
esac
for tool in bochs grub-mkrescue xorriso; do
	command -v "$tool" >/dev/null || { echo "$0: $tool not installed (make deps)" >&2; exit 2; }
done
for f in /usr/share/bochs/BIOS-bochs-latest /usr/share/vgabios/vgabios.bin; do
	[ -f "$f" ] || { echo "$0: $f missing (packages bochsbios, vgabios)" >&2; exit 2; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/granule-bochs.XXXXXX")
[ "${BOCHS_KEEP:-0}" = 1 ] || trap 'rm -rf "$work"' EXIT INT TERM

mkdir -p "$work/iso/boot/grub"
cp "$elf" "$work/iso/boot/granule.elf"
sed "s|@CMDLINE@|$cmdline|" "$here/bochs/grub.cfg.in" >"$work/iso/boot/grub/grub.cfg"
if ! grub-mkrescue -o "$work/granule.iso" "$work/iso" >"$work/grub-mkrescue.log" 2>&1; then
	cat "$work/grub-mkrescue.log" >&2
	echo "$0: grub-mkrescue failed" >&2
	exit 2
fi

# Bochs holds at most 2048 MB of guest RAM in host memory ('megs' allows no more); past that,
# 'memory: guest=' gives the guest more, backed by the host's 2048 MB as a cache.
if [ "$mem" -le 2048 ]; then
	memline="megs: $mem"
else
	memline="memory: guest=$mem, host=2048"
fi

# Headless: rfb display that does not wait for a viewer, dummy sound (Bochs aborts without
# it), COM1 into a file; the debugger-enabled build needs -rc with "c" then "quit".
cat >"$work/bochsrc" <<RC
$memline
cpu: model=$model, count=$smp, ips=100000000, reset_on_triple_fault=0
romimage: file=/usr/share/bochs/BIOS-bochs-latest
vgaromimage: file=/usr/share/vgabios/vgabios.bin
ata0-master: type=cdrom, path=$work/granule.iso, status=inserted
boot: cdrom
com1: enabled=1, mode=file, dev=$work/serial.txt
display_library: rfb, options="timeout=0"
sound: waveoutdrv=dummy, waveindrv=dummy, midioutdrv=dummy
clock: sync=none, time0=local
log: $work/bochs.log
panic: action=fatal
error: action=report
RC
printf 'c\nquit\n' >"$work/debugger.rc"

# Serial output is streamed while Bochs runs, so a reader sees the lines as they come.
: >"$work/serial.txt"
(cd "$work" && exec timeout "$timeout_s" bochs -q -f bochsrc -rc debugger.rc) \
	>"$work/bochs.out" 2>&1 </dev/null &
bochs_pid=$!
tail -n +1 -s 0.2 -F --pid=$bochs_pid "$work/serial.txt" 2>/dev/null | sed -u 's/\r$//'
set +e
wait $bochs_pid
bochs_rc=$?
set -e

status=$(tr -d '\r' <"$work/serial.txt" 2>/dev/null | sed -n 's/^granule: exit \([0-9]*\)$/\1/p' | tail -n 1)
if [ -z "$status" ]; then
	[ "$bochs_rc" = 124 ] && echo "$0: Bochs timed out after ${timeout_s}s" >&2
	echo "$0: the kernel did not print 'granule: exit N' (bochs exit status $bochs_rc);" \
		"last lines of bochs.log:" >&2
	tail -n 15 "$work/bochs.log" >&2 2>/dev/null || tail -n 15 "$work/bochs.out" >&2
	exit 3
fi
[ "$status" = 0 ] && exit 0
exit 1
