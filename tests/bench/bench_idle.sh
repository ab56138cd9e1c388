#!/bin/bash
#
# bench_idle.sh - row e of the performance table: memory per idle connection.
# bench-rows: e
#
#   sudo BUILDDIR=/path/to/build tests/bench/bench_idle.sh
#
# Topology (namespaces <prefix>-cli, <prefix>-srv, one veth):
#   cli 10.0.1.1/24 (+ source addresses 10.0.1.11..) ---- srv 10.0.1.2/24, mpsd stack 10.88.1.1
#
# Ours: one "mpsd server --serve DIR" (one stack address, so no ADD_ADDR and no second
# subflow); connload in cli opens IDLE_CONNS (default 10000) kernel MPTCP connections
# (IPPROTO_MPTCP, path manager limits 0: one subflow each) to it and keeps them idle.
# Figure: (VmRSS of mpsd with the connections up - VmRSS before) / IDLE_CONNS.
#
# Kernel: the same number of kernel-to-kernel MPTCP connections (connload serve in srv, on
# 10.0.1.2).  Figure: the rise of Slab (SReclaimable + SUnreclaim, /proc/meminfo) plus the
# rise of TCP socket memory (/proc/net/sockstat "TCP: mem", pages), divided by
# 2 x IDLE_CONNS because both ends of each connection are kernel sockets, and ours counts
# one end.  Slab and sockstat are system wide: other work on the machine is noise.
#
# Prints one JSON row on stdout; diagnostics on stderr.  Exit 0 when the row was measured
# (pass or not), 77 when it cannot run, 1 on a failure.

set -u
here=$(cd "$(dirname "$0")" && pwd)
NS_PREFIX=${NS_PREFIX:-bidle$$}
MPS_TEST_NAME=bench_idle
# shellcheck source=../netns/lib.sh
. "$here/../netns/lib.sh" >&2
# lib.sh's pass/skip/log write to stdout: this script's stdout is the JSON row only.
log() { printf '  %s\n' "$*" >&2; }
skip() { echo "SKIP: bench_idle: $*" >&2; exit 77; }

N=${IDLE_CONNS:-10000}
PORT=8080
KPORT=8081
CONNLOAD=${CONNLOAD:-$BUILDDIR/tests/bench/connload}
SRCS="10.0.1.11 10.0.1.12"

require_root
require_mpsd
require_cmd ip mptcpize
[ -x "$CONNLOAD" ] || skip "connload not built ($CONNLOAD)"
[ -e /proc/sys/net/mptcp/enabled ] || skip "kernel without MPTCP"
[ -x "$MPSCTL" ] || skip "mpsctl not built"

work_dir
FAMILY=4 PLEN=24
NS_CLI=${_NSP}cli NS_SRV=${_NSP}srv
ns_create "$NS_CLI" >&2
ns_create "$NS_SRV" >&2
veth "$NS_CLI" c1 "$NS_SRV" s1
addr_add "$NS_CLI" c1 10.0.1.1
addr_add "$NS_SRV" s1 10.0.1.2
bargs=()
for a in $SRCS; do
	addr_add "$NS_CLI" c1 "$a"
	bargs+=(-b "$a")
done
route_add "$NS_CLI" 10.88.1.0/24 via 10.0.1.2 dev c1
mptcp_limits "$NS_CLI" 0 0
mptcp_limits "$NS_SRV" 0 0
ns_exec "$NS_CLI" sysctl -qw net.ipv4.ip_local_port_range="1024 65535" >/dev/null
ns_exec "$NS_SRV" sysctl -qw net.core.somaxconn=8192 net.ipv4.tcp_max_syn_backlog=16384 >/dev/null
topo_wait

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
conns_accepted() {
	"$MPSCTL" --ctl "$WORK/ctl" status 2>/dev/null |
		sed -n 's/^connections opened [0-9]* accepted \([0-9]*\) .*/\1/p'
}
_accepted_ge() { [ "$(conns_accepted)" -ge "$1" ] 2>/dev/null; }
kmem_kib() {
	local slab tcp
	slab=$(awk '/^(SReclaimable|SUnreclaim):/ { s += $2 } END { print s }' /proc/meminfo)
	tcp=$(awk '/^TCP:/ { for (i = 1; i < NF; i++) if ($i == "mem") print $(i + 1) }' /proc/net/sockstat)
	echo $((slab + ${tcp:-0} * 4))
}
_line_in() { grep -q "$2" "$1"; }

# --- ours ----------------------------------------------------------------------------------
mkdir -p "$WORK/www"
echo hello >"$WORK/www/file"
mpsd_start "$NS_SRV" server server --tun mpsb0 --addr 10.88.1.1 --listen 10.88.1.1:$PORT \
	--serve "$WORK/www" --ctl "$WORK/ctl" >&2
SRV_PID=$BG_PID
wait_tun "$NS_SRV" mpsb0 10.88.1.1
# Warm up: a few connections so first-use allocations (stdio, the epoll and status
# paths) are in the baseline, then wait until they are gone.
bg_run "$NS_CLI" "$WORK/warm.log" "$CONNLOAD" idle 50 10.88.1.1:$PORT
WARM_PID=$BG_PID
wait_until 20 _line_in "$WORK/warm.log" established || fail "warm-up connections"
bg_stop "$WARM_PID"
sleep 2
rss0=$(rss_kib "$SRV_PID")
acc0=$(conns_accepted)
t0=$(now_ms)
bg_run "$NS_CLI" "$WORK/idle.log" "$CONNLOAD" "${bargs[@]}" -w 180 idle "$N" 10.88.1.1:$PORT
LOAD_PID=$BG_PID
wait_until 200 _line_in "$WORK/idle.log" established || fail "connload did not finish"
wait_until 30 _accepted_ge $((acc0 + N)) || log "mpsd accepted only $(($(conns_accepted) - acc0)) of $N"
sleep 2
mpsd_check "$SRV_PID" server
rss1=$(rss_kib "$SRV_PID")
acc1=$(conns_accepted)
log "ours: $(cat "$WORK/idle.log") in $(secs_since "$t0") s; mpsd accepted $((acc1 - acc0));" \
	"VmRSS $rss0 -> $rss1 KiB"
"$MPSCTL" --ctl "$WORK/ctl" status 2>/dev/null | sed -n '/^connections/p;/^packets/p' >&2
up=$(awk '{ print $2 }' "$WORK/idle.log")
[ "${up:-0}" -gt 0 ] || fail "no connection came up"
ours=$(awk -v a="$rss0" -v b="$rss1" -v n="$up" 'BEGIN { printf "%.2f", (b - a) / n }')
bg_stop "$LOAD_PID"
bg_stop "$SRV_PID"

# --- kernel --------------------------------------------------------------------------------
bg_run "$NS_SRV" "$WORK/serve.log" "$CONNLOAD" serve $KPORT
KSRV_PID=$BG_PID
wait_port "$NS_SRV" 10.0.1.2 $KPORT
sleep 2
k0=$(kmem_kib)
bg_run "$NS_CLI" "$WORK/kidle.log" "$CONNLOAD" "${bargs[@]}" -w 180 idle "$N" 10.0.1.2:$KPORT
KLOAD_PID=$BG_PID
wait_until 200 _line_in "$WORK/kidle.log" established || fail "kernel connload did not finish"
sleep 2
k1=$(kmem_kib)
kup=$(awk '{ print $2 }' "$WORK/kidle.log")
log "kernel: $(cat "$WORK/kidle.log"); slab+tcp mem $k0 -> $k1 KiB;" \
	"MPTCP sockets in srv: $(ns_exec "$NS_SRV" ss -HMn state established 2>/dev/null | wc -l)"
kernel=$(awk -v a="$k0" -v b="$k1" -v n="$kup" 'BEGIN { printf "%.2f", (b - a) / (2 * n) }')
bg_stop "$KLOAD_PID"
bg_stop "$KSRV_PID"

awk -v o="$ours" -v k="$kernel" -v n="$N" 'BEGIN {
	r = (k > 0 ? o / k : 0)
	printf "{\"row\":\"e\",\"what\":\"idle conns (%d MPTCP): mpsd VmRSS rise per conn vs kernel Slab+TCP mem rise per socket end\",", n
	printf "\"ours\":%.2f,\"kernel\":%.2f,\"unit\":\"KiB/conn\",\"ratio\":%.2f,", o, k, r
	printf "\"target\":\"ours <= 32\",\"pass\":%s}\n", (o <= 32 ? "true" : "false")
}'
exit 0
