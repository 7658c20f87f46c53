# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash disable=SC2034  # a library: its globals are read by the scripts that source it
# lib-tier.sh: a tier of load balancers behind an ECMP router.
# Sourced by lib.sh; tests source lib.sh only.

# ---------------------------------------------------------------- LB tier

# topo_tier K T...: K load balancers lb1..lbK behind an ECMP router, and
# targets T... reachable from every load balancer (K <= 9).
#
#	client --- router ==ECMP== lb1..lbK --- T... (each lb to each target)
#	             `------------------------- T... (replies, direct)
#
# client 10.201.0.2 / fd00:201::2 (CLIENT4 / CLIENT6) routes via router
# 10.201.0.1 / fd00:201::1.  router reaches lbK at 10.201.1K.2 /
# fd00:201:1K::2 over its interface lK, and routes the VIP over all of them (ECMP, layer-4 hash:
# fib_multipath_hash_policy=1 for IPv4 and IPv6).  lbK reaches target I at
# tier_addr4/6 K I over its interface tI.  Target I holds the VIP
# (vip_on_lo), serves it (echo_vip), and answers straight through router
# (10.220.I.1 / fd00:220:I::1), not through a load balancer.  No NFQUEUE
# rules or routes by mark yet.
topo_tier()
{
	local k=$1 i j t

	shift
	ns_add client router
	veth_add client eth0 router c0
	addr_add client eth0 10.201.0.2/24 fd00:201::2/64
	CLIENT4=10.201.0.2
	CLIENT6=fd00:201::2
	addr_add router c0 10.201.0.1/24 fd00:201::1/64
	route_add client default 10.201.0.1
	route_add client default fd00:201::1
	forwarding_on router
	sysctl_in router net.ipv4.fib_multipath_hash_policy=1 \
		net.ipv6.fib_multipath_hash_policy=1
	for ((j = 1; j <= k; j++)); do
		_tier_lb "$j"
	done
	i=0
	for t in "$@"; do
		i=$((i + 1))
		_tier_target "$k" "$i" "$t"
	done
	rp_filter_off router
	_tier_ecmp "$k"
}

# tier_addr4 K I / tier_addr6 K I: target I's address on its link to lbK.
tier_addr4()
{
	echo "10.21$1.$2.2"
}

tier_addr6()
{
	echo "fd00:21$1:$2::2"
}

_tier_lb()
{
	ns_add "lb$1"
	veth_add router "l$1" "lb$1" r0
	addr_add router "l$1" "10.201.1$1.1/24" "fd00:201:1$1::1/64"
	addr_add "lb$1" r0 "10.201.1$1.2/24" "fd00:201:1$1::2/64"
	route_add "lb$1" default "10.201.1$1.1"
	route_add "lb$1" default "fd00:201:1$1::1"
	forwarding_on "lb$1"
}

# _tier_target K I NAME: target I linked to lb1..lbK and to router.
_tier_target()
{
	local j

	ns_add "$3"
	veth_add router "t$2" "$3" r0
	addr_add router "t$2" "10.220.$2.1/24" "fd00:220:$2::1/64"
	addr_add "$3" r0 "10.220.$2.2/24" "fd00:220:$2::2/64"
	route_add "$3" default "10.220.$2.1"
	route_add "$3" default "fd00:220:$2::1"
	for ((j = 1; j <= $1; j++)); do
		veth_add "lb$j" "t$2" "$3" "l$j"
		addr_add "lb$j" "t$2" "10.21$j.$2.1/24" "fd00:21$j:$2::1/64"
		addr_add "$3" "l$j" "$(tier_addr4 "$j" "$2")/24" \
			"$(tier_addr6 "$j" "$2")/64"
		rp_filter_off "lb$j"
	done
	vip_on_lo "$3"
	rp_filter_off "$3"
	echo_vip "$3" "$3"
}

# _tier_ecmp K: router's routes to the VIP over lb1..lbK.
_tier_ecmp()
{
	local j hops4=() hops6=()

	for ((j = 1; j <= $1; j++)); do
		hops4+=(nexthop via "10.201.1$j.2" dev "l$j")
		hops6+=(nexthop via "fd00:201:1$j::2" dev "l$j")
	done
	nsx router ip route add "$VIP4/32" "${hops4[@]}" &&
	nsx router ip -6 route add "$VIP6/128" "${hops6[@]}" ||
		fail "cannot add the ECMP routes to the VIP in router"
}
