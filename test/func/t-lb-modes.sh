#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t-lb-modes: hash modes and the no-target verdict, on loopback in one
# namespace.  UDP to 127.0.0.1..4 goes through NFQUEUE 0 on
# OUTPUT; filter rules count the packets by mark, and one rule per flow
# counts the flow's datagrams that leave with the mark the reference model
# (test/ref/predict.py) predicts for it: every flow must get its own.
#   - 5tuple: 3 flows per target, from source ports the model sends there:
#     every target gets its 3;
#   - addr: 40 flows between two addresses: the model and nfqlb agree on
#     one target for all;
#   - src: 10 flows to each of 4 destinations: one target for all;
#   - no targets, --no-target drop: nothing leaves;
#   - no targets, --no-target accept: datagrams leave unmarked.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

need_root
need_cmd ip iptables timeout
need_bins

IDS="11 12 13 14 15 16 17 18"
# shellcheck disable=SC2086 # IDS is a list
topo_loopback 0 $IDS

# counts: "MARK:PACKETS" for every mark that saw packets, then reset.
counts()
{
	nsx lb iptables -nvxL OUTPUT | awk '/mark match/ && $1 > 0 { print $NF ":" $1 }' |
		tr '\n' ' '
	nsx lb iptables -Z OUTPUT
}

total()
{
	nsx lb iptables -nvxL OUTPUT | awk '/mark match/ { s += $1 } END { print s + 0 }'
}

total_is()
{
	[ "$(total)" -eq "$1" ]
}

# run_lb ARGS...: (re)start the worker.
run_lb()
{
	[ -n "${LB_PID-}" ] && stop_pid "$LB_PID"
	start_bg lb "$NFQLB" lb --queue 0 "$@"
	LB_PID=$BG_PID
	wait_for lb_ready || fail "the worker did not start"
}

# expect_marks MODE N: send one datagram per flow of LO_FLOWS; each leaves
# with the mark predicted for its flow, and N marks are seen in all.
expect_marks()
{
	local mode=$1 n=$2 flows got

	flows=$(grep -c . <<<"$LO_FLOWS")
	lo_send_flows
	wait_until 5 total_is "$flows" ||
		fail "$mode: $(total) packets marked, want $flows"
	lo_flows_ok 1 || fail "$mode: flows without their predicted mark: $LO_FLOWS_BAD"
	got=$(counts)
	[ "$(echo "$got" | wc -w)" -eq "$n" ] || fail "$mode: marks $got, want $n targets"
	info "$mode: $flows flows, each with its predicted mark: $got"
	lo_flows_reset
}

# one_target MODE: the model puts all of LO_FLOWS on one target.
one_target()
{
	[ "$(lo_flows_ids | wc -w)" -eq 1 ] ||
		fail "$1: the model spreads the flows over $(lo_flows_ids)"
}

# ports N: N source ports from SPORT_NEXT on, as a range.
ports()
{
	echo "$SPORT_NEXT-$((SPORT_NEXT + $1 - 1))"
}

for mode in 5tuple addr src; do
	"$NFQLB" init --force --hash "$mode" || fail "init --hash $mode"
	# shellcheck disable=SC2086
	"$NFQLB" activate $IDS || fail "activate"
	run_lb
	case $mode in
	5tuple)
		lo_flows 127.0.0.1 127.0.0.1 --per-target 3
		expect_marks 5tuple 8
		;;
	addr)
		lo_flows 127.0.0.1 127.0.0.1 --ports "$(ports 40)"
		one_target addr
		expect_marks addr 1
		;;
	src)
		for d in 1 2 3 4; do
			lo_flows 127.0.0.1 127.0.0.$d --ports "$(ports 10)"
		done
		one_target src
		expect_marks src 1
		;;
	esac
done

info "no targets, --no-target drop"
# shellcheck disable=SC2086
"$NFQLB" deactivate $IDS || fail "deactivate"
lo_send 10 127.0.0.1
# Once the worker has counted all 10, none of them may have left.
no_target_is()
{
	[ "$("$NFQLB" stats --json | json_py 'j["no_target"]')" = "$1" ]
}
wait_until 5 no_target_is 10 ||
	fail "no_target not counted: $("$NFQLB" stats --json)"
[ "$(total)" -eq 0 ] || fail "no-target drop: $(counts) left"

info "no targets, --no-target accept: unmarked"
run_lb --no-target accept
lo_send 10 127.0.0.1
wait_for total_is 10 || fail "no-target accept: $(total) of 10 left"
[ "$(counts)" = "0x0:10 " ] || fail "no-target accept: not unmarked"
pass
