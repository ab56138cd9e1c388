#!/bin/bash
#
# test_checksum.sh - DSS checksums (RFC 8684 section 3.3.1) against the kernel's MPTCP.
#
# topo_one_server_two_paths with net.mptcp.checksum_enabled=1 in both namespaces (the sysctl
# is per network namespace): the kernel sets the "A" flag (checksum required) in its
# MP_CAPABLE, and from then on every DSS mapping of both ends must carry the checksum of
# section 3.3.1 (pseudo-header of DSN, subflow sequence number, data-level length, then the
# payload).  Cases (CASES, default "client server"):
#   client  mpsd client <- kernel server (signal endpoint on 10.0.2.2: our client joins it)
#   server  kernel client (subflow endpoint on 10.0.2.1) <- mpsd server
# Each case moves FILE_MB (default 20) MiB over two paths.  Checks: sha256; the kernel counts
# no MPTcpExtDataCsumErr (it verified every checksum we sent) and no MP_FAIL / fallback
# (MPTcpExtMPFailRx/Tx, the fallback counters); joins completed; both paths carried at least
# 5 % of the file; on the capture the MP_CAPABLE handshake has the checksum-required flag,
# every data segment that carries a mapping carries the checksum (read from the option
# length, see csum_scan) in BOTH directions (the request, padded to several segments,
# upstream, the file downstream), and the tshark check passes (no malformed packet); mpsd
# still runs with a clean log and dropped no packet for a bad checksum (mpsctl status).

FILE_MB=${FILE_MB:-20}
# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"

CASES=${CASES:-client server}

require_base
require_mpsd
work_dir
mkdir -p "$WORK/www"
make_file "$WORK/www/file" "$FILE_MB"
SIZE=$((FILE_MB * 1048576))

csum_on() {
	local ns
	for ns in "$@"; do
		ns_exec "$ns" sysctl -qw net.mptcp.checksum_enabled=1 >/dev/null ||
			fail "net.mptcp.checksum_enabled in $ns"
	done
}

# csum_scan FILE: for each data segment of FILE that carries a mapping, one line
# "DIRECTION FORM CSUM": DIRECTION "down" (from PORT) or "up", FORM "dss" (a DSS mapping) or
# "mpc" (the data of a MP_CAPABLE ACK, RFC 8684 section 3.1), CSUM 1 if the option holds the
# checksum.  The options are parsed from their raw bytes: tshark 4.0 does not decode the
# checksum of a DSS option (tcp.options.mptcp.checksum appears only for MP_CAPABLE), so its
# presence is read from the option length (section 3.3, Figure 9: 4, + 4 or 8 for the Data
# ACK, + 4 or 8 for the DSN, + 4 SSN, + 2 data-level length, + 2 checksum).
csum_scan() {
	_lib_tshark "$1" -Y "tcp.len > 0 && tcp.options" -T fields -e tcp.srcport \
		-e tcp.options | awk -v port="$PORT" '
	function byte(s, i) { return hx[substr(s, 2 * i + 1, 1)] * 16 + hx[substr(s, 2 * i + 2, 1)] }
	BEGIN { for (i = 0; i < 16; i++) { hx[sprintf("%x", i)] = i; hx[sprintf("%X", i)] = i } }
	{
		dir = ($1 == port) ? "down" : "up"
		o = $2; n = length(o) / 2; i = 0
		while (i < n) {
			k = byte(o, i)
			if (k == 0) break
			if (k == 1) { i++; continue }
			l = byte(o, i + 1)
			if (l < 2) break
			if (k == 30) {
				sub_ = int(byte(o, i + 2) / 16)
				if (sub_ == 2) {
					f = byte(o, i + 3); e = 4
					if (f % 2) e += (int(f / 2) % 2) ? 8 : 4
					if (int(f / 4) % 2) {
						e += ((int(f / 8) % 2) ? 8 : 4) + 6
						print dir, "dss", (l == e + 2) ? 1 : 0
					}
				} else if (sub_ == 0 && (l == 22 || l == 24)) {
					print dir, "mpc", (l == 24) ? 1 : 0
				}
			}
			i += l
		}
	}'
}

# dss_csum_check FILE NAME: in both directions there is a data segment with a mapping, and
# every one carries the checksum (the kernel client sends its whole request in the
# MP_CAPABLE ACK, so upstream may have no DSS mapping at all).
dss_csum_check() {
	local scan dir maps dss without
	scan=$(csum_scan "$1") || fail "$2: tshark"
	for dir in up down; do
		maps=$(grep -c "^$dir " <<<"$scan")
		dss=$(grep -c "^$dir dss " <<<"$scan")
		without=$(grep -c "^$dir .* 0\$" <<<"$scan")
		[ "$maps" -gt 0 ] || fail "$2: no data segment with a mapping $dir"
		[ "$without" = 0 ] ||
			fail "$2: $without of $maps mappings $dir carry no DSS checksum"
		log "$2: $maps data segments with a mapping $dir ($dss DSS," \
			"$((maps - dss)) MP_CAPABLE), all with a checksum"
	done
}

# fetch NS URL OUT [mptcp]: http_get with a request of several segments (a 6000-byte
# header), so that the upstream direction carries DSS mappings too, not only the data of the
# MP_CAPABLE ACK.  Sets LAST_SECS; returns curl's status.
PAD=$(head -c 6000 /dev/zero | tr '\0' x)
fetch() {
	local wrap=() t0 rc
	[ "${4:-}" = mptcp ] && wrap=(mptcpize run)
	rm -f "$3"
	t0=$(now_ms)
	ip netns exec "$1" "${wrap[@]}" curl -sS --fail --max-time "$TRANSFER_TIMEOUT" \
		-H "X-Pad: $PAD" -o "$3" "$2"
	rc=$?
	LAST_SECS=$(secs_since "$t0")
	return $rc
}

run_case() {
	local name=$1 kns pid ctl st f
	nstat_reset "$NS_CLI"
	nstat_reset "$NS_SRV"
	paths_reset "$NS_SRV" s1 s2
	mptcp_monitor_start "$NS_SRV"
	capture_start "$NS_SRV" s1,s2 "$WORK/$name.pcapng"
	if [ "$name" = client ]; then
		kns=$NS_SRV pid=$MPSD_CLIENT_PID ctl=$WORK/mpsd-client.ctl
		fetch "$NS_CLI" "$PLAYER_URL" "$WORK/got" || fail "$name: curl through mpsd failed"
	else
		kns=$NS_CLI pid=$MPSD_SERVER_PID ctl=$WORK/mpsd-server.ctl
		fetch "$NS_CLI" "$STACK_URL" "$WORK/got" mptcp || fail "$name: kernel client failed"
	fi
	capture_stop
	report_time "$name"
	expect_same_file "$WORK/got" "$WORK/www/file" "$name"
	mpsd_check "$pid" "$name"
	expect_counter "$kns" MPTcpExtDataCsumErr -eq 0
	expect_counter "$NS_CLI" MPTcpExtDataCsumErr -eq 0
	expect_counter "$NS_SRV" MPTcpExtDataCsumErr -eq 0
	expect_counter "$kns" MPTcpExtMPFailRx -eq 0
	expect_counter "$kns" MPTcpExtMPFailTx -eq 0
	expect_counter "$kns" MPTcpExtDSSNotMatching -eq 0
	if [ "$name" = client ]; then
		expect_counter "$kns" MPTcpExtMPJoinAckRx -gt 0
	else
		expect_counter "$kns" MPTcpExtMPJoinSynAckRx -gt 0
	fi
	expect_no_fallback "$kns"
	expect_paths_used "$NS_SRV" $((SIZE / 20)) s1 s2
	capture_std "$WORK/$name.pcapng"
	f=$CAPTURE_STD
	# shellcheck disable=SC2046
	tshark_check_mptcp "$f" $(mptcp_monitor_tokens) || fail "$name: tshark check"
	[ "$(tshark_count "$f" \
		'tcp.options.mptcp.subtype == 0 && tcp.options.mptcp.checksumreq.flags == 1')" -gt 0 ] ||
		fail "$name: no MP_CAPABLE with the checksum-required flag in the capture"
	dss_csum_check "$f" "$name"
	st=$(mpsctl_status "$ctl") || fail "$name: mpsctl status"
	grep -q 'dropped: .* checksum 0 ' <<<"$st" ||
		fail "$name: mpsd dropped packets for a bad checksum: $(grep dropped <<<"$st")"
	log "$name: mpsd: $(grep dropped <<<"$st")"
}

for c in $CASES; do
	echo "case $c"
	topo_one_server_two_paths
	csum_on "$NS_CLI" "$NS_SRV"
	case $c in
	client)
		scen_kernel_server "$WORK/www"
		scen_mpsd_client
		;;
	server)
		scen_mpsd_server "$WORK/www"
		scen_kernel_client subflow
		;;
	*) fail "unknown case $c" ;;
	esac
	run_case "$c"
	topo_teardown
done

pass "DSS checksums, $FILE_MB MiB:$TIMES"
