#!/usr/bin/env bash
# Checks a freshly built granule.efi against the shared object it came from:
#   - every dynamic relocation is RELATIVE (the only kind GNU-EFI's _relocate
#     applies) and writes into the data part, never into text or rodata;
#   - every allocated section of the shared object is inside the PE image.
# Usage: check-image.sh ARCH GRANULE_SO GRANULE_EFI   (CROSS= the tool prefix)
set -euo pipefail

arch=$1 so=$2 efi=$3
readelf=${CROSS:-}readelf
nm=${CROSS:-}nm

fail() {
	echo "check-image: $efi: $*" >&2
	rm -f "$efi"
	exit 1
}

sym() {
	local v
	v=$($nm "$so" | awk -v s="$1" '$3 == s { print $1 }')
	[ -n "$v" ] || fail "symbol $1 missing from $so"
	echo $((0x$v))
}

data_start=$(sym __data_start)
image_end=$(sym __image_end)

# Dynamic relocations: "offset info type ..." lines of readelf -r.
bad=
while read -r off _ type _; do
	[[ $type == *_RELATIVE ]] && ((0x$off >= data_start)) && continue
	bad+="  $type at 0x$off"$'\n'
done < <($readelf -rW "$so" | grep -E '^[0-9a-f]+ +[0-9a-f]+ +R_')
[ -z "$bad" ] || fail "relocations GNU-EFI cannot apply or that write outside .data:
$bad"

# Allocated sections: name, address and size from readelf -S.
sections=$($readelf -SW "$so" | sed -n 's/^ *\[ *[0-9]*\] *//p' |
	awk '$1 ~ /^\./ && $7 ~ /A/ && $5 !~ /^0+$/ { print $1, $3, $5 }')

case $arch in
x86_64)
	copied=" .text .reloc .rodata .data .dynamic .rela "
	# Dynamic linking tables: unused once crt0 has relocated the image.
	skipped=" .hash .gnu.hash .dynsym .dynstr "
	while read -r name addr size; do
		[[ $copied == *" $name "* || $skipped == *" $name "* ]] ||
			fail "section $name is not copied into the PE (see mk/uefi.mk)"
	done <<<"$sections"
	;;
arm64)
	edata=$(sym _edata)
	while read -r name addr size; do
		((0x$addr + 0x$size <= edata)) ||
			fail "section $name ends past _edata, outside the PE image"
	done <<<"$sections"
	filesize=$(stat -c %s "$efi")
	((filesize == edata)) || fail "file is $filesize bytes, SizeOfImage is $edata"
	;;
esac
echo "check-image: $efi ok ($(((image_end + 1023) / 1024)) KiB image)"
