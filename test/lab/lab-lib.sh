# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
# lab-lib.sh: the nfqlb lab, a topology of network namespaces with clients,
# an optional ECMP router, a tier of load balancers and N targets.  Source
# test/func/lib.sh first (namespaces, processes, cleanup trap), then this:
#
#	. test/func/lib.sh; . test/lab/lab-lib.sh
#	LAB_MODE=dsr LAB_N=10 lab_up
#
# test/lab/lab.sh is the command-line front end; test/demo.sh,
# test/scale/scale.sh and test/func/t-scale-smoke.sh use the functions.
#
#   c1..cC --- [rt] ===ECMP=== lb1..lbK --- sw (bridge) --- t1..tN
#                 \__________________________/
#                  (rt's back link: DSR return path)
#
# Every namespace is $NS_PREFIX<name>; lib.sh's trap removes them, the
# processes started here and the table /dev/shm/$NFQLB_SHM on exit.  All
# load balancers share that one table: they run on one host, so they make
# the same choice for a packet, as a tier with identical tables does.
#
# Modes (LAB_MODE):
#   nat  lb DNATs each mark to its target (`nfqlb rules --nat`); targets
#        route back through lb1 (with K > 1, each lb also SNATs so replies
#        return to the lb that holds the connection).
#   dsr  targets hold the VIP on lo (arp_ignore=1, arp_announce=2); each lb
#        routes by fwmark to the target (`nfqlb route add ID via ADDR`).
#        Replies take LAB_RETURN: "direct" (via rt, past the load
#        balancers: direct server return) or "lb" (back through lb1).
#   LAB_SYN=1 adds SYN-only mode (`nfqlb rules --syn-only`) to either:
#        only each connection's first packets are queued; conntrack keeps
#        the mark of the others.  It works with direct return too, where
#        the load balancer sees one direction only: the rules leave the SYN
#        untracked, and conntrack picks the flow up from its first ACK.
#
# Addresses: client I 10.1.I.2 / fd00:1:I::2; rt-lbJ link 10.2.J.0/24
# (rt .1, lbJ .2); the back segment 10.3.0.0/16 / fd00:3::/64 with lbJ at
# 10.3.0.J, rt at 10.3.0.254, target I at 10.3.1.I / fd00:3::1:I.  Target I
# has id (fwmark) I.  The VIP is $LAB_VIP4 / $LAB_VIP6, port $LAB_PORT.

LAB_N=${LAB_N:-10}		# targets
LAB_K=${LAB_K:-1}		# load balancers
LAB_C=${LAB_C:-1}		# client namespaces
LAB_MODE=${LAB_MODE:-nat}	# nat | dsr
LAB_SYN=${LAB_SYN:-0}		# 1: SYN-only
LAB_ROUTER=${LAB_ROUTER:-}	# 1: rt in front (default: when K > 1)
LAB_RETURN=${LAB_RETURN:-}	# dsr replies: direct | lb
LAB_M=${LAB_M:-997}		# table size (a prime)
LAB_VIP4=10.100.0.1
LAB_VIP6=fd00:100::1
LAB_PORT=80

# shellcheck disable=SC2034	# for the scripts that source this file
LAB_LB_PIDS=()		# LAB_LB_PIDS[J]: lbJ's worker
LAB_ECHO_PIDS=()	# LAB_ECHO_PIDS[I]: target I's echo server

# ---------------------------------------------------------------- names

lab_target_addr4() { echo "10.3.1.$1"; }
lab_target_addr6() { echo "fd00:3::1:$1"; }
lab_client_addr4() { echo "10.1.$1.2"; }
lab_client_addr6() { echo "fd00:1:$1::2"; }

# lab_front: the namespace the clients attach to.
lab_front()
{
	if [ "$LAB_ROUTER" = 1 ]; then echo rt; else echo lb1; fi
}

# lab_lbs: the load balancers' short names.
lab_lbs()
{
	local j

	for ((j = 1; j <= LAB_K; j++)); do
		echo "lb$j"
	done
}

# ---------------------------------------------------------------- config

# lab_config: fill in the defaults and refuse combinations that cannot work.
lab_config()
{
	[ -n "$LAB_ROUTER" ] || { [ "$LAB_K" -gt 1 ] && LAB_ROUTER=1 || LAB_ROUTER=0; }
	if [ -z "$LAB_RETURN" ]; then
		LAB_RETURN=lb
		[ "$LAB_MODE" = dsr ] && [ "$LAB_ROUTER" = 1 ] && LAB_RETURN=direct
	fi
	case $LAB_MODE in nat | dsr) ;; *) fail "LAB_MODE must be nat or dsr" ;; esac
	case $LAB_RETURN in lb | direct) ;; *) fail "LAB_RETURN must be lb or direct" ;; esac
	{ [ "$LAB_N" -ge 1 ] && [ "$LAB_N" -le 250 ]; } || fail "LAB_N must be 1..250"
	{ [ "$LAB_K" -ge 1 ] && [ "$LAB_K" -le 8 ]; } || fail "LAB_K must be 1..8"
	{ [ "$LAB_C" -ge 1 ] && [ "$LAB_C" -le 8 ]; } || fail "LAB_C must be 1..8"
	[ "$LAB_K" -eq 1 ] || [ "$LAB_ROUTER" = 1 ] ||
		fail "more than one load balancer needs the router (LAB_ROUTER=1)"
	[ "$LAB_RETURN" = lb ] || [ "$LAB_ROUTER" = 1 ] ||
		fail "LAB_RETURN=direct needs the router (LAB_ROUTER=1)"
	[ "$LAB_MODE" = dsr ] || [ "$LAB_RETURN" = lb ] ||
		fail "NAT replies must return through the load balancer"
}

# ---------------------------------------------------------------- build

# lab_sysctl NS KEY=VALUE...: sysctls inside NS, failing loudly.
lab_sysctl()
{
	local n=$1

	shift
	nsx "$n" sysctl -qw "$@" >/dev/null || fail "sysctl $* in $n"
}

# lab_router_off NS: a forwarding namespace that lets asymmetric paths
# through (rp_filter off before any interface exists).
lab_forwarder()
{
	lab_sysctl "$1" net.ipv4.conf.all.rp_filter=0 \
		net.ipv4.conf.default.rp_filter=0
	forwarding_on "$1"
}

lab_build_clients()
{
	local i front

	front=$(lab_front)
	for ((i = 1; i <= LAB_C; i++)); do
		ns_add "c$i"
		veth_add "c$i" eth0 "$front" "c$i"
		addr_add "c$i" eth0 "10.1.$i.2/24" "fd00:1:$i::2/64"
		addr_add "$front" "c$i" "10.1.$i.1/24" "fd00:1:$i::1/64"
		route_add "c$i" default "10.1.$i.1"
		route_add "c$i" default "fd00:1:$i::1"
	done
}

# lab_build_router: rt forwards the VIP to the load balancers over ECMP,
# hashing on the 5-tuple (fib_multipath_hash_policy=1).
lab_build_router()
{
	local j hops4="" hops6=""

	for ((j = 1; j <= LAB_K; j++)); do
		veth_add rt "lb$j" "lb$j" front
		addr_add rt "lb$j" "10.2.$j.1/24" "fd00:2:$j::1/64"
		addr_add "lb$j" front "10.2.$j.2/24" "fd00:2:$j::2/64"
		route_add "lb$j" default "10.2.$j.1"
		route_add "lb$j" default "fd00:2:$j::1"
		hops4+=" nexthop via 10.2.$j.2 dev lb$j"
		hops6+=" nexthop via fd00:2:$j::2 dev lb$j"
	done
	lab_sysctl rt net.ipv4.fib_multipath_hash_policy=1 \
		net.ipv6.fib_multipath_hash_policy=1
	# shellcheck disable=SC2086
	{ ip -n "$(ns rt)" route add "$LAB_VIP4/32" $hops4 &&
		ip -n "$(ns rt)" -6 route add "$LAB_VIP6/128" $hops6; } ||
		fail "cannot add the ECMP routes to the VIP in rt"
	veth_add rt back sw rt
	addr_add rt back 10.3.0.254/16 fd00:3::fe/64
}

# lab_build_switch: the back segment, a bridge that only bridges (the
# built-in br_netfilter would otherwise pass its frames through iptables).
lab_build_switch()
{
	local j

	ip -n "$(ns sw)" link add br0 type bridge || fail "cannot add br0"
	ip -n "$(ns sw)" link set br0 up
	lab_sysctl sw net.bridge.bridge-nf-call-iptables=0 \
		net.bridge.bridge-nf-call-ip6tables=0 \
		net.bridge.bridge-nf-call-arptables=0
	for ((j = 1; j <= LAB_K; j++)); do
		veth_add "lb$j" back sw "lb$j"
		addr_add "lb$j" back "10.3.0.$j/16" "fd00:3::$j/64"
		# Unmarked packets to the VIP go nowhere, not back out.
		ip -n "$(ns "lb$j")" route add blackhole "$LAB_VIP4/32"
		ip -n "$(ns "lb$j")" -6 route add blackhole "$LAB_VIP6/128"
	done
}

# lab_build_target I: target I on the back segment, replies via LAB_RETURN;
# in DSR mode it holds the VIP on lo and does not answer ARP for it.
lab_build_target()
{
	local i=$1 gw4=10.3.0.1 gw6=fd00:3::1

	[ "$LAB_RETURN" = direct ] && { gw4=10.3.0.254; gw6=fd00:3::fe; }
	ns_add "t$i"
	veth_add "t$i" eth0 sw "t$i"
	addr_add "t$i" eth0 "10.3.1.$i/16" "fd00:3::1:$i/64"
	route_add "t$i" default "$gw4"
	route_add "t$i" default "$gw6"
	[ "$LAB_MODE" = dsr ] || return 0
	lab_sysctl "t$i" net.ipv4.conf.all.arp_ignore=1 \
		net.ipv4.conf.all.arp_announce=2 \
		net.ipv4.conf.eth0.arp_ignore=1 net.ipv4.conf.eth0.arp_announce=2
	addr_add "t$i" lo "$LAB_VIP4/32" "$LAB_VIP6/128"
}

# lab_bridge_ports: every port of sw up and on br0.
lab_bridge_ports()
{
	local p

	for p in $(ip -n "$(ns sw)" -o link show | awk -F': ' '{ print $2 }' |
		cut -d@ -f1); do
		case $p in lo | br0) continue ;; esac
		ip -n "$(ns sw)" link set "$p" master br0 up ||
			fail "cannot put $p on br0"
	done
}

# lab_echo_start I: target I's echo server, answering with "tI".
lab_echo_start()
{
	local i=$1 bind=()

	[ "$LAB_MODE" = dsr ] && bind=(-a "$LAB_VIP4" -a "$LAB_VIP6")
	start_bg "t$i" "$TOOLS/nfqlb-echo" -p "$LAB_PORT" -n "t$i" "${bind[@]}"
	LAB_ECHO_PIDS[i]=$BG_PID
	wait_for nsx "t$i" "$TOOLS/nfqlb-conn" -c 1 -t 200 \
		"$(lab_probe_addr "$i")" "$LAB_PORT" ||
		fail "target t$i's echo server does not answer"
}

lab_probe_addr()
{
	if [ "$LAB_MODE" = dsr ]; then echo "$LAB_VIP4"; else lab_target_addr4 "$1"; fi
}

# lab_stop PID: stop a process started by start_bg and forget it, so the
# cleanup never signals its number again once the system reuses it.
lab_stop()
{
	local i

	stop_pid "$1" "${2:-2}"
	for i in "${!_PIDS[@]}"; do
		[ "${_PIDS[$i]}" = "$1" ] && unset "_PIDS[$i]"
	done
	return 0
}

# lab_echo_stop I: stop target I's echo server (its connections end).
lab_echo_stop()
{
	local pid=${LAB_ECHO_PIDS[$1]:-}

	[ -n "$pid" ] || return 0
	lab_stop "$pid"
	LAB_ECHO_PIDS[$1]=""
}

# lab_up: build the whole topology, targets answering; no nfqlb yet.
lab_up()
{
	local j i

	lab_config
	ns_add sw
	for ((j = 1; j <= LAB_K; j++)); do
		ns_add "lb$j"
		lab_forwarder "lb$j"
	done
	if [ "$LAB_ROUTER" = 1 ]; then
		ns_add rt
		lab_forwarder rt
		lab_build_router
	fi
	lab_build_clients
	lab_build_switch
	for ((i = 1; i <= LAB_N; i++)); do
		lab_build_target "$i"
	done
	lab_bridge_ports
	for ((i = 1; i <= LAB_N; i++)); do
		lab_echo_start "$i"
	done
}

# ---------------------------------------------------------------- nfqlb

# lab_rules_args FAMILY: the `nfqlb rules` arguments for this lab.
lab_rules_args()
{
	local fam=$1 i vip=$LAB_VIP4 addr

	[ "$fam" = 6 ] && vip=$LAB_VIP6
	printf '%s\n' --vip "$vip" --queue 0
	[ "$LAB_SYN" = 1 ] && printf '%s\n' --syn-only
	[ "$LAB_MODE" = nat ] || return 0
	for ((i = 1; i <= LAB_N; i++)); do
		addr=$(lab_target_addr4 "$i")
		[ "$fam" = 6 ] && addr=$(lab_target_addr6 "$i")
		printf '%s\n' --nat "$i=$addr"
	done
}

# lab_rules LB: load `nfqlb rules` output for both VIPs into LB's firewall.
# In NAT mode with several load balancers each also SNATs to its own back
# address, so a target's reply comes back to the lb that holds the state.
lab_rules()
{
	local lb=$1 fam args

	for fam in 4 6; do
		mapfile -t args < <(lab_rules_args "$fam")
		nsx "$lb" "$(lab_ipt "$fam")-save" >"$LOGDIR/saved$fam.txt" ||
			fail "$lb: $(lab_ipt "$fam")-save failed"
		"$NFQLB" rules "${args[@]}" <"$LOGDIR/saved$fam.txt" >"$LOGDIR/rules$fam.txt" ||
			fail "nfqlb rules ${args[*]} failed"
		nsx "$lb" "$(lab_ipt "$fam")-restore" --noflush \
			<"$LOGDIR/rules$fam.txt" ||
			fail "$lb: $(lab_ipt "$fam")-restore refused nfqlb rules"
	done
	[ "$LAB_MODE" = nat ] && [ "$LAB_K" -gt 1 ] || return 0
	{ nsx "$lb" iptables -t nat -A POSTROUTING -o back -j MASQUERADE &&
		nsx "$lb" ip6tables -t nat -A POSTROUTING -o back -j MASQUERADE; } ||
		fail "$lb: cannot add SNAT"
}

lab_ipt()
{
	if [ "$1" = 6 ]; then echo ip6tables; else echo iptables; fi
}

# lab_flush_rules LB: remove every rule and chain from LB's firewall.
lab_flush_rules()
{
	local ipt t

	for ipt in iptables ip6tables; do
		for t in raw mangle nat filter; do
			{ nsx "$1" "$ipt" -t "$t" -F &&
				nsx "$1" "$ipt" -t "$t" -X; } ||
				fail "$1: cannot flush $ipt -t $t"
		done
	done
}

# lab_routes LB: in DSR mode, fwmark I routes to target I (`nfqlb route`).
lab_routes()
{
	local lb=$1 i

	[ "$LAB_MODE" = dsr ] || return 0
	for ((i = 1; i <= LAB_N; i++)); do
		{ nsx "$lb" "$NFQLB" route add "$i" via "$(lab_target_addr4 "$i")" &&
			nsx "$lb" "$NFQLB" route add "$i" via \
				"$(lab_target_addr6 "$i")"; } ||
			fail "$lb: nfqlb route add $i failed"
	done
}

# lab_table IDS...: a fresh table with these targets active.
lab_table()
{
	"$NFQLB" init --force --empty --M "$LAB_M" >/dev/null ||
		fail "nfqlb init failed"
	[ $# -eq 0 ] || "$NFQLB" activate "$@" || fail "nfqlb activate $* failed"
}

# lab_lb_start J: lbJ's worker on queue 0.
lab_lb_start()
{
	start_bg "lb$1" "$NFQLB" lb --queue 0
	# shellcheck disable=SC2034
	LAB_LB_PIDS[$1]=$BG_PID
	wait_for lb_ready || fail "lb$1's worker did not start"
}

# lab_probe [CLIENT]: one exchange from client CLIENT (default 1) to the VIP.
lab_probe()
{
	timeout 5 ip netns exec "$(ns "c${1:-1}")" "$TOOLS/nfqlb-conn" \
		-c 1 -t 250 "$LAB_VIP4" "$LAB_PORT" >/dev/null 2>&1
}

# lab_start [IDS...]: table with IDS (default all targets), rules, routes
# and a worker in every load balancer; returns once the VIP answers.
lab_start()
{
	local lb j

	if [ $# -eq 0 ]; then
		lab_table $(seq 1 "$LAB_N")
	else
		lab_table "$@"
	fi
	for lb in $(lab_lbs); do
		lab_routes "$lb"
		lab_rules "$lb"
	done
	for ((j = 1; j <= LAB_K; j++)); do
		lab_lb_start "$j"
	done
	wait_for -n 50 -i 0.2 lab_probe || fail "the VIP does not answer"
}

# lab_describe: what was built, for people.
lab_describe()
{
	local ret="through lb1"

	[ "$LAB_RETURN" = direct ] && ret="direct, via rt"
	echo "lab: $LAB_C client(s), $([ "$LAB_ROUTER" = 1 ] && echo "ECMP router, ")$LAB_K load balancer(s), $LAB_N targets"
	echo "     mode $LAB_MODE$([ "$LAB_SYN" = 1 ] && echo ", SYN-only"), replies $ret"
	echo "     VIP $LAB_VIP4 and [$LAB_VIP6], port $LAB_PORT (tcp, udp)"
	echo "     namespaces ${NS_PREFIX}*, table /dev/shm/$NFQLB_SHM"
}

# ---------------------------------------------------------------- traffic

# lab_conn CLIENT ARGS...: nfqlb-conn ARGS in client CLIENT (1, 2, ...),
# bounded by LAB_CONN_TIMEOUT seconds (default 60).
lab_conn()
{
	local c=$1

	shift
	timeout "${LAB_CONN_TIMEOUT:-60}" ip netns exec "$(ns "c$c")" \
		"$TOOLS/nfqlb-conn" "$@"
}

# lab_bars: nfqlb-conn's "NAME COUNT" lines on stdin drawn as bars, one
# '#' per SCALE connections (default 2); the other lines as they are.
lab_bars()
{
	awk -v s="${1:-2}" '
		$1 ~ /^t[0-9]+$/ {
			b = ""; for (i = 0; i < $2 / s; i++) b = b "#"
			printf "    %-8s %5d  %s\n", $1, $2, b; next
		}
		$1 == "failed" && $2 > 0 { printf "    %-8s %5d\n", $1, $2 }'
}

# lab_spread COUNT ADDR [ARGS...]: COUNT short connections from client 1 to
# ADDR, drawn per target.
lab_spread()
{
	local count=$1 addr=$2

	shift 2
	lab_conn 1 -c "$count" -t 1000 "$@" "$addr" "$LAB_PORT" 2>/dev/null |
		lab_bars $(( (count / LAB_N + 19) / 20 ))
}
