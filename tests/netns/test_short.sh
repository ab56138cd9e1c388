#!/bin/bash
#
# test_short.sh - what players ask besides long downloads, through a group (issue 14): short
# answers (a 100-byte file, an empty file, HEAD, 404, 416, a 100-byte range, answers that end
# just before, at and just after the 4096 bytes a new replica is checked on), pipelined
# requests, a long download between short ones, idle pauses (one longer than the client's
# 10 s dead-server timer), and a server that closes right after a short answer.
#
# Reference topology (DESIGN.md section 5) with SHORT_RATE (10mbit) on every server link.
# Each configuration (CONFIGS, default all): "two" and "three" replicas serving with
# --serve, "two-nginx" and "three-nginx" replicas in front of stock nginx (--backend, one
# nginx per replica namespace on 127.0.0.1).  The client is told only srv1; srv1 announces
# the others.  In every configuration the same steps run on one keep-alive connection
# (tests/netns/httpseq.py checks every answer byte for byte against the file, the slice or
# the status it must be, and times it from its request to its last byte), then a second
# connection asks one short answer with "Connection: close"; and the same steps run straight
# against a kernel HTTP server (nginx on srv1's veth address, over link 1), same run, as the
# baseline printed beside.
#
# Must hold (issue 14, "What must hold" 1): every answer byte-exact; every short answer (all
# but the 4 MB download) within SHORT_MAX_MS (200) ms through the group; no replica declared
# dead or slow in the --serve configurations (they are alive and identical).  The long idle
# pause (IDLE_LONG, 12 s) runs in the "two" configuration.

# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"

CONFIGS=${CONFIGS:-two two-nginx three three-nginx}
SHORT_RATE=${SHORT_RATE:-10mbit}
SHORT_MAX_MS=200	# issue 14, "What must hold" 1: not a tunable
IDLE_LONG=${IDLE_LONG:-12}
KPORT=8090	# the kernel baseline's nginx
NGX_PORT=8081	# the replicas' nginx, on 127.0.0.1 in each server namespace

require_base
require_mpsd
require_cmd nginx
work_dir
www=$WORK/www
mkdir -p "$www"
head -c 100 /dev/urandom >"$www/small"
: >"$www/empty"
head -c 4095 /dev/urandom >"$www/p4095"
head -c 4096 /dev/urandom >"$www/p4096"
head -c 4097 /dev/urandom >"$www/p4097"
head -c 5000 /dev/urandom >"$www/mid"
head -c $((4 * 1048576)) /dev/urandom >"$www/big"
chmod 644 "$www"/*

# The steps on the keep-alive connection (httpseq.py syntax); the one long download is
# GET:/big.  $1: the idle pause before the last two steps.
steps() {
	echo GET:/small GET:/empty HEAD:/big GET:/nope GET:/big:bytes=99999999- \
		GET:/big:bytes=0-99 GET:/p4095 GET:/p4096 GET:/p4097 pipe,GET:/small pipe,GET:/mid \
		GET:/p4096 GET:/big GET:/small wait=1,GET:/mid GET:/p4097 "wait=$1,GET:/small" \
		HEAD:/small
}

# run_seq NAME HOSTPORT IDLE: the steps, then a "Connection: close" connection; their JSON
# lines go to $WORK/NAME.json; fails on a wrong answer.
run_seq() {
	local name=$1 hp=$2 idle=$3 rc=0
	# shellcheck disable=SC2046 # the steps are words
	ip netns exec "$NS_CLI" "$PYTHON" "$NETNS_DIR/httpseq.py" "$hp" "$www" $(steps "$idle") \
		>"$WORK/$name.json" 2>&1 || rc=1
	ip netns exec "$NS_CLI" "$PYTHON" "$NETNS_DIR/httpseq.py" "$hp" "$www" close,GET:/small \
		>>"$WORK/$name.json" 2>&1 || rc=1
	if [ "$rc" != 0 ]; then
		grep -v '"ok": true' "$WORK/$name.json" | head -n 5 >&2
		fail "$name: an answer was wrong (above)"
	fi
}

# times NAME: "step=ms ..." of a run.
times() {
	"$PYTHON" -c '
import json, sys
print(" ".join("%s=%s" % (d["step"].rsplit(":", 1)[-1] if d["step"].count(":") > 1 else
                          d["step"].split(",")[-1].split(":")[1], d["ms"])
               for d in map(json.loads, open(sys.argv[1])) if "step" in d))' "$WORK/$1.json"
}

# slowest NAME: "ms step" of the slowest short answer (all but GET:/big).
slowest() {
	"$PYTHON" -c '
import json, sys
rows = [(d["ms"], d["step"]) for d in map(json.loads, open(sys.argv[1]))
        if "step" in d and not d["step"].endswith("GET:/big")]
print("%s %s" % max(rows))' "$WORK/$1.json"
}

topo_three_servers
for ns in "$NS_SRV1" "$NS_SRV2" "$NS_SRV3"; do
	rate_on "$ns" "s${ns##*srv}" "$SHORT_RATE"
done
group_key "$WORK/group.key"

# The kernel baseline: nginx on srv1's veth address, over link 1.
nginx_start "$NS_SRV1" "$A_S1" "$KPORT" "$www"
run_seq kernel "$(url_host "$A_S1"):$KPORT" 1
log "kernel nginx: $(times kernel)"
read -r ms step <<<"$(slowest kernel)"
summary="kernel nginx: slowest short answer $ms ms ($step)"

for cfg in $CONFIGS; do
	n=2
	case $cfg in three*) n=3 ;; esac
	app=$www
	case $cfg in
	*-nginx)
		app=backend=127.0.0.1:$NGX_PORT
		for i in $(seq 1 "$n"); do
			ns=NS_SRV$i
			[ -f "$WORK/nginx-${!ns}-$NGX_PORT/nginx.pid" ] ||
				nginx_start "${!ns}" 127.0.0.1 "$NGX_PORT" "$www"
		done
		;;
	esac
	announce=(--announce "$(url_host "$SRV2_STACK"):$PORT")
	[ "$n" = 3 ] && announce+=(--announce "$(url_host "$SRV3_STACK"):$PORT")
	group_server 1 "$app" "$WORK/group.key" "${announce[@]}"
	for i in $(seq 2 "$n"); do
		group_server "$i" "$app" "$WORK/group.key"
	done
	group_client
	idle=1
	[ "$cfg" = two ] && idle=$IDLE_LONG
	run_seq "$cfg" "127.0.0.1:$LOCAL_PORT" "$idle"
	log "$cfg: $(times "$cfg")"
	read -r ms step <<<"$(slowest "$cfg")"
	summary="$summary
$cfg: slowest short answer $ms ms ($step)"
	awk -v m="$ms" -v max="$SHORT_MAX_MS" 'BEGIN { exit !(m < max) }' ||
		fail "$cfg: a short answer took $ms ms ($step), limit $SHORT_MAX_MS ms"
	status=$(mpsctl_status "$CLI_CTL" 2>&1)
	case $cfg in
	*-nginx) ;; # nginx's Date may differ between replicas across a second: a drop is right
	*)
		! grep -Eq 'server .* (dead|slow|dropped)' <<<"$status" ||
			fail "$cfg: a live, identical replica was given up: $(grep -E '^  server' <<<"$status" | tr '\n' ' ')"
		;;
	esac
	for i in $(seq 1 "$n"); do
		mpsd_check "${GROUP_PID[$i]}" "srv$i"
		group_stop "$i"
	done
	mpsd_check "$MPSD_CLIENT_PID" client
	bg_stop "$MPSD_CLIENT_PID"
	mv "$WORK/mpsd-client.log" "$WORK/mpsd-client-$cfg.log"
done

while read -r line; do log "$line"; done <<<"$summary"
pass "every answer byte-exact, every short one under $SHORT_MAX_MS ms"
