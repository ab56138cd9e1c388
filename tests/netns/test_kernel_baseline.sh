#!/bin/bash
#
# test_kernel_baseline.sh - the harness proven on the kernel alone: a kernel MPTCP client
# (mptcpize run curl) fetches FILE_MB MiB from a kernel MPTCP HTTP server over
# topo_one_server_two_paths; the server announces path 2 (signal endpoint on s2) and the
# client joins it.  Needs no mpsd.
#
# Cases (CASES, default all, in this order):
#   v4, v6    sha256; MPJoinSynRx > 0 on the server and MPJoinSynAckRx > 0 on the client; no
#             fallback counter rises; both paths carry at least 5 % of the file; the tshark
#             check passes with the token the server's path manager reports; transfer time.
#   loss      v4 with LOSS_PCT (2) % loss on each path in both directions: sha256, joins,
#             no fallback, and the loss rules really dropped packets.
#   linkdown  v4, each path limited to RATE (100mbit), path 2 taken down once a quarter of
#             the file has arrived: the transfer completes byte-exact on path 1.
#   strip1    the server's side of path 1 strips the MPTCP option (nftables "reset tcp
#             option mptcp"): the client falls back to TCP, the transfer completes.
#   strip2    path 2 strips the MPTCP option: the join cannot complete, the transfer
#             completes on path 1 over MPTCP without fallback.
#   routes4, routes6
#             the routes the mpsd tests rely on, with the stack addresses emulated on lo:
#             (1) a client bound to the client stack address joins the announced path 2;
#             (2) a client with a subflow endpoint on A_C2 reaches SRV_STACK1 over path 2
#                 (test_kernel_client_server case a); (3) a server announcing SRV_STACK2 is
#                 joined over path 2 (case b).  Each: sha256, join, both paths carry data.
#   two4, two6
#             topo_two_servers: from the client stack address, a kernel client fetches the
#             file from each server's stack address (sha256, each over its own link).

# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"

CASES=${CASES:-v4 v6 routes4 routes6 two4 two6 loss linkdown strip1 strip2}
LOSS_PCT=${LOSS_PCT:-2}
RATE=${RATE:-100mbit}

require_base
work_dir
mkdir -p "$WORK/www"
make_file "$WORK/www/file" "$FILE_MB"
MIN_PATH_BYTES=$((FILE_MB * 1048576 / 20))

# setup FAMILY: topology, kernel endpoints, HTTP server, counters reset.
setup() {
	FAMILY=$1
	topo_one_server_two_paths
	scen_kernel_server "$WORK/www"
	kernel_client_setup "$NS_CLI"
	URL=$KERNEL_URL
	nstat_reset "$NS_SRV"
	nstat_reset "$NS_CLI"
	paths_reset "$NS_SRV" s1 s2
}

expect_joined() {
	expect_counter "$NS_SRV" MPTcpExtMPCapableSYNRX -gt 0
	expect_counter "$NS_SRV" MPTcpExtMPJoinSynRx -gt 0
	expect_counter "$NS_CLI" MPTcpExtMPJoinSynAckRx -gt 0
	expect_counter "$NS_CLI" MPTcpExtMPJoinSynAckHMacFailure -eq 0
	expect_counter "$NS_SRV" MPTcpExtMPJoinAckHMacFailure -eq 0
	expect_no_fallback "$NS_SRV"
	expect_no_fallback "$NS_CLI"
}

case_plain() {
	local name=$1
	setup "$2"
	mptcp_monitor_start "$NS_SRV"
	capture_start "$NS_SRV" s1,s2 "$WORK/$name.pcapng"
	http_get "$NS_CLI" "$URL" "$WORK/got" mptcp || fail "$name: curl failed"
	capture_stop
	report_time "$name"
	expect_same_file "$WORK/got" "$WORK/www/file" "$name"
	expect_joined
	expect_paths_used "$NS_SRV" "$MIN_PATH_BYTES" s1 s2
	# shellcheck disable=SC2046
	tshark_check_mptcp "$WORK/$name.pcapng" $(mptcp_monitor_tokens) ||
		fail "$name: tshark check"
	topo_teardown
}

case_loss() {
	setup 4
	loss_on "$NS_CLI" c1 "$LOSS_PCT"
	loss_on "$NS_CLI" c2 "$LOSS_PCT"
	capture_start "$NS_SRV" s1,s2 "$WORK/loss.pcapng"
	http_get "$NS_CLI" "$URL" "$WORK/got" mptcp || fail "loss: curl failed"
	capture_stop
	report_time "loss"
	expect_same_file "$WORK/got" "$WORK/www/file" "loss"
	expect_joined
	expect_paths_used "$NS_SRV" "$MIN_PATH_BYTES" s1 s2
	local d1 d2
	d1=$(loss_dropped "$NS_CLI" c1)
	d2=$(loss_dropped "$NS_CLI" c2)
	if [ "$d1" = 0 ] || [ "$d2" = 0 ]; then
		fail "loss: nothing dropped on a path (path 1 $d1, path 2 $d2)"
	fi
	log "loss: dropped $d1 packets on path 1, $d2 on path 2"
	log "loss: $(tshark_count "$WORK/loss.pcapng" tcp.analysis.retransmission) retransmissions seen"
	tshark_check_mptcp "$WORK/loss.pcapng" || fail "loss: tshark check"
	topo_teardown
}

case_linkdown() {
	local size=$((FILE_MB * 1048576)) before
	setup 4
	rate_on "$NS_SRV" s1 "$RATE"
	rate_on "$NS_SRV" s2 "$RATE"
	local t0
	t0=$(now_ms)
	http_get_bg "$NS_CLI" "$URL" "$WORK/got" mptcp
	local curl=$BG_PID
	wait_file_size "$WORK/got" $((size / 4)) || fail "linkdown: a quarter never arrived"
	before=$(path_bytes "$NS_SRV" s2)
	[ "$before" -gt 0 ] || fail "linkdown: path 2 unused before it went down"
	link_down "$NS_SRV" s2
	log "linkdown: path 2 down after $(secs_since "$t0") s ($before bytes on it)"
	wait "$curl" || fail "linkdown: curl failed"
	LAST_SECS=$(secs_since "$t0")
	report_time "linkdown"
	expect_same_file "$WORK/got" "$WORK/www/file" "linkdown"
	expect_counter "$NS_SRV" MPTcpExtMPJoinSynRx -gt 0
	expect_no_fallback "$NS_CLI"
	topo_teardown
}

case_strip1() {
	setup 4
	strip_mptcp "$NS_SRV" s1
	http_get "$NS_CLI" "$URL" "$WORK/got" mptcp || fail "strip1: curl failed"
	report_time "strip1"
	expect_same_file "$WORK/got" "$WORK/www/file" "strip1"
	expect_counter "$NS_SRV" MPTcpExtMPCapableSYNRX -eq 0
	expect_counter "$NS_CLI" MPTcpExtMPCapableFallbackSYNACK -gt 0
	topo_teardown
}

case_strip2() {
	setup 4
	strip_mptcp "$NS_SRV" s2
	http_get "$NS_CLI" "$URL" "$WORK/got" mptcp || fail "strip2: curl failed"
	report_time "strip2"
	expect_same_file "$WORK/got" "$WORK/www/file" "strip2"
	expect_counter "$NS_SRV" MPTcpExtMPCapableSYNRX -gt 0
	expect_counter "$NS_SRV" MPTcpExtMPJoinSynRx -eq 0
	expect_counter "$NS_CLI" MPTcpExtMPJoinSynAckRx -eq 0
	expect_no_fallback "$NS_SRV"
	expect_no_fallback "$NS_CLI"
	topo_teardown
}

# routes_sub NAME URL [CURL_ARGS...]: one sub-case of case_routes.
routes_sub() {
	local name=$1 url=$2
	shift 2
	nstat_reset "$NS_SRV"
	nstat_reset "$NS_CLI"
	paths_reset "$NS_CLI" c1 c2
	rm -f "$WORK/got"
	ip netns exec "$NS_CLI" mptcpize run curl -sS --fail --max-time "$TRANSFER_TIMEOUT" \
		-o "$WORK/got" "$@" "$url" || fail "$name: curl failed"
	expect_same_file "$WORK/got" "$WORK/www/file" "$name"
	expect_joined
	expect_paths_used "$NS_CLI" "$MIN_PATH_BYTES" c1 c2
}

case_routes() {
	local f=$1
	setup "$f"
	stack_emulate "$NS_SRV" "$SRV_STACK1" "$SRV_STACK2"
	stack_emulate "$NS_CLI" "$CLI_STACK"
	routes_sub "routes$f/client-stack" "$URL" --interface "$CLI_STACK"

	ip -n "$NS_SRV" mptcp endpoint flush
	mptcp_endpoint "$NS_CLI" "$A_C2" c2 subflow
	routes_sub "routes$f/subflow-endpoint" "http://$(url_host "$SRV_STACK1"):$PORT/file"

	ip -n "$NS_CLI" mptcp endpoint flush
	ip -n "$NS_SRV" mptcp endpoint add "$SRV_STACK2" signal || fail "signal $SRV_STACK2"
	routes_sub "routes$f/announced-stack" "http://$(url_host "$SRV_STACK1"):$PORT/file"
	expect_counter "$NS_CLI" MPTcpExtAddAddr -gt 0
	topo_teardown
}

case_two() {
	local f=$1 s
	FAMILY=$f
	topo_two_servers
	stack_emulate "$NS_CLI" "$CLI_STACK"
	stack_emulate "$NS_SRV1" "$SRV1_STACK"
	stack_emulate "$NS_SRV2" "$SRV2_STACK"
	http_server_kernel "$NS_SRV1" "$ANY" "$PORT" "$WORK/www"
	http_server_kernel "$NS_SRV2" "$ANY" "$PORT" "$WORK/www"
	paths_reset "$NS_CLI" c1 c2
	for s in "$SRV1_STACK" "$SRV2_STACK"; do
		rm -f "$WORK/got"
		ip netns exec "$NS_CLI" mptcpize run curl -sS --fail --max-time "$TRANSFER_TIMEOUT" \
			--interface "$CLI_STACK" -o "$WORK/got" "http://$(url_host "$s"):$PORT/file" ||
			fail "two$f: curl from $CLI_STACK to $s failed"
		expect_same_file "$WORK/got" "$WORK/www/file" "two$f: $CLI_STACK -> $s"
	done
	expect_paths_used "$NS_CLI" $((FILE_MB * 1048576)) c1 c2
	topo_teardown
}

for c in $CASES; do
	echo "case $c"
	case $c in
	v4) case_plain v4 4 ;;
	v6) case_plain v6 6 ;;
	routes4) case_routes 4 ;;
	routes6) case_routes 6 ;;
	two4) case_two 4 ;;
	two6) case_two 6 ;;
	loss) case_loss ;;
	linkdown) case_linkdown ;;
	strip1) case_strip1 ;;
	strip2) case_strip2 ;;
	*) fail "unknown case $c" ;;
	esac
done
pass "kernel to kernel, $FILE_MB MiB:$TIMES"
