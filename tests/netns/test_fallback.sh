#!/bin/bash
#
# test_fallback.sh - fallback to plain TCP (RFC 8684 section 3.7) and a refused join.
#
# topo_one_server_two_paths.  A middlebox is emulated with nftables "reset tcp option mptcp"
# (the MPTCP option becomes NOPs, the checksum is fixed) on srv's side of a path, for packets
# in both directions (strip_mptcp).  Cases (CASES, default all):
#   plain-server   mpsd client -> a plain TCP server (python3 http.server without mptcpize):
#                  the SYN-ACK has no MP_CAPABLE, mpsd must carry on as plain TCP.
#   strip-client   mpsd client -> kernel MPTCP server, path 1 strips MPTCP options: the
#                  server sees a plain SYN (MPTcpExtMPCapableSYNRX stays 0), mpsd falls back.
#   strip-join     mpsd client -> kernel MPTCP server, path 2 strips MPTCP options: the join
#                  cannot complete (MPTcpExtMPJoinSynRx stays 0), the transfer goes on over
#                  MPTCP on path 1 without fallback (RFC 8684 section 3.2).
#   plain-client   plain curl (no mptcpize) -> mpsd server: a SYN without MP_CAPABLE.
#   strip-server   kernel client -> mpsd server, path 1 strips MPTCP options: the client
#                  falls back (MPTcpExtMPCapableFallbackSYNACK rises on the client).
# Every case: sha256 (a working transfer) and mpsd still running with a clean log.

# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"

CASES=${CASES:-plain-server strip-client strip-join plain-client strip-server}

require_base
require_mpsd
work_dir
mkdir -p "$WORK/www"
make_file "$WORK/www/file" "$FILE_MB"

transfer() {
	http_get "$NS_CLI" "$1" "$WORK/got" "${3:-}" || fail "$2: transfer failed"
	report_time "$2"
	expect_same_file "$WORK/got" "$WORK/www/file" "$2"
}

for c in $CASES; do
	echo "case $c"
	topo_one_server_two_paths
	nstat_reset "$NS_SRV"
	nstat_reset "$NS_CLI"
	case $c in
	plain-server)
		http_server_plain "$NS_SRV" "$ANY" "$PORT" "$WORK/www"
		scen_mpsd_client
		transfer "$PLAYER_URL" "$c"
		mpsd_check "$MPSD_CLIENT_PID" client
		expect_counter "$NS_SRV" MPTcpExtMPCapableSYNRX -eq 0
		;;
	strip-client)
		scen_kernel_server "$WORK/www"
		strip_mptcp "$NS_SRV" s1
		scen_mpsd_client
		transfer "$PLAYER_URL" "$c"
		mpsd_check "$MPSD_CLIENT_PID" client
		expect_counter "$NS_SRV" MPTcpExtMPCapableSYNRX -eq 0
		;;
	strip-join)
		scen_kernel_server "$WORK/www"
		strip_mptcp "$NS_SRV" s2
		scen_mpsd_client
		transfer "$PLAYER_URL" "$c"
		mpsd_check "$MPSD_CLIENT_PID" client
		expect_counter "$NS_SRV" MPTcpExtMPCapableSYNRX -gt 0
		expect_counter "$NS_SRV" MPTcpExtMPJoinSynRx -eq 0
		expect_no_fallback "$NS_SRV"
		;;
	plain-client)
		scen_mpsd_server "$WORK/www"
		transfer "$STACK_URL" "$c"
		mpsd_check "$MPSD_SERVER_PID" server
		;;
	strip-server)
		scen_mpsd_server "$WORK/www"
		scen_kernel_client subflow
		strip_mptcp "$NS_SRV" s1
		transfer "$STACK_URL" "$c" mptcp
		mpsd_check "$MPSD_SERVER_PID" server
		expect_counter "$NS_CLI" MPTcpExtMPCapableFallbackSYNACK -gt 0
		;;
	*) fail "unknown case $c" ;;
	esac
	topo_teardown
done

pass "$FILE_MB MiB:$TIMES"
