#!/usr/bin/env python3
"""Makes the damaged device trees of the bad-input configurations (tests/run/matrix.cfg).

They start from QEMU's own DTB for the arm64 virt machine (`-machine dumpdtb=`), so nothing
binary is committed:
  corrupt-nameoff.dtb  one property's name offset points far outside the strings block; the
                       blob (compacted by dtc) is otherwise valid, and QEMU's -dtb accepts it (QEMU only walks the
                       nodes it edits), so it reaches the kernel through x0
  truncated.dtb        the blob cut in the middle of its structure block; the header still
                       gives the full size (QEMU's -dtb refuses this one: load it raw)
  bad-magic.dtb        the blob with a wrong magic number (also refused by QEMU's -dtb)
  overlap-memory.dtb   a well-formed blob describing a second /memory bank that overlaps the
                       first: a crafted memory map the kernel must refuse (loaded raw too, so
                       QEMU cannot rewrite its memory nodes)
Boot inputs that reach past what they describe (loaded raw, named with dtb=):
  dtb-past-ram.dtb     the first 4 KiB of QEMU's blob, whose header still says 1 MiB: put in
                       the last 4 KiB of RAM, its totalsize runs past the end of RAM
  dtb-header-past-ram.dtb  the first 32 bytes of the 40-byte header, put in the last 32 bytes
                       of RAM: even the header reaches past RAM
  dtb-ram-ends-inside.dtb  a valid 1 MiB blob whose own /memory node ends RAM 512 KiB into the
                       blob (loaded at 0x44000000, RAM said to end at 0x44080000)
  dtb-too-big.dtb      a valid blob padded to a totalsize of 3 MiB, over booting.rst's 2 MiB
Firmware reservations over what the kernel uses (given with -dtb: QEMU keeps /memreserve/ and
/reserved-memory and rewrites only /memory and /chosen):
  memreserve-image.dtb     a /memreserve/ entry over the Image's load address (RAM + 2 MiB)
  resmem-nomap-image.dtb   a /reserved-memory child with no-map over the Image
  resmem-image.dtb         a /reserved-memory child without no-map over the Image
  resmem-initrd.dtb        a /reserved-memory child over QEMU's initrd address (RAM + 128 MiB)
  resmem-elsewhere.dtb     /memreserve/ and /reserved-memory (no-map and not) away from the
                           image, initrd and DTB: the control, which must boot

usage: mkfixtures.py [OUTDIR]   (default build/test-fixtures; regenerated when missing)
"""
import os
import struct
import subprocess
import sys
import tempfile

FDT_MAGIC = 0xD00DFEED
FDT_BEGIN_NODE, FDT_END_NODE, FDT_PROP, FDT_NOP, FDT_END = 1, 2, 3, 4, 9
# The node whose first property gets the bad name offset: one QEMU does not touch and that
# the kernel does not need to boot, so only a check of the whole blob finds the damage.
VICTIM_NODE = b"pl061@"
FIXTURES = ("corrupt-nameoff.dtb", "truncated.dtb", "bad-magic.dtb", "overlap-memory.dtb",
            "dtb-past-ram.dtb", "dtb-header-past-ram.dtb", "dtb-ram-ends-inside.dtb",
            "dtb-too-big.dtb", "memreserve-image.dtb", "resmem-nomap-image.dtb",
            "resmem-image.dtb", "resmem-initrd.dtb", "resmem-elsewhere.dtb")
# QEMU loads an Image with text_offset 0 at RAM + 2 MiB and -initrd at RAM + 128 MiB (virt,
# RAM at 0x40000000; PLATFORM.md). Each reservation below covers one of them.
IMAGE_PA = 0x40200000
INITRD_PA = 0x48000000
# Where dtb-ram-ends-inside.dtb is loaded and where its /memory node says RAM ends.
INSIDE_DTB_PA, INSIDE_RAM_END = 0x44000000, 0x44080000


def reserved_memory(children):
    """A /reserved-memory node (Devicetree Specification v0.4, 3.5) with (name, base, size, no-map)."""
    nodes = "".join(
        f"\t\t{name}@{base:x} {{\n\t\t\treg = <0x{base >> 32:x} 0x{base & 0xffffffff:x} 0x0 "
        f"0x{size:x}>;\n{chr(9) * 3 + 'no-map;' + chr(10) if nomap else ''}\t\t}};\n"
        for name, base, size, nomap in children)
    return ("\n/ {\n\treserved-memory {\n\t\t#address-cells = <2>;\n\t\t#size-cells = <2>;\n"
            "\t\tranges;\n" + nodes + "\t};\n};\n").encode()


def memreserve(dts, entries):
    """Adds /memreserve/ entries (Devicetree Specification v0.4, 5.3) after the version tag."""
    lines = "".join(f"/memreserve/ 0x{base:x} 0x{size:x};\n" for base, size in entries)
    return dts.replace(b"/dts-v1/;\n", b"/dts-v1/;\n" + lines.encode(), 1)

# A bank inside QEMU's first one (RAM at 0x40000000): two usable ranges claiming the same pages.
OVERLAPPING_BANK = b"""
/ {
	memory@48000000 {
		device_type = "memory";
		reg = <0x0 0x48000000 0x0 0x08000000>;
	};
};
"""


def qemu_dtb():
    """QEMU's DTB for the machine the bad-DTB configs boot (scripts/qemu-boot.sh's defaults)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "virt.dtb")
        subprocess.run(
            ["timeout", "60", "qemu-system-aarch64", "-machine",
             "virt,virtualization=on,gic-version=3,dumpdtb=" + out, "-cpu", "max",
             "-m", "512M", "-display", "none", "-nic", "none"],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with open(out, "rb") as f:
            return f.read()


def header(dtb):
    names = ("magic", "totalsize", "off_dt_struct", "off_dt_strings", "off_mem_rsvmap",
             "version", "last_comp_version", "boot_cpuid_phys", "size_dt_strings",
             "size_dt_struct")
    return dict(zip(names, struct.unpack(">10I", dtb[:40])))


def find_prop(dtb, node_prefix):
    """Offset of the first FDT_PROP token inside the first node whose name starts so."""
    h = header(dtb)
    off, end = h["off_dt_struct"], h["off_dt_struct"] + h["size_dt_struct"]
    in_victim = False
    while off < end:
        (tag,) = struct.unpack_from(">I", dtb, off)
        if tag == FDT_BEGIN_NODE:
            name_end = dtb.index(b"\0", off + 4)
            in_victim = dtb[off + 4:name_end].startswith(node_prefix)
            off = (name_end + 1 + 3) & ~3
        elif tag == FDT_PROP:
            if in_victim:
                return off
            (length,) = struct.unpack_from(">I", dtb, off + 4)
            off = (off + 12 + length + 3) & ~3
        elif tag in (FDT_END_NODE, FDT_NOP):
            in_victim = False if tag == FDT_END_NODE else in_victim
            off += 4
        elif tag == FDT_END:
            break
        else:
            raise ValueError(f"unexpected FDT token {tag:#x} at {off:#x}")
    raise ValueError(f"no property in a node named {node_prefix!r}*")


def dtc(data, to, pad_to=None):
    """Converts between DTB and DTS with dtc (device-tree-compiler); pad_to sets totalsize."""
    src = "dts" if to == "dtb" else "dtb"
    size = ["-S", str(pad_to)] if pad_to else []
    return subprocess.run(["dtc", "-q", "-I", src, "-O", to] + size + ["-"], input=data,
                          check=True, capture_output=True).stdout


def make(outdir):
    dtb = qemu_dtb()
    h = header(dtb)
    assert h["magic"] == FDT_MAGIC, "QEMU's dumpdtb gave no DTB"

    # Compacted first: QEMU's -dtb grows a blob to (size + 10000) * 2 bytes, and QEMU's own
    # 1 MiB padding would then exceed booting.rst's 2 MiB before the damage is even seen.
    compact = dtc(dtc(dtb, "dts"), "dtb")
    bad = bytearray(compact)
    prop = find_prop(compact, VICTIM_NODE)
    struct.pack_into(">I", bad, prop + 8, 0x00FFFF00)  # nameoff: far past the strings block
    fixtures = {"corrupt-nameoff.dtb": bytes(bad)}

    cut = h["off_dt_struct"] + h["size_dt_struct"] // 2
    fixtures["truncated.dtb"] = dtb[:cut & ~3]

    bad = bytearray(dtb)
    struct.pack_into(">I", bad, 0, 0xDEADBEEF)
    fixtures["bad-magic.dtb"] = bytes(bad)

    fixtures["overlap-memory.dtb"] = dtc(dtc(dtb, "dts") + OVERLAPPING_BANK, "dtb")

    assert h["totalsize"] > 0x1000, "QEMU's DTB is expected to be padded to 1 MiB"
    fixtures["dtb-past-ram.dtb"] = dtb[:0x1000]
    fixtures["dtb-header-past-ram.dtb"] = dtb[:32]

    dts = dtc(dtb, "dts")
    ram = b"reg = <0x00 0x40000000 0x00 0x20000000>;"
    assert ram in dts, "QEMU's 512M /memory node changed"
    ends_inside = dts.replace(
        ram, f"reg = <0x00 0x40000000 0x00 0x{INSIDE_RAM_END - 0x40000000:x}>;".encode())
    fixtures["dtb-ram-ends-inside.dtb"] = dtc(ends_inside, "dtb", pad_to=0x100000)
    fixtures["dtb-too-big.dtb"] = dtc(dts, "dtb", pad_to=3 << 20)

    fixtures["memreserve-image.dtb"] = dtc(memreserve(dts, [(IMAGE_PA, 0x10000)]), "dtb")
    fixtures["resmem-nomap-image.dtb"] = dtc(
        dts + reserved_memory([("firmware", IMAGE_PA + 0x40000, 0x10000, True)]), "dtb")
    fixtures["resmem-image.dtb"] = dtc(
        dts + reserved_memory([("firmware", IMAGE_PA, 0x1000, False)]), "dtb")
    fixtures["resmem-initrd.dtb"] = dtc(
        dts + reserved_memory([("firmware", INITRD_PA + 0x1000, 0x1000, True)]), "dtb")
    fixtures["resmem-elsewhere.dtb"] = dtc(
        memreserve(dts, [(0x50000000, 0x10000)]) +
        reserved_memory([("firmware", 0x51000000, 0x100000, True),
                         ("shared", 0x52000000, 0x100000, False)]), "dtb")

    os.makedirs(outdir, exist_ok=True)
    for name, data in fixtures.items():
        tmp = os.path.join(outdir, name + ".tmp")
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, os.path.join(outdir, name))


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else "build/test-fixtures"
    if all(os.path.exists(os.path.join(outdir, n)) for n in FIXTURES):
        return 0
    make(outdir)
    print(f"mkfixtures: damaged and crafted DTBs in {outdir}: {', '.join(FIXTURES)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
