#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t-dsr: direct server return over IPv4 and IPv6 with `nfqlb route`.
#
#	client --- rt --- lb          rt routes the VIP to lb
#	            |      |
#	           sw (a bridge) --- t1, t2, t3
#
# The targets hold the VIP on lo (arp_ignore=1, arp_announce=2) and answer
# the client straight through rt: lb never sees a reply.  lb queues the
# VIP's packets (`nfqlb rules`, all packets) and routes each mark to its
# target (`nfqlb route add`).
# Checks: route add/show/del and their errors; connections spread over the
# targets and the per-target counters; a deactivated target gets nothing;
# no reply crosses lb; with --syn-only, connections work and only their
# first packets are queued, both in pure DSR and when the replies do pass
# through lb.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

need_root
need_cmd ip iptables-restore ip6tables-restore timeout
need_bins

COUNT=30
NT=3

# topo_dsr N: the topology above with N targets.  Networks: client
# 10.200.0.0/24 (client .2, rt .1); rt-lb 10.200.1.0/24 (rt .1, lb .2);
# the bridge 10.200.2.0/24 (rt .1, lb .2, target i .1i); IPv6 alike in
# fd00:200:N::/64.
topo_dsr()
{
	local i

	ns_add client rt lb sw
	nsx sw ip link add br0 type bridge || fail "cannot add a bridge"
	nsx sw ip link set br0 up
	nsx sw sysctl -qw net.bridge.bridge-nf-call-iptables=0 \
		net.bridge.bridge-nf-call-ip6tables=0 >/dev/null 2>&1
	client_link rt
	veth_add rt a0 lb eth0
	addr_add rt a0 10.200.1.1/24 fd00:200:1::1/64
	addr_add lb eth0 10.200.1.2/24 fd00:200:1::2/64
	route_add lb default 10.200.1.1
	route_add lb default fd00:200:1::1
	route_add rt "$VIP4" 10.200.1.2
	route_add rt "$VIP6" fd00:200:1::2
	forwarding_on rt
	forwarding_on lb
	bridge_port rt s0 10.200.2.1/24 fd00:200:2::1/64
	bridge_port lb eth1 10.200.2.2/24 fd00:200:2::2/64
	for ((i = 1; i <= $1; i++)); do
		ns_add "t$i"
		bridge_port "t$i" eth0 "10.200.2.1$i/24" "fd00:200:2::1$i/64"
		vip_on_lo "t$i"
		route_add "t$i" default 10.200.2.1
		route_add "t$i" default fd00:200:2::1
		start_bg "t$i" "$TOOLS/nfqlb-echo" -p 80 -n "t$i"
	done
}

# bridge_port NS IF ADDR...: a veth from NS to the bridge in sw.
bridge_port()
{
	local n=$1 dev=$2

	shift 2
	veth_add sw "p-$n" "$n" "$dev"
	nsx sw ip link set "p-$n" master br0 || fail "cannot bridge $n"
	addr_add "$n" "$dev" "$@"
}

# id_packets ID: the packets counted for target ID.
id_packets()
{
	stats_target "$1"
}

# returns: packets from the VIP that lb forwarded (replies), IPv4 + IPv6.
returns()
{
	local f n=0 c

	for f in ip ip6; do
		c=$(nsx lb ${f}tables -L FORWARD -v -x -n | awk 'NR > 2 { s += $1 } END { print s + 0 }')
		n=$((n + c))
	done
	echo $n
}

# rules_apply ARGS...: nfqlb rules for both VIPs, into the kernel.
rules_apply()
{
	vip_rules lb "$@"
}

# spread VIP [NAME=0...]: COUNT / NT connections per active target to VIP,
# each from a source port the reference model sends to that target and
# answered by it (spread_check); each NAME=0 (an inactive target) none.
spread()
{
	local vip=$1 w

	shift
	spread_check "$vip" tcp $((COUNT / NT))
	for w in "$@"; do
		[ "$(conn_count "$SPREAD_OUT" "${w%=0}")" -eq 0 ] ||
			fail "connections to $vip: ${w%=0} answered some"
	done
}

info "topology: client, rt, lb, bridge, t1..t$NT"
topo_dsr $NT
target_names 1:t1 2:t2 3:t3
"$NFQLB" init --M 997 || fail "nfqlb init"
"$NFQLB" activate 1 2 3 || fail "nfqlb activate"
rules_apply
nsx lb iptables -A FORWARD -s "$VIP4" || fail "iptables"
nsx lb ip6tables -A FORWARD -s "$VIP6" || fail "ip6tables"

info "route add for each target, IPv4 and IPv6"
for ((i = 1; i <= NT; i++)); do
	nsx lb "$NFQLB" route add $i via "10.200.2.1$i" || fail "route add $i (IPv4)"
	nsx lb "$NFQLB" route add $i via "fd00:200:2::1$i" dev eth1 || fail "route add $i (IPv6)"
done
nsx lb "$NFQLB" route add 1 via 10.200.2.11 || fail "adding the same route again failed"
err=$(nsx lb "$NFQLB" route add 1 via 10.200.2.12 2>&1)
[ $? -eq 1 ] && [ "$(echo "$err" | wc -l)" -eq 1 ] || fail "another gateway for 1: $err"
err=$(nsx lb "$NFQLB" route add 9 via 10.99.0.1 2>&1)
rc=$?
[ $rc -eq 1 ] && [ "$(echo "$err" | wc -l)" -eq 1 ] &&
	echo "$err" | grep -q '^nfqlb: route: .*unreachable' ||
	fail "unreachable gateway: exit $rc: $err"
show=$(nsx lb "$NFQLB" route show) || fail "route show"
for ((i = 1; i <= NT; i++)); do
	echo "$show" | grep -qx "ipv4 rule  1000: from all fwmark 0x$i lookup 100$i proto 78" &&
	echo "$show" | grep -qx "ipv4 route default via 10.200.2.1$i dev eth1 table 100$i proto 78" &&
	echo "$show" | grep -qx "ipv6 rule  1000: from all fwmark 0x$i lookup 100$i proto 78" &&
	echo "$show" | grep -qx "ipv6 route default via fd00:200:2::1$i dev eth1 table 100$i proto 78" ||
		fail "route show lacks id $i: $(echo "$show" | tr '\n' ' ')"
done
[ "$(echo "$show" | wc -l)" -eq $((4 * NT)) ] || fail "route show: $show"
nsx lb ip rule | grep -q "fwmark 0x2 lookup 1002 proto 78" || fail "ip rule: no fwmark 2"
nsx lb ip -6 route show table 1003 | grep -q "default via fd00:200:2::13" ||
	fail "ip -6 route: no route in table 1003"

start_bg lb "$NFQLB" lb --queue 0
wait_for lb_ready || fail "the worker did not attach to queue 0"
wait_for -n 30 lb_probe "$VIP4" 80 || fail "no answer through the worker"

for vip in "$VIP4" "$VIP6"; do
	info "all packets: $COUNT connections to $vip"
	spread "$vip"
done
for ((i = 1; i <= NT; i++)); do
	[ "$(id_packets $i)" -gt 0 ] || fail "stats: no packets for id $i"
done
[ "$(returns)" -eq 0 ] || fail "$(returns) replies went through lb in DSR"
# Held 2 s, about 20 exchanges each: every packet is queued.
hold_queued "$VIP4" 100 100000

info "deactivate 2: its target gets nothing"
"$NFQLB" deactivate 2 || fail "deactivate"
p2=$(id_packets 2)
for vip in "$VIP4" "$VIP6"; do
	spread "$vip" t2=0
done
[ "$(id_packets 2)" -eq "$p2" ] || fail "id 2 still counts packets after deactivate"
"$NFQLB" activate 2 || fail "activate"

info "SYN-only, pure DSR"
rules_apply --delete
rules_apply --syn-only
for vip in "$VIP4" "$VIP6"; do
	spread "$vip"
	# The SYN and the first ACK of each connection (see docs/deployment.md), and,
	# when the worker is slow, the data that follows the ACK before its
	# verdict; all packets mode queued 100 or more.
	hold_queued "$vip" 0 40
done
[ "$(returns)" -eq 0 ] || fail "replies went through lb in DSR"

info "SYN-only, replies through lb"
for ((i = 1; i <= NT; i++)); do
	nsx "t$i" ip route replace default via 10.200.2.2 || fail "route via lb"
	nsx "t$i" ip -6 route replace default via fd00:200:2::2 || fail "route via lb"
done
for vip in "$VIP4" "$VIP6"; do
	spread "$vip"
	hold_queued "$vip" 0 40
done
[ "$(returns)" -gt 0 ] || fail "no reply went through lb"

info "route del"
for ((i = 1; i <= NT; i++)); do
	nsx lb "$NFQLB" route del $i || fail "route del $i"
done
err=$(nsx lb "$NFQLB" route del 1 2>&1) && fail "route del of nothing succeeded"
echo "$err" | grep -q "nothing installed" || fail "route del of nothing: $err"
[ -z "$(nsx lb "$NFQLB" route show)" ] || fail "route show after del: $(nsx lb "$NFQLB" route show)"
nsx lb ip rule | grep -q fwmark && fail "ip rule still has fwmark rules: $(nsx lb ip rule)"
nsx lb ip -6 rule | grep -q fwmark && fail "ip -6 rule still has fwmark rules"
for ((i = 1; i <= NT; i++)); do
	[ -z "$(nsx lb ip route show table 100$i)" ] || fail "table 100$i is not empty"
	[ -z "$(nsx lb ip -6 route show table 100$i)" ] || fail "IPv6 table 100$i is not empty"
done

pass
