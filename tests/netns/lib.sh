# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables set here are read by the tests sourcing it
#
# tests/netns/lib.sh - shared harness for the network-namespace integration tests.
#
# Sourced (never executed) by every tests/netns/test_*.sh and by contrib/topology/topo.sh.
# It builds the reference topologies of DESIGN.md section 5 in fresh network namespaces,
# starts kernel MPTCP peers, applies loss, rate limits and link failures, captures traffic
# and reads the oracles (sha256, nstat MPTcpExt counters, interface counters, tshark).
#
# Everything a test creates (namespaces, background processes, scratch files) is removed by
# an EXIT trap, also when the test fails or is interrupted.  Namespace names are unique per
# run (prefix NS_PREFIX, default "mps<pid>"), so runs in parallel do not collide; the docs call
# them cli, srv1, srv2 (DESIGN.md section 5).
#
# Environment:
#   BUILDDIR   build directory (default: the source tree) - where apps/mpsd is looked for
#   MPSD       the mpsd binary (default $BUILDDIR/apps/mpsd); tests that need it skip (77)
#              when it is not executable
#   FILE_MB    size of the transferred file in MiB (default 50)
#   FAMILY     4 or 6: address family of the topology builders (default 4)
#   NS_PREFIX  prefix of the namespace names, "<prefix>-cli" etc. (default mps$$; when set
#              but empty the names are exactly cli, srv1, srv2, srv)
#   TRANSFER_TIMEOUT  seconds a single transfer may take (default 120)
#   MPS_NETNS_KEEP=1  keep the scratch directory (captures, logs) after the test
#   MPS_NETNS_PERSIST=1  do not register any cleanup (contrib/topology/topo.sh uses this)

NETNS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRCDIR=$(cd "$NETNS_DIR/../.." && pwd)
BUILDDIR=${BUILDDIR:-${top_builddir:-$SRCDIR}}
MPSD=${MPSD:-$BUILDDIR/apps/mpsd}
FILE_MB=${FILE_MB:-50}
FAMILY=${FAMILY:-4}
NS_PREFIX=${NS_PREFIX-mps$$}
_NSP=${NS_PREFIX:+$NS_PREFIX-}
TRANSFER_TIMEOUT=${TRANSFER_TIMEOUT:-120}
TEST_NAME=${MPS_TEST_NAME:-$(basename "$0" .sh)}
PYTHON=/usr/bin/python3

# MPTcpExt counters that rise when a connection (or a subflow) falls back to plain TCP or
# when the DSS stream is given up; none may move in a test that expects real MPTCP.
FALLBACK_COUNTERS="MPTcpExtMPCapableFallbackACK MPTcpExtMPCapableFallbackSYNACK
	MPTcpExtMPFallbackTokenInit MPTcpExtDSSCorruptionFallback MPTcpExtInfiniteMapTx
	MPTcpExtInfiniteMapRx MPTcpExtMPCapableDataFallback MPTcpExtDssFallback
	MPTcpExtSimultConnectFallback MPTcpExtFallbackFailed MPTcpExtMD5SigFallback"

# --------------------------------------------------------------------------------------------
# Reporting, cleanup, scratch directory

_CLEANUP=()	# shell commands run in reverse order at exit
_BG_PIDS=()	# background processes started by bg_run
_CAP_PIDS=()	# running captures
BG_PID=
LAST_SECS=

log() { printf '  %s\n' "$*"; }
pass() { echo "PASS: $TEST_NAME${1:+: $*}"; exit 0; }
fail() { echo "FAIL: $TEST_NAME: $*" >&2; exit 1; }
skip() { echo "SKIP: $TEST_NAME: $*"; exit 77; }

# at_exit CMD...: register a shell command to run when the test exits (last in, first out).
at_exit() {
	[ "${MPS_NETNS_PERSIST:-0}" = 1 ] && return 0
	_CLEANUP+=("$*")
}

_lib_on_exit() {
	local rc=$? i
	trap - EXIT INT TERM
	if [ "$rc" = 1 ] && [ -n "$WORK" ] && [ -d "$WORK" ]; then
		for i in "$WORK"/*.log; do
			[ -s "$i" ] || continue
			case $(basename "$i") in dumpcap-*) continue ;; esac
			echo "---- tail of $(basename "$i") ----" >&2
			tail -n 15 "$i" >&2
		done
	fi
	for ((i = ${#_CLEANUP[@]} - 1; i >= 0; i--)); do
		eval "${_CLEANUP[i]}" >/dev/null 2>&1 || true
	done
	_CLEANUP=()
	exit "$rc"
}

if [ "${MPS_NETNS_PERSIST:-0}" != 1 ]; then
	trap _lib_on_exit EXIT
	trap 'echo "INTERRUPTED: $TEST_NAME" >&2; exit 130' INT
	trap 'echo "TERMINATED: $TEST_NAME" >&2; exit 143' TERM
fi

# require_root / require_cmd CMD...: skip (77) when the machine cannot run the test.
require_root() {
	[ "$(id -u)" = 0 ] || skip "needs root (network namespaces)"
}

require_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || skip "missing command $c (contrib/install-deps.sh)"
	done
}

# require_mpsd: skip (77) while the daemon is not built.
require_mpsd() {
	[ -x "$MPSD" ] || skip "mpsd not built ($MPSD)"
}

# require_base: the common requirements of every test.
require_base() {
	require_root
	require_cmd ip nft tc ss nstat curl mptcpize sha256sum dumpcap tshark mergecap
	[ -x "$PYTHON" ] || skip "missing $PYTHON (contrib/install-deps.sh)"
	[ -e /proc/sys/net/mptcp/enabled ] || skip "kernel without MPTCP"
}

# work_dir: create the scratch directory $WORK (removed at exit unless MPS_NETNS_KEEP=1).
WORK=
work_dir() {
	[ -n "$WORK" ] && return 0
	WORK=$(mktemp -d "/tmp/mps-netns-$TEST_NAME.XXXXXX") || fail "mktemp"
	chmod 755 "$WORK"
	if [ "${MPS_NETNS_KEEP:-0}" = 1 ]; then
		echo "  scratch directory: $WORK (kept)"
	else
		at_exit "rm -rf '$WORK'"
	fi
}

# --------------------------------------------------------------------------------------------
# Small helpers

# ns_exec NS CMD...: run CMD inside namespace NS.
ns_exec() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@"
}

# now_ms: milliseconds since the epoch.
now_ms() { date +%s%3N; }

# secs_since START_MS: seconds elapsed since START_MS, with millisecond precision ("1.234").
secs_since() {
	local d=$(($(now_ms) - $1))
	printf '%d.%03d\n' $((d / 1000)) $((d % 1000))
}

# mbps SECS: throughput of FILE_MB MiB in SECS seconds, in Mbit/s (one decimal).
mbps() {
	awk -v mb="$FILE_MB" -v s="$1" 'BEGIN { if (s <= 0) s = 0.001;
		printf "%.1f\n", mb * 8 * 1.048576 / s }'
}

# wait_until TIMEOUT_S CMD...: poll CMD every 0.1 s until it succeeds; 1 on timeout.
wait_until() {
	local end=$(($(now_ms) + $1 * 1000))
	shift
	while ! "$@" >/dev/null 2>&1; do
		[ "$(now_ms)" -lt "$end" ] || return 1
		sleep 0.1
	done
	return 0
}

# sha_of FILE: the sha256 of FILE (hex).
sha_of() { sha256sum "$1" | cut -d' ' -f1; }

# make_file PATH SIZE_MB: write SIZE_MB MiB of random bytes to PATH.  Tests compare the
# sha256 of what was received with the sha256 of PATH itself, so the content needs no seed.
make_file() {
	dd if=/dev/urandom of="$1" bs=1M count="$2" status=none || fail "make_file $1"
	chmod 644 "$1"
}

# expect_same_file GOT REF WHAT: fail unless GOT is byte-identical to REF.
expect_same_file() {
	[ -f "$1" ] || fail "$3: nothing received"
	local a b
	a=$(sha_of "$1")
	b=$(sha_of "$2")
	if [ "$a" != "$b" ]; then
		fail "$3: sha256 mismatch ($(stat -c %s "$1") bytes received, $(stat -c %s "$2") sent)"
	fi
	log "$3: sha256 ok ($a)"
}

# url_host ADDR: ADDR as it appears in a URL or in ADDR:PORT (IPv6 in brackets).
url_host() {
	case $1 in
	*:*) echo "[$1]" ;;
	*) echo "$1" ;;
	esac
}

# bg_run NS LOGFILE CMD...: start CMD in namespace NS in the background, output to LOGFILE.
# Sets BG_PID.  The process is killed at exit (and with its namespace).
bg_run() {
	local ns=$1 logf=$2
	shift 2
	ip netns exec "$ns" "$@" >"$logf" 2>&1 </dev/null &
	BG_PID=$!
	_BG_PIDS+=("$BG_PID")
	at_exit "bg_stop $BG_PID"
}

# bg_stop PID: stop one background process started by bg_run (only while it is still a child
# of this shell, so that a recycled pid is never hit).
bg_stop() {
	_lib_child "$1" || return 0
	kill "$1" 2>/dev/null || return 0
	wait_until 5 _lib_dead "$1" || { _lib_child "$1" && kill -9 "$1" 2>/dev/null; }
	wait "$1" 2>/dev/null
	return 0
}

_lib_dead() { ! kill -0 "$1" 2>/dev/null; }
_lib_child() { [ "$(ps -o ppid= -p "$1" 2>/dev/null | tr -d ' ')" = "$$" ]; }

# --------------------------------------------------------------------------------------------
# Namespaces and topologies

_NAMESPACES=()
declare -A _PEER	# "ns/iface" -> "peer_ns/peer_iface" for every veth end

# ns_create NS: a fresh namespace with lo up, forwarding on, rp_filter off (the TUN devices
# inject packets with stack-owned source addresses), no IPv6 DAD, MPTCP enabled.
ns_create() {
	local ns=$1
	ip netns add "$ns" || fail "ip netns add $ns"
	_NAMESPACES+=("$ns")
	at_exit "ns_del '$ns'"
	ip -n "$ns" link set dev lo up
	ns_exec "$ns" sysctl -qw net.ipv4.ip_forward=1 \
		net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 \
		net.ipv4.conf.lo.rp_filter=0 \
		net.ipv6.conf.all.forwarding=1 net.ipv6.conf.default.forwarding=1 \
		net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
		net.mptcp.enabled=1 >/dev/null || fail "sysctl in $ns"
}

# ns_del NS: kill every process left in NS, then delete it.
ns_del() {
	local ns=$1 p
	[ -e "/run/netns/$ns" ] || return 0
	for p in $(ip netns pids "$ns" 2>/dev/null); do
		kill "$p" 2>/dev/null
	done
	for p in $(ip netns pids "$ns" 2>/dev/null); do
		wait_until 3 _lib_dead "$p" || kill -9 "$p" 2>/dev/null
	done
	ip netns del "$ns"
}

# veth NS_A IF_A NS_B IF_B: a veth pair with IF_A in NS_A and IF_B in NS_B, both up,
# rp_filter off on both ends.
veth() {
	ip -n "$1" link add name "$2" type veth peer name "$4" netns "$3" ||
		fail "veth $1/$2 - $3/$4"
	_PEER["$1/$2"]="$3/$4"
	_PEER["$3/$4"]="$1/$2"
	ns_exec "$1" sysctl -qw "net.ipv4.conf.$2.rp_filter=0" >/dev/null
	ns_exec "$3" sysctl -qw "net.ipv4.conf.$4.rp_filter=0" >/dev/null
	ip -n "$1" link set dev "$2" up
	ip -n "$3" link set dev "$4" up
}

# addr_add NS IFACE ADDR: ADDR/PLEN on IFACE (nodad for IPv6).
addr_add() {
	if [ "$FAMILY" = 6 ]; then
		ip -n "$1" -6 addr add "$3/$PLEN" dev "$2" nodad || fail "addr $3 on $1/$2"
	else
		ip -n "$1" -4 addr add "$3/$PLEN" dev "$2" || fail "addr $3 on $1/$2"
	fi
}

# route_add NS ARGS...: "ip route add ARGS" in the topology's family.
route_add() {
	local ns=$1
	shift
	ip -n "$ns" "-$FAMILY" route add "$@" || fail "route add $* in $ns"
}

# rule_add NS ARGS...: "ip rule add ARGS" in the topology's family.
rule_add() {
	local ns=$1
	shift
	ip -n "$ns" "-$FAMILY" rule add "$@" || fail "rule add $* in $ns"
}

# topo_addresses: set the address variables for $FAMILY.
#   A_C1 A_S1 (path 1), A_C2 A_S2 (path 2), PLEN, HLEN (host prefix length)
#   CLI_STACK / CLI_STACK_NET: the client stack's address and the prefix the servers route
#   SRV1_STACK SRV1_STACK_NET, SRV2_STACK SRV2_STACK_NET: server stacks (two-server topology)
#   SRV_STACK1 SRV_STACK2: the two addresses of the one server (one-server topology)
#   ANY: the wildcard address (a kernel MPTCP server must listen on it: MP_JOIN SYNs to an
#   announced address are looked up like any SYN, so a listener bound to the first path's
#   address would reset them)
topo_addresses() {
	case $FAMILY in
	4)
		A_C1=10.0.1.1 A_S1=10.0.1.2 A_C2=10.0.2.1 A_S2=10.0.2.2 PLEN=24 HLEN=32
		CLI_STACK=10.77.0.2 CLI_STACK_NET=10.77.0.0/16
		SRV1_STACK=10.88.1.1 SRV1_STACK_NET=10.88.1.0/24
		SRV2_STACK=10.88.2.1 SRV2_STACK_NET=10.88.2.0/24
		SRV_STACK1=10.88.1.1 SRV_STACK2=10.88.1.2
		ANY=0.0.0.0
		;;
	6)
		A_C1=fd00:1::1 A_S1=fd00:1::2 A_C2=fd00:2::1 A_S2=fd00:2::2 PLEN=64 HLEN=128
		CLI_STACK=fd77::2 CLI_STACK_NET=fd77::/64
		SRV1_STACK=fd88:1::1 SRV1_STACK_NET=fd88:1::/64
		SRV2_STACK=fd88:2::1 SRV2_STACK_NET=fd88:2::/64
		SRV_STACK1=fd88:1::1 SRV_STACK2=fd88:1::2
		ANY=::
		;;
	*) fail "FAMILY must be 4 or 6 (is $FAMILY)" ;;
	esac
}

# topo_wait: wait until every veth of the topology has carrier and no address is tentative.
topo_wait() {
	local ns
	for ns in "${_NAMESPACES[@]}"; do
		wait_until 10 _lib_ns_ready "$ns" || fail "links in $ns did not come up"
	done
}

_lib_ns_ready() {
	! ip -n "$1" -o link show type veth | grep -v -q LOWER_UP &&
		[ -z "$(ip -n "$1" -6 addr show tentative)" ]
}

# topo_two_servers: DESIGN.md section 5.
#
#            10.0.1.1/24 c1 ---- s1 10.0.1.2/24   srv1 (stack 10.88.1.1)
#   cli  (stack 10.77.0.2)
#            10.0.2.1/24 c2 ---- s2 10.0.2.2/24   srv2 (stack 10.88.2.1)
#
# Sets NS_CLI NS_SRV1 NS_SRV2.  cli routes the server stacks via the servers' veth addresses,
# each server routes the client stack prefix back via its veth.  The mpsd processes add their
# TUN devices and the /32 (/128) routes to their own addresses.
topo_two_servers() {
	topo_addresses
	NS_CLI=${_NSP}cli NS_SRV1=${_NSP}srv1 NS_SRV2=${_NSP}srv2
	ns_create "$NS_CLI"
	ns_create "$NS_SRV1"
	ns_create "$NS_SRV2"
	veth "$NS_CLI" c1 "$NS_SRV1" s1
	veth "$NS_CLI" c2 "$NS_SRV2" s2
	addr_add "$NS_CLI" c1 "$A_C1"
	addr_add "$NS_SRV1" s1 "$A_S1"
	addr_add "$NS_CLI" c2 "$A_C2"
	addr_add "$NS_SRV2" s2 "$A_S2"
	route_add "$NS_CLI" "$SRV1_STACK_NET" via "$A_S1" dev c1
	route_add "$NS_CLI" "$SRV2_STACK_NET" via "$A_S2" dev c2
	route_add "$NS_SRV1" "$CLI_STACK_NET" via "$A_C1" dev s1
	route_add "$NS_SRV2" "$CLI_STACK_NET" via "$A_C2" dev s2
	topo_wait
}

# topo_one_server_two_paths: one server reached over two paths.
#
#            10.0.1.1/24 c1 ---- s1 10.0.1.2/24
#   cli  (stack 10.77.0.2)                        srv (stacks 10.88.1.1, 10.88.1.2)
#            10.0.2.1/24 c2 ---- s2 10.0.2.2/24
#
# Sets NS_CLI NS_SRV.  Source-based policy routing in both namespaces keeps each path
# symmetric (what arrives on path 2 is answered on path 2):
#   cli: SRV_STACK1 via A_S1 (c1), SRV_STACK2 via A_S2 (c2); rule "from A_C2 table 102" with
#        table 102 = SRV1_STACK_NET via A_S2 (c2), so a kernel client with a subflow endpoint
#        on A_C2 opens its second subflow to SRV_STACK1 over path 2.  The client stack's own
#        routes are mpsd's (it routes CLI_STACK into its TUN device).
#   srv: CLI_STACK_NET via A_C1 (s1); rules "from A_S2" and "from SRV_STACK2" -> table 102 =
#        CLI_STACK_NET via A_C2 (s2), so the replies of a path-2 subflow to the client stack
#        go back on path 2.  Replies to A_C1 / A_C2 follow the connected routes.
topo_one_server_two_paths() {
	topo_addresses
	NS_CLI=${_NSP}cli NS_SRV=${_NSP}srv
	ns_create "$NS_CLI"
	ns_create "$NS_SRV"
	veth "$NS_CLI" c1 "$NS_SRV" s1
	veth "$NS_CLI" c2 "$NS_SRV" s2
	addr_add "$NS_CLI" c1 "$A_C1"
	addr_add "$NS_SRV" s1 "$A_S1"
	addr_add "$NS_CLI" c2 "$A_C2"
	addr_add "$NS_SRV" s2 "$A_S2"

	route_add "$NS_CLI" "$SRV_STACK1/$HLEN" via "$A_S1" dev c1
	route_add "$NS_CLI" "$SRV_STACK2/$HLEN" via "$A_S2" dev c2
	route_add "$NS_CLI" "$SRV1_STACK_NET" via "$A_S2" dev c2 table 102
	rule_add "$NS_CLI" from "$A_C2" table 102 pref 1002

	route_add "$NS_SRV" "$CLI_STACK_NET" via "$A_C1" dev s1
	route_add "$NS_SRV" "$CLI_STACK_NET" via "$A_C2" dev s2 table 102
	rule_add "$NS_SRV" from "$A_S2" table 102 pref 1002
	rule_add "$NS_SRV" from "$SRV_STACK2" table 102 pref 1012
	topo_wait
}

# stack_emulate NS ADDR...: put ADDR/32 (/128) on lo of NS, standing in for an mpsd stack
# address, so that kernel peers can prove the topology's routes before mpsd exists.
stack_emulate() {
	local ns=$1 a
	shift
	for a in "$@"; do
		ip -n "$ns" "-$FAMILY" addr add "$a/$HLEN" dev lo || fail "address $a on $ns/lo"
	done
}

# topo_teardown: delete the namespaces of the current topology (also done at exit).
topo_teardown() {
	local ns
	capture_stop
	for ns in "${_NAMESPACES[@]}"; do
		ns_del "$ns"
	done
	_NAMESPACES=()
	_PEER=()
}

# --------------------------------------------------------------------------------------------
# Kernel MPTCP configuration (in-kernel path manager)

# mptcp_limits NS SUBFLOWS ADD_ADDR_ACCEPTED
mptcp_limits() {
	ip -n "$1" mptcp limits set subflows "$2" add_addr_accepted "$3" ||
		fail "mptcp limits in $1"
}

# mptcp_endpoint NS ADDR DEV FLAGS...: e.g. "signal" (a server announces ADDR with ADD_ADDR)
# or "subflow" (a client opens a subflow from ADDR).
mptcp_endpoint() {
	local ns=$1 addr=$2 dev=$3
	shift 3
	ip -n "$ns" mptcp endpoint add "$addr" dev "$dev" "$@" ||
		fail "mptcp endpoint $addr $* in $ns"
}

# kernel_server_setup NS: limits and a signal endpoint on A_S2 (the server announces path 2).
kernel_server_setup() {
	mptcp_limits "$1" 2 2
	mptcp_endpoint "$1" "$A_S2" s2 signal
}

# kernel_client_setup NS: limits that accept two ADD_ADDRs and two extra subflows.
kernel_client_setup() {
	mptcp_limits "$1" 2 2
}

# --------------------------------------------------------------------------------------------
# Servers and clients

# wait_port NS ADDR PORT [TIMEOUT_S]: wait until a TCP (or MPTCP) socket listens on PORT.
wait_port() {
	wait_until "${4:-10}" _lib_listening "$1" "$3" ||
		fail "nothing listens on $(url_host "$2"):$3 in $1"
}

_lib_listening() {
	[ -n "$(ip netns exec "$1" ss -Hltn "sport = :$2")" ]
}

# http_server_kernel NS ADDR PORT DIR: a kernel MPTCP HTTP/1.0 server (python http.server
# under mptcpize) serving DIR on ADDR:PORT.  Sets BG_PID.
http_server_kernel() {
	bg_run "$1" "$WORK/http-$1-$3.log" mptcpize run "$PYTHON" -m http.server \
		--bind "$2" "$3" --directory "$4"
	wait_port "$1" "$2" "$3"
}

# http_server_plain NS ADDR PORT DIR: the same server on a plain TCP socket (no MPTCP).
http_server_plain() {
	bg_run "$1" "$WORK/http-plain-$1-$3.log" "$PYTHON" -m http.server \
		--bind "$2" "$3" --directory "$4"
	wait_port "$1" "$2" "$3"
}

# nginx_start NS ADDR PORT DIR: stock nginx (one worker, kernel TCP) serving DIR on ADDR:PORT
# in NS, with its configuration, pid and temporary files under $WORK/nginx-NS-PORT (the
# distribution's defaults are not used).  Sets BG_PID.
nginx_start() {
	local ns=$1 addr=$2 port=$3 dir=$4 d
	d=$WORK/nginx-$ns-$port
	mkdir -p "$d"
	cat >"$d/nginx.conf" <<-EOF
		daemon off;
		worker_processes 1;
		pid $d/nginx.pid;
		error_log $d/error.log;
		events { worker_connections 1024; }
		http {
		    access_log off;
		    sendfile on;
		    tcp_nodelay on;
		    keepalive_timeout 75s;
		    keepalive_requests 10000;
		    default_type application/octet-stream;
		    types { video/mp4 mp4; application/vnd.apple.mpegurl m3u8; video/mp2t ts; }
		    client_body_temp_path $d/body;
		    proxy_temp_path $d/proxy;
		    server {
		        listen $(url_host "$addr"):$port;
		        root $dir;
		    }
		}
	EOF
	bg_run "$ns" "$d/stderr.log" nginx -e "$d/error.log" -c "$d/nginx.conf"
	wait_port "$ns" "$addr" "$port"
}

# http_get NS URL OUT [mptcp]: fetch URL with curl inside NS into OUT; with "mptcp" through
# mptcpize (a kernel MPTCP client).  Sets LAST_SECS; returns curl's status.
http_get() {
	local ns=$1 url=$2 out=$3 t0 rc wrap=()
	[ "${4:-}" = mptcp ] && wrap=(mptcpize run)
	rm -f "$out"
	t0=$(now_ms)
	ip netns exec "$ns" "${wrap[@]}" curl -sS --fail --max-time "$TRANSFER_TIMEOUT" \
		-o "$out" "$url"
	rc=$?
	LAST_SECS=$(secs_since "$t0")
	return $rc
}

# http_get_bg NS URL OUT [mptcp]: the same in the background (BG_PID is curl).
http_get_bg() {
	local wrap=()
	[ "${4:-}" = mptcp ] && wrap=(mptcpize run)
	rm -f "$3"
	bg_run "$1" "$WORK/curl-bg.log" "${wrap[@]}" curl -sS --fail \
		--max-time "$TRANSFER_TIMEOUT" -o "$3" "$2"
}

# file_size FILE: size in bytes (0 when absent).
file_size() { stat -c %s "$1" 2>/dev/null || echo 0; }

_lib_size_ge() { [ "$(file_size "$1")" -ge "$2" ]; }

# wait_file_size FILE BYTES [TIMEOUT_S]: wait until FILE holds at least BYTES.
wait_file_size() {
	wait_until "${3:-$TRANSFER_TIMEOUT}" _lib_size_ge "$1" "$2"
}

# mpsd_start NS LOGNAME ARGS...: run "$MPSD ARGS..." in NS in the background; sets BG_PID.
mpsd_start() {
	local ns=$1 name=$2
	shift 2
	bg_run "$ns" "$WORK/mpsd-$name.log" "$MPSD" "$@"
	log "mpsd $* (in ${ns#"$_NSP"})"
}

# mpsd_check PID LOGNAME: fail unless that mpsd still runs and its log holds no sanitizer
# report (ASan/UBSan builds print them to stderr).
mpsd_check() {
	kill -0 "$1" 2>/dev/null || fail "mpsd $2 died (see mpsd-$2.log)"
	! grep -Eq 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:' \
		"$WORK/mpsd-$2.log" || fail "sanitizer report in mpsd-$2.log"
}

# wait_tun NS DEV ADDR: wait until mpsd's TUN device DEV is up and ADDR is routed into it.
wait_tun() {
	wait_until 10 _lib_tun_ready "$1" "$2" "$3" ||
		fail "TUN device $2 with a route to $3 did not appear in $1"
}

# (the route may also be shadowed by a local address, as fake-mpsd.sh does)
_lib_tun_ready() {
	local hl=32
	case $3 in *:*) hl=128 ;; esac
	ip -n "$1" link show dev "$2" up 2>/dev/null | grep -q UP || return 1
	ip -n "$1" route get "$3" 2>/dev/null | grep -q "dev $2" ||
		[ -n "$(ip -n "$1" route show exact "$3/$hl" dev "$2" 2>/dev/null)" ]
}

# --------------------------------------------------------------------------------------------
# Scenarios over topo_one_server_two_paths (the tests that need mpsd share them)

PORT=${PORT:-8080}		# HTTP port of every server
LOCAL_PORT=${LOCAL_PORT:-9000}	# the mpsd client's player socket (127.0.0.1)

# scen_kernel_server DIR: in srv, a kernel MPTCP HTTP server for DIR on ANY:PORT whose path
# manager announces A_S2 (ADD_ADDR).  Sets KERNEL_URL (the file on path 1).
scen_kernel_server() {
	kernel_server_setup "$NS_SRV"
	http_server_kernel "$NS_SRV" "$ANY" "$PORT" "$1"
	KERNEL_URL="http://$(url_host "$A_S1"):$PORT/file"
}

# scen_mpsd_client [ARGS...]: in cli, "mpsd client --tun mpsc0 --addr CLI_STACK
# --connect A_S1:PORT --listen 127.0.0.1:LOCAL_PORT ARGS..."; waits for its TUN device and
# player socket.  Sets MPSD_CLIENT_PID and PLAYER_URL (the file through mpsd).
scen_mpsd_client() {
	mpsd_start "$NS_CLI" client client --tun mpsc0 --addr "$CLI_STACK" \
		--connect "$(url_host "$A_S1"):$PORT" --listen "127.0.0.1:$LOCAL_PORT" \
		--ctl "$WORK/mpsd-client.ctl" "$@"
	MPSD_CLIENT_PID=$BG_PID
	wait_tun "$NS_CLI" mpsc0 "$CLI_STACK"
	wait_port "$NS_CLI" 127.0.0.1 "$LOCAL_PORT"
	PLAYER_URL="http://127.0.0.1:$LOCAL_PORT/file"
}

# scen_mpsd_server DIR [ARGS...]: in srv, "mpsd server --tun mpss0 --addr SRV_STACK1
# --addr SRV_STACK2 --listen SRV_STACK1:PORT --serve DIR ARGS..."; waits for its TUN device
# and the routes to both addresses.  Sets MPSD_SERVER_PID and STACK_URL.
scen_mpsd_server() {
	local dir=$1
	shift
	mpsd_start "$NS_SRV" server server --tun mpss0 --addr "$SRV_STACK1" \
		--addr "$SRV_STACK2" --listen "$(url_host "$SRV_STACK1"):$PORT" --serve "$dir" \
		--ctl "$WORK/mpsd-server.ctl" "$@"
	MPSD_SERVER_PID=$BG_PID
	wait_tun "$NS_SRV" mpss0 "$SRV_STACK1"
	wait_tun "$NS_SRV" mpss0 "$SRV_STACK2"
	STACK_URL="http://$(url_host "$SRV_STACK1"):$PORT/file"
}

# scen_kernel_client MODE: the kernel client's path manager in cli.  MODE "subflow": a
# subflow endpoint on A_C2 (the client opens path 2 itself); "accept": no endpoint, the
# client accepts ADD_ADDRs and joins the announced addresses.
scen_kernel_client() {
	mptcp_limits "$NS_CLI" 2 2
	case $1 in
	subflow) mptcp_endpoint "$NS_CLI" "$A_C2" c2 subflow ;;
	accept) ;;
	*) fail "scen_kernel_client: unknown mode $1" ;;
	esac
}

# report_time LABEL: log the last transfer's time and throughput, remember it in TIMES.
TIMES=
report_time() {
	log "$1: $FILE_MB MiB in $LAST_SECS s ($(mbps "$LAST_SECS") Mbit/s)"
	TIMES="$TIMES $1=${LAST_SECS}s"
}

# --------------------------------------------------------------------------------------------
# Counters

# nstat_reset NS: remember the current absolute counters of NS (nstat_get reports deltas).
# nstat's own history file is shared by all namespaces, so it is not used (-s).
nstat_reset() {
	ip netns exec "$1" nstat -asz >"$WORK/nstat.$1" 2>/dev/null || fail "nstat in $1"
}

# nstat_get NS COUNTER: increase of COUNTER (e.g. MPTcpExtMPJoinSynRx) since nstat_reset.
nstat_get() {
	local now before
	now=$(ip netns exec "$1" nstat -asz 2>/dev/null | awk -v c="$2" '$1 == c { print $2 }')
	before=$(awk -v c="$2" '$1 == c { print $2 }' "$WORK/nstat.$1" 2>/dev/null)
	echo $((${now:-0} - ${before:-0}))
}

# expect_counter NS COUNTER OP N: fail unless (delta of COUNTER) OP N, OP one of -gt -eq -ge.
expect_counter() {
	local v
	v=$(nstat_get "$1" "$2")
	case $3 in
	-gt | -ge | -eq | -le | -lt | -ne) ;;
	*) fail "expect_counter: bad operator $3" ;;
	esac
	test "$v" "$3" "$4" || fail "$2 in $1 is $v, expected $3 $4"
	log "$2 = $v"
}

# expect_no_fallback NS: none of FALLBACK_COUNTERS moved in NS.
expect_no_fallback() {
	local c v bad=
	for c in $FALLBACK_COUNTERS; do
		v=$(nstat_get "$1" "$c")
		[ "$v" = 0 ] || bad="$bad $c=$v"
	done
	[ -z "$bad" ] || fail "fallback counters rose in $1:$bad"
	log "no fallback counter rose in $1"
}

# fallback_count NS: sum of FALLBACK_COUNTERS deltas in NS.
fallback_count() {
	local c s=0
	for c in $FALLBACK_COUNTERS; do
		s=$((s + $(nstat_get "$1" "$c")))
	done
	echo "$s"
}

# if_bytes NS IFACE: rx_bytes + tx_bytes of IFACE.
if_bytes() {
	ip netns exec "$1" sh -c "cat /sys/class/net/$2/statistics/rx_bytes \
		/sys/class/net/$2/statistics/tx_bytes" | awk '{ s += $1 } END { printf "%.0f\n", s }'
}

# paths_reset NS IFACE...: remember the byte counters of the interfaces.
declare -A _IFB
paths_reset() {
	local ns=$1 i
	shift
	for i in "$@"; do
		_IFB["$ns/$i"]=$(if_bytes "$ns" "$i")
	done
}

# path_bytes NS IFACE: bytes through IFACE since paths_reset.
path_bytes() {
	echo $(($(if_bytes "$1" "$2") - ${_IFB["$1/$2"]:-0}))
}

# expect_paths_used NS MIN_BYTES IFACE...: each interface carried at least MIN_BYTES.
expect_paths_used() {
	local ns=$1 min=$2 i b
	shift 2
	for i in "$@"; do
		b=$(path_bytes "$ns" "$i")
		[ "$b" -ge "$min" ] || fail "path $i in $ns carried only $b bytes (< $min)"
		log "path $i: $b bytes"
	done
}

# --------------------------------------------------------------------------------------------
# Impairments: loss, rate, link failure

# _lib_peer NS IFACE: "peer_ns peer_iface" of a veth end.
_lib_peer() {
	local p=${_PEER["$1/$2"]:-}
	[ -n "$p" ] || fail "no veth peer known for $1/$2"
	echo "${p%%/*} ${p#*/}"
}

# loss_on NS IFACE PCT: drop PCT % of the packets of the link at IFACE, in both directions.
# An nftables netdev table "mpsloss" with "numgen random mod 100 < PCT drop" on the ingress
# hook of IFACE (packets arriving in NS) and of its veth peer (packets leaving NS).  The
# ingress hooks see packets after GSO segmentation; GSO is limited to one segment on both
# ends so that locally sent TCP segments are dropped one by one, not as 64 KB bursts.
loss_on() {
	local ns=$1 ifc=$2 pct=$3 pns pif
	read -r pns pif <<<"$(_lib_peer "$ns" "$ifc")"
	_lib_loss_table "$ns" "$ifc" "$pct"
	_lib_loss_table "$pns" "$pif" "$pct"
}

_lib_loss_table() {
	ip -n "$1" link set dev "$2" gso_max_segs 1
	ip netns exec "$1" nft -f - <<EOF || fail "nft loss table on $1/$2"
table netdev mpsloss_$2 {
	chain in {
		type filter hook ingress device "$2" priority 0; policy accept;
		numgen random mod 100 < $3 counter drop
	}
}
EOF
}

# loss_off NS IFACE: remove the loss of the link at IFACE.
loss_off() {
	local pns pif
	read -r pns pif <<<"$(_lib_peer "$1" "$2")"
	ip netns exec "$1" nft delete table netdev "mpsloss_$2" 2>/dev/null
	ip netns exec "$pns" nft delete table netdev "mpsloss_$pif" 2>/dev/null
	ip -n "$1" link set dev "$2" gso_max_segs 65535
	ip -n "$pns" link set dev "$pif" gso_max_segs 65535
}

# loss_dropped NS IFACE: packets dropped so far on the link at IFACE (both directions).
loss_dropped() {
	local pns pif a b
	read -r pns pif <<<"$(_lib_peer "$1" "$2")"
	a=$(_lib_loss_count "$1" "$2")
	b=$(_lib_loss_count "$pns" "$pif")
	echo $((a + b))
}

_lib_loss_count() {
	ip netns exec "$1" nft list table netdev "mpsloss_$2" 2>/dev/null |
		awk '/counter/ { for (i = 1; i < NF; i++) if ($i == "packets") print $(i + 1) }' |
		head -n 1 | grep . || echo 0
}

# rate_on NS IFACE RATE: limit what leaves NS on IFACE to RATE (tc syntax: 100mbit) with tbf.
rate_on() {
	ip -n "$1" link set dev "$2" gso_max_segs 65535
	ns_exec "$1" tc qdisc replace dev "$2" root tbf rate "$3" burst 64kb latency 100ms ||
		fail "tbf on $1/$2"
}

# rate_off NS IFACE
rate_off() {
	ns_exec "$1" tc qdisc del dev "$2" root 2>/dev/null
	return 0
}

# link_down NS IFACE / link_up NS IFACE: take a path down (its peer loses carrier) or back up.
link_down() { ip -n "$1" link set dev "$2" down || fail "link_down $1/$2"; }
link_up() { ip -n "$1" link set dev "$2" up || fail "link_up $1/$2"; }

# strip_mptcp NS IFACE: a middlebox that removes the MPTCP option (kind 30) from every TCP
# segment arriving on or leaving through IFACE ("reset tcp option mptcp" turns it into NOPs
# and fixes the checksum).  strip_mptcp_off NS IFACE removes it.
strip_mptcp() {
	ip netns exec "$1" nft -f - <<EOF || fail "nft strip table on $1/$2"
table inet mpsstrip_$2 {
	chain pre {
		type filter hook prerouting priority -300; policy accept;
		iifname "$2" meta l4proto tcp counter reset tcp option mptcp
	}
	chain post {
		type filter hook postrouting priority 300; policy accept;
		oifname "$2" meta l4proto tcp counter reset tcp option mptcp
	}
}
EOF
}

strip_mptcp_off() {
	ip netns exec "$1" nft delete table inet "mpsstrip_$2" 2>/dev/null
	return 0
}

# --------------------------------------------------------------------------------------------
# Captures and tshark checks

# capture_start NS IFACES FILE [SNAPLEN]: capture on IFACES (comma separated) of NS into the
# pcapng FILE, headers only (SNAPLEN bytes, default 200); returns once capturing.  One dumpcap
# per interface (a single dumpcap on several interfaces queues packets between threads and
# drops most of them at veth speed); capture_stop merges the parts into FILE.
_CAP_MERGE=()	# "FILE part..." per capture
capture_start() {
	local ns=$1 file=$3 snap=${4:-200} i part logf parts=
	for i in ${2//,/ }; do
		part="$file.$i.part"
		logf="$WORK/dumpcap-$(basename "$file")-$i.log"
		bg_run "$ns" "$logf" dumpcap -q -n -B 64 -s "$snap" -i "$i" -w "$part"
		_CAP_PIDS+=("$BG_PID")
		parts="$parts $part"
		wait_until 10 grep -q "Capturing on" "$logf" ||
			fail "dumpcap did not start: $(cat "$logf")"
	done
	_CAP_MERGE+=("$file$parts")
	# "Capturing on" is printed just before the capture loop starts
	sleep 0.3
}

# capture_stop: stop every running capture, wait until the files are complete, merge them.
# dumpcap reads the kernel's packet ring a block at a time and a block is handed over only
# when full or after a timeout: packets of a block still open when dumpcap is stopped are
# lost, so the captures get a second to drain first.
capture_stop() {
	local p m
	[ ${#_CAP_PIDS[@]} = 0 ] || sleep 1
	for p in "${_CAP_PIDS[@]}"; do
		_lib_child "$p" && kill -TERM "$p" 2>/dev/null
	done
	for p in "${_CAP_PIDS[@]}"; do
		bg_stop "$p"
	done
	_CAP_PIDS=()
	for m in "${_CAP_MERGE[@]}"; do
		# shellcheck disable=SC2086
		mergecap -w ${m%% *} ${m#* } && rm -f ${m#* }
	done
	_CAP_MERGE=()
}

# capture_drops FILE: packets the capture of FILE lost (from the dumpcap logs), "0" if none.
capture_drops() {
	cat "$WORK/dumpcap-$(basename "$1")"-*.log 2>/dev/null |
		sed -n 's/.*received\/dropped on interface .*: [0-9]*\/\([0-9]*\) .*/\1/p' |
		awk '{ s += $1 } END { print s + 0 }'
}

# The payload on PORT is decoded as plain data: captures are truncated (SNAPLEN) and random
# file content would otherwise be taken for some protocol by a heuristic dissector that then
# reports it malformed.
_lib_tshark() {
	tshark -n -r "$@" -o tcp.analyze_sequence_numbers:TRUE -o mptcp.analyze_mptcp:TRUE \
		-d "tcp.port==${PORT:-8080},data" 2>/dev/null
}

# _lib_tshark_lines FILE FILTER [-T fields -e FIELD...]: the lines tshark prints for the
# packets matching FILTER; fails (with a message) if tshark itself fails, so that a broken
# filter never reads as "no packet matched".
_lib_tshark_lines() {
	local f=$1 flt=$2 out
	shift 2
	out=$(_lib_tshark "$f" -Y "$flt" "$@") || {
		echo "tshark failed on $f with filter '$flt'" >&2
		return 1
	}
	[ -z "$out" ] || printf '%s\n' "$out"
}

# tshark_check_mptcp FILE [EXPECTED_TOKEN...]: check a capture of MPTCP traffic.
# Fails (returns 1, with a message on stderr) if
#   - a packet is malformed or has an expert item of severity "error",
#   - the key echoed in a MP_CAPABLE ACK differs from the keys exchanged
#     (mptcp.connection.echoed_key_mismatch),
#   - there is no MP_CAPABLE handshake carrying keys (so no token to check against),
#   - a MP_JOIN SYN carries a token that is not the token of a key seen in the capture
#     (RFC 8684 section 3.2: the token is the peer's, derived from its key),
#   - one of the EXPECTED_TOKENs (hex, with or without 0x) is not among the tokens that
#     tshark derives from the keys (mptcp.expected_token).
# Prints the number of MPTCP connections, the tokens and the MP_JOIN SYN tokens.
tshark_check_mptcp() {
	local f=$1 out toks jtoks conns t all
	shift
	[ -s "$f" ] || { echo "tshark: no capture $f" >&2; return 1; }
	out=$(_lib_tshark_lines "$f" '_ws.malformed || _ws.expert.severity == "Error"' \
		-T fields -e frame.number -e _ws.expert.message) || return 1
	if [ -n "$out" ]; then
		echo "tshark: $(wc -l <<<"$out") malformed or erroneous packets in $f:" >&2
		head -n 5 <<<"$out" >&2
		return 1
	fi
	out=$(_lib_tshark_lines "$f" mptcp.connection.echoed_key_mismatch) || return 1
	[ -z "$out" ] || { echo "tshark: echoed key mismatch: $out" >&2; return 1; }
	toks=$(_lib_tshark_lines "$f" mptcp.expected_token -T fields -e mptcp.expected_token) ||
		return 1
	toks=$(_lib_dec2hex <<<"$toks")
	[ -n "$toks" ] || { echo "tshark: no MP_CAPABLE keys in $f" >&2; return 1; }
	jtoks=$(_lib_tshark_lines "$f" tcp.options.mptcp.recvtok -T fields \
		-e tcp.options.mptcp.recvtok) || return 1
	jtoks=$(_lib_dec2hex <<<"$jtoks")
	conns=$(_lib_tshark_lines "$f" mptcp.stream -T fields -e mptcp.stream) || return 1
	conns=$(sort -u <<<"$conns" | grep -c .)
	all=$(tr '\n' ' ' <<<"$toks")
	log "tshark: $conns MPTCP connection(s), tokens: ${all% }, MP_JOIN tokens:" \
		"$(tr '\n' ' ' <<<"${jtoks:-none}")(capture lost $(capture_drops "$f") packets)"
	for t in $jtoks; do
		grep -qx "$t" <<<"$toks" || {
			echo "tshark: MP_JOIN SYN with unknown token $t (tokens: ${all% })" >&2
			return 1
		}
	done
	for t in "$@"; do
		t=$(_lib_hexnorm <<<"$t")
		grep -qx "$t" <<<"$toks" || {
			echo "tshark: expected token $t not seen (tokens: ${all% })" >&2
			return 1
		}
	done
	return 0
}

# tshark_count FILE FILTER: number of packets of FILE matching the display FILTER.
tshark_count() {
	local out
	out=$(_lib_tshark_lines "$1" "$2") || return 1
	grep -c . <<<"$out" || true
}

# tshark prints 32-bit fields in decimal, comma separated when a packet has several: one
# lowercase hex value per line, without 0x and leading zeros, sorted, unique
_lib_dec2hex() {
	tr ',' '\n' | awk '/^[0-9]+$/ { printf "%x\n", $1 }' | sort -u
}

# hex values, lowercase, without 0x and leading zeros
_lib_hexnorm() {
	tr 'A-F' 'a-f' | sed -e 's/^[[:space:]]*//' -e 's/^0x//' -e 's/^0*\([0-9a-f]\)/\1/' |
		grep .
}

# mptcp_monitor_start NS: record the in-kernel path manager's events (ip mptcp monitor)
# of NS; mptcp_monitor_tokens prints the tokens of the connections created so far.
mptcp_monitor_start() {
	bg_run "$1" "$WORK/monitor-$1.log" ip mptcp monitor
	_MON_LOG="$WORK/monitor-$1.log"
	sleep 0.2
}

mptcp_monitor_tokens() {
	grep -o 'token=[0-9a-fA-F]*' "$_MON_LOG" 2>/dev/null | cut -d= -f2 | _lib_hexnorm | sort -u
}

# --------------------------------------------------------------------------------------------
# mpsctl and kernel MPTCP sockets (added for test_signals.sh and test_checksum.sh)

MPSCTL=${MPSCTL:-$BUILDDIR/apps/mpsctl}

# mpsctl_status CTL [--json]: the status of the mpsd behind the control socket CTL (a Unix
# socket path, reachable from any namespace).  Fails (returns 1) if mpsd does not answer.
mpsctl_status() {
	local ctl=$1
	shift
	"$MPSCTL" --ctl "$ctl" status "$@"
}

# mpsctl_live_conns CTL: the number of connections mpsd reports that are not closed
# ("N connections" line of mpsctl status, minus those in a CLOSED state); "?" if mpsd does
# not answer.
mpsctl_live_conns() {
	local st
	st=$(mpsctl_status "$1" 2>/dev/null) || { echo "?"; return 0; }
	awk '/^conn [0-9]+:/ && $0 !~ / (CLOSED|closed) / { n++ } END { print n + 0 }' <<<"$st"
}

# mptcp_sockets NS: the MPTCP sockets of NS that are not listening (ss -M), one per line.
mptcp_sockets() {
	ip netns exec "$1" ss -HMn 2>/dev/null | grep -v LISTEN
}

_lib_no_mptcp_sockets() { [ -z "$(mptcp_sockets "$1")" ]; }

# wait_no_mptcp_sockets NS TIMEOUT_S: wait until NS has no MPTCP socket left but listeners.
wait_no_mptcp_sockets() {
	wait_until "$2" _lib_no_mptcp_sockets "$1"
}

# capture_hide_mpexp IN OUT: copy the pcapng capture IN to OUT with every MPTCP option of
# subtype 0xf (MP_EXPERIMENTAL, RFC 8684 section 8: private use; mpsd's group extension)
# overwritten with NOPs, and print how many were hidden.  tshark 4.0 cannot dissect that
# subtype: a SYN carrying it makes the MPTCP dissector fail an assertion on the following
# packets of the subflow (reported as malformed), so the standard checks run on OUT.  The
# TCP checksums of the changed packets are left wrong (tshark does not verify them).
capture_hide_mpexp() {
	"$PYTHON" - "$1" "$2" <<'PYEOF'
import struct, sys

def hide(pkt, link):
    """Overwrite MPTCP subtype-0xf options in one packet, return how many."""
    off = {1: 14, 113: 16, 276: 20, 101: 0, 228: 0, 229: 0}.get(link)
    if off is None:
        return 0
    if link == 1:
        etype = struct.unpack_from("!H", pkt, 12)[0] if len(pkt) >= 14 else 0
        while etype in (0x8100, 0x88a8) and len(pkt) >= off + 4:
            etype = struct.unpack_from("!H", pkt, off + 2)[0]
            off += 4
    if len(pkt) < off + 20:
        return 0
    ver = pkt[off] >> 4
    if ver == 4:
        if pkt[off + 9] != 6:
            return 0
        tcp = off + (pkt[off] & 15) * 4
    elif ver == 6:
        if pkt[off + 6] != 6:
            return 0
        tcp = off + 40
    else:
        return 0
    if len(pkt) < tcp + 20:
        return 0
    end = min(tcp + (pkt[tcp + 12] >> 4) * 4, len(pkt))
    i, n = tcp + 20, 0
    while i < end:
        kind = pkt[i]
        if kind == 0:
            break
        if kind == 1:
            i += 1
            continue
        if i + 1 >= end or pkt[i + 1] < 2:
            break
        ln = pkt[i + 1]
        if kind == 30 and ln >= 3 and i + 2 < end and pkt[i + 2] >> 4 == 15:
            pkt[i:min(i + ln, end)] = b"\x01" * (min(i + ln, end) - i)
            n += 1
        i += ln
    return n

data = bytearray(open(sys.argv[1], "rb").read())
pos, bo, links, hidden = 0, "<", [], 0
while pos + 12 <= len(data):
    btype = struct.unpack_from(bo + "I", data, pos)[0]
    if btype == 0x0A0D0D0A:
        bo = "<" if struct.unpack_from("<I", data, pos + 8)[0] == 0x1A2B3C4D else ">"
        links = []
    blen = struct.unpack_from(bo + "I", data, pos + 4)[0]
    if blen < 12 or pos + blen > len(data):
        break
    if btype == 1:
        links.append(struct.unpack_from(bo + "H", data, pos + 8)[0])
    elif btype == 6:
        ifid, caplen = struct.unpack_from(bo + "I", data, pos + 8)[0], \
            struct.unpack_from(bo + "I", data, pos + 20)[0]
        start = pos + 28
        pkt = data[start:start + caplen]
        n = hide(pkt, links[ifid] if ifid < len(links) else -1)
        if n:
            data[start:start + caplen] = pkt
            hidden += n
    pos += blen
open(sys.argv[2], "wb").write(data)
print(hidden)
PYEOF
}

# capture_std FILE: hide the MP_EXPERIMENTAL options of the capture FILE (capture_hide_mpexp)
# in a copy $WORK/std/<same name> (so that capture_drops still finds its dumpcap logs); sets
# CAPTURE_STD to the copy and logs how many options were hidden.  Fails the test on error.
CAPTURE_STD=
capture_std() {
	local n
	[ -s "$1" ] || fail "no capture $1"
	mkdir -p "$WORK/std"
	CAPTURE_STD=$WORK/std/$(basename "$1")
	n=$(capture_hide_mpexp "$1" "$CAPTURE_STD") || fail "capture_hide_mpexp $1 failed"
	[ "$n" = 0 ] || log "tshark: $n MP_EXPERIMENTAL option(s) hidden from tshark"
}

# tshark_check_mptcp_std FILE [EXPECTED_TOKEN...]: tshark_check_mptcp on the capture_std copy
# of FILE.
tshark_check_mptcp_std() {
	local f=$1
	shift
	capture_std "$f"
	tshark_check_mptcp "$CAPTURE_STD" "$@"
}

# --------------------------------------------------------------------------------------------
# Group extension: replica servers, the group client, status sampling (added for
# test_group.sh and contrib/demo.sh)

# topo_three_servers: topo_two_servers plus a third replica server.
#
#            10.0.3.1/24 c3 ---- s3 10.0.3.2/24   srv3 (stack 10.88.3.1)
#
# Sets NS_SRV3, A_C3 A_S3, SRV3_STACK SRV3_STACK_NET (IPv6: fd00:3::1, fd00:3::2, fd88:3::1)
# besides what topo_two_servers sets.
topo_three_servers() {
	topo_two_servers
	case $FAMILY in
	4) A_C3=10.0.3.1 A_S3=10.0.3.2 SRV3_STACK=10.88.3.1 SRV3_STACK_NET=10.88.3.0/24 ;;
	6) A_C3=fd00:3::1 A_S3=fd00:3::2 SRV3_STACK=fd88:3::1 SRV3_STACK_NET=fd88:3::/64 ;;
	esac
	NS_SRV3=${_NSP}srv3
	ns_create "$NS_SRV3"
	veth "$NS_CLI" c3 "$NS_SRV3" s3
	addr_add "$NS_CLI" c3 "$A_C3"
	addr_add "$NS_SRV3" s3 "$A_S3"
	route_add "$NS_CLI" "$SRV3_STACK_NET" via "$A_S3" dev c3
	route_add "$NS_SRV3" "$CLI_STACK_NET" via "$A_C3" dev s3
	topo_wait
}

# group_key FILE: a new group key (mpsd keygen) in FILE, mode 0600.
group_key() {
	(umask 077 && "$MPSD" keygen >"$1") || fail "mpsd keygen"
}

# group_server I DIR KEY [ARGS...]: replica I (1, 2 or 3) of the topology: in NS_SRVi,
# "mpsd server -v --tun mpsgI --addr SRVi_STACK --listen SRVi_STACK:PORT --serve DIR
# --group-key KEY --ctl $WORK/mpsd-srvI.ctl ARGS..." (log mpsd-srvI.log); waits for the TUN
# device.  DIR "backend=HOST:PORT" gives --backend HOST:PORT instead of --serve.  Sets
# BG_PID, GROUP_PID[I] and GROUP_CTL[I].
declare -a GROUP_PID GROUP_CTL
group_server() {
	local i=$1 dir=$2 key=$3 ns stack
	shift 3
	ns=NS_SRV$i stack=SRV${i}_STACK
	ns=${!ns} stack=${!stack}
	{ [ -n "$ns" ] && [ -n "$stack" ]; } || fail "group_server: no server $i in this topology"
	GROUP_CTL[i]=$WORK/mpsd-srv$i.ctl
	local app=(--serve "$dir")
	case $dir in backend=*) app=(--backend "${dir#backend=}") ;; esac
	mpsd_start "$ns" "srv$i" server -v --tun "mpsg$i" --addr "$stack" \
		--listen "$(url_host "$stack"):$PORT" "${app[@]}" --group-key "$key" \
		--ctl "${GROUP_CTL[i]}" "$@"
	GROUP_PID[i]=$BG_PID
	wait_tun "$ns" "mpsg$i" "$stack"
}

# group_client [ARGS...]: in cli, "mpsd client -v --group --tun mpsc0 --addr CLI_STACK
# --connect SRV1_STACK:PORT --listen 127.0.0.1:LOCAL_PORT --ctl $WORK/mpsd-client.ctl
# ARGS..." (log mpsd-client.log); waits for the TUN device and the player socket.  Sets
# MPSD_CLIENT_PID, CLI_CTL and PLAYER_BASE (http://127.0.0.1:LOCAL_PORT).
group_client() {
	CLI_CTL=$WORK/mpsd-client.ctl
	mpsd_start "$NS_CLI" client client -v --group --tun mpsc0 --addr "$CLI_STACK" \
		--connect "$(url_host "$SRV1_STACK"):$PORT" --listen "127.0.0.1:$LOCAL_PORT" \
		--ctl "$CLI_CTL" "$@"
	MPSD_CLIENT_PID=$BG_PID
	wait_tun "$NS_CLI" mpsc0 "$CLI_STACK"
	wait_port "$NS_CLI" 127.0.0.1 "$LOCAL_PORT"
	PLAYER_BASE="http://127.0.0.1:$LOCAL_PORT"
}

# group_stop I: stop replica I's mpsd (SIGTERM, as an operator would).
group_stop() {
	bg_stop "${GROUP_PID[$1]}"
}

# group_kill I: SIGKILL replica I's mpsd: it dies silently, no RST, no FIN (DESIGN.md 5).
group_kill() {
	_lib_child "${GROUP_PID[$1]}" || fail "group_kill: mpsd srv$1 is not running"
	kill -9 "${GROUP_PID[$1]}"
	wait "${GROUP_PID[$1]}" 2>/dev/null
	return 0
}

# gapmeter NS URL OUT [ARGS...]: tests/netns/gapmeter.py (an HTTP player that times every
# recv) in NS; prints its JSON line, returns its status.  gapmeter_bg: the same in the
# background, the JSON line to $WORK/gapmeter-<basename OUT>.json; sets BG_PID.
gapmeter() {
	local ns=$1
	shift
	ip netns exec "$ns" "$PYTHON" "$NETNS_DIR/gapmeter.py" "$@"
}

gapmeter_bg() {
	local ns=$1
	shift
	bg_run "$ns" "$WORK/gapmeter-$(basename "$2").json" "$PYTHON" "$NETNS_DIR/gapmeter.py" "$@"
}

# json_get JSON KEY...: the value at KEY (nested keys in turn; a number indexes a list) of
# the JSON text, printed plainly (strings without quotes, null as "null"); empty on error.
json_get() {
	"$PYTHON" -c '
import json, sys
try:
    v = json.loads(sys.argv[1])
    for k in sys.argv[2:]:
        v = v[int(k)] if isinstance(v, list) else v[k]
except (ValueError, KeyError, IndexError, TypeError):
    sys.exit(1)
print("null" if v is None else str(v).lower() if isinstance(v, bool) else v)' "$@"
}

# status_sampler_start CTL FILE [INTERVAL_S]: poll "mpsctl --ctl CTL status --json" every
# INTERVAL_S (default 0.1) seconds in the background, appending "EPOCH_MS JSON" lines to
# FILE (a line without JSON when mpsd did not answer).  Sets SAMPLER_PID;
# status_sampler_stop stops it (also done at exit).
SAMPLER_PID=
status_sampler_start() {
	local ctl=$1 out=$2 iv=${3:-0.1}
	(
		while :; do
			printf '%s ' "$(($(_lib_epoch_us) / 1000))"
			"$MPSCTL" --ctl "$ctl" status --json 2>/dev/null || echo
			sleep "$iv"
		done
	) >>"$out" 2>/dev/null </dev/null &
	SAMPLER_PID=$!
	_BG_PIDS+=("$SAMPLER_PID")
	at_exit "bg_stop $SAMPLER_PID"
}

status_sampler_stop() {
	[ -n "$SAMPLER_PID" ] && bg_stop "$SAMPLER_PID"
	SAMPLER_PID=
}

# microseconds since the epoch, without a fork (bash 5 EPOCHREALTIME)
_lib_epoch_us() {
	local t=${EPOCHREALTIME/[.,]/}
	echo "${t:-$(($(date +%s%N) / 1000))}"
}

# group_servers_of SAMPLES: the per-server figures of the group connection seen in the status
# samples (status_sampler_start), one line per server: "ADDR STATE BYTES SHARE_PERMILLE
# REASON", taken from the last sample in which the connection's servers had carried the most
# bytes (a finished connection leaves the status soon after it closes); STATE is the last one
# seen while the connection was ESTABLISHED.  With several group connections in the samples,
# the one that carried the most.  Nothing when none was seen.
group_servers_of() {
	"$PYTHON" - "$1" <<'PYEOF'
import json, sys
best = None  # (total, key, servers)
live = {}  # (key, addr) -> the server's state while the connection was established
for line in open(sys.argv[1], errors="replace"):
    _, _, js = line.partition(" ")
    try:
        st = json.loads(js)
    except ValueError:
        continue
    for c in st.get("connections", []):
        srv = c.get("servers") or []
        if not srv:
            continue
        tot = sum(s["bytes"] for s in srv)
        key = (c["local"], c["remote"])
        if c.get("state") == "ESTABLISHED":
            for s in srv:
                live[(key, s["addr"])] = s["state"]
        if best is None or tot >= best[0]:
            best = (tot, key, srv)
if best:
    for s in best[2]:
        print(s["addr"], live.get((best[1], s["addr"]), s["state"]), s["bytes"],
              s["share_permille"], (s.get("reason") or "-").replace(" ", "_"))
PYEOF
}

# group_status_counter CTL NAME: the stats counter NAME (e.g. group_joins_refused) of the
# mpsd behind CTL ("?" when it does not answer).
group_status_counter() {
	local js
	js=$("$MPSCTL" --ctl "$1" status --json 2>/dev/null) || { echo "?"; return 0; }
	json_get "$js" stats "$2" || echo "?"
}

# delivered_total CTL: bytes delivered to the players by the client behind CTL, over its
# live connections (0 when none, "?" when it does not answer).
delivered_total() {
	local js
	js=$("$MPSCTL" --ctl "$1" status --json 2>/dev/null) || { echo "?"; return 0; }
	"$PYTHON" -c 'import json, sys
print(sum(c.get("bytes_delivered", 0) for c in json.loads(sys.argv[1])["connections"]))' "$js"
}

_lib_delivered_ge() {
	local d
	d=$(delivered_total "$1")
	[ "$d" != "?" ] && [ "$d" -ge "$2" ]
}

# wait_delivered CTL BYTES [TIMEOUT_S]: wait until the client behind CTL delivered BYTES.
wait_delivered() {
	wait_until "${3:-$TRANSFER_TIMEOUT}" _lib_delivered_ge "$1" "$2"
}

# throughput_series SAMPLES OUT [T0_MS] [BIN_S]: per-server downstream throughput over time
# from the status samples, for plotting.  OUT gets a header line "t ADDR... player" and one
# line per bin: its middle in seconds since T0_MS (default: the first sample), then Mbit/s of
# each server and of the delivery to the player (bytes_delivered) over the bin (BIN_S,
# default 0.25 s).
# Bytes are taken per connection and summed, so several player connections add up.
throughput_series() {
	"$PYTHON" - "$@" <<'PYEOF'
import json, sys
samples, out = sys.argv[1], sys.argv[2]
t0 = float(sys.argv[3]) if len(sys.argv) > 3 and sys.argv[3] else None
bin_s = float(sys.argv[4]) if len(sys.argv) > 4 else 0.25
addrs, rows = [], []  # rows: (t_ms, {addr: bytes}, delivered)
last = {}  # (conn, addr) -> bytes; a connection that vanished keeps its last value
last_del = {}
for line in open(samples, errors="replace"):
    ts, _, js = line.partition(" ")
    try:
        t, st = float(ts), json.loads(js)
    except ValueError:
        continue
    for c in st.get("connections", []):
        key = (c["local"], c["remote"])
        last_del[key] = max(last_del.get(key, 0), c.get("bytes_delivered", 0))
        for s in c.get("servers") or []:
            if s["addr"] not in addrs:
                addrs.append(s["addr"])
            k = (key, s["addr"])
            last[k] = max(last.get(k, 0), s["bytes"])
    tot = {a: sum(v for (ck, a2), v in last.items() if a2 == a) for a in addrs}
    rows.append((t, tot, sum(last_del.values())))
if not rows:
    sys.exit("throughput_series: no samples in %s" % samples)
if t0 is None:
    t0 = rows[0][0]
with open(out, "w") as f:
    f.write("t %s player\n" % " ".join(addrs))
    prev, edge = rows[0], rows[0][0] + bin_s * 1000
    for r in rows[1:]:
        if r[0] < edge and r is not rows[-1]:
            continue
        dt = (r[0] - prev[0]) / 1000.0
        if dt <= 0:
            continue
        vals = [(r[1].get(a, 0) - prev[1].get(a, 0)) * 8 / dt / 1e6 for a in addrs]
        vals.append((r[2] - prev[2]) * 8 / dt / 1e6)
        mid = (prev[0] + r[0]) / 2.0  # the middle of the bin
        f.write("%.3f %s\n" % ((mid - t0) / 1000.0, " ".join("%.3f" % v for v in vals)))
        prev, edge = r, r[0] + bin_s * 1000
print(len(addrs))
PYEOF
}
