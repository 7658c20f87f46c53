#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
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
# Checks: 2 x 21 long-lived connections (IPv4 and IPv6, nfqlb-conn -k, one
# message every 100 ms), 7 per target from source ports the reference
# model sends there, while the worker is stopped by SIGTERM (exit 0),
# started again, killed by SIGKILL and started again.  While no worker
# runs, the connections send (lb's NFQUEUE rules take a packet for each)
# but nothing reaches the targets, and a new connection fails; after each
# start, traffic resumes.  In the end no connection failed (reset or timed
# out) or changed target, each was served by its predicted target, and the
# queue classified at least every packet lb forwarded to the VIP.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

need_root
need_cmd ip iptables ip6tables iptables-restore ip6tables-restore timeout
need_bins

K=7	# long-lived connections per target and address family

info "topology: client, lb, t1..t3 holding the VIP"
topo_fwmark_lb --queue 0

info "$K long-lived connections per target and family across two restarts"
q0=$(queue_packets 0)
f0=$(fwd_count lb)
# Answers may wait for TCP's retransmission after a restart: -t 10000.
conn_keep_spread_opened restart $K 15 10000
fwd_flows lb $((4 * KEEP_COUNT)) "before the restarts"
for sig in TERM KILL; do
	info "SIG$sig to the worker"
	lb_stop $sig
	f1=$(fwd_count lb)
	# The connections go on sending (and TCP resending): once lb's
	# NFQUEUE rules have taken as many packets as there are connections
	# (in 10 s at most), none of those may have reached a target.
	h1=$(queue_hits lb)
	wait_until 10 queue_hits_over lb $((h1 + 2 * KEEP_COUNT - 1)) ||
		fail "the connections sent nothing without a worker"
	f2=$(fwd_count lb)
	[ "$f2" -eq "$f1" ] ||
		fail "$((f2 - f1)) packets reached the targets without a worker"
	out=$(CONN_TIMEOUT=5 conn client -c 1 -t 300 "$VIP4" 80 2>/dev/null)
	[ "$(conn_count "$out" failed)" -eq 1 ] ||
		fail "a new connection passed without a worker: $out"
	lb_start lb
	fwd_flows lb $((4 * KEEP_COUNT)) "after the restart"
done
# The connections end once lb has forwarded 10 packets per connection.
wait_until 10 fwd_over lb $((f0 + 20 * KEEP_COUNT - 1)) ||
	fail "lb forwarded only $(($(fwd_count lb) - f0)) packets"
conn_keep_end "$KEEP4" "$KEEP6"
conn_keep_check restart-4 "$KEEP4"
info "IPv4: $(grep -v "^port " <<<"$CONN_OUT" | tr '\n' ' ')"
conn_keep_check restart-6 "$KEEP6"
info "IPv6: $(grep -v "^port " <<<"$CONN_OUT" | tr '\n' ' ')"
q=$(( $(queue_packets 0) - q0 ))
f=$(( $(fwd_count lb) - f0 ))
info "$q packets queued, $f forwarded to the VIP"
[ $f -ge $((20 * KEEP_COUNT)) ] || fail "lb forwarded only $f packets"
[ $q -ge $f ] || fail "the queue classified $q packets, lb forwarded $f"

pass
