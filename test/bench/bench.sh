#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# bench.sh: `make bench`.  Runs the micro and macro benchmarks and rewrites
# BENCHMARKS.md (BENCH_OUT overrides the path) and its plots next to it
# (bench-sweep, bench-scale: SVG and PNG).  Needs root for the namespaces;
# takes about 10 to 15 minutes on 2 vCPUs.
#
# Every macro figure is a ratio against a reference measured in the same
# run and topology (test/bench/bench-lib.sh), and every figure is the median
# of BENCH_REPEATS (default 3) runs, the references and the cases
# interleaved so that slow phases of a noisy machine hit them alike.
#
# Environment: NFQLB, TOOLS, BENCH_BIN (the Makefile sets them),
# BENCH_REPEATS, BENCH_OUT, LB_CPU (default 1), CLIENT_CPU (default 0),
# BENCH_ONLY (a space-separated subset of: micro udp overload tcp conn rr
# sweep scale profile; for development: the report then shows "-" for what
# did not run).
TEST_NAME=bench
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/../func/lib.sh"
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/bench-lib.sh"
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/report.sh"

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
REPEATS=${BENCH_REPEATS:-3}
OUT=${BENCH_OUT:-$ROOT/BENCHMARKS.md}
PLOT_DIR=$(dirname "$OUT")	# the plots go next to the report
ONLY=${BENCH_ONLY:-micro udp overload tcp conn rr sweep scale profile}
declare -A R	# R[key]="value value ...": one value per repeat
declare -A NEXT_START	# where udp_peak starts for a case: 4/5 of its last peak
START=$SECONDS
# The fast path (`nfqlb lb --bpf`), when this nfqlb has it.
HAVE_FAST=$("$NFQLB" lb --help 2>&1 | grep -q -- '--bpf' && echo 1)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

need_root
need_cmd ip iptables iptables-restore ethtool iperf3 taskset python3 valgrind gnuplot
need_bins
[ -x "$BENCH_BIN/nfq-null" ] && [ -x "$BENCH_BIN/micro" ] && [ -x "$BENCH_BIN/rr" ] ||
	fail "the bench tools are not built (make bench-tools)"
[ "$(nproc)" -ge 2 ] || { LB_CPU=0 CLIENT_CPU=0; }
[ "$REPEATS" -ge 1 ] 2>/dev/null || fail "BENCH_REPEATS must be a number >= 1"

# add KEY VALUE: one more value of a figure.
add()
{
	R[$1]="${R[$1]:-} $2"
}

# med KEY: the median of a figure's values ("" when it has none).
med()
{
	[ -n "${R[$1]:-}" ] || return 0
	# shellcheck disable=SC2086
	median ${R[$1]}
}

wants()
{
	case " $ONLY " in *" $1 "*) return 0 ;; esac
	return 1
}

# ---------------------------------------------------------------- micro

micro_builds()
{
	local m n out

	for m in 997 65537 655373; do
		for n in 10 100 1000; do
			out=$("$BENCH_BIN/micro" build "$m" "$n" 7) || fail "micro build $m $n"
			add "build_${m}_$n" "$(echo "$out" | awk '$1 == "ms_median" { print $2 }')"
		done
	done
}

# Instructions per packet: the difference of two callgrind runs, so that
# the set-up and the warm-up pass cancel out.
micro_callgrind()
{
	local n ir=()

	for n in 65536 131072; do
		ir+=("$(valgrind --tool=callgrind --toggle-collect=run_mix \
			--callgrind-out-file="$LOGDIR/cg.out" "$BENCH_BIN/micro" mix "$n" 2>&1 |
			awk '/Collected/ { print $NF }')")
	done
	add instr_per_packet "$(awk -v a="${ir[0]}" -v b="${ir[1]}" \
		'BEGIN { printf "%.0f\n", (b - a) / 65536 }')"
}

# The unarmed trace check, in instructions per batch of 64: callgrind's
# count of run_mix_traced() less run_mix()'s, each the difference of two
# runs; and the cost of a record written while armed, in ns per packet.
micro_trace()
{
	local mode fn n ir=()

	for mode in mix:run_mix tracemix:run_mix_traced; do
		fn=${mode#*:}
		for n in 65536 131072; do
			ir+=("$(valgrind --tool=callgrind --toggle-collect="$fn" \
				--callgrind-out-file="$LOGDIR/cg.out" "$BENCH_BIN/micro" "${mode%%:*}" "$n" 2>&1 |
				awk '/Collected/ { print $NF }')")
		done
	done
	add trace_unarmed_instr_per_batch "$(awk -v a="${ir[0]}" -v b="${ir[1]}" -v c="${ir[2]}" \
		-v d="${ir[3]}" 'BEGIN { printf "%.1f\n", ((d - c) - (b - a)) / 1024 }')"
	add trace_armed_ns "$("$BENCH_BIN/micro" trace 2000000 5 |
		awk '$1 == "armed_put_ns_per_packet" { print $2 }')"
}

# activate of 1000 targets on M=65537, the whole command, in ms.
micro_activate()
{
	local t0 t1 ids

	ids=$(seq 1 1000 | tr '\n' ' ')
	NFQLB_SHM="$NFQLB_SHM-act" "$NFQLB" init --M 65537 --N 1000 --force --empty >/dev/null ||
		fail "init M=65537 N=1000"
	t0=$(now_ns)
	# shellcheck disable=SC2086
	NFQLB_SHM="$NFQLB_SHM-act" "$NFQLB" activate $ids >/dev/null || fail "activate 1000"
	t1=$(now_ns)
	add activate_ms "$(awk -v d=$((t1 - t0)) 'BEGIN { printf "%.1f\n", d / 1e6 }')"
	rm -f "/dev/shm/$NFQLB_SHM-act"
}

# The flow match: classify + match + hash + lookup with 1, 100 and 1000
# flows, the match alone, the flow set's build time and memory.
micro_flows()
{
	local n out

	for n in 1 100 1000; do
		out=$("$BENCH_BIN/micro" flows "$n" 2000000 5) || fail "micro flows $n"
		add "flows_ns_$n" "$(echo "$out" | awk '$1 == "ns_per_packet" { print $2 }')"
		add "flows_match_$n" "$(echo "$out" | awk '$1 == "match_ns" { print $2 }')"
		add "flows_ratio_$n" "$(echo "$out" | awk '$1 == "ratio" { print $2 }')"
		add "flows_build_$n" "$(echo "$out" | awk '$1 == "build_ms" { print $2 }')"
		add "flows_mb_$n" "$(echo "$out" | awk '$1 == "match_bytes" { printf "%.2f\n", $2 / 1e6 }')"
	done
}

# The fast path's BPF program on the same mix, run by the kernel
# (BPF_PROG_TEST_RUN, each packet 1000 times: the kernel reports the
# mean): the one flow of lb --shm --bpf, and 1000 flows.
micro_bpf()
{
	local n out

	for n in 1 1000; do
		out=$("$BENCH_BIN/micro" bpf "$n" 1000 3) || fail "micro bpf $n"
		add "bpf_ns_$n" "$(echo "$out" | awk '$1 == "ns_per_packet" { print $2 }')"
		add "bpf_marked_$n" "$(echo "$out" | awk '$1 == "marked_pct" { print $2 }')"
	done
}

# The largest flow set, once: its build time and memory.
micro_flows_worst()
{
	local out

	out=$("$BENCH_BIN/micro" flows-worst 3) || fail "micro flows-worst"
	add flows_worst_ms "$(echo "$out" | awk '$1 == "build_ms" { print $2 }')"
	add flows_worst_mb "$(echo "$out" | awk '$1 == "match_bytes" { printf "%.1f\n", $2 / 1e6 }')"
}

# Instructions per packet with 1000 flows, as micro_callgrind.
micro_flows_callgrind()
{
	local n ir=()

	for n in 65536 131072; do
		ir+=("$(valgrind --tool=callgrind --toggle-collect=run_flows \
			--callgrind-out-file="$LOGDIR/cg.out" "$BENCH_BIN/micro" flows 1000 "$n" 1 2>&1 |
			awk '/Collected/ { print $NF }')")
	done
	add flows_instr_1000 "$(awk -v a="${ir[0]}" -v b="${ir[1]}" \
		'BEGIN { printf "%.0f\n", (b - a) / 65536 }')"
}

run_micro()
{
	local r

	info "micro: table builds, classify + hash + lookup, flows, the BPF program, callgrind"
	for ((r = 0; r < REPEATS; r++)); do
		micro_builds
		add ns_per_packet "$("$BENCH_BIN/micro" classify 2000000 5 | awk '$1 == "ns_per_packet" { print $2 }')"
		micro_flows
		[ -n "$HAVE_FAST" ] && micro_bpf
		micro_activate
	done
	micro_flows_worst
	micro_callgrind
	micro_flows_callgrind
	micro_trace
	MIX=$("$BENCH_BIN/micro" describe) || fail "the packet mix does not classify cleanly"
}

# ---------------------------------------------------------------- UDP

# bench_case CASE N: rules and consumer for N targets.  none: no rules, no
# consumer; kernel: HMARK, no consumer; null: the do-nothing consumer,
# which marks every packet 1 (so sends it to t1); queue: nfqlb, all
# packets; queue2: nfqlb on queues 0 and 1 (--queue-balance); syn: nfqlb,
# SYN-only; fast: nfqlb with the fast path on c0 (`lb --bpf`), the queue
# rules for what it leaves unmarked.
bench_case()
{
	case $1 in
	none | kernel) rules "$1" "$2"; consumer none ;;
	fast) rules fast "$2"
		FAST_Q0=$(stats_queue 0 packets)
		consumer nfqlb --queue 0 --cpu "$LB_CPU" --bpf c0 --vip "$BVIP" ;;
	null) rules queue "$2"; consumer null ;;
	queue | syn) rules "$1" "$2"; consumer nfqlb --queue 0 --cpu "$LB_CPU" ;;
	queue2) rules queue2 "$2"; consumer nfqlb --queue 0:1 --cpu "$Q2_CPUS" ;;
	*) fail "bench_case: unknown case $1" ;;
	esac
}

# udp_case NAME: set up rules and consumer for a UDP case and find its peak.
udp_case()
{
	local start=${NEXT_START[$1]:-150000}

	case $1 in
	nfqlb) bench_case queue 2 ;;
	nfqlb2) bench_case queue2 2 ;;
	*) bench_case "$1" 2 ;;
	esac
	if [ "$1" = kernel ] || [ "$1" = fast ]; then
		# The kernel paths do not collapse: the sender's best is their test.
		udp_run
		info "UDP $1: offered $U_OFFER pps (no limit), delivered $U_PPS"
		P_PPS=$U_PPS P_QDROP=$U_QDROP P_UDROP=$U_UDROP P_WORKER=$U_WORKER
		P_BUSY=$U_BUSY P_SI=$U_SI P_OFFER=$U_OFFER
	else
		info "UDP $1 (from $start pps)"
		udp_peak "$start"
		NEXT_START[$1]=$((P_PPS * 4 / 5))
	fi
	add "udp_$1" "$P_PPS"
	add "udp_$1_offer" "$P_OFFER"
	add "udp_$1_qdrop" "$P_QDROP"
	add "udp_$1_udrop" "$P_UDROP"
	add "udp_$1_worker" "$P_WORKER"
	add "udp_$1_busy" "$P_BUSY"
	add "udp_$1_si" "$P_SI"
	consumer_stop
}

run_udp()
{
	local r c

	targets 2
	for ((r = 0; r < REPEATS; r++)); do
		for c in kernel null nfqlb nfqlb2 ${HAVE_FAST:+fast}; do
			udp_case "$c"
		done
	done
}

# flood_case CASE: start nfqlb for a flood case.
#   plain: the defaults; rt: --rt-priority 1; tc: --shed c0 at tc ingress,
#   on lb's CPU after RPS; xdp: --shed c0 in the veth driver's XDP, which
#   runs in the sender's NAPI, on the client's CPU (which then may not
#   manage to offer twice the peak)
flood_case()
{
	local args="--queue 0 --cpu $LB_CPU"

	case $1 in
	plain) consumer nfqlb $args ;;
	rt) consumer nfqlb $args --rt-priority 1 ;;
	tc) consumer nfqlb $args --shed c0 --shed-mode tc --vip "$BVIP" ;;
	xdp) consumer nfqlb $args --shed c0 --shed-mode xdp --vip "$BVIP" ;;
	esac
}

# flood CASE RATE: one flood run of a started case.
flood()
{
	udp_run "$2"
	info "flood ($1): offered $U_OFFER pps, delivered $U_PPS"
	add "flood_$1" "$U_PPS"
	add "flood_${1}_offer" "$U_OFFER"
	add "flood_${1}_qdrop" "$U_QDROP"
	add "flood_${1}_si" "$U_SI"
}

# The flood: in each repeat, nfqlb's peak (as in (c)) and, right after it,
# twice that peak with the defaults, with real-time priority, and with
# shedding at tc ingress and in XDP; each flood is judged against the peak
# of its own repeat.  Then the fast path's peak, and every path flooded
# by the senders' full rate (flood_full).
run_overload()
{
	local r c rate start

	targets 2
	start=${NEXT_START[nfqlb]:-150000}
	for ((r = 0; r < REPEATS; r++)); do
		bench_case queue 2
		info "flood: nfqlb's peak (from $start pps)"
		udp_peak "$start"
		consumer_stop
		add flood_peak "$P_PPS"
		rate=$((P_PPS * 2))
		start=$((P_PPS * 4 / 5))
		add flood_offer_asked "$rate"
		for c in plain rt tc xdp; do
			flood_case "$c"
			flood "$c" "$rate"
			consumer_stop
		done
		[ -n "$HAVE_FAST" ] && flood_fast
		flood_full
	done
}

# The fast path's own peak (rising rates, as nfqlb's); flood_full judges
# the fast path flooded against it, in the same repeat.
flood_fast()
{
	local start=${NEXT_START[fast]:-300000}

	bench_case fast 2
	info "flood: the fast path's peak (from $start pps)"
	udp_peak "$start"
	add flood_fast_peak "$P_PPS"
	add flood_fast_peak_offer "$P_OFFER"
	NEXT_START[fast]=$((P_PPS * 4 / 5))
	consumer_stop
}

# The flood of the fast path's goals: as hard as the client's CPU can
# send.  FLOOD_SENDERS blasters at once, each with batches of 256 and a
# send buffer (16 MB) that frames held by lb never fill: with the default
# one, the frames waiting in lb's backlog and queue use it up and a slow
# path throttles its own sender, which no flood from the wire does.  Two
# senders: on a CPU shared with other work, two get a larger share of it.
FLOOD_SENDERS=2
FLOOD_BLAST="-b 256 -w 16777216"

# Every path flooded alike: kernel-only (a), nfqlb with 1 queue (c) and
# the fast path (e), one after the other, each offered the senders' full
# rate (no limit).  "Offered" is what reached lb's c0 or was dropped there
# as its backlog was full (the client eth0's counters), not the blasters'
# count, which leaves those drops out.
flood_full()
{
	local c

	for c in kernel nfqlb ${HAVE_FAST:+fast}; do
		if [ "$c" = nfqlb ]; then bench_case queue 2; else bench_case "$c" 2; fi
		# shellcheck disable=SC2086 # FLOOD_BLAST: several options
		U_SENDERS=$FLOOD_SENDERS udp_run "" $FLOOD_BLAST
		info "flooded, $c: offered $U_WIRE pps (sent $U_OFFER, no limit), delivered" \
			"$U_PPS, backlog drops $U_BDROP/s, queue drops $U_QDROP/s"
		add "full_$c" "$U_PPS"
		add "full_${c}_offer" "$U_WIRE"
		add "full_${c}_sent" "$U_OFFER"
		add "full_${c}_bdrop" "$U_BDROP"
		add "full_${c}_qdrop" "$U_QDROP"
		add "full_${c}_busy" "$U_BUSY"
		add "full_${c}_si" "$U_SI"
		consumer_stop
	done
}

# ---------------------------------------------------------------- TCP, conn, rr

run_tcp()
{
	local r c o

	targets 1
	for o in off on; do
		offloads "$o"
		for ((r = 0; r < REPEATS; r++)); do
			for c in kernel null queue syn ${HAVE_FAST:+fast}; do
				bench_case "$c" 1
				tcp_bulk
				add "tcp_${o}_$c" "$TCP_MBPS"
				info "TCP offloads $o, $c: $TCP_MBPS Mbit/s"
				consumer_stop
			done
		done
	done
	offloads on
}

run_conn()
{
	local r c

	targets 2
	for ((r = 0; r < REPEATS; r++)); do
		for c in kernel null queue ${HAVE_FAST:+fast}; do
			bench_case "$c" 2
			conn_rate
			add "conn_$c" "$CONN_RATE"
			info "connections/s, $c: $CONN_RATE"
			consumer_stop
		done
	done
}

# Same CPU: client, lb (RPS and worker) and the echo servers on LB_CPU.
# Cross: the client on CLIENT_CPU.  The do-nothing consumer (null) is the
# floor for any NFQUEUE program.
run_rr()
{
	local r c p

	targets 2
	for ((r = 0; r < REPEATS; r++)); do
		for c in kernel null queue ${HAVE_FAST:+fast}; do
			bench_case "$c" 2
			for p in same cross; do
				if [ $p = same ]; then rr_latency "$LB_CPU"; else rr_latency "$CLIENT_CPU"; fi
				add "rr_${p}_${c}_p50" "$RR_P50"
				add "rr_${p}_${c}_p99" "$RR_P99"
				info "latency $c, $p CPU: p50 $RR_P50 us, p99 $RR_P99 us"
			done
			consumer_stop
		done
	done
}

# ---------------------------------------------------------------- sweep, scale

# The cases of the sweep and scale parts: direct to t1, then each mode
# (nat, dsr) on each path (kernel: HMARK, the reference; queue: nfqlb,
# every packet queued; fast: nfqlb --bpf).  The fast path's cases only
# when this nfqlb has it.
path_cases()
{
	local m p

	printf 'direct'
	for m in nat dsr; do
		for p in kernel queue fast; do
			[ $p = fast ] && [ -z "$HAVE_FAST" ] && continue
			printf ' %s-%s' $m $p
		done
	done
	echo
}

# path_case CASE: lb set up for CASE of path_cases; DST is the address
# the client talks to.
path_case()
{
	DST=$BVIP
	if [ "$1" = direct ]; then
		lb_mode nat
		bench_case none 2
		DST=10.201.11.1
	else
		lb_mode "${1%%-*}"
		bench_case "${1#*-}" 2
	fi
}

SWEEP_SIZES=$(for ((n = 1; n <= 1048576; n *= 2)); do printf '%d ' $n; done)

# Request/response of 1 B to 1 MB messages, in every case of path_cases.
run_sweep()
{
	local r c line

	targets 2
	for ((r = 0; r < REPEATS; r++)); do
		for c in $(path_cases); do
			path_case "$c"
			sweep_run "$DST"
			consumer_stop
			while read -r line; do
				# shellcheck disable=SC2086
				set -- $line
				add "sweep_${c}_$2_p50" "$6"
				add "sweep_${c}_$2_mbps" "${10}"
			done <"$LOGDIR/sweep.out"
			info "sweep $c: 1 B $(med "sweep_${c}_1_p50") us, 1 MB $(med "sweep_${c}_1048576_mbps") Mbit/s"
		done
	done
	lb_mode nat
}

SCALE_CLIENTS="1 2 4 8 16"

# Connections per second and their latency with 1 to 16 clients, each
# from its own address, in every case of path_cases.
run_scale()
{
	local r c p

	targets 2
	for ((r = 0; r < REPEATS; r++)); do
		for c in $(path_cases); do
			path_case "$c"
			for p in $SCALE_CLIENTS; do
				scale_run "$DST" "$p"
				add "scale_${c}_${p}_rate" "$SC_RATE"
				add "scale_${c}_${p}_p50" "$SC_P50"
				add "scale_${c}_${p}_p99" "$SC_P99"
				info "scale $c, $p clients: $SC_RATE/s, p50 $SC_P50 us, p99 $SC_P99 us"
			done
			consumer_stop
		done
	done
	lb_mode nat
}

# ---------------------------------------------------------------- profile

# One nfqlb run at its peak rate: where LB_CPU's time goes (perf, if it can
# sample here), and the worker's user and system time.
run_profile()
{
	local rate a b pp

	rate=$(med udp_nfqlb)
	[ -n "$rate" ] || rate=200000
	targets 2
	rules queue 2
	consumer nfqlb --queue 0 --cpu "$LB_CPU"
	a=$(awk '{ print $14, $15 }' "/proc/$LB_PID/stat")
	pp=""
	if command -v perf >/dev/null 2>&1; then
		perf record -q -e cpu-clock -C "$LB_CPU" -g -o "$LOGDIR/perf.data" -- \
			sleep "$RUN_SECS" >/dev/null 2>&1 &
		pp=$!
	fi
	udp_run "$rate"
	[ -n "$pp" ] && wait "$pp"
	b=$(awk '{ print $14, $15 }' "/proc/$LB_PID/stat")
	PROF_UTIME=$(( ${b% *} - ${a% *} ))
	PROF_STIME=$(( ${b#* } - ${a#* } ))
	PROF_PPS=$U_PPS PROF_SI=$U_SI PROF_BUSY=$U_BUSY
	consumer_stop
	perf_summary
}

perf_summary()
{
	PERF_TOP="" PERF_SPLIT=""
	[ -s "$LOGDIR/perf.data" ] || return 0
	PERF_TOP=$(perf report -i "$LOGDIR/perf.data" --no-children --sort sym --stdio \
		-g none 2>/dev/null | awk '/^ +[0-9.]+%/ { print $1, $NF }' | head -n 12)
	PERF_SPLIT=$(perf report -i "$LOGDIR/perf.data" --children --sort sym --stdio -g none \
		2>/dev/null | awk '/^ +[0-9.]+%/ { print $1, $NF }' |
		grep -E ' (handle_softirqs|__local_bh_enable_ip|__irq_exit_rcu|nfqnl_recv_verdict|__nfqnl_enqueue_packet|__sys_recvmmsg|ip_forward|lb_lookup_batch|nf_conntrack_in|nft_do_chain)$' |
		head -n 12)
}

# ---------------------------------------------------------------- main

info "namespaces and tools"
bench_topo
Q2_CPUS=$LB_CPU
wants micro && run_micro
wants udp && run_udp
wants overload && run_overload
wants tcp && run_tcp
wants conn && run_conn
wants rr && run_rr
wants sweep && run_sweep
wants scale && run_scale
wants profile && run_profile
ELAPSED=$((SECONDS - START))
write_report >"$OUT.tmp" && mv "$OUT.tmp" "$OUT" || fail "cannot write $OUT"
cat "$OUT"
info "wrote $OUT in ${ELAPSED}s"
exit 0
