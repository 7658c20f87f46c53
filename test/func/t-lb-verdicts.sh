#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t-lb-verdicts: every packet leaves the worker with the mark the worker
# chose for it, also when verdicts go out as batches (consecutive packets
# with the same mark are answered with one NFQNL_MSG_VERDICT_BATCH).
# Bursts of UDP over many flows, in long runs of one flow and in
# interleaved flows, cross the worker with 3 targets; the packets the
# worker counted for each target must equal the packets the kernel
# forwarded with that target's mark, exactly.  The 64 flows come from
# source ports whose targets the reference model predicts, which cover
# every target: each target must get packets.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

need_root
need_cmd ip iptables timeout
need_bins
[ -x "$TOOLS/nfqlb-blast" ] || fail "$TOOLS/nfqlb-blast is not built"

# counted_all: "N101 N102 N103", the packets the worker gave to each
# target, from one read of its counters.
counted_all()
{
	"$NFQLB" stats --json | json_py \
		'[next(t["packets"] for t in j["targets"] if t["id"] == i) for i in (101, 102, 103)]'
}

# forwarded_all: "F101 F102 F103", the packets lb forwarded with each
# target's mark, from one read of the rules.
forwarded_all()
{
	nsx lb iptables -t mangle -nvxL FORWARD | awk '
		/mark match 0x65$/ { a = $1 } /mark match 0x66$/ { b = $1 }
		/mark match 0x67$/ { c = $1 } END { print a + 0, b + 0, c + 0 }'
}

# matched: the worker's counts and the kernel's agree, target by target
# (once the queue has drained they must: a packet is counted when its
# verdict goes out), and COUNTED holds them.
matched()
{
	COUNTED=$(counted_all)
	[ -n "$COUNTED" ] && [ "$COUNTED" = "$(forwarded_all)" ]
}


topo_nat t1 t2 t3
nat_rules 101:1 102:2 103:3
for id in 101 102 103; do
	nsx lb iptables -t mangle -A FORWARD -i c0 -m mark --mark "$id" || fail "iptables"
done
"$NFQLB" init || fail "init"
"$NFQLB" activate 101 102 103 || fail "activate"
start_bg lb "$NFQLB" lb
wait_for lb_ready || fail "the worker did not start"
wait_for -n 20 lb_probe "$VIP4" 80 || fail "no answer through the worker"
wait_until 10 matched ||
	fail "probe packets: counted $(counted_all), forwarded $(forwarded_all)"
BEFORE=$COUNTED

for batch in 32 1 5; do
	info "bursts of $batch packets per flow, 64 flows"
	sport=$SPORT_NEXT
	SPORT_NEXT=$((sport + 64))
	predict_run --src "$(client_addr "$VIP4")" --dst "$VIP4" --proto udp --dport 80 \
		--ports "$sport-$((sport + 63))" || fail "predict.py: $PRED_OUT"
	[ "$(awk '{ print $2 }' <<<"$PRED_OUT" | sort -u | tr '\n' ' ')" = "101 102 103 " ] ||
		fail "the model does not spread ports $sport.. over 101 102 103"
	nsx client timeout 20 "$TOOLS/nfqlb-blast" send -c -S "$sport" -f 64 -b "$batch" \
		-r 20000 -d 1 "$VIP4" 80 >/dev/null || fail "the blaster failed"
	wait_until 20 matched ||
		fail "per target 101 102 103, the worker counted $(counted_all)," \
			"the kernel forwarded $(forwarded_all) with its mark"
	read -r -a after <<<"$COUNTED"
	read -r -a before <<<"$BEFORE"
	for i in 0 1 2; do
		[ "${after[i]}" -gt "${before[i]}" ] || fail "target 10$((i + 1)) got nothing"
	done
	info "101 102 103 so far, counted by the worker and forwarded alike: $COUNTED"
	BEFORE=$COUNTED
done

pass
