#!/bin/bash
#
# bench_bulk.sh - unlimited bulk goodput and its CPU cost (rows a, b, g).
# bench-rows: a b g
#
# One file of BULK_MB MiB (default 1024; BENCH_QUICK=1: 256) over veths with no rate limit,
# fetched with curl to /dev/null inside the client namespace (status and length checked on
# every timed transfer, the sha256 once per setup in a second, untimed transfer).  Goodput is
# bytes * 8 / curl's total time, in Gbit/s (10^9).
#
#   a  topo_one_server_two_paths.  Ours: mpsd server (--addr SRV_STACK1 --addr SRV_STACK2,
#      --announce SRV_STACK2) and mpsd client --connect SRV_STACK1: the client joins the
#      announced address over path 2.  Kernel: kserve.py --mptcp (sendfile on an MPTCP socket)
#      on SRV_STACK1 (put on lo), a curl client under mptcpize with a subflow endpoint on A_C2
#      ("ip mptcp endpoint add 10.0.2.1 dev c2 subflow"): its second subflow goes over path 2.
#      Target: ours >= 50 % of the kernel.
#   b  topo_two_servers, the group: two mpsd servers with one --group-key, srv1 --announce srv2,
#      mpsd client --group --connect srv1.  The kernel has no equivalent: the row is set
#      against row a's kernel figure (no target).
#   g  CPU time per GB delivered in the runs of row a: the busy time of every core in
#      /proc/stat (user + nice + system + irq + softirq; everything the machine did,
#      other work on it included) over the transfer, divided by the GB (10^9 bytes)
#      delivered.  Lower is better; the ratio is ours / kernel.
# Each figure is the best of BULK_RUNS (default 2; quick: 1) transfers, to damp other work
# on the machine.  Bytes per path are logged to standard error (both paths must carry data).

# shellcheck source=tests/bench/common.sh
. "$(dirname "$0")/common.sh"

if [ "$BENCH_QUICK" = 1 ]; then
	BULK_MB=${BULK_MB:-256}
	BULK_RUNS=${BULK_RUNS:-1}
else
	BULK_MB=${BULK_MB:-1024}
	BULK_RUNS=${BULK_RUNS:-2}
fi
ROWS=${BENCH_ROWS:-a b g}

require_base
require_mpsd
work_dir
mkdir -p "$WORK/www"
make_file "$WORK/www/file" "$BULK_MB"
SIZE=$((BULK_MB * 1048576))
REF_SHA=$(sha_of "$WORK/www/file")

wants() { [[ " $ROWS " == *" $1 "* ]]; }
TIMED_PIDS=()

# timed NS URL: BULK_RUNS transfers of URL; sets BEST_GBIT (the best goodput) and
# BEST_CPU (CPU seconds per GB of the run with the least, not necessarily the same run), over
# the runs that completed.
# Logs, as a diagnostic less disturbed by other work on the machine, the CPU time of the
# processes in TIMED_PIDS (the mpsd processes; kserve.py for the kernel, whose TCP work is
# mostly in softirq and not counted there).  Returns 1 (trouble) at the first transfer that
# fails.
timed() {
	local ns=$1 url=$2 i c0 c1 cpu p0 p1 pcpu
	BEST_GBIT='' BEST_CPU=''
	for ((i = 1; i <= BULK_RUNS; i++)); do
		p0=$(proc_ticks "${TIMED_PIDS[@]}")
		c0=$(cpu_ticks)
		bulk_get "$ns" "$url" "$SIZE" || return 1
		c1=$(cpu_ticks)
		p1=$(proc_ticks "${TIMED_PIDS[@]}")
		cpu=$(awk -v t=$((c1 - c0)) -v hz="$CLK_TCK" -v b="$SIZE" \
			'BEGIN { printf "%.3f", t / hz / (b / 1e9) }')
		pcpu=$(awk -v t=$((p1 - p0)) -v hz="$CLK_TCK" -v b="$SIZE" \
			'BEGIN { printf "%.3f", t / hz / (b / 1e9) }')
		log "  run $i: $GET_SECS s, $GET_GBIT Gbit/s, $cpu CPU s/GB" \
			"(of which the server and client processes: $pcpu)"
		BEST_GBIT=$(awk -v a="$BEST_GBIT" -v b="$GET_GBIT" \
			'BEGIN { print (a == "" || b > a) ? b : a }')
		BEST_CPU=$(awk -v a="$BEST_CPU" -v b="$cpu" 'BEGIN { print (a == "" || b < a) ? b : a }')
	done
}

# dump_status: the status of every mpsd in STATUS_CTLS (control sockets) to standard error,
# for the diagnosis of a failed transfer.
STATUS_CTLS=()
dump_status() {
	local c
	for c in "${STATUS_CTLS[@]}"; do
		echo "---- mpsctl status of $(basename "$c" .ctl) ----" >&2
		"$MPSCTL" --ctl "$c" status >&2 2>&1
	done
}

# measure NS URL WHAT: timed, then one more (untimed) transfer that must be byte-exact.
# Returns 1 (trouble) when a transfer failed.
measure() {
	local got
	timed "$1" "$2" || { dump_status; return 1; }
	got=$(sha_get "$1" "$2")
	[ "$got" = "$REF_SHA" ] ||
		{ trouble "$3: sha256 mismatch (got '$got', want $REF_SHA)"; return 1; }
	log "$3: sha256 ok"
}

# path_note NS IFACE...: log the bytes each interface carried since paths_reset; sets
# PATH_NOTE when one of them carried less than 5 % of what the transfers moved.
path_note() {
	local ns=$1 i b tot=0 out=''
	shift
	PATH_NOTE=
	for i in "$@"; do
		b=$(path_bytes "$ns" "$i")
		tot=$((tot + b))
		out="$out $i=$((b / 1048576))MiB"
	done
	log "bytes per path:$out"
	for i in "$@"; do
		b=$(path_bytes "$ns" "$i")
		[ $((b * 20)) -ge "$tot" ] || PATH_NOTE="path $i carried under 5 % of the bytes"
	done
}

OURS_A='' KERN_A='' OURS_CPU='' KERN_CPU='' NOTE_A='' OURS_B='' NOTE_B=''
FAILED_A=0 FAILED_B=0

# ok_unless FAILED EXPR VAR=VALUE...: "false" when FAILED is 1 (a transfer of the row
# failed: its figure, if any, comes from the runs before), else holds EXPR VAR=VALUE...
# ("null" for EXPR 0: no target).
ok_unless() {
	local failed=$1 expr=$2
	shift 2
	if [ "$failed" = 1 ]; then
		echo false
	elif [ "$expr" = 0 ]; then
		echo null
	else
		holds "$expr" "$@"
	fi
}

# note_add VAR TEXT: append TEXT to the note in VAR.
note_add() {
	[ -n "$2" ] || return 0
	printf -v "$1" '%s' "${!1:+${!1}; }$2"
}

run_ours_one() {
	log "== ours, one server, two subflows, $BULK_MB MiB"
	topo_one_server_two_paths
	ours_one_server
	TIMED_PIDS=("$MPSD_CLIENT_PID" "$MPSD_SERVER_PID")
	STATUS_CTLS=("$CLI_CTL" "$WORK/mpsd-server.ctl")
	paths_reset "$NS_CLI" c1 c2
	if ! { measure "$NS_CLI" "$URL" "ours a" && alive "$MPSD_CLIENT_PID" client &&
		alive "$MPSD_SERVER_PID" server; }; then
		FAILED_A=1
		note_add NOTE_A "ours failed${BEST_GBIT:+ after $BEST_GBIT Gbit/s in an earlier run}: $LAST_ERR"
	fi
	OURS_A=$BEST_GBIT OURS_CPU=$BEST_CPU
	path_note "$NS_CLI" c1 c2
	note_add NOTE_A "${PATH_NOTE:+ours: $PATH_NOTE}"
	topo_teardown
}

run_kernel_one() {
	log "== kernel MPTCP, one server, two subflows, $BULK_MB MiB"
	topo_one_server_two_paths
	kernel_one_server
	TIMED_PIDS=("$BG_PID")
	STATUS_CTLS=()
	paths_reset "$NS_CLI" c1 c2
	nstat_reset "$NS_SRV"
	measure "$NS_CLI" "$URL" "kernel a" || note_add NOTE_A "kernel failed: $LAST_ERR"
	KERN_A=$BEST_GBIT KERN_CPU=$BEST_CPU
	CURL_WRAP=()
	path_note "$NS_CLI" c1 c2
	note_add NOTE_A "${PATH_NOTE:+kernel: $PATH_NOTE}"
	log "kernel: MPTcpExtMPJoinSynRx = $(nstat_get "$NS_SRV" MPTcpExtMPJoinSynRx)," \
		"fallbacks $(fallback_count "$NS_SRV")"
	topo_teardown
}

run_ours_group() {
	log "== ours, the group: two servers, $BULK_MB MiB"
	topo_two_servers
	ours_group
	TIMED_PIDS=("$MPSD_CLIENT_PID" "${GROUP_PID[1]}" "${GROUP_PID[2]}")
	STATUS_CTLS=("$CLI_CTL" "${GROUP_CTL[1]}" "${GROUP_CTL[2]}")
	paths_reset "$NS_CLI" c1 c2
	if ! { measure "$NS_CLI" "$URL" "ours b" && alive "$MPSD_CLIENT_PID" client &&
		alive "${GROUP_PID[1]}" srv1 && alive "${GROUP_PID[2]}" srv2; }; then
		FAILED_B=1
		note_add NOTE_B "ours failed${BEST_GBIT:+ after $BEST_GBIT Gbit/s in an earlier run}: $LAST_ERR"
	fi
	OURS_B=$BEST_GBIT
	path_note "$NS_CLI" c1 c2
	note_add NOTE_B "${PATH_NOTE:+ours: $PATH_NOTE}"
	topo_teardown
}

if wants a || wants g; then
	run_ours_one
	run_kernel_one
fi
if wants a; then
	bench_row a "1 conn, 2 subflows, 1 server, unlimited" "$OURS_A" "$KERN_A" Gbit/s \
		"ratio >= 0.50" "$(ok_unless "$FAILED_A" 'o >= 0.5 * k' o="$OURS_A" k="$KERN_A")" "" \
		"$NOTE_A"
fi
if wants b; then
	wants a || wants g || run_kernel_one
	run_ours_group
	bench_row b "1 conn, group of 2 servers, unlimited" "$OURS_B" "$KERN_A" Gbit/s \
		"none (kernel: row a's)" "$(ok_unless "$FAILED_B" 0)" "" \
		"${NOTE_B:+$NOTE_B; }the kernel has no group; its figure is row a's"
fi
if wants g; then
	bench_row g "CPU s per GB delivered in row a (all cores)" "$OURS_CPU" "$KERN_CPU" \
		"s/GB" "none (lower is better)" "$(ok_unless "$FAILED_A" 0)" "" \
		"/proc/stat user+nice+system+irq+softirq of the whole machine, other work on it included"
fi
pass "rows $ROWS"
