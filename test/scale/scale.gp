# SPDX-License-Identifier: GPL-2.0-or-later
# scale.gp: live connections per target around the change, one panel per
# event (rows) and mode (columns).  Run by scale.sh in OUTDIR/plot, where
# analyze.py left EVENT-MODE.dat and vars.gp:
#
#	gnuplot -e "outdir='OUTDIR'" scale.gp
#
# Writes OUTDIR/scale.svg and OUTDIR/scale.png.

load "vars.gp"

events = "in-drain in-stop out"
etitles = "'scale-in, drain' 'scale-in, stop' 'scale-out'"
modes = "all syn modulo"
mtitles = "'nfqlb, all packets' 'nfqlb, SYN-only' 'modulo hash (HMARK)'"

# One colour per target, the same in every panel.
array pal[12] = [0x1f77b4, 0xff7f0e, 0x2ca02c, 0xd62728, 0x9467bd, \
                 0x8c564b, 0xe377c2, 0x7f7f7f, 0xbcbd22, 0x17becf, \
                 0x000000, 0xaa0066]
color(i) = pal[(i - 1) % 12 + 1]

set grid ytics lc "gray85"
set xlabel "seconds from the change" offset 0, 0.5
set ylabel "live connections" offset 1.5, 0
set yrange [0:*]
set xtics 1
set border 3
set tics nomirror

do for [out = 1:2] {
	if (out == 1) {
		set terminal svg size 1500, 1000 dynamic font "sans,11" background "white"
		set output outdir . "/scale.svg"
	} else {
		set terminal pngcairo size 1500, 1000 font "sans,10" background "white"
		set output outdir . "/scale.png"
	}
	set multiplot layout 3, 3 title "Live connections per target; the table changes at t = 0" \
		margins 0.06, 0.88, 0.07, 0.90 spacing 0.05, 0.09
	do for [e = 1:3] {
		do for [m = 1:3] {
			ev = word(events, e)
			mo = word(modes, m)
			k = (ev eq "in-drain" ? "in_drain" : ev eq "in-stop" ? "in_stop" : ev) . "_" . mo
			if (exists("lost_" . k)) {
				set title sprintf("%s, %s: lost %s", word(mtitles, m), \
					word(etitles, e), value("lost_" . k)) noenhanced
				set arrow 1 from 0, graph 0 to 0, graph 1 nohead dt 2 lc "gray40"
				if (e == 1 && m == 3) {
					set key outside right top vertical samplen 2 title "target"
				} else {
					unset key
				}
				plot for [i = 2:ntargets + 1] sprintf("%s-%s.dat", ev, mo) \
					using 1:i with steps lw 1.5 lc rgb color(i - 1) title columnheader(i)
			} else {
				set multiplot next
			}
		}
	}
	unset multiplot
}
