#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t-flow-cli: nfqlb flow set, delete, list and show on a flow set in
# /dev/shm, read back as JSON.
#
# The first `flow set` creates the set, mode 0600; flows come back in
# match order (prio, then name) with every field as given; a replacement
# keeps the flow's counter slot and moves the generation once, setting it
# again as it is moves nothing; $NFQLB_FLOWS names the default set; a
# delete naming a missing flow deletes nothing (one line, exit 1); writers
# in parallel lose no update; a damaged or truncated set gives one error
# line and exit 1, and a set that is not a flow set is not taken for one.
# Needs only /dev/shm: no namespace, no root.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

need_cmd python3
[ -x "$NFQLB" ] || fail "$NFQLB is not built"

# lib.sh's cleanup removes $NFQLB_SHM-*.
F=$NFQLB_SHM-flows
D=$LOGDIR

flow()
{
	"$NFQLB" flow --flows "$F" "$@"
}

# list_json EXPR: EXPR (json_py) on `flow list --json`.
list_json()
{
	flow list --json >"$D/list.json" || fail "flow list --json"
	json_py "$1" <"$D/list.json" || fail "flow list --json: $(cat "$D/list.json")"
}

info "1. set creates the set; list gives the flows in match order"
flow set web --table "$NFQLB_SHM-web" --prio 10 --proto tcp,icmp \
	--dst 192.0.2.1,2001:db8::/64 --dport 80,443,8000-8099 || fail "set web"
flow set dns --table "$NFQLB_SHM-dns" --proto udp --dst 192.0.2.1 --dport 53 \
	--src 198.51.100.0/24 --sport 1024-65535 || fail "set dns"
flow set any --table "$NFQLB_SHM-web" --prio 10 || fail "set any"
flow set sctp --table "$NFQLB_SHM-sctp" --prio -3 --proto sctp --udp-encap 9899 ||
	fail "set sctp"
[ "$(stat -c %a "/dev/shm/$F")" = 600 ] || fail "mode $(stat -c %a "/dev/shm/$F")"
[ "$(list_json '" ".join(f["name"] for f in j["flows"])')" = "any web dns sctp" ] ||
	fail "match order: $(cat "$D/list.json")"
[ "$(list_json 'j["generation"]')" = 4 ] || fail "generation: $(cat "$D/list.json")"
want='{"name":"web","table":"'$NFQLB_SHM'-web","prio":10,"proto":["tcp","icmp"],"dst":["192.0.2.1/32","2001:db8::/64"],"src":[],"dport":["80","443","8000-8099"],"sport":[],"udp_encap":0}'
got=$(list_json '[{k: v for k, v in f.items() if k != "slot"} for f in j["flows"] if f["name"] == "web"][0]')
[ "$got" = "$want" ] || fail "web: $got, want $want"
[ "$(list_json '[f["udp_encap"] for f in j["flows"] if f["name"] == "sctp"][0]')" = 9899 ] ||
	fail "sctp: $(cat "$D/list.json")"
[ "$(flow list | wc -l)" -eq 4 ] || fail "text list: $(flow list)"
flow list | grep -qx "dns prio 0 table $NFQLB_SHM-dns proto udp dst 192.0.2.1/32 src 198.51.100.0/24 dport 53 sport 1024-65535" ||
	fail "text list: $(flow list)"

info "2. replace keeps the slot; the same flow again changes nothing"
slot=$(flow show web --json | json_py 'j["slot"]') || fail "show web"
flow set web --table "$NFQLB_SHM-web2" --proto tcp --dport 8080 || fail "replace web"
flow show web --json >"$D/web.json" || fail "show web"
[ "$(json_py 'j["slot"], j["table"], j["generation"], j["dport"], j["prio"]' <"$D/web.json")" = \
	"$slot $NFQLB_SHM-web2 5 8080 0" ] || fail "replaced web: $(cat "$D/web.json")"
flow set web --table "$NFQLB_SHM-web2" --proto tcp --dport 8080 || fail "set web again"
[ "$(list_json 'j["generation"]')" = 5 ] || fail "the same flow moved the generation"
NFQLB_FLOWS=$F "$NFQLB" flow show web | grep -q "^  table      $NFQLB_SHM-web2\$" ||
	fail "NFQLB_FLOWS: $(NFQLB_FLOWS=$F "$NFQLB" flow show web 2>&1)"

info "3. delete is all or nothing"
one_error "delete a missing flow" flow in "flow \"nope\" does not exist" \
	flow delete dns nope
[ "$(list_json 'len(j["flows"])')" = 4 ] || fail "a failed delete deleted"
flow delete dns any || fail "delete dns any"
[ "$(list_json '" ".join(f["name"] for f in j["flows"])')" = "web sctp" ] ||
	fail "after delete: $(cat "$D/list.json")"
one_error "show a deleted flow" flow in "flow \"dns\" does not exist" flow show dns

info "4. writers in parallel: no update lost"
pids=()
for w in 1 2 3 4; do
	( for i in $(seq 10); do flow set "w$w-$i" --table t --prio "$i" || exit 1; done ) &
	pids+=($!)
done
for p in "${pids[@]}"; do
	wait "$p" || fail "a writer failed"
done
[ "$(list_json 'len(j["flows"])')" = 42 ] || fail "lost updates: $(cat "$D/list.json")"
[ "$(list_json 'len(set(f["slot"] for f in j["flows"]))')" = 42 ] || fail "shared slots"

info "5. errors: missing, damaged, truncated, not a flow set"
one_error "missing set" flow in "does not exist" \
	"$NFQLB" flow --flows "$NFQLB_SHM-none" list
# The flow's name turns invalid in both buffers, so in the published one.
python3 - "/dev/shm/$F" <<'EOF' || fail "damage"
import sys
with open(sys.argv[1], "r+b") as f:
    data = f.read()
    assert data.count(b"\0sctp\0") > 0
    f.seek(0)
    f.write(data.replace(b"\0sctp\0", b"\0-ctp\0"))
EOF
one_error "damaged list" flow in "corrupt flow set" flow list
one_error "damaged show" flow in "corrupt flow set" flow show web
one_error "damaged set" flow in "corrupt flow set" flow set x --table t
truncate -s 100 "/dev/shm/$F"
one_error "truncated" flow in "truncated" flow list
"$NFQLB" init --shm "$NFQLB_SHM-table" --M 7 --N 2 || fail "init"
one_error "a table" flow in "not an nfqlb flow set" \
	"$NFQLB" flow --flows "$NFQLB_SHM-table" list

pass
