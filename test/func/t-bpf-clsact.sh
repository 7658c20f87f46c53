#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t-bpf-clsact: the fast path's fallback for kernels without tcx, forced
# with NFQLB_BPF_CLSACT=1.  `nfqlb lb --bpf` attaches a clsact filter and
# marks with it; on SIGTERM the filter goes; a SIGKILLed worker leaves it
# behind, but it stops marking within about a second (the deadline the
# worker renews), and the next worker replaces it (one filter, marking
# again).
#
#	client (c1) --- (c0) lb: UDP to 10.9.0.1:5000, target id 7
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

need_root
need_cmd ip iptables tc timeout
need_bins

VIP=10.9.0.1
ns_add lb client
veth_add lb c0 client c1
addr_add lb c0 "$VIP/24"
addr_add client c1 10.9.0.2/24
"$NFQLB" init --M 7 --N 2 >/dev/null || fail "init"
"$NFQLB" activate 7 >/dev/null || fail "activate"
nsx lb iptables -t mangle -A PREROUTING -m mark --mark 7 || fail "iptables"

# marked N: send N datagrams to the VIP; print how many reached PREROUTING
# with mark 7 (the counter is zeroed after).
marked()
{
	local i n

	for ((i = 0; i < $1; i++)); do
		nsx client bash -c "echo x >/dev/udp/$VIP/5000" 2>/dev/null
	done
	n=$(nsx lb iptables -t mangle -L PREROUTING -v -n -x | awk '/mark match 0x7/ { print $1 }')
	nsx lb iptables -t mangle -Z PREROUTING
	echo "${n:-0}"
}

filters()
{
	nsx lb tc filter show dev c0 ingress | grep -c 'fastpath'
}

start_lb()
{
	NFQLB_BPF_CLSACT=1 start_bg lb "$NFQLB" lb --bpf c0 --vip "$VIP"
	LB_PID=$BG_PID
	wait_for lb_ready || fail "the worker did not start"
	grep -q "marking at tc ingress of c0 (clsact)" "$LOGDIR"/lb-nfqlb-*.log ||
		fail "no log line about the clsact filter: $(cat "$LOGDIR"/lb-nfqlb-*.log)"
}

info "1. a clsact filter marks"
start_lb
[ "$(filters)" -eq 1 ] || fail "want one fastpath filter, have $(filters)"
n=$(marked 20)
[ "$n" -eq 20 ] || fail "$n of 20 datagrams marked"

info "2. SIGKILL: the filter stays but stops marking within 2 s"
kill -KILL "$LB_PID"
wait "$LB_PID" 2>/dev/null
[ "$(filters)" -eq 1 ] || fail "the filter went with SIGKILL (it should stay)"
stale()
{
	[ "$(marked 5)" -eq 0 ]
}
wait_until 2.5 stale || fail "the dead worker's filter still marks after 2.5 s"

info "3. the next worker replaces it and marks"
rm -f "$LOGDIR"/lb-nfqlb-*.log
start_lb
[ "$(filters)" -eq 1 ] || fail "want one fastpath filter after a restart, have $(filters)"
n=$(marked 20)
[ "$n" -eq 20 ] || fail "$n of 20 datagrams marked after the restart"

info "4. SIGTERM removes the filter"
kill -TERM "$LB_PID"
wait "$LB_PID" 2>/dev/null
[ "$(filters)" -eq 0 ] || fail "the filter outlived SIGTERM"
n=$(marked 5)
[ "$n" -eq 0 ] || fail "$n datagrams marked without a worker"
pass
