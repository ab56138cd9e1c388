#!/bin/bash
#
# test_signals.sh - path-manager signals between mpsd and the kernel's MPTCP: ADD_ADDR and its
# echo, REMOVE_ADDR, the backup flag of MP_JOIN, and the end of a connection whose
# application goes away (MP_FASTCLOSE / RST, RFC 8684 sections 3.4, 3.3.8, 3.5, 3.6).
#
# topo_one_server_two_paths, FILE_MB (default 20) MiB.  Cases (CASES, default all):
#   addaddr-kernel  mpsd client <- kernel server with a signal endpoint on 10.0.2.2: the
#                   kernel sends ADD_ADDR (MPTcpExtAddAddrTx), our client echoes it (the
#                   server counts MPTcpExtEchoAdd; tshark sees the echo from 10.77.0.2) and
#                   joins 10.0.2.2 (MPTcpExtMPJoinSynRx/AckRx); sha256, path 2 used.
#   addaddr-mpsd    kernel client (add_addr_accepted 2, subflows 2) <- mpsd server with
#                   --announce 10.88.1.2:8080: the client counts MPTcpExtAddAddr and echoes it
#                   (MPTcpExtEchoAddTx); on our side the echo stops the retransmission of the
#                   ADD_ADDR (tshark: no ADD_ADDR from mpsd after the first echo arrived); the
#                   client joins 10.88.1.2 (MPTcpExtMPJoinSynAckRx); sha256, path 2 used.
#                   Both paths limited to ADDADDR_RATE (25mbit) so the transfer lasts > 3 s.
#   rmaddr          mpsd client <- kernel server, both paths limited to RATE (default
#                   40mbit) downstream; once path 2 carries data, the server deletes its signal
#                   endpoint (ip mptcp endpoint delete id N): it sends REMOVE_ADDR (tshark,
#                   MPTcpExtRmAddrTx); our client closes the subflow to 10.0.2.2 (mpsctl status
#                   shows none open), does not join it again, and the transfer completes
#                   byte-exact on path 1.
#   fastclose       mpsd client <- kernel server at RATE: the player (curl) is killed
#                   mid-transfer; our client must end the MPTCP connection so that the kernel
#                   server's connection goes away (no MPTCP socket but the listener in
#                   "ss -M" within CLOSE_WAIT_S seconds), and mpsd keeps no live connection.
#   killclient      kernel client (mptcpize run curl, subflow endpoint) <- mpsd server at
#                   RATE with --send-timeout KILL_SEND_TIMEOUT (2 s): curl gets SIGKILL
#                   mid-transfer.  The kernel then does one of three things, depending on
#                   where its unread bytes sit when the socket is closed (all seen here):
#                   (a) with bytes queued at the MPTCP level it aborts (MP_FASTCLOSE,
#                   MPTcpExtMPFastcloseTx); otherwise it closes gracefully (DATA_FIN) and
#                   keeps an orphan socket that either (b) goes on taking and acknowledging
#                   the rest of the stream, then ends with FIN, or (c) sits in FIN-WAIT-2
#                   with its window shut until its FIN timeout.  The test tells which it did
#                   (the counter, then mpsd's log and send_timeouts) and checks our answer:
#                   (a) our connection ends within 1 s, no send timeout; (b) it ends
#                   normally once the whole file is acknowledged, no send timeout; (c) it
#                   ends when nothing was acknowledged for the send timeout, with
#                   MP_FASTCLOSE (tshark: our RST carries it; send_timeouts = 1), and the
#                   kernel's socket is gone.  Any other end fails the case.
#   backup          kernel client with a "subflow backup" endpoint on 10.0.2.1 <- mpsd server,
#                   path 1 limited to BACKUP_RATE (default 100mbit): the MP_JOIN SYN carries
#                   the B flag (tshark), mpsctl status shows the subflow as backup, and our
#                   server sends (almost) nothing on it while path 1 works: path 2 carries
#                   < 5 % of the file (the kernel's own server, in the same setup: ~1.5 kB).
# Every case: mpsd still runs with a clean log; the kernel counters that tell which signal
# was used are logged.

FILE_MB=${FILE_MB:-20}
# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"

CASES=${CASES:-addaddr-kernel addaddr-mpsd rmaddr fastclose killclient backup}
RATE=${RATE:-40mbit}
BACKUP_RATE=${BACKUP_RATE:-100mbit}
ADDADDR_RATE=${ADDADDR_RATE:-25mbit}
CLOSE_WAIT_S=${CLOSE_WAIT_S:-5}
KILL_SEND_TIMEOUT=2

require_base
require_mpsd
work_dir
mkdir -p "$WORK/www"
make_file "$WORK/www/file" "$FILE_MB"
SIZE=$((FILE_MB * 1048576))
CLI_CTL=$WORK/mpsd-client.ctl
SRV_CTL=$WORK/mpsd-server.ctl

# count FILE NAME FILTER: packets of the capture FILE matching FILTER (fails on a tshark error).
count() {
	tshark_count "$1" "$3" || fail "$2: tshark failed on $1"
}

# log_counters NS COUNTER...: log the deltas of the counters (information, no check).
log_counters() {
	local ns=$1 c s=
	shift
	for c in "$@"; do
		s="$s ${c#MPTcpExt}=$(nstat_get "$ns" "$c")"
	done
	log "${ns#"$_NSP"}:$s"
}

# show_state NAME CTL KERNEL_NS: print what a failure report needs (mpsctl status, ss -M).
show_state() {
	echo "---- $1: mpsctl status ----" >&2
	mpsctl_status "$2" >&2 2>&1
	echo "---- $1: ss -Mni in ${3#"$_NSP"} ----" >&2
	ip netns exec "$3" ss -Mni >&2 2>&1
}

# endpoint_id NS ADDR: the id of the in-kernel path manager's endpoint for ADDR.
endpoint_id() {
	ip -n "$1" mptcp endpoint show | awk -v a="$2" '$1 == a {
		for (i = 2; i < NF; i++) if ($i == "id") print $(i + 1) }'
}

# open_subflows_to CTL ADDR: number of subflows mpsd lists towards ADDR (any port) that are
# not closed (CLOSED or TIME_WAIT).
open_subflows_to() {
	mpsctl_status "$1" 2>/dev/null | awk -v a="$2" '
		$1 == "subflow" && index($4, a ":") == 1 && $5 != "CLOSED" && $5 != "TIME_WAIT" { n++ }
		END { print n + 0 }'
}

# shellcheck disable=SC2317 # (called through wait_until)
_no_open_subflow_to() { [ "$(open_subflows_to "$1" "$2")" = 0 ]; }
# shellcheck disable=SC2317
_no_live_conn() { [ "$(mpsctl_live_conns "$1")" = 0 ]; }

# ---------------------------------------------------------------------------------------------

case_addaddr_kernel() {
	local c=addaddr-kernel f=$WORK/addaddr-kernel.pcapng echoes
	scen_kernel_server "$WORK/www"
	scen_mpsd_client -v
	nstat_reset "$NS_SRV"
	paths_reset "$NS_SRV" s1 s2
	capture_start "$NS_SRV" s1,s2 "$f"
	http_get "$NS_CLI" "$PLAYER_URL" "$WORK/got" || fail "$c: curl through mpsd failed"
	capture_stop
	capture_std "$f"
	f=$CAPTURE_STD
	report_time "$c"
	expect_same_file "$WORK/got" "$WORK/www/file" "$c"
	mpsd_check "$MPSD_CLIENT_PID" client
	expect_counter "$NS_SRV" MPTcpExtAddAddrTx -gt 0
	expect_counter "$NS_SRV" MPTcpExtEchoAdd -gt 0
	expect_counter "$NS_SRV" MPTcpExtMPJoinSynRx -gt 0
	expect_counter "$NS_SRV" MPTcpExtMPJoinAckRx -gt 0
	expect_counter "$NS_SRV" MPTcpExtMPJoinAckHMacFailure -eq 0
	expect_no_fallback "$NS_SRV"
	echoes=$(count "$f" "$c" "ip.src == $CLI_STACK && tcp.options.mptcp.subtype == 3 &&
		tcp.options.mptcp.echo == 1 && tcp.options.mptcp.ipv4 == $A_S2")
	[ "$echoes" -gt 0 ] || fail "$c: no ADD_ADDR echo for $A_S2 from $CLI_STACK in the capture"
	log "$c: $echoes ADD_ADDR echo(es) from our client"
	expect_paths_used "$NS_SRV" $((SIZE / 20)) s1 s2
	tshark_check_mptcp "$f" || fail "$c: tshark check"
}

case_addaddr_mpsd() {
	local c=addaddr-mpsd f=$WORK/addaddr-mpsd.pcapng first n_add n_late
	scen_mpsd_server "$WORK/www" -v --announce "$SRV_STACK2:$PORT"
	scen_kernel_client accept
	# slow enough that an ADD_ADDR repeated without regard to the echo (every second or
	# so) would show in the capture
	rate_on "$NS_SRV" s1 "$ADDADDR_RATE"
	rate_on "$NS_SRV" s2 "$ADDADDR_RATE"
	nstat_reset "$NS_CLI"
	paths_reset "$NS_CLI" c1 c2
	capture_start "$NS_CLI" c1,c2 "$f"
	http_get "$NS_CLI" "$STACK_URL" "$WORK/got" mptcp || fail "$c: kernel client failed"
	capture_stop
	capture_std "$f"
	f=$CAPTURE_STD
	report_time "$c"
	expect_same_file "$WORK/got" "$WORK/www/file" "$c"
	mpsd_check "$MPSD_SERVER_PID" server
	expect_counter "$NS_CLI" MPTcpExtAddAddr -gt 0
	expect_counter "$NS_CLI" MPTcpExtAddAddrDrop -eq 0
	expect_counter "$NS_CLI" MPTcpExtEchoAddTx -gt 0
	expect_counter "$NS_CLI" MPTcpExtMPJoinSynAckRx -gt 0
	expect_counter "$NS_CLI" MPTcpExtMPJoinSynAckHMacFailure -eq 0
	expect_no_fallback "$NS_CLI"
	# our ADD_ADDRs (RFC 8684 section 3.4.1: repeated until echoed) and the kernel's echoes
	n_add=$(count "$f" "$c" "ip.src == $SRV_STACK1 && tcp.options.mptcp.subtype == 3 &&
		tcp.options.mptcp.echo == 0 && tcp.options.mptcp.ipv4 == $SRV_STACK2")
	[ "$n_add" -gt 0 ] || fail "$c: no ADD_ADDR for $SRV_STACK2 from mpsd in the capture"
	first=$(_lib_tshark "$f" -Y "ip.dst == $SRV_STACK1 && tcp.options.mptcp.subtype == 3 &&
		tcp.options.mptcp.echo == 1" -T fields -e frame.time_epoch | head -n 1)
	[ -n "$first" ] || fail "$c: no ADD_ADDR echo from the kernel client in the capture"
	# one RTT of grace: ADD_ADDRs already in flight when the echo arrived
	n_late=$(count "$f" "$c" "ip.src == $SRV_STACK1 && tcp.options.mptcp.subtype == 3 &&
		tcp.options.mptcp.echo == 0 && frame.time_epoch > $first + 0.05")
	[ "$n_late" = 0 ] ||
		fail "$c: mpsd sent $n_late ADD_ADDR(s) after the echo arrived (no echo seen?)"
	log "$c: mpsd sent $n_add ADD_ADDR(s), none after the kernel's echo"
	expect_paths_used "$NS_CLI" $((SIZE / 20)) c1 c2
	tshark_check_mptcp "$f" || fail "$c: tshark check"
}

case_rmaddr() {
	local c=rmaddr f=$WORK/rmaddr.pcapng id curl t0 t_rm before after rm first
	scen_kernel_server "$WORK/www"
	id=$(endpoint_id "$NS_SRV" "$A_S2")
	[ -n "$id" ] || fail "$c: no endpoint for $A_S2 in srv"
	rate_on "$NS_SRV" s1 "$RATE"
	rate_on "$NS_SRV" s2 "$RATE"
	scen_mpsd_client -v
	nstat_reset "$NS_SRV"
	paths_reset "$NS_SRV" s1 s2
	capture_start "$NS_SRV" s1,s2 "$f"
	t0=$(now_ms)
	http_get_bg "$NS_CLI" "$PLAYER_URL" "$WORK/got"
	curl=$BG_PID
	wait_file_size "$WORK/got" $((SIZE / 4)) || fail "$c: a quarter of the file never arrived"
	before=$(path_bytes "$NS_SRV" s2)
	[ "$before" -gt $((SIZE / 50)) ] || fail "$c: path 2 carried only $before bytes before"
	[ "$(open_subflows_to "$CLI_CTL" "$A_S2")" -gt 0 ] || {
		show_state "$c" "$CLI_CTL" "$NS_SRV"
		fail "$c: mpsd lists no open subflow to $A_S2 before the removal"
	}
	nstat_reset "$NS_SRV"
	ip -n "$NS_SRV" mptcp endpoint delete id "$id" || fail "$c: endpoint delete id $id"
	log "$c: endpoint $A_S2 (id $id) deleted after $(secs_since "$t0") s ($before bytes on" \
		"path 2)"
	t_rm=$(now_ms)
	paths_reset "$NS_SRV" s2
	wait_until "$CLOSE_WAIT_S" _no_open_subflow_to "$CLI_CTL" "$A_S2" || {
		show_state "$c" "$CLI_CTL" "$NS_SRV"
		fail "$c: mpsd still has a subflow to $A_S2 $CLOSE_WAIT_S s after the REMOVE_ADDR"
	}
	log "$c: mpsd lists no open subflow to $A_S2 $(secs_since "$t_rm") s after the removal"
	wait "$curl" || fail "$c: transfer failed after the REMOVE_ADDR"
	LAST_SECS=$(secs_since "$t0")
	capture_stop
	capture_std "$f"
	f=$CAPTURE_STD
	report_time "$c"
	expect_same_file "$WORK/got" "$WORK/www/file" "$c"
	mpsd_check "$MPSD_CLIENT_PID" client
	expect_counter "$NS_SRV" MPTcpExtRmAddrTx -gt 0
	expect_counter "$NS_SRV" MPTcpExtMPJoinSynRx -eq 0
	log_counters "$NS_SRV" MPTcpExtRmSubflow MPTcpExtMPRstTx MPTcpExtMPRstRx
	rm=$(count "$f" "$c" "ip.dst == $CLI_STACK && tcp.options.mptcp.subtype == 4")
	[ "$rm" -gt 0 ] || fail "$c: no REMOVE_ADDR from the server in the capture"
	after=$(path_bytes "$NS_SRV" s2)
	[ "$after" -lt $((SIZE / 50)) ] ||
		fail "$c: path 2 still carried $after bytes after the REMOVE_ADDR"
	log "$c: $rm REMOVE_ADDR(s) seen, path 2 carried $after bytes after the removal"
	first=$(_lib_tshark "$f" -Y "tcp.port == $PORT && ip.addr == $A_S2 &&
		(tcp.flags.fin == 1 || tcp.flags.reset == 1)" -T fields -e ip.src \
		-e tcp.flags.str | head -n 1 | tr '\t' ' ')
	log "$c: the subflow to $A_S2 was closed first by ${first:-nobody?} (info)"
	tshark_check_mptcp "$f" || fail "$c: tshark check"
}

case_backup() {
	local c=backup f=$WORK/backup.pcapng curl t0 st b2 joins
	scen_mpsd_server "$WORK/www" -v
	mptcp_limits "$NS_CLI" 2 2
	mptcp_endpoint "$NS_CLI" "$A_C2" c2 subflow backup
	rate_on "$NS_SRV" s1 "$BACKUP_RATE"
	nstat_reset "$NS_CLI"
	paths_reset "$NS_CLI" c1 c2
	capture_start "$NS_CLI" c1,c2 "$f"
	t0=$(now_ms)
	http_get_bg "$NS_CLI" "$STACK_URL" "$WORK/got" mptcp
	curl=$BG_PID
	wait_file_size "$WORK/got" $((SIZE / 4)) || fail "$c: a quarter of the file never arrived"
	st=$(mpsctl_status "$SRV_CTL") || fail "$c: mpsctl status"
	grep -Eq "^  subflow .* -> $A_C2:[0-9]+ ESTABLISHED .* backup" <<<"$st" || {
		printf '%s\n' "$st" >&2
		fail "$c: mpsd does not list the subflow from $A_C2 as an established backup"
	}
	log "$c: mpsd: $(grep -E "^  subflow .* -> $A_C2:" <<<"$st")"
	wait "$curl" || fail "$c: kernel client failed"
	LAST_SECS=$(secs_since "$t0")
	capture_stop
	capture_std "$f"
	f=$CAPTURE_STD
	report_time "$c"
	expect_same_file "$WORK/got" "$WORK/www/file" "$c"
	mpsd_check "$MPSD_SERVER_PID" server
	expect_counter "$NS_CLI" MPTcpExtMPJoinSynAckRx -gt 0
	expect_no_fallback "$NS_CLI"
	log_counters "$NS_CLI" MPTcpExtMPJoinSynAckBackupRx MPTcpExtMPPrioTx MPTcpExtMPPrioRx
	joins=$(count "$f" "$c" "tcp.flags.syn == 1 && tcp.flags.ack == 0 &&
		tcp.options.mptcp.subtype == 1 && tcp.options.mptcp.backup.flag == 1")
	[ "$joins" -gt 0 ] || fail "$c: no MP_JOIN SYN with the backup flag in the capture"
	b2=$(path_bytes "$NS_CLI" c2)
	[ "$b2" -lt $((SIZE / 20)) ] || {
		mpsctl_status "$SRV_CTL" | head -n 6 >&2
		fail "$c: the backup path carried $b2 bytes (>= 5 % of $SIZE)"
	}
	log "$c: $joins MP_JOIN SYN(s) with B=1; backup path $b2 bytes," \
		"path 1 $(path_bytes "$NS_CLI" c1) bytes"
	tshark_check_mptcp "$f" || fail "$c: tshark check"
}

case_fastclose() {
	local c=fastclose f=$WORK/fastclose.pcapng curl t0
	scen_kernel_server "$WORK/www"
	rate_on "$NS_SRV" s1 "$RATE"
	rate_on "$NS_SRV" s2 "$RATE"
	scen_mpsd_client -v
	nstat_reset "$NS_SRV"
	capture_start "$NS_SRV" s1,s2 "$f"
	http_get_bg "$NS_CLI" "$PLAYER_URL" "$WORK/got"
	curl=$BG_PID
	wait_file_size "$WORK/got" $((SIZE / 8)) || fail "$c: an eighth of the file never arrived"
	[ -n "$(mptcp_sockets "$NS_SRV")" ] || fail "$c: no MPTCP connection in srv mid-transfer"
	kill -KILL "$curl"
	wait "$curl" 2>/dev/null
	t0=$(now_ms)
	log "$c: player killed after $(file_size "$WORK/got") bytes"
	wait_no_mptcp_sockets "$NS_SRV" "$CLOSE_WAIT_S" || {
		show_state "$c" "$CLI_CTL" "$NS_SRV"
		log_counters "$NS_SRV" MPTcpExtMPFastcloseRx MPTcpExtMPRstRx
		fail "$c: the kernel server still has an MPTCP connection $CLOSE_WAIT_S s after" \
			"the player went away"
	}
	log "$c: the server's MPTCP connection was gone after $(secs_since "$t0") s"
	wait_until "$CLOSE_WAIT_S" _no_live_conn "$CLI_CTL" || {
		show_state "$c" "$CLI_CTL" "$NS_SRV"
		fail "$c: mpsd still has a live connection"
	}
	capture_stop
	capture_std "$f"
	f=$CAPTURE_STD
	mpsd_check "$MPSD_CLIENT_PID" client
	log_counters "$NS_SRV" MPTcpExtMPFastcloseRx MPTcpExtMPRstRx MPTcpExtMPFastcloseTx
	log "$c: in the capture: $(count "$f" "$c" \
		"ip.src == $CLI_STACK && tcp.options.mptcp.subtype == 7") MP_FASTCLOSE and" \
		"$(count "$f" "$c" "ip.src == $CLI_STACK && tcp.flags.reset == 1")" \
		"RST from our client"
	tshark_check_mptcp "$f" || fail "$c: tshark check"
}

case_killclient() {
	local c=killclient f=$WORK/killclient.pcapng curl t0 ms n fctx timeouts ours got end up quiet
	scen_mpsd_server "$WORK/www" -v --send-timeout "$KILL_SEND_TIMEOUT"
	scen_kernel_client subflow
	rate_on "$NS_SRV" s1 "$RATE"
	rate_on "$NS_SRV" s2 "$RATE"
	capture_start "$NS_CLI" c1,c2 "$f"
	http_get_bg "$NS_CLI" "$STACK_URL" "$WORK/got" mptcp
	curl=$BG_PID
	wait_file_size "$WORK/got" $((SIZE / 8)) || fail "$c: an eighth of the file never arrived"
	n=$(mpsctl_live_conns "$SRV_CTL")
	[ "$n" = 1 ] || { show_state "$c" "$SRV_CTL" "$NS_CLI"; fail "$c: mpsd lists $n live" \
		"connections mid-transfer, expected 1"; }
	nstat_reset "$NS_CLI"
	kill -KILL "$curl"
	wait "$curl" 2>/dev/null
	t0=$(now_ms)
	got=$(file_size "$WORK/got")
	log "$c: kernel client killed after $got bytes"
	# (b) may take the rest of the file at 2 x RATE: 20 MiB at 80 Mbit/s is about 2 s
	wait_until 15 _no_live_conn "$SRV_CTL" || {
		show_state "$c" "$SRV_CTL" "$NS_CLI"
		log_counters "$NS_CLI" MPTcpExtMPFastcloseTx MPTcpExtMPRstTx
		fail "$c: mpsd still has a live connection 15 s after the client died"
	}
	ms=$(($(now_ms) - t0))
	fctx=$(nstat_get "$NS_CLI" MPTcpExtMPFastcloseTx)
	timeouts=$(group_status_counter "$SRV_CTL" send_timeouts)
	end=$(grep -E 'conn #1 \(http\) (closed|aborted)' "$WORK/mpsd-server.log" | tail -n 1)
	log "$c: our server's connection ended $ms ms after the kill (kernel MP_FASTCLOSE sent:" \
		"$fctx, our send timeouts: $timeouts): ${end#*] }"
	wait_no_mptcp_sockets "$NS_CLI" 3 || fail "$c: the kernel client still has an MPTCP socket"
	capture_stop
	capture_std "$f"
	f=$CAPTURE_STD
	ours=$(count "$f" "$c" "ip.src == $SRV_STACK1 && tcp.flags.reset == 1 &&
		tcp.options.mptcp.subtype == 7")
	if [ "$fctx" -gt 0 ]; then
		log "$c: (a) the kernel aborted with MP_FASTCLOSE: answered at once"
		[ "$ms" -le 1000 ] || fail "$c: $ms ms to end after the kernel's MP_FASTCLOSE"
		[ "$timeouts" = 0 ] || fail "$c: a send timeout ($timeouts) after the kernel's MP_FASTCLOSE"
	elif [ "$timeouts" = 0 ]; then
		up=$(sed -n 's/.* closed; up \([0-9]*\) down.*/\1/p' <<<"$end")
		log "$c: (b) the kernel's orphan took the rest of the stream ($up bytes sent in all)"
		[ -n "$up" ] && [ "$up" -ge "$SIZE" ] ||
			fail "$c: neither MP_FASTCLOSE nor a send timeout, and no normal end: $end"
		[ "$ms" -le $((KILL_SEND_TIMEOUT * 1000 + (SIZE - got) * 8 / 40000)) ] ||
			fail "$c: $ms ms to send the $((SIZE - got)) bytes left at 2 x $RATE"
	else
		log "$c: (c) the kernel half-closed with its window shut: our send timeout ended it" \
			"($ours RSTs with MP_FASTCLOSE from us)"
		[ "$timeouts" = 1 ] || fail "$c: send_timeouts = $timeouts, want 1"
		[ "$ours" -ge 1 ] || fail "$c: our server's abort carried no MP_FASTCLOSE"
		# the abort comes send-timeout after the last DATA_ACK that moved (the orphan
		# may take some bytes, even a window probe's byte, before it shuts its window)
		quiet=$(_lib_tshark_lines "$f" "ip.dst == $SRV_STACK1 || tcp.flags.reset == 1" \
			-T fields -e frame.time_relative -e tcp.options.mptcp.rawdataack -e ip.src |
			awk -F '\t' -v s="$SRV_STACK1" '$3 == s { if (!rst) rst = $1; next }
				$2 != "" && ($2 "") != last { last = $2 ""; t = $1 } # 64-bit: as strings
				END { printf "%d", (rst - t) * 1000 }') || fail "$c: tshark on $f"
		log "$c: our abort came $quiet ms after the last progress"
		[ "$quiet" -ge $((KILL_SEND_TIMEOUT * 1000 - 100)) ] &&
			[ "$quiet" -le $((KILL_SEND_TIMEOUT * 1000 + 500)) ] ||
			fail "$c: aborted $quiet ms after the last progress; the send timeout is $KILL_SEND_TIMEOUT s"
	fi
	mpsd_check "$MPSD_SERVER_PID" server
	log_counters "$NS_CLI" MPTcpExtMPFastcloseTx MPTcpExtMPRstTx
	tshark_check_mptcp "$f" || fail "$c: tshark check"
}

for c in $CASES; do
	echo "case $c"
	topo_one_server_two_paths
	case $c in
	addaddr-kernel) case_addaddr_kernel ;;
	addaddr-mpsd) case_addaddr_mpsd ;;
	rmaddr) case_rmaddr ;;
	backup) case_backup ;;
	fastclose) case_fastclose ;;
	killclient) case_killclient ;;
	*) fail "unknown case $c" ;;
	esac
	topo_teardown
done

pass "$FILE_MB MiB:$TIMES"
