#!/bin/bash
#
# contrib/demo.sh - the main job, end to end, on a fresh Debian machine (as root):
# build mpstream, create two network paths to a server in network namespaces, run the
# Linux kernel's own MPTCP HTTP server there (it announces its second address), and fetch
# a file through `mpsd client` with curl as the player.  Prints per-subflow bytes from
# `mpsctl status`, the time, and whether the sha256 of what the player got matches.
#
#   sudo contrib/demo.sh [SIZE_MB]          (default 50)
#
# Everything runs inside namespaces this script creates and removes again.
set -eu

src=$(cd "$(dirname "$0")/.." && pwd)
MB=${1:-50}
BUILD=${BUILD:-$src/_build/demo}

[ "$(id -u)" = 0 ] || { echo "demo.sh: needs root (network namespaces, TUN)" >&2; exit 1; }
"$src/contrib/install-deps.sh" build test
if [ ! -x "$BUILD/apps/mpsd" ]; then
	echo "building in $BUILD ..."
	(cd "$src" && autoreconf -fi >/dev/null 2>&1)
	mkdir -p "$BUILD"
	(cd "$BUILD" && "$src/configure" -q && make -j"$(nproc)" >/dev/null)
fi

export MPSD=$BUILD/apps/mpsd NS_PREFIX=mpsdemo$$
# shellcheck source=tests/netns/lib.sh
. "$src/tests/netns/lib.sh"
work_dir
mkdir -p "$WORK/www"
make_file "$WORK/www/file" "$MB"

echo "topology: cli --(10.0.1.0/24)-- srv and cli --(10.0.2.0/24)-- srv; kernel MPTCP server"
topo_one_server_two_paths
scen_kernel_server "$WORK/www"
scen_mpsd_client
t0=$(now_ms)
ns_exec "$NS_CLI" curl -sS --fail -o "$WORK/got" "$PLAYER_URL"
secs=$(secs_since "$t0")
echo "player (curl) fetched $MB MB through mpsd client in $secs s"
ns_exec "$NS_CLI" "$BUILD/apps/mpsctl" --ctl "$WORK/mpsd-client.ctl" status
if [ "$(sha_of "$WORK/got")" = "$(sha_of "$WORK/www/file")" ]; then
	echo "sha256: match ($(sha_of "$WORK/got"))"
else
	echo "sha256: MISMATCH"
	exit 1
fi
topo_teardown
