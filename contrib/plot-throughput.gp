# contrib/plot-throughput.gp - throughput of each replica server over time, and of the delivery
# to the player, with the moment a server was killed marked.  Used by contrib/demo.sh.
#
#   gnuplot -e "datafile='throughput.dat'; outfile='throughput.png'; nservers=2; \
#               kill_s=9.7; kill_label='srv1 killed'; plot_title='...'" \
#           contrib/plot-throughput.gp
#
# datafile: the output of throughput_series (tests/netns/lib.sh): a header line
# "t ADDR... player", then per time bin its middle in seconds and the Mbit/s of each of the
# nservers servers and of the player.  Every variable is optional except datafile's contents:
#   outfile     PNG to write (default throughput.png)
#   nservers    number of server columns (default 2)
#   name1, name2, ...  labels of the servers, in column order (default: the header's)
#   kill_s      when a server was killed, seconds on the same axis (default: none)
#   kill_label  text next to that mark
#   gap_s, gap_ms  the longest delivery gap (start and length), shaded when given
#   plot_title  the title line

if (!exists("datafile")) datafile = 'throughput.dat'
if (!exists("outfile")) outfile = 'throughput.png'
if (!exists("nservers")) nservers = 2
if (!exists("kill_s")) kill_s = -1
if (!exists("kill_label")) kill_label = 'server killed'
if (!exists("gap_s")) gap_s = -1
if (!exists("gap_ms")) gap_ms = 0
if (!exists("plot_title")) plot_title = 'mpstream: throughput per replica server'

set terminal pngcairo size 1200,640 enhanced font 'DejaVu Sans,12' linewidth 1.5
set output outfile
set title plot_title
set xlabel 'time since the player sent its request (s)'
set ylabel 'throughput (Mbit/s)'
set grid lc rgb '#dddddd'
set key top right box opaque
set key autotitle columnhead
set yrange [0:*]
set xrange [0:*]
set autoscale xfixmax
set offsets 0, 0, graph 0.12, 0

if (gap_s >= 0 && gap_ms > 0) {
	set object 1 rect from gap_s, graph 0 to gap_s + gap_ms / 1000.0, graph 1 \
		fc rgb '#f4b400' fs solid 0.35 noborder behind
	set label 2 sprintf('longest gap %.0f ms', gap_ms) at gap_s + gap_ms / 1000.0, graph 0.04 \
		offset 0.5, 0 tc rgb '#9a6a00'
}
if (kill_s >= 0) {
	set arrow 1 from kill_s, graph 0 to kill_s, graph 1 nohead lc rgb '#d62728' lw 2 dt 2
	set label 1 kill_label at kill_s, graph 0.95 offset 0.5, 0 tc rgb '#d62728'
}

colors = '#1f77b4 #2ca02c #9467bd #8c564b #e377c2'
server_title(i) = exists(sprintf("name%d", i)) ? value(sprintf("name%d", i)) : columnhead(i + 1)
plot for [i = 1:nservers] datafile using 1:(column(i + 1)) with histeps \
		lc rgb word(colors, (i - 1) % 5 + 1) lw 2 title server_title(i) noenhanced, \
	datafile using 1:(column(nservers + 2)) with histeps lc rgb '#444444' lw 1 \
		title 'delivered to the player'
