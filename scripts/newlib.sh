#!/usr/bin/env bash
# Builds newlib (Debian's newlib-source tarball) for granule's freestanding test guests.
#
#   scripts/newlib.sh ARCH        ARCH = arm64 | x86_64
#
# Installs headers and libc.a/libm.a into deps/newlib/ARCH/{include,lib} (git-ignored). The
# build is cached: a stamp records the tarball and the flags, and a second run with the same
# inputs does nothing. Anything else (a new tarball, other flags, a missing file) rebuilds.
#
# Debian packages no bare-metal newlib and no *-none-elf compilers, so newlib is configured for
# the bare target triple (aarch64-none-elf, x86_64-none-elf, which selects newlib's machine
# code: string functions in assembly, setjmp) but compiled by Debian's Linux-targeted gcc with
# flags that make its output fit a freestanding guest:
#   both     -fno-pic -fno-pie (the guests are static, linked at their load address; Debian's
#            gcc defaults to PIE), -fno-stack-protector (no TLS canary in a guest),
#            -ffunction-sections -fdata-sections (the guest link drops what it does not use),
#            -U__linux__ (newlib must not take its Linux paths).
#   arm64    -mstrict-align (guest code may run before its MMU makes RAM Normal memory),
#            -mno-outline-atomics (Debian's gcc otherwise calls libgcc's LSE helpers, which
#            read AT_HWCAP from a Linux auxv that a guest does not have). FP/SIMD stays on: the
#            guest enables it (CPACR_EL1.FPEN) before any C code runs.
#   x86_64   -mno-red-zone (exception frames land on the interrupted stack), -mcmodel=small
#            (guests live below 2 GiB). SSE stays on (the x86-64 ABI passes floats in XMM
#            registers; printf's %f needs it): the guest sets CR4.OSFXSR before any C code.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DEPS_DIR=${DEPS_DIR:-$ROOT/deps}
JOBS=${NEWLIB_JOBS:-2}

die() {
	echo "newlib: error: $*" >&2
	exit 1
}
log() { echo "newlib: $*"; }

[[ $# -eq 1 ]] || die "usage: $0 arm64|x86_64"
ARCH=$1
COMMON_FLAGS="-O2 -g -fno-pic -fno-pie -fno-stack-protector -ffunction-sections -fdata-sections"
COMMON_FLAGS+=" -U__linux__ -U__gnu_linux__ -Ulinux -Uunix -U__unix__ -U__unix"
case "$ARCH" in
arm64)
	TARGET=aarch64-none-elf
	TOOL=aarch64-linux-gnu-
	ARCH_FLAGS="-mstrict-align -mno-outline-atomics"
	;;
x86_64)
	TARGET=x86_64-none-elf
	TOOL=
	ARCH_FLAGS="-m64 -march=x86-64 -mno-red-zone -mcmodel=small"
	;;
*) die "ARCH must be arm64 or x86_64, not '$ARCH'" ;;
esac
TARGET_CFLAGS="$COMMON_FLAGS $ARCH_FLAGS"

shopt -s nullglob
tarballs=(/usr/src/newlib/newlib-*.tar.*)
shopt -u nullglob
[[ ${#tarballs[@]} -gt 0 ]] || die "no /usr/src/newlib/newlib-*.tar.*: install newlib-source ('make deps')"
[[ ${#tarballs[@]} -eq 1 ]] || die "several newlib tarballs in /usr/src/newlib: ${tarballs[*]}"
TARBALL=${tarballs[0]}
command -v "${TOOL}gcc" >/dev/null || die "${TOOL}gcc not found: run 'make deps'"

OUT=$DEPS_DIR/newlib/$ARCH
STAMP=$OUT/.stamp
WANT="$(basename "$TARBALL") $(stat -c %s "$TARBALL") $TARGET $TARGET_CFLAGS $(${TOOL}gcc -dumpfullversion)"

# Succeeds when a finished install for exactly these inputs is in place.
up_to_date() {
	[[ -f $STAMP && $(cat "$STAMP") == "$WANT" ]] || return 1
	local f
	for f in lib/libc.a lib/libm.a include/stdio.h include/newlib.h; do
		[[ -e $OUT/$f ]] || return 1
	done
}

if up_to_date; then
	log "$ARCH: up to date in $OUT"
	exit 0
fi

WORK=$DEPS_DIR/newlib/.build-$ARCH
rm -rf "$WORK" "$OUT"
mkdir -p "$WORK/src" "$WORK/obj"
start=$(date +%s)
log "$ARCH: unpacking $TARBALL"
tar -xf "$TARBALL" -C "$WORK/src" --strip-components=1

# The *_FOR_TARGET tools are Debian's Linux ones; newlib's configure would otherwise look for
# aarch64-none-elf-gcc and friends.
TOOLS=()
for t in CC:gcc AS:as LD:ld AR:ar RANLIB:ranlib NM:nm OBJDUMP:objdump OBJCOPY:objcopy \
	READELF:readelf STRIP:strip; do
	TOOLS+=("${t%%:*}_FOR_TARGET=${TOOL}${t#*:}")
done

log "$ARCH: configure --target=$TARGET (log: $WORK/build.log)"
if ! (cd "$WORK/obj" && ../src/configure --target="$TARGET" --prefix="$WORK/install" \
	--disable-multilib --disable-nls --disable-newlib-supplied-syscalls \
	--disable-newlib-multithread --enable-newlib-io-long-long --enable-newlib-io-c99-formats \
	--disable-libgloss \
	"${TOOLS[@]}" CFLAGS_FOR_TARGET="$TARGET_CFLAGS" >"$WORK/build.log" 2>&1); then
	tail -n 30 "$WORK/build.log" >&2
	die "$ARCH: configure failed (full log: $WORK/build.log)"
fi
log "$ARCH: make -j$JOBS all-target-newlib"
if ! (cd "$WORK/obj" && make -j"$JOBS" all-target-newlib >>"$WORK/build.log" 2>&1 &&
	make install-target-newlib >>"$WORK/build.log" 2>&1); then
	tail -n 40 "$WORK/build.log" >&2
	die "$ARCH: build failed (full log: $WORK/build.log)"
fi

mkdir -p "$OUT"
cp -a "$WORK/install/$TARGET/include" "$OUT/include"
cp -a "$WORK/install/$TARGET/lib" "$OUT/lib"
for f in lib/libc.a lib/libm.a include/stdio.h include/newlib.h; do
	[[ -e $OUT/$f ]] || die "$ARCH: installed, but $OUT/$f is missing (see $WORK/build.log)"
done
echo "$WANT" >"$STAMP"
rm -rf "$WORK"
log "$ARCH: built in $(($(date +%s) - start)) s into $OUT"
