#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t-lb-shed: `nfqlb lb --shed IFNAME` attaches its shedding program to the
# interface while it runs (XDP in the driver, or tc ingress with
# --shed-mode tc), passes traffic while there is no overload,
# and the program goes away when the worker exits, on SIGTERM and on
# SIGKILL alike (a BPF link the process owns; for tc, the test sees the
# link in the worker's file descriptors).  A missing interface is a
# failure (exit 1, one line); --shed without --vip, and --vip, --syn-only
# or --shed-mode without --shed, are usage errors.  That shedding drops
# VIP packets and only those under a flood is t-shed-drop's case.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

need_root
need_cmd ip iptables timeout
need_bins

has_xdp()
{
	ip -n "$(ns lb)" -d link show c0 | grep -q 'prog/xdp'
}

no_xdp()
{
	! has_xdp
}

topo_nat t1 t2
nat_rules 101:1 102:2
"$NFQLB" init || fail "init"
"$NFQLB" activate 101 102 || fail "activate"

info "--shed on a missing interface"
err=$(nsx lb "$NFQLB" lb --shed nosuch0 --vip "$VIP4" 2>&1 >/dev/null)
rc=$?
[ $rc -eq 1 ] || fail "exit $rc, want 1: $err"
[ "$(echo "$err" | wc -l)" -eq 1 ] || fail "not one line: $err"
case $err in "nfqlb: lb: shed on nosuch0: "*) ;; *) fail "message: $err" ;; esac
no_xdp || fail "an XDP program is attached to c0 before any worker ran"

info "usage errors"
for args in "--shed-mode tc" "--shed c0 --vip $VIP4 --shed-mode fast" "--shed '' --vip $VIP4" \
	"--shed c0" "--vip $VIP4" "--syn-only" "--shed c0 --vip 10.0.0.0/33"; do
	err=$(eval "nsx lb \"\$NFQLB\" lb $args" 2>&1 >/dev/null)
	rc=$?
	[ $rc -eq 2 ] && [ "$(echo "$err" | wc -l)" -eq 1 ] ||
		fail "lb $args: exit $rc, want 2 and one line: $err"
done

# link_type PID: the BPF link types the process holds (from fdinfo).
link_type()
{
	grep -h '^link_type:' /proc/"$1"/fdinfo/* 2>/dev/null | awk '{ print $2 }' | sort -u
}

for run in "TERM auto xdp" "KILL xdp xdp" "TERM tc tcx" "KILL tc tcx"; do
	read -r sig mode want <<<"$run"
	info "--shed c0 --shed-mode $mode, then SIG$sig"
	start_bg lb "$NFQLB" lb --shed c0 --shed-mode "$mode" --vip "$VIP4,$VIP6"
	LB_PID=$BG_PID
	wait_for lb_ready || fail "the worker did not start"
	wait_for -n 20 lb_probe "$VIP4" 80 || fail "no answer through the worker"
	[ "$(link_type "$LB_PID")" = "$want" ] ||
		fail "the worker holds BPF links \"$(link_type "$LB_PID")\", want $want"
	if [ "$want" = xdp ]; then
		ip -n "$(ns lb)" link show c0 | grep -q "mtu [0-9]* xdp " ||
			fail "no driver XDP program on c0: $(ip -n "$(ns lb)" link show c0 | tr '\n' ' ')"
	fi
	grep -q "shedding on c0" "$LOGDIR"/lb-nfqlb-*.log || fail "no log line about shedding"
	spread_check "$VIP4" tcp 20
	kill -"$sig" "$LB_PID"
	wait "$LB_PID" 2>/dev/null
	wait_for -n 50 no_xdp || fail "the XDP program outlived the worker (SIG$sig)"
	# 10 connections at once (-k): each times out after 500 ms.
	out=$(conn client -c 10 -k 1 -t 500 "$VIP4" 80 2>/dev/null)
	[ "$(conn_count "$out" failed)" -eq 10 ] && [ "$(conn_count "$out" timeout)" -eq 10 ] ||
		fail "traffic passed without a worker after SIG$sig: $(echo "$out" | tr '\n' ' ')"
	rm -f "$LOGDIR"/lb-nfqlb-*.log
done

pass
