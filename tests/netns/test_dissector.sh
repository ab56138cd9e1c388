#!/bin/bash
#
# test_dissector.sh - the Wireshark Lua dissector of the group extension
# (contrib/wireshark/mpstream.lua), and through it the wire format that doc/protocol.md
# ("Group extension") describes.
#
# First, known answers: a pcap of hand-made packets written from the byte layout in
# doc/protocol.md (every message type, a bad length, an unknown type, a JOIN without SYN, two
# messages in one segment) must decode field by field as expected, with the expert items.
#
# Then a real group transfer: topo_two_servers, FILE_MB (default 8) MiB, both downstream links
# limited to RATE (default 40mbit) so that the second server joins while there is still data
# to ask of it.  Two mpsd servers share one group key; srv1 announces srv2 (--announce), the
# client (--group) knows only srv1 (--connect).  Captured on the client's side (c1, c2).
# tshark with the Lua script must show:
#   - REQ in the client's MP_CAPABLE SYN, ACK (version 1) in srv1's SYN-ACK;
#   - a TICKET from srv1 and a TICKET_ACK from the client;
#   - N of the TICKET, run through the group key as doc/protocol.md says (BLAKE2b KDF,
#     subkey id N, context "mpsgroup", first 64 bits big-endian), gives the key srv1 sent in
#     its SYN-ACK (recomputed here with python3's hashlib, independently of the stack);
#   - a JOIN SYN to srv2 carrying that N, whose token is the token of srv1's key
#     (recomputed here: SHA-256 of the key; Wireshark's own MPTCP analysis cannot give it,
#     see below), whose Key-C is the client's MP_CAPABLE key, which the dissector links to
#     the TICKET, with MSS, SACK-permitted and window scale, no timestamps and no MP_JOIN;
#   - srv2 answering the JOIN with a MP_JOIN SYN-ACK;
#   - RANGE messages to both servers, only on the client's pure ACKs, all within the
#     downstream DSN space (from srv1's IDSN + 1 to the end of the stream plus a window);
#   - no mpstream expert item, and no malformed packet: none at all with Wireshark's MPTCP
#     dissector disabled, none but Wireshark's own assertion on MP_CAPABLE segments with it
#     (a Wireshark bug, contrib/wireshark/README.md);
#   - the file arrives byte-exact.
# Skips (77) when not root, a tool is missing, tshark has no Lua or mpsd is not built.

FILE_MB=${FILE_MB:-8}
# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"

RATE=${RATE:-40mbit}
LUA=$SRCDIR/contrib/wireshark/mpstream.lua

require_base
require_mpsd
[ -r "$LUA" ] || skip "no $LUA"
tshark -v 2>/dev/null | grep -q "with Lua" || skip "tshark without Lua"

work_dir
mkdir -p "$WORK/www"
make_file "$WORK/www/file" "$FILE_MB"

# q FILTER [FIELD...]: tshark on the capture with the Lua dissector; Q gets the fields (tab
# separated, all occurrences, default frame.number) of the packets matching FILTER, N their
# number.  TS_OPTS: more tshark options.  Runs in this shell, so a tshark failure (a broken
# filter or script) fails the test instead of reading as "no packet".
TS_OPTS=()
Q=''
N=0
q() {
	local flt=$1 a=() f
	shift
	[ $# -gt 0 ] || set -- frame.number
	for f in "$@"; do
		a+=(-e "$f")
	done
	Q=$(_lib_tshark "$CAP" "${TS_OPTS[@]}" -X "lua_script:$LUA" -Y "$flt" -T fields \
		-E occurrence=a "${a[@]}") || fail "tshark failed with filter '$flt'"
	N=$(grep -c . <<<"$Q")
}

# expect_some WHAT FILTER: fail unless a packet matches FILTER; log how many.
expect_some() {
	q "$2"
	[ "$N" -gt 0 ] || fail "no $1 in the capture ($2)"
	log "$1: $N packet(s)"
}

# expect_none WHAT FILTER: fail if a packet matches FILTER.
expect_none() {
	q "$2"
	[ "$N" = 0 ] || fail "$N packet(s) with $1, frames $(head -n 5 <<<"$Q" | tr '\n' ' ')"
}

# group_key_s N: Key-S (16 hex digits) derived from the nonce N (decimal) under the group
# key, as libsodium's crypto_kdf_derive_from_key does it (BLAKE2b, key = group key, salt =
# subkey id little-endian padded to 16 bytes, personal = context padded to 16 bytes).
group_key_s() {
	"$PYTHON" - "$WORK/group.key" "$1" <<-'EOF'
		import base64, hashlib, struct, sys
		gk = base64.b64decode(open(sys.argv[1]).read().strip())
		n = int(sys.argv[2], 0)
		sub = hashlib.blake2b(b"", digest_size=16, key=gk,
				      salt=struct.pack("<Q", n) + bytes(8),
				      person=b"mpsgroup" + bytes(8)).digest()
		print(sub[:8].hex())
	EOF
}

# token_of KEY: the MPTCP token of a 64-bit key given in hex (RFC 8684 section 3.2: the most
# significant 32 bits of SHA-256 of the key), as lowercase hex without leading zeros.
token_of() {
	"$PYTHON" - "$1" <<-'EOF'
		import hashlib, sys
		k = int(sys.argv[1], 16).to_bytes(8, "big")
		print("%x" % int.from_bytes(hashlib.sha256(k).digest()[:4], "big"))
	EOF
}

# hexnorm VALUE: a tshark number (decimal or 0x hex) as lowercase hex without leading zeros.
hexnorm() {
	case $1 in
	0x* | 0X*) _lib_hexnorm <<<"$1" ;;
	*) "$PYTHON" -c 'import sys; print("%x" % int(sys.argv[1]))' "$1" ;;
	esac
}

# ---------------------------------------------------------------------------------------------
# Known answers: a capture written here from the byte layout of doc/protocol.md, one packet
# per case, decoded field by field.

# write_vectors FILE: the pcap (raw IPv4) of the known-answer packets:
#   1 REQ on a SYN          2 ACK version 1 on a SYN-ACK    3 TICKET N=0x0123456789abcdef
#   4 TICKET_ACK            5 JOIN on a SYN: backup, id 5, token 0xdeadbeef, R 0x01020304,
#                             N as in 3, Key-C 0x8877665544332211
#   6 RANGE DSN 2^63+5, 70000 bytes   7 RANGE 14 bytes long (bad length)
#   8 type 9 (unknown)      9 JOIN on a segment without SYN    10 TICKET_ACK and RANGE
#   11 another MPTCP suboption (ADD_ADDR subtype): nothing of ours
#   12 PROBE DSN 7, 4096 bytes   13 IDLE DSN 2^63+9
write_vectors() {
	"$PYTHON" - "$1" <<-'EOF'
		import socket, struct, sys

		def exp(t, payload=b"", length=None):
		    return bytes([30, length or 3 + len(payload), 0xf0 | t]) + payload

		def seg(src, dst, sport, dport, flags, opts):
		    opts = bytes(opts)
		    while len(opts) % 4:
		        opts += b"\x01"
		    tcp = struct.pack("!HHIIBBHHH", sport, dport, 1000, 0 if flags == 0x02 else 1,
		                      (20 + len(opts)) // 4 << 4, flags, 65535, 0, 0) + opts
		    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0x4000, 64, 6, 0,
		                     socket.inet_aton(src), socket.inet_aton(dst))
		    return ip + tcp

		C, S1, S2 = "10.77.0.2", "10.88.1.1", "10.88.2.1"
		SYN, SYNACK, ACK = 0x02, 0x12, 0x10
		N = bytes.fromhex("0123456789abcdef")
		pkts = [
		    seg(C, S1, 40000, 8080, SYN, b"\x02\x04\x05\xb4" + exp(1)),                  # 1 REQ
		    seg(S1, C, 8080, 40000, SYNACK, b"\x02\x04\x05\xb4" + exp(2, b"\x01")),      # 2 ACK v1
		    seg(S1, C, 8080, 40000, ACK, exp(3, N)),                                     # 3 TICKET
		    seg(C, S1, 40000, 8080, ACK, exp(4)),                                        # 4 TICKET_ACK
		    seg(C, S2, 40001, 8080, SYN, b"\x02\x04\x05\xb4\x04\x02\x03\x03\x07" +
		        exp(5, bytes([0x85]) + bytes.fromhex("deadbeef01020304") + N +
		            bytes.fromhex("8877665544332211"))),                                 # 5 JOIN
		    seg(C, S1, 40000, 8080, ACK,
		        exp(6, bytes.fromhex("8000000000000005") + struct.pack("!I", 70000))),  # 6 RANGE
		    seg(C, S1, 40000, 8080, ACK, exp(6, bytes(11))),                             # 7 bad length
		    seg(C, S1, 40000, 8080, ACK, exp(9)),                                        # 8 unknown type
		    seg(C, S2, 40001, 8080, ACK, exp(5, bytes(25))),                             # 9 JOIN, no SYN
		    seg(C, S2, 40001, 8080, ACK, exp(4) + exp(6, bytes(7) + b"\x01" +
		        struct.pack("!I", 1))),                                                  # 10 two messages
		    seg(C, S1, 40000, 8080, ACK, b"\x1e\x05\x3f\x00\x00"),                       # 11 MP_DSS-ish, not ours
		    seg(C, S2, 40001, 8080, ACK, exp(7, struct.pack("!QI", 7, 4096))),          # 12 PROBE
		    seg(S1, C, 8080, 40000, ACK, exp(8, bytes.fromhex("8000000000000009"))),     # 13 IDLE
		]
		out = open(sys.argv[1], "wb")
		out.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 101))
		for i, p in enumerate(pkts):
		    out.write(struct.pack("<IIII", 1000 + i, 0, len(p), len(p)) + p)
	EOF
}

check_vectors() {
	local want got
	CAP=$WORK/vectors.pcap
	write_vectors "$CAP" || fail "python3 could not write $CAP"
	q frame mpstream.type mpstream.length mpstream.version mpstream.n mpstream.addr_id \
		mpstream.token mpstream.r mpstream.key_c mpstream.range.dsn mpstream.range.len \
		mpstream.range.end mpstream.ticket_frame mpstream.idle.dsn
	got=$Q
	want=$(printf '%s\n' \
		'1 3' '2 4 1' '3 11 0x0123456789abcdef' '4 3' \
		'5 28 0x0123456789abcdef 5 0xdeadbeef 0x01020304 0x8877665544332211 3' \
		'6 15 9223372036854775813 70000 9223372036854845813' '6 14' '9 3' \
		'5 28 0x0000000000000000 0 0x00000000 0x00000000 0x0000000000000000' \
		'4,6 3,15 1 1 2' '' '7 15 7 4096 4103' '8 11 9223372036854775817')
	got=$(tr -s '\t' ' ' <<<"$got" | sed 's/ $//')
	[ "$got" = "$want" ] || {
		diff <(echo "$want") <(echo "$got") >&2
		fail "known-answer packets decoded wrongly (< expected, > decoded)"
	}
	expect_some "backup flag in the JOIN" "frame.number == 5 && mpstream.backup == 1"
	q "mpstream.expert.bad_length"
	[ "$Q" = 7 ] || fail "bad-length expert item on frames '$Q', want 7"
	q "mpstream.expert.bad_length && _ws.malformed"
	[ "$Q" = 7 ] || fail "a bad length is not flagged malformed (frames '$Q')"
	q "mpstream.expert.unknown_type"
	[ "$Q" = 8 ] || fail "unknown-type expert item on frames '$Q', want 8"
	q "mpstream.expert.wrong_segment"
	[ "$Q" = 9 ] || fail "wrong-segment expert item on frames '$Q', want 9"
	expect_none "other malformed packets" "_ws.malformed && frame.number != 7"
	log "known answers: 13 packets decoded as expected"
}

check_vectors

# ---------------------------------------------------------------------------------------------

CAP=$WORK/group.pcapng
topo_two_servers
"$MPSD" keygen >"$WORK/group.key" || fail "mpsd keygen"
chmod 600 "$WORK/group.key"

mpsd_start "$NS_SRV1" srv1 server -v --tun mps1 --addr "$SRV1_STACK" \
	--listen "$SRV1_STACK:$PORT" --serve "$WORK/www" --group-key "$WORK/group.key" \
	--announce "$SRV2_STACK:$PORT" --ctl "$WORK/srv1.ctl"
SRV1_PID=$BG_PID
mpsd_start "$NS_SRV2" srv2 server -v --tun mps2 --addr "$SRV2_STACK" \
	--listen "$SRV2_STACK:$PORT" --serve "$WORK/www" --group-key "$WORK/group.key" \
	--ctl "$WORK/srv2.ctl"
SRV2_PID=$BG_PID
mpsd_start "$NS_CLI" client client -v --tun mpsc --addr "$CLI_STACK" \
	--connect "$SRV1_STACK:$PORT" --listen "127.0.0.1:$LOCAL_PORT" --group \
	--ctl "$WORK/client.ctl"
CLIENT_PID=$BG_PID
wait_tun "$NS_SRV1" mps1 "$SRV1_STACK"
wait_tun "$NS_SRV2" mps2 "$SRV2_STACK"
wait_tun "$NS_CLI" mpsc "$CLI_STACK"
wait_port "$NS_CLI" 127.0.0.1 "$LOCAL_PORT"
rate_on "$NS_SRV1" s1 "$RATE"
rate_on "$NS_SRV2" s2 "$RATE"

capture_start "$NS_CLI" c1,c2 "$CAP"
http_get "$NS_CLI" "http://127.0.0.1:$LOCAL_PORT/file" "$WORK/got" ||
	fail "curl through the group failed"
status=$(mpsctl_status "$WORK/client.ctl" 2>&1)
capture_stop
report_time group
expect_same_file "$WORK/got" "$WORK/www/file" group
mpsd_check "$CLIENT_PID" client
mpsd_check "$SRV1_PID" srv1
mpsd_check "$SRV2_PID" srv2
q frame
log "capture: $N packets, $(capture_drops "$CAP") lost by dumpcap"

# --- nothing malformed --------------------------------------------------------------------------
# Wireshark's own MPTCP dissector (at least up to 4.0) hits an assertion on the MP_CAPABLE
# segments that carry a key when the connection's SYN held an MPTCP option with a subtype
# above MP_JOIN (it sets up its MPTCP analysis without a token on the SYN); that is its bug,
# reported as "Dissector bug ... DISSECTOR_ASSERT_NOT_REACHED" (contrib/wireshark/README.md).
# So: with Wireshark's MPTCP dissector off, no malformed packet and no error at all; with it
# on, no other error than that one, and only on MP_CAPABLE segments with a key.
TS_OPTS=(--disable-protocol mptcp)
expect_none "malformed or erroneous packets (MPTCP dissector off)" \
	'_ws.malformed || _ws.expert.severity == "Error"'
expect_some "mpstream messages (MPTCP dissector off)" mpstream
TS_OPTS=()
expect_none "errors other than Wireshark's MPTCP assertion" \
	'(_ws.malformed || _ws.expert.severity == "Error") &&
	!(_ws.expert.message contains "DISSECTOR_ASSERT_NOT_REACHED" &&
	  tcp.options.mptcp.subtype == 0 && tcp.options.mptcp.sendkey)'
expect_none "mpstream expert items" \
	'mpstream.expert.bad_length || mpstream.expert.unknown_type || mpstream.expert.truncated ||
	mpstream.expert.wrong_segment'

# --- handshake: REQ in the SYN, ACK in the SYN-ACK --------------------------------------------
SYN="tcp.flags.syn == 1 && tcp.flags.ack == 0"
SYNACK="tcp.flags.syn == 1 && tcp.flags.ack == 1"
expect_some "REQ in the client's MP_CAPABLE SYN to srv1" \
	"ip.dst == $SRV1_STACK && $SYN && mpstream.type == 1 && tcp.options.mptcp.subtype == 0"
expect_some "ACK (version 1) in srv1's MP_CAPABLE SYN-ACK" \
	"ip.src == $SRV1_STACK && $SYNACK && mpstream.type == 2 && mpstream.version == 1 &&
	tcp.options.mptcp.subtype == 0"
expect_none "a REQ outside a SYN" "mpstream.type == 1 && !($SYN)"
expect_none "an ACK outside a SYN-ACK" "mpstream.type == 2 && !($SYNACK)"

# --- ticket --------------------------------------------------------------------------------------
expect_some "TICKET from srv1" "ip.src == $SRV1_STACK && mpstream.type == 3 && tcp.flags.syn == 0"
expect_some "TICKET_ACK from the client" \
	"ip.src == $CLI_STACK && mpstream.type == 4 && tcp.flags.syn == 0"
expect_none "a TICKET from srv2 (a member that accepted a JOIN)" \
	"ip.src == $SRV2_STACK && mpstream.type == 3"
q "mpstream.type == 3" mpstream.n
tickets=$(sort -u <<<"$Q")
[ "$(grep -c . <<<"$tickets")" = 1 ] || fail "TICKETs with different N: $tickets"
N_HEX=$(hexnorm "$tickets")
log "ticket N = 0x$N_HEX"

# the key srv1 sent in its SYN-ACK is the KDF of N under the group key; its token
q "ip.src == $SRV1_STACK && $SYNACK && tcp.options.mptcp.subtype == 0" tcp.options.mptcp.sendkey
keys=$(sort -u <<<"$Q")
[ "$(grep -c . <<<"$keys")" = 1 ] || fail "not one MP_CAPABLE key from srv1: $keys"
KEY_S=$(printf '%016x' "0x$(hexnorm "$keys")")
derived=$(group_key_s "0x$N_HEX") || fail "python3 KDF"
[ "$derived" = "$KEY_S" ] ||
	fail "N 0x$N_HEX under the group key gives Key-S $derived, srv1 sent $KEY_S"
TOKEN=$(token_of "$KEY_S") || fail "python3 token"
log "srv1's key 0x$KEY_S = KDF(group key, N); its token 0x$TOKEN"

# --- group JOIN to srv2 -----------------------------------------------------------------------
JOIN="ip.dst == $SRV2_STACK && $SYN && mpstream.type == 5"
expect_some "JOIN SYN to srv2" "$JOIN"
q "$JOIN" frame.number mpstream.token mpstream.n mpstream.key_c mpstream.ticket_frame
while IFS=$'\t' read -r fno tok n kj tf; do
	[ "$(hexnorm "$tok")" = "$TOKEN" ] ||
		fail "JOIN in frame $fno: token $(hexnorm "$tok"), srv1's key has $TOKEN"
	[ "$(hexnorm "$n")" = "$N_HEX" ] ||
		fail "JOIN in frame $fno: N $(hexnorm "$n"), the ticket's is 0x$N_HEX"
	[ -n "$tf" ] || fail "JOIN in frame $fno: the dissector links it to no TICKET"
done <<<"$Q"
expect_none "a JOIN SYN with timestamps (they give way)" "$JOIN && tcp.options.timestamp.tsval"
expect_none "a JOIN SYN without MSS, SACK-permitted or window scale" \
	"$JOIN && !(tcp.option_kind == 2 && tcp.option_kind == 4 && tcp.option_kind == 3)"
expect_none "a JOIN SYN that also carries MP_JOIN or MP_CAPABLE" \
	"$JOIN && (tcp.options.mptcp.subtype == 0 || tcp.options.mptcp.subtype == 1)"
q "ip.src == $CLI_STACK && tcp.options.mptcp.subtype == 0 && tcp.flags.syn == 0 &&
	tcp.options.mptcp.sendkey" tcp.options.mptcp.sendkey
kc=$(head -n 1 <<<"$Q" | cut -d, -f1)
q "$JOIN" mpstream.key_c
kj=$(head -n 1 <<<"$Q")
if [ -z "$kc" ] || [ "$(hexnorm "$kc")" != "$(hexnorm "$kj")" ]; then
	fail "JOIN's Key-C $kj is not the client's MP_CAPABLE key $kc"
fi
expect_some "MP_JOIN SYN-ACK from srv2" \
	"ip.src == $SRV2_STACK && $SYNACK && tcp.options.mptcp.subtype == 1"
log "JOIN: token 0x$TOKEN (srv1's), N of the ticket, Key-C of the client, no timestamps"

# --- RANGE requests ---------------------------------------------------------------------------
expect_some "RANGE to srv1" "ip.dst == $SRV1_STACK && mpstream.type == 6"
expect_some "RANGE to srv2" "ip.dst == $SRV2_STACK && mpstream.type == 6"
expect_none "a RANGE on a segment with data, on a SYN or from a server" \
	"mpstream.type == 6 && (tcp.len > 0 || tcp.flags.syn == 1 || ip.src != $CLI_STACK)"
# every RANGE lies in the downstream DSN space: from srv1's IDSN + 1 (the stream's first
# byte) to at most the end of the stream (the file plus its HTTP header) plus the client's
# receive window (4 MiB by default): until the DATA_FIN the client does not know where the
# stream ends and asks up to the end of its window
q "mpstream.type == 6" mpstream.range.dsn mpstream.range.len
out=$("$PYTHON" -c '
import hashlib, sys
key, limit = int(sys.argv[1], 16), int(sys.argv[2])
idsn = int.from_bytes(hashlib.sha256(key.to_bytes(8, "big")).digest()[24:], "big")
offs = []
for line in sys.stdin:
    for dsn, ln in zip(*(f.split(",") for f in line.split("\t"))):
        off, ln = (int(dsn) - idsn) % 2**64, int(ln)
        offs.append(off)
        if off < 1 or ln == 0 or off + ln > limit + 1:
            print("bad RANGE: DSN IDSN+%d, %d bytes" % (off, ln))
print("ok: %d RANGEs, from IDSN+%d to IDSN+%d" % (len(offs), min(offs), max(offs)))
' "$KEY_S" $((FILE_MB * 1048576 + 65536 + 4194304)) <<<"$Q") || fail "python3 RANGE check"
! grep -q '^bad' <<<"$out" ||
	fail "RANGE outside the downstream stream: $(grep '^bad' <<<"$out" | head -n 3 | tr '\n' ' ')"
log "RANGE: ${out#ok: }"
grep -E '^  server ' <<<"$status" | while read -r line; do log "client: $line"; done

# --- PROBE and IDLE (doc/protocol.md "Short and idle streams") -------------------------------
expect_some "PROBE to srv2" "ip.dst == $SRV2_STACK && mpstream.type == 7"
expect_none "a PROBE to srv1, on a segment with data or from a server" \
	"mpstream.type == 7 && (ip.dst == $SRV1_STACK || tcp.len > 0 || ip.src != $CLI_STACK)"
expect_some "IDLE from a server" "mpstream.type == 8 && ip.dst == $CLI_STACK"
expect_none "an IDLE on a segment with data or from the client" \
	"mpstream.type == 8 && (tcp.len > 0 || ip.src == $CLI_STACK)"
# every PROBE asks bytes of the first 4096 of the stream
q "mpstream.type == 7" mpstream.range.dsn mpstream.range.len
out=$("$PYTHON" -c '
import hashlib, sys
key = int(sys.argv[1], 16)
idsn = int.from_bytes(hashlib.sha256(key.to_bytes(8, "big")).digest()[24:], "big")
n = 0
for line in sys.stdin:
    for dsn, ln in zip(*(f.split(",") for f in line.split("\t"))):
        off, ln = (int(dsn) - idsn) % 2**64, int(ln)
        n += 1
        if off < 1 or ln == 0 or off - 1 + ln > 4096:
            print("bad PROBE: DSN IDSN+%d, %d bytes" % (off, ln))
print("ok: %d PROBEs" % n)
' "$KEY_S" <<<"$Q") || fail "python3 PROBE check"
! grep -q '^bad' <<<"$out" || fail "PROBE outside the first 4096 bytes: $(grep '^bad' <<<"$out" | head -n 3 | tr '\n' ' ')"
log "PROBE: ${out#ok: }"

q mpstream
pass "$N packets with group messages decoded"
