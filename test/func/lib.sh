# shellcheck shell=bash disable=SC2034  # a library: its globals are read by the scripts that source it
# lib.sh: shared helpers for the function tests (bash).  Source it first:
#
#	. "$(dirname "$0")/lib.sh"
#	need_root
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

# need_cmd CMD...: skip unless every command is installed.
# need_plain_build: skip under `make func-san`, whose nfqlb is built with
# ASan (valgrind cannot run it); `make func` runs the test.
need_plain_build()
{
	[ -z "${NFQLB_SAN:-}" ] || skip "valgrind cannot run a sanitizer build (make func runs this test)"
}

need_cmd()
{
	local c

	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || skip "needs $c"
	done
}

# need_bins: fail unless $NFQLB and the test tools are built.
need_bins()
{
	local b

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
	for ns in "${_NETNS[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	rm -f "/dev/shm/$NFQLB_SHM" "/dev/shm/$NFQLB_SHM"-*
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

# ---------------------------------------------------------------- processes

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

# alive PID: true while the process runs (and is not a zombie).
alive()
{
	kill -0 "$1" 2>/dev/null &&
		[ "$(ps -o stat= -p "$1" 2>/dev/null | cut -c1)" != Z ]
}

# ---------------------------------------------------------------- topologies

# client_link NS: client's eth0 (10.200.0.2/24, fd00:200::2/64) linked to
# NS's c0 (10.200.0.1/24, fd00:200::1/64); client routes everything via NS.
client_link()
{
	veth_add client eth0 "$1" c0
	addr_add client eth0 10.200.0.2/24 fd00:200::2/64
	addr_add "$1" c0 10.200.0.1/24 fd00:200::1/64
	route_add client default 10.200.0.1
	route_add client default fd00:200::1
}

# _topo_star T...: the namespaces, links, addresses and routes that
# topo_nat and topo_fwmark share: client --- lb --- T..., target i at
# 10.200.i.2 / fd00:200:i::2 behind lb's 10.200.i.1 / fd00:200:i::1,
# routing back via lb; lb forwards.
_topo_star()
{
	local i=0 t

	ns_add client lb "$@"
	client_link lb
	forwarding_on lb
	for t in "$@"; do
		i=$((i + 1))
		veth_add lb "t$i" "$t" eth0
		addr_add lb "t$i" "10.200.$i.1/24" "fd00:200:$i::1/64"
		addr_add "$t" eth0 "10.200.$i.2/24" "fd00:200:$i::2/64"
		route_add "$t" default "10.200.$i.1"
		route_add "$t" default "fd00:200:$i::1"
	done
}

# topo_nat NAME...: the NAT topology used by several tests.
#
#	client --- lb --- t1, t2, ... (one veth per target)
#
# client 10.200.0.2 / fd00:200::2 routes everything via lb (10.200.0.1 /
# fd00:200::1).  Target i is 10.200.i.2 / fd00:200:i::2, behind lb's
# 10.200.i.1 / fd00:200:i::1, and routes back via lb.  lb forwards; the VIP
# is on no host: lb's iptables DNAT turns it into a target address.  Each
# target runs nfqlb-echo on port 80 (TCP and UDP) answering with its NAME.
topo_nat()
{
	local i=0 t

	_topo_star "$@"
	for t in "$@"; do
		start_bg "$t" "$TOOLS/nfqlb-echo" -p 80 -n "$t"
	done
	for t in "$@"; do
		i=$((i + 1))
		wait_for nsx lb "$TOOLS/nfqlb-conn" -c 1 -t 200 "10.200.$i.2" 80 ||
			fail "target $t does not answer on 10.200.$i.2:80"
	done
}

# target_addr4 I / target_addr6 I: the address of the I-th target (1-based).
target_addr4()
{
	echo "10.200.$1.2"
}

target_addr6()
{
	echo "fd00:200:$1::2"
}

# nat_rules ID:I...: in lb, queue TCP and UDP to the VIP on port 80 to
# NFQUEUE 0 (mangle PREROUTING), and DNAT each mark ID to target I's
# address (nat PREROUTING), for IPv4 and IPv6.
nat_rules()
{
	local pair id i p

	for p in tcp udp; do
		nsx lb iptables -t mangle -A PREROUTING -d "$VIP4" -p "$p" \
			--dport 80 -j NFQUEUE --queue-num 0 || fail "iptables"
		nsx lb ip6tables -t mangle -A PREROUTING -d "$VIP6" -p "$p" \
			--dport 80 -j NFQUEUE --queue-num 0 || fail "ip6tables"
	done
	for pair in "$@"; do
		id=${pair%%:*}
		i=${pair#*:}
		for p in tcp udp; do
			nsx lb iptables -t nat -A PREROUTING -d "$VIP4" -p "$p" \
				-m mark --mark "$id" -j DNAT --to-destination \
				"$(target_addr4 "$i"):80" || fail "iptables"
			nsx lb ip6tables -t nat -A PREROUTING -d "$VIP6" -p "$p" \
				-m mark --mark "$id" -j DNAT --to-destination \
				"[$(target_addr6 "$i")]:80" || fail "ip6tables"
		done
	done
}

# ---------------------------------------------------------------- nfqlb

# json_num KEY: the first number value of "KEY" in the JSON on stdin.
json_num()
{
	grep -o "\"$1\":[0-9]*" | head -n 1 | cut -d: -f2
}

# json_ids: the "id" values in the JSON on stdin, space separated.
json_ids()
{
	grep -o '"id":[0-9]*' | cut -d: -f2 | tr '\n' ' ' | sed 's/ $//'
}

# conn NS ARGS...: nfqlb-conn ARGS inside NS, the whole run bounded by
# CONN_TIMEOUT seconds (default 30) whatever its arguments.
conn()
{
	local n=$1

	shift
	timeout "${CONN_TIMEOUT:-30}" ip netns exec "${NS_PREFIX}$n" \
		"$TOOLS/nfqlb-conn" "$@"
}

# conn_count OUTPUT NAME: the count nfqlb-conn printed for NAME (0 if none).
conn_count()
{
	local n

	n=$(echo "$1" | awk -v k="$2" '$1 == k { print $2 }')
	echo "${n:-0}"
}

# lb_ready: true once a worker has claimed a queue's counters in
# $NFQLB_SHM.  The worker may bind the queue a moment later: follow with
# lb_probe to know packets get through.
lb_ready()
{
	"$NFQLB" stats --json | grep -q '"running":true'
}

# lb_probe ADDR PORT: one short exchange from the client namespace.
lb_probe()
{
	CONN_TIMEOUT=5 conn client -c 1 -t 250 "$1" "$2" >/dev/null 2>&1
}

# ---------------------------------------------------------------- routing by fwmark

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

# vip_on_lo NS: NS holds VIP4 and VIP6 on lo, and neither answers nor
# announces ARP for them on its links (arp_ignore=1, arp_announce=2), as a
# target behind a load balancer that routes by fwmark does.
vip_on_lo()
{
	sysctl_in "$1" net.ipv4.conf.all.arp_ignore=1 \
		net.ipv4.conf.all.arp_announce=2
	addr_add "$1" lo "$VIP4/32" "$VIP6/128"
}

# echo_vip NS NAME [PORT]: nfqlb-echo in NS answering NAME on the VIPs'
# PORT (default 80), one server bound to VIP4 and one to VIP6, so that UDP
# answers leave from the VIP (a wildcard socket would answer from the
# link's address).  Waits until both answer inside NS.
echo_vip()
{
	local p=${3:-80} v

	start_bg "$1" "$TOOLS/nfqlb-echo" -4 -p "$p" -n "$2" -a "$VIP4"
	start_bg "$1" "$TOOLS/nfqlb-echo" -6 -p "$p" -n "$2" -a "$VIP6"
	for v in "$VIP4" "$VIP6"; do
		wait_for _echo_is "$1" "$2" "$v" "$p" ||
			fail "the echo server in $1 does not answer on $v:$p"
	done
}

_echo_is()
{
	[ "$(nsx "$1" "$TOOLS/nfqlb-conn" -c 1 -t 200 "$3" "$4")" = "$2 1" ]
}

# topo_fwmark T...: client --- lb --- T... with topo_nat's addresses, but
# the targets hold the VIP (vip_on_lo) and serve it (echo_vip), and lb
# takes a packet for the VIP to the target its fwmark names (policy routing,
# see fwmark_routes).  Replies go back through lb, so lb's conntrack sees
# both directions.  No NFQUEUE rules yet: see vip_rules.
topo_fwmark()
{
	local t

	_topo_star "$@"
	for t in "$@"; do
		vip_on_lo "$t"
		rp_filter_off "$t"
		echo_vip "$t" "$t"
	done
	rp_filter_off lb
}

# fwmark_route NS ID ADDR4 ADDR6: in NS, packets marked ID go via ADDR4
# (IPv4) and ADDR6 (IPv6), by `nfqlb route add`.
fwmark_route()
{
	nsx "$1" "$NFQLB" route add "$2" via "$3" &&
	nsx "$1" "$NFQLB" route add "$2" via "$4" ||
		fail "nfqlb route add $2 via $3 / $4 failed in $1"
}

# fwmark_routes NS ID:I...: in NS, packets marked ID go to target I
# (target_addr4/6): fwmark_route for each pair.
fwmark_routes()
{
	local n=$1 pair id i

	shift
	for pair in "$@"; do
		id=${pair%%:*}
		i=${pair#*:}
		fwmark_route "$n" "$id" "$(target_addr4 "$i")" "$(target_addr6 "$i")"
	done
}

# rules_in NS FAM RULES_OPTION...: `nfqlb rules RULES_OPTION...` into NS's
# firewall as README says, FAMtables-save | nfqlb rules | FAMtables-restore
# --noflush (FAM: ip or ip6).  The rules are kept in $LOGDIR/rules-NS-FAM.log,
# so a failing test shows them.
rules_in()
{
	local n=$1 fam=$2 log="$LOGDIR/rules-$1-$2.log"

	shift 2
	nsx "$n" "$fam"tables-save >"$log.saved" || fail "${fam}tables-save in $n failed"
	"$NFQLB" rules "$@" <"$log.saved" >"$log" || fail "nfqlb rules $* failed"
	nsx "$n" "$fam"tables-restore --noflush <"$log" ||
		fail "${fam}tables-restore in $n refused: nfqlb rules $*"
}

# vip_rules NS [RULES_OPTION...]: `nfqlb rules --vip VIP4 RULES_OPTION...`
# applied in NS (rules_in), and the same for VIP6.
vip_rules()
{
	local n=$1

	shift
	rules_in "$n" ip --vip "$VIP4" "$@"
	rules_in "$n" ip6 --vip "$VIP6" "$@"
}

# lb_start NS [LB_OPTION...]: `nfqlb lb --queue 0 LB_OPTION...` in NS,
# waited for until a TCP exchange with VIP4 gets through.  LB_PID is its PID.
lb_start()
{
	local n=$1

	shift
	start_bg "$n" "$NFQLB" lb --queue 0 "$@"
	LB_PID=$BG_PID
	wait_for -n 100 lb_probe "$VIP4" 80 ||
		fail "no answer through the worker in $n"
}

# queue_packets Q [SHM]: the packets the worker on queue Q classified, from
# `nfqlb stats --json` of table SHM (default $NFQLB_SHM).
queue_packets()
{
	# A worker killed by SIGKILL may leave its counter set behind and the
	# next one take another: add up every set of queue Q.
	"$NFQLB" stats --shm "${2:-$NFQLB_SHM}" --json |
		grep -o "\"queue\":$1,\"running\":[a-z]*,\"packets\":[0-9]*" |
		awk -F: '{ s += $4 } END { print s + 0 }'
}

# queue_packets_over Q MIN [SHM]: true when queue Q classified more than MIN.
queue_packets_over()
{
	[ "$(queue_packets "$1" "${3:-}")" -gt "$2" ]
}

# conn_keep NAME NS ARGS...: nfqlb-conn ARGS inside NS in the background
# (bounded by CONN_TIMEOUT seconds, default 60), its output in
# $LOGDIR/NAME.log.  BG_PID is its PID; conn_keep_check waits for it.
conn_keep()
{
	local name=$1 n=$2

	shift 2
	timeout "${CONN_TIMEOUT:-60}" ip netns exec "${NS_PREFIX}$n" \
		"$TOOLS/nfqlb-conn" "$@" >"$LOGDIR/$name.log" 2>&1 &
	BG_PID=$!
	_PIDS+=("$BG_PID")
}

# conn_keep_check NAME PID: wait for the nfqlb-conn of conn_keep NAME and
# fail unless it exited 0 with "failed 0" and "moved 0".  Its output is
# left in CONN_OUT.
conn_keep_check()
{
	local rc

	wait "$2"
	rc=$?
	CONN_OUT=$(cat "$LOGDIR/$1.log")
	[ "$rc" -eq 0 ] && [ "$(conn_count "$CONN_OUT" failed)" -eq 0 ] &&
		[ "$(conn_count "$CONN_OUT" moved)" -eq 0 ] && return 0
	stats_save
	fail "$1: nfqlb-conn exit $rc: $(echo "$CONN_OUT" | tr '\n' ' ')"
}

# stats_save [SHM...]: `nfqlb stats` of the tables (default $NFQLB_SHM)
# into $LOGDIR, so that a failure shows them.
# shellcheck disable=SC2120 # callers may name tables
stats_save()
{
	local s

	for s in "${@:-$NFQLB_SHM}"; do
		"$NFQLB" stats --shm "$s" >"$LOGDIR/stats-$s.log" 2>&1
	done
}

# fwd_count NS: packets NS forwarded to the VIPs (IPv4 + IPv6), counted by
# the rules fwd_count_rules adds.
fwd_count()
{
	{
		nsx "$1" iptables-save -c -t filter
		nsx "$1" ip6tables-save -c -t filter
	} | sed -n 's/^\[\([0-9]*\):.*-A FORWARD .*nfqlb-fwd-count.*/\1/p' |
		awk '{ s += $1 } END { print s + 0 }'
}

# fwd_count_rules NS: count, without deciding anything, the packets NS
# forwards to the VIPs (filter FORWARD rules with no target).
fwd_count_rules()
{
	nsx "$1" iptables -A FORWARD -d "$VIP4" -m comment \
		--comment nfqlb-fwd-count || fail "iptables in $1"
	nsx "$1" ip6tables -A FORWARD -d "$VIP6" -m comment \
		--comment nfqlb-fwd-count || fail "ip6tables in $1"
}

# fwd_over NS N: NS forwarded more than N packets to the VIPs.
fwd_over()
{
	[ "$(fwd_count "$1")" -gt "$2" ]
}

# fwd_flows NS N WHAT: NS forwards N more packets to the VIPs within 10 s,
# or the test fails with "traffic stopped WHAT".
fwd_flows()
{
	local f

	f=$(fwd_count "$1")
	wait_for -n 100 fwd_over "$1" $((f + $2)) ||
		fail "traffic to the VIP through $1 stopped $3"
}

# lb_stop SIGNAL: send SIGNAL to the worker LB_PID and reap it; after
# SIGTERM it must exit 0.
lb_stop()
{
	local rc

	kill -"$1" "$LB_PID"
	wait "$LB_PID" 2>/dev/null
	rc=$?
	if [ "$1" = TERM ] && [ $rc -ne 0 ]; then
		fail "the worker exited with status $rc after SIGTERM"
	fi
}

# conn_keep_both NAME COUNT SECONDS TIMEOUT_MS: conn_keep NAME-4 and NAME-6
# from the client, COUNT connections to VIP4 and to VIP6 held for SECONDS,
# every wait bounded by TIMEOUT_MS.  Their PIDs are KEEP4 and KEEP6.
conn_keep_both()
{
	conn_keep "$1-4" client -c "$2" -k "$3" -t "$4" "$VIP4" 80
	KEEP4=$BG_PID
	conn_keep "$1-6" client -c "$2" -k "$3" -t "$4" "$VIP6" 80
	KEEP6=$BG_PID
}

# conn_keep_opened NAME COUNT SECONDS TIMEOUT_MS: conn_keep_both, then wait
# (10 s at most) until queue 0's worker has classified at least a packet
# for each of the 2 x COUNT connections.
conn_keep_opened()
{
	local q0

	q0=$(queue_packets 0)
	conn_keep_both "$@"
	wait_for -n 100 queue_packets_over 0 $((q0 + 2 * $2 - 1)) ||
		fail "the connections did not open (queue: $(queue_packets 0) packets)"
}

# topo_fwmark_lb RULES_OPTION...: topo_fwmark t1 t2 t3 made ready for a
# test of the worker: lb routes marks 101..103 to t1..t3 (fwmark_routes),
# queues the VIPs' packets (vip_rules lb RULES_OPTION..., which must name
# queue 0) and counts those it forwards (fwd_count_rules); the table has
# 101, 102 and 103 active, and the worker on queue 0 runs (lb_start; its
# PID is LB_PID).
topo_fwmark_lb()
{
	topo_fwmark t1 t2 t3
	fwmark_routes lb 101:1 102:2 103:3
	vip_rules lb "$@"
	fwd_count_rules lb
	"$NFQLB" init || fail "nfqlb init failed"
	"$NFQLB" activate 101 102 103 || fail "nfqlb activate failed"
	lb_start lb
}

# ---------------------------------------------------------------- LB tier

# topo_tier K T...: K load balancers lb1..lbK behind an ECMP router, and
# targets T... reachable from every load balancer (K <= 9).
#
#	client --- router ==ECMP== lb1..lbK --- T... (each lb to each target)
#	             `------------------------- T... (replies, direct)
#
# client 10.201.0.2 / fd00:201::2 routes via router 10.201.0.1 /
# fd00:201::1.  router reaches lbK at 10.201.1K.2 / fd00:201:1K::2 over its
# interface lK, and routes the VIP over all of them (ECMP, layer-4 hash:
# fib_multipath_hash_policy=1 for IPv4 and IPv6).  lbK reaches target I at
# tier_addr4/6 K I over its interface tI.  Target I holds the VIP
# (vip_on_lo), serves it (echo_vip), and answers straight through router
# (10.220.I.1 / fd00:220:I::1), not through a load balancer.  No NFQUEUE
# rules or routes by mark yet.
topo_tier()
{
	local k=$1 i j t

	shift
	ns_add client router
	veth_add client eth0 router c0
	addr_add client eth0 10.201.0.2/24 fd00:201::2/64
	addr_add router c0 10.201.0.1/24 fd00:201::1/64
	route_add client default 10.201.0.1
	route_add client default fd00:201::1
	forwarding_on router
	sysctl_in router net.ipv4.fib_multipath_hash_policy=1 \
		net.ipv6.fib_multipath_hash_policy=1
	for ((j = 1; j <= k; j++)); do
		_tier_lb "$j"
	done
	i=0
	for t in "$@"; do
		i=$((i + 1))
		_tier_target "$k" "$i" "$t"
	done
	rp_filter_off router
	_tier_ecmp "$k"
}

# tier_addr4 K I / tier_addr6 K I: target I's address on its link to lbK.
tier_addr4()
{
	echo "10.21$1.$2.2"
}

tier_addr6()
{
	echo "fd00:21$1:$2::2"
}

_tier_lb()
{
	ns_add "lb$1"
	veth_add router "l$1" "lb$1" r0
	addr_add router "l$1" "10.201.1$1.1/24" "fd00:201:1$1::1/64"
	addr_add "lb$1" r0 "10.201.1$1.2/24" "fd00:201:1$1::2/64"
	route_add "lb$1" default "10.201.1$1.1"
	route_add "lb$1" default "fd00:201:1$1::1"
	forwarding_on "lb$1"
}

# _tier_target K I NAME: target I linked to lb1..lbK and to router.
_tier_target()
{
	local j

	ns_add "$3"
	veth_add router "t$2" "$3" r0
	addr_add router "t$2" "10.220.$2.1/24" "fd00:220:$2::1/64"
	addr_add "$3" r0 "10.220.$2.2/24" "fd00:220:$2::2/64"
	route_add "$3" default "10.220.$2.1"
	route_add "$3" default "fd00:220:$2::1"
	for ((j = 1; j <= $1; j++)); do
		veth_add "lb$j" "t$2" "$3" "l$j"
		addr_add "lb$j" "t$2" "10.21$j.$2.1/24" "fd00:21$j:$2::1/64"
		addr_add "$3" "l$j" "$(tier_addr4 "$j" "$2")/24" \
			"$(tier_addr6 "$j" "$2")/64"
		rp_filter_off "lb$j"
	done
	vip_on_lo "$3"
	rp_filter_off "$3"
	echo_vip "$3" "$3"
}

# _tier_ecmp K: router's routes to the VIP over lb1..lbK.
_tier_ecmp()
{
	local j hops4=() hops6=()

	for ((j = 1; j <= $1; j++)); do
		hops4+=(nexthop via "10.201.1$j.2" dev "l$j")
		hops6+=(nexthop via "fd00:201:1$j::2" dev "l$j")
	done
	nsx router ip route add "$VIP4/32" "${hops4[@]}" &&
	nsx router ip -6 route add "$VIP6/128" "${hops6[@]}" ||
		fail "cannot add the ECMP routes to the VIP in router"
}

# ---------------------------------------------------------------- robustness

# vip_on_lb: give lb the VIPs on lo and an nfqlb-echo named "lb" on port
# 80, so that a packet nfqlb did not mark (fail-open, --queue-bypass) is
# not DNATed and is answered by "lb" instead of a target.  Call after
# topo_nat.
vip_on_lb()
{
	ip -n "${NS_PREFIX}lb" addr add "$VIP4/32" dev lo || fail "VIP on lb"
	ip -n "${NS_PREFIX}lb" -6 addr add "$VIP6/128" dev lo nodad || fail "VIP6 on lb"
	# Bound to the VIPs, so that UDP answers come from them.
	start_bg lb "$TOOLS/nfqlb-echo" -4 -a "$VIP4" -p 80 -n lb
	start_bg lb "$TOOLS/nfqlb-echo" -6 -a "$VIP6" -p 80 -n lb
	# Not asked through the VIP: lb's own packets to it pass PREROUTING,
	# and the queue.
	wait_for _vip_listens || fail "the echo on lb does not listen on the VIPs"
}

_vip_listens()
{
	local l

	l=$(nsx lb ss -Hlntu)
	echo "$l" | grep -q "$VIP4:80 " && echo "$l" | grep -q "\[$VIP6\]:80 " &&
		[ "$(echo "$l" | grep -c ":80 ")" -ge 4 ]
}

# lb_mac: the MAC address of lb's interface towards the client.
lb_mac()
{
	ip -n "${NS_PREFIX}lb" -br link show c0 | awk '{ print $3 }'
}

# inject FAM ARGS...: nfqlb-inject from the client to the VIP of family
# FAM (4 or 6), from CPU 0 so that frames are handled in the order sent.
# The source is the client's address, or $INJECT_SRC4 / $INJECT_SRC6.
inject()
{
	local fam=$1 src=${INJECT_SRC4:-10.200.0.2} dst=$VIP4

	shift
	[ "$fam" = 6 ] && src=${INJECT_SRC6:-fd00:200::2} dst=$VIP6
	nsx client taskset -c 0 "$TOOLS/nfqlb-inject" -i eth0 -m "$(lb_mac)" \
		-s "$src" -d "$dst" "$@" >/dev/null ||
		fail "nfqlb-inject $* (IPv$fam) failed"
}

# proc_queue Q COLUMN: a column of queue Q's row in lb's
# /proc/net/netfilter/nfnetlink_queue (3 waiting, 6 queue dropped, 7 user
# dropped); empty while nobody is bound to Q.
proc_queue()
{
	nsx lb awk -v q="$1" -v c="$2" '$1 == q { print $c }' \
		/proc/net/netfilter/nfnetlink_queue
}

# stats_queue Q KEY: KEY ("packets", "waiting", "queue_dropped",
# "user_dropped") of queue Q in `nfqlb stats --json`.
stats_queue()
{
	"$NFQLB" stats --json | grep -o "{\"queue\":$1,[^}]*}" | json_num "$2"
}

# ---------------------------------------------------------------- checks

# expect_spread WHAT OUTPUT RC WANT...: nfqlb-conn's OUTPUT and exit code
# RC show no failure, and each target in WANT got connections ("t2=0"
# means t2 must get none).  WHAT names the traffic in failure messages.
expect_spread()
{
	local what=$1 out=$2 rc=$3 w name n

	shift 3
	if [ "$rc" != 0 ] || [ "$(conn_count "$out" failed)" -ne 0 ]; then
		fail "$what: nfqlb-conn failed (exit $rc): $(echo "$out" | tr '\n' ' ')"
	fi
	for w in "$@"; do
		name=${w%=0}
		n=$(conn_count "$out" "$name")
		if [ "$w" != "$name" ]; then
			[ "$n" -eq 0 ] || fail "$what: $name got $n connections, want 0"
		else
			[ "$n" -gt 0 ] || fail "$what: $name got no connections:" \
				"$(echo "$out" | tr '\n' ' ')"
		fi
	done
}

# spread_all VIP PROTO COUNT: COUNT exchanges from the client with VIP:80
# over PROTO (tcp or udp), all answered, some by each of t1..t3 and none by
# "lb" (which answers only what went unmarked, see vip_on_lb).
spread_all()
{
	local flag="" out

	[ "$2" = udp ] && flag=-u
	out=$(conn client -c "$3" -t 1000 $flag "$1" 80)
	expect_spread "$2 to $1" "$out" $? t1 t2 t3 lb=0
}

# hold_queued VIP MIN MAX: 10 connections from the client to VIP:80, held
# 2 s, all work, and queue 0's worker classified between MIN and MAX
# packets meanwhile.  HELD_Q is how many.
hold_queued()
{
	local q0 out

	q0=$(queue_packets 0)
	out=$(conn client -c 10 -k 2 -t 1000 "$1" 80) ||
		fail "held connections to $1 failed: $(echo "$out" | tr '\n' ' ')"
	HELD_Q=$(( $(queue_packets 0) - q0 ))
	info "$1: 10 held connections, $HELD_Q packets queued"
	[ "$HELD_Q" -ge "$2" ] && [ "$HELD_Q" -le "$3" ] ||
		fail "$1: $HELD_Q packets queued for 10 held connections, want $2..$3"
}

# one_error LABEL CMD end|in REASON COMMAND...: COMMAND exits 1, prints
# nothing on stdout and exactly one line on stderr, "nfqlb: CMD: ..." that
# ends in (end) or contains (in) REASON.  Fails the test with LABEL if not.
one_error()
{
	local label=$1 cmd=$2 how=$3 reason=$4 out rc err

	shift 4
	out=$("$@" 2>"$LOGDIR/err")
	rc=$?
	err=$(cat "$LOGDIR/err")
	[ "$rc" -eq 1 ] || fail "$label: '$*' exited $rc, want 1 ($err)"
	[ -z "$out" ] || fail "$label: '$*' printed on stdout: $out"
	[ "$(wc -l <"$LOGDIR/err")" -eq 1 ] || fail "$label: '$*' stderr is not one line: $err"
	case $how:$err in
	"end:nfqlb: $cmd: "*"$reason") ;;
	"in:nfqlb: $cmd: "*"$reason"*) ;;
	*) fail "$label: '$*': \"$err\" is not \"nfqlb: $cmd: ...$reason\" ($how)" ;;
	esac
}

# ---------------------------------------------------------------- loopback queue

# topo_loopback MARK...: the worker alone in namespace "lb": UDP to port
# 9999 (on lo: 127.0.0.1, or any 127/8 address) goes through NFQUEUE 0 on
# OUTPUT (or, with LO_NFQUEUE set, through that NFQUEUE target's options),
# and one OUTPUT rule per MARK counts the packets that leave with it.  The kernel queues a datagram
# before send() returns, so callers wait_for lo_marked_is.
topo_loopback()
{
	local m

	ns_add lb
	# shellcheck disable=SC2086 # LO_NFQUEUE holds options
	nsx lb iptables -t mangle -A OUTPUT -p udp --dport 9999 \
		-j NFQUEUE ${LO_NFQUEUE:---queue-num 0} || fail "iptables"
	for m in "$@"; do
		nsx lb iptables -A OUTPUT -p udp --dport 9999 -m mark --mark "$m" ||
			fail "iptables"
	done
}

# lo_send N [DST]: N datagrams to DST:9999 (default 127.0.0.1), each from a
# new source port.
lo_send()
{
	nsx lb timeout 30 bash -c \
		'for ((i = 0; i < $1; i++)); do echo x >"/dev/udp/$2/9999"; done' \
		_ "$1" "${2:-127.0.0.1}" 2>/dev/null
}

# lo_marked M...: packets that left marked with any of M... so far.
lo_marked()
{
	local hex="" m

	for m in "$@"; do
		hex="$hex $(printf '0x%x' "$m")"
	done
	nsx lb iptables -nvxL OUTPUT | awk -v want="$hex " '
		/mark match/ && index(want, " " $NF " ") { sum += $1 }
		END { print sum + 0 }'
}

# lo_marked_is N M...: exactly N packets so far carry one of the marks M...
lo_marked_is()
{
	local n=$1

	shift
	[ "$(lo_marked "$@")" -eq "$n" ]
}
