#!/usr/bin/env python3
"""granule's test runner: boots each configuration of tests/run/matrix.cfg, reads its KTAP.

It builds nothing (make does). For each selected configuration it starts a launcher
(scripts/qemu-boot.sh, scripts/uboot-boot.sh, scripts/uefi-boot.sh or scripts/bochs-boot.sh) in
its own process group under a timeout, saves the console to build/test-logs/<config>.log, and
judges the run:
  - every KTAP test case is a test (ok / not ok / # SKIP reason);
  - the kernel's last line "granule: exit N" must be there and match `expect`;
  - a launcher that knows the guest's status (qemu-boot.sh, uboot-boot.sh) must agree with it;
  - a timeout, a crash, a log that ends inside a suite, a missing or contradicted plan is one
    more failed test for the configuration, printed with the log's tail;
  - a configuration with expect_output is one test more: status and every pattern must match.
It ends with one line "N passed, N failed" (", N skipped" when any, each skip's reason above it)
and exits non-zero on any failure.
"""
import argparse
import concurrent.futures
import configparser
import fnmatch
import os
import platform
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
import unittest
from dataclasses import dataclass, field

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, HERE)
import ktap  # noqa: E402

EXIT_LINE = re.compile(r"granule: exit (-?\d+)\s*$")
READY_LINE = "granule: ready"
TAIL_LINES = 25
KILL_GRACE = 5  # seconds between SIGTERM and SIGKILL for the process group

DEFAULTS = {
    "emulator": "", "kernel": "", "cpu": "", "kvm": "any", "kvm_cpu": "auto", "kvm_mem": "", "smp": "1",
    "mem": "512M",
    "machine": "", "accel": "any", "cmdline": "test=all", "timeout": "120", "expect": "0",
    "expect_output": "", "ktap": "", "extra": "", "files": "", "fixtures": "no",
    "group": "default", "cpus": "", "kvm_cmdline": "",
}
BOOTS = ("image", "pvh", "uefi", "bochs", "uboot")


# ------------------------------------------------------------------------------ the matrix
def load_matrix(path):
    parser = configparser.ConfigParser(interpolation=None, default_section="__none__")
    parser.optionxform = str
    with open(path) as f:
        parser.read_file(f)
    configs = []
    for name in parser.sections():
        raw = dict(DEFAULTS)
        raw.update(parser[name])
        configs += expand_cpus(name, raw)
    return configs


def expand_cpus(name, raw):
    """One configuration, or with cpus = A B ... one per CPU model, named NAME@MODEL."""
    models = raw["cpus"].split()
    if not models:
        return [normalize(name, raw)]
    if "cpu" in raw and raw["cpu"]:
        raise SystemExit(f"matrix: [{name}]: cpu and cpus exclude each other")
    configs = []
    for model in models:
        one = dict(raw, cpu=model, kvm_cpu=model)  # the model itself under KVM too
        cfg = normalize(f"{name}@{model}", one)
        cfg["model_of"] = name  # listed in the CPU-model table (--cpu-table)
        configs.append(cfg)
    return configs


def normalize(name, raw):
    arch, boot = raw.get("arch"), raw.get("boot")
    if arch not in ("arm64", "x86_64"):
        raise SystemExit(f"matrix: [{name}]: arch must be arm64 or x86_64, not {arch!r}")
    if boot not in BOOTS:
        raise SystemExit(f"matrix: [{name}]: boot must be one of {', '.join(BOOTS)}")
    unknown = set(raw) - set(DEFAULTS) - {"arch", "boot"}
    if unknown:
        raise SystemExit(f"matrix: [{name}]: unknown key(s) {', '.join(sorted(unknown))}")
    if raw["kvm"] not in ("any", "hardware"):
        raise SystemExit(f"matrix: [{name}]: kvm must be any or hardware")
    if boot == "uboot" and arch != "arm64":
        raise SystemExit(f"matrix: [{name}]: boot = uboot (booti) is arm64 only")
    if raw["files"] and boot != "uefi":
        raise SystemExit(f"matrix: [{name}]: files is only for uefi boots")
    expect = raw["expect"].strip()
    if expect != "nonzero" and not re.fullmatch(r"-?\d+", expect):
        raise SystemExit(f"matrix: [{name}]: expect must be a number or 'nonzero'")
    kernel = raw["kernel"] or {
        "image": f"@BUILD@/{arch}/Image", "uboot": f"@BUILD@/{arch}/Image",
        "pvh": f"@BUILD@/{arch}/granule.elf",
        "uefi": f"@BUILD@/{arch}/granule.efi", "bochs": f"@BUILD@/{arch}/granule.elf"}[boot]
    ktap_default = "test=" in raw["cmdline"] and expect == "0"
    return {
        "name": name, "arch": arch, "boot": boot,
        "emulator": raw["emulator"] or ("bochs" if boot == "bochs" else "qemu"),
        "kernel": kernel,
        "cpu": raw["cpu"] or ("corei7_skylake_x" if boot == "bochs" else "max"),
        "kvm": raw["kvm"], "kvm_cpu": raw["kvm_cpu"], "kvm_mem": raw["kvm_mem"], "smp": raw["smp"], "mem": raw["mem"],
        "machine": raw["machine"], "accel": raw["accel"], "cmdline": raw["cmdline"],
        "timeout": float(raw["timeout"]), "expect": expect,
        "expect_output": [p.strip() for p in raw["expect_output"].splitlines() if p.strip()],
        "ktap": {"yes": True, "no": False, "": ktap_default}[raw["ktap"]],
        "extra": raw["extra"], "files": shlex.split(raw["files"]),
        "fixtures": raw["fixtures"] == "yes",
        "group": raw["group"], "kvm_cmdline": raw["kvm_cmdline"], "model_of": None,
        # What the launcher's exit status promises: qemu-boot.sh and uboot-boot.sh exit with
        # the guest's own status ("exact"); uefi-boot.sh and bochs-boot.sh 0 exactly when the
        # kernel said exit 0 ("zero").
        "rc_check": "exact" if boot in ("image", "pvh", "uboot") else "zero",
    }


def kernel_path(cfg, args):
    return cfg["kernel"].replace("@BUILD@", args.build)


def launcher(cfg, accel, args, kvm=None):
    """The launcher's command line for one configuration."""
    extra = shlex.split(cfg["extra"].replace("@FIXTURES@", args.fixtures))
    kernel = kernel_path(cfg, args)
    cpu, mem = cfg["cpu"], cfg["mem"]
    if accel == "kvm":
        cpu = re.sub(r"^auto", kvm.cpu if kvm and kvm.cpu else "host", cfg["kvm_cpu"])
        mem = cfg["kvm_mem"] or mem
    if cfg["boot"] in ("image", "pvh", "uboot"):
        # uboot-boot.sh takes qemu-boot.sh's arguments (a -initrd among them becomes booti's).
        script = "scripts/uboot-boot.sh" if cfg["boot"] == "uboot" else "scripts/qemu-boot.sh"
        cmd = [script, "--smp", cfg["smp"], "--mem", mem, "--cpu", cpu,
               "--accel", accel]
        if cfg["machine"]:
            cmd += ["--machine", cfg["machine"]]
        return cmd + [cfg["arch"], kernel, cfg["cmdline"], "--"] + extra
    if extra:
        raise SystemExit(f"matrix: [{cfg['name']}]: extra is only for QEMU -kernel boots")
    if cfg["boot"] == "uefi":  # interface: [--file PATH]... ARCH EFI_FILE CMDLINE [SMP] [MEM] [CPU]
        files = [w for f in cfg["files"] for w in ("--file", f)]
        return ["scripts/uefi-boot.sh"] + files + [cfg["arch"], kernel, cfg["cmdline"],
                                                   cfg["smp"], mem, cpu]
    # bochs-boot.sh: ELF CMDLINE [CPU_MODEL] [SMP] [MEM_MB]
    return ["scripts/bochs-boot.sh", kernel, cfg["cmdline"], cpu, cfg["smp"],
            cfg["mem"].rstrip("M")]


# What U-Boot boots need on this machine (scripts/deps.sh installs it): without it, a skip.
UBOOT_BIN = os.environ.get("UBOOT_BIN", "/usr/lib/u-boot/qemu_arm64/u-boot.bin")


def launcher_missing(cfg):
    """Why this machine cannot run the configuration's launcher at all, or None."""
    if cfg["boot"] != "uboot":
        return None
    if not os.path.isfile(UBOOT_BIN):
        return f"no U-Boot at {UBOOT_BIN} (install u-boot-qemu: make deps)"
    if not shutil.which("mkenvimage"):
        return "no mkenvimage (install u-boot-tools: make deps)"
    return None


# ------------------------------------------------------------------------------ KVM
KVM_PROBE_TIMEOUT = 30
# Models tried when KVM refuses "host" and "max" (QEMU 7.2 on some nested hosts: "failed to set
# MSR 0x10a"), newest first per vendor, then QEMU's generic ones. Only those that
# `qemu-system-x86_64 -cpu help` lists are tried.
KVM_MODELS = {
    "AuthenticAMD": ["EPYC-Milan", "EPYC-Rome", "EPYC", "Opteron_G5", "Opteron_G4", "Opteron_G3"],
    "GenuineIntel": ["Icelake-Server", "Cascadelake-Server", "Skylake-Server", "Haswell",
                     "Nehalem"],
}
KVM_GENERIC_MODELS = ["qemu64", "kvm64"]
DROPPED = re.compile(r"host doesn't support requested feature: (\S+)")


@dataclass
class Kvm:
    problem: str = ""  # why KVM cannot run a guest here ("" when it can)
    cpu: str = ""  # the model configurations with kvm_cpu = auto get
    why: str = ""  # how that model was chosen
    module: str = ""  # the host's KVM implementation (kvm_intel, kvm_amd, kvm_pvm)


# Which kernel module implements /dev/kvm. kvm_pvm (the "pagetable-based virtual machine", as on
# these CI hosts: KVM inside a VM without nested VMX/SVM) runs guests without VMX or SVM, on
# shadow page tables, and emulates the instructions after each exit in a batch with an emulator
# that stops at SSE and x87 instructions ("KVM internal error. Suberror: 1", emulation failure):
# OVMF and the newlib-hosted test guests meet one at once.
KVM_MODULES = ("kvm_intel", "kvm_amd", "kvm_pvm")


def kvm_module():
    return next((m for m in KVM_MODULES if os.path.isdir(f"/sys/module/{m}")), "unknown")


def probe_image(workdir):
    # A boot sector that writes 0 to isa-debug-exit: QEMU exits 1 only if the guest ran.
    sector = bytes([0xB0, 0x00, 0xE6, 0xF4, 0xF4, 0xEB, 0xFD])  # mov al,0; out 0xf4,al; hlt; jmp
    img = os.path.join(workdir, "kvm-probe.img")
    os.makedirs(workdir, exist_ok=True)
    with open(img, "wb") as f:
        f.write(sector.ljust(510, b"\0") + b"\x55\xaa")
    return img


def probe_model(img, cpu):
    """(None, dropped features) when the tiny guest ran under KVM with -cpu CPU, else (why, [])."""
    try:
        p = subprocess.run(
            ["timeout", "-k", "5", str(KVM_PROBE_TIMEOUT), "qemu-system-x86_64", "-accel", "kvm",
             "-cpu", cpu, "-machine", "pc", "-display", "none", "-nic", "none",
             "-monitor", "none", "-serial", "none", "-drive", f"format=raw,file={img},if=ide",
             "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"],
            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=KVM_PROBE_TIMEOUT + 10)
    except subprocess.TimeoutExpired:
        return f"-cpu {cpu}: the tiny guest did not finish", []
    if p.returncode == 1:
        return None, DROPPED.findall(p.stderr)
    errors = [l for l in p.stderr.strip().splitlines() if "warning:" not in l]
    why = (errors or [f"exit status {p.returncode}"])[-1]
    return f"-cpu {cpu}: {why.replace('qemu-system-x86_64: ', '')}", []


def kvm_candidates():
    """Named models worth trying on this host's vendor, in order, that this QEMU has."""
    try:
        listed = set(subprocess.run(["qemu-system-x86_64", "-cpu", "help"], capture_output=True,
                                    text=True, timeout=30).stdout.split())
    except (OSError, subprocess.TimeoutExpired):
        listed = set()
    vendor = ""
    try:
        with open("/proc/cpuinfo") as f:
            vendor = next((l.split(":")[1].strip() for l in f if l.startswith("vendor_id")), "")
    except OSError:
        pass
    return [m for m in KVM_MODELS.get(vendor, []) + KVM_GENERIC_MODELS if m in listed]


def kvm_probe(workdir):
    """Whether KVM runs an x86-64 guest here, and with which CPU model.

    "host" is taken when it works. Otherwise every candidate model is booted (two at a time) and
    the one whose features KVM gives most completely wins: QEMU warns for each feature a model
    asks for that the host's KVM lacks and silently drops it, so a model with fewer drops is more
    truly what its name says (ties: the order of KVM_MODELS)."""
    if not os.path.exists("/dev/kvm"):
        return Kvm(problem="/dev/kvm does not exist")
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return Kvm(problem="/dev/kvm is not readable and writable by this user")
    img = probe_image(workdir)
    module = kvm_module()
    refused = []
    for cpu in ("host", "max"):
        why, dropped = probe_model(img, cpu)
        if why is None:
            return Kvm(cpu=cpu, module=module, why=f"-cpu {cpu} runs" + (
                f" ({len(dropped)} features dropped)" if dropped else ""))
        refused.append(why)
    models = kvm_candidates()
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        results = list(zip(models, pool.map(lambda m: probe_model(img, m), models)))
    ran = [(len(dropped), i, m, dropped) for i, (m, (why, dropped)) in enumerate(results)
           if why is None]
    refused += [why for _, (why, _) in results if why is not None]
    if not ran:
        return Kvm(problem="/dev/kvm cannot run a guest (" + "; ".join(refused) + ")",
                   module=module)
    n, _, cpu, dropped = min(ran)
    others = ", ".join(f"{m} {k}" for k, _, m, _ in sorted(ran) if m != cpu)
    why = (f"{'; '.join(refused[:2])}; of the models that run, {cpu} loses the fewest "
           f"features to this KVM ({n}: {' '.join(dropped) or 'none'})"
           + (f"; others: {others}" if others else ""))
    return Kvm(cpu=cpu, why=why, module=module)


def host_arch():
    return {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64",
            "arm64": "arm64"}.get(platform.machine(), platform.machine())


def accelerator_mismatch(cfg, accel):
    """Whether the config is for another accelerator than this run's (not a model's result)."""
    if accel == "kvm":
        return cfg["arch"] != host_arch() or cfg["emulator"] != "qemu" or cfg["accel"] == "tcg"
    return cfg["accel"] == "kvm"


def skip_reason(cfg, accel, kvm):
    if accel != "kvm":
        if cfg["accel"] == "kvm":
            return "needs KVM (run make test ACCEL=kvm)"
        return None
    if cfg["arch"] != host_arch():
        return f"KVM cannot run an {cfg['arch']} guest on this {host_arch()} host"
    if cfg["emulator"] != "qemu":
        return f"{cfg['emulator']} has no KVM mode"
    if cfg["accel"] == "tcg":
        return "this configuration tests something only TCG provides"
    if kvm.problem:
        return kvm.problem
    if cfg["kvm"] == "hardware" and kvm.module == "kvm_pvm":
        return ("needs a hardware-assisted KVM (kvm_intel, kvm_amd); this host's is kvm_pvm, "
                "whose instruction emulator stops at SSE and x87 (OVMF, newlib guests)")
    return None


# ------------------------------------------------------------------------------ one run
@dataclass
class Verdict:
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    problems: list = field(default_factory=list)  # config-level failures (one test)
    cases: list = field(default_factory=list)
    exit_status: object = None
    skip: str = ""  # reason the whole configuration was skipped


def expect_matches(expect, status):
    return status != 0 if expect == "nonzero" else status == int(expect)


def judge(cfg, lines, rc, timed_out):
    """The verdict on one finished run."""
    v = Verdict()
    text = "\n".join(l.rstrip("\r\n") for l in lines)
    exits = [EXIT_LINE.search(l.rstrip("\r\n")) for l in lines]
    exits = [int(m.group(1)) for m in exits if m]
    v.exit_status = exits[-1] if exits else None

    if cfg["ktap"]:
        report = ktap.parse(lines)
        v.cases = report.cases
        v.passed += report.count(ktap.OK)
        v.failed += report.count(ktap.FAIL)
        v.skipped += report.count(ktap.SKIP)
        if not report.documents:
            v.problems.append("no KTAP output")
        v.problems += report.problems

    if timed_out:
        v.problems.append(f"timed out after {cfg['timeout']:g} s")
    elif v.exit_status is None:
        v.problems.append(f"no 'granule: exit N' line (crash or hang?); launcher exited {rc}")
    else:
        if not expect_matches(cfg["expect"], v.exit_status):
            explained = cfg["expect"] == "0" and v.failed and v.exit_status == 1
            if not explained:
                v.problems.append(f"kernel exit {v.exit_status}, expected {cfg['expect']}")
        if (cfg["rc_check"] == "exact" and rc != v.exit_status) or \
                (cfg["rc_check"] == "zero" and (rc == 0) != (v.exit_status == 0)):
            v.problems.append(f"launcher exited {rc}, but the kernel said exit {v.exit_status}")

    for pattern in cfg["expect_output"]:
        if not re.search(pattern, text, re.MULTILINE):
            v.problems.append(f"output lacks /{pattern}/")

    if cfg["expect_output"]:
        if v.problems:
            v.failed += 1
        else:
            v.passed += 1
    elif v.problems:
        v.failed += 1
    return v


def log_name(args, cfg, run):
    """build/test-logs/<config>.log, or <config>.<run>.log with --repeat."""
    suffix = f".{run + 1}" if args.repeat > 1 else ""
    return os.path.join(args.logs, cfg["name"] + suffix + ".log")


def run_config(cfg, args, kvm, run=0):
    """Boots one configuration; returns (Verdict, seconds to ready or None, total seconds)."""
    reason = skip_reason(cfg, args.accel, kvm) or launcher_missing(cfg)
    if reason:
        return Verdict(skipped=1, skip=reason), None, 0.0
    accel = "kvm" if args.accel == "kvm" else "tcg"
    cmd = launcher(cfg, accel, args, kvm)
    log_path = log_name(args, cfg, run)
    os.makedirs(args.logs, exist_ok=True)
    if not os.path.exists(kernel_path(cfg, args)):
        v = Verdict(failed=1, problems=[
            f"{kernel_path(cfg, args)} does not exist (make did not build it)"])
        with open(log_path, "w") as f:
            f.write(v.problems[0] + "\n")
        return v, None, 0.0

    lines, ready = [], [None]
    start = time.monotonic()
    # uefi-boot.sh and bochs-boot.sh have their own timeouts: the matrix's applies. uefi-boot.sh
    # takes more QEMU arguments in QEMU_EXTRA.
    env = dict(os.environ, TIMEOUT=str(int(cfg["timeout"])), BOCHS_TIMEOUT=str(int(cfg["timeout"])))
    if cfg["boot"] == "uefi" and accel == "kvm":
        env["QEMU_EXTRA"] = "-accel kvm"
    # timeout(1) as well, so the emulator dies even if this runner is killed.
    full = ["timeout", "-k", str(KILL_GRACE), str(int(cfg["timeout"]) + 2 * KILL_GRACE)] + cmd
    with open(log_path, "wb") as log:
        log.write(("# " + shlex.join(cmd) + "\n").encode())
        proc = subprocess.Popen(full, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, start_new_session=True, env=env,
                                cwd=ROOT)

        def reader():
            for raw in proc.stdout:
                log.write(raw)
                log.flush()
                line = raw.decode("utf-8", "replace")
                if ready[0] is None and READY_LINE in line:
                    ready[0] = time.monotonic() - start
                lines.append(line)

        t = threading.Thread(target=reader, daemon=True)
        t.start()
        timed_out = False
        try:
            rc = proc.wait(timeout=cfg["timeout"])
        except subprocess.TimeoutExpired:
            timed_out = True
            rc = None
        kill_group(proc)
        if rc is None:
            rc = proc.wait()
        t.join(timeout=KILL_GRACE)
    total = time.monotonic() - start
    return judge(cfg, lines, rc, timed_out), ready[0], total


def kill_group(proc):
    """Ends whatever the launcher left running in its process group."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + KILL_GRACE
    while time.monotonic() < deadline:
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            return
        proc.poll()
        time.sleep(0.1)
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


# ------------------------------------------------------------------------------ other sources
def run_command(name, command, args):
    """Runs a command printing KTAP (the host tests); judged like a boot, without exit line."""
    log_path = os.path.join(args.logs, name + ".log")
    os.makedirs(args.logs, exist_ok=True)
    start = time.monotonic()
    with open(log_path, "wb") as log:
        p = subprocess.run(command, shell=True, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, cwd=ROOT)
        log.write(p.stdout)
    lines = p.stdout.decode("utf-8", "replace").splitlines()
    report = ktap.parse(lines)
    v = Verdict(cases=report.cases, passed=report.count(ktap.OK),
                failed=report.count(ktap.FAIL), skipped=report.count(ktap.SKIP),
                problems=list(report.problems))
    if not report.documents:
        v.problems.append("no KTAP output")
    if p.returncode != 0 and not v.failed:
        v.problems.append(f"'{command}' exited {p.returncode}")
    if v.problems:
        v.failed += 1
    return v, lines, time.monotonic() - start


def run_selftest():
    """The runner's own unit tests (tests/run/test_*.py), as a verdict."""
    suite = unittest.defaultTestLoader.discover(HERE, pattern="test_*.py", top_level_dir=HERE)
    result = unittest.TestResult()
    suite.run(result)
    v = Verdict(passed=result.testsRun - len(result.failures) - len(result.errors)
                - len(result.skipped))
    for test, trace in result.failures + result.errors:
        v.failed += 1
        v.cases.append(ktap.Case(test.id(), ktap.FAIL, "", trace.splitlines()[-8:]))
    for test, why in result.skipped:
        v.skipped += 1
        v.cases.append(ktap.Case(test.id(), ktap.SKIP, why))
    return v


# ------------------------------------------------------------------------------ reporting
def print_verdict(name, v, ready, total, lines_for_tail=None, log_path=None):
    if v.skip:
        print(f"SKIP  {name}: {v.skip}")
        return
    status = "FAIL" if v.failed else "PASS"
    counts = f"{v.passed} passed, {v.failed} failed" + (f", {v.skipped} skipped" if v.skipped
                                                         else "")
    timing = (f"  ready {ready:.2f} s" if ready is not None else "") + \
        (f"  total {total:.1f} s" if total else "")
    exit_note = f"  exit {v.exit_status}" if v.exit_status is not None else ""
    print(f"{status}  {name}: {counts}{timing}{exit_note}")
    for c in v.cases:
        if c.status == ktap.FAIL:
            print(f"      not ok {c.name}")
            for d in c.diag[-12:]:
                print(f"          {d.rstrip()}")
    for p in v.problems:
        print(f"      problem: {p}")
    if v.problems and lines_for_tail is not None:
        print(f"      last lines of {log_path}:")
        for line in lines_for_tail[-TAIL_LINES:]:
            print(f"        | {line.rstrip()}")


# ------------------------------------------------------------------------------ CPU-model table
FEATURE_LINE = re.compile(r"^feature: (.*)$")


def notable_features(lines):
    """The kernel's own 'feature:' lines, condensed: what the CPU has, and what it lacks."""
    has, lacks = [], []
    for line in lines:
        m = FEATURE_LINE.match(line.rstrip("\r\n"))
        if not m or m.group(1).startswith("CPU:"):
            continue
        for item in re.split(r",\s*(?![^()]*\))", m.group(1)):
            item = re.sub(r"\s*\((?:not used|calibrated[^)]*)\)", "", item.strip())
            words = item.rsplit(" ", 1)
            if len(words) == 2 and words[1] == "no":
                lacks.append(words[0].rstrip(":"))
            elif len(words) == 2 and words[1] in ("yes", "supported"):
                has.append(words[0].rstrip(":"))
            elif item and not item.startswith(("IA32_ARCH_CAPABILITIES", "TSC:", "live ")):
                has.append(item)
    text = ", ".join(has)
    return text + ("; lacks " + ", ".join(lacks) if lacks else "")


NOT_USABLE = re.compile(r"^#?\s*(.*\bnot usable here\b.*)$")


def model_result(v):
    """The result cell: passed/failed counts, the whole-run skip, or what failed."""
    if v.skip:
        return f"skipped: {v.skip}"
    if v.failed:
        why = "; ".join(v.problems[:2]) or ", ".join(
            c.name for c in v.cases if c.status == ktap.FAIL)[:200]
        return f"**FAIL** ({v.failed}): {why}"
    return f"pass ({v.passed} ok" + (f", {v.skipped} skipped" if v.skipped else "") + ")"


def model_limits(v, lines):
    """Why parts did not run on this model: its skipped cases' reasons and the strategies or
    modes the kernel called not usable here, each once, in the order they appeared."""
    reasons = [c.reason for c in v.cases if c.status == ktap.SKIP and c.reason]
    reasons += [m.group(1).strip() for m in map(NOT_USABLE.match, (l.strip() for l in lines)) if m]
    return list(dict.fromkeys(r.replace("|", "/") for r in reasons))


def write_cpu_table(path, table, args, kvm):
    """One table for the run. A limit every model of a matrix section shares (the section boots
    no guest ELF, x86 has no PSCI) is said once under the table, so a row shows what sets its
    model apart."""
    qemu = subprocess.run(["qemu-system-x86_64", "--version"], capture_output=True, text=True)
    version = (qemu.stdout.splitlines() or ["QEMU version unknown"])[0]
    limits = [model_limits(v, lines) for _, v, lines in table]
    common = {}
    for section in dict.fromkeys(c["model_of"] for c, _, _ in table):
        ran = [set(l) for (c, v, _), l in zip(table, limits)
               if c["model_of"] == section and not v.skip]
        common[section] = set.intersection(*ran) if len(ran) > 1 else set()
    rows = [f"### {args.accel.upper()}{' and Bochs' if args.accel == 'tcg' else ''}: "
            f"{', '.join(sorted({c['model_of'] for c, _, _ in table}))}",
            "",
            f"Written by `tests/run/runner.py --cpu-table` on {time.strftime('%Y-%m-%d')} "
            f"({version}).",
            "",
            "| arch | emulator | CPU model | result | what did not run, and why "
            "| features the kernel reported |",
            "|---|---|---|---|---|---|"]
    for (cfg, v, lines), limit in zip(table, limits):
        emulator = cfg["emulator"] if cfg["emulator"] == "bochs" else f"QEMU {args.accel.upper()}"
        own = [r for r in limit if r not in common[cfg["model_of"]]]
        rows.append(f"| {cfg['arch']} | {emulator} | `{cfg['cpu']}` | {model_result(v)} "
                    f"| {'; '.join(own) or '-'} | {notable_features(lines).replace('|', '/')} |")
    for section, shared in common.items():
        seen = [r for (c, _, _), l in zip(table, limits) if c["model_of"] == section for r in l]
        if shared:
            rows += ["", f"Not run on any model of `[{section}]`: "
                     + "; ".join(r for r in dict.fromkeys(seen) if r in shared) + "."]
    with open(path, "w") as f:
        f.write("\n".join(rows) + "\n")


def read_log(path):
    try:
        with open(path, errors="replace") as f:
            return f.read().splitlines()
    except OSError:
        return []


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--matrix", default=os.path.join(HERE, "matrix.cfg"))
    ap.add_argument("--arch", action="append", help="only this architecture (repeatable)")
    ap.add_argument("--config", action="append", metavar="GLOB",
                    help="only configurations whose name matches (repeatable)")
    ap.add_argument("--list", action="store_true", help="list the selected configurations")
    ap.add_argument("-j", "--jobs", type=int, default=1, help="boots at once (default 1)")
    ap.add_argument("--repeat", type=int, default=1, metavar="N",
                    help="boot each configuration N times (every run counts) and print the "
                    "median time to ready")
    ap.add_argument("--accel", choices=("tcg", "kvm"), default="tcg")
    ap.add_argument("--logs", default="build/test-logs")
    ap.add_argument("--fixtures", default="build/test-fixtures")
    ap.add_argument("--build", default="build",
                    help="where make put the images: BUILD/ARCH/Image etc. (default build)")
    ap.add_argument("--host", metavar="COMMAND",
                    help="also run this command and count the KTAP it prints (host tests)")
    ap.add_argument("--selftest", action="store_true", help="also run the runner's unit tests")
    ap.add_argument("--fail", action="append", default=[], metavar="WHAT",
                    help="count one failure for WHAT (make test: a build that failed)")
    ap.add_argument("--no-matrix", action="store_true", help="boot nothing")
    ap.add_argument("--group", action="append", metavar="NAME",
                    help="configurations of this group (matrix key group; repeatable; 'all': "
                    "every group). Default: the default group, or every group with --config")
    ap.add_argument("--cpu-table", metavar="FILE",
                    help="write a Markdown table of the CPU-model configurations that ran "
                    "(matrix key cpus): model, result, the features the kernel reported")
    args = ap.parse_args()
    os.chdir(ROOT)

    configs = [] if args.no_matrix else load_matrix(args.matrix)
    if args.arch:
        configs = [c for c in configs if c["arch"] in args.arch]
    if args.config:
        configs = [c for c in configs if any(fnmatch.fnmatch(c["name"], g) for g in args.config)]
    groups = args.group or ([] if args.config else ["default"])
    if groups and "all" not in groups:
        configs = [c for c in configs if c["group"] in groups]
    if args.accel == "kvm":
        for c in configs:
            c["cmdline"] = c["kvm_cmdline"] or c["cmdline"]
    if args.list:
        for c in configs:
            print(f"{c['name']:<26} {c['arch']:<7} {c['boot']:<6} "
                  f"{shlex.join(launcher(c, args.accel, args, Kvm(cpu='auto')))}")
        return 0
    if not configs and not args.host and not args.selftest and not args.fail:
        print("runner: no configuration selected", file=sys.stderr)
        return 2

    totals = Verdict()
    skips = []

    def add(name, v):
        totals.passed += v.passed
        totals.failed += v.failed
        totals.skipped += v.skipped
        if v.skip:
            skips.append(f"{name}: {v.skip}")
        for c in v.cases:
            if c.status == ktap.SKIP:
                skips.append(f"{name}: {c.name}: {c.reason or '(no reason given)'}")

    for what in args.fail:
        v = Verdict(failed=1, problems=[what])
        print_verdict("build", v, None, 0)
        add("build", v)
    if args.selftest:
        v = run_selftest()
        print_verdict("runner-selftest", v, None, 0)
        add("runner-selftest", v)
    if args.host:
        v, lines, total = run_command("host", args.host, args)
        print_verdict("host", v, None, total, lines, os.path.join(args.logs, "host.log"))
        add("host", v)

    kvm = Kvm()
    if args.accel == "kvm" and any(c["arch"] == host_arch() for c in configs):
        kvm = kvm_probe("build")
        if kvm.problem:
            print(f"runner: KVM unusable: {kvm.problem}")
        else:
            print(f"runner: KVM ({kvm.module}) usable; kvm_cpu = auto is -cpu {kvm.cpu}: {kvm.why}")
    if any(c["fixtures"] for c in configs):
        subprocess.run([sys.executable, os.path.join(HERE, "mkfixtures.py"), args.fixtures],
                       check=True)

    runs = [(c, r) for c in configs for r in range(max(1, args.repeat))]
    readies = {}
    table = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = [(c, r, pool.submit(run_config, c, args, kvm, r)) for c, r in runs]
        for i, (c, r, fut) in enumerate(futures):  # reported in matrix order
            v, ready, total = fut.result()
            log_path = log_name(args, c, r)
            print_verdict(c["name"], v, ready, total, read_log(log_path), log_path)
            add(c["name"], v)
            if c["model_of"] and not (v.skip and accelerator_mismatch(c, args.accel)):
                table.append((c, v, read_log(log_path)))
                if args.cpu_table:  # kept current, so an interrupted run still has its rows
                    write_cpu_table(args.cpu_table, table, args, kvm)
            if ready is not None:
                readies.setdefault(c["name"], []).append(ready)
            last = i + 1 == len(futures) or futures[i + 1][0] is not c
            if args.repeat > 1 and last and c["name"] in readies:
                times = sorted(readies[c["name"]])
                print(f"      median ready {statistics.median(times):.2f} s over {len(times)} "
                      f"runs (min {times[0]:.2f}, max {times[-1]:.2f})")
            sys.stdout.flush()

    if args.cpu_table:
        write_cpu_table(args.cpu_table, table, args, kvm)
        print(f"runner: wrote {args.cpu_table} ({len(table)} CPU models)")
    if skips:
        print("skipped:")
        for s in skips:
            print(f"  {s}")
    line = f"{totals.passed} passed, {totals.failed} failed"
    if totals.skipped:
        line += f", {totals.skipped} skipped"
    print(line)
    return 1 if totals.failed else 0


if __name__ == "__main__":
    sys.exit(main())
