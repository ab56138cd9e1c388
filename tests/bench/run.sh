#!/bin/bash
#
# run.sh - run the benchmark suite and print one table: our figure, the Linux kernel's figure
# measured in the same run, their ratio, the target and whether it was met.
#
#   sudo BUILDDIR=/path/to/build tests/bench/run.sh [WHAT...]      (or "sudo make bench")
#
# WHAT is a row letter (a b c d g loss ...) or a script name (bulk, bench_bulk, bench_bulk.sh);
# default: every tests/bench/bench_*.sh.  A script declares the rows it prints in a header
# line "# bench-rows: a b g"; asked for rows, run.sh runs the scripts that declare them and
# tells them which (BENCH_ROWS).  A script without that line is run when named or when no
# WHAT is given.
#
# Each script prints its rows on standard output, one JSON object per line
#   {"row":"a","what":"...","ours":6.1,"kernel":13.2,"unit":"Gbit/s","ratio":0.46,
#    "target":"ratio >= 0.50","pass":false}
# and its diagnostics on standard error.  run.sh keeps both in LOGDIR (<script>.out,
# <script>.log), collects the rows in LOGDIR/bench.jsonl (a row a script declares but did
# not print is entered there as failed, without figures) and prints the table
# (tests/bench/table.py).
#
# Exit status: 0 when every script ran and printed the rows it declares (a missed target
# included); 1 when a script failed, timed out or left a row out, or with BENCH_STRICT=1
# when a target was missed; 2 for a usage error or when not run as root.
#
# Environment: BUILDDIR (where apps/mpsd is, default the source tree), LOGDIR (default a new
# /tmp/mps-bench.XXXXXX, kept), BENCH_TIMEOUT (seconds per script, default 900),
# BENCH_STRICT=1, BENCH_QUICK=1 (smaller files and shorter runs, for contrib/test-all.sh),
# and what the scripts document.  Needs root; every script makes its own namespaces (prefix
# mpsb<pid>s<n>) and removes them; run.sh removes any it left and counts that as a failure.

if [ "$(id -u)" != 0 ]; then
	echo "run.sh: needs root (network namespaces, TUN devices)" >&2
	exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
export BUILDDIR=${BUILDDIR:-$src}
BENCH_TIMEOUT=${BENCH_TIMEOUT:-900}
if [ -z "${LOGDIR:-}" ]; then
	LOGDIR=$(mktemp -d /tmp/mps-bench.XXXXXX) || exit 1
fi
mkdir -p "$LOGDIR" || exit 1
JSONL=$LOGDIR/bench.jsonl
: >"$JSONL"

rows_of() { # SCRIPT: the rows its header declares
	sed -n 's/^# bench-rows:[[:space:]]*//p' "$1" | head -n 1
}

# which scripts, and which of their rows
declare -A want_rows
scripts=()
for s in "$here"/bench_*.sh; do
	[ -e "$s" ] || continue
	name=$(basename "$s" .sh)
	declared=$(rows_of "$s")
	if [ $# = 0 ]; then
		scripts+=("$s")
		want_rows[$name]=$declared
		continue
	fi
	sel='' named=0
	for a in "$@"; do
		a=${a%.sh}
		case $a in
		"$name" | "${name#bench_}") named=1 ;;
		*) [[ " $declared " == *" $a "* ]] && sel="$sel $a" ;;
		esac
	done
	if [ $named = 1 ]; then
		scripts+=("$s")
		want_rows[$name]=$declared
	elif [ -n "$sel" ]; then
		scripts+=("$s")
		want_rows[$name]=${sel# }
	fi
done
for a in "$@"; do
	a=${a%.sh}
	found=0
	for s in "${scripts[@]}"; do
		name=$(basename "$s" .sh)
		case $a in "$name" | "${name#bench_}") found=1 ;; esac
		[[ " ${want_rows[$name]} " == *" $a "* ]] && found=1
	done
	[ $found = 1 ] || { echo "run.sh: no benchmark script declares or is named '$a'" >&2; exit 2; }
done
[ ${#scripts[@]} -gt 0 ] || { echo "run.sh: no tests/bench/bench_*.sh" >&2; exit 2; }

started=$(date -u '+%Y-%m-%d %H:%M UTC')
rev=$(git -C "$src" describe --always --dirty 2>/dev/null || echo unknown)
load0=$(cut -d' ' -f1-3 /proc/loadavg)
echo "benchmarks: $started, $rev, $(nproc) cores, load $load0, logs in $LOGDIR"

nfail=0 i=0
for s in "${scripts[@]}"; do
	i=$((i + 1))
	name=$(basename "$s" .sh)
	prefix=mpsb$$s$i
	t0=$(date +%s)
	BENCH_ROWS=${want_rows[$name]} NS_PREFIX=$prefix MPS_TEST_NAME=$name \
		timeout --signal=TERM --kill-after=30 "$BENCH_TIMEOUT" \
		bash "$s" >"$LOGDIR/$name.out" 2>"$LOGDIR/$name.log"
	rc=$?
	secs=$(($(date +%s) - t0))
	grep '^{' "$LOGDIR/$name.out" >>"$JSONL"
	got=$(grep -o '^{"row":"[^"]*"' "$LOGDIR/$name.out" | sed 's/.*"row":"//; s/"$//' |
		sort -u | tr '\n' ' ')
	missing=''
	for r in ${want_rows[$name]}; do
		[[ " $got " == *" $r "* ]] || missing="$missing $r"
	done
	problem=''
	[ "$rc" = 0 ] || problem="exit status $rc"
	[ "$rc" = 124 ] && problem="timed out after $BENCH_TIMEOUT s"
	[ -z "$missing" ] || problem="${problem:+$problem, }no row$missing"
	[ -n "$got" ] || problem="${problem:+$problem, }no row at all"
	leaked=$(ip netns list 2>/dev/null | awk '{ print $1 }' | grep "^$prefix-")
	if [ -n "$leaked" ]; then
		for ns in $leaked; do
			for p in $(ip netns pids "$ns" 2>/dev/null); do
				kill -9 "$p" 2>/dev/null
			done
			ip netns del "$ns" 2>/dev/null
		done
		problem="${problem:+$problem, }left namespaces behind: $(tr "\n" " " <<<"$leaked")"
	fi
	for r in $missing; do # the table shows the hole
		printf '{"row":"%s","what":"no figure: %s failed","ours":null,"kernel":null,' \
			"$r" "$name" >>"$JSONL"
		printf '"unit":"","ratio":null,"target":"","pass":false}\n' >>"$JSONL"
	done
	if [ -n "$problem" ]; then
		nfail=$((nfail + 1))
		echo "FAIL: $name ($secs s): $problem; from $LOGDIR/$name.log:"
		if grep -Eq '^(ERROR|FAIL|FAILED|SKIP|TERMINATED|INTERRUPTED):' "$LOGDIR/$name.log"; then
			grep -E '^(ERROR|FAIL|FAILED|SKIP|TERMINATED|INTERRUPTED):' "$LOGDIR/$name.log" |
				tail -n 8
		else
			tail -n 15 "$LOGDIR/$name.log"
		fi | sed 's/^/    /'
	else
		echo "ok:   $name ($secs s): rows $got"
	fi
done

echo
/usr/bin/python3 "$here/table.py" "$JSONL" \
	--title "mpstream $rev vs Linux $(uname -r), $started, load at start $load0" |
	tee "$LOGDIR/table.txt"
echo "rows: $JSONL"

[ "$nfail" = 0 ] || exit 1
if [ "${BENCH_STRICT:-0}" = 1 ] && grep -q '"pass":false' "$JSONL"; then
	echo "BENCH_STRICT=1: a target was missed" >&2
	exit 1
fi
exit 0
