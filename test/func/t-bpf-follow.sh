#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t-bpf-follow: the fast path follows the table's name as the queue path
# does (t-follow): a replaced object, bad magic, a delete, no target.
#
#	client --- lb --- sink		(topo_sink_marks: lb counts per mark)
#
# `lb --shm T --bpf c0 --vip VIP4 --proto udp`, the queue rules passing
# marked packets by (queue_unmarked_only).  Bursts of 20 datagrams, each
# from a new port; in each case the marks must be the new table's within
# 2 s, and then a burst must be marked by the fast path alone (the queue
# rule sees none of it):
#   1. rm of the object, then init and activate 103 104;
#   2. bad magic over the header: the last table is kept (101..104 never
#      again); then init --force and activate 105 106;
#   3. delete: the last table is kept; then init and activate 101 102;
#   4. init --force --empty: no target; the program leaves the datagrams
#      unmarked, and the queue gives them the no-target verdict (dropped,
#      counted as no target);
#   5. activate 103: the fast path marks again.
# The fast path logs each switch as the queue thread does.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

need_root
need_cmd ip iptables ip6tables dd timeout
need_bins

SHMF=/dev/shm/$NFQLB_SHM
FOLLOW_MS=2000

topo_sink_marks 0 101 102 103 104 105 106
queue_unmarked_only lb
from_client_rule -p udp
neigh_fix client 10.200.0.1 lb c0 eth0

# marked ID...: the UDP packets lb forwarded with any of the marks ID...
marked()
{
	sink_marks iptables udp | tr ' ' '\n' |
		awk -F: -v ok=" $* " 'NF == 2 && index(ok, " " $1 " ") { s += $2 } END { print s + 0 }'
}

# send N: N datagrams from the client to VIP4:7000, each from a new port.
send()
{
	nsx client timeout 10 "$PYTHON" -S -c '
import socket, sys
for _ in range(int(sys.argv[1])):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(b"x\n", (sys.argv[2], 7000))
    s.close()
' "$1" "$VIP4" || fail "cannot send datagrams"
}

# burst ID...: 20 datagrams, and true when all 20 were forwarded marked
# with one of ID...  It waits half a second at most for all 20 to be
# forwarded.
burst()
{
	local all before

	all=$(from_client)
	before=$(marked "$@")
	send 20
	wait_until 0.5 from_client_is $((all + 20))
	[ "$(marked "$@")" -eq $((before + 20)) ]
}

# follows WHAT ID...: within FOLLOW_MS, a burst is marked with ID... only;
# then one more, which the queue rule does not see.
follows()
{
	local what=$1 end q

	shift
	end=$((${EPOCHREALTIME/./} / 1000 + FOLLOW_MS))
	until burst "$@"; do
		[ $((${EPOCHREALTIME/./} / 1000)) -lt "$end" ] ||
			fail "$what: the marks are not $* $FOLLOW_MS ms later: $(sink_marks iptables udp)"
	done
	q=$(queue_hits lb)
	burst "$@" || fail "$what: the marks went back from $*: $(sink_marks iptables udp)"
	[ "$(queue_hits lb)" -eq "$q" ] ||
		fail "$what: $(($(queue_hits lb) - q)) of 20 datagrams reached the queue"
	alive "$LB_PID" || fail "$what: the worker died"
}

log_count()
{
	grep -c -- "$1" "$LB_LOG"
}

"$NFQLB" init && "$NFQLB" activate 101 102 || fail "the table"
lb_bpf_start lb c0 --shm "$NFQLB_SHM" --vip "$VIP4/32" --proto udp
follows "start" 101 102

info "1. rm, then init and activate 103 104"
rm "$SHMF" || fail "rm"
"$NFQLB" init && "$NFQLB" activate 103 104 || fail "init after rm"
follows "rm + init" 103 104
wait_until 2 grep -q 'fastpath: table .* was replaced; using the new object' "$LB_LOG" ||
	fail "the fast path did not log the switch: $(cat "$LB_LOG")"

info "2. bad magic: the last table is kept; then init --force, activate 105 106"
printf 'XXXX' | dd of="$SHMF" bs=1 conv=notrunc status=none || fail "dd"
burst 103 104 || fail "the fast path dropped its table for bad magic in the object"
"$NFQLB" init --force 2>/dev/null && "$NFQLB" activate 105 106 ||
	fail "init --force over bad magic"
follows "bad magic + init --force" 105 106

info "3. delete: the last table is kept; then init, activate 101 102"
"$NFQLB" delete >/dev/null 2>&1 || fail "delete"
wait_until 2 grep -q "fastpath: table \"$NFQLB_SHM\" was deleted; keeping the last table" \
	"$LB_LOG" || fail "the fast path did not log the delete: $(cat "$LB_LOG")"
burst 105 106 || fail "the fast path did not keep its last table after delete"
"$NFQLB" init && "$NFQLB" activate 101 102 || fail "init after delete"
follows "delete + init" 101 102
[ "$(log_count 'fastpath: table .* was replaced; using the new object')" -eq 3 ] ||
	fail "the fast path did not log 3 switches once each: $(cat "$LB_LOG")"

info "4. init --force --empty: unmarked, to the queue, no target"
"$NFQLB" init --force --empty || fail "init --force --empty"
no_target()
{
	"$NFQLB" stats --json | json_py 'j["no_target"]'
}
# A burst that the fast path marked with the old table is forwarded: wait
# until one is not.
f=$(from_client)
nt=$(no_target)
for ((i = 0; i < 20; i++)); do
	f=$(from_client)
	q=$(queue_hits lb)
	nt=$(no_target)
	send 20
	wait_until 2 eval '[ "$(queue_hits lb)" -ge $((q + 20)) ] || [ "$(from_client)" -ge $((f + 20)) ]'
	[ "$(from_client)" -eq "$f" ] && break
done
wait_until 2 eval '[ "$(no_target)" -eq $((nt + 20)) ]' ||
	fail "no target: $(($(no_target) - nt)) of 20 datagrams counted as no target"
[ "$(queue_hits lb)" -eq $((q + 20)) ] && [ "$(from_client)" -eq "$f" ] ||
	fail "no target: $(($(queue_hits lb) - q)) of 20 queued, $(($(from_client) - f)) forwarded"

info "5. activate 103: the fast path marks again"
"$NFQLB" activate 103 || fail "activate 103"
follows "activate after empty" 103
lb_stop TERM
pass
