#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t-lookup: `nfqlb lookup` says where the worker sends each packet.
#
# The worker alone on loopback (lib-lo.sh): UDP to port 9999 is queued on
# OUTPUT.  For 200 datagrams (each its own source address and port, to
# three destinations: two flows with their own tables, and one no flow
# takes, which gets --no-flow mark=0x777), `nfqlb lookup --flows --json`
# names the mark; a rule per datagram counts it leaving with that mark, so
# every packet's mark on the wire is compared with lookup's answer.  Then
# the same for 60 datagrams through `lb --shm` and `lookup --shm`.  Last,
# 150 flows each with its own table on a worker of two queue threads (300
# open tables, more than a process had room for before): every table
# opens, and three flows get their tables' marks.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

need_root
need_cmd ip iptables iptables-restore timeout
need_bins

FLOWS="$NFQLB_SHM-flows"
TA="$NFQLB_SHM-a"
TB="$NFQLB_SHM-b"

# expect N SPORT0 LOOKUP_OPTION...: N flows from 127.0.1.(i%200+1):(SPORT0+i)
# to 127.0.0.(i%3+1):9999, each with the mark `nfqlb lookup` names (or the
# no-flow mark), into LO_FLOWS and a counting rule each (as lo_flows does).
expect()
{
	local n=$1 p0=$2 i src dst out mark rules=""

	shift 2
	for ((i = 0; i < n; i++)); do
		src="127.0.1.$((i % 200 + 1))"
		dst="127.0.0.$((i % 3 + 1))"
		# One python per packet would cost more than the rest: sed takes
		# the one number out of lookup's one-line JSON.
		out=$("$NFQLB" lookup "$@" --src "$src" --dst "$dst" --proto udp \
			--sport $((p0 + i)) --dport 9999 --json) ||
			fail "nfqlb lookup $* --src $src --dst $dst failed"
		mark=$(sed -n 's/.*"fwmark":\([0-9]*\|null\)[,}].*/\1/p' <<<"$out")
		case $mark in
		null) mark=$((0x777)) ;;
		[1-9]*) ;;
		*) fail "nfqlb lookup $* --src $src --dst $dst: no fwmark in $out" ;;
		esac
		LO_FLOWS+="$src $dst $((p0 + i)) $mark"$'\n'
		rules+="-A nfqlb-flows -s $src -d $dst -p udp --sport $((p0 + i)) --dport 9999"
		rules+=" -m mark --mark $mark"$'\n'
	done
	printf '*filter\n%sCOMMIT\n' "$rules" | nsx lb iptables-restore --noflush ||
		fail "iptables-restore: the flows' rules"
}

info "topology: the worker alone on loopback"
topo_loopback
nsx lb iptables -N nfqlb-flows && nsx lb iptables -A OUTPUT -p udp --dport 9999 -j nfqlb-flows ||
	fail "iptables: the chain nfqlb-flows"
nsx lb ip addr add 127.0.1.0/24 dev lo 2>/dev/null

info "tables a (101 102 103, 5tuple) and b (201 202, addr); flows a and b"
"$NFQLB" init --shm "$TA" && "$NFQLB" activate --shm "$TA" 101 102 103 || fail "table a"
"$NFQLB" init --shm "$TB" --hash addr && "$NFQLB" activate --shm "$TB" 201 202 || fail "table b"
"$NFQLB" flow set a --flows "$FLOWS" --table "$TA" --proto udp --dst 127.0.0.1/32 ||
	fail "flow set a"
"$NFQLB" flow set b --flows "$FLOWS" --table "$TB" --dst 127.0.0.2/32 --dport 9000-9999 ||
	fail "flow set b"

start_bg lb "$NFQLB" lb --queue 0 --flows "$FLOWS" --no-flow mark=0x777
LB_PID=$BG_PID
NFQLB_SHM="$TA" wait_for lb_ready || fail "the worker did not attach to queue 0"

info "200 datagrams: each leaves with the mark lookup names"
expect 200 20000 --flows "$FLOWS"
lo_send_flows 1
wait_for -n 30 lo_flows_ok 1 || fail "marks on the wire differ from lookup: $LO_FLOWS_BAD"
[ "$(awk 'NF { print $4 }' <<<"$LO_FLOWS" | sort -u | wc -l)" -ge 5 ] ||
	fail "the datagrams did not reach every target and the no-flow mark"
lb_stop TERM

info "the same through lb --shm and lookup --shm: 60 datagrams"
lo_flows_reset
start_bg lb "$NFQLB" lb --queue 0 --shm "$TA"
LB_PID=$BG_PID
NFQLB_SHM="$TA" wait_for lb_ready || fail "the worker did not attach to queue 0"
expect 60 30000 --shm "$TA"
lo_send_flows 1
wait_for -n 30 lo_flows_ok 1 || fail "marks on the wire differ from lookup --shm: $LO_FLOWS_BAD"
lb_stop TERM

info "150 flows, each with its own table, on one worker of two queues"
{
	echo "# nfqlb save format 1"
	for ((i = 1; i <= 150; i++)); do
		printf 'table %s m=13 n=2 hash=5tuple seed=0\ntarget %d weight=1\nend\n' \
			"$NFQLB_SHM-m$i" $((i + 1000))
	done
} >"$LOGDIR/tables.save"
"$NFQLB" restore "$LOGDIR/tables.save" >/dev/null || fail "restore of 150 tables"
for ((i = 1; i <= 150; i++)); do
	"$NFQLB" flow set "m$i" --flows "$FLOWS-m" --table "$NFQLB_SHM-m$i" \
		--dst "127.0.2.$i/32" >/dev/null || fail "flow m$i"
done
start_bg lb "$NFQLB" lb --queue 0:1 --flows "$FLOWS-m"
LB_PID=$BG_PID
NFQLB_SHM="$NFQLB_SHM-m1" wait_for lb_ready || fail "the worker did not attach to queue 0"
log=$(ls "$LOGDIR"/lb-nfqlb-*.log | tail -n 1)
grep -q 'generation [0-9]*: 150 flows, 150 tables' "$log" ||
	fail "the worker did not take 150 flows and tables: $(tail -n 3 "$log")"
# Either thread logs a table it cannot open.
grep -q 'unusable\|does not exist' "$log" && fail "a table could not be opened: $(grep -m1 'unusable\|does not exist' "$log")"
lo_flows_reset
LO_FLOWS=""
rules=""
for i in 1 75 150; do
	LO_FLOWS+="127.0.1.1 127.0.2.$i 40000 $((i + 1000))"$'\n'
	rules+="-A nfqlb-flows -s 127.0.1.1 -d 127.0.2.$i -p udp --sport 40000 --dport 9999 -m mark --mark $((i + 1000))"$'\n'
done
printf '*filter\n%sCOMMIT\n' "$rules" | nsx lb iptables-restore --noflush || fail "iptables-restore"
lo_send_flows 1
wait_for -n 30 lo_flows_ok 1 || fail "the flows of tables 1, 75 and 150 did not get their marks: $LO_FLOWS_BAD"
lb_stop TERM

info "lookup's errors"
"$NFQLB" lookup --shm "$TA" --src 127.0.0.1 --dst ::1 --proto udp 2>"$LOGDIR/err"
[ $? -eq 2 ] && [ "$(wc -l <"$LOGDIR/err")" -eq 1 ] || fail "mixed families: want exit 2, one line"
one_error "a missing flow set" lookup in "does not exist" \
	"$NFQLB" lookup --flows "$NFQLB_SHM-none" --src 1.2.3.4 --dst 1.2.3.5 --proto tcp
pass
