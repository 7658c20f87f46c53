#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t-syn-only: in SYN-only mode, established connections survive the drain of
# their own target and restarts of the worker, over IPv4 and IPv6.
#
#	client --- lb --- t1, t2, t3 (each holds the VIP on lo)
#
# Mode: `nfqlb rules --vip ... --syn-only` and routing by fwmark (`nfqlb
# route add`), replies back through lb.  Only a connection's first packets
# go through the queue (with nfqlb's rules, the SYN, which they leave
# untracked, and the first ACK, which makes lb's conntrack entry); lb's
# conntrack keeps the mark the worker gave (CONNMARK) and puts it back on
# every later packet.  The mark decides every
# packet's target, so a connection that lost its mark would reach another
# target and be reset: surviving is the connmark's doing, not NAT's.
#
# Checks:
# (a) drain: 2 x 21 long-lived connections (nfqlb-conn -k, one message
#     every 100 ms), 7 per target from source ports the reference model
#     sends there, while target 102 is deactivated but keeps running: none
#     fails or changes target (t2 served 14 of them), new connections
#     avoid t2, and the queue saw 1 to 3 packets per connection opened,
#     while lb forwarded at least 10 per connection.
# (b) restart: 2 x 21 connections while the worker is stopped by SIGTERM,
#     started again, killed by SIGKILL, started again: none fails or changes
#     target; while no worker runs, established traffic still flows and a
#     new connection fails.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

need_root
need_cmd ip iptables ip6tables iptables-restore ip6tables-restore timeout
need_bins

K=7	# long-lived connections per target and address family

# flowing WHAT: established traffic crosses lb, at least 2 packets per
# connection within 10 s.
flowing()
{
	fwd_flows lb $((4 * KEEP_COUNT)) "$1"
}

info "topology: client, lb, t1..t3 holding the VIP"
topo_fwmark_lb --queue 0 --syn-only

info "(a) $K long-lived connections per target and family, then deactivate 102"
q0=$(queue_packets 0)
f0=$(fwd_count lb)
conn_keep_spread_opened drain $K 30 5000
flowing "before the drain"
"$NFQLB" deactivate 102 || fail "nfqlb deactivate failed"
flowing "after the drain"
spread_check "$VIP4" tcp 10
[ "$(conn_count "$SPREAD_OUT" t2)" -eq 0 ] || fail "new connections reached t2 after the drain"
opened=$((2 * KEEP_COUNT + $(grep -c '^port ' <<<"$SPREAD_OUT")))
# The held connections end once lb has forwarded 10 packets per connection
# opened, which the queue must not have seen.
wait_until 10 fwd_over lb $((f0 + 10 * opened - 1)) ||
	fail "lb forwarded only $(($(fwd_count lb) - f0)) packets for $opened connections"
conn_keep_end "$KEEP4" "$KEEP6"
conn_keep_check drain-4 "$KEEP4"
on_t2=$(conn_count "$CONN_OUT" t2)
info "IPv4: $(grep -v "^port " <<<"$CONN_OUT" | tr '\n' ' ')"
conn_keep_check drain-6 "$KEEP6"
on_t2=$((on_t2 + $(conn_count "$CONN_OUT" t2)))
info "IPv6: $(grep -v "^port " <<<"$CONN_OUT" | tr '\n' ' ')"
[ $on_t2 -gt 0 ] || fail "no long-lived connection was on t2: nothing was drained"
q=$(( $(queue_packets 0) - q0 ))
f=$(( $(fwd_count lb) - f0 ))
info "$opened connections opened, $q packets queued, $f forwarded"
[ $q -ge $opened ] && [ $q -le $((3 * opened)) ] ||
	fail "$q packets went through the queue for $opened connections"
[ $f -ge $((10 * opened)) ] || fail "lb forwarded only $f packets"

info "(b) $K long-lived connections per target and family across two restarts"
"$NFQLB" activate 102 || fail "nfqlb activate failed"
conn_keep_spread_opened restart $K 30 5000
flowing "before the restarts"
for sig in TERM KILL; do
	info "SIG$sig to the worker"
	lb_stop $sig
	flowing "without a worker (after SIG$sig)"
	out=$(CONN_TIMEOUT=5 conn client -c 1 -t 300 "$VIP4" 80 2>/dev/null)
	[ "$(conn_count "$out" failed)" -eq 1 ] ||
		fail "a new connection passed without a worker: $out"
	lb_start lb
	flowing "after the restart"
done
conn_keep_end "$KEEP4" "$KEEP6"
conn_keep_check restart-4 "$KEEP4"
info "IPv4: $(grep -v "^port " <<<"$CONN_OUT" | tr '\n' ' ')"
conn_keep_check restart-6 "$KEEP6"
info "IPv6: $(grep -v "^port " <<<"$CONN_OUT" | tr '\n' ' ')"

pass
