#!/bin/bash
#
# run.sh - run the network-namespace integration tests.
#
#   sudo BUILDDIR=/path/to/build tests/netns/run.sh [TEST...]
#
# TEST is a test name (test_loss, test_loss.sh or loss); default: every test_*.sh here.
# One line per test: PASS / FAIL / SKIP, its name and seconds; then, alone on the last line,
# "N passed, N failed, N skipped".  Exit status 1 if any test failed, else 0.
#
# Environment: BUILDDIR (where apps/mpsd is, default the source tree), MPSD, FILE_MB, ...
# (see lib.sh), TEST_TIMEOUT (seconds per test, default 1200), LOGDIR (where each test's
# output goes; default a new /tmp/mps-netns-logs.XXXXXX, removed again when nothing failed),
# VERBOSE=1 (print every output).
# After each test, namespaces left with that test's prefix are removed and the test fails.

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
export BUILDDIR=${BUILDDIR:-$src}
TEST_TIMEOUT=${TEST_TIMEOUT:-1200}
own_logdir=0
if [ -z "${LOGDIR:-}" ]; then
	LOGDIR=$(mktemp -d /tmp/mps-netns-logs.XXXXXX)
	own_logdir=1
fi
mkdir -p "$LOGDIR"

tests=()
if [ $# = 0 ]; then
	for t in "$here"/test_*.sh; do
		tests+=("$t")
	done
else
	for a in "$@"; do
		a=${a%.sh}
		a=${a#test_}
		[ -f "$here/test_$a.sh" ] || { echo "no such test: $a" >&2; exit 2; }
		tests+=("$here/test_$a.sh")
	done
fi

npass=0 nfail=0 nskip=0 i=0
for t in "${tests[@]}"; do
	i=$((i + 1))
	name=$(basename "$t" .sh)
	logf=$LOGDIR/$name.log
	prefix=mpsr$$t$i
	t0=$(date +%s%3N)
	NS_PREFIX=$prefix timeout --signal=TERM --kill-after=30 "$TEST_TIMEOUT" \
		bash "$t" >"$logf" 2>&1
	rc=$?
	d=$(($(date +%s%3N) - t0))
	secs=$(printf '%d.%03d' $((d / 1000)) $((d % 1000)))
	note=
	leaked=$(ip netns list 2>/dev/null | awk '{ print $1 }' | grep "^$prefix-")
	if [ -n "$leaked" ]; then
		for ns in $leaked; do
			for p in $(ip netns pids "$ns" 2>/dev/null); do
				kill -9 "$p" 2>/dev/null
			done
			ip netns del "$ns" 2>/dev/null
		done
		note=" (left namespaces behind: $(tr '\n' ' ' <<<"$leaked"))"
		[ "$rc" = 0 ] && rc=1
	fi
	[ "$rc" = 124 ] && note="$note (timed out after ${TEST_TIMEOUT}s)"
	case $rc in
	0) res=PASS npass=$((npass + 1)) ;;
	77) res=SKIP nskip=$((nskip + 1)) note="$note ($(grep -m1 '^SKIP' "$logf" |
		sed 's/^SKIP: [^:]*: //'))" ;;
	*) res=FAIL nfail=$((nfail + 1)) ;;
	esac
	printf '%-4s  %-28s %8ss%s\n' "$res" "$name" "$secs" "$note"
	if [ "${VERBOSE:-0}" = 1 ]; then
		sed 's/^/    /' "$logf"
	elif [ "$res" = FAIL ]; then
		tail -n 25 "$logf" | sed 's/^/    /'
		echo "    (full output: $logf)"
	fi
done
if [ "$nfail" = 0 ] && [ "$own_logdir" = 1 ] && [ "${VERBOSE:-0}" != 1 ]; then
	rm -rf "$LOGDIR"
elif [ "$nfail" != 0 ]; then
	echo "logs: $LOGDIR"
fi
echo "$npass passed, $nfail failed, $nskip skipped"
[ "$nfail" = 0 ]
