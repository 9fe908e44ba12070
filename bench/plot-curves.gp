# Draws one axis of bench/curves.sh as a PNG with two panels side by side: throughput (left) and
# CPU ms per message (right), mxd and Postfix as lines on the same axes; the point is the median
# of the runs and the error bar their range (min..max).
# Called by bench/curves.sh:
#   gnuplot -e "dir='OUT'; axis='sessions'; ndepths=3; out='OUT/curves-sessions.png'" bench/plot-curves.gp
# It reads dir/curves-AXIS-mxd.dat and dir/curves-AXIS-postfix.dat, tab-separated:
#   x  label  msgs/s median min max  CPU ms/msg median min max  rcpts/s median min max
if (!exists("dir") || !exists("axis") || !exists("out")) {
  print "plot-curves.gp: set dir, axis and out with -e"
  exit
}
if (!exists("ndepths")) ndepths = 3

mxd = dir . "/curves-" . axis . "-mxd.dat"
pf = dir . "/curves-" . axis . "-postfix.dat"

set terminal pngcairo size 1400,520 font "sans,11"
set output out
set datafile separator "\t"
set grid
set key below center horizontal box
set bmargin 6
set style line 1 lc rgb "#1f77b4" lw 2 pt 7 ps 1.2
set style line 2 lc rgb "#d62728" lw 2 pt 5 ps 1.2
set style line 3 lc rgb "#1f77b4" lw 1.5 dt 2 pt 6 ps 1.0
set style line 4 lc rgb "#d62728" lw 1.5 dt 2 pt 4 ps 1.0
set yrange [0:*]

# The size axis spans two orders of magnitude in both panels: log y there.
logy = (axis eq "size")
if (axis eq "sessions") {
  name = "concurrent sessions"
  xl = "concurrent sessions (smtp-source -s; 4 KB, 1 recipient)"
  set logscale x; set xrange [0.7:300]
} else {
  if (axis eq "size") {
    name = "message size"
    xl = "message size (at most 2 GB per point; 50 sessions, 1 recipient)"
    set logscale x; set xrange [500:20000000]
  } else {
    if (axis eq "rcpt") {
      name = "recipients per message"
      xl = "recipients per message (smtp-source -r; 50 sessions, 4 KB)"
      set logscale x; set xrange [0.7:150]
    } else {
      name = "queue depth when delivery resumes"
      xl = "messages queued when delivery resumes (0: nothing queued, the relay base point)"
      set xrange [0.5:ndepths + 0.5]
    }
  }
}

set multiplot layout 1,2 title "mxd and stock Postfix against " . name . " (median of the runs; bars: their range)"
if (logy) { set logscale y; set yrange [*:*] }

set xlabel xl
if (axis eq "rcpt") {
  set ylabel "end to end per second"
  set logscale y; set yrange [*:*]
  plot mxd using 1:9:10:11:xtic(2) with yerrorlines ls 1 title "mxd recipients/s", \
       pf using 1:9:10:11:xtic(2) with yerrorlines ls 2 title "Postfix recipients/s", \
       mxd using 1:3:4:5:xtic(2) with yerrorlines ls 3 title "mxd msgs/s", \
       pf using 1:3:4:5:xtic(2) with yerrorlines ls 4 title "Postfix msgs/s"
  unset logscale y; set yrange [0:*]
} else {
  if (axis eq "depth") {
    set ylabel "drain rate, msgs/s (0: end to end)"
  } else {
    set ylabel "end to end, msgs/s"
  }
  plot mxd using 1:3:4:5:xtic(2) with yerrorlines ls 1 title "mxd", \
       pf using 1:3:4:5:xtic(2) with yerrorlines ls 2 title "Postfix"
}

set ylabel "CPU ms per message (MTA's processes)"
plot mxd using 1:6:7:8:xtic(2) with yerrorlines ls 1 title "mxd", \
     pf using 1:6:7:8:xtic(2) with yerrorlines ls 2 title "Postfix"

unset multiplot
