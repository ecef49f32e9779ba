"""KTAP parser for the granule test runner (Documentation/dev-tools/ktap.rst).

A console log may hold anything (boot messages, several KTAP documents, an exception report).
A document starts at a "KTAP version N" (or "TAP version N") line; nesting is by indentation,
four spaces a level. Every result line without results nested under it is a *test case*; a
result line with nested results is a suite (its own line is checked, not counted). A suite
skipped as a whole ("1..0" then "ok 1 name # SKIP reason") is one skipped case.

parse(lines) -> Report with .cases (Case: name, status, reason, diag) and .problems (strings:
plan mismatches, a log that ends inside a suite, a suite whose verdict contradicts its cases).
"""
import re
from dataclasses import dataclass, field

OK, FAIL, SKIP = "ok", "not ok", "skip"
DIAG_LINES = 30  # lines of context kept for a failing case

_VERSION = re.compile(r"^(\s*)K?TAP version \d+\s*$")
_PLAN = re.compile(r"^(\s*)1\.\.(\d+)\s*(?:#\s*(.*))?$")
_RESULT = re.compile(
    r"^(\s*)(ok|not ok)\s+(\d+)(?:\s+-)?\s*(.*?)\s*(?:#\s*(SKIP|TODO)\b:?\s*(.*?))?\s*$",
    re.IGNORECASE)


@dataclass
class Case:
    name: str
    status: str  # OK, FAIL or SKIP
    reason: str = ""  # the SKIP reason
    diag: list = field(default_factory=list)  # lines printed while it ran (failures only)


@dataclass
class Report:
    cases: list = field(default_factory=list)
    problems: list = field(default_factory=list)
    documents: int = 0

    def count(self, status):
        return sum(1 for c in self.cases if c.status == status)


@dataclass
class _Result:
    depth: int
    name: str
    status: str
    reason: str
    diag: list
    children: list  # _Result entries nested under it


class _Document:
    def __init__(self, base, report):
        self.base = base  # indentation of the version line
        self.report = report
        self.plans = {}  # depth -> planned count for the block being read
        self.pending = {}  # depth -> results not yet claimed by a parent
        self.context = []  # lines since the last result line

    def depth(self, indent):
        return max(0, (len(indent.expandtabs(8)) - self.base) // 4)

    def line(self, line):
        m = _RESULT.match(line)
        if m:
            self.result(m)
            return
        m = _PLAN.match(line)
        if m:
            self.plans[self.depth(m.group(1))] = int(m.group(2))
            return
        self.context.append(line.rstrip())
        del self.context[:-DIAG_LINES]

    def result(self, m):
        d = self.depth(m.group(1))
        ok = m.group(2).lower() == "ok"
        directive = (m.group(5) or "").upper()
        status = SKIP if directive == "SKIP" else OK if ok or directive == "TODO" else FAIL
        name = m.group(4) or f"#{m.group(3)}"
        children = self.pending.pop(d + 1, [])
        planned = self.plans.pop(d + 1, None)
        # Anything deeper belongs to a block that never closed properly.
        for deeper in [k for k in self.pending if k > d + 1]:
            children.extend(self.pending.pop(deeper))
        if children and planned is not None and planned != len(children):
            self.report.problems.append(
                f"{name}: planned {planned} results, printed {len(children)}")
        res = _Result(d, name, status, m.group(6) or "", self.context if status == FAIL else [],
                      children)
        self.context = []
        self.pending.setdefault(d, []).append(res)

    def finish(self):
        """Turns the result tree into cases; reports what is missing."""
        tops = self.pending.pop(0, [])
        planned = self.plans.get(0)
        for d in sorted(self.pending):
            orphans = self.pending[d]
            self.report.problems.append(
                f"log ends inside a suite: {len(orphans)} result(s) after the last complete "
                f"suite have no closing result line (crash or hang?)")
            self._emit(orphans, "(unfinished suite)")
        if planned is not None and planned != len(tops):
            self.report.problems.append(f"planned {planned} suites, printed {len(tops)}")
        if planned is None and not tops:
            self.report.problems.append("KTAP document with no plan and no results")
        self._emit(tops, "")

    def _emit(self, results, prefix):
        for r in results:
            path = f"{prefix}/{r.name}" if prefix else r.name
            if not r.children:
                self.report.cases.append(Case(path, r.status, r.reason, r.diag))
                continue
            self._emit(r.children, path)
            failed = any(c.status == FAIL for c in _leaves(r))
            if r.status == FAIL and not failed:
                self.report.cases.append(
                    Case(path, FAIL, "", r.diag or ["suite reported not ok, all its cases ok"]))
            elif r.status == OK and failed:
                self.report.problems.append(f"{path}: suite reported ok but a case failed")


def _leaves(r):
    if not r.children:
        return [r]
    return [leaf for c in r.children for leaf in _leaves(c)]


def parse(lines):
    report = Report()
    doc = None
    for raw in lines:
        line = raw.rstrip("\r\n").replace("\r", "")
        m = _VERSION.match(line)
        if m and (doc is None or len(m.group(1)) <= doc.base):
            if doc:
                doc.finish()
            doc = _Document(len(m.group(1)), report)
            report.documents += 1
            continue
        if doc:
            doc.line(line)
    if doc:
        doc.finish()
    return report
