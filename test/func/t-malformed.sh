#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t-malformed: malformed packets on the wire, in NAT mode.
#
#	client --- lb --- t1, t2, t3
#
# The client injects crafted frames with nfqlb-inject (AF_PACKET on its
# veth, so its own kernel fixes nothing) at the VIP; lb queues every packet
# to the VIP, whatever its protocol, to NFQUEUE 0.  For each kind of bad
# packet the test knows whether lb's kernel lets it through to NFQUEUE (and
# how it arrives) or drops it in the IP layer first, and checks:
#   - exactly the expected packets reach `nfqlb lb`, counted under the
#     expected kind with the expected verdict (`nfqlb stats`), and the ones
#     the kernel drops show in lb's own IP counters (nstat);
#   - the worker keeps running, and logs nothing per packet;
#   - good TCP traffic, alone and mixed with a second round of bad packets,
#     is balanced over all targets: the echo names, and the per-target
#     counters, which count every accepted packet.
# lb runs conntrack (NAT), so lb's defragmenter sees fragments before
# NFQUEUE; t-fragments covers a load balancer without conntrack.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

need_root
need_cmd ip iptables ip6tables timeout taskset nstat
need_bins
[ -x "$TOOLS/nfqlb-inject" ] || fail "$TOOLS/nfqlb-inject is not built"

COPIES=5	# copies of each bad packet
IDS=(101 102 103)

# The expected fate of each kind, per family: "KIND VERDICT [SNMP]" when
# each copy reaches nfqlb as one packet of KIND, or "- - SNMP" when lb's IP
# layer drops it and counts it in SNMP.
declare -A FATE4=(
	[ip-short]="- - IpInHdrErrors"
	[ihl-long]="- - IpInHdrErrors"
	[ihl-short]="- - IpInHdrErrors"
	[len-long]="- - IpExtInTruncatedPkts"
	[len-short]="- - IpInHdrErrors"
	[csum]="- - IpExtInCsumErrors"
	[len-trim]="l4 accepted"
	[tcp-doff]="malformed dropped"
	[frag-tiny]="l4 accepted IpReasmOKs"
	[frag-overlap]="- - IpExtReasmOverlaps"
	[icmp-trunc]="malformed dropped"
	[icmp-noports]="icmp-error accepted"
)
declare -A FATE6=(
	[ip-short]="- - Ip6InHdrErrors"
	[len-long]="- - Ip6InTruncatedPkts"
	[len-trim]="l4 accepted"
	[tcp-doff]="malformed dropped"
	[ext-past]="malformed dropped"
	[hbh-past]="- - Ip6InHdrErrors"
	[ext-many]="l3 accepted"
	[frag-tiny]="fragment accepted"
	[frag-overlap]="- - -"
	[icmp-trunc]="malformed dropped"
	[icmp-noports]="icmp-error accepted"
)
KINDS4="ip-short ihl-long ihl-short len-long len-short csum len-trim tcp-doff frag-tiny frag-overlap icmp-trunc icmp-noports"
KINDS6="ip-short len-long len-trim tcp-doff ext-past hbh-past ext-many frag-tiny frag-overlap icmp-trunc icmp-noports"
SPORT=30000	# each injection takes the next COPIES source ports (and IP ids)
COUNTERS="l4 icmp-echo icmp-error fragment l3 malformed accepted dropped no_target"
declare -A EXP

# counters: the values of COUNTERS in `nfqlb stats --json`, one line.
counters()
{
	# shellcheck disable=SC2086 # COUNTERS is a list
	"$NFQLB" stats --json | json_py '[next((v for k, v in walk(j)
		if k == key and type(v) is int), "") for key in a]' $COUNTERS
}

expected()
{
	local c out=""

	for c in $COUNTERS; do
		out="$out ${EXP[$c]}"
	done
	echo "${out# }"
}

counters_are_expected()
{
	[ "$(counters)" = "$(expected)" ]
}

snmp()
{
	nsx lb nstat -asz "$1" | awk -v k="$1" '$1 == k { print $2 }'
}

# target_packets ID: packets counted for target ID.
target_packets()
{
	stats_target "$1"
}

# fate FAM KIND: KIND's expected fate in family FAM (FATE4 or FATE6).
fate()
{
	if [ "$1" = 4 ]; then echo "${FATE4[$2]}"; else echo "${FATE6[$2]}"; fi
}

# check_kind FAM KIND: inject COPIES of KIND and an echo request as a fence;
# once the fence is counted, every counter must be exactly as expected.
check_kind()
{
	local fam=$1 kind=$2 mib before after

	read -r nk verdict mib <<<"$(fate "$fam" "$kind")"
	[ -n "$mib" ] && [ "$mib" != - ] && before=$(snmp "$mib")
	inject "$fam" -c "$COPIES" -P "$SPORT" "$kind"
	SPORT=$((SPORT + COPIES))
	inject "$fam" -P 30999 echo
	EXP[icmp-echo]=$((EXP[icmp-echo] + 1))
	EXP[accepted]=$((EXP[accepted] + 1))
	if [ "$nk" != - ]; then
		EXP[$nk]=$((EXP[$nk] + COPIES))
		EXP[$verdict]=$((EXP[$verdict] + COPIES))
	fi
	wait_for -n 250 -i 0.02 counters_are_expected ||
		fail "IPv$fam $kind: counters ($COUNTERS) are $(counters), want $(expected)"
	if [ -n "$mib" ] && [ "$mib" != - ]; then
		after=$(snmp "$mib")
		[ $((after - before)) -eq "$COPIES" ] ||
			fail "IPv$fam $kind: lb's $mib went up by $((after - before)), want $COPIES"
	fi
	alive "$LB_PID" || fail "the worker died after IPv$fam $kind"
	if [ "$nk" = - ]; then
		info "IPv$fam $kind: dropped by lb's kernel (${mib})"
	else
		info "IPv$fam $kind: reaches nfqlb as $nk, $verdict"
	fi
}

# send_again FAM KIND: COPIES more of KIND, with good traffic alongside;
# counts them in EXP, but for the l4 and accepted counters, which the good
# traffic moves too.
send_again()
{
	local nk verdict

	read -r nk verdict _ <<<"$(fate "$1" "$2")"
	inject "$1" -c "$COPIES" -P "$SPORT" "$2"
	SPORT=$((SPORT + COPIES))
	[ "$nk" != - ] && [ "$nk" != l4 ] && EXP[$nk]=$((EXP[$nk] + COPIES))
	[ "$verdict" = dropped ] && EXP[dropped]=$((EXP[dropped] + COPIES))
}

# target_packets_at_least ID N
target_packets_at_least()
{
	[ "$(target_packets "$1")" -ge "$2" ]
}

# good_traffic VIP FILE: 20 TCP exchanges per target into FILE, from
# source ports the reference model sends to it; each answered by its
# predicted target (spread_check).
good_traffic()
{
	spread_check "$1" tcp 20
	echo "$SPREAD_OUT" >"$2"
}

info "topology: client, lb, t1..t3; every packet to the VIP is queued"
topo_nat t1 t2 t3
nat_rules 101:1 102:2 103:3
# Without -p: the tcp match would drop a bad TCP header before NFQUEUE.
nsx lb iptables -t mangle -I PREROUTING -d "$VIP4" -j NFQUEUE --queue-num 0 ||
	fail "iptables"
nsx lb ip6tables -t mangle -I PREROUTING -d "$VIP6" -j NFQUEUE --queue-num 0 ||
	fail "ip6tables"
# The client's kernel answers what the targets send back to the crafted
# packets (RST, port unreachable); those answers must not reach the queue.
for ipt in iptables ip6tables; do
	nsx client $ipt -A OUTPUT -p tcp --sport 30000:30999 -j DROP || fail "$ipt"
done
nsx client iptables -A OUTPUT -p icmp --icmp-type destination-unreachable -j DROP ||
	fail "iptables"
nsx client ip6tables -A OUTPUT -p icmpv6 --icmpv6-type destination-unreachable -j DROP ||
	fail "ip6tables"

"$NFQLB" init || fail "init"
"$NFQLB" activate "${IDS[@]}" || fail "activate"
start_bg lb "$NFQLB" lb --queue 0
LB_PID=$BG_PID
wait_for lb_ready || fail "the worker did not start"
LB_LOG=$(echo "$LOGDIR"/lb-nfqlb-*.log)
for c in $COUNTERS; do
	EXP[$c]=0
done

info "round 1: $COPIES copies of each bad packet, one kind at a time"
for k in $KINDS4; do
	check_kind 4 "$k"
done
for k in $KINDS6; do
	check_kind 6 "$k"
done

info "round 2: good TCP traffic alone"
before=$(counters)
declare -A TB
for id in "${IDS[@]}"; do
	TB[$id]=$(target_packets "$id")
done
good_traffic "$VIP4" "$LOGDIR/good.4"
good_traffic "$VIP6" "$LOGDIR/good.6"
out4=$(cat "$LOGDIR/good.4")
out6=$(cat "$LOGDIR/good.6")
# Each exchange queues at least SYN, ACK and data to its target; wait for
# the last of them, then every accepted packet must be counted for a target.
i=0
sum=0
for id in "${IDS[@]}"; do
	i=$((i + 1))
	n=$(($(conn_count "$out4" "t$i") + $(conn_count "$out6" "t$i")))
	wait_for target_packets_at_least "$id" "$((TB[$id] + 3 * n))"
	d=$(($(target_packets "$id") - TB[$id]))
	[ "$d" -ge $((3 * n)) ] || fail "target $id: $d packets for $n exchanges"
	sum=$((sum + d))
	info "target $id (t$i): $n exchanges, $d packets"
done
after=$(counters)
acc=$(($(echo "$after" | cut -d' ' -f7) - $(echo "$before" | cut -d' ' -f7)))
[ "$sum" -eq "$acc" ] || fail "targets counted $sum packets, verdicts accepted $acc"
[ "$(echo "$after" | cut -d' ' -f8)" = "$(echo "$before" | cut -d' ' -f8)" ] ||
	fail "good traffic had packets dropped: $before -> $after"

info "round 3: good TCP traffic while every bad packet is sent again"
bgout="$LOGDIR/mixed.out"
declare -A MIXWANT
for f in 4 6; do
	vip=$VIP4
	[ $f = 6 ] && vip=$VIP6
	predict "$(client_addr "$vip")" "$vip" tcp 80 50
	MIXWANT[$f]=$PRED_WANT
	(conn client -P "$PRED_PORTS" -b "$(client_addr "$vip")" -r 50 -t 1000 "$vip" 80 \
		>"$bgout.$f" 2>&1; echo "rc $?" >>"$bgout.$f") &
	[ $f = 4 ] && mix4=$! || mix6=$!
done
for k in $KINDS4; do
	send_again 4 "$k"
done
for k in $KINDS6; do
	send_again 6 "$k"
done
inject 4 -P 30999 echo
EXP[icmp-echo]=$((EXP[icmp-echo] + 1))
wait "$mix4" "$mix6"
for f in 4 6; do
	expect_predicted "good IPv$f traffic next to bad packets" \
		"$(grep -v '^rc ' "$bgout.$f")" "$(sed -n 's/^rc //p' "$bgout.$f")" "${MIXWANT[$f]}"
done
# Good traffic is all l4 and accepted: every other counter is exact.
exact_but_l4()
{
	local got want

	got=$(counters | awk '{ print $2, $3, $4, $5, $6, $8, $9 }')
	want=$(expected | awk '{ print $2, $3, $4, $5, $6, $8, $9 }')
	[ "$got" = "$want" ]
}
wait_for -n 100 exact_but_l4 ||
	fail "mixed round: counters ($COUNTERS) are $(counters), want $(expected) (l4 and accepted aside)"
info "mixed round: $(counters) ($COUNTERS)"

alive "$LB_PID" || fail "the worker died"
lines=$(grep -c . "$LB_LOG")
[ "$lines" -le 4 ] || fail "the worker logged $lines lines: $(tail -n 5 "$LB_LOG")"
stop_pid "$LB_PID" 5
rc=$?
[ $rc -eq 0 ] || fail "the worker exited with status $rc on SIGTERM"
pass
