#!/bin/bash
#
# contrib/demo.sh - the group demo, end to end, on a fresh Debian machine (as root):
#
#   1. installs what it needs (contrib/install-deps.sh) and builds mpstream in $BUILD;
#   2. creates the reference topology of DESIGN.md section 5 in network namespaces: cli, and
#      two replica servers srv1 and srv2, each on its own link;
#   3. generates a 20 s test video with ffmpeg (H.264 + AAC, mp4 with the index first);
#   4. starts two "mpsd server" replicas serving it with the same group key (srv1 announces
#      srv2) and "mpsd client --group" in cli, which is told only about srv1; limits both
#      server links to RATE (tbf) so that playing takes about 20 s;
#   5. plays the video through the client and SIGKILLs srv1's mpsd once half the video has
#      been delivered;
#   6. prints each server's bytes and share, the longest gap in delivery to the player, whether
#      the sha256 matched and ffmpeg's verdict, and writes a plot of each server's throughput
#      over time with the kill marked.
#
#   sudo contrib/demo.sh [OUTDIR]          (default /tmp/mpstream-demo)
#
# The player is one connection to the client's 127.0.0.1:9000: tests/netns/gapmeter.py reads
# the video from it, timing every recv(), and hands the bytes on through a pipe to ffmpeg,
# which decodes them as they arrive ("ffmpeg -i pipe:0 -f null -").  So ffmpeg is the player
# that lives through the kill, and the gap, the sha256 and ffmpeg's verdict are all about the
# very same bytes; a second connection (ffmpeg on the URL beside gapmeter) would share the
# links and blur both measurements.
#
# While it plays, "mpsctl status --json" of the client is polled every 100 ms; the per-server
# throughput is the difference of each server's bytes between polls.  OUTDIR keeps the plot
# (throughput.png), its data (throughput.dat), the status samples, the player's recv log and
# JSON, ffmpeg's messages and the mpsd logs.  Everything else (namespaces, processes, the
# video) is removed on exit, also on failure or Ctrl-C.
#
# Environment: BUILD (build directory, default $src/_build/demo), RATE (tbf rate of each
# server link, default 8mbit), VIDEO_SECS (20), VIDEO_BITRATE (10M), VIDEO_SIZE (1280x720).

src=$(cd "$(dirname "$0")/.." && pwd)
OUTDIR=${1:-/tmp/mpstream-demo}
BUILD=${BUILD:-$src/_build/demo}
RATE=${RATE:-8mbit}
VIDEO_SECS=${VIDEO_SECS:-20}
VIDEO_BITRATE=${VIDEO_BITRATE:-10M}
VIDEO_SIZE=${VIDEO_SIZE:-1280x720}

[ "$(id -u)" = 0 ] || { echo "demo.sh: needs root (network namespaces, TUN)" >&2; exit 1; }
"$src/contrib/install-deps.sh" build test bench || exit 1
if [ ! -f "$BUILD/Makefile" ]; then
	echo "building in $BUILD ..."
	if [ ! -x "$src/configure" ]; then
		(cd "$src" && autoreconf -fi >/dev/null 2>&1) || { echo "autoreconf failed" >&2; exit 1; }
	fi
	mkdir -p "$BUILD"
	(cd "$BUILD" && "$src/configure" -q) || { echo "configure failed" >&2; exit 1; }
fi
make -C "$BUILD" -s -j"$(nproc)" >/dev/null || { echo "make failed in $BUILD" >&2; exit 1; }

export MPSD=$BUILD/apps/mpsd MPSCTL=$BUILD/apps/mpsctl NS_PREFIX=mpsdemo$$ MPS_TEST_NAME=demo
# shellcheck source=tests/netns/lib.sh
. "$src/tests/netns/lib.sh"
require_root
require_cmd ip tc ffmpeg gnuplot
[ -x "$PYTHON" ] || fail "missing $PYTHON"
work_dir
mkdir -p "$OUTDIR" "$WORK/www" || fail "cannot create $OUTDIR"
rm -f "$OUTDIR"/throughput.png "$OUTDIR"/throughput.dat "$OUTDIR"/status.samples \
	"$OUTDIR"/player.* "$OUTDIR"/ffmpeg.log "$OUTDIR"/pipe.status "$OUTDIR"/mpsd-*.log
VIDEO=$WORK/www/video.mp4

# mb BYTES: BYTES in MB (10^6), one decimal.
mb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1e6 }'; }

echo "1/5 generating a ${VIDEO_SECS} s ${VIDEO_SIZE} test video (ffmpeg testsrc2 + sine) ..."
vc=(-c:v mpeg4)
ffmpeg -hide_banner -encoders 2>/dev/null | grep -q ' libx264 ' && vc=(-c:v libx264 -preset veryfast)
ffmpeg -nostdin -v error -y \
	-f lavfi -i "testsrc2=size=$VIDEO_SIZE:rate=25:duration=$VIDEO_SECS" \
	-f lavfi -i "sine=frequency=440:sample_rate=48000:duration=$VIDEO_SECS" \
	"${vc[@]}" -b:v "$VIDEO_BITRATE" -maxrate "$VIDEO_BITRATE" -bufsize "$VIDEO_BITRATE" \
	-pix_fmt yuv420p -c:a aac -b:a 128k -movflags +faststart "$VIDEO" ||
	fail "ffmpeg could not make the test video"
chmod 644 "$VIDEO"
size=$(file_size "$VIDEO")
sha=$(sha_of "$VIDEO")
echo "    video.mp4: $(mb "$size") MB (${vc[1]}), sha256 $sha"

echo "2/5 reference topology: cli --c1/s1-- srv1 (10.88.1.1), cli --c2/s2-- srv2 (10.88.2.1)"
topo_two_servers
group_key "$WORK/group.key"
group_server 1 "$WORK/www" "$WORK/group.key" --announce "$(url_host "$SRV2_STACK"):$PORT" \
	>/dev/null
group_server 2 "$WORK/www" "$WORK/group.key" >/dev/null
# shellcheck disable=SC2119 # no extra client arguments
group_client >/dev/null
rate_on "$NS_SRV1" s1 "$RATE"
rate_on "$NS_SRV2" s2 "$RATE"
echo "    mpsd server on srv1 and srv2 (same group key; srv1 announces srv2)," \
	"mpsd client --group on cli (knows srv1 only); tbf $RATE on each server link"

echo "3/5 playing $PLAYER_BASE/video.mp4: gapmeter (timing) | ffmpeg (decoding) ..."
status_sampler_start "$CLI_CTL" "$OUTDIR/status.samples" 0.1
# shellcheck disable=SC2016 # expanded by the inner bash
bg_run "$NS_CLI" "$OUTDIR/player.log" bash -c '
	"$1" "$2" "$3" - --json "$4/player.json" --log "$4/player.tlog" --timeout 30 |
		ffmpeg -nostdin -v error -i pipe:0 -f null - 2>"$4/ffmpeg.log"
	echo "${PIPESTATUS[*]}" >"$4/pipe.status"' play \
	"$PYTHON" "$NETNS_DIR/gapmeter.py" "$PLAYER_BASE/video.mp4" "$OUTDIR"
play_pid=$BG_PID
start_ms=$(now_ms)

# progress UNTIL_BYTES: print the bytes delivered every 2 s until UNTIL_BYTES are (0: until
# the player ends).
progress() {
	local n=0 d
	while kill -0 "$play_pid" 2>/dev/null; do
		d=$(delivered_total "$CLI_CTL")
		[ "$1" -gt 0 ] && [ "$d" != "?" ] && [ "$d" -ge "$1" ] && return 0
		if [ $((n % 20)) = 19 ] && [ "$d" != "?" ]; then
			echo "    $(secs_since "$start_ms") s: $(mb "$d") MB delivered"
		fi
		n=$((n + 1))
		sleep 0.1
		[ $((($(now_ms) - start_ms) / 1000)) -lt 300 ] || fail "the player is stuck"
	done
	[ "$1" = 0 ] || fail "the player ended before half the video (see $OUTDIR/player.log)"
}
progress $((size / 2))
kill_ms=$(now_ms)
group_kill 1
echo "4/5 half the video delivered: srv1's mpsd SIGKILLed (no RST, no FIN: silence)"
progress 0
wait "$play_pid"
status_sampler_stop
mv "$WORK"/mpsd-*.log "$OUTDIR/" 2>/dev/null

J=$(cat "$OUTDIR/player.json" 2>/dev/null)
[ -n "$J" ] || fail "the player wrote no result (see $OUTDIR/player.log)"
read -r rc_gap rc_ff <"$OUTDIR/pipe.status"
t0=$(json_get "$J" start_epoch_ms)
kill_s=$(awk -v k="$kill_ms" -v s="$t0" 'BEGIN { printf "%.2f", (k - s) / 1000 }')
gap_ms=$(json_get "$J" gap_ms)
gap_s=$(json_get "$J" gap_at_s)

echo "5/5 results"
echo "    player: $(mb "$(json_get "$J" bytes)") of $(mb "$size") MB in $(json_get "$J" seconds) s" \
	"(HTTP $(json_get "$J" status)), srv1 killed at $kill_s s"
i=0
names=()
while read -r addr state bytes pm _; do
	i=$((i + 1))
	note=
	[ "$i" = 1 ] && note=" (killed at $kill_s s)"
	printf '    server srv%d %-10s %7s MB  %5s %%  %s%s\n' "$i" "$addr" "$(mb "$bytes")" \
		"$((pm / 10)).$((pm % 10))" "$state" "$note"
	names+=("-e" "name$i='srv$i ($addr): $(mb "$bytes") MB, $((pm / 10)).$((pm % 10)) %'")
done < <(group_servers_of "$OUTDIR/status.samples")
echo "    longest delivery gap: $gap_ms ms, at $gap_s s"
ok=1
if [ "$(json_get "$J" sha256)" = "$sha" ]; then
	echo "    sha256: match ($sha)"
	verdict="sha256 match"
else
	echo "    sha256: MISMATCH (got $(json_get "$J" sha256), served $sha)"
	verdict="sha256 MISMATCH"
	ok=0
fi
if [ "$rc_ff" = 0 ] && [ ! -s "$OUTDIR/ffmpeg.log" ]; then
	echo "    ffmpeg: decoded the whole video without an error"
	verdict="$verdict, ffmpeg decoded it without an error"
else
	verdict="$verdict, ffmpeg FAILED"
	echo "    ffmpeg: exit status $rc_ff, messages:"
	head -n 5 "$OUTDIR/ffmpeg.log" | sed 's/^/        /'
	ok=0
fi
[ "$rc_gap" = 0 ] || { echo "    player: $(json_get "$J" error)"; ok=0; }

nsrv=$(throughput_series "$OUTDIR/status.samples" "$OUTDIR/throughput.dat" "$t0" 0.25) ||
	fail "no status samples"
gnuplot -e "datafile='$OUTDIR/throughput.dat'; outfile='$OUTDIR/throughput.png'" \
	-e "nservers=$nsrv" "${names[@]}" \
	-e "kill_s=$kill_s; kill_label='srv1 killed (SIGKILL)'; gap_s=$gap_s; gap_ms=$gap_ms" \
	-e "plot_title=\"mpstream group demo: one player connection, two replicas, tbf $RATE each\\n$(mb "$size") MB video in $(json_get "$J" seconds) s; $verdict\"" \
	"$src/contrib/plot-throughput.gp" || fail "gnuplot failed"
echo "    plot: $OUTDIR/throughput.png (data: throughput.dat; logs and samples in $OUTDIR)"
[ "$ok" = 1 ] || exit 1
exit 0
