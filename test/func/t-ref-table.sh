#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t-ref-table: the table nfqlb builds equals, entry for entry, the one that
# test/ref/maglev_ref.py builds from docs/maglev.md's specification alone, for
# several M, seeds, weights and histories.  Needs no root.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
need_cmd python3
[ -x "$NFQLB" ] || fail "$NFQLB is not built"
REF=$_libdir/../ref/maglev_ref.py

# lookup_of: the "lookup" array of `nfqlb show --json`, space-separated.
lookup_of()
{
	"$NFQLB" show --json | json_py 'j["lookup"]'
}

# check M SEED HISTORY... where HISTORY is +ID[:W] (activate) or -ID.
check()
{
	local m=$1 seed=$2 step id w want got args
	local -A active=()

	shift 2
	"$NFQLB" init --force --empty --M "$m" --N $((m < 64 ? m : 64)) --seed "$seed" ||
		fail "init M=$m"
	for step in "$@"; do
		id=${step:1}
		w=${id#*:}
		id=${id%%:*}
		[ "$w" = "$id" ] && w=1
		if [ "${step:0:1}" = + ]; then
			"$NFQLB" activate --weight "$w" "$id" || fail "activate $step"
			active[$id]=$w
		else
			"$NFQLB" deactivate "$id" || fail "deactivate $step"
			unset "active[$id]"
		fi
	done
	args=()
	for id in "${!active[@]}"; do
		args+=("$id:${active[$id]}")
	done
	want=$(python3 "$REF" "$m" "$seed" "${args[@]}")
	got=$(lookup_of)
	[ -n "$got" ] || fail "no lookup from nfqlb show --json"
	[ "$got" = "$want" ] || fail "M=$m seed=$seed, $# steps: nfqlb and the reference differ"
	info "M=$m seed=$seed, $# steps: same table"
}

check 7 0 +1 +2 +3
check 997 0 +101 +102 +103 +104 +105 -103
check 997 4242 +5:3 +9:1 +2:7 +7:300 -9 +9:2
# Weight 1000 next to weight 1 needs a larger M: at 997 the weight-1
# target would get no entry, and activate refuses that.
check 65537 7 +5:3 +9:1 +2:7 +7:1000 -9 +9:2
check 65537 1 $(seq -f "+%g" 1000 1 1060) -1050 -1003
check 13 99 +4294967295 +1:2
pass
