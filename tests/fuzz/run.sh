#!/bin/bash
#
# tests/fuzz/run.sh - run libFuzzer targets: first on their regression inputs, then for a
# bounded time from their seed corpus.
#
#   FUZZ_SECS=20 tests/fuzz/run.sh BINDIR TARGET...        (what "make fuzz-run" does)
#
# For each TARGET (a program BINDIR/TARGET built with ./configure --enable-fuzz CC=clang):
#   1. every file of tests/fuzz/regress/TARGET/ (inputs that once crashed, kept for good) is
#      run once: any crash fails;
#   2. the target fuzzes for FUZZ_SECS seconds (default 20) on one core, starting from a copy
#      of tests/fuzz/corpus/TARGET/ (the tree is not written), with FUZZ_DICT if present.
# A crash leaves its input in $FUZZ_OUT (default /tmp/mps-fuzz-out) as crash-TARGET-*;
# copy it into tests/fuzz/regress/TARGET/ once the bug is fixed.  One summary line per
# target: runs, corpus size, coverage; exit status 1 if any target crashed.
set -u
here=$(cd "$(dirname "$0")" && pwd)
bindir=$1
shift
secs=${FUZZ_SECS:-20}
out=${FUZZ_OUT:-/tmp/mps-fuzz-out}
mkdir -p "$out"
rc=0
for t in "$@"; do
	bin=$bindir/$t
	[ -x "$bin" ] || { echo "FAIL $t: $bin not built (./configure --enable-fuzz CC=clang)"; rc=1; continue; }
	reg=$here/regress/$t
	if [ -d "$reg" ] && [ -n "$(ls -A "$reg" 2>/dev/null)" ]; then
		if ! "$bin" -runs=1 "$reg"/* >"$out/$t-regress.log" 2>&1; then
			echo "FAIL $t: a regression input crashes again (log: $out/$t-regress.log)"
			rc=1
			continue
		fi
	fi
	work=$(mktemp -d "/tmp/mps-fuzz-$t.XXXXXX")
	[ -d "$here/corpus/$t" ] && cp -r "$here/corpus/$t/." "$work/"
	if "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$out/crash-$t-" "$work" >"$out/$t.log" 2>&1; then
		stats=$(grep -E '^stat::number_of_executed_units|^#[0-9]+.*DONE' "$out/$t.log" |
			tr '\n' ' ')
		echo "ok   $t: ${secs}s, $(grep -o 'cov: [0-9]*' "$out/$t.log" | tail -n1)," \
			"$(grep -o 'corp: [0-9]*' "$out/$t.log" | tail -n1) inputs," \
			"$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/$t.log") runs"
		: "$stats"
	else
		echo "FAIL $t: crash or timeout (log: $out/$t.log; input: $(ls "$out"/crash-"$t"-* 2>/dev/null | head -n1))"
		tail -n 30 "$out/$t.log" | sed 's/^/    /'
		rc=1
	fi
	rm -rf "$work"
done
exit $rc
