#!/bin/bash
# scale.sh: scale-in and scale-out with long-lived connections, comparing
# nfqlb with all packets queued, nfqlb SYN-only, and the kernel's modulo
# hash (iptables HMARK).  Run by `make scale` (root).
#
#	test/scale/scale.sh [-n N] [-d DEL] [-a ADD] [-c CONNS] [-r RATE]
#	                    [-M PRIME] [-e EVENTS] [-m MODES] [-o OUTDIR]
#
# The lab (test/lab/) in DSR mode with fwmark routing: targets hold the VIP,
# lb1 routes each packet by its mark (`nfqlb route`), and replies return
# through lb1 so that conntrack sees both directions (SYN-only needs that).
# The mark decides every packet, so a changed hash breaks connections; NAT
# would hide it (conntrack keeps each connection on its first DNAT target).
#
# Each run (EVENT x MODE) starts CONNS connections at RATE per second to
# targets 1..N, each sending a message every 100 ms; once all are up it
# marks the timeline (SIGUSR1 to nfqlb-conn) and applies EVENT:
#   in-drain  deactivate the last DEL targets in one update (they keep
#             running); modulo: --hmark-mod N-DEL
#   in-stop   stop those targets' servers, then deactivate them
#   out       activate DEL new targets N+1.. in one update; modulo: N+ADD
# and ends AFTER seconds later.  analyze.py turns the runs into the table,
# scale.gp into OUTDIR/scale.svg and scale.png.
here=$(cd "$(dirname "$0")" && pwd)

N=10 DEL=2 ADD=2 CONNS=100 RATE=50 M=65537 AFTER=3
EVENTS="in-drain in-stop out"
MODES="all syn modulo"
OUT=""
RND=0x6e66716c		# HMARK's hash seed

while [ $# -gt 0 ]; do
	case $1 in
	-n) N=$2 ;;
	-d) DEL=$2 ;;
	-a) ADD=$2 ;;
	-c) CONNS=$2 ;;
	-r) RATE=$2 ;;
	-M) M=$2 ;;
	-e) EVENTS=$2 ;;
	-m) MODES=$2 ;;
	-o) OUT=$2 ;;
	*) echo "usage: scale.sh [-n N] [-d DEL] [-a ADD] [-c CONNS] [-r RATE]" \
		"[-M PRIME] [-e EVENTS] [-m MODES] [-o OUTDIR]" >&2; exit 2 ;;
	esac
	shift 2
done
for v in "$N" "$DEL" "$ADD" "$CONNS" "$RATE" "$M"; do
	case $v in '' | *[!0-9]*) echo "scale.sh: \"$v\" is not a number" >&2; exit 2 ;; esac
done
[ "$DEL" -lt "$N" ] || { echo "scale.sh: -d must be below -n" >&2; exit 2; }
: "${OUT:=$here/../../build/scale}"
if [ "$(id -u)" -ne 0 ]; then
	echo "scale.sh: needs root to make network namespaces" >&2
	exit 1
fi

TEST_NAME=scale
# shellcheck source-path=SCRIPTDIR
. "$here/../func/lib.sh"
# Run alone, the scale has its own names; under run.sh it keeps the test's.
if [ -z "${NFQLB_TEST_ID:-}" ]; then
	NS_PREFIX="nfqlb-scale$$-"
	export NFQLB_SHM="nfqlb-scale-$$"
fi
# shellcheck source-path=SCRIPTDIR
. "$here/../lab/lab-lib.sh"
need_cmd ip iptables ip6tables iptables-restore timeout python3
need_bins

LAB_MODE=dsr LAB_RETURN=lb LAB_K=1 LAB_C=1 LAB_N=$((N + ADD)) LAB_M=$M

# ---------------------------------------------------------------- runs

# ids FROM TO: FROM..TO, space separated.
ids()
{
	seq -s ' ' "$1" "$2"
}

hmark()
{
	echo -d "$LAB_VIP4" -p tcp --dport "$LAB_PORT" -j HMARK \
		--hmark-tuple src,dst,sport,dport --hmark-mod "$1" \
		--hmark-offset 1 --hmark-rnd "$RND"
}

# set_mode MODE: lb1's rules for MODE, targets 1..N active.
set_mode()
{
	local active extra missing i

	lab_flush_rules lb1
	case $1 in
	all) LAB_SYN=0 lab_rules lb1 ;;
	syn) LAB_SYN=1 lab_rules lb1 ;;
	modulo)
		# shellcheck disable=SC2046
		nsx lb1 iptables -t mangle -A PREROUTING $(hmark "$N") ||
			fail "cannot add the HMARK rule"
		;;
	esac
	# activate and deactivate, not init --force: the worker follows a new
	# generation at once, a new table only within a second.
	active=$("$NFQLB" show --json | json_ids)
	extra=$(for i in $active; do [ "$i" -le "$N" ] || echo "$i"; done)
	missing=$(for ((i = 1; i <= N; i++)); do
		case " $active " in *" $i "*) ;; *) echo "$i" ;; esac
	done)
	# shellcheck disable=SC2086
	[ -z "$extra" ] || "$NFQLB" deactivate $extra || fail "deactivate"
	# shellcheck disable=SC2086
	[ -z "$missing" ] || "$NFQLB" activate $missing || fail "activate"
}

# apply EVENT MODE: the change under test.
apply()
{
	local del_ids

	del_ids=$(ids $((N - DEL + 1)) "$N")
	if [ "$1" = in-stop ]; then
		for i in $del_ids; do
			lab_echo_stop "$i"
		done
	fi
	if [ "$2" = modulo ]; then
		local n=$((N - DEL))

		[ "$1" = out ] && n=$((N + ADD))
		# shellcheck disable=SC2046
		nsx lb1 iptables -t mangle -R PREROUTING 1 $(hmark "$n") ||
			fail "cannot replace the HMARK rule"
	elif [ "$1" = out ]; then
		# shellcheck disable=SC2046
		"$NFQLB" activate $(ids $((N + 1)) $((N + ADD))) ||
			fail "nfqlb activate failed"
	else
		# shellcheck disable=SC2086
		"$NFQLB" deactivate $del_ids || fail "nfqlb deactivate failed"
	fi
}

opened()
{
	[ "$(grep -c ',open$' "$1" 2>/dev/null)" -ge "$CONNS" ]
}

# meta EVENT MODE: what analyze.py needs to know about the run.
meta()
{
	echo "event=$1"
	echo "mode=$2"
	echo "removed=$( [ "$1" = out ] || ids $((N - DEL + 1)) "$N")"
	echo "added=$( [ "$1" != out ] || ids $((N + 1)) $((N + ADD)))"
	echo "n=$N"
	echo "targets=$(ids 1 $((N + ADD)))"
	echo "client=$(lab_client_addr4 1)"
	echo "vip=$LAB_VIP4"
	echo "port=$LAB_PORT"
}

# run EVENT MODE
run()
{
	local dir="$OUT/$1-$2" pid i up=$(( (CONNS / RATE + 10) * 5 ))

	mkdir -p "$dir" || fail "cannot make $dir"
	for ((i = 1; i <= N + ADD; i++)); do
		[ -n "${LAB_ECHO_PIDS[$i]:-}" ] || lab_echo_start "$i"
	done
	set_mode "$2"
	wait_for -n 20 -i 0.2 lab_probe || fail "$2: the VIP does not answer"
	start_bg c1 "$TOOLS/nfqlb-conn" -c "$CONNS" -r "$RATE" -k 300 -i 100 \
		-t 2000 -o "$dir/timeline.csv" -s "$dir/live.csv" \
		"$LAB_VIP4" "$LAB_PORT"
	pid=$BG_PID
	wait_for -n "$up" -i 0.2 opened "$dir/timeline.csv" ||
		info "$1 $2: not all $CONNS connections came up"
	sleep 1		# a steady second before the change, for the plot
	"$NFQLB" show --json >"$dir/before.json"
	kill -USR1 "$pid"
	apply "$1" "$2"
	"$NFQLB" show --json >"$dir/after.json"
	meta "$1" "$2" >"$dir/meta"
	sleep "$AFTER"
	lab_stop "$pid" 5
	cp "$LOGDIR"/c1-nfqlb-conn-*.log "$dir/summary.txt" 2>/dev/null
	rm -f "$LOGDIR"/c1-nfqlb-conn-*.log
}

rm -rf "$OUT" && mkdir -p "$OUT" || fail "cannot make $OUT"
echo "scale: $N targets, $CONNS connections at $RATE/s, M=$M;" \
	"scale-in -$DEL, scale-out +$ADD; results in $OUT"
lab_up
lab_routes lb1
lab_table $(ids 1 "$N")
lab_lb_start 1
for ev in $EVENTS; do
	for mode in $MODES; do
		info "$ev, $mode"
		run "$ev" "$mode"
	done
done
python3 "$here/analyze.py" "$OUT" || fail "analyze.py failed"
if command -v gnuplot >/dev/null; then
	(cd "$OUT/plot" && gnuplot -e "outdir='$OUT'" "$here/scale.gp") ||
		fail "gnuplot failed"
	echo "plot: $OUT/scale.svg, $OUT/scale.png"
fi
