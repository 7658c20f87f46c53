#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t-sctp-udp: SCTP over UDP (RFC 6951) with flows, on crafted packets, at a
# load balancer without conntrack (DSR style: the mark decides).
#
#	client --- lb --- sink	(VIP4, VIP4B, VIP6, VIP6B routed to sink)
#
# One flow, `--proto sctp --udp-encap 9899 --dst` the 4 VIPs, on a table
# with `--hash sctp` (101..104), served by `lb --flows --no-flow drop`.
# IPv4 and IPv6:
#   - for 4 association ports (inner SCTP source ports the reference model
#     puts one on each target), `nfqlb lookup --flows --proto sctp` names
#     the model's target, from every path;
#   - SCTP INITs over UDP 9899 with those inner ports, from 3 client
#     addresses to 2 VIPs (6 paths of one multihomed association each),
#     all leave with the mark lookup names for their inner ports: each
#     target gets its association's 6 (not re-keyed, they would match no
#     flow and be dropped; hashed on the outer UDP ports, they would all
#     have the ports 9899 -> 9899 and could not reach 4 targets);
#   - plain SCTP INITs of the same ports and paths get the same marks;
#   - SCTP over UDP to port 9900, which no flow names, is not re-keyed:
#     it matches no flow, is dropped and counted in `stats --flows` no_flow.
# At the end `stats --flows --json` counts every packet of the flow and the
# no-flow ones.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

need_root
need_cmd ip iptables ip6tables timeout taskset
need_bins
[ -x "$TOOLS/nfqlb-inject" ] || fail "$TOOLS/nfqlb-inject is not built"

FLOWS="$NFQLB_SHM-flows"
IDS="101 102 103 104"
SRCS4="10.200.0.2 10.200.0.3 10.200.0.4"
SRCS6="fd00:200::2 fd00:200::3 fd00:200::4"
DPORT=38412	# the associations' destination port
ENCAP=9899	# the flow's --udp-encap
OTHER=9900	# a UDP port no flow names

# flowstat EXPR: a Python expression on the parsed `stats --flows --json` (j).
flowstat()
{
	"$NFQLB" stats --flows "$FLOWS" --json | json_py "$1"
}

# no_flow_is N: stats --flows counts N no-flow packets.
no_flow_is()
{
	[ "$(flowstat 'j["no_flow"]')" -eq "$1" ]
}

# lookup_marks SPORT PATH...: the fwmarks `nfqlb lookup --flows --json`
# names for plain SCTP from SPORT to DPORT on each path (SRC@DST), each
# mark once, sorted ("None" for no mark).
lookup_marks()
{
	local p=$1 path all="["

	shift
	for path in "$@"; do
		all+=$("$NFQLB" lookup --flows "$FLOWS" --src "${path%@*}" --dst "${path#*@}" \
			--proto sctp --sport "$p" --dport $DPORT --json) || return 1
		all+=","
	done
	json_py 'sorted(set(str(x["fwmark"]) for x in j))' <<<"${all%,}]"
}

# shellcheck disable=SC2086
topo_sink_marks $IDS
"$NFQLB" init --hash sctp || fail "init --hash sctp"
# shellcheck disable=SC2086
"$NFQLB" activate $IDS || fail "activate"
"$NFQLB" flow set sctp --flows "$FLOWS" --table "$NFQLB_SHM" --proto sctp \
	--udp-encap $ENCAP --dst "$VIP4/32,$VIP4B/32,$VIP6/128,$VIP6B/128" ||
	fail "flow set sctp"
start_bg lb "$NFQLB" lb --queue 0 --flows "$FLOWS" --no-flow drop
LB_PID=$BG_PID
wait_for lb_ready || fail "the worker did not start"

sent=0
no_flow=0
for fam in 4 6; do
	ipt=iptables srcs=$SRCS4 vips="$VIP4 $VIP4B"
	[ $fam = 6 ] && ipt=ip6tables srcs=$SRCS6 vips="$VIP6 $VIP6B"
	paths=()
	for s in $srcs; do
		for v in $vips; do
			paths+=("$s@$v")
		done
	done
	# shellcheck disable=SC2086
	set -- $vips
	predict_run --src "$(client_addr "$1")" --dst "$1" --proto sctp --dport $DPORT \
		--first 6000 --per-target 1 || fail "predict.py: $PRED_OUT"

	info "IPv$fam: lookup names the model's target for each association, from every path"
	ids=""
	while read -r p id; do
		m=$(lookup_marks "$p" "${paths[@]}") || fail "IPv$fam: lookup sport $p failed"
		[ "$m" = "$id" ] ||
			fail "IPv$fam: lookup of sport $p over ${paths[*]}: marks $m, the model says $id"
		ids+="$id"$'\n'
	done <<<"$PRED_OUT"
	# What sink_marks prints when each association's paths have its mark.
	want=$(sort -n <<<"$ids" | awk -v n=${#paths[@]} 'NF { printf "%s:%d ", $1, n }')

	for kind in sctp-udp sctp-init; do
		proto=udp
		[ $kind = sctp-init ] && proto=sctp
		info "IPv$fam: $kind, 4 associations over ${#paths[@]} paths each"
		nsx lb $ipt -Z FORWARD
		while read -r p _; do
			for path in "${paths[@]}"; do
				sink_send "${path%@*}" "${path#*@}" -P "$p" -p $DPORT $kind
			done
		done <<<"$PRED_OUT"
		n=$((4 * ${#paths[@]}))
		sent=$((sent + n))
		wait_for sink_sum_is $ipt $proto $n ||
			fail "IPv$fam: $kind forwarded by mark: $(sink_marks $ipt $proto), want $n in all"
		[ "$(sink_marks $ipt $proto)" = "$want" ] ||
			fail "IPv$fam: $kind marks $(sink_marks $ipt $proto), lookup says $want"
		info "IPv$fam: $kind as lookup says: $(sink_marks $ipt $proto)"
	done

	info "IPv$fam: SCTP over UDP $OTHER is plain UDP: no flow, dropped"
	nsx lb $ipt -Z FORWARD
	while read -r p _; do
		sink_send "$(client_addr "$1")" "$1" -P "$p" -p $DPORT -U $OTHER sctp-udp
	done <<<"$PRED_OUT"
	no_flow=$((no_flow + 4))
	wait_for no_flow_is $no_flow ||
		fail "IPv$fam: stats --flows no_flow $(flowstat 'j["no_flow"]'), want $no_flow"
	sink_sum_is $ipt udp 0 ||
		fail "IPv$fam: SCTP over UDP $OTHER was forwarded: $(sink_marks $ipt udp)"
done

info "stats --flows: $sent packets of the flow, $no_flow of none"
[ "$(flowstat '[f["packets"] for f in j["flows"] if f["name"] == "sctp"][0]')" -eq "$sent" ] ||
	fail "stats --flows: $(flowstat 'j["flows"]'), want $sent packets for sctp"
[ "$(flowstat 'j["dropped"]')" -eq "$no_flow" ] ||
	fail "stats --flows: dropped $(flowstat 'j["dropped"]'), want $no_flow"
alive "$LB_PID" || fail "the worker died"
stop_pid "$LB_PID" 5 || fail "the worker exited with status $? on SIGTERM"
pass
