#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# scale.sh: scale-in and scale-out with long-lived connections, comparing
# nfqlb with all packets queued, nfqlb SYN-only, and the kernel's modulo
# hash (iptables HMARK).  Run by `make scale` (root); about 75 s.
#
#	test/scale/scale.sh [-n N] [-d DEL] [-a ADD] [-c CONNS] [-r RATE]
#	                    [-M PRIME] [-t MS] [-A SECONDS] [-p RUNS] [-o OUTDIR]
#
# RUNS is a list of EVENT:MODE (default: every event in every mode); see
# scale-lib.sh for the events, the modes and the lab.  Writes each run's
# timeline into OUTDIR (default build/scale), prints the loss table
# (OUTDIR/table.md, OUTDIR/results.csv) and plots live connections per
# target to OUTDIR/scale.svg and OUTDIR/scale.png.
here=$(cd "$(dirname "$0")" && pwd)

usage()
{
	echo "usage: scale.sh [-n N] [-d DEL] [-a ADD] [-c CONNS] [-r RATE]" \
		"[-M PRIME] [-t MS] [-A SECONDS] [-p RUNS] [-o OUTDIR]" >&2
	exit 2
}

runs=""
for ev in in-drain in-stop out; do
	for mode in all syn modulo; do
		runs+=" $ev:$mode"
	done
done
while [ $# -gt 0 ]; do
	[ $# -ge 2 ] || usage
	case $1 in
	-n) SCALE_N=$2 ;;
	-d) SCALE_DEL=$2 ;;
	-a) SCALE_ADD=$2 ;;
	-c) SCALE_CONNS=$2 ;;
	-r) SCALE_RATE=$2 ;;
	-M) SCALE_M=$2 ;;
	-t) SCALE_TIMEOUT=$2 ;;
	-A) SCALE_AFTER=$2 ;;
	-p) runs=$2 ;;
	-o) SCALE_OUT=$2 ;;
	*) usage ;;
	esac
	shift 2
done
for v in "${SCALE_N:-1}" "${SCALE_DEL:-1}" "${SCALE_ADD:-1}" \
	"${SCALE_CONNS:-1}" "${SCALE_RATE:-1}" "${SCALE_M:-1}" \
	"${SCALE_TIMEOUT:-1}" "${SCALE_AFTER:-1}"; do
	case $v in '' | *[!0-9]*) echo "scale.sh: \"$v\" is not a number" >&2; exit 2 ;; esac
done
for r in $runs; do
	case $r in
	in-drain:* | in-stop:* | out:*) ;;
	*) echo "scale.sh: \"$r\" is not EVENT:MODE" >&2; exit 2 ;;
	esac
	case ${r#*:} in
	all | syn | modulo) ;;
	*) echo "scale.sh: \"$r\": MODE must be all, syn or modulo" >&2; exit 2 ;;
	esac
done
SCALE_OUT=$(mkdir -p "${SCALE_OUT:-$here/../../build/scale}" && cd "${SCALE_OUT:-$here/../../build/scale}" && pwd) ||
	{ echo "scale.sh: cannot make the output directory" >&2; exit 1; }
if [ "$(id -u)" -ne 0 ]; then
	echo "scale.sh: needs root to make network namespaces" >&2
	exit 1
fi

TEST_NAME=scale
# shellcheck source-path=SCRIPTDIR
. "$here/../func/lib.sh"
# Run alone, the scale has its own names; under run.sh it keeps the test's.
if [ -z "${NFQLB_TEST_ID:-}" ]; then
	NS_PREFIX="nfqlb-scale$$-"
	export NFQLB_SHM="nfqlb-scale-$$"
fi
# shellcheck source-path=SCRIPTDIR
. "$here/../lab/lab-lib.sh"
# shellcheck source-path=SCRIPTDIR
. "$here/scale-lib.sh"
need_cmd ip iptables ip6tables iptables-restore timeout python3
need_bins

echo "scale: $SCALE_N targets, $SCALE_CONNS connections at $SCALE_RATE/s," \
	"M=$SCALE_M; scale-in -$SCALE_DEL, scale-out +$SCALE_ADD"
echo "results in $SCALE_OUT"
scale_setup
for r in $runs; do
	info "${r%%:*}, ${r#*:}"
	scale_run "${r%%:*}" "${r#*:}"
done
scale_report
[ -f "$SCALE_OUT/scale.png" ] &&
	echo "plot: $SCALE_OUT/scale.svg, $SCALE_OUT/scale.png"
exit 0
