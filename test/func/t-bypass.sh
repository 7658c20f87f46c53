#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t-bypass: the worker dies under NFQUEUE --queue-bypass, and comes back.
#
#	client --- lb (VIP on lo, echo "lb") --- t1, t2, t3
#
# NAT mode, with the rules of `nfqlb rules --bypass` (every packet to the
# VIP queued, with --queue-bypass).  lb holds the VIPs and
# answers on port 80 as "lb", so "lb" answering means "accepted without a
# mark": not DNATed to a target.
#   - With the worker: flows from fixed source ports (nfqlb-flows) are
#     each answered by the target the reference model predicts for it
#     (test/ref/predict.py), which covers every target; their targets are
#     recorded.
#   - SIGKILL: the kernel unbinds the queue; new TCP and UDP connections
#     are accepted unmarked (answered by lb, mark 0) instead of dropped.
#     Connections opened before keep their target (conntrack holds the DNAT).
#   - Restart: the same table is used, so the same flows go to the same
#     targets as before, and new connections are balanced again.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

need_root
need_cmd ip iptables ip6tables timeout
need_bins
[ -x "$TOOLS/nfqlb-flows" ] || fail "$TOOLS/nfqlb-flows is not built"

FLOWS=40

# bypass_rules: `nfqlb rules --bypass` for both VIPs, NAT to t1..t3.
bypass_rules()
{
	local r4 r6 i nat4="" nat6=""

	for i in 1 2 3; do
		nat4="$nat4 --nat 10$i=$(target_addr4 $i)"
		nat6="$nat6 --nat 10$i=$(target_addr6 $i)"
	done
	# shellcheck disable=SC2086
	r4=$(nsx lb iptables-save | "$NFQLB" rules --vip "$VIP4" --bypass $nat4) ||
		fail "nfqlb rules (IPv4)"
	# shellcheck disable=SC2086
	r6=$(nsx lb ip6tables-save | "$NFQLB" rules --vip "$VIP6" --bypass $nat6) ||
		fail "nfqlb rules (IPv6)"
	echo "$r4" | grep -q -- '-j NFQUEUE .*--queue-bypass' ||
		fail "nfqlb rules --bypass: no --queue-bypass: $r4"
	echo "$r4" | nsx lb iptables-restore --noflush || fail "iptables-restore: $r4"
	echo "$r6" | nsx lb ip6tables-restore --noflush || fail "ip6tables-restore: $r6"
}

# flows VIP SPORT FILE: the target of each of FLOWS flows, into FILE.
flows()
{
	CONN_TIMEOUT=60 ip netns exec "$(ns client)" timeout 60 \
		"$TOOLS/nfqlb-flows" -P "$2" -c "$FLOWS" -t 1000 "$1" 80 >"$3" ||
		fail "flows to $1 failed: $(grep ' -$' "$3" | head -n 5 | tr '\n' ' ')"
}

# predicted VIP SPORT FILE: each flow of FILE (nfqlb-flows from SPORT) was
# answered by the target the reference model predicts for its port, and
# those targets are every one of t1..t3.  nfqlb-flows does not choose its
# source address: the kernel's choice is the flows'.
predicted()
{
	local want src

	src=$(nsx client ip route get "$1" | sed -n 's/.* src \([^ ]*\).*/\1/p')
	[ -n "$src" ] || fail "no source address towards $1"
	predict_run --src "$src" --dst "$1" --dport 80 \
		--ports "$2-$(($2 + FLOWS - 1))" || fail "predict.py: $PRED_OUT"
	want=$(echo "$PRED_OUT" | sed 's/ 10\([1-3]\)$/ t\1/')
	[ "$(echo "$want" | awk '{ print $2 }' | sort -u | tr '\n' ' ')" = "t1 t2 t3 " ] ||
		fail "the ports from $2 do not reach every target: $(echo "$want" | tr '\n' ' ')"
	[ "$(cat "$3")" = "$want" ] ||
		fail "flows to $1 reached other targets than the model predicts:" \
			"$(diff <(echo "$want") "$3" | sed -n 's/^> //p' | tr '\n' ' ')"
}

# answered_by VIP PROTO NAME: 20 exchanges, all answered by NAME (or, with
# NAME "targets", spread_all: 13 flows per target, each answered by its
# predicted target, never lb).
answered_by()
{
	local flag="" out

	if [ "$3" = targets ]; then
		spread_all "$1" "$2" 40
		return
	fi
	[ "$2" = udp ] && flag=-u
	# From the client's second address: lb's conntrack keeps these flows
	# undirected (answered by lb) for a while, and a later exchange from
	# the first address must never meet one.
	case $1 in
	*:*) flag="$flag -b fd00:200::3" ;;
	*) flag="$flag -b 10.200.0.3" ;;
	esac
	# shellcheck disable=SC2086 # flag holds options
	out=$(conn client -c 20 -t 1000 $flag "$1" 80) ||
		fail "$2 to $1: $(echo "$out" | tr '\n' ' ')"
	[ "$(conn_count "$out" "$3")" -eq 20 ] ||
		fail "$2 to $1: want 20 answers from $3: $(echo "$out" | tr '\n' ' ')"
}

bound()
{
	[ -n "$(proc_queue 0 2)" ]
}

unbound()
{
	! bound
}

unmarked_local()
{
	nsx lb iptables -nvxL INPUT | awk '/mark match 0x0$/ { s += $1 } END { print s + 0 }'
}

info "topology: client, lb with the VIP, t1..t3; NFQUEUE with --queue-bypass"
topo_nat t1 t2 t3
bypass_rules
target_names 101:t1 102:t2 103:t3
vip_on_lb
addr_add client eth0 10.200.0.3/24 fd00:200::3/64
nsx lb iptables -A INPUT -d "$VIP4" -m mark --mark 0 || fail "iptables"
"$NFQLB" init || fail "init"
"$NFQLB" activate 101 102 103 || fail "activate"

start_bg lb "$NFQLB" lb --queue 0
LB_PID=$BG_PID
wait_for bound || fail "the worker did not bind queue 0"

info "with the worker: $FLOWS flows each over IPv4 and IPv6"
flows "$VIP4" 20000 "$LOGDIR/before.4"
flows "$VIP6" 21000 "$LOGDIR/before.6"
predicted "$VIP4" 20000 "$LOGDIR/before.4"
predicted "$VIP6" 21000 "$LOGDIR/before.6"
for p in tcp udp; do
	answered_by "$VIP4" $p targets
done
# Long-lived connections across the death and the restart.
start_bg client "$TOOLS/nfqlb-conn" -c 10 -k 12 -t 3000 -F "$VIP4" 80
KEEP_PID=$BG_PID
established()
{
	[ "$(nsx client ss -Htn state established dst "$VIP4" | wc -l)" -eq 10 ]
}
wait_for established || fail "the long-lived connections did not open"

info "SIGKILL: packets are accepted unmarked, not dropped"
kill -KILL "$LB_PID"
wait "$LB_PID" 2>/dev/null
wait_for unbound || fail "queue 0 is still bound after SIGKILL"
"$NFQLB" stats --json |
	json_test 'not any(q["running"] for q in j["queues"] if q["queue"] == 0)' ||
	fail "stats shows the killed worker running: $("$NFQLB" stats --json | json_py 'j["queues"]')"
before=$(unmarked_local)
for vip in "$VIP4" "$VIP6"; do
	for p in tcp udp; do
		answered_by "$vip" $p lb
	done
done
after=$(unmarked_local)
[ "$after" -gt "$before" ] || fail "no unmarked packet counted on lb"
info "without a worker: 80 exchanges answered by lb; $((after - before)) unmarked IPv4 packets"

info "restart: the same flows reach the same targets"
start_bg lb "$NFQLB" lb --queue 0
LB_PID=$BG_PID
wait_for bound || fail "the restarted worker did not bind queue 0"
wait_for -n 20 lb_probe "$VIP4" 80 || fail "no answer through the restarted worker"
flows "$VIP4" 20000 "$LOGDIR/after.4"
flows "$VIP6" 21000 "$LOGDIR/after.6"
for f in 4 6; do
	diff -u "$LOGDIR/before.$f" "$LOGDIR/after.$f" >"$LOGDIR/diff.$f" ||
		fail "IPv$f flows moved after the restart: $(grep '^[-+][0-9]' "$LOGDIR/diff.$f" | tr '\n' ' ')"
done
for vip in "$VIP4" "$VIP6"; do
	for p in tcp udp; do
		answered_by "$vip" $p targets
	done
done

info "the connections held open across it"
conn_keep_end "$KEEP_PID"
wait "$KEEP_PID"
rc=$?
KEEP_LOG=$(echo "$LOGDIR"/client-nfqlb-conn-*.log)
[ $rc -eq 0 ] || fail "long-lived connections failed (exit $rc): $(tr '\n' ' ' <"$KEEP_LOG")"
grep -q '^failed 0$' "$KEEP_LOG" && grep -q '^moved 0$' "$KEEP_LOG" &&
	! grep -q '^lb ' "$KEEP_LOG" ||
	fail "long-lived connections: $(tr '\n' ' ' <"$KEEP_LOG")"
stop_pid "$LB_PID" 5 || fail "the worker exited with status $? on SIGTERM"
pass
