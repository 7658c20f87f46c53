#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t-bpf-change: the table changes 20 times under traffic through the fast
# path, and no packet is marked for a target that was active in no
# generation of the test.
#
#	client --- lb --- sink		(topo_sink_marks: lb counts per mark)
#
# `lb --shm T --bpf c0 --vip VIP4,VIP6 --proto udp --port 7000`, the queue
# rules passing marked packets by (queue_unmarked_only).  Before the worker
# starts, 101..103 and 107 are activated and 107 deactivated again; 199 is
# never in the table.  A stream of UDP datagrams from the client (each from
# a new source port, IPv4 and IPv6, every tenth to port 7001, which the fast
# path leaves to the queue) runs while 20 activations and deactivations of
# 101..106 follow each other, each once lb has forwarded 50 more packets.
# After each change `nfqlb show --json` says which targets are active; their
# union over the generations is what may be marked:
#   - when a change is made, no mark so far names a target outside the
#     union of the generations before it (104, 105, 106 stay unmarked until
#     they are first activated);
#   - at the end, every packet lb forwarded was marked for a target of the
#     union: none for 107, 199, or no target; the fast path and the queue
#     together counted every datagram that arrived (raw PREROUTING: a
#     datagram lost before, in a CPU's full backlog, is not theirs), the
#     queue at least those to 7001;
#   - after the last change, new flows (source ports the reference model
#     spreads over the final targets) reach the final targets only, each
#     its predicted one, within 2 s.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

need_root
need_cmd ip iptables ip6tables timeout
need_bins

PORT=7000
IDS="101 102 103 104 105 106 107 199"
STREAM_MAX=30000	# datagrams, at most (it runs until the changes are done)
STEP=50			# packets forwarded between two changes

info "topology: client --- lb --- sink; lb counts the UDP it forwards per mark"
# shellcheck disable=SC2086 # the ids are words
topo_sink_marks 0 $IDS
queue_unmarked_only lb
from_client_rule -p udp
neigh_fix client 10.200.0.1 lb c0 eth0
neigh_fix client fd00:200::1 lb c0 eth0

"$NFQLB" init && "$NFQLB" activate 101 102 103 107 && "$NFQLB" deactivate 107 ||
	fail "the table"
lb_bpf_start lb c0 --shm "$NFQLB_SHM" --vip "$VIP4/32,$VIP6/128" --proto udp --port $PORT

# marks: "ID:N" for every mark that lb forwarded UDP with (the counting
# rules of topo_sink_marks), IPv4 and IPv6 added up, in the order of ids.
marks()
{
	local m n

	{
		nsx lb iptables-save -c -t filter
		nsx lb ip6tables-save -c -t filter
	} | sed -n 's/^\[\([0-9]*\):[0-9]*\] -A FORWARD -p udp .*-m mark --mark \(0x[0-9a-f]*\)$/\2 \1/p' |
		while read -r m n; do
			echo "$((m)) $n"
		done | awk '$2 > 0 { n[$1] += $2 } END { for (i in n) print i ":" n[i] }' | sort
}

# marks_within IDS...: every mark counted so far is one of IDS; the others
# are in OUTSIDE.
marks_within()
{
	OUTSIDE=$(marks | awk -F: -v ok=" $* " 'index(ok, " " $1 " ") == 0' | tr '\n' ' ')
	[ -z "$OUTSIDE" ]
}

# active: the active targets of the table, from show --json.
active()
{
	"$NFQLB" show --json | json_py 'sorted(t["id"] for t in j["targets"])'
}

info "a stream of UDP datagrams, 20 changes while it runs"
rm -f "$LOGDIR/stream.stop"
start_bg client "$PYTHON" -S -c '
import os, socket, sys, time
stop, n_max, port, v4, v6 = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
end = time.monotonic() + 40
n = to_other = 0
while n < n_max and time.monotonic() < end and not os.path.exists(stop):
    fam, dst = (socket.AF_INET6, v6) if n % 2 else (socket.AF_INET, v4)
    p = port + 1 if n % 10 == 9 else port
    to_other += p != port
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.sendto(b"x\n", (dst, p))
    s.close()
    n += 1
    if n % 10 == 0:
        time.sleep(0.01)
with open(stop + ".sent", "w") as f:
    f.write("%d %d\n" % (n, to_other))
' "$LOGDIR/stream.stop" $STREAM_MAX $PORT "$VIP4" "$VIP6"
STREAM_PID=$BG_PID
gen0=$("$NFQLB" show --json | json_num generation)
union=" $(active) "
changes=(+104 -101 +105 -102 +106 -103 +101 -104 +102 -105
	+103 -106 +104 -101 +105 -102 +106 -103 +101 -104)
for c in "${changes[@]}"; do
	f=$(from_client)
	wait_until 5 from_client_over $((f + STEP - 1)) ||
		fail "the stream stalled: lb forwarded $(from_client) packets"
	# shellcheck disable=SC2086 # the union is a list of ids
	marks_within $union ||
		fail "before $c: marks for targets of no generation so far ($union): $OUTSIDE"
	case $c in
	+*) "$NFQLB" activate "${c#+}" ;;
	-*) "$NFQLB" deactivate "${c#-}" >/dev/null 2>&1 ;;
	esac || fail "change $c"
	for id in $(active); do
		case $union in *" $id "*) ;; *) union+="$id " ;; esac
	done
done
gen=$("$NFQLB" show --json | json_num generation)
[ "$gen" -eq $((gen0 + 20)) ] || fail "20 changes made generations $gen0..$gen"
final=$(active)
info "targets of the generations: $union; final: $final"
touch "$LOGDIR/stream.stop"
wait "$STREAM_PID"
read -r sent to_other <"$LOGDIR/stream.stop.sent" || fail "the stream did not finish"
if ! wait_until 5 from_client_over $((sent - 1)); then
	# A datagram lost before lb's IP stack (a CPU's backlog full of other
	# traffic) is not the subject: all that arrived must be forwarded.
	wait_until 2 eval '[ "$(from_client)" -eq "$(arrived)" ]' ||
		fail "lb forwarded $(from_client) of the $(arrived) datagrams that arrived ($sent sent)"
	info "$((sent - $(arrived))) of $sent datagrams lost before lb"
fi
# shellcheck disable=SC2086
marks_within $union || fail "marks for targets of no generation ($union): $OUTSIDE"
info "$sent datagrams ($to_other to port $((PORT + 1))), marks: $(marks | tr '\n' ' ')"

info "after the last change, new flows reach the final targets only"
predict_run --src 10.200.0.2 --dst "$VIP4" --proto udp --dport $PORT --first 40000 \
	--per-target 5 || fail "predict.py: $PRED_OUT"
awk -v vip="$VIP4" -v p=$PORT 'NF { print "10.200.0.2", vip, "udp", $1, p, $2 }' \
	<<<"$PRED_OUT" >"$LOGDIR/final-flows"
marks0=$(marks)
f=$(from_client)
nsx client timeout 10 "$PYTHON" -S "$_libdir/bpf-flows.py" send "$LOGDIR/final-flows" ||
	fail "cannot send the final flows"
wait_until 5 from_client_over $((f + $(wc -l <"$LOGDIR/final-flows") - 1)) ||
	fail "the final flows were not forwarded"
got=$(join -t: -a 2 -e 0 -o 2.1,1.2,2.2 <(echo "$marks0") <(marks) |
	awk -F: '$3 != $2 { print $1 ":" $3 - $2 }' | tr '\n' ' ')
want=$(awk '{ n[$6]++ } END { for (i in n) print i ":" n[i] }' "$LOGDIR/final-flows" |
	sort -n | tr '\n' ' ')
[ "$got" = "$want" ] || fail "the final flows were marked $got, want $want (final: $final)"

lb_stop TERM
all=$(arrived)
read -r fp q <<<"$(fp_counts)"
[ $((fp + q)) -eq "$all" ] && [ "$q" -ge "$to_other" ] ||
	fail "fast path $fp and queue $q packets, want $all in all, $to_other at least by the queue"
info "fast path $fp packets, queue $q"
pass
