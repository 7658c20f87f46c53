#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t-follow: the worker follows the table's name, not the object it opened.
# One namespace; UDP to 127.0.0.1:9999 goes through NFQUEUE 0 on OUTPUT,
# and one filter rule per mark counts the packets that leave with it.
# In each case the marks on the wire must be the new table's within 2 s of
# the last command, and the worker must log the switch once:
#   1. rm of the object, then init and activate other targets;
#   2. bad magic written over the header (the worker keeps its table), then
#      init --force (which says the old targets could not be kept) and
#      activate other targets;
#   3. delete (the worker keeps marking and says so once), then init and
#      activate other targets;
#   4. init --force --M 65537 while traffic flows: the targets and their
#      weights are kept (show --json), no packet goes unmarked, and the
#      worker logs the new generation with its 2 targets;
#   5. init --force --empty: no target; the worker warns, and packets get
#      the no-target verdict (drop);
#   6. SIGTERM: exit 0.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

need_root
need_cmd ip iptables timeout dd python3
need_bins

topo_loopback 1 2 3 4 5 6
SHMF=/dev/shm/$NFQLB_SHM
FOLLOW_MS=2000

# log_count PATTERN: lines of the worker's log that match.
log_count()
{
	grep -c -- "$1" "$LB_LOG"
}

now_ms()
{
	echo $((${EPOCHREALTIME/./} / 1000))
}

# burst MARK...: 20 datagrams, and true when all 20 left marked with one of
# MARK...  It waits until all 20 left with any mark, or half a second (a
# table without targets drops them), so that a burst that went to the old
# targets costs little of the time allowed.
burst()
{
	local all before

	all=$(lo_marked 1 2 3 4 5 6)
	before=$(lo_marked "$@")
	lo_send 20
	wait_for -n 10 -i 0.05 lo_marked_is $((all + 20)) 1 2 3 4 5 6
	lo_marked_is $((before + 20)) "$@"
}

# follows WHAT MARK...: within FOLLOW_MS of now, a burst leaves marked only
# with MARK...; a second one then too.
follows()
{
	local what=$1 end

	shift
	end=$(($(now_ms) + FOLLOW_MS))
	until burst "$@"; do
		[ "$(now_ms)" -lt "$end" ] ||
			fail "$what: the marks are not $* $FOLLOW_MS ms later" \
				"(1..6: $(lo_marked 1) $(lo_marked 2) $(lo_marked 3)" \
				"$(lo_marked 4) $(lo_marked 5) $(lo_marked 6))"
	done
	burst "$@" || fail "$what: the marks went back from $*"
	alive "$LB_PID" || fail "$what: the worker died"
}

# show_json EXPR: evaluate the Python expression EXPR on `show --json` (t).
show_json()
{
	"$NFQLB" show --json | python3 -c '
import json, sys
t = json.load(sys.stdin)
print(eval(sys.argv[1]))' "$1"
}

"$NFQLB" init || fail "init"
"$NFQLB" activate 1 2 || fail "activate"
start_bg lb "$NFQLB" lb --queue 0
LB_PID=$BG_PID
wait_for lb_ready || fail "the worker did not start"
LB_LOG=$(ls "$LOGDIR"/lb-nfqlb-*.log)
follows "start" 1 2

info "1. rm, then init and activate 3 4"
rm "$SHMF" || fail "rm"
"$NFQLB" init || fail "init after rm"
"$NFQLB" activate 3 4 || fail "activate 3 4"
follows "rm + init" 3 4
wait_for -n 20 grep -q 'was replaced; using the new object' "$LB_LOG" ||
	fail "the switch was not logged: $(cat "$LB_LOG")"
[ "$(log_count 'was replaced; using the new object')" -eq 1 ] ||
	fail "the switch was logged more than once: $(cat "$LB_LOG")"

info "2. bad magic, then init --force and activate 5 6"
printf 'XXXX' | dd of="$SHMF" bs=1 conv=notrunc status=none || fail "dd"
"$NFQLB" show >/dev/null 2>&1 && fail "show accepted the bad magic"
burst 3 4 || fail "the worker dropped its table for bad magic in the object"
err=$("$NFQLB" init --force 2>&1) || fail "init --force over bad magic: $err"
case $err in
"nfqlb: init: warning: the targets of the old table \"$NFQLB_SHM\" could not be kept (not an nfqlb table (bad magic 0x58585858)); the new table has no active target") ;;
*) fail "init --force over bad magic said: $err" ;;
esac
"$NFQLB" activate 5 6 || fail "activate 5 6"
follows "bad magic + init --force" 5 6
wait_for -n 20 eval '[ "$(log_count "was replaced; using the new object")" -eq 2 ]' ||
	fail "the second switch was not logged once: $(cat "$LB_LOG")"

info "3. delete, then init and activate 1 2"
deleted=$(log_count 'was deleted')	# maybe once already, between rm and init
"$NFQLB" delete || fail "delete"
wait_for -n 20 grep -q "table \"$NFQLB_SHM\" was deleted; keeping the last table" "$LB_LOG" ||
	fail "the delete was not logged: $(cat "$LB_LOG")"
burst 5 6 || fail "the worker did not keep its last table after delete"
[ "$(log_count 'was deleted')" -eq $((deleted + 1)) ] ||
	fail "the delete was logged again: $(cat "$LB_LOG")"
"$NFQLB" init || fail "init after delete"
"$NFQLB" activate 1 2 || fail "activate 1 2"
follows "delete + init" 1 2
wait_for -n 20 eval '[ "$(log_count "was replaced; using the new object")" -eq 3 ]' ||
	fail "the third switch was not logged once: $(cat "$LB_LOG")"

info "4. init --force --M 65537 under traffic keeps the targets"
"$NFQLB" activate --weight 3 2 || fail "activate --weight 3 2"
follows "weight" 1 2
# The sender runs until told to stop (at most 6000 datagrams), so the
# traffic spans the switch whatever the speed of the machine.
before=$(lo_marked 1 2)
(
	n=0
	while [ ! -e "$LOGDIR/stop" ] && [ $n -lt 300 ]; do
		lo_send 20
		n=$((n + 1))
	done
	echo $((n * 20)) >"$LOGDIR/sent"
) &
SENDER=$!
wait_for eval '[ "$(lo_marked 1 2)" -ge $((before + 40)) ]' || fail "no traffic"
"$NFQLB" init --force --M 65537 --seed 9 2>"$LOGDIR/init.err" ||
	fail "init --force --M 65537: $(cat "$LOGDIR/init.err")"
[ -s "$LOGDIR/init.err" ] && fail "init --force --M 65537 said: $(cat "$LOGDIR/init.err")"
wait_for -n 20 eval '[ "$(log_count "was replaced; using the new object")" -eq 4 ]' ||
	fail "the switch to M 65537 was not logged: $(cat "$LB_LOG")"
mid=$(lo_marked 1 2)
wait_for eval '[ "$(lo_marked 1 2)" -ge $((mid + 100)) ]' ||
	fail "the traffic did not go on after the switch"
touch "$LOGDIR/stop"
wait "$SENDER"
sent=$(cat "$LOGDIR/sent")
wait_for lo_marked_is $((before + sent)) 1 2 ||
	fail "$(($(lo_marked 1 2) - before)) of $sent datagrams marked across init --force"
[ "$(show_json 't["M"], t["seed"], [(x["id"], x["weight"]) for x in t["targets"]]')" = \
  "(65537, 9, [(1, 1), (2, 3)])" ] || fail "init --force did not keep 1 and 2:3: $("$NFQLB" show)"
tail -n 1 "$LB_LOG" | grep -q "queue 0: table \"$NFQLB_SHM\" generation 1: 2 active targets$" ||
	fail "the adopted generation was not logged last: $(tail -n 3 "$LB_LOG")"
follows "M 65537" 1 2

info "5. init --force --empty: no target, a warning, the no-target verdict"
warned=$(log_count 'WARNING: .*no active target')
"$NFQLB" init --force --empty || fail "init --force --empty"
[ "$(show_json 'len(t["targets"])')" -eq 0 ] || fail "--empty kept targets: $("$NFQLB" show)"
wait_for -n 20 eval '[ "$(log_count "WARNING: .*no active target")" -eq $((warned + 1)) ]' ||
	fail "no warning for the empty table: $(cat "$LB_LOG")"
before=$(lo_marked 1 2 3 4 5 6)
lo_send 20
no_target()
{
	"$NFQLB" stats --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["no_target"])'
}
wait_for -n 20 eval '[ "$(no_target)" -eq 20 ]' || fail "no-target: $(no_target) of 20"
[ "$(lo_marked 1 2 3 4 5 6)" -eq "$before" ] || fail "packets left marked without a target"

info "6. SIGTERM"
kill -TERM "$LB_PID"
wait "$LB_PID"
rc=$?
[ $rc -eq 0 ] || fail "the worker exited with $rc"
pass
