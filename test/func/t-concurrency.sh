#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t-concurrency: two writers change the table in a tight loop for 10 s while
# TCP and UDP traffic flows through the worker, in NAT mode.
#
#	client --- lb --- t1..t5 (ids 11, 12, 21, 22, 30)
#
# Writer A owns ids 11 and 12, writer B ids 21 and 22, and both fight over
# id 30.  Each writer's own commands always leave one of its own ids
# active, so every command leaves at least two targets active.  Commands
# that name 30 may fail (it may be inactive); the others must not.  Each
# command is logged with its result and start and end times.
# Checks:
#   - no packet found an empty table (stats no_target 0), none was dropped,
#     and no exchange of the traffic failed;
#   - the worker, run with NFQLB_DEBUG_VERIFY, rebuilt every table it
#     adopted and found each equal to its own Maglev build (it aborts if
#     not); a reader running show and stats throughout never failed and
#     never saw a table without targets;
#   - the final table is the one the last successful commands imply: each
#     writer's own ids as its log says, and id 30 as the later of the two
#     writers' last successful commands on it (either, if they overlapped).
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

need_root
need_cmd ip iptables ip6tables timeout
need_bins

DURATION=10	# seconds of writing
SHARED=30

# writer NAME X Y SIDE: change the table until DURATION is over (and at most
# 100000 commands).  Between commands X or Y is active.  SIDE (0 or 1) makes
# the writers' weights for SHARED odd and even, so they tell who wrote last.
# Weights stay at most 100, so that at M=997 every active target keeps
# entries (activate refuses a table that leaves one without).
writer()
{
	local name=$1 x=$2 y=$3 side=$4 i end t0 rc cmd
	local log="$LOGDIR/writer.$name"

	end=$((${EPOCHREALTIME/./} + DURATION * 1000000))
	for ((i = 0; i < 100000; i++)); do
		t0=${EPOCHREALTIME/./}
		[ "$t0" -ge "$end" ] && break
		case $((i % 7)) in
		0) cmd="deactivate $x" ;;
		1) cmd="activate $x" ;;
		2) cmd="deactivate $y" ;;
		3) cmd="activate --weight $((1 + i % 9)) $y" ;;
		4) cmd="activate --weight $(((2 * i + side) % 100 + 1)) $SHARED" ;;
		5) cmd="deactivate $y $SHARED" ;;
		6) cmd="activate $y" ;;
		esac
		# shellcheck disable=SC2086
		"$NFQLB" $cmd 2>>"$log.err"
		rc=$?
		echo "$i $t0 ${EPOCHREALTIME/./} $rc $cmd" >>"$log"
	done
}

# reader: show and stats until the writers are done; a failure or a table
# without targets goes into reader.bad.
reader()
{
	local i json

	for ((i = 0; i < 100000; i++)); do
		[ -e "$LOGDIR/writers.done" ] && break
		json=$("$NFQLB" show --json) || echo "show failed" >>"$LOGDIR/reader.bad"
		echo "$json" | json_test 'j["targets"]' ||
			echo "no targets: $json" | cut -c1-200 >>"$LOGDIR/reader.bad"
		"$NFQLB" stats --json >/dev/null || echo "stats failed" >>"$LOGDIR/reader.bad"
		echo "$i" >"$LOGDIR/reader.count"
	done
}

# model NAME: replay writer NAME's log for its own ids (all except SHARED)
# and print the active ones as "id:weight", one a line.  Fails the test
# when a command that does not name SHARED failed.
model()
{
	awk -v s="$SHARED" '
	{
		rc = $4; cmd = $5; w = 0; n = 0
		for (f = 6; f <= NF; f++) {
			if ($f == "--weight") { w = $(f + 1); f++; continue }
			ids[++n] = $f
		}
		shared = 0
		for (k = 1; k <= n; k++) if (ids[k] == s) shared = 1
		if (rc != 0) {
			if (!shared) { print "BAD " $0; exit 1 }
			next
		}
		for (k = 1; k <= n; k++) {
			id = ids[k]
			if (id == s) continue
			if (cmd == "deactivate") { delete act[id]; continue }
			if (w) act[id] = w
			else if (!(id in act)) act[id] = 1
		}
	}
	END { for (id in act) print id ":" act[id] }' "$LOGDIR/writer.$1" |
		sort
}

# last_shared NAME: "START END STATE" of writer NAME's last successful
# command on SHARED, STATE "30:W" or "-" (inactive); nothing if none.
last_shared()
{
	awk -v s="$SHARED" '
	$4 == 0 {
		hit = 0
		for (f = 6; f <= NF; f++) if ($f == s) hit = 1
		if (!hit) next
		st = "-"
		if ($5 == "activate") st = s ":" $7
		last = $2 " " $3 " " st
	}
	END { if (last != "") print last }' "$LOGDIR/writer.$1"
}

# shared_candidates: the states of SHARED the two writers' logs allow.
shared_candidates()
{
	local a b as ae ast bs be bst

	a=$(last_shared A)
	b=$(last_shared B)
	read -r as ae ast <<<"$a"
	read -r bs be bst <<<"$b"
	if [ -z "$a" ] && [ -z "$b" ]; then
		echo "$SHARED:1"
	elif [ -z "$b" ]; then
		echo "$ast"
	elif [ -z "$a" ]; then
		echo "$bst"
	elif [ "$ae" -lt "$bs" ]; then
		echo "$bst"
	elif [ "$be" -lt "$as" ]; then
		echo "$ast"
	else
		echo "$ast $bst"
	fi
}

# actual: the active targets of `show --json`, "id:weight" sorted.
actual()
{
	"$NFQLB" show --json |
		json_py '"\n".join("%d:%d" % (t["id"], t["weight"]) for t in j["targets"])' | sort
}

info "topology: client, lb, t1..t5"
topo_nat t1 t2 t3 t4 t5
nat_rules 11:1 12:2 21:3 22:4 "$SHARED:5"
"$NFQLB" init || fail "init"
"$NFQLB" activate 11 12 21 22 "$SHARED" || fail "activate"
start_bg lb env NFQLB_DEBUG_VERIFY=1 "$NFQLB" lb --queue 0
LB_PID=$BG_PID
wait_for lb_ready || fail "the worker did not start"
wait_for -n 20 lb_probe "$VIP4" 80 || fail "no answer through the worker"
LB_LOG=$(echo "$LOGDIR"/lb-env-*.log)

info "traffic, and two writers for $DURATION s"
start_bg client "$TOOLS/nfqlb-conn" -c $((DURATION * 40)) -r 40 -t 2000 "$VIP4" 80
TCP4=$BG_PID
start_bg client "$TOOLS/nfqlb-conn" -c $((DURATION * 40)) -r 40 -t 2000 -u "$VIP4" 80
UDP4=$BG_PID
start_bg client "$TOOLS/nfqlb-conn" -c $((DURATION * 20)) -r 20 -t 2000 "$VIP6" 80
TCP6=$BG_PID
writer A 11 12 0 &
WA=$!
writer B 21 22 1 &
WB=$!
reader &
RD=$!
wait "$WA" "$WB"
touch "$LOGDIR/writers.done"
wait "$RD"
for pid in "$TCP4" "$UDP4" "$TCP6"; do
	wait "$pid"
	rc=$?
	[ $rc -eq 0 ] || fail "traffic failed (exit $rc): $(tail -n 3 "$LOGDIR"/client-*.log | tr '\n' ' ')"
done
for f in "$LOGDIR"/client-*.log; do
	grep -q '^failed [1-9]' "$f" && fail "traffic failed: $(tr '\n' ' ' <"$f")"
done
na=$(wc -l <"$LOGDIR/writer.A")
nb=$(wc -l <"$LOGDIR/writer.B")
fa=$(awk '$4 != 0' "$LOGDIR/writer.A" | wc -l)
fb=$(awk '$4 != 0' "$LOGDIR/writer.B" | wc -l)
info "writer A: $na commands ($fa failed on $SHARED), writer B: $nb ($fb);" \
	"reader: $(($(cat "$LOGDIR/reader.count") + 1)) rounds"
[ "$na" -ge 20 ] && [ "$nb" -ge 20 ] || fail "the writers ran only $na and $nb commands"

info "the final table"
ma=$(model A) || fail "writer A: a command that must succeed failed: $ma"
mb=$(model B) || fail "writer B: a command that must succeed failed: $mb"
[ -s "$LOGDIR/reader.bad" ] && fail "reader: $(head -n 3 "$LOGDIR/reader.bad")"
got=$(actual | tr '\n' ' ')
ok=0
for c in $(shared_candidates); do
	want=$(printf '%s\n' $ma $mb $c | grep -v '^-$' | sort | tr '\n' ' ')
	[ "$got" = "$want" ] && ok=1
	wants="${wants}[${want}] "
done
[ $ok -eq 1 ] || fail "final table $got; the logs allow $wants"
info "final table: $got"

json=$("$NFQLB" stats --json) || fail "stats"
[ "$(echo "$json" | json_num no_target)" -eq 0 ] ||
	fail "packets found no target: $(echo "$json" | json_num no_target)"
[ "$(echo "$json" | json_num dropped)" -eq 0 ] ||
	fail "packets dropped: $(echo "$json" | json_num dropped)"
info "$(echo "$json" | json_num accepted) packets, all accepted with a target"

alive "$LB_PID" || fail "the worker died: $(tail -n 3 "$LB_LOG")"
stop_pid "$LB_PID" 5 || fail "the worker exited with status $? on SIGTERM"
checked=$(sed -n 's/.*debug verify: \([0-9]*\) tables checked.*/\1/p' "$LB_LOG")
[ -n "$checked" ] || fail "the worker did not report its debug verify: $(tail -n 3 "$LB_LOG")"
[ "$checked" -ge 10 ] || fail "the worker checked only $checked tables"
info "the worker checked $checked tables, each equal to its own build"
pass
