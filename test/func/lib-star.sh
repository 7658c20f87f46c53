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
