#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t-route-share: `nfqlb route` never lets two ids share a routing table
# silently.
#   - add refuses a table that another id's rule (nfqlb's or not) looks up,
#     naming that id or the other rule's priority, and installs nothing;
#   - with a table shared anyway (a rule with proto 78 made by hand), del
#     of one id keeps the route the other still uses, and del of the last
#     removes it;
#   - show flags a rule whose table has no default route;
#   - a link-local gateway without "dev" is a usage error naming the need.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

need_root
need_cmd ip
[ -x "$NFQLB" ] || fail "$NFQLB is not built"

ns_add lb t
veth_add lb eth0 t eth0
addr_add lb eth0 10.9.0.1/24 fd00:9::1/64

# has_default TABLE: table TABLE of ns lb has an IPv4 default route.
has_default()
{
	nsx lb ip -4 route show table "$1" 2>/dev/null | grep -q '^default via 10\.9\.0\.'
}

info "a table another id uses is refused"
nsx lb "$NFQLB" route add 4294967295 via 10.9.0.2 --table 5000 || fail "route add 4294967295"
one_error shared route end \
	"id 5 via 10.9.0.3: table 5000 is already used by id 4294967295 (give another --table)" \
	nsx lb "$NFQLB" route add 5 via 10.9.0.3 --table 5000
nsx lb ip -4 rule show | grep -q 'fwmark 0x5 ' && fail "the refused add left a rule"
nsx lb ip -4 route show table 5000 | grep -q 10.9.0.3 && fail "the refused add left a route"
nsx lb ip rule add fwmark 8 lookup 6000 pref 2000 || fail "ip rule add"
one_error foreign route in \
	"table 6000 is already looked up by a rule that nfqlb did not install (priority 2000" \
	nsx lb "$NFQLB" route add 7 via 10.9.0.2 --table 6000
has_default 6000 && fail "the refused add left a route in table 6000"

info "a table shared by hand keeps its route until its last rule goes"
nsx lb ip rule add fwmark 5 lookup 5000 pref 1000 proto 78 || fail "ip rule add proto 78"
nsx lb "$NFQLB" route del 4294967295 || fail "route del 4294967295"
has_default 5000 || fail "route del 4294967295 took the route id 5 still uses"
show=$(nsx lb "$NFQLB" route show) || fail "route show"
[ "$show" = "ipv4 rule  1000: from all fwmark 0x5 lookup 5000 proto 78
ipv4 route default via 10.9.0.2 dev eth0 table 5000 proto 78" ] || fail "route show: $show"
nsx lb "$NFQLB" route del 5 || fail "route del 5"
has_default 5000 && fail "route del of the last user left the route"
show=$(nsx lb "$NFQLB" route show) || fail "route show"
[ -z "$show" ] || fail "route show after del: $show"

info "show flags a rule without its route"
nsx lb "$NFQLB" route add 1 via 10.9.0.2 || fail "route add 1"
nsx lb "$NFQLB" route add 2 via 10.9.0.3 || fail "route add 2"
nsx lb ip -4 route del default table 1002 || fail "ip route del"
show=$(nsx lb "$NFQLB" route show 2>"$LOGDIR/err") || fail "route show"
[ -s "$LOGDIR/err" ] && fail "route show wrote on stderr: $(cat "$LOGDIR/err")"
[ "$show" = "ipv4 rule  1000: from all fwmark 0x1 lookup 1001 proto 78
ipv4 rule  1000: from all fwmark 0x2 lookup 1002 proto 78 (no route: table 1002 has no default route, so these packets follow the main table)
ipv4 route default via 10.9.0.2 dev eth0 table 1001 proto 78" ] || fail "route show: $show"
nsx lb "$NFQLB" route add 2 via 10.9.0.3 || fail "route add 2 again"
show=$(nsx lb "$NFQLB" route show) || fail "route show"
echo "$show" | grep -q "no route" && fail "route show still flags: $show"

info "a link-local gateway needs its device"
err=$(nsx lb "$NFQLB" route add 9 via fe80::2 2>&1)
rc=$?
[ "$rc" -eq 2 ] || fail "link-local via without dev exited $rc: $err"
[ "$err" = 'nfqlb: route: via fe80::2 is link-local: give the device with "dev IFNAME"' ] ||
	fail "link-local via without dev said: $err"
nsx lb "$NFQLB" route add 9 via fe80::2 dev eth0 || fail "link-local via with dev"
nsx lb ip -6 route show table 1009 | grep -q "default via fe80::2 dev eth0" ||
	fail "no link-local route in table 1009"
pass
