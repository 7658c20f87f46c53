# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash disable=SC2034  # a library: its globals are read by the scripts that source it
# lib-nfqlb.sh: what nfqlb itself says: its JSON, its workers, its errors.
# Sourced by lib.sh; tests source lib.sh only.

# ---------------------------------------------------------------- JSON

# The Python that json_py runs: j is the JSON on stdin, a the arguments,
# walk(x) every (key, value) pair in x, depth first, in document order.
_JSON_PY='
import json, sys
def walk(x):
    if isinstance(x, dict):
        for k, v in x.items():
            yield k, v
            yield from walk(v)
    elif isinstance(x, list):
        for v in x:
            yield from walk(v)
def show(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (list, tuple)):
        return " ".join(show(x) for x in v)
    if isinstance(v, dict):
        return json.dumps(v, separators=(",", ":"))
    return "" if v is None else str(v)
test = sys.argv[1] == "--test"
expr, a = sys.argv[1 + test], sys.argv[2 + test:]
try:
    j = json.load(sys.stdin)
    v = eval(expr)
except Exception as e:
    sys.exit("json_py: %s: %s" % (expr, e))
if test:
    sys.exit(0 if v else 1)
print(show(v))
'

# json_py EXPR [ARG...]: the value of the Python expression EXPR on the
# JSON on stdin (j; ARGs in the list a; walk(j) yields every key and
# value).  Booleans print as true/false, lists space-separated.  Exits 1,
# printing nothing, when the input is not JSON or EXPR fails.
json_py()
{
	"$PYTHON" -S -c "$_JSON_PY" "$@"
}

# json_test EXPR [ARG...]: true when EXPR (as for json_py) is true.
json_test()
{
	"$PYTHON" -S -c "$_JSON_PY" --test "$@"
}

# json_num KEY: the first number value of "KEY" in the JSON on stdin, at any
# depth.
json_num()
{
	json_py 'next((v for k, v in walk(j) if k == a[0] and type(v) is int), None)' "$1"
}

# json_ids: the "id" values in the JSON on stdin, space separated.
json_ids()
{
	json_py '[v for k, v in walk(j) if k == "id"]'
}

# ---------------------------------------------------------------- the worker

# lb_ready: true once a worker has claimed a queue's counters in
# $NFQLB_SHM.  The worker may bind the queue a moment later: follow with
# lb_probe to know packets get through.
lb_ready()
{
	"$NFQLB" stats --json | json_test 'any(q["running"] for q in j["queues"])'
}

# queue_packets Q [SHM]: the packets the worker on queue Q classified, from
# `nfqlb stats --json` of table SHM (default $NFQLB_SHM); 0 when it cannot
# be read.
queue_packets()
{
	local n

	# A worker killed by SIGKILL may leave its counter set behind and the
	# next one take another: add up every set of queue Q.
	n=$("$NFQLB" stats --shm "${2:-$NFQLB_SHM}" --json |
		json_py 'sum(q["packets"] for q in j["queues"] if q["queue"] == int(a[0]))' "$1")
	echo "${n:-0}"
}

# queue_packets_over Q MIN [SHM]: true when queue Q classified more than MIN.
queue_packets_over()
{
	[ "$(queue_packets "$1" "${3:-}")" -gt "$2" ]
}

# stats_queue Q KEY: KEY ("packets", "waiting", "queue_dropped",
# "user_dropped") of queue Q's first counter set in `nfqlb stats --json`.
stats_queue()
{
	"$NFQLB" stats --json |
		json_py 'next((q[a[1]] for q in j["queues"] if q["queue"] == int(a[0])), None)' "$1" "$2"
}

# stats_target ID [KEY]: KEY (default "packets") of target ID in `nfqlb
# stats --json`; empty when there is no such target.
stats_target()
{
	"$NFQLB" stats --json |
		json_py 'next((t[a[1]] for t in j["targets"] if t["id"] == int(a[0])), None)' \
			"$1" "${2:-packets}"
}

# stats_save [SHM...]: `nfqlb stats` of the tables (default $NFQLB_SHM)
# into $LOGDIR, so that a failure shows them.
# shellcheck disable=SC2120 # callers may name tables
stats_save()
{
	local s

	for s in "${@:-$NFQLB_SHM}"; do
		"$NFQLB" stats --shm "$s" >"$LOGDIR/stats-$s.log" 2>&1
	done
}

# proc_reads PID: the read system calls process PID has made so far
# (syscr of /proc/PID/io).
proc_reads()
{
	awk '$1 == "syscr:" { print $2 }' "/proc/$1/io"
}

_reads_over()
{
	[ "$(proc_reads "$1")" -gt "$2" ]
}

# wait_checks PID N: wait (10 s at most) until the worker PID has made N
# more read() calls, or fail: the event that shows it went through its
# once-a-second check of its table again, and had the chance to log
# something again.  The worker reads only there: its queue's row in /proc
# (one read a check), and, while its table exists but is unusable, the
# table's header (a second read).  So N = 2K waits for K checks of an
# unusable table, N = K for K checks of a usable or deleted one.
wait_checks()
{
	local r

	r=$(proc_reads "$1") || fail "cannot read /proc/$1/io"
	wait_until 10 _reads_over "$1" $((r + $2 - 1)) ||
		fail "the worker made no $2 checks in 10 s ($(proc_reads "$1") reads)"
}

# lb_stop SIGNAL: send SIGNAL to the worker LB_PID and reap it; after
# SIGTERM it must exit 0.
lb_stop()
{
	local rc

	kill -"$1" "$LB_PID"
	wait "$LB_PID" 2>/dev/null
	rc=$?
	if [ "$1" = TERM ] && [ $rc -ne 0 ]; then
		fail "the worker exited with status $rc after SIGTERM"
	fi
}

# ---------------------------------------------------------------- errors

# one_error LABEL CMD end|in REASON COMMAND...: COMMAND exits 1, prints
# nothing on stdout and exactly one line on stderr, "nfqlb: CMD: ..." that
# ends in (end) or contains (in) REASON.  Fails the test with LABEL if not.
one_error()
{
	local label=$1 cmd=$2 how=$3 reason=$4 out rc err

	shift 4
	out=$("$@" 2>"$LOGDIR/err")
	rc=$?
	err=$(cat "$LOGDIR/err")
	[ "$rc" -eq 1 ] || fail "$label: '$*' exited $rc, want 1 ($err)"
	[ -z "$out" ] || fail "$label: '$*' printed on stdout: $out"
	[ "$(wc -l <"$LOGDIR/err")" -eq 1 ] || fail "$label: '$*' stderr is not one line: $err"
	case $how:$err in
	"end:nfqlb: $cmd: "*"$reason") ;;
	"in:nfqlb: $cmd: "*"$reason"*) ;;
	*) fail "$label: '$*': \"$err\" is not \"nfqlb: $cmd: ...$reason\" ($how)" ;;
	esac
}
