#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t-bpf-flows: one flow set served with the fast path (`lb --flows NAME
# --bpf c0`) and without it: the same 1,024 flows get the same marks.
#
#	client --- lb --- sink		(lb routes the VIPs to the sink)
#
# The flow set: web (TCP 80 to VIP4 and VIP6) in table a (5tuple, 101..103),
# dns (UDP 53 to them) in table b (addr, 201..203), dnsnet (prio 20: UDP 53
# from two of the client's four addresses per family) and alt (TCP and UDP
# 5000-5999 to VIP4B and VIP6B) in table c (5tuple, M 251, seed 7, 301 302).
# The client sends 1,024 flows, each one packet (a UDP datagram or a TCP
# SYN) from its own address and source port: 32 per client address,
# family and service.  One rule per flow in lb counts the flow's packets
# that lb forwards with the mark the reference model (test/ref) predicts
# in the table the flow set gives it.  The queue rules are those of `nfqlb
# rules --flows --bpf`, which queue only unmarked packets (the fast path's
# skip the queue).
#   - with --bpf: every flow's one packet is forwarded with its predicted
#     mark; the fast path's counter sets count all 1,024 and the queues'
#     none (stats); 64 more dns flows from an address of table b, and at
#     once dns moves to table c: b's fast path count holds all 64 (a table
#     let go takes its counter set with it); the exit line says 1,088
#     marked;
#   - without --bpf: the same 1,024 packets again, each with the same mark
#     (each flow's rule has counted 2), all through the queue.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

need_root
need_cmd ip iptables ip6tables iptables-restore ip6tables-restore timeout
need_bins

FLOWS="$NFQLB_SHM-flows"
TA="$NFQLB_SHM-a"
TB="$NFQLB_SHM-b"
TC="$NFQLB_SHM-c"
PER=32		# flows per group
NFLOWS=1024	# 32 groups of PER

info "topology: client (4 addresses per family) --- lb --- sink"
topo_sink
addr_add client eth0 10.200.0.3/24 10.200.0.4/24 10.200.0.5/24 \
	fd00:200::3/64 fd00:200::4/64 fd00:200::5/64
# Neighbours fixed before the bursts (neigh_fix).
neigh_fix client 10.200.0.1 lb c0 eth0
neigh_fix client fd00:200::1 lb c0 eth0
neigh_fix lb 10.200.1.2 sink eth0 t1
neigh_fix lb fd00:200:1::2 sink eth0 t1

info "tables a (5tuple), b (addr), c (5tuple, M 251, seed 7); 4 flows"
"$NFQLB" init --shm "$TA" && "$NFQLB" activate --shm "$TA" 101 102 103 || fail "table a"
"$NFQLB" init --shm "$TB" --hash addr && "$NFQLB" activate --shm "$TB" 201 202 203 ||
	fail "table b"
"$NFQLB" init --shm "$TC" --M 251 --seed 7 && "$NFQLB" activate --shm "$TC" 301 302 ||
	fail "table c"
fset()
{
	"$NFQLB" flow set "$@" --flows "$FLOWS" >/dev/null || fail "flow set $1"
}
fset web --table "$TA" --proto tcp --dst "$VIP4/32,$VIP6/128" --dport 80
fset dns --table "$TB" --proto udp --dst "$VIP4/32,$VIP6/128" --dport 53
fset dnsnet --table "$TC" --prio 20 --proto udp --src 10.200.0.4/31,fd00:200::4/127 \
	--dst "$VIP4/32,$VIP6/128" --dport 53
fset alt --table "$TC" --proto tcp,udp --dst "$VIP4B/32,$VIP6B/128" --dport 5000-5999

info "$NFLOWS flows and their predicted marks"
g=0
for fam in 4 6; do
	for i in 2 3 4 5; do
		if [ $fam = 4 ]; then
			src=10.200.0.$i vip=$VIP4 vipb=$VIP4B
		else
			src=fd00:200::$i vip=$VIP6 vipb=$VIP6B
		fi
		dns=$TB
		[ "$i" -ge 4 ] && dns=$TC
		for grp in "$vip tcp 80 $TA" "$vip udp 53 $dns" "$vipb udp 5353 $TC" \
			"$vipb tcp 5001 $TC"; do
			echo "$src $grp $((20000 + g * PER)) $PER"
			g=$((g + 1))
		done
	done
done >"$LOGDIR/groups"
for t in "$TA" "$TB" "$TC"; do
	"$NFQLB" show --shm "$t" --json >"$LOGDIR/show-$t.json" || fail "show $t"
done
"$PYTHON" -S "$_libdir/bpf-flows.py" plan "$LOGDIR/groups" \
	"$TA=$LOGDIR/show-$TA.json" "$TB=$LOGDIR/show-$TB.json" \
	"$TC=$LOGDIR/show-$TC.json" >"$LOGDIR/flows" || fail "bpf-flows.py plan"
[ "$(wc -l <"$LOGDIR/flows")" -eq $NFLOWS ] || fail "the plan has not $NFLOWS flows"
[ "$(awk '{ print $6 }' "$LOGDIR/flows" | sort -u | tr '\n' ' ')" = \
	"101 102 103 201 202 203 301 302 " ] || fail "the flows do not reach every target"

info "lb: rules --flows --bpf (marked packets pass by), one counting rule per flow"
rules_in lb ip --flows "$FLOWS" --bpf
rules_in lb ip6 --flows "$FLOWS" --family 6 --bpf
grep -q -e '-m mark --mark 0 -j NFQUEUE' "$LOGDIR/rules-lb-ip.log" "$LOGDIR/rules-lb-ip6.log" ||
	fail "rules --flows --bpf: no rule that queues only unmarked packets"
arrived_rule
for ipt in iptables ip6tables; do
	awk -v six="$([ $ipt = ip6tables ] && echo 1)" '
		BEGIN { print "*filter"; print ":bpf-flows - [0:0]" }
		(index($2, ":") > 0) == (six == 1) {
			printf "-A bpf-flows -s %s -d %s -p %s --sport %s --dport %s -m mark --mark %s\n",
				$1, $2, $3, $4, $5, $6
		}
		END { print "-A FORWARD -i c0 -m comment --comment bpf-all -j bpf-flows"; print "COMMIT" }
	' "$LOGDIR/flows" | nsx lb "$ipt-restore" --noflush || fail "$ipt-restore: the flows' rules"
done

# flows_marked N: each flow's rule counted N packets (its mark, N sends);
# the flows that did not are in BAD.
flows_marked()
{
	BAD=$({
		nsx lb iptables-save -c -t filter
		nsx lb ip6tables-save -c -t filter
	} | grep -e '-A bpf-flows ' | grep -v "^\[$1:" | head -n 5)
	[ -z "$BAD" ] && [ "$({
		nsx lb iptables-save -c -t filter
		nsx lb ip6tables-save -c -t filter
	} | grep -c -e "^\[$1:.*-A bpf-flows ")" -eq $NFLOWS ]
}

# run N WHAT: send every flow once more (the N-th time); each must be
# forwarded, with its predicted mark.
run()
{
	local f0

	f0=$(from_client)
	nsx client timeout 30 "$PYTHON" -S "$_libdir/bpf-flows.py" send "$LOGDIR/flows" ||
		fail "$2: cannot send the flows"
	wait_until 10 from_client_is $((f0 + NFLOWS)) ||
		fail "$2: lb forwarded $(($(from_client) - f0)) packets, want $NFLOWS" \
			"($(arrived) arrived in all)"
	flows_marked "$1" || fail "$2: flows forwarded without their predicted mark" \
		"(counted, rule): $BAD"
}

# flow_packets: the packets of every flow, from stats --flows, summed.
flow_packets()
{
	"$NFQLB" stats --flows "$FLOWS" --json | json_py 'sum(f["packets"] for f in j["flows"])'
}

flow_packets_are()
{
	[ "$(flow_packets)" = "$1" ]
}

info "with --bpf c0: every flow marked as predicted, by the fast path"
lb_bpf_start lb c0 --flows "$FLOWS"
read -r fp0 q0 <<<"$(fp_counts "$TA" "$TB" "$TC")"
fl0=$(flow_packets)
run 1 "with --bpf"
wait_until 5 fp_counts_are $((fp0 + NFLOWS)) "$q0" "$TA" "$TB" "$TC" ||
	fail "with --bpf: fast path and queue counted $(fp_counts "$TA" "$TB" "$TC")," \
		"want $((fp0 + NFLOWS)) and $q0"
wait_until 5 flow_packets_are $((fl0 + NFLOWS)) ||
	fail "with --bpf: stats --flows counted $(($(flow_packets) - fl0)) packets for the flows," \
		"want $NFLOWS"

info "dns moves to table c: what the fast path marked for table b stays counted"
# 64 more dns flows in table b, then, at once, dns leaves table b: the
# fast path must have added their counts to b's before it lets b go.
for ((p = 30000; p < 30064; p++)); do
	echo "10.200.0.2 $VIP4 udp $p 53 0"
done >"$LOGDIR/more-dns"
read -r fpb _ <<<"$(fp_counts "$TB")"
f=$(from_client)
nsx client timeout 10 "$PYTHON" -S "$_libdir/bpf-flows.py" send "$LOGDIR/more-dns" ||
	fail "cannot send the dns flows"
wait_until 5 from_client_is $((f + 64)) || fail "the dns flows were not forwarded"
fset dns --table "$TC" --proto udp --dst "$VIP4/32,$VIP6/128" --dport 53
fp_b_is()
{
	[ "$(fp_counts "$TB" | cut -d' ' -f1)" -eq "$1" ]
}
wait_until 3 fp_b_is $((fpb + 64)) ||
	fail "the fast path counted $(($(fp_counts "$TB" | cut -d' ' -f1) - fpb)) of 64" \
		"packets for table b once dns had left it"
fset dns --table "$TB" --proto udp --dst "$VIP4/32,$VIP6/128" --dport 53
lb_stop TERM
grep -q "fastpath: $((NFLOWS + 64)) packets marked" "$LB_LOG" ||
	fail "the worker's last line is not \"$((NFLOWS + 64)) packets marked\": $(tail -n 1 "$LB_LOG")"

info "without --bpf: the same marks, through the queue"
start_bg lb "$NFQLB" lb --queue 0 --flows "$FLOWS"
LB_PID=$BG_PID
NFQLB_SHM=$TA wait_for lb_ready || fail "the worker did not start"
read -r fp0 q0 <<<"$(fp_counts "$TA" "$TB" "$TC")"
run 2 "without --bpf"
wait_until 5 fp_counts_are "$fp0" $((q0 + NFLOWS)) "$TA" "$TB" "$TC" ||
	fail "without --bpf: fast path and queue counted $(fp_counts "$TA" "$TB" "$TC")," \
		"want $fp0 and $((q0 + NFLOWS))"
lb_stop TERM
pass
