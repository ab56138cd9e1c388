#!/bin/bash
#
# fake-mpsd.sh - a stand-in for apps/mpsd built from the kernel's own MPTCP, to test the
# harness itself (the tests that need mpsd) before or without the real daemon:
#
#   sudo MPSD=$PWD/tests/netns/fake-mpsd.sh tests/netns/run.sh
#
# It accepts the command line of DESIGN.md section 4 and behaves like mpsd seen from outside:
#   client: creates the TUN device and routes the --addr addresses into it, then relays
#           --listen HOST:PORT to --connect ADDR:PORT over a kernel MPTCP socket (socat under
#           mptcpize), accepting ADD_ADDR so that it joins announced addresses.  The kernel
#           client's addresses are the veth ones, not --addr: the TUN device is only a prop.
#   server: creates the TUN device, routes the --addr addresses into it and also makes them
#           local (lo), serves --serve DIR with a kernel MPTCP HTTP server on the wildcard
#           address at the --listen port, and announces each --announce address (ADD_ADDR,
#           signal endpoint; the port is not announced).
# --join, --group-key and --ctl are accepted and ignored; --backend is not supported.
# It runs in the foreground (exec) until killed.  Not a test: run.sh only runs test_*.sh.

set -u
role=${1:-}
shift || true
tun='' connect='' listen='' serve=''
addrs=() announces=()
while [ $# -gt 0 ]; do
	case $1 in
	--tun) tun=$2 ;;
	--addr) addrs+=("$2") ;;
	--connect) connect=$2 ;;
	--listen) listen=$2 ;;
	--serve) serve=$2 ;;
	--announce) announces+=("$2") ;;
	--join | --group-key | --ctl) ;;
	*)
		echo "fake-mpsd: unsupported argument $1" >&2
		exit 2
		;;
	esac
	shift 2
done

# host_of ADDR:PORT / port_of ADDR:PORT ([v6]:port allowed)
host_of() {
	local h=${1%:*}
	h=${h#[}
	echo "${h%]}"
}
port_of() { echo "${1##*:}"; }
hlen_of() { case $1 in *:*) echo 128 ;; *) echo 32 ;; esac; }

make_tun() {
	local a
	[ -n "$tun" ] || { echo "fake-mpsd: --tun missing" >&2; exit 2; }
	ip tuntap add dev "$tun" mode tun || exit 1
	ip link set dev "$tun" up || exit 1
	for a in "${addrs[@]}"; do
		ip route add "$a/$(hlen_of "$a")" dev "$tun" || exit 1
	done
}

case $role in
keygen)
	head -c 32 /dev/urandom | base64
	;;
client)
	if [ -z "$connect" ] || [ -z "$listen" ]; then
		echo "fake-mpsd: client needs --connect and --listen" >&2
		exit 2
	fi
	make_tun
	ip mptcp limits set subflows 2 add_addr_accepted 2 || exit 1
	lh=$(host_of "$listen") ch=$(host_of "$connect")
	case $lh in *:*) lh="[$lh]" ;; esac
	case $ch in *:*) ch="[$ch]" ;; esac
	exec mptcpize run socat "TCP-LISTEN:$(port_of "$listen"),bind=$lh,fork,reuseaddr" \
		"TCP:$ch:$(port_of "$connect")"
	;;
server)
	if [ -z "$serve" ] || [ -z "$listen" ]; then
		echo "fake-mpsd: server needs --serve and --listen" >&2
		exit 2
	fi
	make_tun
	for a in "${addrs[@]}"; do
		ip addr add "$a/$(hlen_of "$a")" dev lo || exit 1
	done
	ip mptcp limits set subflows 2 add_addr_accepted 2 || exit 1
	for a in "${announces[@]}"; do
		ip mptcp endpoint add "$(host_of "$a")" signal || exit 1
	done
	any=0.0.0.0
	case $(host_of "$listen") in *:*) any=:: ;; esac
	exec mptcpize run /usr/bin/python3 -m http.server --bind "$any" "$(port_of "$listen")" \
		--directory "$serve"
	;;
*)
	echo "usage: fake-mpsd.sh keygen | client ... | server ..." >&2
	exit 2
	;;
esac
