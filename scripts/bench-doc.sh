#!/usr/bin/env bash
# Regenerates the engine table in docs/benchmarks.md from `make bench-mm`
# (between the BEGIN/END markers), so the document always shows what the
# command prints.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(make --no-print-directory -s bench-mm 2>/dev/null | grep -v '^python3' || true)
[ -n "$out" ] || { echo "bench-doc: make bench-mm printed nothing" >&2; exit 1; }
python3 - "$out" <<'PY'
import re, sys
path = "docs/benchmarks.md"
doc = open(path).read()
new = "<!-- BEGIN bench-mm -->\n" + sys.argv[1].strip() + "\n<!-- END bench-mm -->"
doc = re.sub(r"<!-- BEGIN bench-mm -->.*?<!-- END bench-mm -->", new, doc, flags=re.S)
open(path, "w").write(doc)
PY
echo "bench-doc: docs/benchmarks.md updated"
