# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash disable=SC2034  # a library: its globals are read by the scripts that source it
# lib-star.sh: the star topology, client --- lb --- targets, that NAT mode
# (topo_nat) and routing by fwmark (topo_fwmark, lib-fwmark.sh) share.
# Sourced by lib.sh; tests source lib.sh only.

# ---------------------------------------------------------------- star

# client_link NS: client's eth0 (10.200.0.2/24, fd00:200::2/64) linked to
# NS's c0 (10.200.0.1/24, fd00:200::1/64); client routes everything via NS.
client_link()
{
	veth_add client eth0 "$1" c0
	addr_add client eth0 10.200.0.2/24 fd00:200::2/64
	addr_add "$1" c0 10.200.0.1/24 fd00:200::1/64
	route_add client default 10.200.0.1
	route_add client default fd00:200::1
}

# _topo_star T...: the namespaces, links, addresses and routes that
# topo_nat and topo_fwmark share: client --- lb --- T..., target i at
# 10.200.i.2 / fd00:200:i::2 behind lb's 10.200.i.1 / fd00:200:i::1,
# routing back via lb; lb forwards.  STAR_NAMES holds T... in order.
_topo_star()
{
	local i=0 t

	STAR_NAMES=("$@")
	ns_add client lb "$@"
	client_link lb
	forwarding_on lb
	for t in "$@"; do
		i=$((i + 1))
		veth_add lb "t$i" "$t" eth0
		addr_add lb "t$i" "10.200.$i.1/24" "fd00:200:$i::1/64"
		addr_add "$t" eth0 "10.200.$i.2/24" "fd00:200:$i::2/64"
		route_add "$t" default "10.200.$i.1"
		route_add "$t" default "fd00:200:$i::1"
	done
}

# target_addr4 I / target_addr6 I: the address of the I-th target (1-based).
target_addr4()
{
	echo "10.200.$1.2"
}

target_addr6()
{
	echo "fd00:200:$1::2"
}

# ---------------------------------------------------------------- a sink, counted by mark

# The second VIPs of the sink topology, for paths to two addresses.
VIP4B=10.200.255.2
VIP6B=fd00:200:ff::2

# topo_sink: client --- lb --- sink: lb routes VIP4, VIP4B, VIP6 and
# VIP6B to the sink, which drops them (it neither holds nor forwards them).
topo_sink()
{
	local vip

	_topo_star sink
	for vip in "$VIP4" "$VIP4B"; do
		ip -n "$(ns lb)" route add "$vip/32" via 10.200.1.2 || fail "route"
	done
	for vip in "$VIP6" "$VIP6B"; do
		ip -n "$(ns lb)" -6 route add "$vip/128" via fd00:200:1::2 || fail "route"
	done
}

# topo_sink_marks ID...: client --- lb --- sink, without conntrack: lb
# routes VIP4, VIP4B, VIP6 and VIP6B to the sink, queues SCTP and UDP to
# queue 0, and counts in its FORWARD chain, per protocol, the packets it
# forwards with each mark ID (sink_marks).  SINK_IDS holds the IDs.
topo_sink_marks()
{
	local ipt p id

	SINK_IDS="$*"
	topo_sink
	for ipt in iptables ip6tables; do
		for p in sctp udp; do
			nsx lb $ipt -t mangle -A PREROUTING -p $p -j NFQUEUE --queue-num 0 ||
				fail "$ipt"
			for id in "$@"; do
				nsx lb $ipt -A FORWARD -p $p -m mark --mark "$id" || fail "$ipt"
			done
		done
	done
}

# sink_marks CMD PROTO: "ID:PACKETS " for each of SINK_IDS that saw PROTO
# (sctp or udp) packets in lb's FORWARD chain (CMD iptables or ip6tables,
# which name protocols by number), in the order of SINK_IDS.
sink_marks()
{
	local id n p=17

	[ "$2" = sctp ] && p=132
	for id in $SINK_IDS; do
		n=$(nsx lb "$1" -nvxL FORWARD | awk -v p="$p" \
			-v m="$(printf 'mark match 0x%x$' "$id")" '$3 == p && $0 ~ m { print $1 }')
		[ "${n:-0}" -gt 0 ] && echo -n "$id:$n "
	done
}

# sink_sum_is CMD PROTO N: the mark counters of PROTO add up to N.
sink_sum_is()
{
	[ "$(sink_marks "$1" "$2" | tr ' ' '\n' | cut -d: -f2 | awk '{ s += $1 } END { print s + 0 }')" -eq "$3" ]
}

# sink_send SRC DST ARGS...: nfqlb-inject from the client, SRC to DST, from
# CPU 0 (frames handled in the order sent), to lb's MAC (found once).
sink_send()
{
	local src=$1 dst=$2

	shift 2
	[ -n "${_SINK_MAC:-}" ] || _SINK_MAC=$(lb_mac)
	nsx client taskset -c 0 "$TOOLS/nfqlb-inject" -i eth0 -m "$_SINK_MAC" \
		-s "$src" -d "$dst" "$@" >/dev/null || fail "nfqlb-inject $* ($src -> $dst) failed"
}
