#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t-rules-nat: NAT mode with the rules `nfqlb rules --nat` prints, with all
# packets queued and then with --syn-only, IPv4 and IPv6.
#
#	client --- lb --- t1, t2, t3
#
# Checks: TCP and UDP connections spread over every target in both modes,
# each from a source port the reference model sends to its target; all
# packets mode queues every packet; SYN-only, applied over the all
# packets rules, and then once more, queues exactly one packet per
# connection (the others take the connection's saved mark), while the
# connections keep working; --delete without --syn-only removes it all.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

need_root
need_cmd ip iptables-restore ip6tables-restore timeout
need_bins

COUNT=30

# rules_apply ARGS...: nfqlb rules --nat for both VIPs, into the kernel.
rules_apply()
{
	rules_in lb ip --vip "$VIP4" --nat "1=$(target_addr4 1)" \
		--nat "2=$(target_addr4 2)" --nat "3=$(target_addr4 3)" "$@"
	rules_in lb ip6 --vip "$VIP6" --nat "1=$(target_addr6 1)" \
		--nat "2=$(target_addr6 2)" --nat "3=$(target_addr6 3)" "$@"
}

info "topology: client, lb, t1..t3"
topo_nat t1 t2 t3
target_names 1:t1 2:t2 3:t3
"$NFQLB" init --M 997 || fail "nfqlb init"
"$NFQLB" activate 1 2 3 || fail "nfqlb activate"
start_bg lb "$NFQLB" lb --queue 0
wait_for lb_ready || fail "the worker did not attach to queue 0"

info "all packets queued"
rules_apply
wait_for -n 30 lb_probe "$VIP4" 80 || fail "no answer through the worker"
for vip in "$VIP4" "$VIP6"; do
	spread_all "$vip" tcp $COUNT
	spread_all "$vip" udp $COUNT
	hold_queued "$vip" 100 100000
done

info "SYN-only, applied over the all packets rules, twice"
rules_apply --syn-only
rules_apply --syn-only
for t in raw mangle nat; do
	n=$(nsx lb iptables -t $t -S PREROUTING | grep -c NFQLB-)
	[ "$n" -eq "$([ $t = raw ] && echo 0 || echo 1)" ] ||
		fail "$n jumps in $t PREROUTING after two applies"
done
for vip in "$VIP4" "$VIP6"; do
	spread_all "$vip" tcp $COUNT
	spread_all "$vip" udp $COUNT
	# One packet per connection, its SYN; a SYN sent again while the
	# first waits in the queue (a worker slower than 1 s) is queued too.
	hold_queued "$vip" 10 12
done

info "--delete, without --syn-only"
rules_in lb ip --vip "$VIP4" --delete
rules_in lb ip6 --vip "$VIP6" --delete
nsx lb iptables-save | grep -q NFQLB && fail "IPv4 chains left after --delete"
nsx lb ip6tables-save | grep -q NFQLB && fail "IPv6 chains left after --delete"

pass
