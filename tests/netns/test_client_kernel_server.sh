#!/bin/bash
#
# test_client_kernel_server.sh - our client against the kernel's MPTCP server.
#
# topo_one_server_two_paths.  In srv a kernel MPTCP HTTP server (mptcpize python3
# http.server on the wildcard address, port 8080) whose path manager announces A_S2
# (10.0.2.2) with ADD_ADDR.  In cli:
#     mpsd client --tun mpsc0 --addr 10.77.0.2 --connect 10.0.1.2:8080 --listen 127.0.0.1:9000
# and an ordinary curl fetches http://127.0.0.1:9000/file through it.
#
# Checks: sha256; on the server MPTcpExtMPCapableSYNRX and MPTcpExtMPJoinSynRx rose (our
# client did MP_CAPABLE and joined the announced address), MPTcpExtMPCapableACKRX rose, no
# fallback counter rose, no MP_JOIN HMAC failure; both paths carried at least 5 % of the file;
# the tshark check passes on the server-side capture with the token of the server's path
# manager; mpsd is still running with a clean log.  Then the kernel client fetches the same
# file over the same topology, and both times are reported.
#
# FAMILY=6 runs it over IPv6 (test_ipv6.sh).  PATH_RATE (e.g. 200mbit) limits each path
# downstream with tbf, to make both paths necessary.

# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"

require_base
require_mpsd
work_dir
mkdir -p "$WORK/www"
make_file "$WORK/www/file" "$FILE_MB"

topo_one_server_two_paths
scen_kernel_server "$WORK/www"
if [ -n "${PATH_RATE:-}" ]; then
	rate_on "$NS_SRV" s1 "$PATH_RATE"
	rate_on "$NS_SRV" s2 "$PATH_RATE"
fi
mptcp_monitor_start "$NS_SRV"
scen_mpsd_client

nstat_reset "$NS_SRV"
paths_reset "$NS_SRV" s1 s2
capture_start "$NS_SRV" s1,s2 "$WORK/mpsd-client.pcapng"
http_get "$NS_CLI" "$PLAYER_URL" "$WORK/got" || fail "curl through mpsd failed"
capture_stop
report_time "mpsd-client"
expect_same_file "$WORK/got" "$WORK/www/file" "mpsd client"
mpsd_check "$MPSD_CLIENT_PID" client
expect_counter "$NS_SRV" MPTcpExtMPCapableSYNRX -gt 0
expect_counter "$NS_SRV" MPTcpExtMPCapableACKRX -gt 0
expect_counter "$NS_SRV" MPTcpExtMPJoinSynRx -gt 0
expect_counter "$NS_SRV" MPTcpExtMPJoinAckRx -gt 0
expect_counter "$NS_SRV" MPTcpExtMPJoinAckHMacFailure -eq 0
expect_counter "$NS_SRV" MPTcpExtMPJoinRejected -eq 0
expect_counter "$NS_SRV" MPTcpExtDSSNotMatching -eq 0
expect_counter "$NS_SRV" MPTcpExtDataCsumErr -eq 0
expect_no_fallback "$NS_SRV"
expect_paths_used "$NS_SRV" $((FILE_MB * 1048576 / 20)) s1 s2
# shellcheck disable=SC2046
tshark_check_mptcp "$WORK/mpsd-client.pcapng" $(mptcp_monitor_tokens) || fail "tshark check"

# the kernel's own client on the same topology, for the time
kernel_client_setup "$NS_CLI"
nstat_reset "$NS_SRV"
http_get "$NS_CLI" "$KERNEL_URL" "$WORK/got" mptcp || fail "kernel client failed"
report_time "kernel-client"
expect_same_file "$WORK/got" "$WORK/www/file" "kernel client"
expect_counter "$NS_SRV" MPTcpExtMPJoinSynRx -gt 0

pass "IPv$FAMILY, $FILE_MB MiB:$TIMES"
