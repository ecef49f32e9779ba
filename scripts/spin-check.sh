#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Checks the SPIN model of the stage-2 fault / invalidate protocol
# (vmm/fault_protocol.pml, docs/fault-protocol.md) and reports in KTAP, one
# case per run.
#
#   scripts/spin-check.sh [CASE...]      every case, or only those named
#
# Each run generates the verifier with spin -a in a temporary directory (never
# the source tree), compiles pan with gcc and searches the whole state space.
#   pass  the model must verify: no error, and a search neither truncated by
#         depth nor stopped by the memory bound.
#   fail  a mutant: pan must report an error, and the one the case names
#         (the assertion, invalid end state or acceptance cycle that catches
#         it). Its counterexample trail is replayed, and its last steps printed.
#   todo  a finding about the C as written (see the docs): like fail, printed
#         "not ok ... # TODO": known broken, so it does not fail the check. A
#         finding that no longer reproduces is a failure: the model drifted.
# Runs go SPIN_CHECK_JOBS (default: nproc) at a time. SPIN_CHECK_KEEP=1 keeps
# the temporary directory (models, pan, trails) and prints its path.
# Exit status: 0 if every case is ok (or TODO or skipped), 1 otherwise.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
model=$here/../vmm/fault_protocol.pml
suite=fault_protocol

# Bounded below what a 2-core machine with a few GiB has; a run that hits it fails.
PAN_MEMLIM_MB=2048
PAN_DEPTH=100000 # the deepest run reaches under 500; a truncated search fails
REPAIRED="-DDIRTY_LOG"
# What a trail excerpt shows: steps on the model's shared variables.
SHARED='inval_seq|present\[|requested\[|mapped\[|pte\[|rlock|failures|dirty\[|logging|slock|owed\[|err_io|assert'
STALE_INSTALL='assertion violated \(present\[p\]&&\(gen\[p\]==seen\)\)'

# name|search|expect|spin -D flags|what the error must say (fail, todo)|TODO reason
cases=(
	"postcopy_safety|safety|pass||"
	"postcopy_safety_two_discards|safety|pass|-DFAULTS=1 -DDISCARDS=2 -DFAILURES=0|"
	"postcopy_liveness|liveness|pass|-DFAULTS=1|"
	"postcopy_liveness_same_pages|liveness|pass|-DFAULTS=1 -DSAME_PAGES|"
	"dirty_log_safety|safety|pass|$REPAIRED|"
	"mutant_no_retry|safety|fail|-DNO_RETRY|$STALE_INSTALL"
	"mutant_bump_after_unlock|safety|fail|-DBUMP_AFTER_UNLOCK|$STALE_INSTALL"
	"mutant_fail_keeps_claim|safety|fail|-DFAIL_KEEPS_CLAIM|invalid end state"
	"mutant_fail_keeps_claim_liveness|liveness|fail|-DFAULTS=1 -DFAIL_KEEPS_CLAIM|acceptance cycle"
	"mutant_harvest_protect_first|safety|fail|$REPAIRED -DHARVEST_PROTECT_FIRST|assertion violated +!\(owed\[p\]\)"
	"mutant_nonatomic_test_and_set|safety|fail|$REPAIRED -DNONATOMIC_TAS|assertion violated \(sets\[p\]==1\)"
	"mutant_old_dirty_fault_order|safety|fail|$REPAIRED -DOLD_DIRTY_FAULT|assertion violated +!\(owed\[p\]\)"
	"mutant_old_log_start_map|safety|fail|$REPAIRED -DOLD_LOG_START|assertion violated +!\(owed\[p\]\)"
	"mutant_old_log_stop_fault|safety|fail|$REPAIRED -DOLD_LOG_STOP|assertion violated +!\(err_io\)"
)

skip_all()
{
	printf 'KTAP version 1\n1..1\n    KTAP version 1\n    # Subtest: %s\n' "$suite"
	printf '    1..0 # SKIP %s\nok 1 %s # SKIP %s\n' "$1" "$suite" "$1"
	exit 0
}

command -v spin >/dev/null 2>&1 || skip_all "spin not installed"
command -v gcc >/dev/null 2>&1 || skip_all "gcc not installed"
[[ -r $model ]] || skip_all "no model at $model"

# The cases asked for, in table order.
selected=()
for c in "${cases[@]}"; do
	name=${c%%|*}
	if (($# == 0)); then
		selected+=("$c")
		continue
	fi
	for want in "$@"; do
		[[ $want == "$name" ]] && selected+=("$c")
	done
done
if ((${#selected[@]} == 0)); then
	echo "spin-check: no case named $*" >&2
	exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/spin-check.XXXXXX")
# shellcheck disable=SC2317 # invoked by the trap
cleanup()
{
	if [[ ${SPIN_CHECK_KEEP:-0} == 1 ]]; then
		echo "# spin-check: kept $tmp" >&2
	else
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT

now()
{
	if [[ -n ${EPOCHREALTIME:-} ]]; then
		echo "${EPOCHREALTIME/,/.}"
	else
		date +%s.%N
	fi
}

# The number after "label" in pan's output (first match), or "?".
pan_figure()
{
	local v
	v=$(sed -nE "s/^[[:space:]]*([0-9.e+]+)[[:space:]]+$1.*/\\1/p" "$2" | head -n1)
	echo "${v:-?}"
}

# Replays NAME's trail (spin -t) and appends its last steps on shared state to NAME/diag.
trail_excerpt()
{
	local dir=$1 steps
	shift
	if (cd "$dir" && spin -t -p "$@" fault_protocol.pml >trail.log 2>&1); then
		steps=$(grep -cE '^ *[0-9]+:[[:space:]]+proc ' "$dir/trail.log" || true)
		echo "# trail: $steps steps; the last that touch shared state:" >>"$dir/diag"
		grep -E "START OF CYCLE|text of failed assertion|^ *[0-9]+:[[:space:]]+proc .*\\[.*($SHARED)" \
			"$dir/trail.log" | sed -E 's/ \(state [0-9]+\)//; s/[[:space:]]+/ /g' |
			tail -n 12 | sed 's/^/#   /' >>"$dir/diag"
	else
		echo "# the trail did not replay" >>"$dir/diag"
	fi
}

# Runs one case in $tmp/NAME; writes its diagnostics to NAME/diag and its verdict to NAME/verdict.
run_case()
{
	local name=$1 search=$2 expect=$3 flags=$4 pattern=$5
	local dir=$tmp/$name opt pan_args t0 t1 errors stored trans depth secs mem line
	local -a dflags
	read -r -a dflags <<<"$flags"
	mkdir -p "$dir"
	cp "$model" "$dir/fault_protocol.pml"
	[[ $search == liveness ]] && dflags+=(-DLIVENESS)
	# A run expected to find an error stops early: compiling fast beats searching fast.
	# (-O2 searches no faster than -O1 and takes a second longer to compile.)
	opt=-O1
	[[ $expect != pass ]] && opt=-O0
	pan_args=(-n -m"$PAN_DEPTH")
	local -a cflags=(-w "$opt" -DMEMLIM="$PAN_MEMLIM_MB")
	if [[ $search == safety ]]; then
		cflags+=(-DSAFETY)
	else
		pan_args+=(-a -f)
	fi
	t0=$(now)
	if ! (cd "$dir" && spin "${dflags[@]}" -a fault_protocol.pml >spin.log 2>&1); then
		sed 's/^/# /' "$dir/spin.log" | head -n 20 >"$dir/diag"
		echo "not ok" >"$dir/verdict"
		return
	fi
	if ! (cd "$dir" && gcc "${cflags[@]}" -o pan pan.c >gcc.log 2>&1); then
		sed 's/^/# /' "$dir/gcc.log" | head -n 20 >"$dir/diag"
		echo "not ok" >"$dir/verdict"
		return
	fi
	t1=$(now)
	(cd "$dir" && timeout 600 ./pan "${pan_args[@]}" >pan.log 2>&1) || true

	errors=$(sed -nE 's/.*errors: ([0-9]+).*/\1/p' "$dir/pan.log" | head -n1)
	stored=$(pan_figure "states, stored" "$dir/pan.log")
	trans=$(pan_figure "transitions" "$dir/pan.log")
	depth=$(sed -nE 's/.*depth reached ([0-9]+).*/\1/p' "$dir/pan.log" | head -n1)
	secs=$(sed -nE 's/^pan: elapsed time ([0-9.e+-]+) seconds.*/\1/p' "$dir/pan.log" | head -n1)
	mem=$(pan_figure "total actual memory usage" "$dir/pan.log")
	{
		printf '# %s: spin %s (%s search)\n' "$name" "${dflags[*]:-(defaults)}" "$search"
		printf '# %s states stored, %s transitions, depth %s, %s MB, %s s search, %s s spin+gcc\n' \
			"$stored" "$trans" "${depth:-?}" "$mem" "${secs:-?}" \
			"$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')"
	} >"$dir/diag"
	if [[ -z $errors ]]; then
		echo "# pan did not finish (timeout or crash):" >>"$dir/diag"
		tail -n 5 "$dir/pan.log" | sed 's/^/#   /' >>"$dir/diag"
		echo "not ok" >"$dir/verdict"
		return
	fi
	if grep -qE 'max search depth too small|reached -DMEMLIM bound|out of memory' "$dir/pan.log"; then
		echo "# search incomplete:" >>"$dir/diag"
		grep -E 'max search depth too small|MEMLIM|out of memory' "$dir/pan.log" |
			head -n 3 | sed 's/^/#   /' >>"$dir/diag"
		echo "not ok" >"$dir/verdict"
		return
	fi

	if [[ $expect == pass ]]; then
		if ((errors == 0)); then
			echo "ok" >"$dir/verdict"
		else
			grep -m1 -E '^pan:[0-9]+:' "$dir/pan.log" | sed 's/^pan:1: /# error: /' \
				>>"$dir/diag" || true
			trail_excerpt "$dir" "${dflags[@]}"
			echo "# the whole trail: SPIN_CHECK_KEEP=1 $0 $name, then" \
				"spin -t -p ${dflags[*]} fault_protocol.pml in $name/" >>"$dir/diag"
			echo "not ok" >"$dir/verdict"
		fi
		return
	fi

	# fail / todo: the named error, with its trail.
	line=$(grep -m1 -E '^pan:[0-9]+:' "$dir/pan.log" || true)
	if ((errors == 0)); then
		echo "# no error found: expected one matching /$pattern/" >>"$dir/diag"
		echo "not ok" >"$dir/verdict"
		return
	fi
	echo "# counterexample: ${line#pan:1: }" >>"$dir/diag"
	if ! grep -qE "$pattern" <<<"$line"; then
		echo "# expected an error matching /$pattern/" >>"$dir/diag"
		echo "not ok" >"$dir/verdict"
		return
	fi
	trail_excerpt "$dir" "${dflags[@]}"
	echo "ok" >"$dir/verdict"
}

jobs_max=${SPIN_CHECK_JOBS:-$(nproc 2>/dev/null || echo 1)}
running=0
for c in "${selected[@]}"; do
	IFS='|' read -r name search expect flags pattern _ <<<"$c"
	if ((running >= jobs_max)); then
		wait -n || true
		running=$((running - 1))
	fi
	run_case "$name" "$search" "$expect" "$flags" "$pattern" &
	running=$((running + 1))
done
wait

echo "KTAP version 1"
echo "1..1"
echo "    KTAP version 1"
echo "    # Subtest: $suite"
echo "    1..${#selected[@]}"
n=0
failed=0
for c in "${selected[@]}"; do
	IFS='|' read -r name search expect flags pattern reason <<<"$c"
	n=$((n + 1))
	dir=$tmp/$name
	verdict=$(cat "$dir/verdict" 2>/dev/null || echo "not ok")
	[[ -r $dir/diag ]] && sed 's/^/        /' "$dir/diag"
	if [[ $expect == todo ]]; then
		if [[ $verdict == ok ]]; then
			echo "    not ok $n $name # TODO $reason"
		else
			echo "        # the finding no longer reproduces as described: update the model"
			echo "    not ok $n $name"
			failed=1
		fi
		continue
	fi
	echo "    $verdict $n $name"
	[[ $verdict == ok ]] || failed=1
done
if ((failed)); then
	echo "not ok 1 $suite"
else
	echo "ok 1 $suite"
fi
exit "$failed"
