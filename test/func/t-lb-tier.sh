#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t-lb-tier: two load balancers with identical tables behind an ECMP router
# make the same choice, so a connection keeps its target when its packets
# switch from one load balancer to the other.
#
#	client --- router ==ECMP== lb1, lb2 --- t1..t4 (each lb to each target)
#	             `-------------------------- t1..t4 (replies, direct)
#
# Mode: all packets queued (`nfqlb rules --vip`), routing by fwmark (`nfqlb
# route add`), targets hold the VIP and answer straight to the router (DSR),
# so a load balancer sees only the client's packets and keeps nothing per
# connection.  The router hashes flows over lb1 and lb2 by their 5-tuple
# (fib_multipath_hash_policy=1, IPv4 and IPv6).  Each load balancer runs its
# own worker on its own table (lb1: $NFQLB_SHM, lb2: $NFQLB_SHM-lb2), both
# made by the same init and activate.
#
# Checks: the two tables are equal entry for entry; 2 x 16 long-lived
# connections (IPv4 and IPv6, nfqlb-conn -k, 4 per target from source
# ports the reference model sends there) cross both load balancers
# (both workers' queue counts grow); router's link to lb1 goes down; then
# lb1's worker sees no more packets, lb2's sees them all, and in the end no
# connection failed or changed target, and each was served by its
# predicted target.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

need_root
need_cmd ip iptables ip6tables iptables-restore ip6tables-restore timeout
need_bins

K=4	# long-lived connections per target and address family
SHM1=$NFQLB_SHM
SHM2=$NFQLB_SHM-lb2
IDS=(101 102 103 104)

# lookup SHM: the table's lookup entries, from `nfqlb show --json`.
lookup()
{
	"$NFQLB" show --shm "$1" --json | json_py 'j["lookup"]'
}

# running SHM: a worker has claimed a queue's counters in table SHM.
running()
{
	"$NFQLB" stats --shm "$1" --json | json_test 'any(q["running"] for q in j["queues"])'
}

# lb_setup K SHM: table SHM, rules, routes by mark and the worker in lbK.
lb_setup()
{
	local id i=0

	"$NFQLB" init --shm "$2" --M 997 || fail "nfqlb init --shm $2 failed"
	"$NFQLB" activate --shm "$2" "${IDS[@]}" || fail "nfqlb activate --shm $2 failed"
	for id in "${IDS[@]}"; do
		i=$((i + 1))
		fwmark_route "lb$1" "$id" "$(tier_addr4 "$1" $i)" "$(tier_addr6 "$1" $i)"
	done
	vip_rules "lb$1" --queue 0
	fwd_count_rules "lb$1"
	start_bg "lb$1" "$NFQLB" lb --shm "$2" --queue 0
	wait_for running "$2" ||
		fail "the worker in lb$1 did not start"
}

# both_answer: 20 short connections, spread by the router over both load
# balancers, all answered.
both_answer()
{
	local out

	out=$(CONN_TIMEOUT=10 conn client -c 20 -t 300 "$VIP4" 80 2>/dev/null) &&
		[ "$(conn_count "$out" failed)" -eq 0 ]
}

# carries NS SHM WHAT: the worker in NS classifies at least 2 packets per
# connection within 10 s.
carries()
{
	local q

	q=$(queue_packets 0 "$2")
	wait_until 10 queue_packets_over 0 $((q + 4 * KEEP_COUNT)) "$2" ||
		fail "no traffic through $1 $3 ($(queue_packets 0 "$2") packets)"
}

info "topology: client, router, lb1, lb2, t1..t4 holding the VIP"
topo_tier 2 t1 t2 t3 t4
target_names 101:t1 102:t2 103:t3 104:t4
lb_setup 1 "$SHM1"
lb_setup 2 "$SHM2"
[ -n "$(lookup "$SHM1")" ] && [ "$(lookup "$SHM1")" = "$(lookup "$SHM2")" ] ||
	fail "the two tables differ"
wait_for -n 50 both_answer || fail "the VIP does not answer through both load balancers"

info "$K long-lived connections per target and family through the router"
conn_keep_spread tier $K 10 8000
carries lb1 "$SHM1" "before the switch"
carries lb2 "$SHM2" "before the switch"
info "packets so far: lb1 $(queue_packets 0 "$SHM1"), lb2 $(queue_packets 0 "$SHM2")"

info "router: lb1's link down"
nsx router ip link set l1 down || fail "cannot take router's l1 down"
carries lb2 "$SHM2" "after the switch"
q1=$(queue_packets 0 "$SHM1")
carries lb2 "$SHM2" "after the switch"
q2=$(queue_packets 0 "$SHM1")
[ "$q2" -eq "$q1" ] || fail "lb1's worker still got $((q2 - q1)) packets after its link went down"
stats_save "$SHM1" "$SHM2"

conn_keep_end "$KEEP4" "$KEEP6"
conn_keep_check tier-4 "$KEEP4"
info "IPv4: $(grep -v "^port " <<<"$CONN_OUT" | tr '\n' ' ')"
conn_keep_check tier-6 "$KEEP6"
info "IPv6: $(grep -v "^port " <<<"$CONN_OUT" | tr '\n' ' ')"
info "packets in all: lb1 $(queue_packets 0 "$SHM1"), lb2 $(queue_packets 0 "$SHM2")"

pass
