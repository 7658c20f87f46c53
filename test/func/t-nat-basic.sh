#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t-nat-basic: the core end-to-end case in NAT mode.
#
#	client --- lb --- t1, t2, t3
#
# lb queues new flows to the VIP to NFQUEUE 0, where `nfqlb lb` marks each
# packet with the chosen target's id, and iptables DNATs each mark to one
# target.  The ids are 101..103, not 1..3, to show the mark is the id.
# Checks: connections spread over all targets (TCP and UDP, IPv4 and IPv6):
# 20 flows per target from source ports the reference model sends there,
# each answered by its predicted target; a deactivated target gets no new
# connections (the model's table without it), `show --json` tells the
# generation and targets, traffic stops without the worker, and the worker
# exits 0 within 2 s of SIGTERM.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

need_root
need_cmd ip iptables ip6tables timeout
need_bins

K=20	# flows per target in each spread check

# expect_table GENERATION IDS: what `nfqlb show --json` reports.
expect_table()
{
	local json gen ids

	json=$("$NFQLB" show --json) || fail "nfqlb show --json failed"
	gen=$(echo "$json" | json_num generation)
	ids=$(echo "$json" | json_ids)
	[ "$gen" = "$1" ] || fail "show --json: generation $gen, want $1"
	[ "$ids" = "$2" ] || fail "show --json: targets \"$ids\", want \"$2\""
}

info "topology: client, lb, t1..t3"
topo_nat t1 t2 t3
nat_rules 101:1 102:2 103:3

info "table $NFQLB_SHM: init, activate 101 102 103"
"$NFQLB" init --M 997 || fail "nfqlb init failed"
expect_table 0 ""
"$NFQLB" activate 101 102 103 || fail "nfqlb activate failed"
expect_table 1 "101 102 103"

start_bg lb "$NFQLB" lb --queue 0
LB_PID=$BG_PID
wait_for lb_ready || fail "the lb worker did not attach to queue 0"
wait_for -n 20 lb_probe "$VIP4" 80 || fail "no answer through the worker"
alive "$LB_PID" || fail "the lb worker exited"

for proto in tcp udp; do
	for vip in "$VIP4" "$VIP6"; do
		info "$K $proto flows per target to $vip, each to its predicted target"
		spread_check "$vip" $proto $K
	done
done

info "deactivate 102"
"$NFQLB" deactivate 102 || fail "nfqlb deactivate failed"
expect_table 2 "101 103"
for vip in "$VIP4" "$VIP6"; do
	info "$K tcp flows per target to $vip without 102"
	spread_check "$vip" tcp $K
	[ "$(conn_count "$SPREAD_OUT" t2)" -eq 0 ] || fail "t2 answered after deactivate"
done

stats=$("$NFQLB" stats --json) || fail "nfqlb stats --json failed"
echo "$stats" | json_test 'any(t["id"] == 101 and t["active"] and t["packets"] > 0
	for t in j["targets"])' || fail "stats: no packets counted for 101: $stats"
echo "$stats" | json_test 'any(t["id"] == 102 and t["active"] is False
	for t in j["targets"])' || fail "stats: 102 is not inactive: $stats"

info "SIGTERM to the worker"
kill -TERM "$LB_PID"
gone()
{
	! alive "$LB_PID"
}
wait_until 2 gone || fail "the lb worker still runs 2 s after SIGTERM"
wait "$LB_PID"
rc=$?
[ $rc -eq 0 ] || fail "the lb worker exited with status $rc after SIGTERM"

info "without a worker the queue drops the VIP's traffic"
out=$(conn client -c 3 -t 300 "$VIP4" 80 2>/dev/null)
[ "$(conn_count "$out" failed)" -eq 3 ] ||
	fail "traffic passed without a worker: $(echo "$out" | tr '\n' ' ')"

pass
