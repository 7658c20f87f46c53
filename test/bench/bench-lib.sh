# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash disable=SC2034  # a library: its globals are read by the scripts that source it
# bench-lib.sh: the topology, the rule sets and the measurements of
# test/bench/bench.sh.  Sourced after test/func/lib.sh, whose namespaces,
# process list and cleanup trap it uses.
#
#	client --- lb --- t1, t2
#	   |  \___________/   |
#	   \_________________/     (direct links, d1 and d2)
#
# client 10.201.0.2 sends to the VIP 10.201.255.1 via lb (10.201.0.1).
# NAT mode (the default): lb DNATs to t1 10.201.1.2 or t2 10.201.2.2 by the
# packet's mark.  DSR mode (lb_mode dsr): lb routes each mark to its target
# (`nfqlb route add`), the targets hold the VIP on lo and answer from it
# over their direct link to the client, so lb sees no reply.  Direct: the
# client talks to t1 at 10.201.11.1 over that link, no lb at all.  The
# client also holds 10.201.0.10-25 for many clients, each from its own
# address.  RPS on lb's ingress veth c0 puts lb's receive work on LB_CPU;
# the client's tools run on CLIENT_CPU.  Targets drop the UDP flood (port
# 9000) in their raw table, answer TCP on port 80 (nfqlb-echo) and 7100
# (rr serve), echo UDP on port 7 (nfqlb-blast sink -e) and t1 runs iperf3
# on port 5201.

BVIP=10.201.255.1
LB_CPU=${LB_CPU:-1}
CLIENT_CPU=${CLIENT_CPU:-0}
RUN_SECS=${BENCH_RUN_SECS:-2.5}	# one UDP rate measurement
TCP_SECS=${BENCH_TCP_SECS:-3}	# one iperf3 run
CONN_SECS=${BENCH_CONN_SECS:-2}	# one connection-rate run
SWEEP_SECS=${BENCH_SWEEP_SECS:-0.15}	# one message size of the sweep, at most
SCALE_SECS=${BENCH_SCALE_SECS:-1.2}	# one run of the scalability part
SRC_BASE=10.201.0.10	# the scalability part's first client address
RR_PORT=7100
LB_PID=""
LB_MODE=nat

# ---------------------------------------------------------------- numbers

# median NUMBER...: the median (the lower middle one of an even count).
median()
{
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'
}

# ratio A B [DIGITS]: A / B, or "-" when B is 0 or missing.
ratio()
{
	awk -v a="$1" -v b="$2" -v d="${3:-2}" \
		'BEGIN { if (b + 0 == 0 || a == "") print "-"; else printf "%.*f\n", d, a / b }'
}

# kv FILE KEY: the value of the "KEY value" line in FILE.
kv()
{
	awk -v k="$2" '$1 == k { print $2; exit }' "$1"
}

now_ns()
{
	date +%s%N
}

# ---------------------------------------------------------------- topology

bench_topo()
{
	local i

	ns_add client lb t1 t2
	veth_add client eth0 lb c0
	addr_add client eth0 10.201.0.2/24
	addr_add lb c0 10.201.0.1/24
	route_add client default 10.201.0.1
	forwarding_on lb
	for i in 1 2; do
		veth_add lb "t$i" "t$i" eth0
		addr_add lb "t$i" "10.201.$i.1/24"
		addr_add "t$i" eth0 "10.201.$i.2/24"
		route_add "t$i" default "10.201.$i.1"
		nsx "t$i" iptables -t raw -A PREROUTING -p udp --dport 9000 -j DROP ||
			fail "iptables in t$i"
		start_bg "t$i" taskset -c "$CLIENT_CPU" "$TOOLS/nfqlb-echo" -p 80 -n "t$i"
		start_bg "t$i" taskset -c "$LB_CPU" "$TOOLS/nfqlb-blast" sink -e 7
		start_bg "t$i" taskset -c "$LB_CPU" "$BENCH_BIN/rr" serve -p "$RR_PORT"
		direct_link "$i"
	done
	for ((i = 0; i < 16; i++)); do
		addr_add client eth0 "10.201.0.$((10 + i))/24"
	done
	rp_filter_off client lb t1 t2
	start_bg t1 taskset -c "$CLIENT_CPU" iperf3 -s -p 5201
	nsx lb sh -c "printf '%x' $((1 << LB_CPU)) > /sys/class/net/c0/queues/rx-0/rps_cpus" ||
		fail "cannot set RPS on lb/c0"
	C0_MAC=$(nsx lb cat /sys/class/net/c0/address) || fail "no MAC on lb/c0"
	"$NFQLB" init --M 997 >/dev/null || fail "nfqlb init"
	for i in 1 2; do
		wait_for nsx lb "$TOOLS/nfqlb-conn" -c 1 -t 200 "10.201.$i.2" 80 ||
			fail "t$i does not answer"
	done
}

# direct_link I: target I's own link to the client (client dI
# 10.201.1I.2, target d0 10.201.1I.1), the VIP on the target's lo, and its
# answers from the VIP or from its d0 address go back over that link
# (table 200), so that in DSR mode they bypass lb.
direct_link()
{
	veth_add client "d$1" "t$1" d0
	addr_add client "d$1" "10.201.1$1.2/24"
	addr_add "t$1" d0 "10.201.1$1.1/24"
	addr_add "t$1" lo "$BVIP/32"
	sysctl_in "t$1" net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2
	# As on c0: the target's receive work on LB_CPU, whichever way it came.
	nsx "t$1" sh -c "printf '%x' $((1 << LB_CPU)) > /sys/class/net/d0/queues/rx-0/rps_cpus" &&
	nsx "t$1" ip route add default via "10.201.1$1.2" dev d0 table 200 &&
	nsx "t$1" ip rule add from "$BVIP" lookup 200 &&
	nsx "t$1" ip rule add from "10.201.1$1.1" lookup 200 ||
		fail "the direct link's routes in t$1"
}

# lb_mode nat|dsr: how lb sends a marked packet on: DNAT rules (rules
# adds them) or policy routing by fwmark to the target (`nfqlb route`).
lb_mode()
{
	local i

	[ "$LB_MODE" = "$1" ] && return 0
	for i in 1 2; do
		if [ "$1" = dsr ]; then
			nsx lb "$NFQLB" route add "$i" via "10.201.$i.2" >/dev/null
		else
			nsx lb "$NFQLB" route del "$i" >/dev/null
		fi || fail "nfqlb route for $1 mode"
	done
	LB_MODE=$1
}

# offloads on|off: TSO and GSO of the client's interface.
offloads()
{
	nsx client ethtool -K eth0 tso "$1" gso "$1" >/dev/null 2>&1 ||
		fail "ethtool -K eth0 tso $1 gso $1 in the client"
}

# ---------------------------------------------------------------- rule sets

# nat_args N: nfqlb rules --nat arguments for targets 1..N.
nat_args()
{
	local i

	for ((i = 1; i <= $1; i++)); do
		printf -- '--nat %d=10.201.%d.2 ' "$i" "$i"
	done
}

# targets N: exactly targets 1..N active in the table.
targets()
{
	local ids want=""

	for ((i = 1; i <= $1; i++)); do want+="$i "; done
	ids=$("$NFQLB" show --json | json_ids)
	for i in $ids; do
		case " $want" in *" $i "*) ;; *) "$NFQLB" deactivate "$i" >/dev/null ;; esac
	done
	# shellcheck disable=SC2086
	"$NFQLB" activate $want >/dev/null || fail "nfqlb activate $want"
}

# rules MODE N: lb's mangle and nat rules for the VIP, N targets; DNAT
# rules only in NAT mode (lb_mode).
#   none    no rules (direct: the client talks to t1 itself)
#   kernel  -j HMARK (the kernel-only reference)
#   queue   nfqlb rules, all packets to queue 0
#   queue2  nfqlb rules --queue 0:1 (--queue-balance)
#   syn     nfqlb rules --syn-only
#   fast    nfqlb rules --bpf: only packets the fast path left unmarked
#           are queued
rules()
{
	local t nat=()

	[ "$LB_MODE" = nat ] && read -ra nat <<<"$(nat_args "$2")"
	for t in mangle nat; do
		nsx lb iptables -t "$t" -F && nsx lb iptables -t "$t" -X || fail "iptables -F"
	done
	case $1 in
	none) ;;
	kernel)
		nsx lb iptables -t mangle -A PREROUTING -d "$BVIP" -j HMARK \
			--hmark-tuple src,dst,sport,dport,proto --hmark-mod "$2" \
			--hmark-offset 1 --hmark-rnd 0x5eed || fail "HMARK rule"
		[ "$LB_MODE" = nat ] || return 0
		nsx lb iptables-save | "$NFQLB" rules --vip "$BVIP" "${nat[@]}" |
			sed '/^\*mangle/,/^COMMIT/d' | nsx lb iptables-restore --noflush ;;
	queue) rules_nfqlb "${nat[@]}" ;;
	queue2) rules_nfqlb --queue 0:1 "${nat[@]}" ;;
	syn) rules_nfqlb --syn-only "${nat[@]}" ;;
	fast) rules_fast "${nat[@]}" ;;
	*) fail "rules: unknown mode $1" ;;
	esac || fail "rules $1"
}

# rules_fast ARGS...: `nfqlb rules --bpf --vip VIP ARGS...` into lb's
# tables.  Until nfqlb rules has --bpf, the same made by hand: the queue
# rule matches only packets the fast path left unmarked (mark 0).
rules_fast()
{
	if "$NFQLB" rules --help 2>&1 | grep -q -- '--bpf'; then
		rules_nfqlb --bpf "$@"
		return
	fi
	nsx lb iptables-save | "$NFQLB" rules --vip "$BVIP" "$@" |
		sed 's/^\(-A NFQLB-[^ ]*\) -j NFQUEUE/\1 -m mark --mark 0 -j NFQUEUE/' |
		nsx lb iptables-restore --noflush
}

# rules_nfqlb ARGS...: `nfqlb rules --vip VIP ARGS...` into lb's tables.
rules_nfqlb()
{
	nsx lb iptables-save | "$NFQLB" rules --vip "$BVIP" "$@" |
		nsx lb iptables-restore --noflush
}

# ---------------------------------------------------------------- consumers

# consumer KIND [ARGS...]: start the NFQUEUE consumer in lb, and wait until
# the VIP answers through it.  KIND: none, null, nfqlb.
consumer()
{
	local kind=$1

	shift
	LB_PID=""
	case $kind in
	none) return 0 ;;
	null) start_bg lb "$BENCH_BIN/nfq-null" -C "$LB_CPU" -m 1 "$@" ;;
	nfqlb) start_bg lb "$NFQLB" lb "$@" ;;
	esac
	LB_PID=$BG_PID
	wait_for -n 50 -i 0.1 lb_up || fail "the $kind consumer does not pass traffic"
}

# lb_up: the worker runs and the VIP answers through it (in DSR mode over
# TCP: the UDP echo answers from the target's own address, not the VIP).
lb_up()
{
	alive "$LB_PID" || return 1
	if [ "$LB_MODE" = dsr ]; then
		nsx client timeout 2 "$TOOLS/nfqlb-conn" -c 1 -t 200 "$BVIP" 80 >/dev/null 2>&1
	else
		nsx client timeout 2 "$TOOLS/nfqlb-blast" rr -n 1 -d 1 "$BVIP" 7 >/dev/null 2>&1
	fi
}

# consumer_stop: stop the consumer.  After a fast path case, log how many
# packets still reached the queue: a fast path that marked nothing would
# otherwise pass unnoticed, as the queue marks them all the same.
consumer_stop()
{
	[ -n "$LB_PID" ] && stop_pid "$LB_PID" 3
	LB_PID=""
	[ -n "${FAST_Q0:-}" ] &&
		info "  (the fast path left $(($(stats_queue 0 packets) - FAST_Q0)) packets to the queue)"
	FAST_Q0=""
}

# ---------------------------------------------------------------- UDP rate

# backlog_drops: packets LB_CPU's input backlog dropped, full, since boot
# (/proc/net/softnet_stat, the row whose CPU field is LB_CPU; the backlog
# is the CPU's, not a namespace's, but nothing else floods it here).
backlog_drops()
{
	local f

	while read -ra f; do
		[ "${#f[@]}" -ge 13 ] && [ $((16#${f[12]})) -eq "$LB_CPU" ] &&
			{ echo $((16#${f[1]})); return 0; }
	done </proc/net/softnet_stat
	echo 0
}

# snapshot: "ns forwarded qdrop udrop ticks cpu_busy cpu_softirq cpu_all
# backlog wire": packets lb sent to the targets, the kernel's queue and
# socket drops, the consumer's CPU ticks (user + system), LB_CPU's ticks
# from /proc/stat, LB_CPU's backlog drops, and the frames the client's
# eth0 sent or dropped (a veth drops a frame when the peer's backlog is
# full, and then fails the send: the blaster does not count it as sent).
snapshot()
{
	local fwd q pt=0

	fwd=$(nsx lb cat /sys/class/net/t1/statistics/tx_packets \
		/sys/class/net/t2/statistics/tx_packets | awk '{ s += $1 } END { print s }')
	q=$(nsx lb cat /proc/net/netfilter/nfnetlink_queue 2>/dev/null |
		awk '{ d += $6; u += $7 } END { print d + 0, u + 0 }')
	[ -n "$LB_PID" ] && pt=$(awk '{ print $14 + $15 }' "/proc/$LB_PID/stat" 2>/dev/null)
	echo "$(now_ns) $fwd $q ${pt:-0} $(awk -v c="cpu$LB_CPU" '$1 == c {
		print $2 + $3 + $4 + $7 + $8, $8, $2 + $3 + $4 + $5 + $6 + $7 + $8 }' /proc/stat) $(backlog_drops) $(nsx client cat \
		/sys/class/net/eth0/statistics/tx_packets /sys/class/net/eth0/statistics/tx_dropped |
		awk '{ s += $1 } END { print s }')"
}

# udp_run [RATE [ARGS...]]: one run of the blaster (at most RATE pps; ""
# for no limit; ARGS: more of its options), measured over its middle;
# U_SENDERS (default 1) blasters at once, each from its own source ports,
# all on CLIENT_CPU.  Sets U_OFFER (the frames the blasters sent, their
# sum) U_WIRE (the frames the client's eth0 sent or dropped as lb's
# backlog was full: what was offered to lb) U_PPS U_QDROP U_UDROP U_BDROP
# (LB_CPU's backlog) (per second), U_WORKER (the consumer's CPU share, %),
# U_BUSY and U_SI (LB_CPU busy and softirq, %).
udp_run()
{
	local rate=${1:-} pids=() i a b

	shift $(($# ? 1 : 0))
	for ((i = 0; i < ${U_SENDERS:-1}; i++)); do
		nsx client timeout 60 taskset -c "$CLIENT_CPU" "$TOOLS/nfqlb-blast" send -f 256 \
			-i eth0 -M "$C0_MAC" -d "$RUN_SECS" ${rate:+-r "$rate"} "$@" "$BVIP" 9000 \
			>"$LOGDIR/blast$i.out" 2>&1 &
		pids+=($!)
	done
	sleep 0.5
	a=$(snapshot)
	sleep "$(awk -v s="$RUN_SECS" 'BEGIN { print s - 0.8 }')"
	b=$(snapshot)
	U_OFFER=0
	for ((i = 0; i < ${#pids[@]}; i++)); do
		wait "${pids[$i]}" || fail "the blaster failed: $(cat "$LOGDIR/blast$i.out")"
		U_OFFER=$(awk -v a="$U_OFFER" -v b="$(kv "$LOGDIR/blast$i.out" pps)" \
			'BEGIN { printf "%.0f\n", a + b }')
	done
	# Fields: a is $1..$10, b is $11..$20, in the order snapshot prints.
	read -r U_PPS U_QDROP U_UDROP U_WORKER U_BUSY U_SI U_BDROP U_WIRE < <(echo "$a $b" | awk '{
		s = ($11 - $1) / 1e9; t = $18 - $8
		printf "%.0f %.0f %.0f %.0f %.0f %.0f %.0f %.0f\n", ($12 - $2) / s, ($13 - $3) / s,
			($14 - $4) / s, ($15 - $5) / s, t ? ($16 - $6) / t * 100 : 0,
			t ? ($17 - $7) / t * 100 : 0, ($19 - $9) / s, ($20 - $10) / s }')
}

# udp_peak START: offer START pps, then 25% more each step until the
# consumer falls behind (delivers less than 95%) twice in a row, or the
# sender cannot go faster; at most 8 steps.  Then one more run halfway
# between the last rate it kept up with and the next, which the 25% steps
# skip.  Sets P_PPS to the best rate delivered and the other P_* to the
# figures of that step.
udp_peak()
{
	local rate=$1 step behind=0 good=0 bad=0

	P_PPS=0
	for ((step = 0; step < 8 && behind < 2; step++)); do
		udp_peak_try "$rate"
		if [ "$U_PPS" -lt $((U_OFFER * 95 / 100)) ]; then
			behind=$((behind + 1))
			[ "$bad" -gt "$good" ] || bad=$rate
		else
			behind=0 good=$rate bad=0
		fi
		[ "$U_OFFER" -lt $((rate * 9 / 10)) ] && break
		rate=$((rate * 5 / 4))
	done
	[ "$good" -gt 0 ] && [ "$bad" -gt "$good" ] && udp_peak_try $(((good + bad) / 2))
	return 0
}

# udp_peak_try RATE: one step of udp_peak; keeps the best in P_*.
udp_peak_try()
{
	udp_run "$1"
	info "  offered $U_OFFER pps (asked $1): delivered $U_PPS"
	# shellcheck disable=SC2034 # the P_* are read by bench.sh
	if [ "$U_PPS" -gt "$P_PPS" ]; then
		P_PPS=$U_PPS P_QDROP=$U_QDROP P_UDROP=$U_UDROP P_WORKER=$U_WORKER
		P_BUSY=$U_BUSY P_SI=$U_SI P_OFFER=$U_OFFER
	fi
}

# ---------------------------------------------------------------- TCP, RR

# tcp_bulk: TCP_MBPS, Mbit/s of one iperf3 run from the client to the VIP (t1).
tcp_bulk()
{
	local out=$LOGDIR/iperf.json

	nsx client timeout $((TCP_SECS + 20)) taskset -c "$CLIENT_CPU" iperf3 -c "$BVIP" \
		-p 5201 -t "$TCP_SECS" -J >"$out" 2>&1 || fail "iperf3: $(tail -n 5 "$out")"
	TCP_MBPS=$(python3 -c 'import json, sys
print("%.0f" % (json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"] / 1e6))' "$out") ||
		fail "iperf3 output: $(tail -n 5 "$out")"
}

# conn_rate: CONN_RATE, short TCP connections per second to the VIP.
conn_rate()
{
	local out=$LOGDIR/conn.out

	nsx client timeout $((CONN_SECS + 20)) taskset -c "$CLIENT_CPU" "$TOOLS/nfqlb-blast" \
		conn -P 8 -d "$CONN_SECS" "$BVIP" 80 >"$out" 2>&1 || fail "conn: $(cat "$out")"
	CONN_RATE=$(kv "$out" rate)
}

# rr_latency CPU: RR_P50 and RR_P99, in us, of UDP round trips from a
# client on CPU.
rr_latency()
{
	local out=$LOGDIR/rr.out

	nsx client timeout 30 taskset -c "$1" "$TOOLS/nfqlb-blast" rr -n 5000 -d 10 \
		"$BVIP" 7 >"$out" 2>&1 || fail "rr: $(cat "$out")"
	RR_P50=$(kv "$out" p50_us)
	RR_P99=$(kv "$out" p99_us)
}

# ---------------------------------------------------------------- sweep, scale

# sweep_run DST: one message-size sweep (rr sweep) from the client to
# DST's rr server; its lines in $LOGDIR/sweep.out.
sweep_run()
{
	nsx client timeout 180 taskset -c "$CLIENT_CPU" "$BENCH_BIN/rr" sweep \
		-t "$SWEEP_SECS" -n 1000 "$1" "$RR_PORT" >"$LOGDIR/sweep.out" 2>&1 ||
		fail "rr sweep to $1: $(tail -n 3 "$LOGDIR/sweep.out")"
}

# scale_run DST P: P clients, each from its own address (SRC_BASE + i),
# open connections to DST's rr server for SCALE_SECS; sets SC_RATE (per
# second), SC_P50 and SC_P99 (us, per connection).
scale_run()
{
	local out=$LOGDIR/scale.out

	nsx client timeout 60 taskset -c "$CLIENT_CPU" "$BENCH_BIN/rr" conn -P "$2" \
		-d "$SCALE_SECS" -b "$SRC_BASE" "$1" "$RR_PORT" >"$out" 2>&1 ||
		fail "rr conn -P $2 to $1: $(tail -n 3 "$out")"
	read -r SC_RATE SC_P50 SC_P99 < <(awk '{ for (i = 1; i < NF; i += 2) v[$i] = $(i + 1) }
		END { print v["rate"], v["p50_us"], v["p99_us"] }' "$out")
}
