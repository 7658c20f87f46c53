#!/bin/bash
# t-restart: with every packet queued, connections survive restarts of the
# worker, because it keeps no state: the same table gives the same marks.
#
#	client --- lb --- t1, t2, t3 (each holds the VIP on lo)
#
# Mode: all packets queued (`nfqlb rules --vip` without --syn-only) and
# routing by fwmark (`nfqlb route add`), replies back through lb.  Every
# packet of every connection needs the worker's mark to reach its target.
# (In NAT mode conntrack would pin each connection to the target of its
# first packet, and the restart would prove nothing about the worker.)
#
# Checks: 2 x 20 long-lived connections (IPv4 and IPv6, nfqlb-conn -k, one
# message every 100 ms) while the worker is stopped by SIGTERM (exit 0),
# started again, killed by SIGKILL and started again.  While no worker
# runs, nothing reaches the targets for 1 s and a new connection fails;
# after each start, traffic resumes.  In the end no connection failed
# (reset or timed out) or changed target, and the queue classified at least
# every packet lb forwarded to the VIP.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

need_root
need_cmd ip iptables ip6tables iptables-restore ip6tables-restore timeout
need_bins

CONNS=20	# long-lived connections per address family

info "topology: client, lb, t1..t3 holding the VIP"
topo_fwmark t1 t2 t3
fwmark_routes lb 101:1 102:2 103:3
vip_rules lb --queue 0
fwd_count_rules lb
"$NFQLB" init || fail "nfqlb init failed"
"$NFQLB" activate 101 102 103 || fail "nfqlb activate failed"
lb_start lb

info "$CONNS + $CONNS long-lived connections across two restarts"
q0=$(queue_packets 0)
f0=$(fwd_count lb)
# Answers may wait for TCP's retransmission after a restart: -t 10000.
conn_keep_both restart $CONNS 15 10000
wait_for -n 100 queue_packets_over 0 $((q0 + 2 * CONNS - 1)) ||
	fail "the connections did not open (queue: $(queue_packets 0) packets)"
fwd_flows lb $((4 * CONNS)) "before the restarts"
for sig in TERM KILL; do
	info "SIG$sig to the worker"
	lb_stop $sig
	f1=$(fwd_count lb)
	sleep 1		# a window to measure, not a wait for an event
	f2=$(fwd_count lb)
	[ "$f2" -eq "$f1" ] ||
		fail "$((f2 - f1)) packets reached the targets without a worker"
	out=$(CONN_TIMEOUT=5 conn client -c 1 -t 300 "$VIP4" 80 2>/dev/null)
	[ "$(conn_count "$out" failed)" -eq 1 ] ||
		fail "a new connection passed without a worker: $out"
	lb_start lb
	fwd_flows lb $((4 * CONNS)) "after the restart"
done
conn_keep_check restart-4 "$KEEP4"
info "IPv4: $(echo "$CONN_OUT" | tr '\n' ' ')"
conn_keep_check restart-6 "$KEEP6"
info "IPv6: $(echo "$CONN_OUT" | tr '\n' ' ')"
q=$(( $(queue_packets 0) - q0 ))
f=$(( $(fwd_count lb) - f0 ))
info "$q packets queued, $f forwarded to the VIP"
[ $f -ge $((20 * CONNS)) ] || fail "lb forwarded only $f packets"
[ $q -ge $f ] || fail "the queue classified $q packets, lb forwarded $f"

pass
