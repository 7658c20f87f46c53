#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t-flows: two services on one worker, each with its own targets.
#
#	client --- lb --- t1, t2, t3	(routing by fwmark; the targets hold the VIP)
#
# The flow set has "web" (TCP 80 to the VIPs, table web: 101 102), "dns"
# (UDP 53 to the VIPs, table dns: 103) and "other" (UDP 80 from networks
# the client is not on); one `nfqlb lb --flows` serves them, and `nfqlb
# rules --flows` queues what they match.  Checks, IPv4 and IPv6:
#   - rules --flows applied twice leaves the firewall as once, and
#     --delete restores it;
#   - TCP 80 is answered by t1 and t2 only, UDP 53 by t3 only;
#   - an ICMP "fragmentation needed" / "packet too big" about a UDP 53
#     answer, queued by the rules of --flows, reaches t3 and no other;
#   - `trace --flows` shows decisions of both flows, each to its own targets;
#   - UDP 80 matches no flow and gets --no-flow drop, counted as no-flow;
#   - `flow set dns --table web` (a replace, while traffic runs) moves UDP 53
#     to t1 and t2 within 2 s;
#   - with no active target in web, TCP 80 gets --no-target mark=0x999,
#     which a REJECT rule in lb's FORWARD chain turns into a refusal (lb
#     routes the VIP without a target's mark to t1: the REJECT must act);
#   - `flow delete dns` makes UDP 53 match no flow;
#   - `stats --flows --json` counts per flow packets, no-target packets,
#     its table's targets, and the no-flow packets.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

need_root
need_cmd ip iptables ip6tables timeout
need_bins

FLOWS="$NFQLB_SHM-flows"
WEB="$NFQLB_SHM-web"
DNS="$NFQLB_SHM-dns"
N=20

# answered_by NS PORT PROTO_OPT NAMES: N exchanges to each VIP on PORT are all
# answered, by the targets NAMES only (and each of NAMES answers some when
# it has more than... at least one answer in all).
answered_by()
{
	local port=$1 names=$3 out vip name total

	for vip in "$VIP4" "$VIP6"; do
		# shellcheck disable=SC2086 # $2 is an option or nothing
		out=$(conn client -c $N -t 500 $2 "$vip" "$port") || true
		total=0
		for name in t1 t2 t3; do
			n=$(conn_count "$out" "$name")
			total=$((total + n))
			case " $names " in
			*" $name "*) ;;
			*) [ "$n" -eq 0 ] || return 1 ;;
			esac
		done
		[ "$total" -eq "$N" ] || return 1
	done
}

# unanswered PORT PROTO_OPT: 3 exchanges to VIP4 on PORT get no answer.
unanswered()
{
	local out

	# shellcheck disable=SC2086
	out=$(conn client -c 3 -t 200 $2 "$VIP4" "$1" 2>/dev/null) || true
	[ "$(conn_count "$out" t1)$(conn_count "$out" t2)$(conn_count "$out" t3)" = "000" ]
}

# flowstat EXPR: a Python expression on the parsed `stats --flows --json` (j).
flowstat()
{
	"$NFQLB" stats --flows "$FLOWS" --json | json_py "$1"
}

info "topology: client, lb, t1..t3; echo on ports 80 and 53"
topo_fwmark t1 t2 t3
for t in t1 t2 t3; do
	echo_vip "$t" "$t" 53
done
fwmark_routes lb 101:1 102:2 103:3
# Without a mark of a target, the VIP's packets take the main table to t1,
# where the FORWARD rules below see the no-target mark and refuse them.
route_add lb "$VIP4" "$(target_addr4 1)"
route_add lb "$VIP6" "$(target_addr6 1)"
nsx lb iptables -A FORWARD -m mark --mark 0x999 -p tcp -j REJECT --reject-with tcp-reset ||
	fail "iptables REJECT"
nsx lb ip6tables -A FORWARD -m mark --mark 0x999 -p tcp -j REJECT --reject-with tcp-reset ||
	fail "ip6tables REJECT"

info "tables web (101 102) and dns (103); flows web (tcp 80) and dns (udp 53)"
"$NFQLB" init --shm "$WEB" && "$NFQLB" activate --shm "$WEB" 101 102 ||
	fail "table web"
"$NFQLB" init --shm "$DNS" && "$NFQLB" activate --shm "$DNS" 103 || fail "table dns"
"$NFQLB" flow set web --flows "$FLOWS" --table "$WEB" --prio 10 --proto tcp \
	--dst "$VIP4/32,$VIP6/128" --dport 80 || fail "flow set web"
"$NFQLB" flow set dns --flows "$FLOWS" --table "$DNS" --proto udp \
	--dst "$VIP4/32,$VIP6/128" --dport 53 || fail "flow set dns"
# UDP 80 from another network: its rules queue UDP 80 from the client too
# (rules leave sources to the worker), which then matches no flow.
"$NFQLB" flow set other --flows "$FLOWS" --table "$DNS" --proto udp \
	--src 192.0.2.0/24,2001:db8::/32 --dst "$VIP4/32,$VIP6/128" --dport 80 ||
	fail "flow set other"

info "rules --flows, IPv4 and IPv6: applying them again changes nothing"
for fam in ip ip6; do
	nsx lb "$fam"tables-save | grep -E '^(-A|:NFQLB)' >"$LOGDIR/before-$fam"
done
flows_rules()
{
	rules_in lb ip --flows "$FLOWS" "$@"
	rules_in lb ip6 --flows "$FLOWS" --family 6 "$@"
}
saved()
{
	nsx lb "$1"tables-save | grep -v '^#' | sed 's/\[[0-9]*:[0-9]*\]//'
}
flows_rules
grep -q -- "--dport 53" "$LOGDIR/rules-lb-ip.log" && grep -q -- "-p udp.*--dport 80" "$LOGDIR/rules-lb-ip6.log" ||
	fail "rules --flows: no rule for UDP 53 or UDP 80"
once4=$(saved ip) && once6=$(saved ip6)
flows_rules
[ "$(saved ip)" = "$once4" ] && [ "$(saved ip6)" = "$once6" ] ||
	fail "rules --flows applied twice differs from once"

lb_start lb --flows "$FLOWS" --no-flow drop --no-target mark=0x999

info "TCP 80 reaches t1 and t2 only; UDP 53 reaches t3 only"
answered_by 80 "" "t1 t2" || fail "TCP 80 was not answered by t1 and t2 only"
answered_by 53 -u "t3" || fail "UDP 53 was not answered by t3 only"

info "ICMP errors about UDP 53 (queued by rules --flows) reach dns's target"
for fam in 4 6; do
	vip=$VIP4
	[ $fam = 6 ] && vip=$VIP6
	before="$(icmp_in t1 $fam) $(icmp_in t2 $fam) $(icmp_in t3 $fam)"
	out=$(nsx client timeout 10 "$TOOLS/nfqlb-icmperr" -P $((33000 + fam)) "$vip" 53) ||
		fail "nfqlb-icmperr $vip 53 failed: $out"
	[ "${out%% *}" = t3 ] || fail "IPv$fam: UDP 53 was answered by ${out%% *}, not t3"
	read -r b1 b2 b3 <<<"$before"
	wait_for icmp_in_is t3 $fam $((b3 + 1)) ||
		fail "IPv$fam: the ICMP error about UDP 53 did not reach t3"
	icmp_in_is t1 $fam "$b1" && icmp_in_is t2 $fam "$b2" ||
		fail "IPv$fam: the ICMP error about UDP 53 reached another target"
done
[ "$(flowstat 'j["kinds"]["icmp-error"]')" -ge 2 ] || fail "stats --flows: no icmp-error counted"

info "trace --flows: each decision names its flow, and a target of its table"
timeout 30 "$NFQLB" trace --flows "$FLOWS" --count 20 --json >"$LOGDIR/trace.json" \
	2>"$LOGDIR/trace.err" &
tpid=$!
for ((i = 0; i < 100; i++)); do
	alive "$tpid" || break
	conn client -c 2 -t 300 "$VIP4" 80 >/dev/null 2>&1
	conn client -c 2 -t 300 -u "$VIP6" 53 >/dev/null 2>&1
done
wait "$tpid" || fail "trace --flows failed: $(cat "$LOGDIR/trace.err")"
"$PYTHON" -S -c '
import json, sys
want = {"web": {101, 102}, "dns": {103}}
seen = set()
for line in open(sys.argv[1]):
    d = json.loads(line)
    if d["flow"] not in want or d["target"] not in want[d["flow"]]:
        sys.exit("decision %s: not a target of its flow" % line.strip())
    seen.add(d["flow"])
if seen != set(want):
    sys.exit("trace saw the flows %s only" % sorted(seen))
' "$LOGDIR/trace.json" || fail "trace --flows"

info "UDP 80 matches no flow: dropped, counted"
unanswered 80 -u || fail "UDP 80 was answered, but no flow takes it"
[ "$(flowstat 'j["no_flow"]')" -ge 3 ] || fail "no-flow packets not counted"

info "flow set dns --table web: UDP 53 moves to t1 and t2"
"$NFQLB" flow set dns --flows "$FLOWS" --table "$WEB" --proto udp \
	--dst "$VIP4/32,$VIP6/128" --dport 53 || fail "flow set dns (replace)"
wait_for -n 20 answered_by 53 -u "t1 t2" || fail "UDP 53 did not move to web's targets"

info "no active target in web: TCP 80 gets mark=0x999, refused by the rules"
"$NFQLB" deactivate --shm "$WEB" 101 102 || fail "deactivate"
wait_for -n 20 unanswered 80 "" || fail "TCP 80 still answered without targets"
rejected=$(nsx lb iptables -nvxL FORWARD | awk '/REJECT/ { s += $1 } END { print s + 0 }')
[ "$rejected" -gt 0 ] || fail "no packet got the no-target mark 0x999"
[ "$(flowstat '[f["no_target"] for f in j["flows"] if f["name"] == "web"][0]')" -gt 0 ] ||
	fail "stats --flows: no no-target packets counted for web"
"$NFQLB" activate --shm "$WEB" 101 102 || fail "activate"

info "flow delete dns: UDP 53 matches no flow"
"$NFQLB" flow delete dns --flows "$FLOWS" || fail "flow delete dns"
wait_for -n 20 unanswered 53 -u || fail "UDP 53 still answered after flow delete"

info "rules --flows --delete restores the firewall"
flows_rules --delete
for fam in ip ip6; do
	[ "$(nsx lb "$fam"tables-save | grep -E '^(-A|:NFQLB)')" = "$(cat "$LOGDIR/before-$fam")" ] ||
		fail "rules --flows --delete left ${fam}tables' rules changed"
done

info "stats --flows --json"
[ "$(flowstat '[f["name"] for f in j["flows"]]')" = "other web" ] ||
	fail "stats --flows lists $(flowstat '[f["name"] for f in j["flows"]]')"
[ "$(flowstat '[f["packets"] for f in j["flows"] if f["name"] == "web"][0] >= 2 * '$N)" = true ] ||
	fail "stats --flows: web counted too few packets"
[ "$(flowstat 'sorted(t["id"] for t in j["flows"][1]["targets"] if t["packets"] > 0)')" = "101 102" ] ||
	fail "stats --flows: web's table counts $(flowstat 'j["flows"][1]["targets"]')"
alive "$LB_PID" || fail "the worker exited"
lb_stop TERM
pass
