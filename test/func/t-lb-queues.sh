#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t-lb-queues: `nfqlb lb --queue 0:1` runs one thread per queue, paired with
# `--queue-balance 0:1 --queue-cpu-fanout` (the queue follows the sending
# CPU); both queues take packets and every packet leaves marked.  A second worker on a queue already taken fails with exit 1 and
# one line on stderr.  A worker killed with SIGKILL and restarted picks up
# the same table.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

need_root
need_cmd ip iptables timeout taskset
need_bins
[ "$(nproc)" -ge 2 ] || skip "needs 2 CPUs"

LO_NFQUEUE="--queue-balance 0:1 --queue-cpu-fanout" topo_loopback 5

# send N [CPU]: N datagrams, each from a new source port, sent from CPU.
send()
{
	nsx lb timeout 20 taskset -c "${2:-0}" bash -c \
		'for ((i = 0; i < $1; i++)); do echo x >/dev/udp/127.0.0.1/9999; done' \
		_ "$1" 2>/dev/null
}

"$NFQLB" init || fail "init"
"$NFQLB" activate 5 || fail "activate"
start_bg lb "$NFQLB" lb --queue 0:1
LB_PID=$BG_PID
wait_for lb_ready || fail "the worker did not start"

info "100 datagrams from CPU 0 and CPU 1: queues 0 and 1"
send 50 0
send 50 1
wait_for lo_marked_is 100 5 || fail "marked $(lo_marked 5) of 100"
q0=$(queue_packets 0)
q1=$(queue_packets 1)
[ "${q0:-0}" -gt 0 ] && [ "${q1:-0}" -gt 0 ] || fail "queue 0: $q0, queue 1: $q1 packets"
[ $((q0 + q1)) -eq 100 ] || fail "queues took $((q0 + q1)) packets, want 100"

info "a second worker on queue 1 fails cleanly"
err=$(nsx lb timeout 10 "$NFQLB" lb --queue 1 2>&1)
rc=$?
[ $rc -eq 1 ] || fail "second worker: exit $rc, want 1"
[ "$(echo "$err" | wc -l)" -eq 1 ] || fail "second worker: more than one line: $err"
echo "$err" | grep -q "^nfqlb: lb: queue 1: .*another process" ||
	fail "second worker: unclear error: $err"

info "SIGKILL, restart: the same table"
kill -KILL "$LB_PID"
wait "$LB_PID" 2>/dev/null
start_bg lb "$NFQLB" lb --queue 0:1
wait_for lb_ready || fail "the restarted worker did not start"
send 50
wait_for lo_marked_is 150 5 || fail "after the restart: marked $(lo_marked 5) of 150"
pass
