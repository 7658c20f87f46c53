#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t-rules-icmp: the ICMP errors addressed to a VIP whose rules take one
# protocol and port (`nfqlb rules --vip VIP --proto udp --port 80`, DSR)
# reach the target of the flow they quote, IPv4 and IPv6.
#
#	client --- lb --- t1, t2, t3 (each holds the VIP on lo)
#
# Before, such rules queued no ICMP at all: a "fragmentation needed" or
# "packet too big" about a target's answer never reached the worker, so it
# was never marked and never reached the target (path MTU discovery broke).
#
# Checks, for flows from source ports the reference model sends to each
# target (2 per target and family), nfqlb-icmperr sending from the client
# an IPv4 "fragmentation needed" or IPv6 "packet too big" about the
# target's answer (quoting VIP:80 -> client:port):
# (a) all packets queued: the worker classifies each error as an
#     icmp-error and marks it as the flow, so that it reaches the flow's
#     target and no other;
# (b) the rules applied again (twice, --syn-only): each error reaches its
#     flow's target (an error that conntrack relates to a marked flow takes
#     the flow's saved mark, any other one is queued);
# (c) --delete with only the VIP, protocol and port leaves no chain.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

need_root
need_cmd ip iptables ip6tables iptables-restore ip6tables-restore timeout
need_bins
[ -x "$TOOLS/nfqlb-icmperr" ] || fail "$TOOLS/nfqlb-icmperr is not built"

ERRORS=2	# ICMP errors per target and family
RULES=(--proto udp --port 80)

# udp_probe ADDR: one UDP exchange with ADDR:80 from the client.
# shellcheck disable=SC2317 # called through wait_for
udp_probe()
{
	CONN_TIMEOUT=5 conn client -u -c 1 -t 250 "$1" 80 >/dev/null 2>&1
}

# kind_count KIND: packets of KIND the worker classified.
kind_count()
{
	"$NFQLB" stats --json | json_num "$1"
}

info "topology: client, lb, t1..t3 holding the VIP; rules for UDP port 80 only"
topo_fwmark t1 t2 t3
fwmark_routes lb 101:1 102:2 103:3
vip_rules lb "${RULES[@]}"
for f in ip ip6; do
	nsx lb ${f}tables -t mangle -S PREROUTING | grep -q -- '-p \(icmp\|ipv6-icmp\) .*-ICMP$' ||
		fail "no jump for the ICMP errors in ${f}tables' mangle PREROUTING"
done
"$NFQLB" init || fail "nfqlb init failed"
"$NFQLB" activate 101 102 103 || fail "nfqlb activate failed"
start_bg lb "$NFQLB" lb --queue 0
wait_for -n 100 udp_probe "$VIP4" || fail "no UDP answer through the worker"

info "all packets queued"
errs0=$(kind_count icmp-error)
icmp_errors $ERRORS "all packets: "
errs=$(($(kind_count icmp-error) - errs0))
[ "$errs" -eq "$ICMP_SENT" ] ||
	fail "the worker classified $errs icmp-error packets, want $ICMP_SENT"

info "SYN-only, applied twice over the all packets rules"
vip_rules lb "${RULES[@]}" --syn-only
vip_rules lb "${RULES[@]}" --syn-only
for f in ip ip6; do
	[ "$(nsx lb ${f}tables -t mangle -S PREROUTING | grep -c NFQLB-)" -eq 2 ] ||
		fail "not two jumps (the VIP's, its ICMP errors') in ${f}tables' mangle"
done
icmp_errors $ERRORS "SYN-only: "

info "--delete with the VIP, protocol and port only"
rules_in lb ip --vip "$VIP4" "${RULES[@]}" --delete
rules_in lb ip6 --vip "$VIP6" "${RULES[@]}" --delete
nsx lb iptables-save | grep -q NFQLB && fail "IPv4 chains left after --delete"
nsx lb ip6tables-save | grep -q NFQLB && fail "IPv6 chains left after --delete"

pass
