# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash disable=SC2034  # a library: its globals are read by the scripts that source it
# lib.sh: shared helpers for the function tests (bash).  Source it first:
#
#	. "$(dirname "$0")/lib.sh"
#	need_root
#
# This file holds the core (results, cleanup, namespaces, processes and
# waits) and sources the rest, one file per topology or concern; tests
# source this file only:
#	lib-nfqlb.sh	nfqlb's JSON, its workers' counters, its error lines
#	lib-traffic.sh	nfqlb-conn traffic and the checks on where it went
#	lib-predict.sh	flows whose targets the reference model predicts
#	lib-star.sh	client --- lb --- targets, shared by:
#	lib-nat.sh	  NAT mode (DNAT by mark), the VIP on lb, crafted packets
#	lib-fwmark.sh	  routing by fwmark, targets holding the VIP
#	lib-tier.sh	load balancers behind an ECMP router
#	lib-lo.sh	the worker alone, queueing loopback traffic
#	lib-bpf.sh	the fast path of lb --bpf
#
# Every name this run makes carries a unique prefix: namespaces are
# $NS_PREFIX<short name> and the table is /dev/shm/$NFQLB_SHM (a test that
# needs more tables names them $NFQLB_SHM-*), so two runs, or a test and a
# real load balancer, never meet.  Helpers take the short
# namespace name ("lb", "client") and add the prefix themselves.
#
# Traffic rules: everything happens inside namespaces made here.  Nothing
# touches the root namespace's interfaces, routes or firewall; every
# iptables command runs as `ip netns exec NS iptables ...` (see nsx).
# Addresses are private test ranges used only inside those namespaces.
#
# cleanup runs from an EXIT trap: it stops the processes this test started
# (by PID), deletes this test's namespaces and table, and its log directory.

TEST_NAME=${TEST_NAME:-$(basename "$0" .sh)}
# run.sh passes a run-unique id so it can clean up after a killed test.
TEST_ID=${NFQLB_TEST_ID:-$$}
NS_PREFIX="nfqlb-t${TEST_ID}-"
export NFQLB_SHM="nfqlb-test-${TEST_ID}"

_libdir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NFQLB=${NFQLB:-$_libdir/../../build/nfqlb}
TOOLS=${TOOLS:-$_libdir/../../build/tools}
export NFQLB TOOLS

# The Python that reads JSON and predicts flows: python3, resolved once to
# the interpreter itself (a version manager's shim on PATH would cost a
# shell and a few hundred milliseconds per call).  run.sh resolves it once
# for all tests.  The helpers run it with -S: they need the standard
# library only, and a site's start-up imports cost more than their work.
if [ -z "${PYTHON:-}" ]; then
	PYTHON=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null) ||
		PYTHON=python3
	export PYTHON
fi

# The test addresses.  VIP is what clients connect to.
VIP4=10.200.255.1
VIP6=fd00:200:ff::1

_PIDS=()	# processes started by start_bg
_NETNS=()	# namespaces made by ns_add (full names)
LOGDIR=""
BG_PID=""	# the PID of the last start_bg

# ---------------------------------------------------------------- results

# info MSG...: a progress line.
info()
{
	echo "  $TEST_NAME: $*"
}

# fail MSG...: report the failure, show the background logs, exit 1.
fail()
{
	echo "FAIL: $TEST_NAME: $*"
	_dump_logs
	exit 1
}

# pass: report success and exit 0.
pass()
{
	echo "PASS: $TEST_NAME"
	exit 0
}

# skip MSG...: report a skip and exit 77.
skip()
{
	echo "SKIP: $TEST_NAME: $*"
	exit 77
}

need_root()
{
	[ "$(id -u)" -eq 0 ] || skip "needs root"
}

# need_plain_build: skip under `make func-san`, whose nfqlb is built with
# ASan (valgrind cannot run it); `make func` runs the test.  run.sh does not
# even select a test whose header says "#@ not-sanitized" there: this is
# for a test run by hand.
need_plain_build()
{
	[ -z "${NFQLB_SAN:-}" ] || skip "valgrind cannot run a sanitizer build (make func runs this test)"
}

# need_cmd CMD...: skip unless every command is installed.
need_cmd()
{
	local c

	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || skip "needs $c"
	done
}

# need_bins: fail unless $NFQLB and the test tools are built; skip
# without python3, which the helpers need to read JSON and predict flows.
need_bins()
{
	local b

	need_cmd python3
	for b in "$NFQLB" "$TOOLS/nfqlb-echo" "$TOOLS/nfqlb-conn"; do
		[ -x "$b" ] || fail "$b is not built (run make all)"
	done
}

# ---------------------------------------------------------------- cleanup

_dump_logs()
{
	local f

	[ -n "$LOGDIR" ] && [ -d "$LOGDIR" ] || return 0
	for f in "$LOGDIR"/*.log; do
		[ -s "$f" ] || continue
		echo "--- $(basename "$f") (last 20 lines)"
		tail -n 20 "$f"
	done
}

# stop_pid PID [SECONDS]: SIGTERM, then SIGKILL after SECONDS (default 2).
# Returns the process's exit status when it is our child, else 0.
stop_pid()
{
	local pid=$1 tries=$(( ${2:-2} * 10 ))

	kill -TERM "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return; }
	while kill -0 "$pid" 2>/dev/null && [ "$tries" -gt 0 ]; do
		# A zombie child still answers kill -0; wait reaps it below.
		[ "$(ps -o stat= -p "$pid" 2>/dev/null | cut -c1)" = Z ] && break
		sleep 0.1
		tries=$((tries - 1))
	done
	if [ "$tries" -eq 0 ]; then
		kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null
}

cleanup()
{
	local rc=$? pid ns

	trap - EXIT INT TERM
	for pid in "${_PIDS[@]}"; do
		stop_pid "$pid" 2 || true
	done
	# What still runs inside this test's namespaces was started by it (a
	# child of a process stopped above, say): kill it, or it would outlive
	# the namespace.
	for ns in "${_NETNS[@]}"; do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill -KILL "$pid" 2>/dev/null
		done
		ip netns del "$ns" 2>/dev/null
	done
	rm -f "/dev/shm/$NFQLB_SHM" "/dev/shm/$NFQLB_SHM"-*
	# The trace rings of workers killed here (the next worker anywhere
	# would remove them too).
	"$NFQLB" trace --list >/dev/null 2>&1
	[ -n "$LOGDIR" ] && rm -rf "$LOGDIR"
	exit "$rc"
}

trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

LOGDIR=$(mktemp -d "${TMPDIR:-/tmp}/nfqlb-t${TEST_ID}.XXXXXX") ||
	{ echo "FAIL: $TEST_NAME: mktemp"; exit 1; }

# ---------------------------------------------------------------- namespaces

# ns NAME: the full name of this test's namespace NAME.
ns()
{
	echo "${NS_PREFIX}$1"
}

# nsx NAME CMD...: run CMD inside this test's namespace NAME.
nsx()
{
	local n=$1

	shift
	ip netns exec "${NS_PREFIX}$n" "$@"
}

# ns_add NAME...: make namespaces with lo up and IPv6 DAD off.
ns_add()
{
	local n

	for n in "$@"; do
		ip netns add "${NS_PREFIX}$n" || fail "cannot add namespace $n"
		_NETNS+=("${NS_PREFIX}$n")
		ip -n "${NS_PREFIX}$n" link set lo up
		nsx "$n" sysctl -qw net.ipv6.conf.all.accept_dad=0 \
			net.ipv6.conf.default.accept_dad=0 >/dev/null
	done
}

# veth_add NS1 IF1 NS2 IF2: a veth pair made inside NS1, its peer moved
# straight into NS2 (never into the root namespace), both ends up.
veth_add()
{
	ip -n "${NS_PREFIX}$1" link add "$2" type veth peer name "$4" \
		netns "${NS_PREFIX}$3" || fail "cannot add veth $1/$2 - $3/$4"
	ip -n "${NS_PREFIX}$1" link set "$2" up
	ip -n "${NS_PREFIX}$3" link set "$4" up
}

# addr_add NS IF ADDR/PLEN...: IPv4 or IPv6 addresses (IPv6 with nodad).
addr_add()
{
	local n=$1 dev=$2 a

	shift 2
	for a in "$@"; do
		case $a in
		*:*) ip -n "${NS_PREFIX}$n" -6 addr add "$a" dev "$dev" nodad ;;
		*) ip -n "${NS_PREFIX}$n" addr add "$a" dev "$dev" ;;
		esac || fail "cannot add $a to $n/$dev"
	done
}

# route_add NS DEST VIA: a route (IPv4 or IPv6 by VIA's form).
route_add()
{
	local fam=-4

	case $3 in *:*) fam=-6 ;; esac
	ip -n "${NS_PREFIX}$1" "$fam" route add "$2" via "$3" ||
		fail "cannot add route $2 via $3 in $1"
}

# forwarding_on NS: IPv4 and IPv6 forwarding inside NS.
forwarding_on()
{
	nsx "$1" sysctl -qw net.ipv4.ip_forward=1 \
		net.ipv6.conf.all.forwarding=1 >/dev/null ||
		fail "cannot enable forwarding in $1"
}

# sysctl_in NS KEY=VALUE...: set sysctls inside NS, or fail.
sysctl_in()
{
	local n=$1

	shift
	nsx "$n" sysctl -qw "$@" >/dev/null || fail "sysctl $* in $n"
}

# rp_filter_off NS...: no IPv4 reverse-path filter in NS, on every interface
# present and to come.  With routing by fwmark, packets arrive where the
# route back does not point (replies from the VIP on a target's link,
# requests on a target's link to the load balancer).
rp_filter_off()
{
	local n

	for n in "$@"; do
		nsx "$n" sh -c 'for f in /proc/sys/net/ipv4/conf/*/rp_filter; do
			echo 0 >"$f"; done' || fail "rp_filter in $n"
	done
}

# ---------------------------------------------------------------- processes and waits

# start_bg NS CMD...: run CMD inside namespace NS in the background, its
# output in $LOGDIR.  Records the PID for cleanup and leaves it in BG_PID.
# Use "-" as NS to run in the current namespace.
start_bg()
{
	local n=$1 log

	shift
	log="$LOGDIR/$n-$(basename "$1")-${#_PIDS[@]}.log"
	if [ "$n" = - ]; then
		"$@" >"$log" 2>&1 &
	else
		# ip netns exec execs the command, so $! is the command itself.
		ip netns exec "${NS_PREFIX}$n" "$@" >"$log" 2>&1 &
	fi
	BG_PID=$!
	_PIDS+=("$BG_PID")
}

# wait_for [-n TRIES] [-i SECONDS] CMD...: retry CMD until it succeeds, at
# most TRIES times (default 50) SECONDS apart (default 0.1).  Returns 1
# when it never succeeded.
wait_for()
{
	local tries=50 interval=0.1 i

	while :; do
		case ${1-} in
		-n) tries=$2; shift 2 ;;
		-i) interval=$2; shift 2 ;;
		*) break ;;
		esac
	done
	for ((i = 0; i < tries; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep "$interval"
	done
	return 1
}

# wait_until SECONDS CMD...: retry CMD, 0.1 s apart, until it succeeds or
# SECONDS (a decimal, like 2.5) have passed by the clock, whatever CMD
# takes; CMD runs at least once, and once more at the deadline.  Returns 1
# when it never succeeded.
wait_until()
{
	local end now

	end=$(_now_us)
	end=$((end + $(_us "$1")))
	shift
	while :; do
		"$@" >/dev/null 2>&1 && return 0
		now=$(_now_us)
		[ "$now" -lt "$end" ] || return 1
		sleep 0.1
	done
}

# _now_us: the time in microseconds; _us SECONDS: a decimal in microseconds.
_now_us()
{
	echo "${EPOCHREALTIME/./}"
}

_us()
{
	local i=${1%%.*} f=

	[ "$i" = "$1" ] || f=${1#*.}
	f=${f}000000
	echo $((10#${i:-0} * 1000000 + 10#${f:0:6}))
}

# alive PID: true while the process runs (and is not a zombie).
alive()
{
	kill -0 "$1" 2>/dev/null &&
		[ "$(ps -o stat= -p "$1" 2>/dev/null | cut -c1)" != Z ]
}

# ---------------------------------------------------------------- the parts

# shellcheck source=SCRIPTDIR/lib-nfqlb.sh
. "$_libdir/lib-nfqlb.sh"
# shellcheck source=SCRIPTDIR/lib-traffic.sh
. "$_libdir/lib-traffic.sh"
# shellcheck source=SCRIPTDIR/lib-predict.sh
. "$_libdir/lib-predict.sh"
# shellcheck source=SCRIPTDIR/lib-star.sh
. "$_libdir/lib-star.sh"
# shellcheck source=SCRIPTDIR/lib-nat.sh
. "$_libdir/lib-nat.sh"
# shellcheck source=SCRIPTDIR/lib-fwmark.sh
. "$_libdir/lib-fwmark.sh"
# shellcheck source=SCRIPTDIR/lib-tier.sh
. "$_libdir/lib-tier.sh"
# shellcheck source=SCRIPTDIR/lib-lo.sh
. "$_libdir/lib-lo.sh"
# shellcheck source=SCRIPTDIR/lib-bpf.sh
. "$_libdir/lib-bpf.sh"
