#!/bin/bash
#
# test_kernel_client_server.sh - the kernel's MPTCP client against our server.
#
# topo_one_server_two_paths.  In srv:
#     mpsd server --tun mpss0 --addr 10.88.1.1 --addr 10.88.1.2 --listen 10.88.1.1:8080
#                 --serve DIR [--announce 10.88.1.2:8080]
# In cli the kernel client (mptcpize run curl) fetches http://10.88.1.1:8080/file.
#
# Cases (CASES, default "a b"):
#   a  the client has a subflow endpoint on 10.0.2.1 (c2): it opens its second subflow to
#      10.88.1.1 over path 2 (policy routing), mpsd answers the MP_JOIN.
#   b  the client has no endpoint but accepts ADD_ADDR; mpsd announces its own second
#      address (--announce 10.88.1.2:8080) and the client joins it over path 2.
# Checks: sha256; on the client MPTcpExtMPCapableSYNACKRX > 0, MPTcpExtMPJoinSynAckRx > 0,
# MPTcpExtMPJoinSynAckHMacFailure == 0, no fallback counter rose (case b: MPTcpExtAddAddr > 0
# too); both paths carried at least 5 % of the file; the tshark check passes on the
# client-side capture with the token the client's path manager reports; mpsd still runs with
# a clean log.  Prints the transfer times.

# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"

CASES=${CASES:-a b}

require_base
require_mpsd
work_dir
mkdir -p "$WORK/www"
make_file "$WORK/www/file" "$FILE_MB"

run_case() {
	local name=$1
	nstat_reset "$NS_CLI"
	paths_reset "$NS_CLI" c1 c2
	mptcp_monitor_start "$NS_CLI"
	capture_start "$NS_CLI" c1,c2 "$WORK/$name.pcapng"
	http_get "$NS_CLI" "$STACK_URL" "$WORK/got" mptcp || fail "$name: kernel client failed"
	capture_stop
	report_time "$name"
	expect_same_file "$WORK/got" "$WORK/www/file" "$name"
	mpsd_check "$MPSD_SERVER_PID" server
	expect_counter "$NS_CLI" MPTcpExtMPCapableSYNACKRX -gt 0
	expect_counter "$NS_CLI" MPTcpExtMPJoinSynAckRx -gt 0
	expect_counter "$NS_CLI" MPTcpExtMPJoinSynAckHMacFailure -eq 0
	expect_counter "$NS_CLI" MPTcpExtDSSNotMatching -eq 0
	expect_counter "$NS_CLI" MPTcpExtDataCsumErr -eq 0
	expect_no_fallback "$NS_CLI"
	[ "$name" = b ] && expect_counter "$NS_CLI" MPTcpExtAddAddr -gt 0
	expect_paths_used "$NS_CLI" $((FILE_MB * 1048576 / 20)) c1 c2
	# shellcheck disable=SC2046
	tshark_check_mptcp "$WORK/$name.pcapng" $(mptcp_monitor_tokens) ||
		fail "$name: tshark check"
}

for c in $CASES; do
	echo "case $c"
	topo_one_server_two_paths
	case $c in
	a)
		scen_mpsd_server "$WORK/www"
		scen_kernel_client subflow
		;;
	b)
		scen_mpsd_server "$WORK/www" --announce "$(url_host "$SRV_STACK2"):$PORT"
		scen_kernel_client accept
		;;
	*) fail "unknown case $c" ;;
	esac
	run_case "$c"
	topo_teardown
done

pass "IPv$FAMILY, $FILE_MB MiB:$TIMES"
