#!/bin/bash
#
# contrib/topology/topo.sh - build the reference testbeds by hand, for demos and debugging.
# The namespaces stay until "down"; they are the ones tests/netns builds for each test, with
# the plain names of DESIGN.md section 5 (cli, srv1, srv2 / cli, srv).
#
#   topo.sh up two-servers [-6]      cli, srv1, srv2 (DESIGN.md section 5)
#   topo.sh up one-server [-6]       cli, srv joined by two paths
#   topo.sh down                     delete what "up" built (and kill what runs inside)
#   topo.sh show                     namespaces, addresses, routes, rules, qdiscs
#   topo.sh loss NS IFACE PCT        random loss on the link at IFACE, both directions
#   topo.sh rate NS IFACE RATE       tbf on IFACE's egress (e.g. 50mbit)
#   topo.sh clear NS IFACE           remove loss and rate from that link
#   topo.sh down-link NS IFACE / up-link NS IFACE
#   topo.sh exec NS CMD...           run CMD in NS
#
# The host routing that mpsd leaves to the host (DESIGN.md section 4) is part of "up":
# forwarding on, rp_filter off, the routes between the stack prefixes and the veths, and in
# the one-server testbed the source-based policy routing that keeps each path symmetric.
# mpsd itself adds its TUN device and the routes to its own addresses.  "up" prints the
# commands to start mpsd on the testbed.  See README.md here and tests/netns/README.md.

set -u
here=$(cd "$(dirname "$0")" && pwd)
STATE=/run/mpstream-topology
export NS_PREFIX=
export MPS_NETNS_PERSIST=1 MPS_TEST_NAME=topo
# shellcheck source=tests/netns/lib.sh
. "$here/../../tests/netns/lib.sh"

usage() {
	sed -n '4,16p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

# restore the veth peer table of lib.sh from the state file
load_state() {
	[ -f "$STATE" ] || { echo "no testbed is up ($STATE missing)" >&2; exit 1; }
	# shellcheck disable=SC1090
	. "$STATE"
	_PEER=()
	if [ "$TOPO" = two-servers ]; then
		_PEER["cli/c1"]=srv1/s1 _PEER["srv1/s1"]=cli/c1
		_PEER["cli/c2"]=srv2/s2 _PEER["srv2/s2"]=cli/c2
	else
		_PEER["cli/c1"]=srv/s1 _PEER["srv/s1"]=cli/c1
		_PEER["cli/c2"]=srv/s2 _PEER["srv/s2"]=cli/c2
	fi
}

cmd_up() {
	local topo=${1:-} mpsd=mpsd
	[ "$(id -u)" = 0 ] || { echo "needs root" >&2; exit 1; }
	[ ! -f "$STATE" ] || { echo "a testbed is already up (topo.sh down first)" >&2; exit 1; }
	[ "${2:-}" = -6 ] && FAMILY=6
	[ -x "$BUILDDIR/apps/mpsd" ] && mpsd=$BUILDDIR/apps/mpsd
	case $topo in
	two-servers)
		topo_two_servers
		echo "TOPO=two-servers FAMILY=$FAMILY NAMESPACES='cli srv1 srv2'" >"$STATE"
		cat <<EOF
two-servers testbed up (IPv$FAMILY).  For example:
  ip netns exec srv1 $mpsd server --tun mpss0 --addr $SRV1_STACK --listen $(url_host "$SRV1_STACK"):8080 --serve DIR --group-key KEY
  ip netns exec srv2 $mpsd server --tun mpss0 --addr $SRV2_STACK --listen $(url_host "$SRV2_STACK"):8080 --serve DIR --group-key KEY
  ip netns exec cli  $mpsd client --tun mpsc0 --addr $CLI_STACK --connect $(url_host "$SRV1_STACK"):8080 --join $(url_host "$SRV2_STACK"):8080 --listen 127.0.0.1:9000
  ip netns exec cli  curl -o /dev/null http://127.0.0.1:9000/FILE
EOF
		;;
	one-server)
		topo_one_server_two_paths
		echo "TOPO=one-server FAMILY=$FAMILY NAMESPACES='cli srv'" >"$STATE"
		cat <<EOF
one-server testbed up (IPv$FAMILY).  For example, our client against the kernel's server:
  ip netns exec srv ip mptcp limits set subflows 2 add_addr_accepted 2
  ip netns exec srv ip mptcp endpoint add $A_S2 dev s2 signal
  ip netns exec srv mptcpize run python3 -m http.server --bind $ANY 8080 --directory DIR
  ip netns exec cli $mpsd client --tun mpsc0 --addr $CLI_STACK --connect $(url_host "$A_S1"):8080 --listen 127.0.0.1:9000
or the kernel's client against our server:
  ip netns exec srv $mpsd server --tun mpss0 --addr $SRV_STACK1 --addr $SRV_STACK2 --listen $(url_host "$SRV_STACK1"):8080 --serve DIR --announce $(url_host "$SRV_STACK2"):8080
  ip netns exec cli ip mptcp limits set subflows 2 add_addr_accepted 2
  ip netns exec cli mptcpize run curl -o /dev/null http://$(url_host "$SRV_STACK1"):8080/FILE
EOF
		;;
	*) usage ;;
	esac
}

cmd_down() {
	local ns
	[ -f "$STATE" ] || return 0
	# shellcheck disable=SC1090
	. "$STATE"
	for ns in $NAMESPACES; do
		ns_del "$ns"
	done
	rm -f "$STATE"
}

cmd_show() {
	local ns
	load_state
	echo "testbed $TOPO, IPv$FAMILY"
	for ns in $NAMESPACES; do
		echo "== $ns"
		ip -n "$ns" -br addr show
		ip -n "$ns" "-$FAMILY" route show
		ip -n "$ns" "-$FAMILY" rule show | grep -v -e 'lookup local' -e 'lookup main' \
			-e 'lookup default'
		ip -n "$ns" "-$FAMILY" route show table 102 2>/dev/null | sed 's/^/table 102: /'
		ip netns exec "$ns" tc qdisc show | grep -e tbf | sed 's/^/qdisc: /'
		ip netns exec "$ns" nft list tables | sed 's/^/nft: /'
	done
}

action=${1:-}
shift || true
case $action in
up) cmd_up "$@" ;;
down) cmd_down ;;
show) cmd_show ;;
loss)
	[ $# = 3 ] || usage
	load_state
	loss_on "$1" "$2" "$3"
	;;
rate)
	[ $# = 3 ] || usage
	load_state
	rate_on "$1" "$2" "$3"
	;;
clear)
	[ $# = 2 ] || usage
	load_state
	loss_off "$1" "$2"
	rate_off "$1" "$2"
	;;
down-link)
	[ $# = 2 ] || usage
	link_down "$1" "$2"
	;;
up-link)
	[ $# = 2 ] || usage
	link_up "$1" "$2"
	;;
exec)
	[ $# -ge 2 ] || usage
	ns_exec "$@"
	;;
*) usage ;;
esac
