#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t-scale-smoke: a small scale-in/scale-out measurement (test/scale/scale.sh
# over the DSR lab: 6 targets, 40 long-lived connections) and the
# invariants that must hold whatever the timing:
#
#   every nfqlb run  each connection was served by the target the table
#                    names for its flow hash, and the connections lost are
#                    exactly those the table change predicts (all packets:
#                    those whose entry changed owner or whose target
#                    stopped; SYN-only: those whose target stopped)
#   in-stop, all     every connection on a stopped target is lost, and the
#                    losses on surviving targets (excess disruption) are
#                    only the table's own: entries Maglev moved between
#                    targets that stay (a fraction of a percent of the
#                    table), never any from the worker
#   in-drain, syn    no connection is lost, although the drained targets
#                    held some
#   out, syn         no connection is lost
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

need_root
need_cmd ip iptables ip6tables iptables-restore timeout python3
need_bins

CONNS=40
RUNS="in-stop:all in-drain:syn out:syn"
out="$LOGDIR/scale"

info "scale.sh: 6 targets, -2 and +2, $CONNS connections: $RUNS"
timeout -k 5 100 "$(dirname "$0")/../scale/scale.sh" -n 6 -d 2 -a 2 \
	-c "$CONNS" -r 40 -A 2 -t 3000 -p "$RUNS" -o "$out" \
	>"$LOGDIR/scale.log" 2>&1 ||
	fail "scale.sh failed: $(tail -n 5 "$LOGDIR/scale.log" | tr '\n' ' ')"
[ -s "$out/results.csv" ] || fail "scale.sh wrote no results.csv"

# field EVENT MODE COLUMN: one value of results.csv.
field()
{
	awk -F, -v e="$1" -v m="$2" -v c="$3" '
		NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
		$1 == e && $2 == m { print $col[c]; found = 1 }
		END { if (!found) exit 1 }' "$out/results.csv"
}

# expect EVENT MODE COLUMN OP VALUE: fail unless COLUMN OP VALUE holds.
expect()
{
	local v

	v=$(field "$1" "$2" "$3") || fail "$1 $2: no result"
	[ -n "$v" ] || fail "$1 $2: no value for $3"
	test "$v" "$4" "$5" ||
		fail "$1 $2: $3 is $v, want $4 $5 ($(grep "^$1,$2," "$out/results.csv"))"
}

for r in $RUNS; do
	ev=${r%%:*}
	mode=${r#*:}
	expect "$ev" "$mode" up -ge $((CONNS / 2))
	expect "$ev" "$mode" wrong_target -eq 0
	expect "$ev" "$mode" mismatch -eq 0
	info "$ev $mode: $(field "$ev" "$mode" lost) lost of" \
		"$(field "$ev" "$mode" up), $(field "$ev" "$mode" excess) on" \
		"surviving targets (table predicts" \
		"$(field "$ev" "$mode" predicted_excess))"
done

on_removed=$(field in-stop all on_removed)
expect in-stop all lost_removed -eq "$on_removed"
expect in-stop all excess -eq "$(field in-stop all predicted_excess)"

expect in-drain syn on_removed -gt 0
expect in-drain syn lost -eq 0
expect out syn lost -eq 0

pass
