#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t-pidns: two workers on one table, as workers in two containers sharing
# /dev/shm are: one in the root PID namespace, in network namespace lb, and
# one in a PID namespace of its own (`unshare -p -f`, where it is PID 1), in
# network namespace lb2.  Both serve their namespace's queue 0.  The root
# worker starts first: from inside the PID namespace its PID does not
# exist, and from the root namespace PID 1 always runs, so a claim or a
# stats that asked kill() would steal its set or call a dead worker running.
#   1. both count, each in a set of its own: stats --json has exactly two
#      rows, each with exactly the packets sent through its worker, the PID
#      each worker has in its own namespace, and the namespace worker's
#      marked as from another PID namespace (text: "1*" and a footnote);
#   2. the namespace worker is killed with SIGKILL: its row says gone (text
#      and JSON), the root worker's row still runs and counts;
#   3. a new namespace worker takes that set back, not the root worker's:
#      still two rows, and its count goes on from where it was.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

need_root
need_cmd ip iptables timeout unshare ps python3 awk
need_bins

# loop_rules NS: UDP to port 9999 on NS's lo goes through NFQUEUE 0, and
# a rule counts the packets that leave marked 5.
loop_rules()
{
	nsx "$1" iptables -t mangle -A OUTPUT -p udp --dport 9999 \
		-j NFQUEUE --queue-num 0 || fail "iptables in $1"
	nsx "$1" iptables -A OUTPUT -p udp --dport 9999 -m mark --mark 5 ||
		fail "iptables in $1"
}

# marked NS: the packets that left NS marked 5.
marked()
{
	nsx "$1" iptables -nvxL OUTPUT | awk '/mark match/ { s += $1 } END { print s + 0 }'
}

# marked_all N: N packets left lb and lb2 marked, in all.
marked_all()
{
	[ $(( $(marked lb) + $(marked lb2) )) -eq "$1" ]
}

ns_add lb lb2
loop_rules lb
loop_rules lb2

# rows: the counter sets of stats --json, one line each, the root
# namespace's first: "QUEUE RUNNING PACKETS PID OTHER_PIDNS".
rows()
{
	"$NFQLB" stats --json | python3 -c '
import json, sys
b = lambda v: "true" if v else "false"
for q in sorted(json.load(sys.stdin)["queues"], key=lambda q: q["other_pidns"]):
    print(q["queue"], b(q["running"]), q["packets"], q["pid"], b(q["other_pidns"]))'
}

# rows_are LINE...: rows prints exactly these lines.
rows_are()
{
	[ "$(rows)" = "$(printf '%s\n' "$@")" ]
}

# text_row OTHER: the "worker pid" columns of the text of stats, in the row
# of the worker from another PID namespace (yes) or of the root one (no).
text_row()
{
	"$NFQLB" stats | awk -v o="$1" '
		/^ *queue +worker/ { t = 1; next }
		t && $1 ~ /^[0-9]+$/ && ($3 ~ /\*$/) == (o == "yes") { print $2, $3 }'
}

# ns_state STATE: stats --json says the worker from another PID namespace
# is STATE (true: running, false: gone).
ns_state()
{
	rows | awk -v s="$1" '$5 == "true" && $2 == s { f = 1 } END { exit !f }'
}

# start_ns_worker: `nfqlb lb --queue 0` as PID 1 of a new PID namespace,
# in network namespace lb2.  NS_PID is the worker's PID as seen here,
# UNSHARE_PID unshare's.
start_ns_worker()
{
	start_bg lb2 unshare -p -f --kill-child=SIGKILL "$NFQLB" lb --queue 0
	UNSHARE_PID=$BG_PID
	wait_for -n 50 _ns_child || fail "unshare started no worker"
	wait_for -n 100 ns_state true || fail "the worker in its PID namespace did not start"
}

_ns_child()
{
	NS_PID=$(ps -o pid= --ppid "$UNSHARE_PID" | tr -d ' ')
	[ -n "$NS_PID" ]
}

# send_both N0 N1: N0 datagrams through the root worker, N1 through the
# one in its PID namespace; all SENT so far leave marked.
SENT=0
send_both()
{
	nsx lb timeout 30 bash -c 'for ((i = 0; i < $1; i++)); do
		echo x >/dev/udp/127.0.0.1/9999; done' _ "$1" 2>/dev/null
	nsx lb2 timeout 30 bash -c 'for ((i = 0; i < $1; i++)); do
		echo x >/dev/udp/127.0.0.1/9999; done' _ "$2" 2>/dev/null
	SENT=$((SENT + $1 + $2))
	wait_for -n 100 marked_all "$SENT" ||
		fail "marked $(marked lb) + $(marked lb2) of $SENT"
}

"$NFQLB" init || fail "init"
"$NFQLB" activate 5 || fail "activate"
start_bg lb "$NFQLB" lb --queue 0
LB_PID=$BG_PID
wait_for -n 100 lb_ready || fail "the root worker did not start"
start_ns_worker

info "1. both workers count, each in its own set"
send_both 40 60
rows_are "0 true 40 $LB_PID false" "0 true 60 1 true" ||
	fail "stats rows: $(rows | tr '\n' ';') want 0 true 40 $LB_PID false; 0 true 60 1 true"
[ "$(text_row yes)" = "running 1*" ] || fail "text row of the namespace worker: '$(text_row yes)'"
[ "$(text_row no)" = "running $LB_PID" ] || fail "text row of the root worker: '$(text_row no)'"
"$NFQLB" stats | grep -qx '\* a PID in another PID namespace' ||
	fail "no footnote for the PID from another namespace: $("$NFQLB" stats)"

info "2. the worker in its PID namespace is killed: its row says gone"
kill -KILL "$NS_PID"
wait "$UNSHARE_PID" 2>/dev/null
wait_for -n 50 ns_state false || fail "the killed worker still runs: $(rows | tr '\n' ';')"
send_both 30 0
rows_are "0 true 70 $LB_PID false" "0 false 60 1 true" ||
	fail "stats rows after the kill: $(rows | tr '\n' ';')"
[ "$(text_row yes)" = "gone 1*" ] || fail "text row of the killed worker: '$(text_row yes)'"

info "3. a new worker in a new PID namespace takes its set back"
start_ns_worker
send_both 10 20
rows_are "0 true 80 $LB_PID false" "0 true 80 1 true" ||
	fail "stats rows after the restart: $(rows | tr '\n' ';')"
kill -TERM "$NS_PID"
wait "$UNSHARE_PID"
rc=$?
[ $rc -eq 0 ] || fail "the worker in its PID namespace exited $rc on SIGTERM"
alive "$LB_PID" || fail "the root worker died"
pass
