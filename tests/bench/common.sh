# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables set here are read by the scripts sourcing it
#
# tests/bench/common.sh - shared parts of the benchmark scripts (tests/bench/bench_*.sh).
#
# Sourced, never executed.  It sources tests/netns/lib.sh (topologies, mpsd servers and
# clients, group servers, tbf rates, nftables loss, cleanup of every namespace and process at
# exit) and adds what the benchmarks need:
#
#   bench_row ROW WHAT OURS KERNEL UNIT TARGET PASS [RATIO [NOTE]]
#             print one result row as a JSON line on standard output (the only thing a
#             benchmark script prints there; everything else goes to standard error)
#   cpu_ticks             busy CPU time of the whole machine so far (/proc/stat, all cores)
#   bulk_get NS URL BYTES one HTTP GET with curl to /dev/null; checks status and length
#   sha_get NS URL        the sha256 of what a GET of URL returns
#
# Environment (besides lib.sh's): BENCH_LOG_DIR (where a script keeps what it wants to keep,
# default none), BENCH_QUICK=1 (smaller files and shorter runs; contrib/test-all.sh).

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/netns/lib.sh
. "$BENCH_DIR/../netns/lib.sh"

BENCH_QUICK=${BENCH_QUICK:-0}
KSERVE=$BENCH_DIR/kserve.py

# lib.sh's log() writes to standard output, which carries the rows here.
log() { printf '  %s\n' "$*" >&2; }
skip() { echo "SKIP: $TEST_NAME: $*" >&2; exit 77; }

# trouble MSG: a transfer failed or a process died: log MSG, count it, keep it in LAST_ERR
# and return 1.  The script carries on with its other rows (the row of the failed figure
# shows none, a FAIL and the message); pass then exits 1.
BENCH_ERRORS=0
LAST_ERR=
trouble() {
	echo "ERROR: $TEST_NAME: $*" >&2
	BENCH_ERRORS=$((BENCH_ERRORS + 1))
	LAST_ERR=$*
	return 1
}

# pass [MSG]: the end of a script: status 0, or 1 when something went wrong (trouble).
pass() {
	if [ "$BENCH_ERRORS" != 0 ]; then
		echo "FAILED: $TEST_NAME: $BENCH_ERRORS failure(s), the last: $LAST_ERR" >&2
		exit 1
	fi
	echo "DONE: $TEST_NAME${1:+: $*}" >&2
	exit 0
}

# alive PID NAME: trouble unless that mpsd still runs with a log free of sanitizer reports
# (tests/netns/lib.sh mpsd_check, without ending the script).
alive() {
	kill -0 "$1" 2>/dev/null || { trouble "mpsd $2 died (see mpsd-$2.log)"; return 1; }
	! grep -Eq 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:' \
		"$WORK/mpsd-$2.log" || trouble "sanitizer report in mpsd-$2.log"
}

# num X: X if it is a number, else "null" (for the JSON rows).
num() {
	if [[ $1 =~ ^-?[0-9]+(\.[0-9]+)?$ ]]; then echo "$1"; else echo null; fi
}

# bench_row ROW WHAT OURS KERNEL UNIT TARGET PASS [RATIO [NOTE]]: one row.  OURS / KERNEL /
# RATIO are numbers or anything else for none (null); RATIO defaults to OURS / KERNEL (3
# decimals); PASS is true, false or anything else for "no target" (null); NOTE, when given,
# says what the reader must know about the figures (printed under the table).
bench_row() {
	local row=$1 what=$2 ours kern unit target=$6 p=$7 ratio note
	ours=$(num "$3")
	kern=$(num "$4")
	unit=$5
	ratio=$(num "${8:-x}")
	if [ "$ratio" = null ] && [ "$ours" != null ] && [ "$kern" != null ]; then
		ratio=$(awk -v a="$ours" -v b="$kern" 'BEGIN { if (b != 0) printf "%.3f", a / b;
			else print "null" }')
	fi
	case $p in true | false) ;; *) p=null ;; esac
	# a row without our figure (a failed transfer) has missed its target
	[ "$ours" = null ] && [ "${target#none}" = "$target" ] && p=false
	printf '{"row":"%s","what":"%s","ours":%s,"kernel":%s,"unit":"%s","ratio":%s,' \
		"$row" "$what" "$ours" "$kern" "$unit" "$ratio"
	printf '"target":"%s","pass":%s' "$target" "$p"
	note=${9:-}
	note=${note//\"/\'}
	[ -z "$note" ] || printf ',"note":"%s"' "$note"
	printf '}\n'
	log "row $row: $what: ours $ours, kernel $kern $unit, ratio $ratio ($target: $p)"
}

# holds EXPR VAR=VALUE...: "true" if the awk expression EXPR holds for the values, "false"
# if not, "null" when a value is not a number.
holds() {
	local expr=$1 a args=()
	shift
	for a in "$@"; do
		[ "$(num "${a#*=}")" = null ] && { echo null; return 0; }
		args+=(-v "$a")
	done
	awk "${args[@]}" "BEGIN { print (($expr) ? \"true\" : \"false\") }"
}

# cpu_ticks: user + nice + system + irq + softirq of all cores, in clock ticks (/proc/stat is
# not per namespace: it is everything the machine did, other processes included).
cpu_ticks() {
	awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8; exit }' /proc/stat
}

CLK_TCK=$(getconf CLK_TCK)

# proc_ticks PID...: user + system time of those processes so far, in clock ticks (0 for one
# that is gone).
proc_ticks() {
	local p t=0 f
	for p in "$@"; do
		f=$(cut -d' ' -f14,15 "/proc/$p/stat" 2>/dev/null) || continue
		t=$((t + ${f% *} + ${f#* }))
	done
	echo "$t"
}

# CURL_WRAP: a command that bulk_get and sha_get put before curl, e.g. (mptcpize run).
CURL_WRAP=()

# bulk_get NS URL BYTES: GET URL with curl inside NS to /dev/null; trouble unless the status
# is 200 and exactly BYTES body bytes arrived (curl gives up after TRANSFER_TIMEOUT seconds,
# or when under 1000 bytes a second arrived for 15 seconds: a stall).  Sets GET_SECS (curl's total time) and
# GET_GBIT (goodput in Gbit/s, 10^9 bits).
bulk_get() {
	local ns=$1 url=$2 want=$3 out code size secs err
	out=$(ip netns exec "$ns" "${CURL_WRAP[@]}" curl -sS --max-time "$TRANSFER_TIMEOUT" -y 15 -Y 1000 \
		-o /dev/null -w '%{http_code} %{size_download} %{time_total}' "$url" \
		2>"$WORK/curl.err")
	err=$(tr '\n' ' ' <"$WORK/curl.err")
	read -r code size secs <<<"$out"
	[ "$code" = 200 ] || { trouble "GET $url: status $code $err"; return 1; }
	[ "$size" = "$want" ] || { trouble "GET $url: $size bytes, expected $want $err"; return 1; }
	GET_SECS=$secs
	GET_GBIT=$(awk -v b="$size" -v s="$secs" 'BEGIN { printf "%.3f", b * 8 / s / 1e9 }')
}

# sha_get NS URL: the sha256 of the body of a GET of URL inside NS (empty on failure).  The
# body goes to a file first: a reader as slow as sha256sum on a pipe makes the receive window
# close and open again, which is not what the timed transfers measure.
sha_get() {
	local f=$WORK/sha_get.body
	ip netns exec "$1" "${CURL_WRAP[@]}" curl -sS --fail --max-time "$TRANSFER_TIMEOUT" -y 15 -Y 1000 \
		-o "$f" "$2" && sha_of "$f"
	rm -f "$f"
}

# kserve NS ADDR PORT DIR [--mptcp]: tests/bench/kserve.py (a sendfile HTTP server on a
# kernel TCP or MPTCP socket) in NS; waits for the port.  Sets BG_PID.
kserve() {
	local ns=$1 addr=$2 port=$3
	bg_run "$ns" "$WORK/kserve-$ns-$port.log" "$PYTHON" "$KSERVE" "$addr" "$port" "${@:4}"
	wait_port "$ns" "$addr" "$port"
}

# --------------------------------------------------------------------------------------------
# The setups the rows compare (each on a fresh topology made by the caller)

# ours_one_server: over topo_one_server_two_paths, mpsd server (--addr SRV_STACK1 --addr
# SRV_STACK2 --announce SRV_STACK2) serving $WORK/www and mpsd client --connect SRV_STACK1:
# the client joins the announced address over path 2.  Sets URL (the file through the
# client's player socket), MPSD_CLIENT_PID, MPSD_SERVER_PID.
ours_one_server() {
	scen_mpsd_server "$WORK/www" --announce "$(url_host "$SRV_STACK2"):$PORT"
	mpsd_start "$NS_CLI" client client --tun mpsc0 --addr "$CLI_STACK" \
		--connect "$(url_host "$SRV_STACK1"):$PORT" --listen "127.0.0.1:$LOCAL_PORT" \
		--ctl "$WORK/mpsd-client.ctl"
	MPSD_CLIENT_PID=$BG_PID
	CLI_CTL=$WORK/mpsd-client.ctl
	wait_tun "$NS_CLI" mpsc0 "$CLI_STACK"
	wait_port "$NS_CLI" 127.0.0.1 "$LOCAL_PORT"
	URL="http://127.0.0.1:$LOCAL_PORT/file"
}

# kernel_one_server: over topo_one_server_two_paths, the kernel's MPTCP on both ends:
# kserve.py --mptcp on ANY:PORT in srv with SRV_STACK1 on lo, and a client path manager with
# a subflow endpoint on A_C2 ("ip mptcp endpoint add A_C2 dev c2 subflow"; limits 2 2 on
# both sides): the client's second subflow goes to SRV_STACK1 over path 2.  Sets URL and
# CURL_WRAP (clients must run under mptcpize).
kernel_one_server() {
	stack_emulate "$NS_SRV" "$SRV_STACK1"
	mptcp_limits "$NS_SRV" 2 2
	mptcp_limits "$NS_CLI" 2 2
	mptcp_endpoint "$NS_CLI" "$A_C2" c2 subflow
	kserve "$NS_SRV" "$ANY" "$PORT" "$WORK/www" --mptcp
	URL="http://$(url_host "$SRV_STACK1"):$PORT/file"
	CURL_WRAP=(mptcpize run)
}

# ours_group: over topo_two_servers, the group of tests/netns/test_group.sh: mpsd server x2
# with one --group-key serving $WORK/www, srv1 --announce srv2, mpsd client --group
# --connect srv1.  Sets URL, MPSD_CLIENT_PID, CLI_CTL, GROUP_PID[1..2].
ours_group() {
	[ -f "$WORK/group.key" ] || group_key "$WORK/group.key"
	group_server 1 "$WORK/www" "$WORK/group.key" --announce "$(url_host "$SRV2_STACK"):$PORT"
	group_server 2 "$WORK/www" "$WORK/group.key"
	# shellcheck disable=SC2119 # no extra arguments
	group_client
	URL="$PLAYER_BASE/file"
}

# meter NS URL REF WHAT [GAPMETER_ARGS...]: the player (tests/netns/gapmeter.py, under
# CURL_WRAP) fetches URL in NS into $WORK/got-WHAT; trouble unless it got status 200 and
# REF's bytes (sha256).  Sets J (its JSON line) and STEADY (steady-state goodput, Mbit/s,
# from STEADY_FROM (2) s: the least-squares slope of bytes over time; null on failure).
STEADY_FROM=${STEADY_FROM:-2}
meter() {
	local ns=$1 url=$2 ref=$3 what=$4
	shift 4
	STEADY=null
	J=$(ip netns exec "$ns" "${CURL_WRAP[@]}" "$PYTHON" "$NETNS_DIR/gapmeter.py" "$url" \
		"$WORK/got-$what" --steady-from "$STEADY_FROM" --timeout 30 "$@")
	rm -f "$WORK/got-$what"
	[ "$(json_get "$J" complete)" = true ] || { trouble "$what: the player failed: $J"; return 1; }
	[ "$(json_get "$J" sha256)" = "$(sha_of "$ref")" ] ||
		{ trouble "$what: sha256 mismatch: $J"; return 1; }
	[ "$(json_get "$J" steady_mbit)" != null ] ||
		{ trouble "$what: the transfer ended before $STEADY_FROM s: $J"; return 1; }
	STEADY=$(json_get "$J" steady_mbit)
	log "$what: $STEADY Mbit/s steady ($(json_get "$J" mbit) overall," \
		"$(json_get "$J" seconds) s, longest gap $(json_get "$J" gap_ms) ms)"
}

# mbit_of RATE: a tc rate (10mbit, 500kbit, 1gbit) in Mbit/s.
mbit_of() {
	awk -v r="$1" 'BEGIN { v = r + 0; u = tolower(r); sub(/^[0-9.]+/, "", u);
		if (u == "kbit") v /= 1000; else if (u == "gbit") v *= 1000;
		else if (u != "mbit") { print "bad rate " r > "/dev/stderr"; exit 1 }
		print v }'
}

# mib_for MBIT SECS: MiB that take SECS seconds at MBIT Mbit/s (at least 1).
mib_for() {
	awk -v m="$1" -v s="$2" 'BEGIN { v = int(m * s / 8 / 1.048576 + 0.999);
		print (v < 1 ? 1 : v) }'
}

# calc EXPR VAR=VALUE...: the awk expression EXPR, 3 decimals ("null" if a value is none).
calc() {
	local expr=$1 a args=()
	shift
	for a in "$@"; do
		[ "$(num "${a#*=}")" = null ] && { echo null; return 0; }
		args+=(-v "$a")
	done
	awk "${args[@]}" "BEGIN { printf \"%.3f\", $expr }"
}
