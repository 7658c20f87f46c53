# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash disable=SC2034  # a library: its globals are read by the scripts that source it
# lib-bpf.sh: the fast path of `nfqlb lb --bpf`: starting a worker with it,
# its counts, its BPF objects, and the rule that lets what it marked skip
# the queue.
# Sourced by lib.sh; tests source lib.sh only.

# The queue number of the fast path's counter set (SHM_QUEUE_FASTPATH in
# shm/counters.h), as `stats --json` gave it among the queues.
FP_QUEUE=4294967294

# queue_unmarked_only NS: the NFQUEUE rules of NS's mangle PREROUTING
# (IPv4 and IPv6) see only packets the fast path left unmarked: a first
# rule accepts, out of that chain, every packet with a mark.  It stands in
# for `nfqlb rules --bpf` (which queues only `-m mark --mark 0`) where the
# queue rules are a test's own (topo_sink_marks).
queue_unmarked_only()
{
	local ipt

	for ipt in iptables ip6tables; do
		nsx "$1" "$ipt" -t mangle -I PREROUTING 1 -m mark ! --mark 0 -j ACCEPT ||
			fail "$ipt: the rule for marked packets in $1"
	done
}

# lb_bpf_start NS IFNAME[,IFNAME...] LB_OPTION...: `nfqlb lb --queue 0
# --bpf IFNAME... LB_OPTION...` in NS, waited for (30 s at most: the
# verifier takes a second or two, more on a busy machine) until it says
# the program marks at the last IFNAME's ingress, which it says after the
# program holds the current table and is at the others.  LB_PID is its
# PID, LB_LOG its log.
lb_bpf_start()
{
	local n=$1 dev=$2

	shift 2
	# start_bg's log, named before the process opens it.
	LB_LOG="$LOGDIR/$n-$(basename "$NFQLB")-${#_PIDS[@]}.log"
	start_bg "$n" "$NFQLB" lb --queue 0 --bpf "$dev" "$@"
	LB_PID=$BG_PID
	wait_until 30 grep -q "fastpath: marking at tc ingress of ${dev##*,} " "$LB_LOG" ||
		fail "the worker did not attach its fast path to $dev in 30 s:" \
			"$(tail -n 3 "$LB_LOG" | tr '\n' ' ')"
}

# fp_counts [TABLE...]: "FASTPATH QUEUE", the packets counted by the fast
# path's counter sets and by the queues' counter sets, summed over the
# tables (default $NFQLB_SHM), from `stats --json`: its array "fastpath"
# (or, as before it had one, the rows of "queues" of queue FP_QUEUE).
fp_counts()
{
	local s fp=0 q=0 out

	for s in "${@:-$NFQLB_SHM}"; do
		out=$("$NFQLB" stats --shm "$s" --json | json_py '
"%d %d" % (sum(f["packets"] for f in j.get("fastpath", [])) +
           sum(q["packets"] for q in j["queues"] if str(q.get("queue")) in a),
           sum(q["packets"] for q in j["queues"] if str(q.get("queue")) not in a))' \
			"$FP_QUEUE" fastpath) || fail "stats --shm $s --json"
		fp=$((fp + ${out% *}))
		q=$((q + ${out#* }))
	done
	echo "$fp $q"
}

# fp_counts_are FP Q TABLE...: fp_counts TABLE... is "FP Q".
fp_counts_are()
{
	local want="$1 $2"

	shift 2
	[ "$(fp_counts "$@")" = "$want" ]
}

# bpf_fd_ids PID KEY: the KEY ("link_id", "prog_id") values in the
# fdinfo of process PID's tcx links, sorted.
bpf_fd_ids()
{
	local f

	for f in /proc/"$1"/fdinfo/*; do
		grep -q '^link_type:[[:space:]]*tcx' "$f" 2>/dev/null || continue
		awk -v k="$2:" '$1 == k { print $2 }' "$f"
	done | sort -un
}

# bpf_gone KIND ID...: no BPF object of KIND (link, prog) has any of the
# ids any more.
bpf_gone()
{
	local kind=$1 id

	shift
	for id in "$@"; do
		bpftool "$kind" show id "$id" >/dev/null 2>&1 && return 1
	done
	return 0
}

# tc_ingress_empty NS DEV: no tc filter at DEV's ingress in NS (a clsact
# attachment would show there).
tc_ingress_empty()
{
	[ -z "$(nsx "$1" tc filter show dev "$2" ingress 2>/dev/null)" ]
}

# neigh_fix NS ADDR PEER_NS PEER_DEV DEV: in NS, ADDR is PEER_NS's PEER_DEV
# for good (a permanent neighbour on DEV), so that a burst never waits for
# a resolution, which would lose the packets beyond the neighbour's queue.
neigh_fix()
{
	local mac

	mac=$(ip -n "$(ns "$3")" -br link show "$4" | awk '{ print $3 }')
	ip -n "$(ns "$1")" neigh replace "$2" lladdr "$mac" dev "$5" nud permanent ||
		fail "neighbour $2 in $1"
}

# from_client_rule [MATCH...]: count, in lb's FORWARD chain (IPv4 and
# IPv6), the packets lb forwards from the client (in on c0), that MATCH;
# and those that arrive (arrived_rule).
from_client_rule()
{
	local ipt

	arrived_rule "$@"
	for ipt in iptables ip6tables; do
		nsx lb "$ipt" -A FORWARD -i c0 "$@" -m comment --comment bpf-all ||
			fail "$ipt: the count of packets from the client"
	done
}

# arrived_rule [MATCH...]: count, first in lb's raw PREROUTING (IPv4 and
# IPv6), the packets from the client that MATCH and reach lb's IP stack:
# past the fast path, and past a CPU's backlog, which drops what it has
# no room for when other traffic floods the machine.
arrived_rule()
{
	local ipt

	for ipt in iptables ip6tables; do
		nsx lb "$ipt" -t raw -I PREROUTING 1 -i c0 "$@" -m comment --comment bpf-in ||
			fail "$ipt: the count of packets arriving from the client"
	done
}

# arrived: the packets from the client that reached lb's IP stack so far
# (arrived_rule).
arrived()
{
	{
		nsx lb iptables-save -c -t raw
		nsx lb ip6tables-save -c -t raw
	} | sed -n 's/^\[\([0-9]*\):.*bpf-in.*/\1/p' | awk '{ s += $1 } END { print s + 0 }'
}

# from_client: the packets lb forwarded from the client so far, counted by
# the rules commented bpf-all (from_client_rule, or a test's own).
from_client()
{
	{
		nsx lb iptables-save -c -t filter
		nsx lb ip6tables-save -c -t filter
	} | sed -n 's/^\[\([0-9]*\):.*bpf-all.*/\1/p' | awk '{ s += $1 } END { print s + 0 }'
}

from_client_is()
{
	[ "$(from_client)" -eq "$1" ]
}

from_client_over()
{
	[ "$(from_client)" -gt "$1" ]
}
