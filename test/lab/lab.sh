#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# lab.sh: build the nfqlb lab, start nfqlb in it, use it, tear it down.
# As root, after `make`:
#
#	test/lab/lab.sh [OPTIONS] [-- CMD [ARGS...]]
#
# Without CMD it sends 200 connections over IPv4 and IPv6, shows how they
# spread over the targets, and tears the lab down.  With CMD it runs CMD
# (in the root namespace, with LAB_* and NFQLB_SHM exported: enter the lab
# with `ip netns exec ${LAB_NS}c1 ...`) and tears down when CMD ends.  With
# --hold SECONDS it keeps the lab that long (Ctrl-C ends it early).
# Teardown runs from a trap whatever happens.  See lab-lib.sh for the
# topology and the addresses.
here=$(cd "$(dirname "$0")" && pwd)

usage()
{
	cat <<USAGE
usage: lab.sh [-n N] [-k K] [-c C] [-m nat|dsr] [-s] [-r] [-R direct|lb]
              [-M PRIME] [--hold SECONDS] [-- CMD [ARGS...]]
  -n N        targets (default 10)
  -k K        load balancers (default 1; more than 1 adds the router)
  -c C        client namespaces (default 1)
  -m MODE     nat (default) or dsr
  -s          SYN-only: queue only new connections
  -r          put the ECMP router in front even with one load balancer
  -R RETURN   DSR replies: direct (via the router) or lb
  -M PRIME    Maglev table size (default 997)
  --hold S    keep the lab S seconds instead of the traffic check
USAGE
}

hold=""
while [ $# -gt 0 ]; do
	case $1 in
	-n) LAB_N=$2; shift 2 ;;
	-k) LAB_K=$2; shift 2 ;;
	-c) LAB_C=$2; shift 2 ;;
	-m) LAB_MODE=$2; shift 2 ;;
	-s) LAB_SYN=1; shift ;;
	-r) LAB_ROUTER=1; shift ;;
	-R) LAB_RETURN=$2; shift 2 ;;
	-M) LAB_M=$2; shift 2 ;;
	--hold) hold=$2; shift 2 ;;
	-h | --help) usage; exit 0 ;;
	--) shift; break ;;
	*) usage >&2; exit 2 ;;
	esac
done
for v in "${LAB_N:-1}" "${LAB_K:-1}" "${LAB_C:-1}" "${LAB_M:-997}" "${hold:-0}"; do
	case $v in '' | *[!0-9]*) echo "lab.sh: \"$v\" is not a number" >&2; exit 2 ;; esac
done
if [ "$(id -u)" -ne 0 ]; then
	echo "lab.sh: needs root to make network namespaces" >&2
	exit 1
fi

TEST_NAME=lab
# shellcheck source-path=SCRIPTDIR
. "$here/../func/lib.sh"
# The lab's own names, apart from the function tests'.
NS_PREFIX="nfqlb-lab$$-"
export NFQLB_SHM="nfqlb-lab-$$"
# shellcheck source-path=SCRIPTDIR
. "$here/lab-lib.sh"
need_cmd ip iptables ip6tables iptables-restore ip6tables-restore timeout
need_bins

lab_up
# shellcheck disable=SC2119	# all targets
lab_start
lab_describe
export LAB_NS=$NS_PREFIX LAB_VIP4 LAB_VIP6 LAB_PORT LAB_N LAB_K LAB_C \
	LAB_MODE LAB_SYN NFQLB NFQLB_SHM TOOLS
if [ $# -gt 0 ]; then
	"$@"
	exit $?
fi
if [ -n "$hold" ]; then
	echo "lab: up for $hold s; try: ip netns exec ${NS_PREFIX}c1 $TOOLS/nfqlb-conn -c 20 $LAB_VIP4 $LAB_PORT"
	sleep "$hold"
	exit 0
fi
echo "200 connections to $LAB_VIP4:$LAB_PORT"
lab_spread 200 "$LAB_VIP4"
echo "200 connections to [$LAB_VIP6]:$LAB_PORT"
lab_spread 200 "$LAB_VIP6"
