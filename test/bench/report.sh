# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
# report.sh: BENCHMARKS.md from the figures bench.sh gathered in R[].
# Sourced by bench.sh; write_report prints the whole file on stdout.

# vals KEY: a figure's values, one per repeat, or nothing.
vals()
{
	echo "${R[$1]:-}"
}

# pratio A B [DIGITS]: the median over repeats of A[i] / B[i], each pair
# measured back to back.
pratio()
{
	paste -d' ' <(vals "$1" | tr ' ' '\n' | grep .) <(vals "$2" | tr ' ' '\n' | grep .) |
		awk -v d="${3:-2}" '$2 > 0 { print $1 / $2 }' | sort -g |
		awk -v d="${3:-2}" '{ v[NR] = $1 } END { if (NR) printf "%.*f\n", d, v[int((NR + 1) / 2)]; else print "-" }'
}

# pdiff A B: the median over repeats of A[i] - B[i].
pdiff()
{
	paste -d' ' <(vals "$1" | tr ' ' '\n' | grep .) <(vals "$2" | tr ' ' '\n' | grep .) |
		awk '{ print $1 - $2 }' | sort -g |
		awk '{ v[NR] = $1 } END { if (NR) printf "%.1f\n", v[int((NR + 1) / 2)]; else print "-" }'
}

# m KEY: the median, or "-".
m()
{
	local v

	v=$(med "$1")
	echo "${v:--}"
}

# kpps KEY: the median in thousands of packets per second.
kpps()
{
	local v

	v=$(med "$1")
	[ -n "$v" ] && awk -v v="$v" 'BEGIN { printf "%.0f k\n", v / 1000 }' || echo "-"
}

# met VALUE OP GOAL: "met", "not met", or "-" without a value.
met()
{
	awk -v v="$1" -v op="$2" -v g="$3" 'BEGIN {
		if (v == "-" || v == "") { print "-"; exit }
		ok = op == ">=" ? v + 0 >= g + 0 : v + 0 <= g + 0
		print ok ? "**met**" : "**not met**" }'
}

# of_peak KEY: the median over repeats of a flood figure over nfqlb's peak
# measured just before it, in the same repeat.
of_peak()
{
	pratio "$1" flood_peak
}

# flood_short OFFERED_OVER_PEAK: a note for a goal measured at less than
# twice the peak it names.
flood_short()
{
	awk -v r="$1" 'BEGIN { if (r != "-" && r != "" && r + 0 < 2) printf " (at %sx, not 2x)\n", r }'
}

pct()
{
	awk -v v="$1" 'BEGIN { if (v == "-" || v == "") print "-"; else printf "%.0f%%\n", v * 100 }'
}

report_head()
{
	cat <<EOF
# nfqlb benchmarks

Written by \`make bench\` (test/bench/bench.sh) on $(date -u '+%Y-%m-%d %H:%M UTC'),
commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$ROOT" diff --quiet HEAD 2>/dev/null || echo " (with local changes)"),
in ${ELAPSED} s. Do not edit by hand: run \`make bench\` (as root) again.

**Machine:** $(nproc) CPUs, $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo),
Linux $(uname -r); load average (1, 5, 15 min) ${LOAD_START} at the start,
$(cut -d' ' -f1-3 /proc/loadavg) at the end: anything well above 0 means
other work shared the CPUs and the figures are noisier.
Every figure is the median of ${REPEATS} repeats; every macro figure is a
ratio against a reference measured in the same run and topology, the
reference and the case run back to back in each repeat.
${BENCH_NOTE:-}

EOF
}

report_goals()
{
	local c_b c_a tcp_off tcp_on tcp_syn conn added ns build flood

	c_b=$(pratio udp_nfqlb udp_null)
	c_a=$(pratio udp_nfqlb udp_kernel)
	tcp_off=$(pratio tcp_off_queue tcp_off_kernel)
	tcp_on=$(pratio tcp_on_queue tcp_on_kernel)
	tcp_syn=$(pratio tcp_off_syn tcp_off_kernel)
	conn=$(pratio conn_queue conn_kernel)
	added=$(pdiff rr_same_queue_p50 rr_same_kernel_p50)
	ns=$(m ns_per_packet)
	build=$(m build_65537_1000)
	flood=$(of_peak flood_tc)
	cat <<EOF
## Goals

The last column's "floor" is the same figure for the do-nothing NFQUEUE
consumer (b), measured in the same run: no NFQUEUE program can do better
on this machine, so a goal beyond it is out of reach of any.

| metric | goal | measured | | floor (b) |
|---|---|---|---|---|
| UDP pps, 1 queue, vs the do-nothing consumer (c)/(b) | >= 90% | $(pct "$c_b") | $(met "$c_b" '>=' 0.9) | 100% |
| UDP pps, 1 queue, vs kernel-only (c)/(a) | >= 0.6x | ${c_a}x | $(met "$c_a" '>=' 0.6) | $(pratio udp_null udp_kernel)x |
| TCP bulk, TSO/GSO off on the client, every packet queued | >= 70% of kernel-only | $(pct "$tcp_off") | $(met "$tcp_off" '>=' 0.7) | $(pct "$(pratio tcp_off_null tcp_off_kernel)") |
| TCP bulk, offloads on | >= 95% | $(pct "$tcp_on") | $(met "$tcp_on" '>=' 0.95) | $(pct "$(pratio tcp_on_null tcp_on_kernel)") |
| TCP bulk, SYN-only (offloads off) | >= 98% | $(pct "$tcp_syn") | $(met "$tcp_syn" '>=' 0.98) | - |
| connection rate, all packets | >= 70% of kernel-only | $(pct "$conn") | $(met "$conn" '>=' 0.7) | $(pct "$(pratio conn_null conn_kernel)") |
| added latency p50, nfqlb on the same CPU as client and server | <= 4 us | ${added} us | $(met "$added" '<=' 4) | $(pdiff rr_same_null_p50 rr_same_kernel_p50) us |
| classify + hash + lookup | <= 30 ns/packet | ${ns} ns | $(met "$ns" '<=' 30) | - |
| classify + match + hash + lookup, 1000 flows | <= 100 ns/packet | $(m flows_ns_1000) ns | $(met "$(m flows_ns_1000)" '<=' 100) | - |
| table build, M=65537, N=1000 | <= 1.8 ms | ${build} ms | $(met "$build" '<=' 1.8) | - |
| flood at 2x capacity, RPS on the worker's CPU, \`--shed c0 --shed-mode tc\` | >= 80% of peak | $(pct "$flood") | $(met "$flood" '>=' 0.8) | - |

EOF
	report_goals_fast
}

# The goals of the fast path (\`lb --bpf\`, issue 13), against kernel-only
# and the queue path in the same run.
report_goals_fast()
{
	local u_k u_q fl fl_off conn added tcp

	u_k=$(pratio full_fast full_kernel)
	u_q=$(pratio full_fast full_nfqlb)
	fl=$(pratio full_fast flood_fast_peak)
	fl_off=$(pratio full_fast_offer flood_fast_peak)
	conn=$(pratio conn_fast conn_kernel)
	added=$(pdiff rr_same_fast_p50 rr_same_kernel_p50)
	tcp=$(pratio tcp_off_fast tcp_off_kernel)
	cat <<EOF
### The fast path (\`nfqlb lb --bpf\`)

Measured in the same runs as the rows above, next to kernel-only (a) and
the queue path (c); "queue path" is the same figure for nfqlb without
\`--bpf\`. "Flooded": kernel-only, the queue path and the fast path
each offered the senders' full rate, one after the other in each repeat
(see "Flooded" under "UDP packet rate"). The two rows "at its peak" are
the UDP table's, each path at the best rate it kept up with, not flooded:
for reference, not the goal.

| metric | goal | measured | | queue path |
|---|---|---|---|---|
| UDP 64-byte, flooded, RPS on lb's CPU, vs kernel-only | >= 0.85x | ${u_k}x | $(met "$u_k" '>=' 0.85) | $(pratio full_nfqlb full_kernel)x |
| the same, vs the queue path (c) flooded alike | >= 5x | ${u_q}x | $(met "$u_q" '>=' 5) | 1x |
| flooded, of its own peak; offered **${fl_off}x** its peak (the goal says 2x) | >= 95% of peak | $(pct "$fl") | $(met "$fl" '>=' 0.95)$(flood_short "$fl_off") | $(pct "$(pratio full_nfqlb flood_peak)") |
| UDP 64-byte at its peak (not flooded), vs kernel-only | - | $(pratio udp_fast udp_kernel)x | - | $(pratio udp_nfqlb udp_kernel)x |
| the same, vs the queue path at its own peak | - | $(pratio udp_fast udp_nfqlb)x | - | 1x |
| connection rate, every packet through the fast path | >= 0.9x kernel-only | ${conn}x | $(met "$conn" '>=' 0.9) | $(pratio conn_queue conn_kernel)x |
| added latency p50, same CPU | <= 1 us | ${added} us | $(met "$added" '<=' 1) | $(pdiff rr_same_queue_p50 rr_same_kernel_p50) us |
| TCP bulk, offloads off | >= 0.9x kernel-only | ${tcp}x | $(met "$tcp" '>=' 0.9) | $(pratio tcp_off_queue tcp_off_kernel)x |

EOF
}

report_micro()
{
	local m n row

	cat <<EOF
## Micro benchmarks

Table build (\`maglev_build\`, median of 7 builds per repeat), ms:

| M \\ N | 10 | 100 | 1000 |
|---|---|---|---|
EOF
	for m in 997 65537 655373; do
		row="| $m |"
		for n in 10 100 1000; do
			row+=" $(m "build_${m}_$n") |"
		done
		echo "$row"
	done
	cat <<EOF

\`nfqlb activate\` of 1000 targets on M=65537, the whole command (start,
map, build, validate, publish): $(m activate_ms) ms.

Classify + hash + lookup (\`lb_lookup_batch\`, the worker's own code, in
batches of 64 over a 4096-packet mix, table M=65537 with 100 targets):
**$(m ns_per_packet) ns/packet**; callgrind counts **$(m instr_per_packet)
instructions/packet** (stable on a noisy machine). The mix:

\`\`\`
$(echo "${MIX:-not run}" | sed 's/^mix //; s/^kind /classified as /')
\`\`\`

\`nfqlb trace\` costs the worker, while no trace is armed, one load of the
ring's lease and one branch per batch: callgrind counts
**$(m trace_unarmed_instr_per_batch) instructions per batch** of 64 packets
(\`run_mix_traced\` less \`run_mix\`, \`micro tracemix\`). While a trace is
armed, each decision written (the packet classified again, the clock read,
a slot taken and filled) costs $(m trace_armed_ns) ns/packet (\`micro trace\`).

EOF
	report_flows
}

report_flows()
{
	cat <<EOF
### Flows: classify + match + hash + lookup

\`micro flows N\` (test/bench/micro.c) runs the same mix in batches of 64
through the worker's own code: \`lb_flows_match\` (classify, match) and
\`lb_flows_lookup\` (hash with the flow's table, look up; 4 tables of
M=65537 with 100 targets, shared by the flows). In each pass it also runs
\`lb_lookup_batch\` without flows, back to back: the ratio is the time
with flows over that. N - 1 flows are random: 1-4 destination
prefixes around the mix's VIPs (IPv4 /8 to /32, IPv6 /16 to /128), a
fifth with 1-2 source prefixes, 0-3 destination ports or ranges
(well-known ports, or random ranges up to 2000 wide), one in twenty with
a source range, random protocols and prios; the last is a catch-all for
the two VIPs at the lowest prio. "Match alone" is \`flow_match_lookup\` on
keys classified beforehand; memory is the compiled set's heap.

| flows | ns/packet | ratio to no flows | match alone, ns | build, ms | memory, MB |
|---|---|---|---|---|---|
| 1 | $(m flows_ns_1) | $(m flows_ratio_1) | $(m flows_match_1) | $(m flows_build_1) | $(m flows_mb_1) |
| 100 | $(m flows_ns_100) | $(m flows_ratio_100) | $(m flows_match_100) | $(m flows_build_100) | $(m flows_mb_100) |
| 1000 | $(m flows_ns_1000) | $(m flows_ratio_1000) | $(m flows_match_1000) | $(m flows_build_1000) | $(m flows_mb_1000) |

With 1000 flows callgrind counts **$(m flows_instr_1000)
instructions/packet**. The largest flow set (\`micro flows-worst\`: 2048
flows with 32 prefixes or ranges in each of their four lists, made so
that no two pieces of a dimension share a set of flows) builds in
$(m flows_worst_ms) ms and takes $(m flows_worst_mb) MB.

EOF
	report_bpf_micro
}

# The fast path's program per packet, next to the queue path's code.
report_bpf_micro()
{
	cat <<EOF
### The fast path's program: parse + match + hash + lookup, in the kernel

\`micro bpf N\` publishes the same tables and flows through
nfqlb/fastpath.h (\`fastpath_publish\`) and has the kernel run the
program (bpf/fastpath.bpf.c) on the same mix, each packet in an Ethernet
frame: \`BPF_PROG_TEST_RUN\` runs each of the 4096 packets 1000 times and
reports the mean time of a run; the figure is the mean over the mix
(median of 3 passes per repeat). 1 flow is what \`lb --shm --bpf --vip\`
publishes: the two VIPs, any protocol, any port. The program's work
includes what the queue path's figures leave out: its per-CPU counters
and the per-target counter of every packet it marks; what it leaves
unmarked (ICMP, fragments: about a tenth of the mix) it gives up early.
Each packet repeated 1000 times keeps it and its map entries in the
cache, so this is the cheap end. For comparison, the queue path's own
code on the same mix (user space, batches of 64, from the rows above):

| ns/packet | queue path's code (\`lb_lookup_batch\`, \`lb_flows_*\`) | fast path's program (BPF_PROG_TEST_RUN) | marked by the program |
|---|---|---|---|
| 1 flow (\`lb --shm\`: no flow match in the queue path) | $(m ns_per_packet) | $(m bpf_ns_1) | $(m bpf_marked_1)% |
| 1000 flows | $(m flows_ns_1000) | $(m bpf_ns_1000) | $(m bpf_marked_1000)% |

EOF
}

udp_row()
{
	local c=$1 what=$2

	echo "| $what | $(kpps "udp_$c") | $(pratio "udp_$c" udp_kernel) | $(pratio "udp_$c" udp_null) | $(kpps "udp_${c}_offer") | $(m "udp_${c}_qdrop") | $(m "udp_${c}_udrop") | $(m "udp_${c}_worker")% | $(m "udp_${c}_busy")% / $(m "udp_${c}_si")% |"
}

report_udp()
{
	cat <<EOF
## UDP packet rate

64-byte IPv4 packets (36-byte payload), each from the next of 256 flows
(source ports), sent as ready-made frames on a packet socket with
sendmmsg (\`nfqlb-blast send -i\`, client on CPU ${CLIENT_CPU}); RPS on lb's ingress veth puts all of
lb's receive work on CPU ${LB_CPU}, where the consumer also runs. Each
NFQUEUE case is offered rising rates (25% steps) until it stops keeping
up; the figure is the best rate delivered to the targets (lb's transmit
counters), and the other columns are from that step. The kernel-only case
(a) does not collapse under overload and gets the sender's full rate; if
it delivers about what was offered, the sender, not the kernel, set it. Drops are per second; "worker" is
the consumer's CPU time (user + system, which includes the kernel's receive
work that interrupts it); the last column is CPU ${LB_CPU}'s busy and softirq
shares.

| case | delivered pps | vs (a) | vs (b) | offered | queue drops/s | socket drops/s | worker | CPU ${LB_CPU} busy / softirq |
|---|---|---|---|---|---|---|---|---|
$(udp_row kernel "(a) kernel only: HMARK + DNAT")
$(udp_row null "(b) do-nothing NFQUEUE consumer (nfq-null)")
$(udp_row nfqlb "(c) nfqlb lb, 1 queue")
$(udp_row nfqlb2 "(d) nfqlb lb, 2 queues (--queue-balance)")
$(udp_row fast "(e) nfqlb lb --bpf c0: the fast path")

(d)/(c) = **$(pratio udp_nfqlb2 udp_nfqlb)**: both queue threads run on CPU
${Q2_CPUS}, with the receive work, as RPS puts it there; a second queue can
only add cost on one CPU. (b) uses every short cut a load balancer cannot:
no packet bytes copied and one batch verdict for all packets.

### Flood: 2x capacity with RPS on the worker's CPU

In each repeat, nfqlb's peak is measured as in (c) (median
$(kpps flood_peak)), and right after it each case is offered twice that peak
(median asked: $(m flood_offer_asked) pps); "of peak" is the median of the
per-repeat ratios to that repeat's peak.

| nfqlb lb | offered | offered / peak | delivered | of peak | queue drops/s | CPU ${LB_CPU} softirq |
|---|---|---|---|---|---|---|
| defaults (normal scheduler) | $(kpps flood_plain_offer) | $(of_peak flood_plain_offer) | $(kpps flood_plain) | $(of_peak flood_plain) | $(m flood_plain_qdrop) | $(m flood_plain_si)% |
| \`--rt-priority 1\` (SCHED_FIFO) | $(kpps flood_rt_offer) | $(of_peak flood_rt_offer) | $(kpps flood_rt) | $(of_peak flood_rt) | $(m flood_rt_qdrop) | $(m flood_rt_si)% |
| \`--shed c0 --shed-mode tc\` (on lb's CPU) | $(kpps flood_tc_offer) | $(of_peak flood_tc_offer) | $(kpps flood_tc) | $(of_peak flood_tc) | $(m flood_tc_qdrop) | $(m flood_tc_si)% |
| \`--shed c0 --shed-mode xdp\` (in the sender's NAPI) | $(kpps flood_xdp_offer) | $(of_peak flood_xdp_offer) | $(kpps flood_xdp) | $(of_peak flood_xdp) | $(m flood_xdp_qdrop) | $(m flood_xdp_si)% |

"offered / peak" below 2 means the sender could not offer twice the peak
(it shares its CPU with whatever else runs); the case was then flooded
less than the goal asks.

EOF
	report_full
}

full_row()
{
	local c=$1 what=$2 peak=$3

	echo "| $what | $(kpps "full_${c}_offer") | $(kpps "full_$c") | $(pratio "full_$c" full_kernel) | $(if [ -n "$peak" ]; then pratio "full_$c" "$peak"; else echo -; fi) | $(m "full_${c}_bdrop") | $(m "full_${c}_qdrop") | $(m "full_${c}_busy")% / $(m "full_${c}_si")% |"
}

# Every path flooded by the same offer: the fast path's UDP goals.
report_full()
{
	local off

	off=$(pratio full_fast_offer flood_fast_peak)
	cat <<EOF
### Flooded: every path offered the senders' full rate

In each repeat, after the floods above, the fast path (\`nfqlb lb --bpf
c0\`) finds its own peak as nfqlb does (median $(kpps flood_fast_peak),
offered $(kpps flood_fast_peak_offer)); then kernel-only (a), nfqlb with 1
queue (c) and the fast path (e) are each flooded, one after the other, as
hard as the client's CPU ${CLIENT_CPU} can send: ${FLOOD_SENDERS} blasters at once with no
rate limit (\`nfqlb-blast send ${FLOOD_BLAST}\`: batches of 256, and a send
buffer that the frames lb holds never fill, so that a slow path cannot
throttle its sender as it does with the default buffer, and as no flood
from the wire is throttled). "Backlog drops" are frames CPU ${LB_CPU}'s input
backlog (RPS, \`netdev_max_backlog\`) dropped full before any path saw
them: where they are many, the CPU was flooded. "Of its peak" is the median
of the per-repeat ratios to the path's own peak of the same repeat (the
queue path's: nfqlb's peak above).

| case | offered | delivered | vs (a) | of its peak | backlog drops/s | queue drops/s | CPU ${LB_CPU} busy / softirq |
|---|---|---|---|---|---|---|---|
$(full_row kernel "(a) kernel only: HMARK + DNAT")
$(full_row nfqlb "(c) nfqlb lb, 1 queue" flood_peak)
$(full_row fast "(e) nfqlb lb --bpf c0: the fast path" flood_fast_peak)

Flooded alike, the fast path delivers **$(pratio full_fast full_kernel)** of
kernel-only and **$(pratio full_fast full_nfqlb)x** the queue path.

$(awk -v r="$off" 'BEGIN {
	if (r == "-" || r == "") print "The fast path was not flooded in this run."
	else if (r + 0 >= 2) printf "The senders offered the fast path %sx its peak, at least the 2x the goal names.\n", r
	else printf "The goal \"no collapse\" names twice the fast path'"'"'s peak; the senders offered it only %sx its peak (median of the per-repeat ratios): on 2 CPUs, one of them lb'"'"'s, the one CPU left to send does not reliably offer twice what the fast path takes. The figure below is at that offer, not at 2x.\n", r }')
At the senders' full rate the fast path delivered
**$(pratio full_fast flood_fast_peak)** of its own peak.

EOF
}

report_tcp()
{
	cat <<EOF
## TCP bulk, connection rate, latency

iperf3 (${TCP_SECS} s) from the client to one target through lb; TSO/GSO
set on the client's interface. Mbit/s, and the ratio to kernel-only:

| client offloads | kernel only | do-nothing (b) | ratio | nfqlb, all packets | ratio | nfqlb, SYN-only | ratio | fast path | ratio |
|---|---|---|---|---|---|---|---|---|---|
| TSO/GSO off | $(m tcp_off_kernel) | $(m tcp_off_null) | $(pratio tcp_off_null tcp_off_kernel) | $(m tcp_off_queue) | $(pratio tcp_off_queue tcp_off_kernel) | $(m tcp_off_syn) | $(pratio tcp_off_syn tcp_off_kernel) | $(m tcp_off_fast) | $(pratio tcp_off_fast tcp_off_kernel) |
| TSO/GSO on | $(m tcp_on_kernel) | $(m tcp_on_null) | $(pratio tcp_on_null tcp_on_kernel) | $(m tcp_on_queue) | $(pratio tcp_on_queue tcp_on_kernel) | $(m tcp_on_syn) | $(pratio tcp_on_syn tcp_on_kernel) | $(m tcp_on_fast) | $(pratio tcp_on_fast tcp_on_kernel) |

Connection rate (\`nfqlb-blast conn\`: 8 in flight, connect, one line each
way, close with RST; ${CONN_SECS} s): kernel-only $(m conn_kernel)/s,
the do-nothing consumer (b) $(m conn_null)/s (ratio
$(pratio conn_null conn_kernel)), through nfqlb (all packets queued)
$(m conn_queue)/s, ratio **$(pratio conn_queue conn_kernel)**; through the
fast path (\`lb --bpf c0\`) $(m conn_fast)/s, ratio
**$(pratio conn_fast conn_kernel)**.

Request/response latency (\`nfqlb-blast rr\`: 5000 UDP round trips of 36
bytes, one at a time), in us. *Same CPU*: the client, lb's receive work
(RPS), the nfqlb worker (\`--cpu ${LB_CPU}\`) and the echo servers all on
CPU ${LB_CPU}. *Cross*: the client on CPU ${CLIENT_CPU}, the rest on CPU ${LB_CPU}.

| placement | kernel p50 | kernel p99 | do-nothing (b) p50 | (b) p99 | nfqlb p50 | nfqlb p99 | added p50 | added p99 | (b) added p50 | nfqlb over (b) p50 | fast path p50 | fast p99 | fast added p50 | fast added p99 |
|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|
| same CPU | $(m rr_same_kernel_p50) | $(m rr_same_kernel_p99) | $(m rr_same_null_p50) | $(m rr_same_null_p99) | $(m rr_same_queue_p50) | $(m rr_same_queue_p99) | $(pdiff rr_same_queue_p50 rr_same_kernel_p50) | $(pdiff rr_same_queue_p99 rr_same_kernel_p99) | $(pdiff rr_same_null_p50 rr_same_kernel_p50) | $(pdiff rr_same_queue_p50 rr_same_null_p50) | $(m rr_same_fast_p50) | $(m rr_same_fast_p99) | $(pdiff rr_same_fast_p50 rr_same_kernel_p50) | $(pdiff rr_same_fast_p99 rr_same_kernel_p99) |
| cross CPU | $(m rr_cross_kernel_p50) | $(m rr_cross_kernel_p99) | $(m rr_cross_null_p50) | $(m rr_cross_null_p99) | $(m rr_cross_queue_p50) | $(m rr_cross_queue_p99) | $(pdiff rr_cross_queue_p50 rr_cross_kernel_p50) | $(pdiff rr_cross_queue_p99 rr_cross_kernel_p99) | $(pdiff rr_cross_null_p50 rr_cross_kernel_p50) | $(pdiff rr_cross_queue_p50 rr_cross_null_p50) | $(m rr_cross_fast_p50) | $(m rr_cross_fast_p99) | $(pdiff rr_cross_fast_p50 rr_cross_kernel_p50) | $(pdiff rr_cross_fast_p99 rr_cross_kernel_p99) |

"Added" is nfqlb's p50 (or p99) minus the kernel-only one; "(b) added" is
the same for the do-nothing consumer, the least any NFQUEUE program adds
here, and "nfqlb over (b)" what nfqlb adds beyond it.

EOF
}

report_profile()
{
	cat <<EOF
## Where the time goes

One more run of (c) at its peak rate ($(m udp_nfqlb) pps offered):
delivered ${PROF_PPS:--} pps; CPU ${LB_CPU} ${PROF_BUSY:--}% busy, ${PROF_SI:--}% of it
in softirq; the worker's threads used ${PROF_UTIME:--} ticks of user time and
${PROF_STIME:--} of system time (1/100 s each, over ${RUN_SECS} s; system time
includes the receive softirqs that interrupt it, as this kernel has no
IRQ time accounting). \`perf record -e cpu-clock -C ${LB_CPU}\`, self time:

\`\`\`
${PERF_TOP:-perf was not available}
\`\`\`

Including callees:

\`\`\`
${PERF_SPLIT:-perf was not available}
\`\`\`

EOF
}

# ---------------------------------------------------------------- sweep, scale

ALL_PATH_CASES="direct nat-kernel nat-queue nat-fast dsr-kernel dsr-queue dsr-fast"

# case_name CASE: a path case's column title.
case_name()
{
	case $1 in
	direct) echo "direct" ;;
	nat-kernel) echo "NAT HMARK" ;;
	nat-queue) echo "NAT queue" ;;
	nat-fast) echo "NAT fast" ;;
	dsr-kernel) echo "DSR HMARK" ;;
	dsr-queue) echo "DSR queue" ;;
	dsr-fast) echo "DSR fast" ;;
	esac
}

# table_head TITLE: a table's head, one column per path case.
table_head()
{
	local c row="| $1 |" sep="|---|"

	for c in $ALL_PATH_CASES; do
		row+=" $(case_name "$c") |"
		sep+="---|"
	done
	printf '%s\n%s\n' "$row" "$sep"
}

# human_size BYTES: 1 B, 2 KB, 1 MB.
human_size()
{
	awk -v n="$1" 'BEGIN {
		if (n >= 1048576) printf "%d MB\n", n / 1048576
		else if (n >= 1024) printf "%d KB\n", n / 1024
		else printf "%d B\n", n }'
}

# table_rows KEYFMT ROWS...: one row per ROW, one column per path case:
# the median of KEYFMT with %c the case and %r the row.  With SIZE_ROWS
# set, the rows are titled as sizes.
table_rows()
{
	local fmt=$1 r c k row

	shift
	for r in "$@"; do
		if [ -n "${SIZE_ROWS:-}" ]; then row="| $(human_size "$r") |"; else row="| $r |"; fi
		for c in $ALL_PATH_CASES; do
			k=${fmt//%c/$c}
			row+=" $(m "${k//%r/$r}") |"
		done
		echo "$row"
	done
}

# plot_cols KEYFMT ROW: the medians of one row, one per path case, "-"
# where a case did not run.
plot_cols()
{
	local fmt=$1 c k row=""

	for c in $ALL_PATH_CASES; do
		k=${fmt//%c/$c}
		row+=" $(m "${k//%r/$2}")"
	done
	echo "${row# }"
}

# plot FILE_BASE SCRIPT: the gnuplot SCRIPT (after the terminal and the
# output are set) as FILE_BASE.svg and FILE_BASE.png.
plot()
{
	{
		echo "set terminal svg size 1100,440 dynamic font 'sans,11'"
		echo "set output '$1.svg'"
		echo "$2"
		echo "set terminal pngcairo size 1100,440 font 'sans,9'"
		echo "set output '$1.png'"
		echo "$2"
	} >"$LOGDIR/plot.gp"
	gnuplot "$LOGDIR/plot.gp" 2>"$LOGDIR/gnuplot.err" ||
		{ info "gnuplot: $(head -n 3 "$LOGDIR/gnuplot.err")"; return 1; }
}

# plot_lines FILE FIRST_COLUMN [WITH]: gnuplot's plot arguments, one line
# per path case, the first case's values in FIRST_COLUMN.
plot_lines()
{
	local c i=0 args=""

	for c in $ALL_PATH_CASES; do
		args+="'$1' using 1:$(($2 + i)) with ${3:-linespoints} title '$(case_name "$c")' ls $((i + 1)), "
		i=$((i + 1))
	done
	echo "${args%, }"
}

PLOT_STYLE="set datafile missing '-'
set key top left font ',9'
set grid
set style line 1 lc rgb '#000000' lw 2 pt 7 ps 0.6
set style line 2 lc rgb '#1f77b4' lw 1.5 pt 5 ps 0.6
set style line 3 lc rgb '#1f77b4' lw 1.5 pt 9 ps 0.6 dt 2
set style line 4 lc rgb '#2ca02c' lw 1.5 pt 11 ps 0.6 dt 4
set style line 5 lc rgb '#d62728' lw 1.5 pt 5 ps 0.6
set style line 6 lc rgb '#d62728' lw 1.5 pt 9 ps 0.6 dt 2
set style line 7 lc rgb '#ff7f0e' lw 1.5 pt 11 ps 0.6 dt 4"

# sweep_plot: bench-sweep.svg and .png next to the report.
sweep_plot()
{
	local dat=$LOGDIR/sweep.dat n

	for n in $SWEEP_SIZES; do
		echo "$n $(plot_cols "sweep_%c_%r_mbps" "$n") $(plot_cols "sweep_%c_%r_p50" "$n")"
	done >"$dat"
	n=$(echo "$ALL_PATH_CASES" | wc -w)
	plot "$PLOT_DIR/bench-sweep" "$PLOT_STYLE
set multiplot layout 1,2 title 'TCP request/response, message sizes 1 B to 1 MB (median of $REPEATS)'
set logscale x 2
set logscale y 10
set format x '%.0b%B'
set xlabel 'message size, bytes'
set ylabel 'Mbit/s'
set format y '%g'
set title 'throughput: 8 N over half the round trip'
plot $(plot_lines "$dat" 2)
set logscale y 10
set ylabel 'us'
set title 'round trip, p50'
plot $(plot_lines "$dat" $((2 + n)))
unset multiplot"
}

report_sweep()
{
	[ -n "$(med sweep_direct_1_p50)" ] || return 0
	sweep_plot && PLOT_SWEEP=1
	cat <<EOF
## Message-size sweep

\`rr sweep\` (test/bench/rr.c): one TCP connection per size, messages of
N bytes each way, one at a time (TCP_NODELAY), for at most
${SWEEP_SECS} s or 1000 round trips per size, after 2 untimed ones; the
client on CPU ${CLIENT_CPU}, the servers (\`rr serve\`) and lb's receive
work on CPU ${LB_CPU}; offloads on (the veth default). *direct*: the client
to t1 over their own link, no lb. *NAT*: through lb, DNAT by mark; *DSR*:
lb routes by mark, the target answers from the VIP over its own link to
the client. *HMARK*: kernel-only marking (the reference); *queue*: nfqlb,
every packet queued; *fast*: nfqlb with the fast path (\`lb --bpf\`).
Throughput is netpipe's: 8 N bits over half the median round trip.

$([ -n "${PLOT_SWEEP:-}" ] && echo '![message-size sweep: throughput and latency against message size](bench-sweep.svg)')

Round trip, p50, us:

$(table_head size)
$(SIZE_ROWS=1 table_rows "sweep_%c_%r_p50" $SWEEP_SIZES)

Throughput, Mbit/s:

$(table_head size)
$(SIZE_ROWS=1 table_rows "sweep_%c_%r_mbps" $SWEEP_SIZES)

EOF
}

# scale_plot: bench-scale.svg and .png next to the report.
scale_plot()
{
	local dat=$LOGDIR/scale.dat p n

	for p in $SCALE_CLIENTS; do
		echo "$p $(plot_cols "scale_%c_%r_rate" "$p") $(plot_cols "scale_%c_%r_p50" "$p") $(plot_cols "scale_%c_%r_p99" "$p")"
	done >"$dat"
	n=$(echo "$ALL_PATH_CASES" | wc -w)
	plot "$PLOT_DIR/bench-scale" "$PLOT_STYLE
set multiplot layout 1,2 title 'Short TCP connections from 1 to 16 clients, each from its own address (median of $REPEATS)'
set logscale x 2
set xtics (1, 2, 4, 8, 16)
set xlabel 'concurrent clients'
set ylabel 'connections/s'
set title 'connection rate'
set yrange [0:*]
plot $(plot_lines "$dat" 2)
set logscale y 10
set yrange [*:*]
set ylabel 'us per connection'
set title 'latency: p50 (points), p99 (thin, no points)'
plot $(plot_lines "$dat" $((2 + n))), $(plot_lines "$dat" $((2 + 2 * n)) lines | sed "s/title '[^']*'/notitle/g")
unset multiplot"
}

report_scale()
{
	local p c row

	[ -n "$(med scale_direct_1_rate)" ] || return 0
	scale_plot && PLOT_SCALE=1
	cat <<EOF
## Scalability: 1 to 16 clients

\`rr conn -P P\`: P client threads (on CPU ${CLIENT_CPU}), client i bound
to its own source address (10.201.0.10 + i), start together and for
${SCALE_SECS} s each opens a connection, exchanges one byte each way and
closes it with RST; p50 and p99 are over every connection of the run,
from \`connect()\` to the answer. Cases as in the sweep.

$([ -n "${PLOT_SCALE:-}" ] && echo '![scalability: connection rate and latency against clients](bench-scale.svg)')

Connections per second:

$(table_head clients)
$(table_rows "scale_%c_%r_rate" $SCALE_CLIENTS)

Latency per connection, p50 / p99, us:

$(table_head clients)
EOF
	for p in $SCALE_CLIENTS; do
		row="| $p |"
		for c in $ALL_PATH_CASES; do
			row+=" $(m "scale_${c}_${p}_p50") / $(m "scale_${c}_${p}_p99") |"
		done
		echo "$row"
	done
	echo
}

# report_added: what each mode adds over direct, paired per repeat.
report_added()
{
	local c row

	[ -n "$(med sweep_direct_1_p50)$(med scale_direct_1_rate)" ] || return 0
	cat <<EOF
## Added cost, mode by mode, over direct

What lb adds to the client's own talk with t1, each figure paired with
the direct case of the same repeat (the median of the per-repeat
differences or ratios). Round trips from the sweep, connections from the
scalability run.

| case | added round trip, 1 B, us | 1 KB | 64 KB | throughput at 1 MB, of direct | conn/s, 1 client, of direct | 16 clients | added conn p50, 1 client, us |
|---|---|---|---|---|---|---|---|
EOF
	for c in $ALL_PATH_CASES; do
		[ "$c" = direct ] && continue
		row="| $(case_name "$c") | $(pdiff "sweep_${c}_1_p50" sweep_direct_1_p50)"
		row+=" | $(pdiff "sweep_${c}_1024_p50" sweep_direct_1024_p50)"
		row+=" | $(pdiff "sweep_${c}_65536_p50" sweep_direct_65536_p50)"
		row+=" | $(pratio "sweep_${c}_1048576_mbps" sweep_direct_1048576_mbps)"
		row+=" | $(pratio "scale_${c}_1_rate" scale_direct_1_rate)"
		row+=" | $(pratio "scale_${c}_16_rate" scale_direct_16_rate)"
		row+=" | $(pdiff "scale_${c}_1_p50" scale_direct_1_p50) |"
		echo "$row"
	done
	echo
}

write_report()
{
	report_head
	report_goals
	cat "$ROOT/test/bench/analysis.md"
	echo
	report_micro
	report_udp
	report_tcp
	report_sweep
	report_scale
	report_added
	report_profile
	cat "$ROOT/test/bench/method.md"
}
