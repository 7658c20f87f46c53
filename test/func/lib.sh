# shellcheck shell=bash
# lib.sh: shared helpers for the function tests (bash).  Source it first:
#
#	. "$(dirname "$0")/lib.sh"
#	need_root
#
# Every name this run makes carries a unique prefix: namespaces are
# $NS_PREFIX<short name> and the table is /dev/shm/$NFQLB_SHM, so two runs,
# or a test and a real load balancer, never meet.  Helpers take the short
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
	rm -f "/dev/shm/$NFQLB_SHM"
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

	ns_add client lb "$@"
	veth_add client eth0 lb c0
	addr_add client eth0 10.200.0.2/24 fd00:200::2/64
	addr_add lb c0 10.200.0.1/24 fd00:200::1/64
	route_add client default 10.200.0.1
	route_add client default fd00:200::1
	forwarding_on lb
	for t in "$@"; do
		i=$((i + 1))
		veth_add lb "t$i" "$t" eth0
		addr_add lb "t$i" "10.200.$i.1/24" "fd00:200:$i::1/64"
		addr_add "$t" eth0 "10.200.$i.2/24" "fd00:200:$i::2/64"
		route_add "$t" default "10.200.$i.1"
		route_add "$t" default "fd00:200:$i::1"
		start_bg "$t" "$TOOLS/nfqlb-echo" -p 80 -n "$t"
	done
	i=0
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
