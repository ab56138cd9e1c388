#!/bin/bash
#
# bench_handshake.sh - row f of the performance table: handshakes per second on one core.
# bench-rows: f
#
#   sudo BUILDDIR=/path/to/build tests/bench/bench_handshake.sh
#
# Topology (namespaces <prefix>-cli, <prefix>-srv, one veth), as bench_idle.sh:
#   cli 10.0.1.1/24 (+ source addresses 10.0.1.11..14) ---- srv 10.0.1.2/24, mpsd stack 10.88.1.1
#
# Ours: "mpsd server --serve DIR" pinned to CPU 1 (taskset -c 1); connload pinned to CPU 0
# runs "rate RATE_SECS" (default 5): up to RATE_INFLIGHT (default 64) kernel MPTCP connects
# (IPPROTO_MPTCP, one subflow: path manager limits 0) in flight; each one that completes its
# handshake is counted and closed at once with SO_LINGER 0 (MP_FASTCLOSE / RST).  The
# abortive close leaves no TIME_WAIT, so the client's ephemeral ports (four source addresses,
# ports 1024-65535) are reused at once and never run out.  mpsd serves every connection
# like any other (HTTP session, relay) and frees it on the reset.
# Kernel: the same client against a kernel MPTCP listener (connload serve -x: accept, close
# at once) pinned to CPU 1 in srv.  The kernel's packet processing runs partly in softirq on
# whichever CPU the packets arrive on, so the kernel figure is not strictly one core.
# Receive packet steering (rps_cpus) puts what arrives at cli on CPU 0 and what arrives at srv
# on CPU 1, so each side's kernel processing stays on its own CPU.
# The client (a kernel MPTCP connect + close per handshake, on one CPU) is the limit of the
# achieved rate, for mpsd and for the kernel listener alike.  The figure is therefore the
# server's capacity: achieved handshakes/s divided by the share of a CPU the server side used
# (its process time - mpsd, or the listener - plus CPU 1's softirq time, /proc/stat).  Both
# are printed, with mpsd's CPU time per handshake.  The machine is shared: timings are noisy.
# BENCH_PERF=FILE also records a perf profile of mpsd during the run.
#
# Prints one JSON row on stdout; diagnostics on stderr.  Exit 0 when the row was measured,
# 77 when it cannot run, 1 on a failure.

set -u
here=$(cd "$(dirname "$0")" && pwd)
NS_PREFIX=${NS_PREFIX:-bhs$$}
MPS_TEST_NAME=bench_handshake
# shellcheck source=../netns/lib.sh
. "$here/../netns/lib.sh" >&2
log() { printf '  %s\n' "$*" >&2; }
skip() { echo "SKIP: bench_handshake: $*" >&2; exit 77; }

SECS=${RATE_SECS:-5}
INFLIGHT=${RATE_INFLIGHT:-64}
PORT=8080
KPORT=8081
CONNLOAD=${CONNLOAD:-$BUILDDIR/tests/bench/connload}
SRCS="10.0.1.11 10.0.1.12 10.0.1.13 10.0.1.14"
PERF_PID=

require_root
require_mpsd
require_cmd ip taskset
[ -x "$CONNLOAD" ] || skip "connload not built ($CONNLOAD)"
[ -e /proc/sys/net/mptcp/enabled ] || skip "kernel without MPTCP"
[ "$(nproc)" -ge 2 ] || skip "needs two CPUs"

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
# Receive packet steering: what arrives at the client is processed on CPU 0, what arrives
# at the server (veth s1; the server side of the kernel run) on CPU 1.  Without it the
# client kernel's handling of mpsd's packets would run inside mpsd's TUN writes, on CPU 1.
rps() { ns_exec "$1" sh -c "echo $3 > /sys/class/net/$2/queues/rx-0/rps_cpus"; }
rps "$NS_CLI" c1 1 || skip "no receive packet steering"
rps "$NS_SRV" s1 2
topo_wait

_line_in() { grep -q "$2" "$1"; }
rate_of() { sed -n 's/.* rate \([0-9.]*\).*/\1/p' "$1"; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# cpu1_softirq: softirq jiffies of CPU 1 (/proc/stat; tick-sampled, exclusive of processes).
cpu1_softirq() { awk '$1 == "cpu1" { print $8 }' /proc/stat; }
# server_cost P0 P1 S0 P1 SECS: the share of one CPU the server used: its process time plus
# the softirq time of CPU 1 (where the server side's packets are processed, see rps above).
server_cost() { awk -v p0="$1" -v p1="$2" -v s0="$3" -v s1="$4" -v t="$5" -v hz="$(getconf CLK_TCK)" \
	'BEGIN { printf "%.3f", ((p1 - p0) + (s1 - s0)) / hz / t }'; }
# capacity RATE COST: handshakes per second per CPU fully spent on the server.
capacity() { awk -v r="$1" -v f="$2" 'BEGIN { printf "%.0f", (f > 0.01 ? r / f : 0) }'; }
status_line() { "$MPSCTL" --ctl "$WORK/ctl" status 2>/dev/null | sed -n "/^$1/p"; }

# --- ours ----------------------------------------------------------------------------------
mkdir -p "$WORK/www"
echo hello >"$WORK/www/file"
bg_run "$NS_SRV" "$WORK/mpsd-server.log" taskset -c 1 "$MPSD" server --tun mpsb0 \
	--addr 10.88.1.1 --listen 10.88.1.1:$PORT --serve "$WORK/www" --ctl "$WORK/ctl"
SRV_PID=$BG_PID
wait_tun "$NS_SRV" mpsb0 10.88.1.1
sleep 1
if [ -n "${BENCH_PERF:-}" ]; then
	# BENCH_PERF=FILE: also record a call-graph profile of mpsd during the run
	perf record -q -g -o "$BENCH_PERF" -p "$SRV_PID" -- sleep "$SECS" >/dev/null 2>&1 &
	PERF_PID=$!
fi
cpu0=$(cpu_ticks "$SRV_PID")
sq0=$(cpu1_softirq)
ns_exec "$NS_CLI" taskset -c 0 "$CONNLOAD" "${bargs[@]}" -c "$INFLIGHT" rate "$SECS" \
	10.88.1.1:$PORT >"$WORK/rate.log" 2>&1 || fail "connload: $(cat "$WORK/rate.log")"
sq1=$(cpu1_softirq)
cpu1=$(cpu_ticks "$SRV_PID")
ours_busy=$(server_cost "$cpu0" "$cpu1" "$sq0" "$sq1" "$SECS")
[ -n "${PERF_PID:-}" ] && wait "$PERF_PID"
sleep 1
mpsd_check "$SRV_PID" server
log "ours: $(cat "$WORK/rate.log")"
# How busy mpsd's core was: if well below 100 %, the client side was the limit.
log "mpsd CPU: $(awk -v a="$cpu0" -v b="$cpu1" -v hz="$(getconf CLK_TCK)" -v s="$SECS" \
	-v r="$(rate_of "$WORK/rate.log")" 'BEGIN { u = (b - a) / hz / s;
	printf "%.0f %% of one core (%.1f us per handshake)", 100 * u, (r > 0 ? 1e6 * u / r : 0) }')"
log "mpsd: $(status_line connections)"
log "mpsd: $(status_line packets)"
ours_rate=$(rate_of "$WORK/rate.log")
ours=$(capacity "$ours_rate" "$ours_busy")
log "server cost: $ours_busy of a CPU (mpsd + CPU 1 softirq): $ours handshakes/s per CPU"

bg_stop "$SRV_PID"

# --- kernel --------------------------------------------------------------------------------
bg_run "$NS_SRV" "$WORK/serve.log" taskset -c 1 "$CONNLOAD" -x serve $KPORT
KSRV_PID=$BG_PID
wait_port "$NS_SRV" 10.0.1.2 $KPORT
kp0=$(cpu_ticks "$KSRV_PID")
sq0=$(cpu1_softirq)
ns_exec "$NS_CLI" taskset -c 0 "$CONNLOAD" "${bargs[@]}" -c "$INFLIGHT" rate "$SECS" \
	10.0.1.2:$KPORT >"$WORK/krate.log" 2>&1 || fail "connload: $(cat "$WORK/krate.log")"
sq1=$(cpu1_softirq)
kp1=$(cpu_ticks "$KSRV_PID")
kernel_busy=$(server_cost "$kp0" "$kp1" "$sq0" "$sq1" "$SECS")
bg_stop "$KSRV_PID"
log "kernel: $(cat "$WORK/krate.log"); listener $(cat "$WORK/serve.log")"
kernel_rate=$(rate_of "$WORK/krate.log")
kernel=$(capacity "$kernel_rate" "$kernel_busy")
log "server cost: $kernel_busy of a CPU (listener + CPU 1 softirq): $kernel handshakes/s per CPU"

awk -v o="${ours:-0}" -v k="${kernel:-0}" -v s="$SECS" -v orate="${ours_rate:-0}" \
	-v krate="${kernel_rate:-0}" -v ob="${ours_busy:-0}" -v kb="${kernel_busy:-0}" 'BEGIN {
	r = (k > 0 ? o / k : 0)
	printf "{\"row\":\"f\",\"what\":\"MPTCP handshakes/s per server CPU (connect, handshake, SO_LINGER-0 close, %ss; achieved rate / server CPU share = process + CPU 1 softirq; client-bound: mpsd %.0f/s using %.0f%%, kernel listener %.0f/s using %.0f%%)\",", s, orate, 100 * ob, krate, 100 * kb
	printf "\"ours\":%.0f,\"kernel\":%.0f,\"unit\":\"conn/s\",\"ratio\":%.2f,", o, k, r
	printf "\"target\":\"ours >= 10000\",\"pass\":%s}\n", (o >= 10000 ? "true" : "false")
}'
exit 0
