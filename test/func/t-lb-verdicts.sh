#!/bin/bash
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

# forwarded ID: packets from the client that lb forwarded with mark ID.
forwarded()
{
	nsx lb iptables -t mangle -nvxL FORWARD |
		awk -v m="$(printf '0x%x' "$1")" '$0 ~ "mark match " m "$" { print $1 }'
}

# counted ID: packets the worker gave to target ID.
counted()
{
	stats_target "$1"
}

total_forwarded()
{
	echo $(( $(forwarded 101) + $(forwarded 102) + $(forwarded 103) ))
}

# settled N: the kernel forwarded N packets so far.
settled()
{
	[ "$(total_forwarded)" -eq "$1" ]
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
base=$(( $(counted 101) + $(counted 102) + $(counted 103) ))
wait_for settled "$base" || fail "probe packets: counted $base, forwarded $(total_forwarded)"

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
	want=$(( $(counted 101) + $(counted 102) + $(counted 103) ))
	[ "$want" -gt "$base" ] || fail "the worker counted no new packets"
	wait_for -n 100 settled "$want" ||
		fail "worker counted $want packets, the kernel forwarded $(total_forwarded)"
	for id in 101 102 103; do
		[ "$(counted $id)" -eq "$(forwarded $id)" ] ||
			fail "target $id: worker counted $(counted $id), kernel forwarded $(forwarded $id) with its mark"
		[ "$(forwarded $id)" -gt 0 ] || fail "target $id got nothing"
	done
	base=$want
done

pass
