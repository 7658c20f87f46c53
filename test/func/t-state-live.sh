#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t-state-live: the worker survives damage to the object while it runs.
# One namespace; UDP to 127.0.0.1:9999 goes through NFQUEUE 0 on OUTPUT,
# and a filter rule per mark counts the packets that come back marked.
#   1. activate 7 8: 5 flows per target, from source ports the reference
#      model sends there, each get their predicted mark;
#   2. the published lookup is overwritten in place, generation unchanged:
#      the worker goes on with its private copy; show refuses the object;
#   2b. generation 2 is published with its buffer marked busy although no
#      writer holds the lock: logged once, the last table kept, no stall;
#   3. the object is truncated to half its size while traffic flows (the
#      pages the worker touches stay): every packet is still marked, and
#      the worker logs the damage once, not per packet nor at its next
#      once-a-second checks;
#   4. init --force + activate 9: the worker takes the new object;
#   5. the object is truncated to 0 while traffic flows (the worker's next
#      access to it faults): the worker neither dies nor drops, marks with
#      target 9, and logs once more, once;
#   6. init --force + activate 7: the worker follows again; SIGTERM: exit 0.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

need_root
need_cmd ip iptables timeout dd truncate
need_bins

topo_loopback 7 8 9

log_count()
{
	grep -c -- "$1" "$LB_LOG"
}

# logged N PATTERN: the worker's log has exactly N lines matching PATTERN.
logged()
{
	[ "$(log_count "$2")" -eq "$1" ]
}

# lo_marked_over N: more than N packets so far carry one of MARKS.
lo_marked_over()
{
	# shellcheck disable=SC2086
	[ "$(lo_marked $MARKS)" -gt "$1" ]
}

# during_traffic CMD...: run CMD in the middle of a stream of datagrams:
# once the worker has marked 50 of them, and then the stream goes on until
# it has marked 50 more after CMD returned.  Then every datagram sent (and
# those sent before, SENT in total) must be marked with one of MARKS.
during_traffic()
{
	local n

	# shellcheck disable=SC2086
	n=$(lo_marked $MARKS)
	lo_stream_start
	wait_until 10 lo_marked_over $((n + 50)) ||
		fail "the stream did not start: $(lo_marked $MARKS) marked"
	"$@" || fail "$*"
	# shellcheck disable=SC2086
	n=$(lo_marked $MARKS)
	wait_until 10 lo_marked_over $((n + 50)) ||
		fail "traffic stopped after '$*': $(lo_marked $MARKS) marked"
	lo_stream_stop
	SENT=$((SENT + LO_STREAM_SENT))
	# shellcheck disable=SC2086
	wait_until 10 lo_marked_is "$SENT" $MARKS ||
		fail "$(lo_marked $MARKS) of $SENT packets marked with $MARKS after '$*'"
	alive "$LB_PID" || fail "the worker died after '$*'"
}

"$NFQLB" init || fail "init"
"$NFQLB" activate 7 8 || fail "activate"
start_bg lb "$NFQLB" lb --queue 0
LB_PID=$BG_PID
wait_for lb_ready || fail "the worker did not start"
LB_LOG=$(ls "$LOGDIR"/lb-nfqlb-*.log)
SHMF=/dev/shm/$NFQLB_SHM
SIZE=$(stat -c %s "$SHMF")
MARKS="7 8"
SENT=0

info "1. 5 flows per target over targets 7 and 8"
lo_flows 127.0.0.1 127.0.0.1 --per-target 5
lo_send_flows
SENT=10
wait_until 5 lo_marked_is 10 7 8 || fail "marked $(lo_marked 7 8) of 10"
lo_flows_ok 1 || fail "flows without their predicted mark: $LO_FLOWS_BAD"

info "2. the published lookup overwritten in place, generation unchanged"
# Generation 1 publishes buffer 1: at 128 + 4544, its lookup 512 bytes in.
head -c 3988 /dev/zero | tr '\0' '\375' |
	dd of="$SHMF" bs=1 seek=$((128 + 4544 + 512)) conv=notrunc status=none ||
	fail "dd"
during_traffic true
"$NFQLB" show >/dev/null 2>&1 && fail "show accepted the overwritten table"
# Start-up logs "queue N: CPU ..."; anything else about a queue is news.
[ "$(grep -v 'nfqlb: lb: queue [0-9]*: CPU ' "$LB_LOG" | grep -c 'nfqlb: lb: queue [0-9]*:')" -eq 0 ] ||
	fail "the worker logged a table it never had to read: $(cat "$LB_LOG")"

info "2b. generation 2 published with its buffer stuck busy (no writer)"
# seq[0] at offset 48 odd, then the generation (offset 40) to 2.
printf '\001\000\000\000' | dd of="$SHMF" bs=1 seek=48 conv=notrunc status=none || fail "dd"
printf '\002\000\000\000\000\000\000\000' |
	dd of="$SHMF" bs=1 seek=40 conv=notrunc status=none || fail "dd"
during_traffic true
wait_for -n 50 logged 1 'generation 2 is invalid (the published table is marked busy' ||
	fail "the stuck buffer was not reported: $(cat "$LB_LOG")"
during_traffic true
logged 1 'generation 2 is invalid' || fail "the stuck buffer was logged again: $(cat "$LB_LOG")"

info "3. truncate to half the size while traffic flows"
during_traffic truncate -s $((SIZE / 2)) "$SHMF"
wait_for -n 50 grep -q "keeping the last table" "$LB_LOG" ||
	fail "the worker did not notice the truncation: $(cat "$LB_LOG")"
wait_checks "$LB_PID" 4	# two more checks of the damaged table: no word
lo_send 20
SENT=$((SENT + 20))
wait_for lo_marked_is "$SENT" 7 8 || fail "marked $(lo_marked 7 8) of $SENT"
[ "$(log_count 'keeping the last table')" -eq 1 ] ||
	fail "the truncation was not logged exactly once: $(cat "$LB_LOG")"
"$NFQLB" stats >/dev/null 2>&1 && fail "stats accepted the truncated object"

info "4. init --force and activate 9: the worker follows"
"$NFQLB" init --force || fail "init --force"
"$NFQLB" activate 9 || fail "activate 9"
wait_for -n 50 grep -q "was replaced" "$LB_LOG" || fail "the worker did not switch tables"
lo_send 20
SENT=$((SENT + 20))
wait_for lo_marked_is 20 9 || fail "marked 9: $(lo_marked 9), want 20"
MARKS="7 8 9"

info "5. truncate to 0 while traffic flows"
during_traffic truncate -s 0 "$SHMF"
wait_for -n 50 logged 2 'keeping the last table' ||
	fail "the worker did not log the second truncation: $(cat "$LB_LOG")"
before9=$(lo_marked 9)
lo_send 20
SENT=$((SENT + 20))
wait_for lo_marked_is $((before9 + 20)) 9 || fail "after truncate -s 0 not marked 9"
wait_checks "$LB_PID" 4	# two more checks of the damaged table: no word
[ "$(log_count 'keeping the last table')" -eq 2 ] ||
	fail "the truncation to 0 was logged more than once: $(cat "$LB_LOG")"
grep -q "Bus error\|SIGBUS" "$LB_LOG" && fail "a SIGBUS reached the log"

info "6. init --force and activate 7: the worker follows; SIGTERM"
"$NFQLB" init --force || fail "init --force"
"$NFQLB" activate 7 || fail "activate 7"
wait_for -n 50 logged 2 'was replaced' ||
	fail "the worker did not switch tables again"
before7=$(lo_marked 7)
lo_send 20
wait_for lo_marked_is $((before7 + 20)) 7 || fail "the new table 7 was not used"
[ "$(stats_target 7)" = 20 ] ||
	fail "the new object's counters: $("$NFQLB" stats --json)"
kill -TERM "$LB_PID"
wait "$LB_PID"
rc=$?
[ $rc -eq 0 ] || fail "the worker exited with $rc"
pass
