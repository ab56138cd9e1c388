#!/bin/bash
#
# contrib/test-all.sh - build mpstream and run every test suite, from a fresh
# Debian machine (installs what it needs; run as root for the namespace tests).
#
#   sudo contrib/test-all.sh            everything
#   sudo contrib/test-all.sh unit       only the build + make check (unit, simulator)
#
# Stages, in order (the first failure stops the run, except that the netns
# stage always runs to its summary):
#   1. contrib/install-deps.sh           Debian packages
#   2. autoreconf, configure --enable-werror, make, make check   (unit + sim)
#   3. the same under --enable-asan (ASan + UBSan)
#   4. make distcheck
#   4b. fuzzing: every libFuzzer target of tests/fuzz (CC=clang --enable-fuzz) on its
#       regression inputs, then FUZZ_SECS (15) seconds each from its seed corpus
#   5. tests/netns/run.sh                integration against the kernel's MPTCP
#   6. tests/bench/run.sh                the benchmark table, report-only (a missed target
#                                        or a failed benchmark does not fail the run, it is
#                                        reported; BENCH_FATAL=1 makes a failed benchmark
#                                        fail it), BENCH_QUICK=1 (a few
#                                        minutes); BENCH=0 skips it, BENCH_QUICK=0 runs the
#                                        full suite (about 10 minutes)
# Build trees live in $BUILD_ROOT (default ./_build); logs are kept there.
set -eu

src=$(cd "$(dirname "$0")/.." && pwd)
what=${1:-all}
BUILD_ROOT=${BUILD_ROOT:-$src/_build}
jobs=$(nproc 2>/dev/null || echo 2)

stage() { printf '\n=== %s ===\n' "$*"; }

stage "dependencies"
if [ "$(id -u)" = 0 ]; then
	"$src/contrib/install-deps.sh" build test bench fuzz
else
	"$src/contrib/install-deps.sh" build || true
fi

stage "autoreconf"
(cd "$src" && autoreconf -fi >/dev/null 2>&1) || (cd "$src" && autoreconf -fi)

build() { # name, configure flags...
	local name=$1
	shift
	mkdir -p "$BUILD_ROOT/$name"
	(cd "$BUILD_ROOT/$name" && "$src/configure" -q "$@" && make -j"$jobs" >/dev/null)
}

check() { # name
	local dir=$BUILD_ROOT/$1
	if ! (cd "$dir" && make -j"$jobs" check >"$dir/check.out" 2>&1); then
		cat "$dir/check.out"
		find "$dir/tests" -name '*.log' -exec tail -n 60 {} \;
		return 1
	fi
	grep -E '^# (TOTAL|PASS|FAIL|ERROR)' "$dir/check.out" || true
	# The CUnit summaries of each test program.
	find "$dir/tests" -name '*.log' ! -name test-suite.log -exec grep -h -A4 'Run Summary' {} \;
}

stage "build and unit/simulator tests (-Werror)"
build release --enable-werror
check release

stage "build and unit/simulator tests under ASan + UBSan"
build asan --enable-asan
ASAN_OPTIONS=detect_leaks=1 check asan

[ "$what" = unit ] && exit 0

stage "make distcheck"
(cd "$BUILD_ROOT/release" && make -j"$jobs" distcheck >"$BUILD_ROOT/distcheck.out" 2>&1) || {
	tail -n 80 "$BUILD_ROOT/distcheck.out"
	exit 1
}
echo "distcheck: ok"

stage "fuzzing (libFuzzer, ${FUZZ_SECS:-15} s per target)"
if command -v clang >/dev/null 2>&1; then
	mkdir -p "$BUILD_ROOT/fuzz"
	(cd "$BUILD_ROOT/fuzz" && "$src/configure" -q CC=clang --enable-fuzz && make -j"$jobs" >/dev/null) ||
		{ echo "the fuzz targets do not build"; exit 1; }
	(cd "$BUILD_ROOT/fuzz" && make fuzz-run FUZZ_SECS="${FUZZ_SECS:-15}" FUZZ_OUT="$BUILD_ROOT/fuzz-out") ||
		{ echo "a fuzz target crashed (inputs in $BUILD_ROOT/fuzz-out)"; exit 1; }
else
	echo "skipped: no clang (contrib/install-deps.sh fuzz)"
fi

stage "integration tests against the Linux kernel (network namespaces)"
if [ "$(id -u)" != 0 ]; then
	echo "skipped: needs root"
	exit 0
fi
rc=0
BUILDDIR="$BUILD_ROOT/release" "$src/tests/netns/run.sh" || rc=$?

if [ "${BENCH:-1}" != 0 ]; then
	stage "benchmarks against the Linux kernel (report-only)"
	# Report-only: the figures depend on the machine and what else runs on it, and the
	# correctness of every transfer is the netns tests' job above.  A benchmark that
	# could not produce its rows is reported loudly but does not fail the run
	# (BENCH_FATAL=1 makes it fail).
	if ! BUILDDIR="$BUILD_ROOT/release" LOGDIR="$BUILD_ROOT/bench" \
		BENCH_QUICK=${BENCH_QUICK:-1} BENCH_STRICT='' "$src/tests/bench/run.sh"; then
		echo "WARNING: the benchmark suite reported a failure (logs: $BUILD_ROOT/bench)"
		[ "${BENCH_FATAL:-0}" = 1 ] && rc=1
	fi
fi
exit "$rc"
