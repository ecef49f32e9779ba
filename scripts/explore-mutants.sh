#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs each engine mutant's explorer (mk/host.mk builds DIR/NAME/explore from
# MUTATIONS/NAME.diff) on the scenarios its diff names ("# explore-scenarios:")
# and reports, in KTAP, whether the explorer caught the bug: a mutant that
# passes every schedule is a failure of the explorer, not of the engine.
set -euo pipefail

dir=${1:?usage: explore-mutants.sh BUILD-DIR MUTATIONS-DIR}
mutations=${2:?usage: explore-mutants.sh BUILD-DIR MUTATIONS-DIR}
shopt -s nullglob
diffs=("$mutations"/*.diff)
failed=0

echo "KTAP version 1"
echo "1..${#diffs[@]}"
n=0
for diff in "${diffs[@]}"; do
	n=$((n + 1))
	name=$(basename "$diff" .diff)
	read -r -a scenarios <<<"$(sed -n 's/^# explore-scenarios: //p' "$diff")"
	log="$dir/$name/explore.log"
	if [[ ! -x "$dir/$name/explore" ]]; then
		echo "# mutant $name: $dir/$name/explore was not built (does the diff still apply?)"
		echo "not ok $n mutant_$name"
		failed=1
		continue
	fi
	rc=0
	# In a child shell: its report of an abort goes to the log, not to our output.
	bash -c '"$@"; exit $?' explore "$dir/$name/explore" "${scenarios[@]}" >"$log" 2>&1 || rc=$?
	# 1: a schedule failed its checks; 134: the engine's own BUG_ON fired in one.
	if ((rc != 1 && rc != 134)); then
		if ((rc == 0)); then
			echo "# mutant $name: every schedule of ${scenarios[*]} passed: the explorer missed it"
		else
			echo "# mutant $name: exit $rc, see $log"
		fi
		echo "not ok $n mutant_$name"
		failed=1
		continue
	fi
	# What caught it: the first failing scenario's verdict and its schedule.
	grep -m1 -E 'FAILED|aborted|PANIC|BUG' "$log" | sed 's/^ *#* */# /' || true
	grep -m1 'schedule (' "$log" | sed 's/^ *#* */# /' || true
	echo "# caught: exit $rc"
	echo "ok $n mutant_$name"
done
exit $failed
