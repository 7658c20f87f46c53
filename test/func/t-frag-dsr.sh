#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t-frag-dsr: fragments with state, in DSR style (routing by fwmark, the
# targets hold the VIP) without conntrack, hash mode 5tuple.
#
#	client --- lb --- t1, t2, t3
#
# Without conntrack lb's kernel does not reassemble, so each fragment
# reaches the worker by itself; the targets' kernels reassemble.  For IPv4
# and IPv6, one UDP flow (fixed ports) sends 50 datagrams of 48 bytes:
# even ones whole, odd ones in 3 fragments, every second of those last
# fragment first (nfqlb-inject udp-mix).  Checks:
#   - every datagram reaches, whole, the target the reference model
#     (test/ref/predict.py) predicts for the flow's 5-tuple, and no other
#     target gets any: the targets' UDP counters (InDatagrams + NoPorts
#     count only whole, checksummed datagrams).  The flow's source port is
#     one whose 5-tuple target differs from the target of its addresses
#     alone (the stateless key of a later fragment), so fragments that
#     followed that key would be lost;
#   - `nfqlb stats --json` counts the fragments tracked, held and released
#     (25 datagrams x 3 fragments, 12 reversed with 2 held each), none
#     timed out or dropped, and no verdict dropped;
#   - later fragments whose first never comes (nfqlb-inject frag-orphan)
#     are dropped after --frag-timeout and counted as timed out; no target
#     gets anything of them.
# With FRAG_FLOWS=1 (t-frag-flows) the same through `lb --flows`: one flow
# (UDP to the VIPs' port 5353) on the table, the counters from `stats
# --flows`.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

need_root
need_cmd ip iptables ip6tables taskset
need_bins
[ -x "$TOOLS/nfqlb-inject" ] || fail "$TOOLS/nfqlb-inject is not built"

COUNT=50	# datagrams per family
ORPHANS=5	# datagrams per family whose first fragment never comes
SPORT_FROM=41000	# the flows' source ports are chosen from here (flow_port)
DPORT=5353
FRAGS=$((COUNT / 2 * 3))	# fragments per family
HELD=$((COUNT / 4 * 2))		# copies 3, 7, ..., 47: 12, 2 held each
TIMEOUT_MS=200
FLOWS="$NFQLB_SHM-flows"

# stats_json: the counters the worker keeps: the table's, or the flow set's.
stats_json()
{
	if [ "${FRAG_FLOWS:-0}" = 1 ]; then
		"$NFQLB" stats --flows "$FLOWS" --json
	else
		"$NFQLB" stats --json
	fi
}

# udp_in NS FAM: whole UDP datagrams NS's kernel took, delivered or not
# (InDatagrams + NoPorts: both only after reassembly and the checksum).
udp_in()
{
	if [ "$2" = 4 ]; then
		nsx "$1" awk '$1 == "Udp:" && !h { for (i = 2; i <= NF; i++) c[$i] = i; h = 1; next }
			$1 == "Udp:" { print $c["InDatagrams"] + $c["NoPorts"] }' /proc/net/snmp
	else
		nsx "$1" awk '$1 == "Udp6InDatagrams" || $1 == "Udp6NoPorts" { s += $2 }
			END { print s + 0 }' /proc/net/snmp6
	fi
}

# got T FAM BASE N: target T took BASE + N datagrams of family FAM.
got()
{
	[ "$(udp_in "$1" "$2")" -eq $(($3 + $4)) ]
}

# frag_is EVENT N: `nfqlb stats --json` counts N fragments as EVENT.
frag_is()
{
	[ "$(stats_json | json_py 'j["fragments"][a[0]]' "$1")" -eq "$2" ]
}

# flow_port VIP: into SPORT and WANT, the first source port from
# SPORT_FROM whose flow to VIP the model sends to another target than the
# flow's fragments keyed without ports, and that target's name.
flow_port()
{
	local src p id frag

	src=$(client_addr "$1")
	predict_run --src "$src" --dst "$1" --proto udp --dport $DPORT --frag \
		--ports $SPORT_FROM || fail "predict.py: $PRED_OUT"
	frag=${PRED_OUT#* }
	predict_run --src "$src" --dst "$1" --proto udp --dport $DPORT \
		--ports $SPORT_FROM-$((SPORT_FROM + 99)) || fail "predict.py: $PRED_OUT"
	while read -r p id; do
		[ "$id" != "$frag" ] || continue
		SPORT=$p
		WANT=t$((id - 100))
		return 0
	done <<<"$PRED_OUT"
	fail "no port in $SPORT_FROM.. leads away from the fragments' target $frag"
}

frag_stats()
{
	stats_json | json_py 'j["fragments"]'
}

_topo_star t1 t2 t3
for t in t1 t2 t3; do
	vip_on_lo "$t"
done
rp_filter_off lb t1 t2 t3
fwmark_routes lb 101:1 102:2 103:3
# Queue everything to the VIPs; nothing here loads conntrack.
nsx lb iptables -t mangle -A PREROUTING -d "$VIP4" -j NFQUEUE --queue-num 0 ||
	fail "iptables"
nsx lb ip6tables -t mangle -A PREROUTING -d "$VIP6" -j NFQUEUE --queue-num 0 ||
	fail "ip6tables"
"$NFQLB" init --hash 5tuple || fail "init"
"$NFQLB" activate 101 102 103 || fail "activate"
serve=()
if [ "${FRAG_FLOWS:-0}" = 1 ]; then
	"$NFQLB" flow set dns --flows "$FLOWS" --table "$NFQLB_SHM" --proto udp \
		--dst "$VIP4/32,$VIP6/128" --dport $DPORT || fail "flow set"
	serve=(--flows "$FLOWS")
fi
start_bg lb "$NFQLB" lb --queue 0 "${serve[@]}" --frag-timeout "$TIMEOUT_MS" --frag-max 64
LB_PID=$BG_PID
wait_for lb_ready || fail "the worker did not start"

fams=0
for fam in 4 6; do
	vip=$VIP4
	[ $fam = 6 ] && vip=$VIP6
	flow_port "$vip"
	want=$WANT
	declare -A base=()
	for t in t1 t2 t3; do
		base[$t]=$(udp_in $t $fam)
	done
	inject $fam -F -P $SPORT -p $DPORT -c $COUNT udp-mix
	fams=$((fams + 1))
	wait_for got "$want" $fam "${base[$want]}" $COUNT ||
		fail "IPv$fam: $want (the model's target) took $(($(udp_in "$want" $fam) - base[$want]))" \
			"of $COUNT datagrams; fragments: $(frag_stats)"
	wait_for frag_is released $((fams * HELD)) ||
		fail "IPv$fam: fragments $(frag_stats), want $((fams * HELD)) released"
	for t in t1 t2 t3; do
		[ "$t" = "$want" ] && continue
		[ "$(udp_in $t $fam)" -eq "${base[$t]}" ] ||
			fail "IPv$fam: $t took $(($(udp_in $t $fam) - base[$t])) datagrams of the flow," \
				"all belong to $want"
	done
	frag_is tracked $((fams * (FRAGS - HELD))) && frag_is held $((fams * HELD)) &&
		frag_is timeout 0 && frag_is dropped 0 ||
		fail "IPv$fam: fragments $(frag_stats), want $((fams * (FRAGS - HELD))) tracked," \
			"$((fams * HELD)) held and released"
	info "IPv$fam: $COUNT datagrams, $((COUNT / 2)) in fragments, all whole at $want: $(frag_stats)"
done
[ "$(stats_json | json_num dropped)" -eq 0 ] || fail "verdicts dropped: $(stats_json)"

info "later fragments without their first: dropped after ${TIMEOUT_MS} ms"
declare -A base=()
for t in t1 t2 t3; do
	base[$t]="$(udp_in $t 4) $(udp_in $t 6)"
done
start=$(_now_us)
for fam in 4 6; do
	inject $fam -F -P $((SPORT + 1000)) -p $DPORT -c $ORPHANS frag-orphan
done
wait_for frag_is timeout $((4 * ORPHANS)) ||
	fail "orphans: fragments $(frag_stats), want $((4 * ORPHANS)) timed out"
waited=$(( ($(_now_us) - start) / 1000 ))
[ "$waited" -ge "$TIMEOUT_MS" ] || fail "orphans timed out after $waited ms, before $TIMEOUT_MS"
frag_is held $((2 * HELD + 4 * ORPHANS)) && frag_is released $((2 * HELD)) ||
	fail "orphans: fragments $(frag_stats)"
[ "$(stats_json | json_num dropped)" -eq $((4 * ORPHANS)) ] ||
	fail "orphans: want $((4 * ORPHANS)) verdicts dropped: $(stats_json)"
for t in t1 t2 t3; do
	[ "$(udp_in $t 4) $(udp_in $t 6)" = "${base[$t]}" ] ||
		fail "orphans: $t took datagrams: $(udp_in $t 4) $(udp_in $t 6), was ${base[$t]}"
done
info "orphans: $((4 * ORPHANS)) fragments dropped after $waited ms: $(frag_stats)"
alive "$LB_PID" || fail "the worker died"
stop_pid "$LB_PID" 5 || fail "the worker exited with status $? on SIGTERM"
pass
