#!/usr/bin/env python3
"""Runs the postcopy demo (kernel/demo.c) under QEMU with -icount and prints a
markdown table of the VMM figures against issue 4's targets.

With `-icount shift=0` every guest instruction advances QEMU's virtual clock by
1 ns, and -icount makes TCG single-threaded (the CPUs take turns), so the
in-kernel counter reads count instructions and the figures are the same on
every run: the counter runs at the frequency the kernel prints (62.5 MHz on
arm64 virt), so one tick is 1e9 / freq instructions (16 on arm64).

The migration runs with one vCPU (demo_vcpus=1) and the mover on a second CPU:
with `make run`'s four vCPUs every page is an urgent request, and under
single-threaded -icount four vCPUs busy-waiting 20 us per request take over 20
minutes instead of about two.

usage: bench-vmm.py [--arch arm64|x86_64] [--kernel PATH] [--runs N] [--timeout S]
  --runs 2 boots twice and says whether the two outputs' figures are identical.
  Each run's console is kept in build/bench-vmm/run-N.log.
"""
import argparse
import os
import re
import shlex
import subprocess
import sys
import time

CPU = {"arm64": "max", "x86_64": "max,+svm,+npt"}
KERNEL = {"arm64": "build/arm64/Image", "x86_64": "build/x86_64/granule.elf"}


def command(arch, kernel):
    return ["scripts/qemu-boot.sh", "--smp", "4", "--mem", "3G", "--cpu", CPU[arch],
            "--accel", "tcg,thread=single", arch, kernel, "demo demo_vcpus=1",
            "--", "-icount", "shift=0,align=off"]


def boot(cmd, timeout):
    start = time.monotonic()
    p = subprocess.run(["timeout", str(timeout)] + cmd, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, errors="replace")
    return p.returncode, p.stdout, time.monotonic() - start


def figures(out):
    """The lines whose numbers must not change between two runs: everything the demo and the
    VM reports print (the progress bar included: it samples counters of other CPUs)."""
    return [line for line in out.splitlines() if re.match(r"(demo|vm\d+): ", line)]


def determinism(outs):
    """Compares the figures of every run with the first, split where the single-CPU phases
    start: before it the mover runs on another CPU beside the vCPU."""
    def split(out):
        lines = figures(out)
        at = next((i for i, l in enumerate(lines) if "==== latency" in l), len(lines))
        return lines[:at], lines[at:]
    first = split(outs[0])
    parts = []
    for name, i in (("single-CPU phases (latency, round trip)", 1),
                    ("migration phases (one vCPU and the mover on two CPUs)", 0)):
        diff = sum(1 for o in outs[1:] for a, b in zip(split(o)[i], first[i]) if a != b)
        parts.append("%s: %s" % (name, "identical" if diff == 0 else
                                 "%d of %d lines differ" % (diff, len(first[i]))))
    return "Determinism over %d runs: %s." % (len(outs), "; ".join(parts))


def parse(out):
    f = {}
    m = re.search(r"counter ticks at (\d+) Hz", out) or re.search(r"\((\d+) ticks/s\)", out)
    f["freq"] = int(m.group(1)) if m else None
    m = re.search(r"round trip: (\d+) faults.*per fault: ([\d.]+) ticks exit to resume, "
                  r"([\d.]+) in the fault handler", out)
    if m:
        f["rt_faults"], f["rt_ticks"], f["rt_handler"] = int(m[1]), float(m[2]), float(m[3])
    for unit in ("HGM", "2M", "1G"):
        m = re.search(r"latency %s: (\d+) faults, p50 (\d+) p99 (\d+) max (\d+) mean (\d+)" % unit, out)
        if m:
            f["lat_" + unit] = [int(x) for x in m.groups()]
    m = re.search(r"reclaim: discarded (\d+) of (\d+) MiB: guest RAM's own tables (\d+) of peak (\d+)", out)
    if m:
        f["reclaim_own"] = [int(x) for x in m.groups()]
    m = re.search(r"reclaim: the whole stage 2 \(root of (\d+) page\(s\) and (\d+) table\(s\) "
                  r"above RAM\): (\d+) of peak (\d+) bytes", out)
    if m:
        f["reclaim_all"] = [int(x) for x in m.groups()]
    rows = {}
    for line in out.splitlines():
        m = re.match(r"demo: \| (.+?) +\|(.*)\|$", line)
        if m and not m[1].startswith("-"):
            rows[m[1]] = [c.strip() for c in m[2].split("|")]
    f["rows"] = rows
    return f


def verdict(ok):
    return "met" if ok else "**not met**"


def table(f):
    ns = 1e9 / f["freq"]
    lines = ["| figure | value | target | |", "| --- | ---: | ---: | --- |"]
    if "rt_ticks" in f:
        insn = f["rt_ticks"] * ns
        lines.append("| instructions per 4K demand fault round trip, exit to resume, fill "
                     "excluded (mean of %d faults) | %.0f (%.1f ticks) | ≤ 3,000 | %s |"
                     % (f["rt_faults"], insn, f["rt_ticks"], verdict(insn <= 3000)))
        lines.append("| ... of which inside the VMM's fault handler | %.0f | | |"
                     % (f["rt_handler"] * ns))
    hgm = f.get("lat_HGM")
    for unit, target in (("2M", 100), ("1G", 10000)):
        other = f.get("lat_" + unit)
        if hgm and other and hgm[1] and hgm[4]:
            for name, i in (("p50", 1), ("mean", 4)):
                ratio = other[i] / hgm[i]
                lines.append("| fault-to-resume %s, %s / HGM (%d vs %d ticks) | %.0f× | ≥ %s× | %s |"
                             % (name, unit, other[i], hgm[i], ratio, format(target, ","),
                                verdict(ratio >= target)))
    if "reclaim_own" in f:
        gone, mib, now, peak = f["reclaim_own"]
        pct = 100.0 * now / peak
        lines.append("| page-table memory after discarding %d of a fully touched %d MiB / peak: "
                     "the tables that map only guest RAM (%d / %d pages) | %.3f%% | ≤ 0.25%% | %s |"
                     % (gone, mib, now, peak, pct, verdict(pct <= 0.25)))
    if "reclaim_all" in f:
        root, above, now, peak = f["reclaim_all"]
        lines.append("| ... the whole stage 2, with the root (%d page(s)) and %d table(s) above "
                     "RAM (%d / %d bytes) | %.3f%% | | |"
                     % (root, above, now, peak, 100.0 * now / peak))
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", default="arm64", choices=sorted(CPU))
    ap.add_argument("--kernel")
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--timeout", type=int, default=1800)
    a = ap.parse_args()
    cmd = command(a.arch, a.kernel or KERNEL[a.arch])
    runs = []
    for i in range(a.runs):
        rc, out, secs = boot(cmd, a.timeout)
        if rc != 0 or "granule: exit 0" not in out:
            sys.stdout.write(out[-4000:])
            print("bench-vmm: run %d failed (exit %d)" % (i + 1, rc), file=sys.stderr)
            return 1
        runs.append((out, secs))
        os.makedirs("build/bench-vmm", exist_ok=True)
        with open("build/bench-vmm/run-%d.log" % (i + 1), "w") as log:
            log.write(out)
    out = runs[0][0]
    f = parse(out)
    if not f["freq"]:
        print("bench-vmm: no counter frequency in the output", file=sys.stderr)
        return 1
    print("Command: `%s` (%.0f s)\n" % (" ".join(shlex.quote(c) for c in cmd), runs[0][1]))
    print("One tick = %.0f instructions (counter %d Hz, 1 ns per instruction).\n"
          % (1e9 / f["freq"], f["freq"]))
    print(table(f))
    print()
    print("Demo table (ticks; the migration phases, which vary run to run):\n")
    for line in out.splitlines():
        if line.startswith("demo: |"):
            print(line[len("demo: "):])
    if len(runs) > 1:
        print()
        print(determinism([r[0] for r in runs]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
