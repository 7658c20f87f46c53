#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t-health: `nfqlb health` probes targets in other namespaces and writes
# their transitions into the table.
#
#	lb (runs the checkers) --- t1 (nfqlb-echo :80, TCP and UDP)
#	                       \-- t2 (python3 http.server :8080; drops :81)
#
# Network checks probe every 0.2 s, commands every 0.5 s (a timeout would
# count as a failure, and forking a shell can take 0.2 s under load);
# rise = fall = 2 unless said otherwise.
# Checks:
# - a healthy inactive target is activated, a hung one (a command that
#   sleeps, a TCP port that drops SYNs) deactivated with "timeout";
# - t1's server stopped: its TCP (IPv4) and UDP (IPv6) targets are
#   deactivated within interval x fall + 1 s; started again: reactivated
#   within interval x rise + 1 s, with the weight they had;
# - an HTTP target is deactivated when its path answers 404, and
#   reactivated when it answers 200 again;
# - a command that fails every other probe, rise = fall = 3: the target
#   never changes over 16 probes, and no transition is logged;
# - every target of a table fails: the default keeps one active and logs
#   one WARNING; it goes when another target is up again; with
#   `--all-down deactivate` (a second checker) the table empties;
# - SIGKILL to the checker: the table is valid and unchanged; SIGTERM to the
#   other: exit 0.
#@ alone: probe-to-table bounds of about 1 s, which tests beside it would stretch
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

need_root
need_cmd ip iptables python3 timeout
need_bins

T=$NFQLB_SHM			# the main table
A=$NFQLB_SHM-keep		# all-down, default rule
D=$NFQLB_SHM-deact		# all-down, --all-down deactivate
WORK=$LOGDIR/work
INTERVAL_MS=200
BOUND_MS=$((INTERVAL_MS * 2 + 1000))	# interval x fall (or rise) + 1 s
EXEC_BOUND_MS=$((500 * 2 + 1000))	# the same for the commands

now_ms()
{
	echo $(($(date +%s%N) / 1000000))
}

# targets TABLE: the active targets as "ID:WEIGHT ...", sorted by id.
targets()
{
	"$NFQLB" show --shm "$1" --json | python3 -c '
import json, sys
t = json.load(sys.stdin)
print(" ".join("%d:%d" % (x["id"], x["weight"])
               for x in sorted(t["targets"], key=lambda x: x["id"])))'
}

# is_active TABLE ID: true when ID is active in TABLE.
is_active()
{
	case " $(targets "$1") " in
	*" $2:"*) return 0 ;;
	*) return 1 ;;
	esac
}

# await BOUND_MS WHAT TABLE:ID:STATE...: poll the tables every 20 ms (one
# python3 process, so a poll costs only `nfqlb show`) until each ID has its
# STATE, active or inactive, for at most BOUND_MS + 2 s from T0 (ms, from
# now_ms).  Fails when one never got there or took longer than BOUND_MS.
await()
{
	local out rc

	out=$(python3 - "$NFQLB" "$T0" "$@" <<'PY'
import json, subprocess, sys, time

nfqlb, t0, bound, what = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
want = [c.rsplit(":", 2) for c in sys.argv[5:]]
seen = {}

def ms():
    return int(time.time() * 1000) - t0

while len(seen) < len(want) and ms() < bound + 2000:
    active = {}
    for table, tid, state in want:
        if (table, tid) in seen:
            continue
        if table not in active:
            out = subprocess.run([nfqlb, "show", "--shm", table, "--json"],
                                 capture_output=True, check=True).stdout
            active[table] = {t["id"] for t in json.loads(out)["targets"]}
        if (int(tid) in active[table]) == (state == "active"):
            seen[(table, tid)] = ms()
    time.sleep(0.02)
rc = 0
for table, tid, state in want:
    t = seen.get((table, tid))
    if t is None or t > bound:
        rc = 1
    print("%s: id %s %s after %s ms (bound %d ms)" % (what, tid, state,
          t if t is not None else "more than %d" % ms(), bound))
sys.exit(rc)
PY
	)
	rc=$?
	echo "$out" | while read -r line; do info "$line"; done
	[ $rc -eq 0 ] || fail "$2: $(echo "$out" | tr '\n' ';')"
}

# logged WHAT: how many lines of the main checker's log contain WHAT.
logged()
{
	grep -cF -- "$1" "$CHK_LOG"
}

# The next three run through wait_for.
# shellcheck disable=SC2317
# warned_once TABLE: the main checker logged one all-down WARNING for TABLE.
warned_once()
{
	[ "$(logged "WARNING: table $1:")" -eq 1 ]
}

# shellcheck disable=SC2317
no_targets()
{
	[ -z "$(targets "$1")" ]
}

# shellcheck disable=SC2317
checker_ready()
{
	grep -q "checking .* targets" "$1"
}

info "topology: lb, t1, t2"
ns_add lb t1 t2
veth_add lb e1 t1 eth0
veth_add lb e2 t2 eth0
addr_add lb e1 10.200.1.1/24 fd00:200:1::1/64
addr_add t1 eth0 10.200.1.2/24 fd00:200:1::2/64
addr_add lb e2 10.200.2.1/24
addr_add t2 eth0 10.200.2.2/24
nsx t2 iptables -A INPUT -p tcp --dport 81 -j DROP || fail "iptables in t2"

mkdir -p "$WORK/www" || fail "mkdir"
echo ok >"$WORK/www/ok"
touch "$WORK/a1" "$WORK/a2" "$WORK/d1" "$WORK/d2"
cat >"$WORK/flap.sh" <<'EOF'
# Succeeds and fails in turn: the n-th run exits n % 2.
n=$(cat "$1" 2>/dev/null || echo 0)
n=$((n + 1))
echo "$n" >"$1"
exit $((n % 2))
EOF

start_bg t1 "$TOOLS/nfqlb-echo" -p 80 -n t1
ECHO_PID=$BG_PID
start_bg t2 python3 -m http.server 8080 --bind 10.200.2.2 --directory "$WORK/www"
wait_for nsx lb "$TOOLS/nfqlb-conn" -c 1 -t 200 10.200.1.2 80 ||
	fail "t1 does not answer on 10.200.1.2:80"
wait_for -n 100 nsx lb python3 -c '
import urllib.request
urllib.request.urlopen("http://10.200.2.2:8080/ok", timeout=1)' ||
	fail "t2 does not answer on 10.200.2.2:8080"

info "tables: $T (101..107), $A (1, 2), $D (1, 2)"
for t in "$T" "$A" "$D"; do
	"$NFQLB" init --shm "$t" --M 251 || fail "nfqlb init $t"
done
"$NFQLB" activate --shm "$T" --weight 5 101 || fail "activate"
"$NFQLB" activate --shm "$T" 103 104 105 106 107 || fail "activate"
"$NFQLB" activate --shm "$A" 1 2 || fail "activate"
"$NFQLB" activate --shm "$D" 1 2 || fail "activate"

cat >"$WORK/main.conf" <<EOF
# The main checker's targets.
$T 101 tcp 10.200.1.2:80            interval=0.2 rise=2 fall=2
$T 102 http http://10.200.2.2:8080/ok interval=0.2 rise=2 fall=2
$T 103 udp [fd00:200:1::2]:80 payload="are you there?" interval=0.2 rise=2 fall=2
$T 104 exec "sh $WORK/flap.sh $WORK/flap.count" interval=0.5 rise=3 fall=3
$T 105 exec true                    interval=0.5 rise=2 fall=2 # always up
$T 106 exec "sleep 5"               interval=0.2 rise=2 fall=2 # hangs
$T 107 tcp 10.200.2.2:81            interval=0.2 rise=2 fall=2 # SYNs dropped
$A 1 exec "echo >>$WORK/a1.probes; test -e $WORK/a1" interval=0.5 rise=2 fall=2
$A 2 exec "echo >>$WORK/a2.probes; test -e $WORK/a2" interval=0.5 rise=2 fall=2
EOF
cat >"$WORK/deact.conf" <<EOF
$D 1 exec "test -e $WORK/d1" interval=0.5 rise=2 fall=2
$D 2 exec "test -e $WORK/d2" interval=0.5 rise=2 fall=2
EOF

info "starting the checkers"
CHK_LOG="$LOGDIR/lb-nfqlb-${#_PIDS[@]}.log"
T0=$(now_ms)
start_bg lb "$NFQLB" health --config "$WORK/main.conf"
CHK_PID=$BG_PID
DCHK_LOG="$LOGDIR/lb-nfqlb-${#_PIDS[@]}.log"
start_bg lb "$NFQLB" health --config "$WORK/deact.conf" --all-down deactivate
DCHK_PID=$BG_PID
wait_for checker_ready "$CHK_LOG" || fail "the main checker did not start"
wait_for checker_ready "$DCHK_LOG" || fail "the second checker did not start"

# From the start, the first probe is due at once.
await "$BOUND_MS" "from the start" "$T:102:active" "$T:106:inactive" "$T:107:inactive"
[ "$(logged "id 106 (exec \"sleep 5\"): down after 2 failures (timeout after 0.200 s)")" -eq 1 ] ||
	fail "no timeout logged for 106"
[ "$(logged "id 107 (tcp 10.200.2.2:81): down after 2 failures (timeout after 0.200 s)")" -eq 1 ] ||
	fail "no timeout logged for 107"

info "t1's server stopped"
T0=$(now_ms)
stop_pid "$ECHO_PID"
await "$BOUND_MS" "server stopped" "$T:101:inactive" "$T:103:inactive"
[ "$(logged "id 103 (udp [fd00:200:1::2]:80): down after 2 failures (recv: Connection refused): deactivated")" -eq 1 ] ||
	fail "the udp transition is not logged as expected"

info "t1's server started again"
T0=$(now_ms)
start_bg t1 "$TOOLS/nfqlb-echo" -p 80 -n t1
await "$BOUND_MS" "server back" "$T:101:active" "$T:103:active"
case " $(targets "$T") " in
*" 101:5 "*) ;;
*) fail "101 came back without its weight 5: $(targets "$T")" ;;
esac

info "t2 answers 404"
T0=$(now_ms)
rm "$WORK/www/ok"
await "$BOUND_MS" "http 404" "$T:102:inactive"
[ "$(logged "id 102 (http http://10.200.2.2:8080/ok): down after 2 failures (status 404, want 200)")" -eq 1 ] ||
	fail "the http transition is not logged as expected"
T0=$(now_ms)
echo ok >"$WORK/www/ok"
await "$BOUND_MS" "http 200 again" "$T:102:active"

info "a target that fails every other probe, rise = fall = 3"
for ((i = 0; i < 300; i++)); do
	is_active "$T" 104 || fail "104 was deactivated after $(cat "$WORK/flap.count") probes"
	[ "$(cat "$WORK/flap.count" 2>/dev/null || echo 0)" -ge 16 ] && break
	sleep 0.05
done
[ "$(cat "$WORK/flap.count")" -ge 16 ] || fail "104 was probed only $(cat "$WORK/flap.count") times"
[ "$(logged "id 104 (")" -eq 1 ] || fail "transitions logged for 104: $(grep -F "id 104 (" "$CHK_LOG")"
info "104 stayed active over $(cat "$WORK/flap.count") probes"

info "every target of $A fails"
T0=$(now_ms)
rm "$WORK/a1" "$WORK/a2" "$WORK/d1" "$WORK/d2"
wait_for -n 60 warned_once "$A" || fail "no WARNING for $A"
wait_for -n 60 no_targets "$D" || fail "$D still has $(targets "$D")"
# A window of 3 more probes of each of A's targets, to see that nothing
# changes.
probes()
{
	cat "$WORK/$1.probes" 2>/dev/null | wc -l
}
more_probes()
{
	[ "$(probes a1)" -ge "$1" ] && [ "$(probes a2)" -ge "$2" ]
}
wait_until 5 more_probes $(($(probes a1) + 3)) $(($(probes a2) + 3)) ||
	fail "A's targets were not probed 3 more times: $(probes a1), $(probes a2)"
active=$(targets "$A")
case $active in
1:1 | 2:1) ;;
*) fail "$A has \"$active\" active, want one of 1 and 2" ;;
esac
[ "$(logged "WARNING: table $A:")" -eq 1 ] || fail "the WARNING was logged again"
[ "$(grep -c WARNING "$DCHK_LOG")" -eq 0 ] || fail "WARNING with --all-down deactivate"
held=${active%%:*}
other=$((3 - held))
info "$A keeps $held active; $other comes back"
T0=$(now_ms)
touch "$WORK/a$other"
await "$EXEC_BOUND_MS" "up again after all-down" "$A:$other:active" "$A:$held:inactive"

info "SIGKILL to the main checker"
# Stopped first, so that what it wrote is all in `before`.
kill -STOP "$CHK_PID"
before=$("$NFQLB" show --shm "$T" --json) || fail "show"
kill -KILL "$CHK_PID"
{ wait "$CHK_PID"; } 2>/dev/null
after=$("$NFQLB" show --shm "$T" --json) || fail "the table is unreadable after SIGKILL"
echo "$after" | python3 -c 'import json, sys; json.load(sys.stdin)' ||
	fail "show --json is not JSON after SIGKILL"
[ "$before" = "$after" ] || fail "the table changed after SIGKILL"
"$NFQLB" activate --shm "$T" 106 || fail "the table cannot be updated after SIGKILL"

info "SIGTERM to the second checker"
stop_pid "$DCHK_PID"
rc=$?
[ $rc -eq 0 ] || fail "the second checker exited $rc on SIGTERM"
grep -q "stopping on Terminated" "$DCHK_LOG" || fail "no stop logged"

pass
