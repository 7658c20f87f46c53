#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t-save: nfqlb save and restore.
#
# Two tables (weights, hex ids, a non-default hash and seed) are saved,
# deleted, and restored into nothing: a second save gives the same text
# and show --json the same lookup.  Restoring the same save twice moves
# no generation.  An input with a bad line in the middle (line N) exits 1
# with one line naming FILE:N and changes nothing, although the tables
# before that line were valid.  --dry-run prints the diff and changes
# nothing.  Applying a changed input gives the changed table exactly one
# update and replaces the one whose M changed, with a valid table.  While
# restores keep replacing a table, every read of it finds a whole table
# (a smoke check: a non-atomic replace leaves only a short window to hit;
# test_save's test_replace checks the mechanism).  Needs only /dev/shm:
# no namespace, no root.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

need_cmd python3 diff
[ -x "$NFQLB" ] || fail "$NFQLB is not built"

A=$NFQLB_SHM-a
B=$NFQLB_SHM-b
D=$LOGDIR

# gen TABLE: its generation.
gen()
{
	"$NFQLB" show --shm "$1" --json |
		python3 -c 'import json, sys; print(json.load(sys.stdin)["generation"])' ||
		fail "show --shm $1"
}

# table_json TABLE: show --json without the generation.
table_json()
{
	"$NFQLB" show --shm "$1" --json |
		python3 -c 'import json, sys; d = json.load(sys.stdin); del d["generation"]; print(json.dumps(d, sort_keys=True))' ||
		fail "show --shm $1"
}

save()
{
	"$NFQLB" save --shm "$A" --shm "$B"
}

"$NFQLB" init --shm "$A" --M 997 --N 8 || fail "init $A"
"$NFQLB" activate --shm "$A" 101 0x66 || fail "activate"
"$NFQLB" activate --shm "$A" --weight 3 0x10 || fail "activate"
"$NFQLB" init --shm "$B" --M 65537 --N 4 --hash addr --seed 7 || fail "init $B"
"$NFQLB" activate --shm "$B" --weight 5 0xff 0x1000 || fail "activate"
save >"$D/s1" || fail "save"
cat >"$D/want" <<EOF
# nfqlb save format 1
table $A m=997 n=8 hash=5tuple seed=0
target 16 weight=3
target 101 weight=1
target 102 weight=1
end
table $B m=65537 n=4 hash=addr seed=7
target 255 weight=5
target 4096 weight=5
end
EOF
diff -u "$D/want" "$D/s1" || fail "save printed other text"
table_json "$A" >"$D/a1"
table_json "$B" >"$D/b1"
info "save: ok"

# ---- restore into nothing, save again: the same text, the same tables
"$NFQLB" delete --shm "$A" || fail "delete $A"
"$NFQLB" delete --shm "$B" || fail "delete $B"
"$NFQLB" restore "$D/s1" 2>"$D/err" || fail "restore into nothing: $(cat "$D/err")"
[ -s "$D/err" ] && fail "restore printed on stderr: $(cat "$D/err")"
save >"$D/s2" || fail "save after restore"
diff -u "$D/s1" "$D/s2" || fail "save, restore, save gave other text"
table_json "$A" | diff -u "$D/a1" - || fail "$A's table differs after restore"
table_json "$B" | diff -u "$D/b1" - || fail "$B's table differs after restore"
info "save, restore into nothing, save: same text and lookup"

# ---- restore twice: no generation moves
ga=$(gen "$A")
gb=$(gen "$B")
"$NFQLB" restore "$D/s1" || fail "restore again"
"$NFQLB" restore <"$D/s1" || fail "restore again from stdin"
[ "$(gen "$A")" = "$ga" ] || fail "$A: generation $ga -> $(gen "$A") on restoring the same state"
[ "$(gen "$B")" = "$gb" ] || fail "$B: generation $gb -> $(gen "$B") on restoring the same state"
info "restore twice: generations stay $ga and $gb"

# ---- an error at line N changes nothing, not even the valid tables before it
cat >"$D/bad" <<EOF
# first table valid and different
table $A m=997 n=8 hash=5tuple seed=0
target 16 weight=7
end
table $B m=65537 n=4 hash=addr seed=7
target 255 weight=5
target 0x1000 weight=5000
end
EOF
"$NFQLB" restore "$D/bad" >"$D/out" 2>"$D/err"
rc=$?
[ "$rc" -eq 1 ] || fail "bad input: exit $rc, want 1"
[ "$(wc -l <"$D/err")" -eq 1 ] || fail "bad input: stderr is not one line: $(cat "$D/err")"
grep -q "^nfqlb: restore: $D/bad:7: .*weight=5000" "$D/err" ||
	fail "bad input: the error does not name line 7: $(cat "$D/err")"
[ -s "$D/out" ] && fail "bad input: printed on stdout"
save | diff -u "$D/s1" - || fail "bad input changed a table"
[ "$(gen "$A")" = "$ga" ] || fail "bad input moved $A's generation"
[ "$(gen "$B")" = "$gb" ] || fail "bad input moved $B's generation"
info "error at line 7: $(cat "$D/err")"

# ---- --dry-run prints the diff and changes nothing
cat >"$D/s3" <<EOF
# nfqlb save format 1
table $A m=997 n=8 hash=5tuple seed=0
target 16 weight=1
target 102 weight=1
target 103 weight=2
end
table $B m=7 n=4 hash=addr seed=7
target 255 weight=5
target 4096 weight=5
end
EOF
cat >"$D/plan" <<EOF
table $A: update
  weight 16 3 -> 1
  deactivate 101
  activate 103 weight=2
table $B: replace (m 65537 -> 7)
EOF
"$NFQLB" restore --dry-run "$D/s3" >"$D/out" || fail "dry-run"
diff -u "$D/plan" "$D/out" || fail "dry-run printed another plan"
save | diff -u "$D/s1" - || fail "dry-run changed a table"
[ "$(gen "$A")" = "$ga" ] || fail "dry-run moved $A's generation"
[ "$(gen "$B")" = "$gb" ] || fail "dry-run moved $B's generation"
"$NFQLB" restore --dry-run "$D/s1" >"$D/out" || fail "dry-run"
printf 'table %s: unchanged\ntable %s: unchanged\n' "$A" "$B" | diff -u - "$D/out" ||
	fail "dry-run of the current state is not 'unchanged'"
info "dry-run: the plan, nothing changed"

# ---- apply: one update for A; B replaced by a valid table with the new M
"$NFQLB" restore "$D/s3" || fail "restore s3"
[ "$(gen "$A")" = $((ga + 1)) ] || fail "$A: generation $ga -> $(gen "$A"), want one update"
save | diff -u "$D/s3" - || fail "save after restore differs from its input"
"$NFQLB" show --shm "$B" --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["M"] == 7 and d["N"] == 4 and d["hash"] == "addr" and d["seed"] == 7, d
ids = sorted(t["id"] for t in d["targets"])
assert ids == [255, 4096], ids
assert len(d["lookup"]) == 7 and set(d["lookup"]) == {255, 4096}, d["lookup"]
assert sum(t["entries"] for t in d["targets"]) == 7, d
' || fail "$B is not the replaced table"
info "apply: $A one update, $B replaced (M 65537 -> 7)"

# ---- while restores keep replacing B, a reader always finds a whole table
sed "s/^table $B m=7 /table $B m=11 /" "$D/s3" >"$D/s4"
# restore_pid FILE: restore FILE, its PID appended to $D/pids.
restore_pid()
{
	local p

	"$NFQLB" restore "$1" &
	p=$!
	echo "$p" >>"$D/pids"
	wait "$p"
}
(
	for i in $(seq 1 40); do
		restore_pid "$D/s4" && restore_pid "$D/s3" || exit 1
	done
) >"$D/bg.out" 2>&1 &
bg=$!
_PIDS+=("$bg")
reads=0
bad=0
deadline=$((SECONDS + 60))
while kill -0 "$bg" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do
	"$NFQLB" show --shm "$B" --json >"$D/r" 2>"$D/rerr" || { bad=$((bad + 1)); cat "$D/rerr"; }
	reads=$((reads + 1))
done
wait "$bg" || fail "the background restores failed: $(cat "$D/bg.out")"
[ "$bad" -eq 0 ] || fail "$bad of $reads reads found no whole table during replaces"
[ "$reads" -ge 5 ] || fail "only $reads reads during the replaces"
save | diff -u "$D/s3" - || fail "after the replaces the state is not the last restored"
# Each restore built its table under the shm module's private name,
# .nfqlb-new-PID-N: none of theirs is left.
[ "$(wc -l <"$D/pids")" -eq 80 ] || fail "$(wc -l <"$D/pids") restores, want 80"
while read -r p; do
	for f in /dev/shm/.nfqlb-new-"$p"-*; do
		[ -e "$f" ] && fail "restore left $f behind"
	done
done <"$D/pids"
info "80 replaces, $reads reads: always a whole table; nothing left behind"

# ---- save of a missing table: one line, exit 1, nothing on stdout
"$NFQLB" save --shm "$A" --shm "$NFQLB_SHM-none" >"$D/out" 2>"$D/err"
rc=$?
[ "$rc" -eq 1 ] || fail "save of a missing table: exit $rc"
[ "$(wc -l <"$D/err")" -eq 1 ] || fail "save of a missing table: not one line: $(cat "$D/err")"
grep -q '^nfqlb: save: .*does not exist' "$D/err" ||
	fail "save of a missing table: $(cat "$D/err")"
[ -s "$D/out" ] && fail "save of a missing table printed a partial save"

pass
