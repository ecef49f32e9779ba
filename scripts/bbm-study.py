#!/usr/bin/python3
"""The break-before-make timing study, host side (docs/bbm-study.md).

Boots the kernel with `bbm_study=ROUNDS` under QEMU -icount once per configuration (a CPU
model and a FEAT_BBM policy), or parses consoles captured elsewhere (--parse: a board), and
writes for each run a CSV, then PNG plots and a markdown summary table over all of them.

The kernel (kernel/bbm_study.c) prints, for every HVO strategy the CPU can use, one row per
optimize and per restore of a 2 MiB huge page while the other CPUs read struct pages:

  bbm-study,<level>,<strategy>,<op>,<round>,<latency>,<breaks>,<break_sum>,<break_max>,...

after a header row naming the columns, and `bbm-study: ...` comment lines (the counter
frequency, strategies not usable on this CPU, per-strategy reader counts, `done`).

Times are counter ticks. Under `-icount shift=0` every guest instruction advances QEMU's
virtual clock by 1 ns, and the arm64 virt counter runs at the frequency the kernel prints
(62.5 MHz), so one tick is 1e9 / freq = 16 instructions; the tool reads the frequency from
the kernel's line rather than assuming it. With -icount, TCG runs the CPUs one after the
other (round-robin) and the virtual clock counts the instructions of whichever CPU runs, so a
tick interval measured on one CPU includes what the others executed meanwhile. On a board
the ticks are real time (1e9 / freq ns each).

Output (in --out, default build/bbm-study):
  CONFIG.log          the console of each boot (CONFIG-run2.log ... with --repeat)
  CONFIG.csv          its rows, with a header row (the kernel's columns)
  latency.png, break-windows.png, reader-stalls.png
  summary.md          the markdown table (also printed)
--update-doc rewrites docs/bbm-study.md between its BEGIN/END bbm-study markers and copies
the plots to docs/bbm-study/.

Exit status: 0 when every run booted, printed `bbm-study: done` and a well-formed CSV (and,
under QEMU, ended with `granule: exit 0` at the FEAT_BBM level the configuration asks for);
1 otherwise; 2 for bad arguments.
"""
import argparse
import concurrent.futures
import csv
import math
import os
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# name: (arch, QEMU -cpu, extra kernel command line, FEAT_BBM level the kernel must report,
#        what the row means)
CONFIGS = {
    "max-bbm2": ("arm64", "max", "", 2, "`-cpu max`"),
    "max-bbm1": ("arm64", "max", "bbm=1", 1, "`-cpu max`, `bbm=1` (policy)"),
    "max-bbm0": ("arm64", "max", "bbm=0", 0, "`-cpu max`, `bbm=0` (policy)"),
    "a72-bbm0": ("arm64", "cortex-a72", "", 0, "`-cpu cortex-a72`"),
    "n1-bbm0": ("arm64", "neoverse-n1", "", 0, "`-cpu neoverse-n1`"),
    "x86-max": ("x86_64", "max,+svm,+npt", "", None, "x86-64 `-cpu max,+svm,+npt`"),
}
DEFAULT_CONFIGS = ["max-bbm2", "max-bbm1", "max-bbm0", "a72-bbm0", "n1-bbm0"]
KERNEL = {"arm64": "build/arm64/Image", "x86_64": "build/x86_64/granule.elf"}
# sleep=off: with the default (sleep=on) QEMU advances the virtual clock by host time while
# every CPU idles (during boot), so the study starts at a different virtual time each run and
# the round-robin switches fall elsewhere: the timing columns then differ between runs.
ICOUNT = "shift=0,align=off,sleep=off"

# The columns this tool reads; the kernel's header may carry more (they are kept in the CSV).
NEEDED = ["level", "strategy", "op", "round", "latency", "breaks", "break_sum", "break_max",
          "nt", "direct", "fixups", "fixup_sum", "fixup_max", "rendezvous", "tlbi",
          "barriers", "ipis"]
TEXT_COLUMNS = {"strategy", "op"}
OPS = ["optimize", "restore"]

MARK_BEGIN = "<!-- BEGIN bbm-study -->"
MARK_END = "<!-- END bbm-study -->"


class StudyError(Exception):
    pass


# ---- Parsing a console ----

class Study:
    """One `bbm_study` run as the kernel printed it."""

    def __init__(self, name):
        self.name = name
        self.level = self.cpus = self.freq = self.rounds = None
        self.header = None
        self.rows = []          # dicts: int values, strategy and op as text
        self.unusable = []      # (letter, the kernel's description)
        self.readers = {}       # letter -> (rounds, readers, reads)
        self.failures = []      # the kernel's own failure lines
        self.done = False
        self.exit = None        # the N of `granule: exit N`, if printed
        self.desc = ""          # how it was run (configuration or source file)
        self.icount = False     # QEMU -icount's shift (ticks are instructions), or False
        self.wall = None        # seconds the boot took (not written to the doc)

    def strategies(self):
        seen = []
        for r in self.rows:
            if r["strategy"] not in seen:
                seen.append(r["strategy"])
        return seen


COMMENT = re.compile(r"bbm-study: (.*)$")
ROW = re.compile(r"bbm-study,(.*)$")
START = re.compile(r"FEAT_BBM level (\d+), (\d+) CPUs, counter (\d+) Hz, (\d+) rounds")
UNUSABLE = re.compile(r"strategy (\w+) \((.*)\): not usable on this CPU")
READERS = re.compile(r"strategy (\w+) \(.*\): (\d+) rounds, (\d+) readers, (\d+) reads")
FAILED = re.compile(r"strategy (\w+): (.*)")
EXIT = re.compile(r"granule: exit (-?\d+)")


def parse_console(text, name):
    """Every study in a console (one per boot), in order. A line may carry a prefix (a
    terminal program's timestamp); carriage returns are dropped."""
    studies, cur = [], None
    for num, raw in enumerate(text.splitlines(), 1):
        line = raw.replace("\r", "").rstrip()
        m = EXIT.search(line)
        if m and cur is not None:
            cur.exit = int(m.group(1))
            continue
        m = ROW.search(line)
        if m and not COMMENT.search(line):
            if cur is None:
                raise StudyError("%s:%d: a row before the study's first line" % (name, num))
            fields = m.group(1).split(",")
            if fields[0] == "level":
                cur.header = fields
                missing = [c for c in NEEDED if c not in fields]
                if missing:
                    raise StudyError("%s:%d: the header lacks %s" % (name, num, ", ".join(missing)))
                continue
            if cur.header is None:
                raise StudyError("%s:%d: a row before the header" % (name, num))
            if len(fields) != len(cur.header):
                raise StudyError("%s:%d: %d fields, the header has %d: %r"
                                 % (name, num, len(fields), len(cur.header), line))
            row = {}
            for col, val in zip(cur.header, fields):
                if col in TEXT_COLUMNS:
                    row[col] = val
                elif not val.isdigit():
                    raise StudyError("%s:%d: column %s is %r, not a count" % (name, num, col, val))
                else:
                    row[col] = int(val)
            cur.rows.append(row)
            continue
        m = COMMENT.search(line)
        if not m:
            continue
        body = m.group(1)
        s = START.match(body)
        if s:
            cur = Study(name)
            studies.append(cur)
            cur.level, cur.cpus, cur.freq, cur.rounds = (int(x) for x in s.groups())
            continue
        if cur is None:
            raise StudyError("%s:%d: %r before the study's first line" % (name, num, line))
        if body == "done":
            cur.done = True
        elif UNUSABLE.match(body):
            u = UNUSABLE.match(body)
            cur.unusable.append((u.group(1), u.group(2)))
        elif READERS.match(body):
            r = READERS.match(body)
            cur.readers[r.group(1)] = tuple(int(x) for x in r.groups()[1:])
        elif FAILED.match(body):
            cur.failures.append(body)
        else:
            cur.failures.append("unrecognized: " + body)
    if not studies:
        raise StudyError("%s: no `bbm-study: FEAT_BBM level ...` line: was the kernel booted "
                         "with bbm_study=N?" % name)
    if len(studies) > 1:
        for i, s in enumerate(studies, 1):
            s.name = "%s-%d" % (name, i)
    return studies


def check(study, expect_level=None, expect_rounds=None, need_exit=False):
    """The problems with a parsed study; an empty list when it is complete and consistent."""
    p = []
    if not study.done:
        p.append("no `bbm-study: done` line (the study did not finish)")
    if study.header is None:
        p.append("no header row")
    p.extend("the kernel says: " + f for f in study.failures)
    if expect_level is not None and study.level != expect_level:
        p.append("FEAT_BBM level %s, the configuration asks for %d" % (study.level, expect_level))
    if expect_rounds is not None and study.rounds != expect_rounds:
        p.append("%s rounds, asked for %d" % (study.rounds, expect_rounds))
    if need_exit and study.exit != 0:
        p.append("no `granule: exit 0` (exit %s)" % study.exit)
    unusable = {u[0] for u in study.unusable}
    for s in study.strategies():
        rows = [r for r in study.rows if r["strategy"] == s]
        want = sorted((rnd, op) for rnd in range(study.rounds or 0) for op in OPS)
        got = sorted((r["round"], r["op"]) for r in rows)
        if got != want:
            p.append("strategy %s: %d rows, expected one optimize and one restore for each of "
                     "%s rounds" % (s, len(rows), study.rounds))
        if s in unusable:
            p.append("strategy %s: rows, yet reported not usable" % s)
        if s not in study.readers:
            p.append("strategy %s: no closing `N rounds, N readers` line" % s)
        if any(r["level"] != study.level for r in rows):
            p.append("strategy %s: a row at another FEAT_BBM level than %s" % (s, study.level))
    if not study.rows and not study.unusable:
        p.append("no rows and no strategy reported unusable")
    return p


# ---- Running QEMU ----

def qemu_command(cfg, kernel, rounds, mem, icount=ICOUNT):
    arch, cpu, extra, _, _ = CONFIGS[cfg]
    cmdline = ("bbm_study=%d %s" % (rounds, extra)).strip()
    return ["scripts/qemu-boot.sh", "--smp", "4", "--mem", mem, "--cpu", cpu,
            "--accel", "tcg,thread=single", arch, kernel, cmdline, "--", "-icount", icount]


def boot(cmd, timeout):
    """Runs cmd in its own process group; on timeout the whole group is killed."""
    start = time.monotonic()
    p = subprocess.Popen(cmd, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, start_new_session=True)
    try:
        out, _ = p.communicate(timeout=timeout)
        rc = p.returncode
    except subprocess.TimeoutExpired:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(p.pid, sig)
            except ProcessLookupError:
                break
            try:
                p.wait(timeout=5)
                break
            except subprocess.TimeoutExpired:
                continue
        out, _ = p.communicate()
        rc = None
    return rc, out.decode("utf-8", "replace"), time.monotonic() - start


def run_one(cfg, run, args):
    arch = CONFIGS[cfg][0]
    kernel = args.kernel if arch == "arm64" else args.kernel_x86
    cmd = qemu_command(cfg, kernel, args.rounds, args.mem, args.icount_opts)
    base = cfg if run == 1 else "%s-run%d" % (cfg, run)
    log = os.path.join(args.out, base + ".log")
    if args.reuse_logs:
        try:
            with open(log, encoding="utf-8", errors="replace") as f:
                out = f.read()
        except OSError as e:
            raise StudyError("%s: --reuse-logs: %s" % (cfg, e))
        rc, secs = 0, 0.0
    else:
        rc, out, secs = boot(cmd, args.timeout)
        with open(log, "w") as f:
            f.write(out)
    if rc is None:
        raise StudyError("%s: no end after %d s (--timeout); console in %s\n%s"
                         % (cfg, args.timeout, log, tail(out)))
    try:
        studies = parse_console(out, cfg)
    except StudyError as e:
        raise StudyError("%s (exit %s); console in %s\n%s" % (e, rc, log, tail(out)))
    if len(studies) != 1:
        raise StudyError("%s: %d studies in one boot; console in %s" % (cfg, len(studies), log))
    s = studies[0]
    problems = check(s, CONFIGS[cfg][3], args.rounds, need_exit=True)
    if rc != 0:
        problems.append("qemu-boot.sh exited %d" % rc)
    if problems:
        raise StudyError("%s: %s; console in %s\n%s" % (cfg, "; ".join(problems), log, tail(out)))
    s.desc = CONFIGS[cfg][4]
    m = re.search(r"(?:^|,)shift=(\d+)", args.icount_opts)
    s.icount = int(m.group(1)) if m else "auto"
    s.wall = secs
    s.command = cmd
    write_csv(s, os.path.join(args.out, base + ".csv"))
    return s


def tail(out, n=25):
    lines = out.splitlines()[-n:]
    return "\n".join("  | " + l for l in lines)


def write_csv(study, path):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(study.header)
        for r in study.rows:
            w.writerow([r[c] for c in study.header])


# ---- Determinism ----

def compare(a, b):
    """How two runs of one configuration differ, in words."""
    if a.header != b.header:
        return "different headers"
    if len(a.rows) != len(b.rows):
        return "%d rows vs %d" % (len(a.rows), len(b.rows))
    differ = [i for i, (x, y) in enumerate(zip(a.rows, b.rows)) if x != y]
    extra = []
    if a.readers != b.readers:
        extra.append("reader counts differ (%s)" % ", ".join(
            "%s: %s vs %s reads" % (k, a.readers[k][2], b.readers.get(k, (0, 0, 0))[2])
            for k in a.readers if a.readers[k] != b.readers.get(k)))
    if not differ:
        return "identical CSV (%d rows)%s" % (len(a.rows), "; " + "; ".join(extra) if extra else "")
    cols = []
    for c in a.header:
        n = sum(1 for i in differ if a.rows[i][c] != b.rows[i][c])
        if n:
            strategies = sorted({a.rows[i]["strategy"] for i in differ
                                 if a.rows[i][c] != b.rows[i][c]})
            cols.append("%s in %d (strategies %s)" % (c, n, ",".join(strategies)))
    return "%d of %d rows differ: %s%s" % (len(differ), len(a.rows), "; ".join(cols),
                                           "; " + "; ".join(extra) if extra else "")


# ---- Statistics and the table ----

def median(v):
    return statistics.median(v) if v else None


def p99(v):
    """Nearest rank: the smallest sample with at least 99% of the samples at or below it."""
    if not v:
        return None
    s = sorted(v)
    return s[max(0, math.ceil(0.99 * len(s)) - 1)]


def num(x, digits=0):
    if x is None:
        return "–"
    if digits == 0 or float(x).is_integer():
        return "{:,}".format(int(round(x)))
    return "{:,.{}f}".format(x, digits)


def per_op_means(rows, total, count):
    """Each op's mean (total / count) over the ops where count > 0."""
    return [r[total] / r[count] for r in rows if r[count]]


def summarize(rows):
    n = len(rows)
    lat = [r["latency"] for r in rows]
    mean = lambda c: sum(r[c] for r in rows) / n
    return {
        "samples": n,
        "lat_med": median(lat), "lat_p99": p99(lat), "lat_max": max(lat),
        "breaks": mean("breaks"),
        "win_med": median(per_op_means(rows, "break_sum", "breaks")),
        "win_max": max(r["break_max"] for r in rows) if any(r["breaks"] for r in rows) else None,
        "nt": mean("nt"), "direct": mean("direct"),
        "fixups": mean("fixups"),
        "stall_med": median(per_op_means(rows, "fixup_sum", "fixups")),
        "stall_max": max(r["fixup_max"] for r in rows) if any(r["fixups"] for r in rows) else None,
        "rdv": mean("rendezvous"), "tlbi": mean("tlbi"), "barriers": mean("barriers"),
        "ipis": mean("ipis"),
    }


TABLE_HEAD = ("| config | level | strategy | op | samples | latency median | p99 | max | "
              "breaks/op | break window median | break window max | nT/op | direct/op | "
              "reader fixups/op | stall median | stall max | rendezvous ticks/op | TLBI/op | "
              "barriers/op | IPIs/op |")


def table(studies):
    lines = [TABLE_HEAD, "|" + "---|" * 4 + "---:|" * 16]
    for s in studies:
        unusable = dict(s.unusable)
        order = sorted(set(s.strategies()) | set(unusable))
        for st in order:
            if st in unusable:
                lines.append("| %s | %d | %s | – | not usable on this CPU: %s |%s"
                             % (s.name, s.level, st, unusable[st], " |" * 15))
                continue
            for op in OPS:
                rows = [r for r in s.rows if r["strategy"] == st and r["op"] == op]
                if not rows:
                    continue
                m = summarize(rows)
                lines.append("| " + " | ".join([
                    s.name, str(s.level), st, op, str(m["samples"]),
                    num(m["lat_med"]), num(m["lat_p99"]), num(m["lat_max"]),
                    num(m["breaks"], 2), num(m["win_med"], 1), num(m["win_max"]),
                    num(m["nt"], 2), num(m["direct"], 2),
                    num(m["fixups"], 2), num(m["stall_med"], 1), num(m["stall_max"]),
                    num(m["rdv"]), num(m["tlbi"], 2), num(m["barriers"], 2),
                    num(m["ipis"], 2)]) + " |")
    return "\n".join(lines)


def unit_line(s):
    if s.icount == "auto":
        unit = "-icount shift=auto: ticks are not a fixed number of instructions"
    elif s.icount is not False:
        ns = 2 ** s.icount
        unit = ("1 tick = %s instructions (-icount shift=%d: %d ns per instruction)"
                % (num(1e9 / s.freq / ns, 2), s.icount, ns))
    else:
        unit = "1 tick = %s ns of the board's counter" % num(1e9 / s.freq, 2)
    readers = ", ".join("%s: %d readers, %s reads" % (k, v[1], num(v[2]))
                        for k, v in sorted(s.readers.items()))
    return ("- **%s**: %s; FEAT_BBM level %d, %d CPUs, counter %s Hz, rounds: %d; %s. "
            "Readers: %s." % (s.name, s.desc, s.level, s.cpus, num(s.freq), s.rounds, unit,
                               readers or "none"))


def report(studies, command, determinism):
    out = []
    if command:
        out.append("Generated by %s:\n" % command)
    out.extend(unit_line(s) for s in studies)
    out.append("")
    out.append(table(studies))
    out.append("")
    if determinism is None:
        out.append("Determinism: not checked by this run (`--repeat 2` boots each "
                   "configuration twice and compares the CSVs).")
    else:
        out.append("Determinism (each configuration booted twice, CSVs compared row by row):\n")
        out.extend("- %s: %s" % (k, v) for k, v in determinism)
    out.append("")
    out.append("Plots: ![end-to-end latency](bbm-study/latency.png) "
               "![break windows](bbm-study/break-windows.png) "
               "![reader stalls](bbm-study/reader-stalls.png)")
    return "\n".join(out)


# ---- Plots ----

def plots(studies, outdir):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch
    from matplotlib.ticker import NullFormatter

    strategies = sorted({st for s in studies for st in s.strategies()})
    colors = plt.get_cmap("tab10")
    labels = ["%s (level %d)" % (s.name, s.level) for s in studies]
    handles = [Patch(color=colors(i % 10), label=l) for i, l in enumerate(labels)]

    def grouped(ax, values, title, ylabel, none="none"):
        """values(study, strategy) -> samples; one box (and its samples as dots) per study
        within each strategy, on a log scale; zeros are left out."""
        width = 0.8 / max(1, len(studies))
        lo, hi, empty = None, None, []
        for j, st in enumerate(strategies):
            drawn = False
            for i, s in enumerate(studies):
                v = [x for x in values(s, st) if x > 0]
                if not v:
                    continue
                pos = j - 0.4 + width * (i + 0.5)
                b = ax.boxplot([v], positions=[pos], widths=width * 0.8, patch_artist=True,
                               showfliers=False, manage_ticks=False)
                for patch in b["boxes"]:
                    patch.set_facecolor(colors(i % 10))
                    patch.set_alpha(0.6)
                # The samples themselves, spread deterministically across the box.
                xs = [pos + width * 0.6 * ((k * 0.618) % 1 - 0.5) for k in range(len(v))]
                ax.scatter(xs, v, s=10, color=colors(i % 10), edgecolors="black",
                           linewidths=0.3, zorder=3)
                lo = min(v) if lo is None else min(lo, min(v))
                hi = max(v) if hi is None else max(hi, max(v))
                drawn = True
            if not drawn:
                empty.append(j)
        ax.set_xticks(range(len(strategies)))
        ax.set_xticklabels(strategies)
        ax.set_xlim(-0.5, len(strategies) - 0.5)
        ax.set_xlabel("strategy")
        ax.set_ylabel(ylabel)
        ax.set_title(title, fontsize=9)
        if lo is not None:
            ax.set_yscale("log")
            bottom = 10 ** math.floor(math.log10(lo))
            top = 10 ** math.ceil(math.log10(hi) + 1e-9)
            ax.set_ylim(bottom, max(top, bottom * 100))
            ax.yaxis.set_minor_formatter(NullFormatter())
        for j in empty:
            ax.text(j, 0.02, none, transform=ax.get_xaxis_transform(), ha="center",
                    fontsize=8, color="gray")
        ax.grid(axis="y", alpha=0.3)

    def rows(s, st, op=None):
        return [r for r in s.rows if r["strategy"] == st and (op is None or r["op"] == op)]

    files = []

    def save(fig, name):
        fig.legend(handles=handles, loc="lower center", ncol=min(len(handles), 3), fontsize=8)
        fig.tight_layout(rect=(0, 0.04 + 0.04 * math.ceil(len(handles) / 3), 1, 1))
        path = os.path.join(outdir, name)
        fig.savefig(path, dpi=80)
        plt.close(fig)
        files.append(path)

    fig, axes = plt.subplots(1, 2, figsize=(10, 4.5))
    for ax, op in zip(axes, OPS):
        grouped(ax, lambda s, st: [r["latency"] for r in rows(s, st, op)],
                "end-to-end latency per %s" % op, "counter ticks")
    save(fig, "latency.png")

    fig, axes = plt.subplots(1, 2, figsize=(10, 4.5))
    grouped(axes[0], lambda s, st: per_op_means(rows(s, st), "break_sum", "breaks"),
            "break window, mean per op (ops without breaks omitted)", "counter ticks",
            none="no breaks")
    grouped(axes[1], lambda s, st: [r["break_max"] for r in rows(s, st) if r["breaks"]],
            "longest break window per op", "counter ticks", none="no breaks")
    save(fig, "break-windows.png")

    fig, axes = plt.subplots(1, 2, figsize=(10, 4.5))
    grouped(axes[0], lambda s, st: per_op_means(rows(s, st), "fixup_sum", "fixups"),
            "reader stall (fixup wait), mean per op with fixups", "counter ticks",
            none="no stalls")
    grouped(axes[1], lambda s, st: [r["fixup_max"] for r in rows(s, st) if r["fixups"]],
            "longest reader stall per op", "counter ticks", none="no stalls")
    save(fig, "reader-stalls.png")
    return files


# ---- The document ----

def update_doc(doc, text, pngs):
    with open(doc) as f:
        content = f.read()
    if content.count(MARK_BEGIN) != 1 or content.count(MARK_END) != 1:
        raise StudyError("%s: needs exactly one %s and one %s" % (doc, MARK_BEGIN, MARK_END))
    start = content.index(MARK_BEGIN) + len(MARK_BEGIN)
    end = content.index(MARK_END)
    if end < start:
        raise StudyError("%s: %s before %s" % (doc, MARK_END, MARK_BEGIN))
    content = content[:start] + "\n" + text.strip() + "\n" + content[end:]
    with open(doc, "w") as f:
        f.write(content)
    figdir = os.path.join(os.path.dirname(doc), "bbm-study")
    os.makedirs(figdir, exist_ok=True)
    for p in pngs:
        shutil.copy(p, figdir)


# ---- Main ----

def main():
    ap = argparse.ArgumentParser(
        description="The break-before-make timing study: boot each configuration under QEMU "
                    "-icount with bbm_study=ROUNDS (or parse captured consoles) and write CSVs, "
                    "PNG plots and a markdown summary table (docs/bbm-study.md).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="configurations:\n" + "\n".join(
            "  %-9s %s%s%s" % (k, v[4].replace("`", ""),
                               "" if v[3] is None else ": FEAT_BBM level %d" % v[3],
                               "" if k in DEFAULT_CONFIGS else " (not by default)")
            for k, v in CONFIGS.items()) +
        "\n\nexamples:\n"
        "  scripts/bbm-study.py --rounds 4                   all default configurations\n"
        "  scripts/bbm-study.py --configs max-bbm2 --repeat 2  one, booted twice, compared\n"
        "  scripts/bbm-study.py --parse console.log          a board's captured console\n")
    ap.add_argument("--rounds", type=int, default=1,
                    help="bbm_study=ROUNDS: optimize+restore rounds per strategy (default 1)")
    ap.add_argument("--configs", default=",".join(DEFAULT_CONFIGS),
                    help="comma-separated configurations (default: %(default)s)")
    ap.add_argument("--repeat", type=int, default=1,
                    help="boot each configuration this many times and compare the CSVs "
                         "(determinism); the first run is the one summarized")
    ap.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1,
                    help="boots at a time (each QEMU uses one host thread; default: CPUs)")
    ap.add_argument("--timeout", type=int,
                    help="seconds per boot (default 300 + 400 per round: a loaded 2-CPU host "
                         "needs about 300 per round with the kernel of this writing)")
    ap.add_argument("--mem", default="1G", help="guest memory (default 1G)")
    ap.add_argument("--icount-opts", default=ICOUNT, metavar="OPTS",
                    help="QEMU -icount options (default %(default)s; shift must stay 0 for "
                         "the instructions-per-tick figure)")
    ap.add_argument("--kernel", help="the arm64 Image (default %s)" % KERNEL["arm64"])
    ap.add_argument("--kernel-x86", help="the x86-64 ELF for x86-max (default %s)"
                    % KERNEL["x86_64"])
    ap.add_argument("--parse", nargs="+", metavar="LOG",
                    help="parse captured consoles instead of booting QEMU (one study per boot; "
                         "a log with several is split into NAME-1, NAME-2...)")
    ap.add_argument("--icount", action="store_true",
                    help="with --parse: the logs come from QEMU -icount shift=0, so the table "
                         "gives instructions per tick rather than ns")
    ap.add_argument("--name", help="with one --parse log: the name its rows get (default: the "
                                   "file name without extension)")
    ap.add_argument("--out", help="output directory (default build/bbm-study, or "
                                  "build/bbm-study/parsed with --parse)")
    ap.add_argument("--update-doc", nargs="?", const="docs/bbm-study.md", metavar="DOC",
                    help="rewrite the table between the markers in DOC (default "
                         "docs/bbm-study.md) and copy the plots next to it")
    ap.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    ap.add_argument("--reuse-logs", action="store_true",
                    help="instead of booting, read the consoles an earlier run with the same "
                         "options left in --out (CONFIG.log, CONFIG-runN.log): redoes the "
                         "checks, CSVs, plots and table without the boots")
    a = ap.parse_args()

    if a.timeout is None:
        a.timeout = 300 + 400 * a.rounds
    if a.rounds < 1 or a.repeat < 1 or a.jobs < 1 or a.timeout < 1:
        ap.error("--rounds, --repeat, --jobs and --timeout must be positive")
    # Paths given are relative to the caller's directory; defaults to the repository's.
    for k in ("kernel", "kernel_x86", "out", "update_doc"):
        if getattr(a, k):
            setattr(a, k, os.path.abspath(getattr(a, k)))
    shown = dict(zip((os.path.abspath(p) for p in a.parse or []), a.parse or []))
    a.parse = list(shown)
    if not a.no_plots:
        try:
            import matplotlib  # noqa: F401 (checked before any boot, used by plots())
        except ImportError:
            print("bbm-study: no matplotlib for %s: install python3-matplotlib (make deps) "
                  "and run this with /usr/bin/python3, or pass --no-plots" % sys.executable,
                  file=sys.stderr)
            return 1
    os.chdir(ROOT)
    a.kernel = a.kernel or KERNEL["arm64"]
    a.kernel_x86 = a.kernel_x86 or KERNEL["x86_64"]
    a.out = a.out or ("build/bbm-study/parsed" if a.parse else "build/bbm-study")
    os.makedirs(a.out, exist_ok=True)
    determinism = None
    command = None

    if a.parse:
        if a.name and len(a.parse) > 1:
            ap.error("--name needs exactly one log")
        studies, failed = [], False
        for path in a.parse:
            name = a.name or os.path.splitext(os.path.basename(path))[0]
            try:
                with open(path, encoding="utf-8", errors="replace") as f:
                    text = f.read()
            except OSError as e:
                print("bbm-study: %s" % e, file=sys.stderr)
                failed = True
                continue
            try:
                found = parse_console(text, name)
            except StudyError as e:
                print("bbm-study: %s" % e, file=sys.stderr)
                failed = True
                continue
            for s in found:
                s.desc = "parsed from `%s`" % shown[path]
                s.icount = 0 if a.icount else False
                problems = check(s)
                if problems:
                    print("bbm-study: %s: %s" % (s.name, "; ".join(problems)), file=sys.stderr)
                    failed = True
                    continue
                write_csv(s, os.path.join(a.out, s.name + ".csv"))
                studies.append(s)
        if failed:
            return 1
        command = "`scripts/bbm-study.py%s --parse %s`" % (" --icount" if a.icount else "", " ".join(
            shlex.quote(shown[p]) for p in a.parse))
    else:
        configs = [c.strip() for c in a.configs.split(",") if c.strip()]
        bad = [c for c in configs if c not in CONFIGS]
        if bad or not configs:
            ap.error("unknown configuration %s (known: %s)" % (", ".join(bad), ", ".join(CONFIGS)))
        for c in configs:
            k = a.kernel if CONFIGS[c][0] == "arm64" else a.kernel_x86
            if not os.path.isfile(k):
                print("bbm-study: no kernel %s for %s (make ARCH=%s)" % (k, c, CONFIGS[c][0]),
                      file=sys.stderr)
                return 1
        jobs = [(c, r) for c in configs for r in range(1, a.repeat + 1)]
        results, failed = {}, False
        started = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(max_workers=a.jobs) as pool:
            futures = {pool.submit(run_one, c, r, a): (c, r) for c, r in jobs}
            for fut in concurrent.futures.as_completed(futures):
                c, r = futures[fut]
                try:
                    s = fut.result()
                except StudyError as e:
                    print("bbm-study: FAILED %s" % e, file=sys.stderr)
                    failed = True
                    continue
                results[(c, r)] = s
                print("bbm-study: %s run %d: %d rows, %.0f s" % (c, r, len(s.rows), s.wall),
                      file=sys.stderr, flush=True)
        print("bbm-study: %d boots in %.0f s" % (len(jobs), time.monotonic() - started),
              file=sys.stderr)
        if failed:
            return 1
        studies = [results[(c, 1)] for c in configs]
        if a.repeat > 1:
            determinism = []
            for c in configs:
                verdicts = [compare(results[(c, 1)], results[(c, r)])
                            for r in range(2, a.repeat + 1)]
                determinism.append((c, "; ".join(
                    "run %d vs 1: %s" % (r, v) for r, v in zip(range(2, a.repeat + 1), verdicts))))
        command = "scripts/bbm-study.py --rounds %d --configs %s%s" % (
            a.rounds, ",".join(configs), " --repeat %d" % a.repeat if a.repeat > 1 else "")
        boots = ("each boot: `%s`, with `bbm=N` added for the policy levels"
                 % " ".join(shlex.quote(x) for x in qemu_command(
                     "max-bbm2", a.kernel, a.rounds, a.mem, a.icount_opts)).replace("--cpu max", "--cpu CPU"))
        command = "`%s` (%s)" % (command, boots)

    pngs = [] if a.no_plots else plots(studies, a.out)
    text = report(studies, command, determinism)
    with open(os.path.join(a.out, "summary.md"), "w") as f:
        f.write(text + "\n")
    print(text)
    if a.update_doc:
        try:
            update_doc(a.update_doc, text, pngs)
        except StudyError as e:
            print("bbm-study: %s" % e, file=sys.stderr)
            return 1
        print("bbm-study: %s updated" % a.update_doc, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
