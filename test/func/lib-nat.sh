# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash disable=SC2034  # a library: its globals are read by the scripts that source it
# lib-nat.sh: NAT mode on the star topology (lib-star.sh): targets behind
# lb's DNAT, the VIP on lb for what goes unmarked, crafted packets from the
# client, lb's queue as /proc shows it.
# Sourced by lib.sh; tests source lib.sh only.

# ---------------------------------------------------------------- NAT

# topo_nat NAME...: the NAT topology used by several tests.
#
#	client --- lb --- t1, t2, ... (one veth per target)
#
# client 10.200.0.2 / fd00:200::2 routes everything via lb (10.200.0.1 /
# fd00:200::1).  Target i is 10.200.i.2 / fd00:200:i::2, behind lb's
# 10.200.i.1 / fd00:200:i::1, and routes back via lb.  lb forwards; the VIP
# is on no host: lb's iptables DNAT turns it into a target address.  Each
# target runs nfqlb-echo on port 80 (TCP and UDP) answering with its NAME.
topo_nat()
{
	local i=0 t

	_topo_star "$@"
	for t in "$@"; do
		start_bg "$t" "$TOOLS/nfqlb-echo" -p 80 -n "$t"
	done
	for t in "$@"; do
		i=$((i + 1))
		wait_for nsx lb "$TOOLS/nfqlb-conn" -c 1 -t 200 "10.200.$i.2" 80 ||
			fail "target $t does not answer on 10.200.$i.2:80"
	done
}

# nat_rules ID:I...: in lb, queue TCP and UDP to the VIP on port 80 to
# NFQUEUE 0 (mangle PREROUTING), and DNAT each mark ID to target I's
# address (nat PREROUTING), for IPv4 and IPv6.  Target I's name (topo_nat's
# I-th NAME) becomes ID's for the checks of lib-predict.sh.
nat_rules()
{
	local pair id i p

	for p in tcp udp; do
		nsx lb iptables -t mangle -A PREROUTING -d "$VIP4" -p "$p" \
			--dport 80 -j NFQUEUE --queue-num 0 || fail "iptables"
		nsx lb ip6tables -t mangle -A PREROUTING -d "$VIP6" -p "$p" \
			--dport 80 -j NFQUEUE --queue-num 0 || fail "ip6tables"
	done
	for pair in "$@"; do
		id=${pair%%:*}
		i=${pair#*:}
		target_names "$id:${STAR_NAMES[i - 1]}"
		for p in tcp udp; do
			nsx lb iptables -t nat -A PREROUTING -d "$VIP4" -p "$p" \
				-m mark --mark "$id" -j DNAT --to-destination \
				"$(target_addr4 "$i"):80" || fail "iptables"
			nsx lb ip6tables -t nat -A PREROUTING -d "$VIP6" -p "$p" \
				-m mark --mark "$id" -j DNAT --to-destination \
				"[$(target_addr6 "$i")]:80" || fail "ip6tables"
		done
	done
}

# ---------------------------------------------------------------- robustness

# vip_on_lb: give lb the VIPs on lo and an nfqlb-echo named "lb" on port
# 80, so that a packet nfqlb did not mark (fail-open, --queue-bypass) is
# not DNATed and is answered by "lb" instead of a target.  Call after
# topo_nat.
vip_on_lb()
{
	ip -n "${NS_PREFIX}lb" addr add "$VIP4/32" dev lo || fail "VIP on lb"
	ip -n "${NS_PREFIX}lb" -6 addr add "$VIP6/128" dev lo nodad || fail "VIP6 on lb"
	# Bound to the VIPs, so that UDP answers come from them.
	start_bg lb "$TOOLS/nfqlb-echo" -4 -a "$VIP4" -p 80 -n lb
	start_bg lb "$TOOLS/nfqlb-echo" -6 -a "$VIP6" -p 80 -n lb
	# Not asked through the VIP: lb's own packets to it pass PREROUTING,
	# and the queue.
	wait_for _vip_listens || fail "the echo on lb does not listen on the VIPs"
}

_vip_listens()
{
	local l

	l=$(nsx lb ss -Hlntu)
	echo "$l" | grep -q "$VIP4:80 " && echo "$l" | grep -q "\[$VIP6\]:80 " &&
		[ "$(echo "$l" | grep -c ":80 ")" -ge 4 ]
}

# lb_mac: the MAC address of lb's interface towards the client.
lb_mac()
{
	ip -n "${NS_PREFIX}lb" -br link show c0 | awk '{ print $3 }'
}

# inject FAM ARGS...: nfqlb-inject from the client to the VIP of family
# FAM (4 or 6), from CPU 0 so that frames are handled in the order sent.
# The source is the client's address, or $INJECT_SRC4 / $INJECT_SRC6.
inject()
{
	local fam=$1 src=${INJECT_SRC4:-10.200.0.2} dst=$VIP4

	shift
	[ "$fam" = 6 ] && src=${INJECT_SRC6:-fd00:200::2} dst=$VIP6
	nsx client taskset -c 0 "$TOOLS/nfqlb-inject" -i eth0 -m "$(lb_mac)" \
		-s "$src" -d "$dst" "$@" >/dev/null ||
		fail "nfqlb-inject $* (IPv$fam) failed"
}

# proc_queue Q COLUMN: a column of queue Q's row in lb's
# /proc/net/netfilter/nfnetlink_queue (3 waiting, 6 queue dropped, 7 user
# dropped); empty while nobody is bound to Q.
proc_queue()
{
	nsx lb awk -v q="$1" -v c="$2" '$1 == q { print $c }' \
		/proc/net/netfilter/nfnetlink_queue
}
