# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
# scale-lib.sh: one scale-in or scale-out run over the lab, in one mode.
# Source test/func/lib.sh and test/lab/lab-lib.sh first.  Used by scale.sh,
# test/demo.sh and test/func/t-scale-smoke.sh.
#
# The lab runs in DSR mode: the targets hold the VIP, lb1 routes each packet
# by its mark (`nfqlb route`), and replies go from the targets through the
# router straight to the client.  The mark decides every packet that reaches
# the queue, so a changed hash breaks connections.  NAT would hide that:
# conntrack keeps each DNAT connection on the target of its first packet.
#
# A run (EVENT, MODE) starts SCALE_CONNS connections at SCALE_RATE per
# second to targets 1..SCALE_N, each sending a message every 100 ms; once
# all are up it marks the timeline (SIGUSR1 to nfqlb-conn), applies EVENT,
# and ends SCALE_AFTER seconds later:
#   in-drain  deactivate the last SCALE_DEL targets in one update; they
#             keep running.  Modulo: --hmark-mod N-DEL.
#   in-stop   stop those targets' servers, then deactivate them.
#   out       activate SCALE_ADD new targets N+1.. in one update.
#             Modulo: --hmark-mod N+ADD.
# MODE is all (nfqlb, every packet queued), syn (nfqlb SYN-only) or modulo
# (iptables HMARK --hmark-mod: the kernel's modulo hash, for comparison).
# test/scale/analyze.py reads the runs in SCALE_OUT.

SCALE_N=${SCALE_N:-10}
SCALE_DEL=${SCALE_DEL:-2}
SCALE_ADD=${SCALE_ADD:-2}
SCALE_CONNS=${SCALE_CONNS:-100}
SCALE_RATE=${SCALE_RATE:-50}
SCALE_M=${SCALE_M:-65537}
SCALE_SETTLE=${SCALE_SETTLE:-1}	# seconds steady before the change
SCALE_AFTER=${SCALE_AFTER:-3}	# seconds after it
SCALE_TIMEOUT=${SCALE_TIMEOUT:-2000}	# ms an answer may take
SCALE_RND=0x6e66716c		# HMARK's hash seed
SCALE_OUT=${SCALE_OUT:-}
_scale_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# scale_ids FROM TO: FROM..TO, space separated (nothing when TO < FROM).
scale_ids()
{
	[ "$2" -ge "$1" ] || return 0
	seq -s ' ' "$1" "$2"
}

_scale_hmark()
{
	echo -d "$LAB_VIP4" -p tcp --dport "$LAB_PORT" -j HMARK \
		--hmark-tuple src,dst,sport,dport --hmark-mod "$1" \
		--hmark-offset 1 --hmark-rnd "$SCALE_RND"
}

# scale_setup: the lab with N+ADD targets, table 1..N, lb1's worker.
scale_setup()
{
	# shellcheck disable=SC2034	# read by lab-lib.sh
	LAB_MODE=dsr LAB_ROUTER=1 LAB_RETURN=direct LAB_K=1 LAB_C=1
	# shellcheck disable=SC2034
	LAB_N=$((SCALE_N + SCALE_ADD)) LAB_M=$SCALE_M
	[ "$SCALE_DEL" -lt "$SCALE_N" ] || fail "SCALE_DEL must be below SCALE_N"
	[ -n "$SCALE_OUT" ] || fail "SCALE_OUT is not set"
	mkdir -p "$SCALE_OUT" || fail "cannot make $SCALE_OUT"
	rm -rf "$SCALE_OUT"/*-all "$SCALE_OUT"/*-syn "$SCALE_OUT"/*-modulo \
		"$SCALE_OUT/plot"
	lab_up
	lab_routes lb1
	# shellcheck disable=SC2046
	lab_table $(scale_ids 1 "$SCALE_N")
	lab_lb_start 1
}

# _scale_targets: targets 1..N active, by activate and deactivate, not init
# --force: the worker follows a new generation at once, a new table only
# within a second.
_scale_targets()
{
	local active extra missing i

	active=$("$NFQLB" show --json | json_ids)
	extra=$(for i in $active; do [ "$i" -le "$SCALE_N" ] || echo "$i"; done)
	missing=$(for ((i = 1; i <= SCALE_N; i++)); do
		case " $active " in *" $i "*) ;; *) echo "$i" ;; esac
	done)
	# shellcheck disable=SC2086
	[ -z "$extra" ] || "$NFQLB" deactivate $extra || fail "deactivate"
	# shellcheck disable=SC2086
	[ -z "$missing" ] || "$NFQLB" activate $missing || fail "activate"
}

# _scale_mode MODE: lb1's rules for MODE, all targets running, 1..N active.
_scale_mode()
{
	local i

	for ((i = 1; i <= LAB_N; i++)); do
		[ -n "${LAB_ECHO_PIDS[$i]:-}" ] || lab_echo_start "$i"
	done
	lab_flush_rules lb1
	case $1 in
	all) LAB_SYN=0 lab_rules lb1 ;;
	syn) LAB_SYN=1 lab_rules lb1 ;;
	modulo)
		# shellcheck disable=SC2046
		nsx lb1 iptables -t mangle -A PREROUTING \
			$(_scale_hmark "$SCALE_N") || fail "cannot add HMARK"
		;;
	*) fail "unknown mode $1" ;;
	esac
	_scale_targets
	wait_for -n 25 -i 0.2 lab_probe || fail "$1: the VIP does not answer"
}

# _scale_apply EVENT MODE: the change under test.
_scale_apply()
{
	local del n=$SCALE_N i

	del=$(scale_ids $((SCALE_N - SCALE_DEL + 1)) "$SCALE_N")
	if [ "$1" = in-stop ]; then
		for i in $del; do
			lab_echo_stop "$i"
		done
	fi
	if [ "$2" = modulo ]; then
		n=$((SCALE_N - SCALE_DEL))
		[ "$1" = out ] && n=$((SCALE_N + SCALE_ADD))
		# shellcheck disable=SC2046
		nsx lb1 iptables -t mangle -R PREROUTING 1 $(_scale_hmark "$n") ||
			fail "cannot replace the HMARK rule"
	elif [ "$1" = out ]; then
		# shellcheck disable=SC2046
		"$NFQLB" activate $(scale_ids $((SCALE_N + 1)) \
			$((SCALE_N + SCALE_ADD))) || fail "nfqlb activate failed"
	else
		# shellcheck disable=SC2086
		"$NFQLB" deactivate $del || fail "nfqlb deactivate failed"
	fi
}

_scale_opened()
{
	[ "$(grep -c ',open$' "$1" 2>/dev/null)" -ge "$SCALE_CONNS" ]
}

# _scale_meta EVENT MODE: what analyze.py needs to know about the run.
_scale_meta()
{
	local removed="" added=""

	if [ "$1" = out ]; then
		added=$(scale_ids $((SCALE_N + 1)) $((SCALE_N + SCALE_ADD)))
	else
		removed=$(scale_ids $((SCALE_N - SCALE_DEL + 1)) "$SCALE_N")
	fi
	printf '%s\n' "event=$1" "mode=$2" "removed=$removed" "added=$added" \
		"n=$SCALE_N" "targets=$(scale_ids 1 "$LAB_N")" \
		"client=$(lab_client_addr4 1)" "vip=$LAB_VIP4" "port=$LAB_PORT"
}

# scale_run EVENT MODE: one run, its files in $SCALE_OUT/EVENT-MODE.
scale_run()
{
	local dir="$SCALE_OUT/$1-$2" pid
	local up=$(( (SCALE_CONNS / SCALE_RATE + 10) * 5 ))

	mkdir -p "$dir" || fail "cannot make $dir"
	_scale_mode "$2"
	start_bg c1 "$TOOLS/nfqlb-conn" -c "$SCALE_CONNS" -r "$SCALE_RATE" \
		-k 300 -i 100 -t "$SCALE_TIMEOUT" -o "$dir/timeline.csv" \
		-s "$dir/live.csv" "$LAB_VIP4" "$LAB_PORT"
	pid=$BG_PID
	wait_for -n "$up" -i 0.2 _scale_opened "$dir/timeline.csv" ||
		info "$1 $2: not all $SCALE_CONNS connections came up"
	sleep "$SCALE_SETTLE"	# steady time before the change, for the plot
	"$NFQLB" show --json >"$dir/before.json" || fail "nfqlb show failed"
	kill -USR1 "$pid"
	_scale_apply "$1" "$2"
	"$NFQLB" show --json >"$dir/after.json" || fail "nfqlb show failed"
	_scale_meta "$1" "$2" >"$dir/meta"
	sleep "$SCALE_AFTER"	# the run's length after the change
	lab_stop "$pid" 5
	cat "$LOGDIR"/c1-nfqlb-conn-*.log >"$dir/summary.txt" 2>/dev/null
	rm -f "$LOGDIR"/c1-nfqlb-conn-*.log
}

# scale_report: the loss table on stdout, and the plot when gnuplot is here.
scale_report()
{
	python3 "$_scale_dir/analyze.py" "$SCALE_OUT" || fail "analyze.py failed"
	command -v gnuplot >/dev/null || return 0
	(cd "$SCALE_OUT/plot" &&
		gnuplot -e "outdir='$SCALE_OUT'" "$_scale_dir/scale.gp") ||
		fail "gnuplot failed"
}
