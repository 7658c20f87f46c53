#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t-trace: `nfqlb trace` on a live worker, on loopback in one namespace
# (lib-lo.sh), 3 targets.
#   1. no worker serves the table asked for: one line, exit 1;
#   2. `trace --count 20 --json` while 21 flows whose targets the reference
#      model predicts send one datagram each: 20 decisions, each of a
#      flow, with its predicted target as target and mark, accepted; every
#      flow left with that mark on the wire; the command exits 0;
#   3. --dst: only the decisions for that address;
#   4. two traces at once: both get every decision of 30 datagrams, the
#      same; both exit 0 on SIGTERM;
#   5. a trace killed by SIGKILL: within 2 s the ring is unarmed, and then
#      the worker writes no record while it marks 20 more datagrams;
#   6. the worker's ring goes when it exits on SIGTERM; the ring a
#      SIGKILLed worker left is removed by the next command that looks.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

need_root
need_cmd ip iptables timeout
need_bins

IDS="11 12 13"
# shellcheck disable=SC2086 # IDS is a list
topo_loopback $IDS
"$NFQLB" init --M 997 --N 8 || fail "init"
# shellcheck disable=SC2086
"$NFQLB" activate $IDS || fail "activate"
start_bg lb "$NFQLB" lb --queue 0
LB_PID=$BG_PID
wait_for lb_ready || fail "the worker did not start"

# ring_is KEY VALUE: the worker's ring, in `trace --list --json`, has
# KEY VALUE ("armed true", "written 42").
ring_is()
{
	"$NFQLB" trace --list --json | json_test \
		'any(w["pid"] == int(a[0]) and str(w[a[1]]).lower() == a[2] for w in j["workers"])' \
		"$LB_PID" "$1" "$2"
}

ring_written()
{
	"$NFQLB" trace --list --json |
		json_py 'next(w["written"] for w in j["workers"] if w["pid"] == int(a[0]))' "$LB_PID"
}

# trace_bg NAME ARGS...: `nfqlb trace ARGS` in the background, its
# stdout in $LOGDIR/NAME.out and its stderr in $LOGDIR/NAME.err; its PID
# in TR_PID (the cleanup stops it).
trace_bg()
{
	local name=$1

	shift
	"$NFQLB" trace "$@" >"$LOGDIR/$name.out" 2>"$LOGDIR/$name.err" &
	TR_PID=$!
	_PIDS+=("$TR_PID")
}

# maps_ring PID: process PID has the worker's ring mapped.
maps_ring()
{
	grep -q "/dev/shm/.nfqlb-trace-$LB_PID\( \|\$\)" "/proc/$1/maps"
}

ended()
{
	! alive "$1"
}

# trace_end PID WHAT: the trace PID ends by itself within 10 s, exit 0.
trace_end()
{
	local rc

	wait_until 10 ended "$1" || fail "$2: the trace did not end"
	wait "$1"
	rc=$?
	[ "$rc" -eq 0 ] || fail "$2: the trace exited $rc: $(cat "$LOGDIR"/*.err)"
}

# lines_at_least FILE N
lines_at_least()
{
	[ "$(wc -l <"$1")" -ge "$2" ]
}

info "1. no worker serves another table"
one_error "no worker" trace in "no running worker serves table \"$NFQLB_SHM-none\"" \
	"$NFQLB" trace --shm "$NFQLB_SHM-none"
ring_is armed false || fail "the ring is armed, or missing: $("$NFQLB" trace --list)"

info "2. 20 decisions agree with the model and the wire"
lo_flows 127.0.0.1 127.0.0.1 --per-target 7
[ "$(lo_flows_ids)" = "11 12 13" ] || fail "the model spreads the flows over $(lo_flows_ids)"
trace_bg t2 --count 20 --json
T2=$TR_PID
wait_until 5 ring_is armed true || fail "the trace did not arm the ring"
lo_send_flows 1
trace_end "$T2" "--count 20"
wait_until 5 lo_flows_ok 1 || fail "flows without their predicted mark: $LO_FLOWS_BAD"
"$PYTHON" -S -c '
import json, sys
flows = {}
for line in sys.argv[2].splitlines():
    if line.strip():
        src, dst, port, tid = line.split()
        flows[int(port)] = int(tid)
recs = [json.loads(l) for l in open(sys.argv[1])]
if len(recs) != 20:
    sys.exit("%d decisions, want 20" % len(recs))
for r in recs:
    want = flows.get(r["sport"])
    if want is None or r["dport"] != 9999 or r["src"] != "127.0.0.1" or r["dst"] != "127.0.0.1":
        sys.exit("a decision of no flow sent: %s" % r)
    if (r["target"], r["mark"], r["verdict"], r["kind"], r["proto"], r["queue"], r["pid"]) != \
       (want, want, "accept", "l4", "udp", 0, int(sys.argv[3])):
        sys.exit("flow %d: want target and mark %d: %s" % (r["sport"], want, r))
    if r["flow"] is not None:
        sys.exit("a flow in single-table mode: %s" % r)
if len({r["sport"] for r in recs}) != 20:
    sys.exit("a flow twice")
' "$LOGDIR/t2.out" "$LO_FLOWS" "$LB_PID" || fail "trace: $(head -3 "$LOGDIR/t2.out")"
[ -s "$LOGDIR/t2.err" ] && fail "trace wrote on stderr: $(cat "$LOGDIR/t2.err")"

info "3. --dst: only the decisions for that address"
trace_bg t3 --dst 127.0.0.2/32 --count 5 --json
T3=$TR_PID
wait_until 5 ring_is armed true || fail "the trace did not arm the ring"
lo_send 5 127.0.0.1
lo_send 5 127.0.0.2
trace_end "$T3" "--dst"
while read -r line; do
	json_test 'j["dst"] == "127.0.0.2" and j["dport"] == 9999' <<<"$line" ||
		fail "--dst 127.0.0.2/32 printed $line"
done <"$LOGDIR/t3.out"
[ "$(wc -l <"$LOGDIR/t3.out")" -eq 5 ] || fail "--dst: $(wc -l <"$LOGDIR/t3.out") lines, want 5"

info "4. two traces at once"
trace_bg a --json
A=$TR_PID
A_LOG=$LOGDIR/a.out
trace_bg b --json
B=$TR_PID
B_LOG=$LOGDIR/b.out
# Each trace maps the ring, and arms it, when it attaches.
wait_until 5 maps_ring "$A" || fail "trace A did not attach the ring"
wait_until 5 maps_ring "$B" || fail "trace B did not attach the ring"
ring_is armed true || fail "the traces did not arm the ring"
lo_send 30
wait_until 10 lines_at_least "$A_LOG" 30 || fail "trace A: $(wc -l <"$A_LOG") lines, want 30"
wait_until 10 lines_at_least "$B_LOG" 30 || fail "trace B: $(wc -l <"$B_LOG") lines, want 30"
cmp -s "$A_LOG" "$B_LOG" || fail "the two traces differ: $(diff "$A_LOG" "$B_LOG" | head -4)"
for p in "$A" "$B"; do
	kill -TERM "$p"
	wait "$p" || fail "a trace exited $? on SIGTERM"
done
[ -s "$LOGDIR/a.err" ] || [ -s "$LOGDIR/b.err" ] &&
	fail "the traces wrote on stderr: $(cat "$LOGDIR/a.err" "$LOGDIR/b.err")"

info "5. a trace killed by SIGKILL"
trace_bg k
K=$TR_PID
wait_until 5 ring_is armed true || fail "the trace did not arm the ring"
{ kill -KILL "$K"; wait "$K"; } 2>/dev/null
wait_until 2.5 ring_is armed false || fail "the ring is still armed 2.5 s after its reader died"
W=$(ring_written)
before=$(lo_marked 11 12 13)
lo_send 20
wait_until 5 lo_marked_is $((before + 20)) 11 12 13 ||
	fail "the worker marked $(($(lo_marked 11 12 13) - before)) of 20 datagrams"
[ "$(ring_written)" = "$W" ] || fail "the unarmed worker wrote $(($(ring_written) - W)) records"
alive "$LB_PID" || fail "the worker died"
info "unarmed within 2 s; $W records written in all"

info "6. the ring goes with its worker"
ring="/dev/shm/.nfqlb-trace-$LB_PID"
[ -e "$ring" ] || fail "no $ring"
lb_stop TERM
[ -e "$ring" ] && fail "$ring is left after SIGTERM"
start_bg lb "$NFQLB" lb --queue 0
LB_PID=$BG_PID
ring="/dev/shm/.nfqlb-trace-$LB_PID"
wait_until 5 ring_is armed false || fail "the new worker has no ring"
lb_stop KILL
[ -e "$ring" ] || fail "$ring went with a SIGKILLed worker (its lock should be all that went)"
"$NFQLB" trace --list >/dev/null || fail "trace --list failed"
[ -e "$ring" ] && fail "trace --list left the dead worker's $ring"
pass
