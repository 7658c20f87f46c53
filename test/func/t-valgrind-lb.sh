#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t-valgrind-lb: `nfqlb lb` under valgrind --leak-check=full handles
# packets, a truncated object (the SIGBUS guard), a replaced object and
# SIGTERM, and then exits 0 with 0 errors and every heap block freed.
# One namespace; UDP to 127.0.0.1:9999 goes through NFQUEUE 0 on OUTPUT.
#@ not-sanitized: valgrind cannot run a build with ASan
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

need_root
need_plain_build
need_cmd ip iptables timeout valgrind truncate
need_bins

topo_loopback 7 9

"$NFQLB" init || fail "init"
"$NFQLB" activate 7 || fail "activate"
VG_LOG=$LOGDIR/valgrind.txt
# The SIGBUS guard resumes the faulting load after remapping the pages;
# valgrind restarts it correctly only when every register is kept exact at
# each memory access (by default only SP, BP and IP are).
start_bg lb valgrind --vex-iropt-register-updates=allregs-at-mem-access \
	--leak-check=full --show-leak-kinds=all \
	--errors-for-leak-kinds=all --error-exitcode=99 --log-file="$VG_LOG" \
	"$NFQLB" lb --queue 0
LB_PID=$BG_PID
wait_for -n 300 lb_ready || fail "the worker did not start under valgrind"

info "packets, marked 7"
lo_send 50
wait_for -n 200 lo_marked_is 50 7 || fail "not all 50 packets were marked 7"

info "the object truncated to 0 under the worker, then replaced"
truncate -s 0 "/dev/shm/$NFQLB_SHM" || fail "truncate"
lo_send 20
wait_for -n 200 lo_marked_is 70 7 ||
	fail "packets after the truncation were not marked 7: $(cat "$VG_LOG")"
LB_LOG=$(ls "$LOGDIR"/lb-valgrind-*.log)
wait_for -n 300 grep -q "keeping the last table" "$LB_LOG" ||
	fail "the worker did not report the truncation"
"$NFQLB" init --force || fail "init --force"
"$NFQLB" activate 9 || fail "activate 9"
wait_for -n 300 grep -q "was replaced" "$LB_LOG" || fail "the worker did not switch tables"
lo_send 20
wait_for -n 200 lo_marked_is 20 9 || fail "the new table was not used"

info "SIGTERM"
kill -TERM "$LB_PID"
wait "$LB_PID"
rc=$?
grep -q "ERROR SUMMARY: 0 errors" "$VG_LOG" || fail "valgrind errors: $(cat "$VG_LOG")"
grep -q "All heap blocks were freed -- no leaks are possible" "$VG_LOG" ||
	fail "the worker left heap blocks: $(cat "$VG_LOG")"
[ "$rc" -eq 0 ] || fail "the worker exited $rc under valgrind: $(cat "$VG_LOG")"
pass
