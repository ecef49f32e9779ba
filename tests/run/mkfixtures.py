#!/usr/bin/env python3
"""Makes the damaged device trees of the bad-input configurations (tests/run/matrix.cfg).

They start from QEMU's own DTB for the arm64 virt machine (`-machine dumpdtb=`), so nothing
binary is committed:
  corrupt-nameoff.dtb  one property's name offset points far outside the strings block; the
                       blob is otherwise valid, and QEMU's -dtb accepts it (QEMU only walks the
                       nodes it edits), so it reaches the kernel through x0
  truncated.dtb        the blob cut in the middle of its structure block; the header still
                       gives the full size (QEMU's -dtb refuses this one: load it raw)
  bad-magic.dtb        the blob with a wrong magic number (also refused by QEMU's -dtb)
  overlap-memory.dtb   a well-formed blob describing a second /memory bank that overlaps the
                       first: a crafted memory map the kernel must refuse (loaded raw too, so
                       QEMU cannot rewrite its memory nodes)

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
FIXTURES = ("corrupt-nameoff.dtb", "truncated.dtb", "bad-magic.dtb", "overlap-memory.dtb")
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


def dtc(data, to):
    """Converts between DTB and DTS with dtc (device-tree-compiler)."""
    src = "dts" if to == "dtb" else "dtb"
    return subprocess.run(["dtc", "-q", "-I", src, "-O", to, "-"], input=data,
                          check=True, capture_output=True).stdout


def make(outdir):
    dtb = qemu_dtb()
    h = header(dtb)
    assert h["magic"] == FDT_MAGIC, "QEMU's dumpdtb gave no DTB"

    bad = bytearray(dtb)
    prop = find_prop(dtb, VICTIM_NODE)
    struct.pack_into(">I", bad, prop + 8, 0x00FFFF00)  # nameoff: far past the strings block
    fixtures = {"corrupt-nameoff.dtb": bytes(bad)}

    cut = h["off_dt_struct"] + h["size_dt_struct"] // 2
    fixtures["truncated.dtb"] = dtb[:cut & ~3]

    bad = bytearray(dtb)
    struct.pack_into(">I", bad, 0, 0xDEADBEEF)
    fixtures["bad-magic.dtb"] = bytes(bad)

    fixtures["overlap-memory.dtb"] = dtc(dtc(dtb, "dts") + OVERLAPPING_BANK, "dtb")

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
