# shellcheck shell=bash disable=SC2034  # a library: its globals are read by the scripts that source it
# lib-nfqlb.sh: what nfqlb itself says: its JSON, its workers, its errors.
# Sourced by lib.sh; tests source lib.sh only.

# ---------------------------------------------------------------- JSON

# json_num KEY: the first number value of "KEY" in the JSON on stdin.
json_num()
{
	grep -o "\"$1\":[0-9]*" | head -n 1 | cut -d: -f2
}

# json_ids: the "id" values in the JSON on stdin, space separated.
json_ids()
{
	grep -o '"id":[0-9]*' | cut -d: -f2 | tr '\n' ' ' | sed 's/ $//'
}

# ---------------------------------------------------------------- the worker

# lb_ready: true once a worker has claimed a queue's counters in
# $NFQLB_SHM.  The worker may bind the queue a moment later: follow with
# lb_probe to know packets get through.
lb_ready()
{
	"$NFQLB" stats --json | grep -q '"running":true'
}

# queue_packets Q [SHM]: the packets the worker on queue Q classified, from
# `nfqlb stats --json` of table SHM (default $NFQLB_SHM).
queue_packets()
{
	# A worker killed by SIGKILL may leave its counter set behind and the
	# next one take another: add up every set of queue Q.
	"$NFQLB" stats --shm "${2:-$NFQLB_SHM}" --json |
		grep -o "\"queue\":$1,\"running\":[a-z]*,\"packets\":[0-9]*" |
		awk -F: '{ s += $4 } END { print s + 0 }'
}

# queue_packets_over Q MIN [SHM]: true when queue Q classified more than MIN.
queue_packets_over()
{
	[ "$(queue_packets "$1" "${3:-}")" -gt "$2" ]
}

# stats_queue Q KEY: KEY ("packets", "waiting", "queue_dropped",
# "user_dropped") of queue Q in `nfqlb stats --json`.
stats_queue()
{
	"$NFQLB" stats --json | grep -o "{\"queue\":$1,[^}]*}" | json_num "$2"
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
