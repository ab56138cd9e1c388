#!/bin/bash
#
# bench_shaped.sh - share of the summed link capacity on rate-limited links, without and with
# random loss (rows c and loss).
# bench-rows: c loss
#
# For each pair of SHAPED_PAIRS (default "50mbit:10mbit 10mbit:10mbit"; BENCH_QUICK=1: the
# first only), tbf at that rate on the server's end of each link (tests/netns/lib.sh
# rate_on: what leaves the server), the same for every transfer of the pair:
#
#   capacity  a link's capacity is the steady-state goodput of one kernel TCP connection on
#             it alone (kserve.py on a plain TCP socket in srvI on its veth address, the
#             player in cli), measured in this run over topo_two_servers, link 1 then link 2;
#             the two summed are the capacity of the pair.  topo_one_server_two_paths has the
#             same veths and the same tbf rates, so the sum is used for it too.
#   c         share of the capacity that one transfer of the pair's rates summed over
#             SHAPED_SECS (default 10; quick: 8) seconds gets in steady state:
#               ours, group:       topo_two_servers, the group (tests/netns/test_group.sh)
#               ours, one server:  topo_one_server_two_paths, mpsd server + mpsd client with
#                                  two subflows (SHAPED_ONE=0 leaves it out; quick: out)
#               kernel:            topo_one_server_two_paths, kernel MPTCP client and server
#                                  (two paths to one kernel server), as in row a
#             Target: ours >= 95 % and >= the kernel's share.
#   loss      the same transfers with LOSS_PCT (default 1) % random loss on each link in both
#             directions (nftables "numgen random mod 100 < 1 drop" on the ingress of both
#             veth ends, tests/netns/lib.sh loss_on, as tests/netns/test_loss.sh does): each
#             setup's steady goodput under loss as a percentage of its own loss-free goodput
#             above.  Target: ours >= 80 %; the kernel's for reference.
#
# Steady-state goodput is tests/netns/gapmeter.py's steady_mbit: the least-squares slope of
# bytes over time from STEADY_FROM (2) s to one second before the last byte.  Every transfer is
# checked byte-exact (sha256).

# shellcheck source=tests/bench/common.sh
. "$(dirname "$0")/common.sh"

if [ "$BENCH_QUICK" = 1 ]; then
	SHAPED_PAIRS=${SHAPED_PAIRS:-50mbit:10mbit}
	SHAPED_SECS=${SHAPED_SECS:-8}
	SHAPED_ONE=${SHAPED_ONE:-0}
else
	SHAPED_PAIRS=${SHAPED_PAIRS:-50mbit:10mbit 10mbit:10mbit}
	SHAPED_SECS=${SHAPED_SECS:-10}
	SHAPED_ONE=${SHAPED_ONE:-1}
fi
LOSS_PCT=${LOSS_PCT:-1}
ROWS=${BENCH_ROWS:-c loss}
BASE_PORT=8000

require_base
require_mpsd
work_dir
mkdir -p "$WORK/www" "$WORK/base"

wants() { [[ " $ROWS " == *" $1 "* ]]; }

# fails MSG...: the non-empty MSGs as the start of a note ("failed: A; B; ").
fails() {
	local m out=''
	for m in "$@"; do
		[ -n "$m" ] && out="$out$m; "
	done
	[ -z "$out" ] || echo "failed: $out"
}

# capacity R1 R2: the kernel TCP baseline of each link alone; sets CAP (Mbit/s, summed;
# null when a transfer failed, with CAP_ERR saying why).
capacity() {
	local i ns addr sum=0
	CAP_ERR=
	topo_two_servers
	rate_on "$NS_SRV1" s1 "$1"
	rate_on "$NS_SRV2" s2 "$2"
	for i in 1 2; do
		ns=NS_SRV$i addr=A_S$i
		ns=${!ns} addr=${!addr}
		kserve "$ns" "$addr" "$BASE_PORT" "$WORK/base"
		meter "$NS_CLI" "http://$(url_host "$addr"):$BASE_PORT/base$i" "$WORK/base/base$i" \
			"kernel-tcp-link$i" || CAP_ERR="capacity: $LAST_ERR"
		sum=$(calc 'a + b' a="$sum" b="$STEADY")
	done
	CAP=$sum
	log "capacity: $CAP Mbit/s"
	topo_teardown
}

# shaped SETUP R1 R2 LOSS: one transfer of $WORK/www/file with SETUP (group, one, kernel) over
# links at R1 and R2, with LOSS % loss (0: none).  Sets STEADY (null when the transfer failed
# or an mpsd died, with ERR saying why).
shaped() {
	local setup=$1 r1=$2 r2=$3 loss=$4 what=$1-$2-$3-loss$4 s1=s1 s2=s2 ns1 ns2
	log "== $what"
	if [ "$setup" = group ]; then
		topo_two_servers
		ours_group
		ns1=$NS_SRV1 ns2=$NS_SRV2
	else
		topo_one_server_two_paths
		if [ "$setup" = one ]; then ours_one_server; else kernel_one_server; fi
		ns1=$NS_SRV ns2=$NS_SRV
	fi
	rate_on "$ns1" "$s1" "$r1"
	rate_on "$ns2" "$s2" "$r2"
	if [ "$loss" != 0 ]; then
		loss_on "$NS_CLI" c1 "$loss"
		loss_on "$NS_CLI" c2 "$loss"
	fi
	paths_reset "$NS_CLI" c1 c2
	[ "$setup" = group ] && status_sampler_start "$CLI_CTL" "$WORK/$what.samples" 0.2
	ERR=''
	meter "$NS_CLI" "$URL" "$WORK/www/file" "$what" || ERR=$LAST_ERR
	CURL_WRAP=()
	if [ "$setup" = group ]; then
		sleep 0.3 # one more sample of the finished connection
		status_sampler_stop
		# each server's state, bytes, share (per mille) and why it left, if it did
		group_servers_of "$WORK/$what.samples" | while read -r addr state bytes pm reason; do
			log "$what: server $addr $state: $((bytes / 1024)) KiB, share" \
				"$((pm / 10)).$((pm % 10)) %${reason#-}"
		done
	fi
	log "$what: bytes per path c1 $(($(path_bytes "$NS_CLI" c1) / 1024)) KiB," \
		"c2 $(($(path_bytes "$NS_CLI" c2) / 1024)) KiB"
	[ "$loss" = 0 ] || log "$what: packets dropped: c1 $(loss_dropped "$NS_CLI" c1)," \
		"c2 $(loss_dropped "$NS_CLI" c2)"
	case $setup in
	group) alive "$MPSD_CLIENT_PID" client || ERR=$LAST_ERR ;;
	one) alive "$MPSD_CLIENT_PID" client && alive "$MPSD_SERVER_PID" server || ERR=$LAST_ERR ;;
	esac
	[ -z "$ERR" ] || STEADY=null
	topo_teardown
}

setups=(group)
[ "$SHAPED_ONE" = 1 ] && setups+=(one)
setups+=(kernel)
declare -A FREE LOSSY FREE_ERR LOSSY_ERR

for pair in $SHAPED_PAIRS; do
	r1=${pair%%:*} r2=${pair#*:}
	m1=$(mbit_of "$r1") || fail "bad rate $r1 in SHAPED_PAIRS"
	m2=$(mbit_of "$r2") || fail "bad rate $r2 in SHAPED_PAIRS"
	label="${m1}+${m2} Mbit/s"
	rm -f "$WORK/www/file" "$WORK/base/"*
	make_file "$WORK/base/base1" "$(mib_for "$m1" "$SHAPED_SECS")"
	make_file "$WORK/base/base2" "$(mib_for "$m2" "$SHAPED_SECS")"
	make_file "$WORK/www/file" "$(mib_for "$((m1 + m2))" "$SHAPED_SECS")"
	capacity "$r1" "$r2"
	for s in "${setups[@]}"; do
		shaped "$s" "$r1" "$r2" 0
		FREE[$s]=$STEADY FREE_ERR[$s]=$ERR
	done
	kshare=$(calc '100 * g / c' g="${FREE[kernel]}" c="$CAP")
	if wants c; then
		for s in "${setups[@]}"; do
			[ "$s" = kernel ] && continue
			share=$(calc '100 * g / c' g="${FREE[$s]}" c="$CAP")
			case $s in
			group) w="group of 2 servers" ;;
			one) w="1 server, 2 subflows" ;;
			esac
			bench_row c "$label, share of capacity: $w" \
				"$share" "$kshare" "% of cap." "ours >= 95 and >= kernel" \
				"$(holds 'o >= 95 && o >= k' o="$share" k="$kshare")" "" \
				"$(fails "$CAP_ERR" "${FREE_ERR[$s]}" "${FREE_ERR[kernel]}")$label: capacity $CAP Mbit/s (kernel TCP on each link alone), kernel MPTCP ${FREE[kernel]} Mbit/s"
		done
	fi
	if wants loss; then
		for s in "${setups[@]}"; do
			shaped "$s" "$r1" "$r2" "$LOSS_PCT"
			LOSSY[$s]=$STEADY LOSSY_ERR[$s]=$ERR
		done
		kkeep=$(calc '100 * l / f' l="${LOSSY[kernel]}" f="${FREE[kernel]}")
		for s in "${setups[@]}"; do
			[ "$s" = kernel ] && continue
			keep=$(calc '100 * l / f' l="${LOSSY[$s]}" f="${FREE[$s]}")
			case $s in
			group) w="group of 2 servers" ;;
			one) w="1 server, 2 subflows" ;;
			esac
			bench_row loss "$label, $LOSS_PCT % loss: $w" \
				"$keep" "$kkeep" "% of no-loss" "ours >= 80" \
				"$(holds 'o >= 80' o="$keep")" "" \
				"$(fails "${FREE_ERR[$s]}" "${LOSSY_ERR[$s]}" "${FREE_ERR[kernel]}" "${LOSSY_ERR[kernel]}")$label, $LOSS_PCT % loss, $w: ours ${FREE[$s]} -> ${LOSSY[$s]} Mbit/s, kernel MPTCP ${FREE[kernel]} -> ${LOSSY[kernel]} Mbit/s"
		done
	fi
done
pass "rows $ROWS"
