#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t-sctp: the hash mode sctp on crafted SCTP packets (the kernel here has no
# SCTP sockets), at a load balancer without conntrack (DSR style: the mark
# decides, nothing is NATed).
#
#	client --- lb --- sink	(VIP4, VIP4B, VIP6, VIP6B routed to sink)
#
# With `init --hash sctp`, IPv4 and IPv6 (nfqlb-inject sctp-init and
# sctp-data, valid CRC32c), counted by mark in lb's FORWARD chain:
#   - multihoming: one association's ports (5000 -> 38412) from 3 client
#     addresses to 2 VIPs (6 paths) all leave with one mark, the one the
#     reference model (test/ref/predict.py) predicts, the same for IPv4 and
#     IPv6; the model would spread the same paths over several targets in
#     mode 5tuple, so the check can fail;
#   - spread: source ports the model sends 2 to each target, predicted for
#     the client's first address to VIP, sent from its third address to
#     VIPB: each target gets its 2 (the addresses do not count);
#   - other protocols hash as 5tuple: UDP flows with predicted ports reach
#     each target, and an SCTP INIT over UDP (RFC 6951) to port 9899 is
#     plain UDP when no flow says otherwise;
#   - show, save and stats name the mode; nothing is malformed or dropped.
# The flows' --udp-encap (SCTP over UDP matched as SCTP) is tested in
# t-sctp-udp.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

need_root
need_cmd ip iptables ip6tables timeout taskset
need_bins
[ -x "$TOOLS/nfqlb-inject" ] || fail "$TOOLS/nfqlb-inject is not built"

IDS="101 102 103 104"
SRCS4="10.200.0.2 10.200.0.3 10.200.0.4"
SRCS6="fd00:200::2 fd00:200::3 fd00:200::4"
SPORT=5000	# the association's ports
DPORT=38412

# model_ids MODE SPORT PROTO DPORT SRC:DST...: the targets the reference
# model gives each path in hash MODE (the table's own, or another), in
# order, one line.
model_ids()
{
	local mode=$1 sport=$2 proto=$3 dport=$4 path show

	shift 4
	show=$("$NFQLB" show --json | "$PYTHON" -S -c '
import json, sys
j = json.load(sys.stdin)
j["hash"] = sys.argv[1]
print(json.dumps(j))' "$mode") || fail "show --json"
	for path in "$@"; do
		PRED_OUT=$(echo "$show" | "$PYTHON" -S "$_libdir/../ref/predict.py" \
			--src "${path%@*}" --dst "${path#*@}" --proto "$proto" \
			--dport "$dport" --ports "$sport" 2>&1) || fail "predict.py: $PRED_OUT"
		echo -n "${PRED_OUT#* } "
	done
}

# shellcheck disable=SC2086
topo_sink_marks $IDS
"$NFQLB" init --hash sctp || fail "init --hash sctp"
# shellcheck disable=SC2086
"$NFQLB" activate $IDS || fail "activate"
[ "$("$NFQLB" show --json | json_py 'j["hash"]')" = sctp ] || fail "show --json: $("$NFQLB" show --json)"
"$NFQLB" save | grep -q "^table $NFQLB_SHM .*hash=sctp" || fail "save: $("$NFQLB" save)"
start_bg lb "$NFQLB" lb --queue 0
LB_PID=$BG_PID
wait_for lb_ready || fail "the worker did not start"

sent=0
for fam in 4 6; do
	ipt=iptables srcs=$SRCS4 vips="$VIP4 $VIP4B"
	[ $fam = 6 ] && ipt=ip6tables srcs=$SRCS6 vips="$VIP6 $VIP6B"
	paths=()
	for s in $srcs; do
		for v in $vips; do
			paths+=("$s@$v")
		done
	done

	info "IPv$fam: one association over ${#paths[@]} paths"
	want=$(model_ids sctp $SPORT sctp $DPORT "${paths[@]}")
	id=${want%% *}
	[ "$(echo "$want" | tr ' ' '\n' | sort -u | grep -c .)" -eq 1 ] ||
		fail "IPv$fam: the model gives the paths several targets: $want"
	other=$(model_ids 5tuple $SPORT sctp $DPORT "${paths[@]}")
	[ "$(echo "$other" | tr ' ' '\n' | sort -u | grep -c .)" -gt 1 ] ||
		fail "IPv$fam: in mode 5tuple too the model puts every path on $other: no test"
	nsx lb $ipt -Z FORWARD
	for path in "${paths[@]}"; do
		sink_send "${path%@*}" "${path#*@}" -P $SPORT -p $DPORT sctp-init
		sink_send "${path%@*}" "${path#*@}" -P $SPORT -p $DPORT -c 1 sctp-data
	done
	n=$((2 * ${#paths[@]}))
	sent=$((sent + n))
	wait_for sink_sum_is $ipt sctp $n ||
		fail "IPv$fam: forwarded by mark: $(sink_marks $ipt sctp), want $n in all"
	[ "$(sink_marks $ipt sctp)" = "$id:$n " ] ||
		fail "IPv$fam: marks $(sink_marks $ipt sctp), want all $n on $id (5tuple would give $other)"
	info "IPv$fam: $n packets of ${#paths[@]} paths, all on the model's $id: $(sink_marks $ipt sctp)"
	# An association may join IPv4 and IPv6 addresses: one target for both.
	[ -z "${id4:-}" ] || [ "$id" = "$id4" ] ||
		fail "IPv6 paths on $id, IPv4 paths of the same ports on $id4"
	id4=$id

	info "IPv$fam: source ports spread, whatever the addresses"
	# shellcheck disable=SC2086 # lists of addresses
	set -- $srcs
	src3=$3
	# shellcheck disable=SC2086
	set -- $vips
	predict_run --src "$(client_addr "$1")" --dst "$1" --proto sctp --dport $DPORT \
		--first 6000 --per-target 2 || fail "predict.py: $PRED_OUT"
	nsx lb $ipt -Z FORWARD
	while read -r p _; do
		sink_send "$src3" "$2" -P "$p" -p $DPORT sctp-init
	done <<<"$PRED_OUT"
	n=$(($(echo "$IDS" | wc -w) * 2))
	sent=$((sent + n))
	wait_for sink_sum_is $ipt sctp $n ||
		fail "IPv$fam: forwarded by mark: $(sink_marks $ipt sctp), want $n in all"
	[ "$(sink_marks $ipt sctp)" = "101:2 102:2 103:2 104:2 " ] ||
		fail "IPv$fam: ports predicted 2 per target from $(client_addr "$1") to $1," \
			"sent from $src3 to $2: marks $(sink_marks $ipt sctp)"
	info "IPv$fam: from $src3 to $2, 2 per target as predicted: $(sink_marks $ipt sctp)"

	info "IPv$fam: UDP hashes as 5tuple"
	predict_run --src "$(client_addr "$1")" --dst "$1" --proto udp --dport 53 \
		--first 7000 --per-target 1 || fail "predict.py: $PRED_OUT"
	nsx lb $ipt -Z FORWARD
	while read -r p _; do
		sink_send "$(client_addr "$1")" "$1" -P "$p" -p 53 udp
	done <<<"$PRED_OUT"
	predict_run --src "$(client_addr "$1")" --dst "$1" --proto udp --dport 9899 \
		--ports 9899 || fail "predict.py: $PRED_OUT"
	enc=${PRED_OUT#* }
	sink_send "$(client_addr "$1")" "$1" -P $SPORT -p $DPORT sctp-udp
	sent=$((sent + 5))
	wait_for sink_sum_is $ipt udp 5 ||
		fail "IPv$fam: UDP forwarded by mark: $(sink_marks $ipt udp), want 5"
	want=""
	for id in $IDS; do
		n=1
		[ "$id" = "$enc" ] && n=2
		want+="$id:$n "
	done
	[ "$(sink_marks $ipt udp)" = "$want" ] ||
		fail "IPv$fam: UDP marks $(sink_marks $ipt udp), want $want (SCTP over UDP on $enc)"
	info "IPv$fam: UDP as predicted, SCTP over UDP as plain UDP on $enc: $(sink_marks $ipt udp)"
done

json=$("$NFQLB" stats --json)
[ "$(echo "$json" | json_num l4)" -eq "$sent" ] || fail "stats: l4 is not $sent: $json"
if [ "$(echo "$json" | json_num malformed)" -ne 0 ] ||
	[ "$(echo "$json" | json_num dropped)" -ne 0 ]; then
	fail "packets were dropped: $json"
fi
alive "$LB_PID" || fail "the worker died"
stop_pid "$LB_PID" 5 || fail "the worker exited with status $? on SIGTERM"
pass
