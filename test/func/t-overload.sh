#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t-overload: more packets than the worker takes, in NAT mode.
#
#	client --- lb (VIP on lo, echo "lb") --- t1, t2, t3
#
# lb holds the VIPs itself and answers on port 80 as "lb": a packet that
# leaves the queue without a mark is not DNATed and reaches lb, so "lb"
# answering means "accepted unmarked".  The queue is overfilled by stopping
# the worker (SIGSTOP) and sending a known number of datagrams, which makes
# every count exact, and then by a real flood.
#   1. --qlength 16, stopped: the kernel holds 16 and drops the rest as
#      queue drops; `nfqlb stats` shows the same numbers as /proc; after
#      SIGCONT the worker balances again.
#   2. --qlength 1000000, stopped: the socket buffer fills first; every
#      datagram is either waiting or a user drop.
#   3. --qlength 16 --fail-open, stopped: packets past the 16 are accepted
#      unmarked (they reach "lb", with mark 0), none is dropped; new TCP
#      and UDP connections are answered by "lb".
#   4. a real flood at full speed: whatever the worker misses is counted as
#      a drop (hits on the NFQUEUE rule = classified + dropped), and it
#      balances again afterwards.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

need_root
need_cmd ip iptables ip6tables timeout taskset
need_bins
[ -x "$TOOLS/nfqlb-inject" ] || fail "$TOOLS/nfqlb-inject is not built"

SMALL=16	# --qlength of the small queue
FILL=300	# datagrams sent at a stopped worker with the small queue
FLOOD=100000	# datagrams of the real flood

# run_lb ARGS...: (re)start the worker on queue 0.
run_lb()
{
	if [ -n "${LB_PID-}" ]; then
		kill -CONT "$LB_PID" 2>/dev/null
		stop_pid "$LB_PID" 5 || fail "the worker exited with an error: $?"
	fi
	start_bg lb "$NFQLB" lb --queue 0 "$@"
	LB_PID=$BG_PID
	wait_for lb_ready || fail "the worker did not start"
	wait_for -n 20 lb_probe "$VIP4" 80 || fail "no answer through the worker"
}

# balanced PROTO: spread_all, 20 flows per target, each answered by the
# target the reference model predicts for it, none by lb.
balanced()
{
	spread_all "$VIP4" "$1" 60
}

# proc_is Q COLUMN N
proc_is()
{
	[ "$(proc_queue "$1" "$2")" = "$3" ]
}

# stats_match_proc: `nfqlb stats` shows /proc's drop counts for queue 0
# (the worker copies them once a second).
stats_match_proc()
{
	[ "$(stats_queue 0 queue_dropped)" = "$(proc_queue 0 6)" ] &&
		[ "$(stats_queue 0 user_dropped)" = "$(proc_queue 0 7)" ]
}

# unmarked_local: datagrams to the VIP that lb delivered to itself unmarked.
unmarked_local()
{
	nsx lb iptables -nvxL INPUT | awk '/mark match 0x0$/ { print $1 }'
}

# queue_hits: packets the NFQUEUE rule for UDP to the VIP took.
queue_hits()
{
	nsx lb iptables -t mangle -nvxL PREROUTING |
		awk '/ 10\.200\.255\.1 +udp dpt:80 NFQUEUE/ { print $1 }'
}

# tcp_quiet: no TCP connection between the client and the targets is still
# closing: no FIN, nor the ACK of one, can reach the queue any more.  (A
# worker restarted in the middle of a close makes TCP send again later,
# and such a packet would spoil an exact count of queued datagrams.)
tcp_quiet()
{
	local n

	for n in client t1 t2 t3; do
		[ -z "$(nsx "$n" ss -Htn state syn-sent state fin-wait-1 state fin-wait-2 \
			state closing state last-ack)" ] || return 1
	done
}

# stop_worker: SIGSTOP to the worker once TCP is quiet.
stop_worker()
{
	wait_until 10 tcp_quiet || fail "TCP connections still closing: $(nsx client ss -Htn)"
	kill -STOP "$LB_PID"
}

# fill COUNT SPORT: COUNT datagrams from the client's second address,
# 10.200.0.3, so that their conntrack entries never meet the client's own
# connections from 10.200.0.2.
fill()
{
	INJECT_SRC4=10.200.0.3 inject 4 -c "$1" -P "$2" udp
}

info "topology: client, lb with the VIP, t1..t3"
topo_nat t1 t2 t3
nat_rules 101:1 102:2 103:3
vip_on_lb
addr_add client eth0 10.200.0.3/24
nsx lb iptables -A INPUT -d "$VIP4" -p udp --dport 80 -m mark --mark 0 ||
	fail "iptables"
"$NFQLB" init || fail "init"
"$NFQLB" activate 101 102 103 || fail "activate"

info "1. queue of $SMALL, worker stopped, $FILL datagrams"
run_lb --qlength "$SMALL"
balanced udp
stop_worker
fill "$FILL" 20000
wait_for proc_is 0 6 $((FILL - SMALL)) ||
	fail "queue drops: $(proc_queue 0 6), want $((FILL - SMALL))"
proc_is 0 3 "$SMALL" || fail "waiting: $(proc_queue 0 3), want $SMALL"
out=$(CONN_TIMEOUT=10 conn client -c 5 -u -t 200 "$VIP4" 80 2>/dev/null)
[ "$(conn_count "$out" failed)" -eq 5 ] ||
	fail "with the queue full, UDP got through: $(echo "$out" | tr '\n' ' ')"
proc_is 0 6 $((FILL - SMALL + 5)) || fail "queue drops: $(proc_queue 0 6)"
kill -CONT "$LB_PID"
wait_for -n 50 stats_match_proc ||
	fail "stats: queue_dropped $(stats_queue 0 queue_dropped), user_dropped" \
		"$(stats_queue 0 user_dropped); /proc: $(proc_queue 0 6), $(proc_queue 0 7)"
[ "$(stats_queue 0 user_dropped)" -eq 0 ] || fail "user drops with a small queue"
info "stats: queue_dropped $(stats_queue 0 queue_dropped), as in /proc"
balanced udp
balanced tcp

info "2. queue of 1000000, worker stopped: the socket buffer fills"
run_lb --qlength 1000000
stop_worker
BIG=60000
fill "$BIG" 1
waiting_plus_udrops_is()
{
	[ $(($(proc_queue 0 3) + $(proc_queue 0 7))) -eq "$1" ]
}
wait_for waiting_plus_udrops_is "$BIG" ||
	fail "waiting $(proc_queue 0 3) + user drops $(proc_queue 0 7) != $BIG"
udrops=$(proc_queue 0 7)
[ "$udrops" -gt 0 ] || fail "no user drops after $BIG datagrams at a stopped worker"
[ "$(proc_queue 0 6)" -eq 0 ] || fail "queue drops with a queue of 1000000"
info "$BIG datagrams: $(proc_queue 0 3) waiting, $udrops user drops"
kill -CONT "$LB_PID"
wait_for -n 100 proc_is 0 3 0 || fail "the worker did not drain the queue"
wait_for -n 50 stats_match_proc ||
	fail "stats: user_dropped $(stats_queue 0 user_dropped); /proc: $(proc_queue 0 7)"
balanced udp

info "3. queue of $SMALL with --fail-open, worker stopped"
run_lb --qlength "$SMALL" --fail-open
balanced udp
local0=$(unmarked_local)
stop_worker
fill "$FILL" 61000
wait_for proc_is 0 3 "$SMALL" || fail "waiting: $(proc_queue 0 3), want $SMALL"
unmarked_is()
{
	[ "$(unmarked_local)" -eq "$1" ]
}
wait_for unmarked_is $((local0 + FILL - SMALL)) ||
	fail "lb got $(($(unmarked_local) - local0)) unmarked datagrams, want $((FILL - SMALL))"
# From 10.200.0.3: lb's conntrack keeps these flows undirected (answered by
# lb) for a while, and a later exchange from 10.200.0.2 must never meet one.
for p in udp tcp; do
	flag=""
	[ $p = udp ] && flag=-u
	out=$(conn client -c 20 -t 1000 -b 10.200.0.3 $flag "$VIP4" 80)
	[ "$(conn_count "$out" lb)" -eq 20 ] ||
		fail "fail-open $p: want 20 answers from lb: $(echo "$out" | tr '\n' ' ')"
done
[ "$(proc_queue 0 6)" -eq 0 ] && [ "$(proc_queue 0 7)" -eq 0 ] ||
	fail "fail-open dropped packets: $(proc_queue 0 6) + $(proc_queue 0 7)"
info "fail-open: $((FILL - SMALL)) datagrams reached lb unmarked, 20 UDP and 20 TCP" \
	"exchanges answered by lb, 0 drops"
kill -CONT "$LB_PID"
wait_for -n 100 proc_is 0 3 0 || fail "the worker did not drain the queue"
balanced udp
balanced tcp

info "4. a real flood of $FLOOD datagrams, --qlength 64"
run_lb --qlength 64
hits0=$(queue_hits)
pk0=$(stats_queue 0 packets)
fill "$FLOOD" 1
alive "$LB_PID" || fail "the worker died in the flood"
# Once the worker has drained the queue and copied /proc, every packet the
# rule took was either classified or dropped.
conserved()
{
	local hits pk qd ud

	hits=$(($(queue_hits) - hits0))
	pk=$(($(stats_queue 0 packets) - pk0))
	qd=$(stats_queue 0 queue_dropped)
	ud=$(stats_queue 0 user_dropped)
	[ "$(proc_queue 0 3)" -eq 0 ] && stats_match_proc && [ $((pk + qd + ud)) -eq "$hits" ]
}
wait_for -n 100 conserved ||
	fail "flood: rule took $(($(queue_hits) - hits0)), worker classified" \
		"$(($(stats_queue 0 packets) - pk0)), drops $(stats_queue 0 queue_dropped)" \
		"+ $(stats_queue 0 user_dropped)"
info "flood: $(($(queue_hits) - hits0)) queued, $(($(stats_queue 0 packets) - pk0))" \
	"classified, $(stats_queue 0 queue_dropped) queue drops," \
	"$(stats_queue 0 user_dropped) user drops"
balanced udp
balanced tcp
kill -CONT "$LB_PID"
stop_pid "$LB_PID" 5 || fail "the worker exited with status $? on SIGTERM"
pass
