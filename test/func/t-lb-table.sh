#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t-lb-table: the worker follows the table through its life, and survives a
# corrupt one.  One namespace; UDP to 127.0.0.1:9999 goes through NFQUEUE 0
# on OUTPUT, and a filter rule counts the packets that come back marked.
#   1. activate 7 8: 5 flows per target, from source ports the reference
#      model sends there, each get their predicted mark;
#   2. a corrupt table is published: the worker logs it once, keeps the last
#      good table, and `nfqlb show` refuses the object;
#   3. init --force + activate 9: the worker switches to the new object;
#   4. delete: the worker logs it once (and not again at its next checks)
#      and keeps marking with the last table;
#   5. SIGTERM: exit status 0.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

need_root
need_cmd ip iptables timeout dd
need_bins

topo_loopback 7 8 9

# log_count PATTERN: lines of the worker's log that match.
log_count()
{
	grep -c -- "$1" "$LB_LOG"
}

"$NFQLB" init || fail "init"
"$NFQLB" activate 7 8 || fail "activate"
start_bg lb "$NFQLB" lb --queue 0
LB_PID=$BG_PID
wait_for lb_ready || fail "the worker did not start"
LB_LOG=$(ls "$LOGDIR"/lb-nfqlb-*.log)	# made by the background shell

info "1. 5 flows per target over targets 7 and 8"
lo_flows 127.0.0.1 127.0.0.1 --per-target 5
lo_send_flows
wait_until 5 lo_marked_is 10 7 8 || fail "marked $(lo_marked 7)+$(lo_marked 8), want 10"
lo_flows_ok 1 || fail "flows without their predicted mark: $LO_FLOWS_BAD"

info "2. publish a corrupt table (buffer 0 lookup -> slot 0xfefefefe, generation 2)"
shmf=/dev/shm/$NFQLB_SHM
# Layout for M=997, N=32: header 128 bytes; buffer 0 = 32 targets of 16
# bytes, then the lookup, at 128 + 512.  The generation is at offset 40.
head -c 3988 /dev/zero | tr '\0' '\376' |
	dd of="$shmf" bs=1 seek=640 conv=notrunc status=none || fail "dd"
printf '\002\000\000\000\000\000\000\000' |
	dd of="$shmf" bs=1 seek=40 conv=notrunc status=none || fail "dd"
# 20 datagrams, and 20 more once the worker has seen the corrupt table.
lo_send 20
wait_until 5 grep -q 'generation 2 is invalid' "$LB_LOG" ||
	fail "the worker did not report the corrupt table: $(cat "$LB_LOG")"
lo_send 20
wait_until 5 lo_marked_is 50 7 8 ||
	fail "only $(($(lo_marked 7) + $(lo_marked 8) - 10)) of 40 marked with a corrupt table"
[ "$(log_count 'generation 2 is invalid')" -eq 1 ] ||
	fail "the corrupt table was not logged exactly once: $(cat "$LB_LOG")"
"$NFQLB" show >/dev/null 2>&1 && fail "show accepted a corrupt table"
"$NFQLB" show 2>&1 | grep -q "names no active target" ||
	fail "show did not say why the table is corrupt"

info "3. init --force and activate 9: the worker follows"
"$NFQLB" init --force || fail "init --force"
"$NFQLB" activate 9 || fail "activate 9"
wait_for -n 30 grep -q "was replaced" "$LB_LOG" || fail "the worker did not switch tables"
lo_send 20
wait_for lo_marked_is 20 9 || fail "marked 9: $(lo_marked 9), want 20"

info "4. delete: the worker keeps its last table"
"$NFQLB" delete || fail "delete"
wait_for -n 30 grep -q "was deleted" "$LB_LOG" || fail "the worker did not notice the delete"
lo_send 20
wait_until 5 lo_marked_is 40 9 || fail "marked 9: $(lo_marked 9), want 40 after delete"
wait_checks "$LB_PID" 2	# two more checks of the deleted table
[ "$(log_count 'was deleted')" -eq 1 ] || fail "the delete was logged more than once"

info "5. SIGTERM"
kill -TERM "$LB_PID"
wait "$LB_PID"
rc=$?
[ $rc -eq 0 ] || fail "the worker exited with $rc"
alive "$LB_PID" && fail "the worker still runs"
pass
