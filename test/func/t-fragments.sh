#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t-fragments: tiny and overlapping fragments at a load balancer without
# conntrack (DSR style: the mark decides, nothing is NATed).
#
#	client --- lb --- sink
#
# Without conntrack, lb's kernel does not reassemble what it forwards, so
# every fragment reaches NFQUEUE by itself (t-malformed shows what lb's
# defragmenter does to them in NAT mode).  For tiny (a TCP header split
# after 8 bytes) and overlapping (by 8 bytes) fragments, IPv4 and IPv6:
#   - `nfqlb stats` counts each fragment as kind "fragment", accepted;
#   - each datagram's fragments got the mark the reference model
#     (test/ref/predict.py) predicts for its 5-tuple (hash mode 5tuple: the
#     first fragment is hashed with its ports, the second takes its
#     decision), counted by mark in lb's FORWARD chain on their way to the
#     sink: twice the model's datagrams for each mark;
#   - the worker keeps running.
# t-frag-dsr checks fragments with state end to end.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

need_root
need_cmd ip iptables ip6tables timeout taskset
need_bins
[ -x "$TOOLS/nfqlb-inject" ] || fail "$TOOLS/nfqlb-inject is not built"

COPIES=5	# datagrams of each kind, 2 fragments each
IDS="101 102 103"

# marks CMD: "ID:PACKETS" for each id, from lb's FORWARD chain.
marks()
{
	local id

	for id in $IDS; do
		echo -n "$id:$(nsx lb "$1" -nvxL FORWARD |
			awk -v m="$(printf 'mark match 0x%x$' "$id")" '$0 ~ m { print $1 }') "
	done
}

fragments_are()
{
	[ "$("$NFQLB" stats --json | json_num fragment)" -eq "$1" ]
}

# predicted_marks PROTO VIP SPORTS: " ID:PACKETS " for each id, as marks
# prints them: 2 fragments for each source port the model sends to ID.
predicted_marks()
{
	local id p n

	predict_run --src "$(client_addr "$2")" --dst "$2" --proto "$1" \
		--ports "$3" || fail "predict.py: $PRED_OUT"
	for id in $IDS; do
		n=0
		while read -r p; do
			[ "${p#* }" = "$id" ] && n=$((n + 2))
		done <<<"$PRED_OUT"
		echo -n "$id:$n "
	done
}

# sum_is CMD N: the mark counters of CMD add up to N.
sum_is()
{
	[ "$(marks "$1" | tr ' ' '\n' | cut -d: -f2 | awk '{ s += $1 } END { print s + 0 }')" -eq "$2" ]
}

ns_add client lb sink
veth_add client eth0 lb c0
veth_add lb s0 sink eth0
addr_add client eth0 10.200.0.2/24 fd00:200::2/64
addr_add lb c0 10.200.0.1/24 fd00:200::1/64
addr_add lb s0 10.200.1.1/24 fd00:200:1::1/64
addr_add sink eth0 10.200.1.2/24 fd00:200:1::2/64
route_add client default 10.200.0.1
route_add client default fd00:200::1
forwarding_on lb
ip -n "$(ns lb)" route add "$VIP4/32" via 10.200.1.2 || fail "route"
ip -n "$(ns lb)" -6 route add "$VIP6/128" via fd00:200:1::2 || fail "route"
for ipt in iptables ip6tables; do
	vip=$VIP4
	[ $ipt = ip6tables ] && vip=$VIP6
	nsx lb $ipt -t mangle -A PREROUTING -d "$vip" -j NFQUEUE --queue-num 0 ||
		fail "$ipt"
	for id in $IDS; do
		nsx lb $ipt -A FORWARD -d "$vip" -m mark --mark "$id" || fail "$ipt"
	done
done
"$NFQLB" init || fail "init"
# shellcheck disable=SC2086
"$NFQLB" activate $IDS || fail "activate"
start_bg lb "$NFQLB" lb --queue 0
LB_PID=$BG_PID
wait_for lb_ready || fail "the worker did not start"

want=0
sport=40000
for fam in 4 6; do
	ipt=iptables
	[ $fam = 6 ] && ipt=ip6tables
	for kind in frag-tiny frag-overlap; do
		nsx lb $ipt -Z FORWARD
		inject $fam -c "$COPIES" -P "$sport" "$kind"
		sport=$((sport + COPIES))
		want=$((want + 2 * COPIES))
		wait_for fragments_are "$want" ||
			fail "IPv$fam $kind: $("$NFQLB" stats --json | json_num fragment) fragments counted, want $want"
		wait_for sum_is $ipt $((2 * COPIES)) ||
			fail "IPv$fam $kind: forwarded by mark: $(marks $ipt), want $((2 * COPIES)) in all"
		proto=tcp
		[ $kind = frag-overlap ] && proto=udp	# see nfqlb-inject -h
		vip=$VIP4
		[ $fam = 6 ] && vip=$VIP6
		want_marks=$(predicted_marks $proto "$vip" "$((sport - COPIES))-$((sport - 1))")
		[ "$(marks $ipt)" = "$want_marks" ] ||
			fail "IPv$fam $kind: marks $(marks $ipt), want $want_marks, the model's" \
				"targets for each datagram's 5-tuple"
		alive "$LB_PID" || fail "the worker died after IPv$fam $kind"
		info "IPv$fam $kind: $((2 * COPIES)) fragments, each on its datagram's target: $(marks $ipt)"
	done
done
json=$("$NFQLB" stats --json)
[ "$(echo "$json" | json_num malformed)" -eq 0 ] && [ "$(echo "$json" | json_num dropped)" -eq 0 ] ||
	fail "fragments were dropped: $json"
stop_pid "$LB_PID" 5 || fail "the worker exited with status $? on SIGTERM"
pass
