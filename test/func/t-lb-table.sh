#!/bin/bash
# t-lb-table: the worker follows the table through its life, and survives a
# corrupt one.  One namespace; UDP to 127.0.0.1:9999 goes through NFQUEUE 0
# on OUTPUT, and a filter rule counts the packets that come back marked.
#   1. activate 7 8: packets get marked 7 or 8;
#   2. a corrupt table is published: the worker logs it once, keeps the last
#      good table, and `nfqlb show` refuses the object;
#   3. init --force + activate 9: the worker switches to the new object;
#   4. delete: the worker logs it once and keeps marking with the last table;
#   5. SIGTERM: exit status 0.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

need_root
need_cmd ip iptables timeout dd
need_bins

ns_add lb
nsx lb iptables -t mangle -A OUTPUT -p udp -d 127.0.0.1 --dport 9999 \
	-j NFQUEUE --queue-num 0 || fail "iptables"
for m in 7 8 9; do
	nsx lb iptables -A OUTPUT -p udp --dport 9999 -m mark --mark $m ||
		fail "iptables"
done

# send N: N datagrams, each from a new source port.
send()
{
	nsx lb timeout 20 bash -c \
		'for ((i = 0; i < $1; i++)); do echo x >/dev/udp/127.0.0.1/9999; done' \
		_ "$1" 2>/dev/null
}

# marked M: packets that left with mark M so far.
marked()
{
	nsx lb iptables -nvxL OUTPUT | awk -v m="$(printf '0x%x' "$1")" \
		'$0 ~ "mark match " m "$" { print $1 }'
}

# marked_is M... -- N: packets marked with any of M... add up to N.  The
# kernel queues a datagram before send() returns, so callers wait_for it.
marked_is()
{
	local sum=0

	while [ "$1" != -- ]; do
		sum=$((sum + $(marked "$1")))
		shift
	done
	[ "$sum" -eq "$2" ]
}

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

info "1. 40 datagrams over targets 7 and 8"
send 40
wait_for marked_is 7 8 -- 40 || fail "marked $(marked 7)+$(marked 8), want 40"
[ "$(marked 7)" -gt 0 ] && [ "$(marked 8)" -gt 0 ] || fail "not spread over 7 and 8"

info "2. publish a corrupt table (buffer 0 lookup -> slot 0xfefefefe, generation 2)"
shmf=/dev/shm/$NFQLB_SHM
# Layout for M=997, N=32: header 128 bytes; buffer 0 = 32 targets of 16
# bytes, then the lookup, at 128 + 512.  The generation is at offset 40.
head -c 3988 /dev/zero | tr '\0' '\376' |
	dd of="$shmf" bs=1 seek=640 conv=notrunc status=none || fail "dd"
printf '\002\000\000\000\000\000\000\000' |
	dd of="$shmf" bs=1 seek=40 conv=notrunc status=none || fail "dd"
send 20
sleep 0.2
send 20
wait_for marked_is 7 8 -- 80 ||
	fail "only $(($(marked 7) + $(marked 8) - 40)) of 40 marked with a corrupt table"
[ "$(log_count 'generation 2 is invalid')" -eq 1 ] ||
	fail "the corrupt table was not logged exactly once: $(cat "$LB_LOG")"
"$NFQLB" show >/dev/null 2>&1 && fail "show accepted a corrupt table"
"$NFQLB" show 2>&1 | grep -q "names no active target" ||
	fail "show did not say why the table is corrupt"

info "3. init --force and activate 9: the worker follows"
"$NFQLB" init --force || fail "init --force"
"$NFQLB" activate 9 || fail "activate 9"
wait_for -n 30 grep -q "was replaced" "$LB_LOG" || fail "the worker did not switch tables"
send 20
wait_for marked_is 9 -- 20 || fail "marked 9: $(marked 9), want 20"

info "4. delete: the worker keeps its last table"
"$NFQLB" delete || fail "delete"
wait_for -n 30 grep -q "was deleted" "$LB_LOG" || fail "the worker did not notice the delete"
send 20
sleep 1.2
wait_for marked_is 9 -- 40 || fail "marked 9: $(marked 9), want 40 after delete"
[ "$(log_count 'was deleted')" -eq 1 ] || fail "the delete was logged more than once"

info "5. SIGTERM"
kill -TERM "$LB_PID"
wait "$LB_PID"
rc=$?
[ $rc -eq 0 ] || fail "the worker exited with $rc"
alive "$LB_PID" && fail "the worker still runs"
pass
