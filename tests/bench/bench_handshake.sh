#!/bin/bash
#
# bench_handshake.sh - row f of the performance table: handshakes per second on one core.
# bench-rows: f
#
#   sudo BUILDDIR=/path/to/build tests/bench/bench_handshake.sh
#
# Topology (namespaces <prefix>-cli, <prefix>-srv, one veth):
#   cli 10.0.1.1/24, hsload's TUN hsl0 (clients 10.99.0.0/16) ---- srv 10.0.1.2/24,
#   mpsd stack 10.88.1.1; srv routes 10.99.0.0/16 back to cli, both forward.
#
# The load: hsload (tests/bench/hsload.c), pinned to CPU 0 in cli, plays RATE_INFLIGHT
# (default 256) MPTCP clients on its own TUN device, without kernel sockets: each one sends
# a SYN with MP_CAPABLE, answers the server's SYN-ACK with the third ACK (MP_CAPABLE, both
# keys) and at once a RST with MP_FASTCLOSE, then starts over from a fresh port.  A handshake
# counts when its third ACK has left; hsload runs RATE_SECS (default 5) and prints the rate
# achieved, then answers the SYN-ACKs still on their way for a second.  A SYN unanswered for
# 200 ms is given up and its client starts over from a fresh port (-t 200), so that a SYN the
# server dropped (the kernel's, when its accept queue is full) idles a client for 200 ms
# rather than a kernel client's 1 s: the figure is the server's, not the clients' patience.  Every handshake is a
# real one the server accepts: the script checks the server's own count of accepted
# connections against hsload's total (mpsctl status for mpsd, the listener's count for the
# kernel), and that mpsd holds no connection afterwards.
#
# Ours: "mpsd server --serve DIR" pinned to CPU 1 (taskset -c 1); it serves every connection
# like any other and frees it on the MP_FASTCLOSE.
# Kernel: a kernel MPTCP listener (connload serve -x: accept, close at once) pinned to CPU 1
# in srv, listening on 10.0.1.2, with an accept queue of 65535 (somaxconn): with the receive
# processing on its CPU the listener falls behind in bursts, and a full queue drops SYNs.
# "One core" is CPU 1.  Receive packet steering (rps_cpus) puts the processing of what
# arrives at srv (veth s1) on CPU 1 and of what arrives at cli on CPU 0.  For the kernel,
# CPU 1 so carries the listener process and the kernel's TCP/MPTCP receive processing (in
# softirq) of every client packet, and the SYN-ACKs it sends.  For mpsd, CPU 1 carries mpsd
# and the kernel's forwarding of the client packets into mpsd's TUN device (softirq) and of
# mpsd's packets out of it (inside mpsd's writes): work the kernel listener does not have.
# What runs on CPU 0 (hsload and the kernel's forwarding between its TUN and the veth) is
# the client side.  The CPU shares of the server process and of CPU 1 as a whole are printed
# with the figures; when CPU 1 is not fully busy, the client side (or other work on the
# machine) set the pace.  The machine is shared: timings are noisy.
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
INFLIGHT=${RATE_INFLIGHT:-256}
PORT=8080
KPORT=8081
HSLOAD=${HSLOAD:-$BUILDDIR/tests/bench/hsload}
CONNLOAD=${CONNLOAD:-$BUILDDIR/tests/bench/connload}
CLIENTS=10.99.0.0/16
PERF_PID=

require_root
require_mpsd
require_cmd ip taskset
[ -x "$HSLOAD" ] || skip "hsload not built ($HSLOAD)"
[ -x "$CONNLOAD" ] || skip "connload not built ($CONNLOAD)"
[ -e /proc/sys/net/mptcp/enabled ] || skip "kernel without MPTCP"
[ -e /dev/net/tun ] || skip "no /dev/net/tun"
[ "$(nproc)" -ge 2 ] || skip "needs two CPUs"

work_dir
FAMILY=4 PLEN=24
NS_CLI=${_NSP}cli NS_SRV=${_NSP}srv
ns_create "$NS_CLI" >&2
ns_create "$NS_SRV" >&2
veth "$NS_CLI" c1 "$NS_SRV" s1
addr_add "$NS_CLI" c1 10.0.1.1
addr_add "$NS_SRV" s1 10.0.1.2
route_add "$NS_CLI" 10.88.1.0/24 via 10.0.1.2 dev c1
route_add "$NS_SRV" "$CLIENTS" via 10.0.1.1 dev s1
mptcp_limits "$NS_CLI" 0 0
mptcp_limits "$NS_SRV" 0 0
ns_exec "$NS_SRV" sysctl -qw net.core.somaxconn=65535 net.ipv4.tcp_max_syn_backlog=65535 >/dev/null
# Receive packet steering: what arrives at the client is processed on CPU 0, what arrives
# at the server (veth s1) on CPU 1, whatever CPU sent it.
rps() { ns_exec "$1" sh -c "echo $3 > /sys/class/net/$2/queues/rx-0/rps_cpus"; }
rps "$NS_CLI" c1 1 || skip "no receive packet steering"
rps "$NS_SRV" s1 2
topo_wait

field() { sed -n "s/.* $2 \([0-9.]*\).*/\1/p" "$1"; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# cpu_busy N: busy jiffies of CPU N (/proc/stat: user nice system irq softirq; other work
# on the machine that ran on CPU 1 included); cpu1_softirq: its softirq jiffies.
cpu_busy() { awk -v c="cpu$1" '$1 == c { print $2 + $3 + $4 + $7 + $8 }' /proc/stat; }
cpu1_softirq() { awk '$1 == "cpu1" { print $8 }' /proc/stat; }
# share T0 T1 MS: the share of one CPU that T1 - T0 jiffies make over MS milliseconds.
share() { awk -v a="$1" -v b="$2" -v ms="$3" -v hz="$(getconf CLK_TCK)" \
	'BEGIN { printf "%.2f", (b - a) / hz / (ms / 1000) }'; }
status_line() { "$MPSCTL" --ctl "$WORK/ctl" status 2>/dev/null | sed -n "/$1/p"; }

# run_load NAME DEST SERVER_PID: hsload against DEST; sets RATE, TOTAL, LOAD (hsload's
# line) and the shares of one CPU over the whole run (its last second drains at a lower
# rate): PROC (the server process), CPU1 (CPU 1 busy), SIRQ (CPU 1 in softirq) and CPU0
# (CPU 0 busy: the client side, and other work).
run_load() {
	local p0 p1 c0 c1 s0 s1 t0 z0 z1
	p0=$(cpu_ticks "$3")
	c0=$(cpu_busy 1)
	z0=$(cpu_busy 0)
	s0=$(cpu1_softirq)
	t0=$(now_ms)
	ns_exec "$NS_CLI" taskset -c 0 "$HSLOAD" -c "$INFLIGHT" -n "$CLIENTS" -t 200 "$SECS" "$2" \
		>"$WORK/$1.log" 2>&1 || fail "hsload: $(cat "$WORK/$1.log")"
	t0=$(($(now_ms) - t0))
	c1=$(cpu_busy 1)
	z1=$(cpu_busy 0)
	s1=$(cpu1_softirq)
	p1=$(cpu_ticks "$3")
	LOAD=$(cat "$WORK/$1.log")
	RATE=$(field "$WORK/$1.log" rate)
	TOTAL=$(field "$WORK/$1.log" total)
	PROC=$(share "$p0" "$p1" "$t0")
	CPU1=$(share "$c0" "$c1" "$t0")
	SIRQ=$(share "$s0" "$s1" "$t0")
	CPU0=$(share "$z0" "$z1" "$t0")
	[ -n "$RATE" ] && [ -n "$TOTAL" ] || fail "hsload: $LOAD"
}

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
run_load ours 10.88.1.1:$PORT "$SRV_PID"
ours=$RATE ours_total=$TOTAL ours_proc=$PROC ours_cpu1=$CPU1 ours_sirq=$SIRQ ours_cpu0=$CPU0
[ -n "${PERF_PID:-}" ] && wait "$PERF_PID"
sleep 1
mpsd_check "$SRV_PID" server
log "ours: $LOAD"
log "mpsd: $(status_line '^connections')"
log "mpsd: $(status_line '^packets')"
ours_acc=$(status_line '^connections' | sed -n 's/^connections opened [0-9]* accepted \([0-9]*\).*/\1/p')
ours_live=$(status_line '^[0-9]* connection' | cut -d' ' -f1)
log "mpsd used $ours_proc of a CPU, CPU 1 was $ours_cpu1 busy ($ours_sirq softirq), CPU 0 $ours_cpu0; accepted ${ours_acc:-?} of hsload's $ours_total, ${ours_live:-?} left"
[ "${ours_acc:-x}" = "$ours_total" ] || fail "mpsd accepted ${ours_acc:-?} connections, hsload completed $ours_total"
[ "${ours_live:-x}" = 0 ] || fail "mpsd still holds ${ours_live:-?} connections"
bg_stop "$SRV_PID"

# --- kernel --------------------------------------------------------------------------------
bg_run "$NS_SRV" "$WORK/serve.log" taskset -c 1 "$CONNLOAD" -x serve $KPORT
KSRV_PID=$BG_PID
wait_port "$NS_SRV" 10.0.1.2 $KPORT
sleep 1
run_load kernel 10.0.1.2:$KPORT "$KSRV_PID"
kernel=$RATE kernel_total=$TOTAL kernel_proc=$PROC kernel_cpu1=$CPU1 kernel_sirq=$SIRQ kernel_cpu0=$CPU0
sleep 1
bg_stop "$KSRV_PID"
log "kernel: $LOAD"
kernel_acc=$(sed -n 's/^accepted \([0-9]*\).*/\1/p' "$WORK/serve.log")
log "listener used $kernel_proc of a CPU, CPU 1 was $kernel_cpu1 busy ($kernel_sirq softirq), CPU 0 $kernel_cpu0; accepted ${kernel_acc:-?} of hsload's $kernel_total"
log "srv: $(ns_exec "$NS_SRV" nstat -az TcpExtListenOverflows MPTcpExtMPCapableSYNRX MPTcpExtMPCapableACKRX 2>/dev/null | awk 'NR > 1 { printf "%s %s  ", $1, $2 }')"
[ -n "$kernel_acc" ] || fail "the kernel listener did not report: $(cat "$WORK/serve.log")"

# The kernel's figure counts only the handshakes its listener accepted: hsload's rate times
# the accepted share of hsload's total (a third ACK the kernel dropped, e.g. on a full
# backlog, is not a handshake).  mpsd's count was checked to be hsload's.
awk -v o="$ours" -v k="$kernel" -v s="$SECS" -v n="$INFLIGHT" -v op="$ours_proc" \
	-v oc="$ours_cpu1" -v kp="$kernel_proc" -v kc="$kernel_cpu1" -v ot="$ours_total" \
	-v oa="$ours_acc" -v kt="$kernel_total" -v ka="$kernel_acc" 'BEGIN {
	if (kt > 0 && ka < kt)
		k = k * ka / kt
	r = (k > 0 ? o / k : 0)
	printf "{\"row\":\"f\",\"what\":\"MPTCP handshakes/s achieved, server on CPU 1 (hsload on a TUN: %d clients in flight, SYN / SYN-ACK / MP_CAPABLE ACK, then RST+MP_FASTCLOSE; %ss; ", n, s
	printf "server accepted: mpsd %d of %d, kernel listener %d of %d; CPU 1 busy: mpsd run %.0f%% (mpsd %.0f%%), kernel run %.0f%% (listener %.0f%%))\",", oa, ot, ka, kt, 100 * oc, 100 * op, 100 * kc, 100 * kp
	printf "\"ours\":%.0f,\"kernel\":%.0f,\"unit\":\"conn/s\",\"ratio\":%.2f,", o, k, r
	printf "\"target\":\"ours >= 10000\",\"pass\":%s}\n", (o >= 10000 ? "true" : "false")
}'
exit 0
