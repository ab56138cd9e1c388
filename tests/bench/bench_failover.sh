#!/bin/bash
#
# bench_failover.sh - the longest delivery gap the player sees when a server dies or a path
# goes down mid-transfer (row d).
# bench-rows: d
#
# FAIL_RATE (default 10mbit) tbf on the server's end of both links, FAIL_MB (default 12;
# BENCH_QUICK=1: 8) MiB fetched by the player (tests/netns/gapmeter.py, which times every
# recv(); gap_ms is the longest time between two deliveries, over the whole transfer).  When
# half the file has reached the player:
#
#   kill   ours: the group (topo_two_servers, as tests/netns/test_group.sh), srv1's mpsd
#          SIGKILLed (it dies silently: no FIN, no RST).  The kernel has no way to carry one
#          connection across two servers, so its figure is the nearest thing it has: one
#          kernel MPTCP server with two paths (as in row a), path 1's link taken down (the
#          server's end, "ip link set s1 down").
#   down   the like-for-like comparison: ours with one server and two subflows (mpsd server
#          and client as in row a) against the kernel's, path 1's link taken down the same way.
# Target: ours <= 300 ms.  The ratio is ours / kernel (lower is better).  Every transfer is
# checked byte-exact (sha256).

# shellcheck source=tests/bench/common.sh
. "$(dirname "$0")/common.sh"

FAIL_RATE=${FAIL_RATE:-10mbit}
if [ "$BENCH_QUICK" = 1 ]; then
	FAIL_MB=${FAIL_MB:-8}
	FAIL_CASES=${FAIL_CASES:-kill}
else
	FAIL_MB=${FAIL_MB:-12}
	FAIL_CASES=${FAIL_CASES:-kill down}
fi
GAP_MAX_MS=300

require_base
require_mpsd
work_dir
mkdir -p "$WORK/www"
make_file "$WORK/www/file" "$FAIL_MB"

# gap SETUP EVENT: one transfer with SETUP (group, one, kernel) and EVENT (kill: SIGKILL of
# srv1's mpsd; down: path 1's link down at the server) at half the file.  Sets GAP (ms; null
# when the transfer failed or an mpsd died, with ERR saying why).
gap() {
	local setup=$1 ev=$2 what=$1-$2 gp rc half t_ev at
	log "== $what: $FAIL_RATE per link, $FAIL_MB MiB"
	if [ "$setup" = group ]; then
		topo_two_servers
		ours_group
		rate_on "$NS_SRV1" s1 "$FAIL_RATE"
		rate_on "$NS_SRV2" s2 "$FAIL_RATE"
	else
		topo_one_server_two_paths
		if [ "$setup" = one ]; then ours_one_server; else kernel_one_server; fi
		rate_on "$NS_SRV" s1 "$FAIL_RATE"
		rate_on "$NS_SRV" s2 "$FAIL_RATE"
	fi
	bg_run "$NS_CLI" "$WORK/$what.json" "${CURL_WRAP[@]}" "$PYTHON" "$NETNS_DIR/gapmeter.py" \
		"$URL" "$WORK/got-$what" --log "$WORK/$what.tlog" --timeout 30
	gp=$BG_PID
	CURL_WRAP=()
	half=$((FAIL_MB * 1048576 / 2))
	GAP=null ERR=''
	if ! wait_file_size "$WORK/got-$what" "$half" 60; then
		trouble "$what: the player did not get half the file within 60 s"
		ERR=$LAST_ERR
		topo_teardown
		return 1
	fi
	t_ev=$(now_ms)
	case $setup/$ev in
	group/kill) group_kill 1 ;;
	group/down) link_down "$NS_SRV1" s1 ;;
	*/down) link_down "$NS_SRV" s1 ;;
	*) fail "gap: no event $ev for $setup" ;;
	esac
	wait "$gp"
	rc=$?
	J=$(grep '^{' "$WORK/$what.json")
	rm -f "$WORK/got-$what"
	if [ "$rc" != 0 ]; then
		trouble "$what: the player failed: $J"
	elif [ "$(json_get "$J" sha256)" != "$(sha_of "$WORK/www/file")" ]; then
		trouble "$what: sha256 mismatch: $J"
	fi || {
		ERR=$LAST_ERR
		topo_teardown
		return 1
	}
	GAP=$(json_get "$J" gap_ms)
	at=$(awk -v k="$t_ev" -v s="$(json_get "$J" start_epoch_ms)" \
		'BEGIN { printf "%.3f", (k - s) / 1000 }')
	log "$what: byte-exact in $(json_get "$J" seconds) s, $ev at $at s, longest gap $GAP ms" \
		"at $(json_get "$J" gap_at_s) s"
	case $setup in
	group) alive "$MPSD_CLIENT_PID" client && alive "${GROUP_PID[2]}" srv2 ;;
	one) alive "$MPSD_CLIENT_PID" client && alive "$MPSD_SERVER_PID" server ;;
	esac || { GAP=null ERR=$LAST_ERR; }
	topo_teardown
}

KGAP='' KERR=''
kernel_gap() {
	[ -n "$KGAP" ] && return 0
	gap kernel down
	KGAP=$GAP KERR=${ERR:+kernel failed: $ERR}
}

for c in $FAIL_CASES; do
	case $c in
	kill)
		gap group kill
		ours=$GAP oerr=${ERR:+ours failed: $ERR}
		kernel_gap
		w="$(mbit_of "$FAIL_RATE") Mbit/s links, longest gap: srv1 SIGKILLed (group)"
		bench_row d "$w" "$ours" "$KGAP" ms \
			"ours <= $GAP_MAX_MS" "$(holds "o <= $GAP_MAX_MS" o="$ours")" "" \
			"${oerr:+$oerr; }${KERR:+$KERR; }srv1 SIGKILLed: the kernel cannot carry a connection across servers; its figure is one MPTCP server losing path 1's link"
		;;
	down)
		gap one down
		ours=$GAP oerr=${ERR:+ours failed: $ERR}
		kernel_gap
		w="$(mbit_of "$FAIL_RATE") Mbit/s links, longest gap: path 1 down (1 server)"
		bench_row d "$w" "$ours" "$KGAP" ms \
			"ours <= $GAP_MAX_MS" "$(holds "o <= $GAP_MAX_MS" o="$ours")" "" \
			"${oerr:+$oerr; }$KERR"
		;;
	*) fail "unknown case $c in FAIL_CASES" ;;
	esac
done
pass "cases $FAIL_CASES"
