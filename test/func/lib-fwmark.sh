# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash disable=SC2034  # a library: its globals are read by the scripts that source it
# lib-fwmark.sh: routing by fwmark on the star topology (lib-star.sh): the
# targets hold the VIP, lb routes each mark to its target, and the helpers
# that follow traffic lb forwards.
# Sourced by lib.sh; tests source lib.sh only.

# ---------------------------------------------------------------- routing by fwmark

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
# (target_addr4/6): fwmark_route for each pair.  Target I's name
# (topo_fwmark's I-th T) becomes ID's for the checks of lib-predict.sh.
fwmark_routes()
{
	local n=$1 pair id i

	shift
	for pair in "$@"; do
		id=${pair%%:*}
		i=${pair#*:}
		target_names "$id:${STAR_NAMES[i - 1]}"
		fwmark_route "$n" "$id" "$(target_addr4 "$i")" "$(target_addr6 "$i")"
	done
}

# rules_in NS FAM RULES_OPTION...: `nfqlb rules RULES_OPTION...` into NS's
# firewall as docs/deployment.md says, FAMtables-save | nfqlb rules | FAMtables-restore
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

# ---------------------------------------------------------------- traffic lb forwards

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

# queue_hits NS: packets NS's NFQUEUE rules (mangle, IPv4 + IPv6) took,
# whether a worker was there to take them or not.
queue_hits()
{
	{
		nsx "$1" iptables-save -c -t mangle
		nsx "$1" ip6tables-save -c -t mangle
	} | sed -n 's/^\[\([0-9]*\):.* -j NFQUEUE.*/\1/p' |
		awk '{ s += $1 } END { print s + 0 }'
}

# queue_hits_over NS N: NS's NFQUEUE rules took more than N packets.
queue_hits_over()
{
	[ "$(queue_hits "$1")" -gt "$2" ]
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

# ---------------------------------------------------------------- ICMP errors

# icmp_in NS 4|6: the ICMP errors of icmp_error's kind NS received so far.
icmp_in()
{
	if [ "$2" = 4 ]; then
		nsx "$1" cat /proc/net/snmp | awk '$1 == "Icmp:" {
			if (!n) { for (i = 2; i <= NF; i++) col[$i] = i; n = 1 }
			else print $col["InDestUnreachs"] }'
	else
		nsx "$1" cat /proc/net/snmp6 | awk '$1 == "Icmp6InPktTooBigs" { print $2 }'
	fi
}

# icmp_in_is NS FAM N
icmp_in_is()
{
	[ "$(icmp_in "$1" "$2")" -eq "$3" ]
}

# icmp_error VIP FAM SPORT WANT: one UDP flow from the client's SPORT to
# VIP:80 and then, by nfqlb-icmperr, an ICMP "fragmentation needed" (FAM 4)
# or "packet too big" (FAM 6) addressed to VIP about the target's answer;
# the flow must be answered by WANT, its predicted target, and the error
# must reach WANT and no other of the star's targets.
icmp_error()
{
	local t out name port before=() i=0

	for t in "${STAR_NAMES[@]}"; do
		before+=("$(icmp_in "$t" "$2")")
	done
	out=$(nsx client timeout 10 "$TOOLS/nfqlb-icmperr" -P "$3" "$1" 80) ||
		fail "nfqlb-icmperr -P $3 $1 80 failed: $out"
	read -r name port <<<"$out"
	[ "$name" = "$4" ] && [ "$port" = "$3" ] ||
		fail "the flow $1:80 <- client:$3 was answered by $name from port" \
			"$port; the model predicts $4"
	for t in "${STAR_NAMES[@]}"; do
		if [ "$t" = "$name" ]; then
			wait_for icmp_in_is "$t" "$2" $((before[i] + 1)) ||
				fail "the error about $1:80 <- client:$port did not" \
					"reach its target $t"
		fi
		i=$((i + 1))
	done
	i=0
	for t in "${STAR_NAMES[@]}"; do
		[ "$t" = "$name" ] || icmp_in_is "$t" "$2" "${before[i]}" ||
			fail "the error about $1:80 <- client:$port (target" \
				"$name) reached $t too"
		i=$((i + 1))
	done
}

# icmp_errors K WHAT: for each family, K new flows per active target (from
# ports the reference model predicts) and an error about each (icmp_error);
# says "WHAT IPv4 ICMP errors reached ...".  ICMP_SENT counts the errors.
icmp_errors()
{
	local fam vip names f port name flows

	ICMP_SENT=0
	for fam in 4 6; do
		vip=$VIP4
		[ $fam = 6 ] && vip=$VIP6
		predict "$(client_addr "$vip")" "$vip" udp 80 "$1"
		names=""
		mapfile -t flows <<<"${PRED_WANT%$'\n'}"
		for f in "${flows[@]}"; do
			read -r _ port name <<<"$f"
			icmp_error "$vip" $fam "$port" "$name"
			names="$names $name"
			ICMP_SENT=$((ICMP_SENT + 1))
		done
		info "${2}IPv$fam ICMP errors reached their flows' targets:$names"
	done
}
