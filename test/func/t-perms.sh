#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t-perms: the state object belongs to root, mode 0600, and a non-root user
# can neither change it nor read it.
#   - init (under umask 0, and init --force) makes it 0600 root:root;
#   - as nobody (setpriv): activate, deactivate, show [--json], stats
#     [--json], delete [--force], init --force and lb each exit 1 with the one line
#     "nfqlb: <cmd>: table "...": permission denied"; init without --force
#     says the table exists;
#   - afterwards the object is byte for byte what it was, and show --json
#     (as root) prints the same table.
# nobody runs a copy of the binary in a directory it can reach: the
# worktree may not be readable by other users.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

need_root
need_cmd ip setpriv stat cmp
[ -x "$NFQLB" ] || fail "$NFQLB is not built"
id nobody >/dev/null 2>&1 || skip "no user nobody"
NOGROUP=$(id -gn nobody)

SHMF=/dev/shm/$NFQLB_SHM
chmod 0711 "$LOGDIR"	# nobody may pass through to bin/, not list it
mkdir -m 0755 "$LOGDIR/bin" || fail "mkdir"
cp "$NFQLB" "$LOGDIR/bin/nfqlb" && chmod 0755 "$LOGDIR/bin/nfqlb" || fail "cp"
NOBODY_NFQLB=$LOGDIR/bin/nfqlb
setpriv --reuid=nobody --regid="$NOGROUP" --clear-groups "$NOBODY_NFQLB" version \
	>/dev/null || fail "nobody cannot run $NOBODY_NFQLB"

# as_nobody CMD...: run CMD as nobody:nogroup without supplementary groups.
as_nobody()
{
	setpriv --reuid=nobody --regid="$NOGROUP" --clear-groups "$@"
}

# refused REASON ARGS...: nfqlb ARGS as nobody exits 1 with nothing on
# stdout and the one line "nfqlb: <cmd>: ...REASON" on stderr.
refused()
{
	local reason=$1

	shift
	one_error nobody "$1" end "$reason" as_nobody "$NOBODY_NFQLB" "$@"
}

info "init under umask 0: 0600 root:root"
(umask 0 && "$NFQLB" init --M 251 --N 8) || fail "init"
[ "$(stat -c '%a %U %G' "$SHMF")" = "600 root root" ] ||
	fail "init made $(stat -c '%a %U %G' "$SHMF")"
(umask 0 && "$NFQLB" init --force --M 251 --N 8) || fail "init --force"
[ "$(stat -c '%a %U %G' "$SHMF")" = "600 root root" ] ||
	fail "init --force made $(stat -c '%a %U %G' "$SHMF")"
"$NFQLB" activate 1 2 3 || fail "activate"
before=$("$NFQLB" show --json) || fail "show --json"
cp "$SHMF" "$LOGDIR/before"

info "as nobody: every command is refused"
for args in "activate 4" "activate --weight 5 1" "deactivate 1" "show" \
	"show --json" "stats" "stats --json" "delete" "delete --force" "init --force"; do
	# shellcheck disable=SC2086
	refused "permission denied" $args
done
refused "already exists (use --force to replace it)" init
ns_add lb
out=$(nsx lb setpriv --reuid=nobody --regid="$NOGROUP" --clear-groups \
	timeout 20 "$NOBODY_NFQLB" lb 2>&1)
rc=$?
[ "$rc" -eq 1 ] || fail "nobody: lb exited $rc: $out"
[ "$out" = "nfqlb: lb: table \"$NFQLB_SHM\": permission denied" ] ||
	fail "nobody: lb said: $out"

info "the table is unchanged"
[ -e "$SHMF" ] || fail "the object is gone"
cmp -s "$SHMF" "$LOGDIR/before" || fail "the object changed"
after=$("$NFQLB" show --json) || fail "show --json"
[ "$before" = "$after" ] || fail "show --json changed: $before -> $after"
[ "$(stat -c '%a %U %G' "$SHMF")" = "600 root root" ] || fail "mode or owner changed"
pass
