#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t-guard: the guard rails a new user runs into.
#   - a printing command whose output cannot be written (stdout on
#     /dev/full) exits 1 with the one line "nfqlb: <cmd>: write error: ...":
#     show, show --json, stats, stats --json, help, COMMAND --help, version,
#     rules, route show;
#   - an activation that would leave an active target without entries is
#     refused, naming it, and changes nothing;
#   - delete refuses an object without nfqlb's magic unless --force;
#   - an empty $NFQLB_SHM is a usage error (exit 2) and touches no table;
#   - deactivating the last target and deleting a table a worker uses
#     succeed with one warning line;
#   - a second worker on a held queue names the PID that holds it;
#   - SIGHUP is logged and the worker goes on.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

need_root
need_cmd ip timeout python3 cmp
[ -x "$NFQLB" ] || fail "$NFQLB is not built"
[ -w /dev/full ] || skip "no /dev/full"

SHMF=/dev/shm/$NFQLB_SHM

# full CMD ARGS...: nfqlb ARGS with stdout on /dev/full exits 1 with the one
# line "nfqlb: CMD: write error: No space left on device" (rules has a
# message of its own).
full()
{
	local cmd=$1 rc err want="write error: No space left on device"

	shift
	[ "$cmd" = rules ] && want="writing the rules failed"
	"$@" >/dev/full 2>"$LOGDIR/err"
	rc=$?
	err=$(cat "$LOGDIR/err")
	[ "$rc" -eq 1 ] || fail "'$* >/dev/full' exited $rc, want 1 ($err)"
	[ "$err" = "nfqlb: $cmd: $want" ] || fail "'$* >/dev/full' said: $err"
}

# warns CMD WHAT ARGS...: nfqlb ARGS exits 0, prints nothing on stdout and
# the one line "nfqlb: CMD: warning: ...WHAT..." on stderr.
warns()
{
	local cmd=$1 what=$2 out rc err

	shift 2
	out=$("$@" 2>"$LOGDIR/err")
	rc=$?
	err=$(cat "$LOGDIR/err")
	[ "$rc" -eq 0 ] || fail "'$*' exited $rc, want 0 ($err)"
	[ -z "$out" ] || fail "'$*' printed on stdout: $out"
	[ "$(wc -l <"$LOGDIR/err")" -eq 1 ] || fail "'$*' stderr is not one line: $err"
	case $err in
	"nfqlb: $cmd: warning: "*"$what"*) ;;
	*) fail "'$*': \"$err\" is not \"nfqlb: $cmd: warning: ...$what...\"" ;;
	esac
}

ns_add lb t
veth_add lb eth0 t eth0
addr_add lb eth0 10.9.0.1/24

info "output to /dev/full: exit 1"
"$NFQLB" init --M 997 || fail "init"
"$NFQLB" activate 1 2 3 || fail "activate"
full show "$NFQLB" show
full show "$NFQLB" show --json
full stats "$NFQLB" stats
full stats "$NFQLB" stats --json
full help "$NFQLB" help
full help "$NFQLB" --help
full show "$NFQLB" show --help
full version "$NFQLB" version
full rules "$NFQLB" rules --vip 10.0.0.1
# Nothing to print is nothing to lose.
nsx lb "$NFQLB" route show >/dev/full || fail "route show with no routes failed on /dev/full"
nsx lb "$NFQLB" route add 1 via 10.9.0.2 || fail "route add"
full route nsx lb "$NFQLB" route show

info "an activation that leaves a target without entries is refused"
"$NFQLB" init --force --empty --M 997 || fail "init"
"$NFQLB" activate 30 10 20 || fail "activate"
before=$("$NFQLB" show --json) || fail "show --json"
one_error zero activate end \
	"target 20 (weight 1) would get none of the M=997 entries next to weight 1000: use a larger M or smaller weights; nothing changed" \
	"$NFQLB" activate --weight 1000 10
after=$("$NFQLB" show --json) || fail "show --json"
[ "$before" = "$after" ] || fail "the refused activation changed the table"
python3 -c 'import json, sys
t = json.loads(sys.argv[1])["targets"]
assert [x["id"] for x in t] == [10, 20, 30], t
assert all(x["entries"] > 0 for x in t), t' "$after" || fail "show --json: $after"
"$NFQLB" init --force --M 65537 || fail "init M=65537"
"$NFQLB" activate 30 10 20 || fail "activate"
"$NFQLB" activate --weight 1000 10 || fail "weight 1000 at M=65537 refused"

info "delete refuses what is not an nfqlb table, unless --force"
printf 'another program keeps its state here' >"$SHMF-other"
cp "$SHMF-other" "$LOGDIR/other"
one_error foreign delete end \
	"\"$NFQLB_SHM-other\" is not an nfqlb table (no nfqlb magic): not deleting it (--force deletes it anyway)" \
	"$NFQLB" delete --shm "$NFQLB_SHM-other"
cmp -s "$SHMF-other" "$LOGDIR/other" || fail "the refused delete changed the object"
"$NFQLB" delete --shm "$NFQLB_SHM-other" --force || fail "delete --force"
[ -e "$SHMF-other" ] && fail "delete --force left the object"
one_error missing delete end "table \"$NFQLB_SHM-other\" does not exist" \
	"$NFQLB" delete --shm "$NFQLB_SHM-other"

info "an empty NFQLB_SHM is a usage error"
for args in "show" "init" "delete" "activate 1" "lb --queue 0"; do
	# shellcheck disable=SC2086
	err=$(NFQLB_SHM="" "$NFQLB" $args 2>&1 >/dev/null)
	rc=$?
	[ "$rc" -eq 2 ] || fail "NFQLB_SHM= nfqlb $args exited $rc: $err"
	[ "$err" = "nfqlb: ${args%% *}: NFQLB_SHM is empty: unset it, or set it to a table name" ] ||
		fail "NFQLB_SHM= nfqlb $args said: $err"
done

info "warnings: the last target deactivated, a used table deleted"
"$NFQLB" init --force --empty || fail "init"
"$NFQLB" activate 1 2 || fail "activate"
"$NFQLB" deactivate 1 2>"$LOGDIR/err" || fail "deactivate 1"
[ -s "$LOGDIR/err" ] && fail "deactivate 1 warned: $(cat "$LOGDIR/err")"
warns deactivate "no target is active now" "$NFQLB" deactivate 2
"$NFQLB" activate 1 || fail "activate"
start_bg lb "$NFQLB" lb --queue 3
LB=$BG_PID
wait_for lb_ready || fail "the worker did not start"

info "a held queue names its holder"
one_error held lb end "queue 3: Operation not permitted (another process is bound to it: PID $LB, nfqlb)" \
	nsx lb timeout 20 "$NFQLB" lb --queue 3

info "SIGHUP is logged, and the worker goes on"
kill -HUP "$LB" || fail "kill -HUP"
wait_for grep -q "SIGHUP ignored" "$LOGDIR"/lb-nfqlb-*.log || fail "SIGHUP not logged"
alive "$LB" || fail "the worker died of SIGHUP"
lb_ready || fail "the worker stopped running after SIGHUP"

warns delete "table \"$NFQLB_SHM\" was in use by a worker (queue 3)" "$NFQLB" delete
[ -e "$SHMF" ] && fail "delete left the object"
stop_pid "$LB" 5
rc=$?
[ "$rc" -eq 0 ] || fail "the worker exited $rc on SIGTERM"
"$NFQLB" init || fail "init"
"$NFQLB" delete 2>"$LOGDIR/err" || fail "delete"
[ -s "$LOGDIR/err" ] && fail "delete of an unused table warned: $(cat "$LOGDIR/err")"
pass
