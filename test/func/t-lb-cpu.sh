#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t-lb-cpu: `nfqlb lb --cpu LIST` pins each queue thread to its CPU, in
# order; the threads run with the normal scheduler by default (and with
# --rt-priority 0), and SCHED_FIFO at priority P with --rt-priority P.  Bad lists and priorities are usage errors (exit 2, one
# line on stderr).  Packets pass through pinned real-time workers.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

need_root
need_cmd ip iptables timeout
need_bins

CPUS=$(awk '/^Cpus_allowed_list/ { print $2 }' /proc/self/status)
C0=$(echo "$CPUS" | cut -d, -f1 | cut -d- -f1)
C1=$(taskset -pc $$ | awk -F': ' '{ print $2 }' | tr ',' '\n' | tail -n 1 | sed 's/.*-//')

# usage_error WANT ARGS...: nfqlb lb ARGS exits 2 with one line naming WANT.
usage_error()
{
	local want=$1 err rc

	shift
	err=$("$NFQLB" lb "$@" 2>&1 >/dev/null)
	rc=$?
	[ $rc -eq 2 ] || fail "lb $*: exit $rc, want 2"
	[ "$(echo "$err" | wc -l)" -eq 1 ] || fail "lb $*: not one line: $err"
	case $err in
	"nfqlb: lb: "*"$want"*) ;;
	*) fail "lb $*: \"$err\" does not say \"$want\"" ;;
	esac
}

# thread_info PID: "policy rtprio cpus" of each thread but the main one.
thread_info()
{
	local t

	for t in /proc/"$1"/task/*; do
		[ "${t##*/}" = "$1" ] && continue
		echo "$(awk '{ print $41, $40 }' "$t/stat") $(awk '/^Cpus_allowed_list/ { print $2 }' "$t/status")"
	done
}

# worker ARGS...: start nfqlb lb ARGS, wait until it passes packets.
worker()
{
	start_bg lb "$NFQLB" lb "$@"
	LB_PID=$BG_PID
	wait_for lb_ready || fail "the worker did not start ($*)"
	wait_for -n 20 lb_probe "$VIP4" 80 || fail "no answer through the worker ($*)"
}

info "usage errors"
usage_error "bad cpu list" --cpu 3-1
usage_error "bad cpu list" --cpu ""
usage_error "bad cpu list" --cpu 0,,1
usage_error "not available" --cpu 1023
usage_error "more CPUs than queues" --queue 0 --cpu "$C0,$C0"
usage_error "bad rt-priority" --rt-priority 100
usage_error "bad rt-priority" --rt-priority -1

topo_nat t1
nat_rules 101:1
"$NFQLB" init || fail "init"
"$NFQLB" activate 101 || fail "activate"
for p in tcp udp; do
	nsx lb iptables -t mangle -A PREROUTING -d "$VIP4" -p "$p" --dport 80 \
		-j NFQUEUE --queue-balance 0:1 || fail "iptables"
done
nsx lb iptables -t mangle -D PREROUTING -d "$VIP4" -p tcp --dport 80 -j NFQUEUE --queue-num 0
nsx lb iptables -t mangle -D PREROUTING -d "$VIP4" -p udp --dport 80 -j NFQUEUE --queue-num 0

info "--queue 0:1 --cpu $C1,$C0 --rt-priority 1: SCHED_FIFO 1, one CPU each, in order"
worker --queue 0:1 --cpu "$C1,$C0" --rt-priority 1
got=$(thread_info "$LB_PID" | sort -k3 | tr '\n' ';')
want=$(printf '1 1 %s\n1 1 %s\n' "$C1" "$C0" | sort -k3 | tr '\n' ';')
[ "$got" = "$want" ] || fail "threads: \"$got\", want \"$want\""
grep -q "queue 0: CPU $C1, SCHED_FIFO priority 1" "$LOGDIR"/lb-nfqlb-*.log ||
	fail "the worker does not log queue 0's CPU and priority"
stop_pid "$LB_PID" 3 || fail "the worker exited with status $? on SIGTERM"

info "--rt-priority 7 --cpu $C0: both threads on CPU $C0 at priority 7"
worker --queue 0:1 --cpu "$C0" --rt-priority 7
got=$(thread_info "$LB_PID" | tr '\n' ';')
[ "$got" = "1 7 $C0;1 7 $C0;" ] || fail "threads: \"$got\""
stop_pid "$LB_PID" 3

for args in "" "--rt-priority 0"; do
	info "defaults${args:+, $args}: the normal scheduler, not pinned"
	# shellcheck disable=SC2086
	worker --queue 0:1 $args
	got=$(thread_info "$LB_PID" | awk '{ print $1, $2, $3 }' | tr '\n' ';')
	[ "$got" = "0 0 $CPUS;0 0 $CPUS;" ] || fail "threads: \"$got\", want normal on $CPUS"
	[ -z "$args" ] && stop_pid "$LB_PID" 3
done
out=$(conn client -c 20 -t 500 "$VIP4" 80)
[ "$(conn_count "$out" t1)" -eq 20 ] || fail "20 connections: $out"
stop_pid "$LB_PID" 3

pass
