#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t-shed-drop: under a flood, `nfqlb lb --shed c0 --vip VIPS` drops packets
# to the VIPs, and only those.
#
#	client --- lb (echo "lb" on its own addresses, port 81) --- t1, t2
#
# The worker's queue thread and a UDP flood to VIP4 share one CPU, with a
# queue of 8 packets: the queue overflows, and the controller raises the
# share.  Once it has (the log says "shedding started"), UDP exchanges with
# lb's own IPv4 and IPv6 addresses, which are no VIP, must all be answered
# while the program's drop counter (read from its map with bpftool) goes
# on rising.  On SIGTERM the worker logs the drops in all.  Once with the
# program at tc ingress, once in the veth driver's XDP.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

need_root
need_cmd ip iptables ip6tables timeout taskset python3 bpftool
need_bins
[ -x "$TOOLS/nfqlb-blast" ] || fail "$TOOLS/nfqlb-blast is not built"

CPU=$(python3 -c 'import os; print(min(os.sched_getaffinity(0)))')
EXCHANGES=30	# UDP exchanges with each of lb's addresses during the flood

# shed_drops PID: the packets the shedding program of process PID dropped,
# from its per-CPU counter map (the one per-CPU array it holds).
shed_drops()
{
	local f id=""

	for f in /proc/"$1"/fdinfo/*; do
		if grep -q '^map_type:[[:space:]]*6$' "$f" 2>/dev/null; then
			id=$(awk '/^map_id:/ { print $2 }' "$f")
			break
		fi
	done
	[ -n "$id" ] || return 1
	bpftool -j map lookup id "$id" key 0 0 0 0 | python3 -c '
import json, sys
v = json.load(sys.stdin)["values"]
print(sum(int.from_bytes(bytes(int(b, 16) for b in c["value"]), "little") for c in v))'
}

drops_over()
{
	local n

	n=$(shed_drops "$LB_PID") && [ "$n" -gt "$1" ]
}

# exchanges ADDR: EXCHANGES UDP exchanges with lb's echo on ADDR port 81,
# every one answered by "lb".
exchanges()
{
	local out

	out=$(CONN_TIMEOUT=30 conn client -u -c "$EXCHANGES" -t 400 "$1" 81 2>&1)
	[ "$(conn_count "$out" lb)" -eq "$EXCHANGES" ] ||
		fail "UDP to lb's own $1 (no VIP) during the flood: $(echo "$out" | tr '\n' ' ')"
}

started()
{
	grep -q "overload: shedding started" "$LOGDIR"/lb-nfqlb-*.log
}

info "topology: client, lb, t1, t2; lb answers on port 81 itself; CPU $CPU"
topo_nat t1 t2
nat_rules 101:1 102:2
"$NFQLB" init || fail "init"
"$NFQLB" activate 101 102 || fail "activate"
start_bg lb "$TOOLS/nfqlb-echo" -p 81 -n lb
wait_for nsx lb "$TOOLS/nfqlb-conn" -c 1 -t 200 10.200.0.1 81 ||
	fail "lb's echo does not answer on 10.200.0.1:81"

for mode in tc xdp; do
	info "--shed c0 --shed-mode $mode, a UDP flood to $VIP4 on CPU $CPU"
	start_bg lb "$NFQLB" lb --queue 0 --qlength 8 --cpu "$CPU" --shed c0 \
		--shed-mode "$mode" --vip "$VIP4,$VIP6"
	LB_PID=$BG_PID
	wait_for -n 100 lb_probe "$VIP4" 80 || fail "no answer through the worker"
	[ "$(shed_drops "$LB_PID")" = 0 ] || fail "drops before any flood: $(shed_drops "$LB_PID")"
	# ip netns exec execs timeout, which passes SIGTERM on: $! stops it.
	ip netns exec "$(ns client)" timeout 30 taskset -c "$CPU" "$TOOLS/nfqlb-blast" \
		send -f 1 -d 12 "$VIP4" 80 >"$LOGDIR/blast-$mode.log" 2>&1 &
	BLAST=$!
	_PIDS+=("$BLAST")
	wait_for -n 100 started || fail "no shedding within 10 s of the flood"
	wait_for -n 50 drops_over 0 || fail "shedding started but the program dropped nothing"
	d0=$(shed_drops "$LB_PID")
	exchanges 10.200.0.1
	exchanges fd00:200::1
	d1=$(shed_drops "$LB_PID")
	alive "$BLAST" ||
		fail "the flood ended before the exchanges did: $(cat "$LOGDIR/blast-$mode.log")"
	[ "$d1" -gt "$d0" ] || fail "no VIP packet dropped during the exchanges ($d0, then $d1)"
	info "$mode: $((2 * EXCHANGES)) exchanges with lb's own addresses all answered" \
		"while the program dropped $((d1 - d0)) VIP packets"
	kill "$BLAST" 2>/dev/null
	wait "$BLAST" 2>/dev/null
	stop_pid "$LB_PID" 5 || fail "the worker exited with status $? on SIGTERM"
	total=$(sed -n 's/.*shedding on c0: \([0-9]*\) packets dropped in all.*/\1/p' \
		"$LOGDIR"/lb-nfqlb-*.log)
	[ -n "$total" ] && [ "$total" -ge "$d1" ] ||
		fail "the worker logged \"${total:-nothing}\" dropped in all, want at least $d1"
	rm -f "$LOGDIR"/lb-nfqlb-*.log
done

pass
