#!/usr/bin/env bash
# Installs everything granule needs to build, boot and test, on Debian 12.
#
#   scripts/deps.sh           install what is missing (apt-get; as root or through sudo)
#   scripts/deps.sh --check   only test that everything is there; exit 1 and name what is not
#
# Host packages come from apt-get. The arm64 libraries (libfdt, gnu-efi) come through
# multiarch: they are downloaded with `apt-get download` and unpacked with `dpkg -x` into
# deps/arm64 (repo-relative, git-ignored), never installed: gnu-efi:amd64 and gnu-efi:arm64
# both own /usr/lib/libefi.a. Idempotent; fast when nothing is missing.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DEPS_DIR=${DEPS_DIR:-$ROOT/deps}
ARM64_DIR=$DEPS_DIR/arm64

PACKAGES=(
	# emulators and firmware
	qemu-system-arm qemu-system-x86 ovmf qemu-efi-aarch64
	bochs bochsbios vgabios
	u-boot-qemu u-boot-tools # real U-Boot booti (scripts/uboot-boot.sh): u-boot.bin, mkenvimage
	# toolchains and tools
	gcc gcc-aarch64-linux-gnu libc6-dev-arm64-cross make python3
	python3-matplotlib # the plots of make bbm-study
	clang lld libclang-rt-14-dev valgrind gdb-multiarch clang-format device-tree-compiler
	patch # the explorer's engine mutants (tests/host/mutations/)
	spin # the fault/invalidate protocol model (vmm/fault_protocol.pml)
	# libraries
	gnu-efi libfdt-dev newlib-source
	# GRUB ISO for the Multiboot2 boot under Bochs
	grub-pc-bin grub-common xorriso mtools
)
# Unpacked into deps/arm64 (see above). libfdt-dev ships the static libfdt.a and headers;
# libfdt1 the shared library the -dev symlink points at.
ARM64_PACKAGES=(libfdt-dev libfdt1 gnu-efi)
# One file per package proves it was unpacked; the stamp lists the unpacked versions.
ARM64_FILES=(
	usr/include/libfdt.h
	usr/lib/aarch64-linux-gnu/libfdt.a
	usr/lib/libefi.a
	usr/include/efi/efi.h
)
ARM64_STAMP=$ARM64_DIR/.unpacked

log() { echo "deps: $*"; }
die() {
	echo "deps: error: $*" >&2
	exit 1
}

# Prints the host packages that are not installed.
missing_packages() {
	local p status
	for p in "${PACKAGES[@]}"; do
		status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
		[[ $status == "install ok installed" ]] || echo "$p"
	done
}

# Succeeds when every arm64 library is unpacked.
arm64_present() {
	local f
	[[ -f $ARM64_STAMP ]] || return 1
	for f in "${ARM64_FILES[@]}"; do
		[[ -e $ARM64_DIR/$f ]] || return 1
	done
}

# Runs a command as root: directly, or through sudo without a password prompt (no stdin in CI).
SUDO=()
need_root() {
	if [[ $(id -u) -eq 0 ]]; then
		SUDO=()
	elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
		SUDO=(sudo -n)
	else
		die "installing packages needs root: run 'sudo make deps' (or as root), or install: $*"
	fi
}

APT_UPDATED=0
apt_update_once() {
	if [[ $APT_UPDATED -eq 0 ]]; then
		log "apt-get update"
		"${SUDO[@]}" apt-get update -qq
		APT_UPDATED=1
	fi
}

# True when apt knows a candidate version for every named package (lists are present).
apt_knows() {
	local p policy
	for p in "$@"; do
		# Not "| grep -q": with pipefail, grep quitting early fails the pipe.
		policy=$(apt-cache policy "$p" 2>/dev/null || true)
		[[ $policy =~ Candidate:\ [^\(] ]] || return 1
	done
}

install_packages() {
	local missing=("$@")
	need_root "${missing[*]}"
	apt_knows "${missing[@]}" || apt_update_once
	log "apt-get install ${missing[*]}"
	if ! apt_install "${missing[@]}"; then
		# Lists present but stale (a 404 on an old version): refresh once and retry.
		[[ $APT_UPDATED -eq 0 ]] || die "apt-get install failed"
		apt_update_once
		apt_install "${missing[@]}" || die "apt-get install failed"
	fi
}

apt_install() {
	"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends "$@" </dev/null
}

# apt-get download into a directory; fails when apt-get does.
download_arm64() {
	local dir=$1 out rc=0
	shift
	out=$(cd "$dir" && apt-get download -qq "$@" 2>&1) || rc=$?
	[[ -z $out ]] || grep -v 'unsandboxed as root' <<<"$out" || true
	return $rc
}

install_arm64() {
	local arm64_names=("${ARM64_PACKAGES[@]/%/:arm64}") tmp p
	if [[ $'\n'$(dpkg --print-foreign-architectures)$'\n' != *$'\n'arm64$'\n'* ]]; then
		need_root "the arm64 architecture for multiarch downloads"
		log "dpkg --add-architecture arm64"
		"${SUDO[@]}" dpkg --add-architecture arm64
		APT_UPDATED=0 # the lists must now include arm64, even if updated before
		apt_update_once
	fi
	if ! apt_knows "${arm64_names[@]}"; then
		need_root "apt lists for arm64"
		apt_update_once
	fi
	tmp=$(mktemp -d)
	# apt-get download as root drops to user _apt, which must be able to write here
	# (else it warns and downloads unsandboxed; that warning is filtered below).
	if [[ $(id -u) -eq 0 ]] && id _apt >/dev/null 2>&1; then
		chown _apt "$tmp"
	fi
	log "apt-get download ${arm64_names[*]}"
	if ! download_arm64 "$tmp" "${arm64_names[@]}" && [[ $APT_UPDATED -eq 0 ]]; then
		need_root "apt lists for arm64"
		apt_update_once
		download_arm64 "$tmp" "${arm64_names[@]}" || true
	fi
	rm -rf "$ARM64_DIR"
	mkdir -p "$ARM64_DIR"
	for p in "$tmp"/*.deb; do
		[[ -e $p ]] || die "apt-get download ${arm64_names[*]} fetched nothing"
		dpkg -x "$p" "$ARM64_DIR"
		basename "$p" >>"$ARM64_STAMP"
	done
	rm -rf "$tmp"
	arm64_present || die "unpacked ${arm64_names[*]} into $ARM64_DIR, but a file is missing: ${ARM64_FILES[*]}"
	log "arm64 libraries in $ARM64_DIR"
}

main() {
	local check=0 missing
	case "${1:-}" in
	--check) check=1 ;;
	"") ;;
	*) die "usage: $0 [--check]" ;;
	esac

	mapfile -t missing < <(missing_packages)
	if [[ $check -eq 1 ]]; then
		local ok=1
		if [[ ${#missing[@]} -gt 0 ]]; then
			log "missing packages: ${missing[*]}"
			ok=0
		fi
		if ! arm64_present; then
			log "missing arm64 libraries in $ARM64_DIR"
			ok=0
		fi
		[[ $ok -eq 1 ]] && exit 0
		exit 1
	fi

	if [[ ${#missing[@]} -gt 0 ]]; then
		install_packages "${missing[@]}"
	fi
	if ! arm64_present; then
		install_arm64
	fi
	mapfile -t missing < <(missing_packages)
	[[ ${#missing[@]} -eq 0 ]] || die "still missing after install: ${missing[*]}"
	log "everything is installed"
}

main "$@"
