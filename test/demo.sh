#!/bin/bash
# demo.sh: nfqlb in NAT mode, narrated.  Run by `sudo make demo`, which
# passes NFQLB and TOOLS.  Everything happens in network namespaces made
# here and removed on exit; nothing touches the root namespace's network.
#
#	client --- lb --- t1, t2, t3
#
# lb sends new flows to the VIP through NFQUEUE 0; `nfqlb lb` marks each
# packet with its target's id (101, 102, 103) and iptables DNATs each mark
# to that target.

if [ "$(id -u)" -ne 0 ]; then
	echo "demo: needs root to make network namespaces: run sudo make demo" >&2
	exit 1
fi
TEST_NAME=demo
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/func/lib.sh"
need_cmd ip iptables ip6tables timeout
need_bins

COUNT=300
step=0

say()
{
	step=$((step + 1))
	printf '\n[%d] %s\n' "$step" "$*"
}

# indent CMD...: run CMD, its output indented.
indent()
{
	"$@" 2>&1 | sed 's/^/    /'
}

# spread ARGS...: run nfqlb-conn from the client and draw where the
# connections went.
spread()
{
	local out name n bar

	out=$(conn client "$@" 2>&1)
	for name in t1 t2 t3 failed; do
		n=$(conn_count "$out" "$name")
		[ "$name" = failed ] && [ "$n" -eq 0 ] && continue
		bar=$(printf '%*s' $((n / 5)) '' | tr ' ' '#')
		printf '    %-7s %4d  %s\n' "$name" "$n" "$bar"
	done
}

echo "nfqlb demo: a stateless Maglev load balancer on NFQUEUE, NAT mode"
echo "table: /dev/shm/$NFQLB_SHM   namespaces: ${NS_PREFIX}*"

say "Build the namespaces: client, lb, and targets t1 t2 t3, each running" \
	"nfqlb-echo on port 80 (it answers with its name)"
topo_nat t1 t2 t3
nat_rules 101:1 102:2 103:3
echo "    client 10.200.0.2 -> VIP $VIP4 via lb; targets 10.200.{1,2,3}.2"
echo "    lb's rules: queue the VIP's flows, DNAT by mark"
nsx lb iptables -t mangle -S PREROUTING | grep -- -A | sed 's/^/      /'
nsx lb iptables -t nat -S PREROUTING | grep -- '-p tcp' | sed 's/^/      /'

say "Create the table and activate targets 101 102 103"
echo "    \$ nfqlb init --M 997 && nfqlb activate 101 102 103"
"$NFQLB" init --M 997 || fail "nfqlb init failed"
"$NFQLB" activate 101 102 103 || fail "nfqlb activate failed"
indent "$NFQLB" show

say "Start the worker in lb: nfqlb lb --queue 0"
start_bg lb "$NFQLB" lb --queue 0
LB_PID=$BG_PID
wait_for lb_ready || fail "the worker did not attach to queue 0"
wait_for -n 20 lb_probe "$VIP4" 80 || fail "no answer through the worker"
echo "    worker pid $LB_PID is attached to queue 0"

say "$COUNT TCP connections from the client to $VIP4:80, each from a new port"
spread -c $COUNT -t 500 "$VIP4" 80

say "The same over IPv6, to [$VIP6]:80"
spread -c $COUNT -t 500 "$VIP6" 80

say "Hold 30 connections open, then deactivate 102 while they run"
echo "    \$ nfqlb deactivate 102"
keep_out="$LOGDIR/keep.out"
timeout 30 ip netns exec "$(ns client)" "$TOOLS/nfqlb-conn" -c 30 -k 3 -t 500 \
	"$VIP4" 80 >"$keep_out" 2>&1 &
keep_pid=$!
_PIDS+=("$keep_pid")
sleep 1
"$NFQLB" deactivate 102 || fail "nfqlb deactivate failed"
indent "$NFQLB" show

say "$COUNT new connections: none go to t2 (id 102)"
spread -c $COUNT -t 500 "$VIP4" 80

say "The 30 held connections survived: conntrack keeps each on its first" \
	"target, t2's too"
wait "$keep_pid"
grep -v '^nfqlb-conn:' "$keep_out" | sed 's/^/    /'

say "Re-activate 102: new connections reach t2 again"
echo "    \$ nfqlb activate 102"
"$NFQLB" activate 102 || fail "nfqlb activate failed"
spread -c $COUNT -t 500 "$VIP4" 80

say "Counters: nfqlb stats"
indent "$NFQLB" stats

say "Stop the worker (SIGTERM) and clean up"
kill -TERM "$LB_PID"
for ((i = 0; i < 20; i++)); do
	alive "$LB_PID" || break
	sleep 0.1
done
wait "$LB_PID"
echo "    worker exited with status $?; namespaces and table are removed on exit"
echo
echo "demo done"
