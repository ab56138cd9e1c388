#!/bin/sh
#
# contrib/install-deps.sh - install the Debian packages mpstream needs.
#
#   sudo contrib/install-deps.sh [build] [test] [bench] [fuzz]     (default: all four)
#
#   build  gcc make autoconf automake libtool pkg-config libsodium-dev libcunit1-dev
#   test   iproute2 nftables tshark mptcpize iperf3 curl socat python3 procps ffmpeg
#          nginx-light vlc-bin vlc-plugin-base mpv
#          (tests/netns, the demo; nstat and ss come with iproute2, tc too; the real players
#          and origin server of test_players.sh and test_short.sh)
#   bench  gnuplot-nox
#   fuzz   clang libclang-rt-dev (libFuzzer: ./configure CC=clang --enable-fuzz)
#
# Idempotent and quiet: it prints nothing and does not touch apt when every package is
# already installed; otherwise it runs "apt-get update" once, then installs only what is
# missing, non-interactively (tshark's debconf question is answered: no setuid dumpcap).
# Debian packages only; nothing is downloaded from anywhere else.

set -eu

[ $# -gt 0 ] || set -- build test bench fuzz
pkgs=
for group in "$@"; do
	case $group in
	build) pkgs="$pkgs gcc make autoconf automake libtool pkg-config libsodium-dev libcunit1-dev" ;;
	test) pkgs="$pkgs iproute2 nftables tshark mptcpize iperf3 curl socat python3 procps ffmpeg
		nginx-light vlc-bin vlc-plugin-base mpv" ;;
	bench) pkgs="$pkgs gnuplot-nox" ;;
	fuzz) pkgs="$pkgs clang libclang-rt-dev" ;;
	*)
		echo "usage: $0 [build] [test] [bench] [fuzz]" >&2
		exit 2
		;;
	esac
done

missing=
for p in $pkgs; do
	if ! dpkg-query -W -f '${Status}\n' "$p" 2>/dev/null | grep -q ' installed$'; then
		missing="$missing $p"
	fi
done
[ -n "$missing" ] || exit 0

if [ "$(id -u)" != 0 ]; then
	echo "$0: needs root to install:$missing" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
log=$(mktemp /tmp/install-deps.XXXXXX)
trap 'rm -f "$log"' EXIT

echo "installing:$missing"
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
# shellcheck disable=SC2086
if ! { apt-get -qq update && apt-get -qq -y -o Dpkg::Use-Pty=0 \
	-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
	install --no-install-recommends $missing; } >"$log" 2>&1; then
	cat "$log" >&2
	echo "$0: apt-get failed" >&2
	exit 1
fi
