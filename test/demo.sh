#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# demo.sh: nfqlb in the lab, narrated; about a minute.  Run by `make demo`
# (root), which passes NFQLB and TOOLS.  Everything happens in network
# namespaces made here (nfqlb-demo<PID>-*) and its own table
# (/dev/shm/nfqlb-demo-<PID>); a trap removes them on exit.  Nothing
# touches the root namespace's network.
#
#	c1 --- rt --- lb1 --- sw (bridge) --- t1 .. t12
#	        \__________________/
#
# Direct server return: rt sends the VIP's packets to lb1, `nfqlb lb` marks
# each with its target's id, lb1 routes it by that mark to the target
# (`nfqlb route`), and the target, which holds the VIP on lo, answers the
# client through rt, past the load balancer.  Then one scale-in and one
# scale-out with 100 long-lived connections, in three modes.
here=$(cd "$(dirname "$0")" && pwd)

if [ "$(id -u)" -ne 0 ]; then
	echo "demo: needs root to make network namespaces: run sudo make demo" >&2
	exit 1
fi
TEST_NAME=demo
# shellcheck source-path=SCRIPTDIR
. "$here/func/lib.sh"
NS_PREFIX="nfqlb-demo$$-"
export NFQLB_SHM="nfqlb-demo-$$"
# shellcheck source-path=SCRIPTDIR
. "$here/lab/lab-lib.sh"
# shellcheck source-path=SCRIPTDIR
. "$here/scale/scale-lib.sh"
need_cmd ip iptables ip6tables iptables-restore timeout python3
need_bins

SCALE_N=10 SCALE_DEL=2 SCALE_ADD=2 SCALE_CONNS=100 SCALE_RATE=100
SCALE_SETTLE=1 SCALE_AFTER=2 SCALE_OUT="$LOGDIR/scale"
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

# flows_rules LB FLOWS [RULES_OPTION...]: `nfqlb rules --flows FLOWS
# RULES_OPTION...` into LB's firewall, IPv4 and IPv6, as README says.
flows_rules()
{
	local lb=$1 flows=$2

	shift 2
	nsx "$lb" iptables-save | "$NFQLB" rules --flows "$flows" --queue 0 "$@" |
		nsx "$lb" iptables-restore --noflush || fail "$lb: nfqlb rules --flows"
	nsx "$lb" ip6tables-save | "$NFQLB" rules --flows "$flows" --family 6 --queue 0 "$@" |
		nsx "$lb" ip6tables-restore --noflush || fail "$lb: nfqlb rules --flows --family 6"
}

# lost EVENT MODE: "N of M connections lost" for one finished run.
lost()
{
	awk -F, -v e="$1" -v m="$2" '
		NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
		$c["event"] == e && $c["mode"] == m {
			printf "%d of %d connections lost", $c["lost"], $c["up"]
			if (e != "out") printf " (%d on the removed targets, %d on the others)", \
				$c["lost_removed"], $c["excess"]
		}' "$SCALE_OUT/results.csv"
}

echo "nfqlb demo: a stateless Maglev load balancer on NFQUEUE, in a lab of"
echo "network namespaces (${NS_PREFIX}*), table /dev/shm/$NFQLB_SHM"

say "Build the lab: client c1, router rt, load balancer lb1, targets" \
	"t1..t12 on a bridge, each running nfqlb-echo (it answers with its name)"
scale_setup
lab_describe | sed 's/^/    /'
echo "    the targets hold the VIP on lo (arp_ignore=1, arp_announce=2)"

say "Table: targets 1..10 active (ids are fwmarks), M=$SCALE_M entries"
indent "$NFQLB" show | head -n 14

say "lb1's firewall, from nfqlb rules (all packets to the VIP are queued)"
echo "    \$ iptables-save | nfqlb rules --vip $LAB_VIP4 --queue 0 | iptables-restore --noflush"
LAB_SYN=0 lab_rules lb1
grep -v '^#' "$LOGDIR/rules4.txt" | sed 's/^/      /'
echo "    lb1's policy routing, from nfqlb route add ID via TARGET (targets 1, 2):"
nsx lb1 "$NFQLB" route show 2>&1 | grep -E ' (0x[12] |table 100[12] )' |
	grep ipv4 | sed 's/^/      /'

say "500 connections from c1 to $LAB_VIP4:$LAB_PORT, each from a new port"
wait_for -n 25 -i 0.2 lab_probe || fail "the VIP does not answer"
lab_spread 500 "$LAB_VIP4"

say "The same over IPv6, to [$LAB_VIP6]:$LAB_PORT"
lab_spread 500 "$LAB_VIP6"

say "Scale-in and scale-out with $SCALE_CONNS long-lived connections (a message" \
	"every 100 ms each), in three modes"
echo "    scale-in:  nfqlb deactivate 9 10 (they keep running: a drain)"
echo "    scale-out: nfqlb activate 11 12"
for mode in all syn modulo; do
	case $mode in
	all) echo "    nfqlb, all packets queued:" ;;
	syn) echo "    nfqlb --syn-only (conntrack keeps each connection's mark):" ;;
	modulo) echo "    the kernel's modulo hash, iptables -j HMARK --hmark-mod 10 -> 8, -> 12:" ;;
	esac
	for ev in in-drain out; do
		scale_run "$ev" "$mode"
	done
	python3 "$here/scale/analyze.py" "$SCALE_OUT" >/dev/null ||
		fail "analyze.py failed"
	echo "      scale-in:  $(lost in-drain $mode)"
	echo "      scale-out: $(lost out $mode)"
done

say "Lost connections: lost % (on removed targets + on the others)"
sed 's/^/    /' "$SCALE_OUT/table.md"
echo "    Maglev moves only the removed targets' connections (and a rare few"
echo "    more: the table moves ~0.2% of its entries between the others);"
echo "    SYN-only moves none; the modulo hash moves most of them."
echo "    make scale measures stopped targets too, and plots it."

say "Two services on one worker (flows): web on TCP $LAB_PORT (table web:" \
	"targets 1..6) and dns on UDP 53 (table dns: targets 7..10)"
FLOWS="$NFQLB_SHM-flows"
for i in 7 8 9 10; do
	start_bg "t$i" "$TOOLS/nfqlb-echo" -p 53 -n "t$i" -a "$LAB_VIP4" -a "$LAB_VIP6"
done
{ "$NFQLB" init --shm "$NFQLB_SHM-web" && "$NFQLB" activate --shm "$NFQLB_SHM-web" 1 2 3 4 5 6 &&
	"$NFQLB" init --shm "$NFQLB_SHM-dns" && "$NFQLB" activate --shm "$NFQLB_SHM-dns" 7 8 9 10 &&
	"$NFQLB" flow set web --flows "$FLOWS" --table "$NFQLB_SHM-web" --proto tcp \
		--dst "$LAB_VIP4/32,$LAB_VIP6/128" --dport "$LAB_PORT" &&
	"$NFQLB" flow set dns --flows "$FLOWS" --table "$NFQLB_SHM-dns" --proto udp \
		--dst "$LAB_VIP4/32,$LAB_VIP6/128" --dport 53; } >/dev/null || fail "the flows"
echo "    \$ nfqlb flow set web --table web --proto tcp --dst $LAB_VIP4/32,$LAB_VIP6/128 --dport $LAB_PORT"
echo "    \$ nfqlb flow set dns --table dns --proto udp --dst $LAB_VIP4/32,$LAB_VIP6/128 --dport 53"
echo "    \$ iptables-save | nfqlb rules --flows nfqlb-flows | iptables-restore --noflush   (and --family 6 for ip6tables)"
echo "    \$ nfqlb lb --flows nfqlb-flows   (replaces lb1's one-table worker)"
lab_flush_rules lb1
flows_rules lb1 "$FLOWS"
lab_stop "${LAB_LB_PIDS[1]}"
start_bg lb1 "$NFQLB" lb --queue 0 --flows "$FLOWS" --no-flow drop
LB_PID=$BG_PID
wait_for -n 25 -i 0.2 lab_probe || fail "the VIP does not answer through the flows"
indent "$NFQLB" flow list --flows "$FLOWS"
echo "    200 TCP connections to $LAB_VIP4:$LAB_PORT:"
lab_conn 1 -c 200 -t 1000 "$LAB_VIP4" "$LAB_PORT" 2>/dev/null | lab_bars 2
echo "    200 UDP exchanges to $LAB_VIP4:53:"
lab_conn 1 -c 200 -t 1000 -u "$LAB_VIP4" 53 2>/dev/null | lab_bars 2
echo "    per flow: nfqlb stats --flows"
indent "$NFQLB" stats --flows "$FLOWS"

say "The kernel fast path: the same flows, marked at tc ingress of lb1's" \
	"interface from rt (nfqlb lb --bpf front)"
echo "    \$ iptables-save | nfqlb rules --flows nfqlb-flows --bpf | iptables-restore --noflush   (and -6)"
echo "      only packets still unmarked are queued: what the fast path marked skips the queue"
echo "    \$ nfqlb lb --flows nfqlb-flows --bpf front   (replaces the worker)"
flows_rules lb1 "$FLOWS" --bpf
lab_stop "$LB_PID"
read -r fp0 q0 <<<"$(fp_counts "$NFQLB_SHM-web" "$NFQLB_SHM-dns")"
lb_bpf_start lb1 front --flows "$FLOWS" --no-flow drop
grep 'fastpath: marking' "$LB_LOG" | sed 's/^/    /'
echo "    200 TCP connections to $LAB_VIP4:$LAB_PORT, through the fast path:"
lab_conn 1 -c 200 -t 1000 "$LAB_VIP4" "$LAB_PORT" 2>/dev/null | lab_bars 2
echo "    200 UDP exchanges to $LAB_VIP4:53, through the fast path:"
lab_conn 1 -c 200 -t 1000 -u "$LAB_VIP4" 53 2>/dev/null | lab_bars 2
lb_stop TERM
read -r fp q <<<"$(fp_counts "$NFQLB_SHM-web" "$NFQLB_SHM-dns")"
echo "    packets marked by the fast path: $((fp - fp0)); classified by the queue: $((q - q0))"
echo "    (the queue takes what the program leaves unmarked: ICMP errors, fragments, ...)"
echo "    the worker's last line:"
tail -n 1 "$LB_LOG" | fold -s -w 76 | sed 's/^/      /'

say "Counters: nfqlb stats"
indent "$NFQLB" stats

echo
echo "demo done: the namespaces and the table are removed on exit"
