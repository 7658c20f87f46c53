#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t-udp-icmp: UDP flows stay on one target, and an ICMP error about a flow
# reaches that flow's target, over IPv4 and IPv6.
#
#	client --- lb --- t1, t2, t3 (each holds the VIP on lo)
#
# Mode: all packets queued, routing by fwmark (`nfqlb rules --vip` without
# --syn-only, `nfqlb route add`).  The mark decides every datagram, so a
# flow stays on its target only because the worker hashes each of its
# datagrams the same way (in NAT mode conntrack would pin it anyway).
#
# Flows come from source ports the reference model (test/ref/predict.py)
# sends to each target, so every target gets some, and each flow must reach
# its predicted target.
#
# Checks: (a) 12 UDP flows, 4 per target (a datagram every 100 ms for 3 s),
# are each answered by their predicted target only, and the worker
# classified at least as many packets as lb forwarded to the VIP.
# (b) For 6 flows per family, 2 per target, nfqlb-icmperr sends from the
# client an IPv4 "fragmentation needed" or
# IPv6 "packet too big" about the target's answer (quoting VIP:80 ->
# client:port, as a router on the way back would): the error is counted by
# the flow's target (IcmpInDestUnreachs / Icmp6InPktTooBigs) and by no
# other target, and by the worker as an icmp-error.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

need_root
need_cmd ip iptables ip6tables iptables-restore ip6tables-restore timeout
need_bins
[ -x "$TOOLS/nfqlb-icmperr" ] || fail "$TOOLS/nfqlb-icmperr is not built"

K=4		# UDP flows per target
ERRORS=2	# ICMP errors per target and family

# kind_count KIND: packets of KIND the worker classified.
kind_count()
{
	"$NFQLB" stats --json | json_num "$1"
}

# udp_flows VIP: K long UDP flows per target, each answered by its
# predicted target only.
udp_flows()
{
	local q0 f0 q1 f1 out rc src flows

	src=$(client_addr "$1")
	predict "$src" "$1" udp 80 $K
	flows=$(grep -c . <<<"$PRED_WANT")
	q0=$(queue_packets 0)
	f0=$(fwd_count lb)
	out=$(CONN_TIMEOUT=30 conn client -u -k 3 -t 5000 -b "$src" -P "$PRED_PORTS" \
		"$1" 80 2>&1)
	rc=$?
	q1=$(queue_packets 0)
	f1=$(fwd_count lb)
	[ $rc -eq 0 ] && [ "$(conn_count "$out" failed)" -eq 0 ] &&
		[ "$(conn_count "$out" moved)" -eq 0 ] ||
		{ stats_save; fail "UDP flows to $1: exit $rc: $(echo "$out" | tr '\n' ' ')"; }
	expect_predicted "UDP flows to $1" "$(grep -v '^nfqlb-conn:' <<<"$out")" $rc
	[ $((f1 - f0)) -ge $((flows * 5)) ] ||
		fail "lb forwarded only $((f1 - f0)) datagrams to $1"
	[ $((q1 - q0)) -ge $((f1 - f0)) ] ||
		fail "the worker classified $((q1 - q0)) packets, lb forwarded $((f1 - f0))"
	info "$1: $(echo "$out" | grep '^t[0-9]' | tr '\n' ' ')over $((f1 - f0)) datagrams"
}

info "topology: client, lb, t1..t3 holding the VIP"
topo_fwmark_lb --queue 0

for vip in "$VIP4" "$VIP6"; do
	info "$K UDP flows per target to $vip for 3 s"
	udp_flows "$vip"
done

errs0=$(kind_count icmp-error)
icmp_errors $ERRORS ""
errs=$(( $(kind_count icmp-error) - errs0 ))
[ $errs -eq "$ICMP_SENT" ] ||
	fail "the worker classified $errs icmp-error packets, want $ICMP_SENT"

pass
