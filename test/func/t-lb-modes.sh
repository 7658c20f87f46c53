#!/bin/bash
# t-lb-modes: hash modes and the no-target verdict, on loopback in one
# namespace.  UDP to 127.0.0.1..4 goes through NFQUEUE 0 on
# OUTPUT; filter rules count the packets by mark.
#   - 5tuple: datagrams from many source ports spread over the targets;
#   - addr: every datagram between two addresses gets one target;
#   - src: one target per source address, whatever the destination;
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

# expect_marks MODE SENDS DST... -- N: after sending SENDS datagrams to each
# DST, each from a new (random) source port, N marks seen.
expect_marks()
{
	local mode=$1 sends=$2 dst got n

	shift 2
	for dst in "$@"; do
		[ "$dst" = -- ] && break
		lo_send "$sends" "$dst"
	done
	n=${*: -1}
	dst=$(($# - 2))
	wait_for total_is $((sends * dst)) ||
		fail "$mode: $(total) packets marked, want $((sends * dst))"
	got=$(counts)
	[ "$(echo "$got" | wc -w)" -eq "$n" ] || fail "$mode: marks $got, want $n targets"
	info "$mode: $got"
}

for mode in 5tuple addr src; do
	"$NFQLB" init --force --hash "$mode" || fail "init --hash $mode"
	# shellcheck disable=SC2086
	"$NFQLB" activate $IDS || fail "activate"
	run_lb
	case $mode in
	# 200 flows over 8 equal targets: a target gets none with chance
	# 8 * (7/8)^200, about 2e-11 (with 40 it was 1 in 26).
	5tuple) expect_marks 5tuple 200 127.0.0.1 -- 8 ;;
	addr) expect_marks addr 40 127.0.0.1 -- 1 ;;
	src) expect_marks src 40 127.0.0.1 127.0.0.2 127.0.0.3 127.0.0.4 -- 1 ;;
	esac
done

info "no targets, --no-target drop"
# shellcheck disable=SC2086
"$NFQLB" deactivate $IDS || fail "deactivate"
lo_send 10 127.0.0.1
sleep 0.5
[ "$(total)" -eq 0 ] || fail "no-target drop: $(counts) left"
[ "$("$NFQLB" stats --json | json_py 'j["no_target"]')" = 10 ] ||
	fail "no_target not counted: $("$NFQLB" stats --json)"

info "no targets, --no-target accept: unmarked"
run_lb --no-target accept
lo_send 10 127.0.0.1
wait_for total_is 10 || fail "no-target accept: $(total) of 10 left"
[ "$(counts)" = "0x0:10 " ] || fail "no-target accept: not unmarked"
pass
