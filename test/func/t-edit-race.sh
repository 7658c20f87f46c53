#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t-edit-race: activate and deactivate while another process keeps
# replacing the table (init --force, which keeps the targets) never fail:
# an update that finds its object replaced under it ("replaced or deleted
# meanwhile") is applied again to what the name holds then.
#   200 replacements in the background; 300 activate/deactivate pairs of
#   target 9 beside them; every command must succeed, and the table ends
#   valid with exactly the targets it began with.
# Needs only /dev/shm (no root, no namespaces).
. "$(dirname "$0")/lib.sh"

"$NFQLB" init --empty || fail "init"
"$NFQLB" activate 1 2 3 || fail "activate 1 2 3"

replace_loop()
{
	local i

	for ((i = 0; i < 200; i++)); do
		"$NFQLB" init --force >/dev/null 2>&1 || return 1
	done
}
replace_loop &
REPLACER=$!

errors=$LOGDIR/errors
: >"$errors"
for ((i = 0; i < 300; i++)); do
	"$NFQLB" activate 9 2>>"$errors" >/dev/null
	"$NFQLB" deactivate 9 2>>"$errors" >/dev/null
done
wait "$REPLACER" || fail "a replacement failed"
[ -s "$errors" ] && fail "$(sort "$errors" | uniq -c | head -5)"
ids=$("$NFQLB" show --json | json_py '[t["id"] for t in j["targets"]]') ||
	fail "show --json"
[ "$ids" = "1 2 3" ] || fail "the table ends with targets '$ids', want '1 2 3'"
pass
