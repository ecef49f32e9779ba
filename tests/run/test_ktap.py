"""Unit tests of the runner's KTAP parser and log checks, on inline logs shaped like granule's
(lib/ktap.c). Run: python3 -m unittest discover -s tests/run -p 'test_*.py', or through
runner.py --selftest (make test does)."""
import os
import sys
import textwrap
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ktap  # noqa: E402
import runner  # noqa: E402


def log(text):
    return textwrap.dedent(text).lstrip("\n").splitlines()


PASSING = log("""
    granule: booting via arm64 Image at EL2
    granule: ready (4 CPUs, 2000 MiB free)
    KTAP version 1
    1..2
        KTAP version 1
        # Subtest: pmm
        1..2
        ok 1 alloc_4k
        ok 2 alloc_2m
    ok 1 pmm
        KTAP version 1
        # Subtest: smp
        1..1
        ok 1 all_cpus_online
    ok 2 smp
    granule: exit 0
""")

FAILING = log("""
    KTAP version 1
    1..1
        KTAP version 1
        # Subtest: kmap
        1..3
        ok 1 text_is_rx
            # kmap.c:40: expectation failed: !pte_writable(e)
            # kmap.c:41: 0x1 == 0x0
        not ok 2 rodata_is_ro
        ok 3 guard_page
    not ok 1 kmap
    granule: exit 1
""")

SKIPPED = log("""
    KTAP version 1
    1..2
        KTAP version 1
        # Subtest: vmx
        1..0 # SKIP no VMX on this CPU
    ok 1 vmx # SKIP no VMX on this CPU
        KTAP version 1
        # Subtest: bbm
        1..2
        ok 1 level0_break
        ok 2 level2_direct # SKIP FEAT_BBM level 0
    ok 2 bbm
    granule: exit 0
""")

TRUNCATED = log("""
    KTAP version 1
    1..3
        KTAP version 1
        # Subtest: pmm
        1..1
        ok 1 alloc_4k
    ok 1 pmm
        KTAP version 1
        # Subtest: ipi
        1..4
        ok 1 self_ipi
        ok 2 broadcast
    Synchronous Abort at EL2
""")


class KtapParser(unittest.TestCase):
    def test_passing_suites(self):
        r = ktap.parse(PASSING)
        self.assertEqual([c.name for c in r.cases],
                         ["pmm/alloc_4k", "pmm/alloc_2m", "smp/all_cpus_online"])
        self.assertEqual(r.count(ktap.OK), 3)
        self.assertEqual(r.problems, [])

    def test_failing_case_keeps_its_diagnostics(self):
        r = ktap.parse(FAILING)
        self.assertEqual((r.count(ktap.OK), r.count(ktap.FAIL)), (2, 1))
        bad = [c for c in r.cases if c.status == ktap.FAIL][0]
        self.assertEqual(bad.name, "kmap/rodata_is_ro")
        self.assertTrue(any("expectation failed" in d for d in bad.diag))
        self.assertEqual(r.problems, [])

    def test_skips_carry_reasons(self):
        r = ktap.parse(SKIPPED)
        skips = {c.name: c.reason for c in r.cases if c.status == ktap.SKIP}
        self.assertEqual(skips, {"vmx": "no VMX on this CPU",
                                 "bbm/level2_direct": "FEAT_BBM level 0"})
        self.assertEqual(r.count(ktap.OK), 1)
        self.assertEqual(r.problems, [])

    def test_truncated_log_is_a_problem(self):
        r = ktap.parse(TRUNCATED)
        self.assertEqual(r.count(ktap.OK), 3)  # the cases that did print count
        self.assertTrue(any("ends inside a suite" in p for p in r.problems), r.problems)
        self.assertTrue(any("planned 3 suites, printed 1" in p for p in r.problems), r.problems)

    def test_suite_verdict_must_match_cases(self):
        lines = log("""
            KTAP version 1
            1..1
                1..1
                not ok 1 a
            ok 1 s
        """)
        r = ktap.parse(lines)
        self.assertTrue(any("reported ok but a case failed" in p for p in r.problems))

    def test_several_documents_and_noise(self):
        # Host test binaries each print one document; console noise in between is ignored.
        r = ktap.parse(["noise"] + PASSING + ["more noise"] + FAILING)
        self.assertEqual(r.documents, 2)
        self.assertEqual((r.count(ktap.OK), r.count(ktap.FAIL)), (5, 1))

    def test_crlf_and_no_output(self):
        r = ktap.parse([l + "\r\n" for l in PASSING])
        self.assertEqual(r.count(ktap.OK), 3)
        self.assertEqual(ktap.parse(["granule: exit 0"]).documents, 0)


class LogChecks(unittest.TestCase):
    """runner.judge: the verdict on one run from its log, exit line and launcher status."""

    def cfg(self, **kw):
        base = {"name": "t", "timeout": 10.0, "expect": "0", "expect_output": [], "ktap": True, "rc_check": "exact"}
        base.update(kw)
        return base

    def test_pass(self):
        v = runner.judge(self.cfg(), PASSING, rc=0, timed_out=False)
        self.assertEqual((v.passed, v.failed, v.problems), (3, 0, []))

    def test_timeout_is_a_failure(self):
        v = runner.judge(self.cfg(), PASSING[:-1], rc=124, timed_out=True)
        self.assertEqual(v.passed, 3)
        self.assertEqual(v.failed, 1)
        self.assertTrue(any("timed out" in p for p in v.problems))

    def test_missing_exit_line(self):
        v = runner.judge(self.cfg(), PASSING[:-1], rc=0, timed_out=False)
        self.assertTrue(any("no 'granule: exit N' line" in p for p in v.problems))

    def test_failing_case_explains_exit_status(self):
        v = runner.judge(self.cfg(), FAILING, rc=1, timed_out=False)
        self.assertEqual((v.passed, v.failed), (2, 1))  # no extra failure for "exit 1"

    def test_launcher_status_must_agree(self):
        v = runner.judge(self.cfg(), PASSING, rc=1, timed_out=False)
        self.assertTrue(any("launcher exited 1" in p for p in v.problems))

    def test_expect_output(self):
        lines = ["granule: cmdline: unknown option 'x'", "granule: exit 1"]
        ok = runner.judge(self.cfg(expect="nonzero", ktap=False,
                                   expect_output=["unknown option 'x'"]), lines, 1, False)
        self.assertEqual((ok.passed, ok.failed), (1, 0))
        bad = runner.judge(self.cfg(expect="nonzero", ktap=False,
                                    expect_output=["unknown option 'y'"]), lines, 1, False)
        self.assertEqual((bad.passed, bad.failed), (0, 1))
        zero = runner.judge(self.cfg(expect="nonzero", ktap=False,
                                     expect_output=["unknown"]), lines[:1] + ["granule: exit 0"],
                            0, False)
        self.assertEqual(zero.failed, 1)

    def test_no_ktap_when_required(self):
        v = runner.judge(self.cfg(), ["granule: exit 0"], rc=0, timed_out=False)
        self.assertEqual(v.failed, 1)
        self.assertTrue(any("no KTAP" in p for p in v.problems))


class Launchers(unittest.TestCase):
    """runner.launcher: a matrix entry's files reach uefi-boot.sh as --file options."""

    ARGS = type("Args", (), {"build": "build", "fixtures": "build/test-fixtures"})

    def test_uefi_files_become_file_options(self):
        cfg = runner.normalize("u", {**runner.DEFAULTS, "arch": "arm64", "boot": "uefi",
                                     "files": "a.elf dir/b.elf", "smp": "4"})
        cmd = runner.launcher(cfg, "tcg", self.ARGS)
        self.assertEqual(cmd[:6], ["scripts/uefi-boot.sh", "--file", "a.elf", "--file",
                                   "dir/b.elf", "arm64"])
        self.assertEqual(cmd[6:], ["build/arm64/granule.efi", "test=all", "4", "512M", "max"])

    def test_files_only_for_uefi(self):
        with self.assertRaises(SystemExit):
            runner.normalize("i", {**runner.DEFAULTS, "arch": "arm64", "boot": "image",
                                   "files": "a.elf"})


class CpuTableTest(unittest.TestCase):
    """runner.write_cpu_table: a row names what sets its model apart; what every model of a
    section shares is said once under the table."""

    ARGS = type("Args", (), {"accel": "tcg"})

    def row(self, model, skips, lines=()):
        cfg = {"arch": "arm64", "emulator": "qemu", "cpu": model, "model_of": "cpus-arm64"}
        cases = [ktap.Case(f"c{i}", ktap.SKIP, why) for i, why in enumerate(skips)]
        v = runner.Verdict(passed=3, skipped=len(skips), cases=cases)
        return cfg, v, list(lines) + ["feature: EL2, FEAT_BBM level 0, VHE no"]

    def test_shared_skip_said_once_own_limit_in_row(self):
        import tempfile
        table = [self.row("a53", ["no guest ELF"], ["# strategy c: not usable here: needs BBM 1"]),
                 self.row("max", ["no guest ELF"])]
        with tempfile.NamedTemporaryFile("r", suffix=".md") as f:
            runner.write_cpu_table(f.name, table, self.ARGS, None)
            text = f.read()
        a53 = next(l for l in text.splitlines() if "`a53`" in l)
        mx = next(l for l in text.splitlines() if "`max`" in l)
        self.assertIn("| pass (3 ok, 1 skipped) | strategy c: not usable here: needs BBM 1 |", a53)
        self.assertIn("| pass (3 ok, 1 skipped) | - |", mx)
        self.assertNotIn("no guest ELF", a53 + mx)
        self.assertIn("Not run on any model of `[cpus-arm64]`: no guest ELF.", text)
        self.assertIn("EL2, FEAT_BBM level 0; lacks VHE", a53)


if __name__ == "__main__":
    unittest.main()
