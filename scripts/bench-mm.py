#!/usr/bin/env python3
"""Runs the page-table engine benchmarks under callgrind and prints a markdown
table of instructions per operation (deterministic: same binary, same counts).

usage: bench-mm.py BENCH_BINARY BENCH_BINARY_WITHOUT_COUNTING
"""
import os
import re
import subprocess
import sys
import tempfile

# name, bench function, entries the operation touches, target per entry (None: none set)
BENCHES = [
    ("map 1 GiB with 4K leaves (per entry)", "map_1g_4k", 262144 + 512, 20),
    ("one 4K map into existing tables (per pt_map call)", "map_4k_existing", 1000, 250),
    ("one 4K unmap, its tables kept (per pt_unmap call)", "unmap_4k_existing", 1000, 300),
    ("split 1G -> 2M (per entry filled)", "split_1g_to_2m", 512, 5),
    ("split 2M -> 4K (per entry filled)", "split_2m_to_4k", 512, 5),
    ("collapse 4K -> 2M -> 1G (per entry checked)", "collapse_4k_to_1g", 262144 + 512, 5),
    ("the same collapse at FEAT_BBM level 2 (per entry checked)", "collapse_4k_to_1g_bbm2",
     262144 + 512, 5),
    ("unmap 1 GiB of 4K + reclaim (per entry)", "unmap_reclaim_1g_4k", 262144 + 512, None),
]


# The reclaim policy trade-off: the same re-map after an unmap, tables freed or kept.
POLICY_BENCHES = [
    ("re-map 2M of 4K after unmap, reclaim immediate", "remap_2m_4k", "remap_2m_4k_immediate"),
    ("re-map 2M of 4K after unmap, reclaim deferred", "remap_2m_4k", "remap_2m_4k_deferred"),
]


def instructions(binary, bench, mode=None):
    """Instructions inside bench_<bench> (inclusive) for a run of the binary in mode."""
    return instructions_in(binary, "bench_" + bench, mode or bench)


def single_map_instructions(binary):
    """pt_map alone, per call: everything inside pt_map (inclusive) during a run of the
    1000 measured maps, minus the same count for a run of only their set-up."""
    with_maps = instructions_in(binary, "pt_map", "map_4k_existing")
    setup = instructions_in(binary, "pt_map", "map_4k_existing_setup")
    return with_maps - setup


def instructions_in(binary, function, mode):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "callgrind.out")
        subprocess.run(
            ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out,
             "--collect-atstart=no", "--toggle-collect=" + function, binary, mode],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with open(out) as f:
            for line in f:
                m = re.match(r"(summary|totals): (\d+)", line)
                if m:
                    return int(m.group(2))
    raise RuntimeError("no instruction total for " + mode)


def main():
    counted, uncounted = sys.argv[1], sys.argv[2]
    print("| operation | instructions | per unit | target | met | without counting+reclaim | overhead |")
    print("|---|---:|---:|---:|:---:|---:|---:|")
    failed = 0
    for name, bench, units, target in BENCHES:
        if bench == "map_4k_existing":
            total, base = single_map_instructions(counted), single_map_instructions(uncounted)
        else:
            total, base = instructions(counted, bench), instructions(uncounted, bench)
        per = total / units
        met = "-" if target is None else ("yes" if per <= target else "NO")
        failed += met == "NO"
        overhead = 100.0 * (total - base) / base if base else 0.0
        print(f"| {name} | {total} | {per:.1f} | {target if target else '-'} | {met} "
              f"| {base / units:.1f} | {overhead:+.2f}% |")
    print()
    print("| reclaim policy | instructions | per entry |")
    print("|---|---:|---:|")
    for name, bench, mode in POLICY_BENCHES:
        total = instructions(counted, bench, mode)
        print(f"| {name} | {total} | {total / 512:.1f} |")
    print()
    print("Page-table bytes for 1 GiB mapped at each granule (arm64 stage-1 format):")
    print()
    print("| granule | mapped | after unmapping all but one 4K | after unmapping all |")
    print("|---|---:|---:|---:|")
    out = subprocess.run([counted, "bytes"], check=True, capture_output=True, text=True).stdout
    for line in out.splitlines():
        m = re.match(r"bytes (\S+) mapped (\d+) after-unmap-all-but-4K (\d+) after-unmap-all (\d+)", line)
        if m:
            print(f"| {m.group(1)} | {int(m.group(2))} | {int(m.group(3))} | {int(m.group(4))} |")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
