#!/bin/bash
#
# test_players.sh - real players through a group of two replicas (issue 14): VLC (cvlc as an
# unprivileged user, dummy outputs), mpv (null outputs) and ffmpeg at real-time speed (-re),
# each playing a PLAY_SECS (30) s video of VIDEO_RATE (6M) bit/s, with no server killed and
# with srv1's mpsd SIGKILLed KILL_AT (6) s into the playback; VLC also starting mid-file
# (--start-time START_AT, 20 s: it seeks with a range request), with and without the kill
# (at SEEK_KILL_AT, 2 s: the 10 s that remain are fetched in about 4 s).  The kill must fall
# while the player's connection is still downloading (the client's live connections hold
# fewer bytes delivered than the file); the test says so.
#
# Reference topology (DESIGN.md section 5), PLAYER_RATE (10mbit) on both server links; srv1
# announces srv2, the client is told only srv1 (--group).  The player opens its own
# connections to mpsd client's --listen 127.0.0.1:LOCAL_PORT, as many as it likes (VLC
# opens one for a range probe past the end of the file, then one per seek).  The same VLC
# plays the video straight from a kernel HTTP server (nginx on srv1's veth address, over
# link 1) in the same run, as the baseline printed beside.
#
# Must hold (issue 14, "What must hold" 2): every player exits 0, with no error from ffmpeg
# (-v error) and no input or demux error from VLC or mpv, in at most PLAY_SECS + 1.5 s (the
# whole video) or PLAY_SECS - START_AT + 1.5 s (from START_AT), and not faster than the video
# (it played in real time); the client delivered at least the whole file to the player in the
# runs that play it whole.  Runs: PLAYERS (default all of: vlc vlc-kill mpv mpv-kill ffmpeg
# ffmpeg-kill vlc-seek vlc-seek-kill).

# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"

PLAYERS=${PLAYERS:-vlc vlc-kill mpv mpv-kill ffmpeg ffmpeg-kill vlc-seek vlc-seek-kill}
PLAY_SECS=30
VIDEO_RATE=${VIDEO_RATE:-6M}
PLAYER_RATE=${PLAYER_RATE:-10mbit}
KILL_AT=${KILL_AT:-6}
SEEK_KILL_AT=${SEEK_KILL_AT:-2}
START_AT=20
SLACK_MS=1500	# issue 14, "What must hold" 2: 31.5 s for the 30 s video; not a tunable
KPORT=8090

require_base
require_mpsd
require_cmd ffmpeg cvlc mpv nginx runuser
work_dir
mkdir -p "$WORK/www" "$WORK/vlc-home"
VIDEO=$WORK/www/video.mp4

# The video: 854x480 H.264 (MPEG-4 part 2 without libx264) at VIDEO_RATE and AAC, mp4 with
# the index first (+faststart), as a web server would hold it.
vc=(-c:v mpeg4)
ffmpeg -hide_banner -encoders 2>/dev/null | grep -q ' libx264 ' && vc=(-c:v libx264 -preset veryfast)
ffmpeg -nostdin -v error -y -f lavfi -i "testsrc2=size=854x480:rate=25:duration=$PLAY_SECS" \
	-f lavfi -i "sine=frequency=440:sample_rate=48000:duration=$PLAY_SECS" "${vc[@]}" \
	-b:v "$VIDEO_RATE" -maxrate "$VIDEO_RATE" -bufsize "$VIDEO_RATE" -pix_fmt yuv420p \
	-c:a aac -b:a 128k -movflags +faststart "$VIDEO" || fail "ffmpeg could not make the video"
chmod 644 "$VIDEO"
chmod 755 "$WORK/www"
chown nobody "$WORK/vlc-home"
SIZE=$(file_size "$VIDEO")
log "video: $PLAY_SECS s, $SIZE bytes (${vc[1]})"

topo_two_servers
rate_on "$NS_SRV1" s1 "$PLAYER_RATE"
rate_on "$NS_SRV2" s2 "$PLAYER_RATE"
group_key "$WORK/group.key"
nginx_start "$NS_SRV1" "$A_S1" "$KPORT" "$WORK/www"
group_server 2 "$WORK/www" "$WORK/group.key"
group_client

# play NAME KIND URL: run the player KIND (vlc, vlc-seek, mpv, ffmpeg) on URL in cli, output
# to $WORK/NAME.out; sets RC and MS (wall time).
play() {
	local name=$1 kind=$2 url=$3 t0 cmd
	case $kind in
	vlc | vlc-seek)
		cmd=(runuser -u nobody -- env HOME="$WORK/vlc-home" cvlc -I dummy --play-and-exit
			--no-video-title-show --vout=dummy --aout=dummy -v)
		[ "$kind" = vlc-seek ] && cmd+=(--start-time "$START_AT")
		;;
	mpv) cmd=(mpv --no-config --vo=null --ao=null --msg-level=all=warn) ;;
	ffmpeg) cmd=(ffmpeg -nostdin -hide_banner -v error -re -i) ;;
	esac
	cmd+=("$url")
	[ "$kind" = ffmpeg ] && cmd+=(-f null -)
	t0=$(now_ms)
	ip netns exec "$NS_CLI" timeout 120 "${cmd[@]}" >"$WORK/$name.out" 2>&1 </dev/null
	RC=$?
	MS=$(($(now_ms) - t0))
}

# player_errors NAME KIND: the error lines of the player's output, if any.
player_errors() {
	case $2 in
	ffmpeg) cat "$WORK/$1.out" ;;
	mpv) grep -iE 'error|failed|broken|truncat' "$WORK/$1.out" ;;
	# VLC logs its own missing desktop (dbus, hotkeys, X) as errors: those are not the
	# stream's; what counts is the input, its demuxer, decoders and the HTTP access.  Its
	# clock's "Timestamp conversion failed / Could not convert timestamp" right after a
	# seek (no reference clock yet) is about its output clock, not the bytes: it comes
	# and goes from run to run with the same bytes.
	vlc*) grep -E '(main input|mp4 demux|es_out|http stream|access|decoder) error' "$WORK/$1.out" |
		grep -vE 'decoder error: (Timestamp conversion failed|Could not convert timestamp)' ;;
	esac
}

# delivered_since LINE: bytes the client delivered to players on the connections that ended
# after line LINE of its log ("closed; up X down Y bytes" / "aborted: ...; up X down Y").
delivered_since() {
	tail -n +"$1" "$WORK/mpsd-client.log" |
		awk '/ (closed|aborted).* down [0-9]+ bytes/ { for (i = 1; i < NF; i++)
			if ($i == "down") s += $(i + 1) } END { print s + 0 }'
}

summary=
play vlc-kernel vlc "http://$(url_host "$A_S1"):$KPORT/video.mp4"
[ "$RC" = 0 ] || fail "VLC from the kernel's nginx exited $RC: $(tail -n 3 "$WORK/vlc-kernel.out")"
log "VLC straight from nginx on kernel TCP: $MS ms"
summary="vlc from kernel nginx: $MS ms"

for run in $PLAYERS; do
	kind=${run%-kill}
	kill=0
	[ "$kind" != "$run" ] && kill=1
	want=$((PLAY_SECS * 1000))
	[ "$kind" = vlc-seek ] && want=$(((PLAY_SECS - START_AT) * 1000))
	group_server 1 "$WORK/www" "$WORK/group.key" --announce "$(url_host "$SRV2_STACK"):$PORT"
	line=$(($(wc -l <"$WORK/mpsd-client.log") + 1))
	killer=
	if [ "$kill" = 1 ]; then
		at=$KILL_AT
		[ "$kind" = vlc-seek ] && at=$SEEK_KILL_AT
		(sleep "$at" && delivered_total "$CLI_CTL" >"$WORK/$run.at-kill" &&
			kill -9 "${GROUP_PID[1]}") &
		killer=$!
	fi
	play "$run" "$kind" "http://127.0.0.1:$LOCAL_PORT/video.mp4"
	if [ -n "$killer" ]; then
		wait "$killer"
		at_kill=$(cat "$WORK/$run.at-kill")
		log "$run: srv1 killed with $at_kill bytes delivered on the live connections"
		[ "$at_kill" != "?" ] && [ "$at_kill" -gt 0 ] && [ "$at_kill" -lt "$SIZE" ] ||
			fail "$run: the kill did not fall while a connection was downloading ($at_kill)"
	fi
	errs=$(player_errors "$run" "$kind")
	delivered=$(delivered_since "$line")
	log "$run: exit $RC in $MS ms (the video: $want ms), $delivered bytes delivered"
	summary="$summary
$run: $MS ms"
	[ "$RC" = 0 ] || fail "$run: the player exited $RC: $(tail -n 3 "$WORK/$run.out" | tr '\n' ' ')"
	[ -z "$errs" ] || fail "$run: the player reported errors: $(head -n 3 <<<"$errs" | tr '\n' ' ')"
	[ "$MS" -le $((want + SLACK_MS)) ] ||
		fail "$run: played in $MS ms, more than $((want + SLACK_MS)) ms (stalls)"
	[ "$MS" -ge $((want - 500)) ] ||
		fail "$run: done in $MS ms, the video lasts $want ms: it did not play it all"
	[ "$kind" = vlc-seek ] || [ "$delivered" -ge "$SIZE" ] ||
		fail "$run: the client delivered $delivered bytes, the file has $SIZE"
	mpsd_check "$MPSD_CLIENT_PID" client
	mpsd_check "${GROUP_PID[2]}" srv2
	if [ "$kill" = 0 ]; then
		mpsd_check "${GROUP_PID[1]}" srv1
		group_stop 1
	fi
done

while read -r l; do log "$l"; done <<<"$summary"
pass "every player played the whole video in time, with and without a server killed"
