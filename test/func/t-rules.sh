#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t-rules: `nfqlb rules` is idempotent and its removal needs no mode options,
# IPv4 and IPv6, in one namespace of this test.
#
# Every apply is the documented pipeline, `iptables-save | nfqlb rules ... |
# iptables-restore --noflush` (ip6tables-* for IPv6).  For each mode (DSR,
# NAT, SYN-only on either, and the queue, port and bypass variants):
#   - the chains hold what was printed, with one jump per table;
#   - applying again, and a third time, leaves iptables-save's output (per
#     table, counters aside) exactly as after one apply, the jump keeping its
#     place before a rule added after it;
#   - --delete with only the VIP, protocol and port leaves the tables exactly
#     as they were before, and a second --delete changes nothing.
# A DSR VIP narrowed to a protocol has a second chain and jump in mangle, for
# the ICMP errors addressed to it; they follow the same rules.
# --bpf (queue only packets still unmarked, accept the marked) too, and a
# switch to it.
# Also: switching mode by applying another one equals a fresh apply of it;
# what an older nfqlb left (a jump per apply) is cleaned up; two VIPs side
# by side; input of the wrong family is refused.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

need_root
need_cmd ip iptables-restore ip6tables-restore iptables-save ip6tables-save
[ -x "$NFQLB" ] || fail "$NFQLB is not built (run make all)"

ns_add lb

# snap FAM: FAMtables-save of every table: each chain and rule, with its
# table, without comments, counters and built-in policies.
snap()
{
	# One save of every table (a save per table costs four): each rule
	# and chain, with its table, but not the built-in chains' policies,
	# which nfqlb never sets (and which appear once a table is loaded).
	nsx lb "$1"tables-save | awk '
		/^\*/ { t = $0; next }
		/^:(PREROUTING|INPUT|FORWARD|OUTPUT|POSTROUTING) / { next }
		/^[-:]/ { sub(/ \[[0-9]*:[0-9]*\]$/, ""); print $0 "  in " t }'
}

# apply FAM ARGS...: FAMtables-save | nfqlb rules ARGS | FAMtables-restore
# --noflush, each step's output in $LOGDIR (shown when a step fails).
apply()
{
	local fam=$1

	shift
	nsx lb "$fam"tables-save >"$LOGDIR/saved" || fail "${fam}tables-save failed"
	"$NFQLB" rules "$@" <"$LOGDIR/saved" >"$LOGDIR/rules" ||
		fail "nfqlb rules $* failed"
	nsx lb "$fam"tables-restore --noflush <"$LOGDIR/rules" ||
		fail "${fam}tables-restore refused: nfqlb rules $*: $(cat "$LOGDIR/rules")"
}

# same WHAT A B: fail with WHAT and the difference unless A and B are equal.
same()
{
	[ "$2" = "$3" ] || fail "$1: $(diff <(echo "$2") <(echo "$3") | tr '\n' ' ')"
}

# chain_of BASE TABLE: the chain nfqlb uses in TABLE; TABLE icmp stands for
# the ICMP errors' chain in mangle.
chain_of()
{
	case $2 in
	raw) echo "$1-RAW" ;; nat) echo "$1-NAT" ;; icmp) echo "$1-ICMP" ;; *) echo "$1" ;;
	esac
}

# keep_after FAM -A|-D: a rule after nfqlb's jump in each table's PREROUTING.
keep_after()
{
	local t

	for t in raw mangle nat; do
		nsx lb "$1"tables -t $t "$2" PREROUTING -m comment --comment keep-after ||
			fail "${1}tables $2 keep-after in $t"
	done
}

# check_chains FAM BASE WANT: WANT is a list of TABLE:N (TABLE icmp: the
# ICMP errors' chain in mangle): the chain of each TABLE holds N rules and
# PREROUTING jumps to it once; BASE has no other chain.
check_chains()
{
	local fam=$1 base=$2 want=$3 tc t n chain

	for tc in $want; do
		t=${tc%%:*}
		n=${tc#*:}
		chain=$(chain_of "$base" "$t")
		[ "$t" = icmp ] && t=mangle
		[ "$(nsx lb "$fam"tables -t "$t" -S "$chain" | grep -c '^-A')" -eq "$n" ] ||
			fail "$t $chain has not $n rules"
		[ "$(nsx lb "$fam"tables -t "$t" -S PREROUTING | grep -c -- "-j $chain\$")" -eq 1 ] ||
			fail "not one jump to $chain in $t PREROUTING"
	done
	[ "$(snap "$fam" | grep -c "^:$base")" -eq "$(echo "$want" | wc -w)" ] ||
		fail "chains of $base beyond $want: $(snap "$fam" | grep "^:$base" | tr '\n' ' ')"
}

# check_mode FAM WANT "NAME_ARGS" MODE_ARGS...: apply NAME_ARGS (--vip,
# --proto, --port) with MODE_ARGS three times, then remove with NAME_ARGS
# alone, twice (see the top).
check_mode()
{
	local fam=$1 want=$2 name=$3 base once again

	shift 3
	# shellcheck disable=SC2086 # NAME_ARGS is a list of options
	set -- $name "$@"
	same "the firewall before" "$(snap "$fam")" "$BEFORE"
	apply "$fam" "$@"
	base=$(grep -m1 '^:NFQLB-' "$LOGDIR/rules" | sed 's/^:\(NFQLB-[0-9a-f]*\).*/\1/')
	[ -n "$base" ] || fail "no chain in: nfqlb rules $*"
	check_chains "$fam" "$base" "$want"
	keep_after "$fam" -A
	once=$(snap "$fam")
	apply "$fam" "$@"
	same "applying again changed the firewall: nfqlb rules $*" "$once" "$(snap "$fam")"
	apply "$fam" "$@"
	again=$(snap "$fam")
	same "a third apply changed the firewall: nfqlb rules $*" "$once" "$again"
	# shellcheck disable=SC2086
	apply "$fam" $name --delete
	keep_after "$fam" -D
	same "--delete left: nfqlb rules $*" "$BEFORE" "$(snap "$fam")"
	# shellcheck disable=SC2086
	apply "$fam" $name --delete
	grep -q '^\*' "$LOGDIR/rules" && fail "a second --delete has rules: $(cat "$LOGDIR/rules")"
	same "a second --delete changed the firewall" "$BEFORE" "$(snap "$fam")"
}

# fresh FAM "NAME_ARGS" MODE_ARGS...: FRESH is the firewall after one apply
# on BEFORE; the firewall is BEFORE again afterwards.
fresh()
{
	local fam=$1 name=$2

	shift 2
	# shellcheck disable=SC2086 # NAME_ARGS is a list of options
	apply "$fam" $name "$@"
	FRESH=$(snap "$fam")
	# shellcheck disable=SC2086
	apply "$fam" $name --delete
	same "the firewall after a fresh apply and --delete" "$BEFORE" "$(snap "$fam")"
}

# switch_modes FAM "NAME_ARGS" MODE...: applying each MODE over the one
# before it equals a fresh apply of it, and --delete then leaves BEFORE.
switch_modes()
{
	local fam=$1 name=$2 i prev mode

	shift 2
	for ((i = 2; i <= $#; i++)); do
		prev=${*:i-1:1} mode=${*:i:1}
		# shellcheck disable=SC2086 # NAME_ARGS and a mode are lists of options
		fresh $fam "$name" $mode
		# shellcheck disable=SC2086
		apply $fam $name $prev
		# shellcheck disable=SC2086
		apply $fam $name $mode
		same "'$prev' then '$mode' is not a fresh '$mode' ($name)" "$FRESH" "$(snap $fam)"
		# shellcheck disable=SC2086
		apply $fam $name --delete
		same "--delete after '$prev' then '$mode' ($name)" "$BEFORE" "$(snap $fam)"
	done
}

# Rules of others, which nfqlb must neither touch nor move: one before ours
# in each table it uses (rules without a target, to exercise the parser),
# and one in filter.
for fam in ip ip6; do
	for t in raw mangle nat; do
		nsx lb ${fam}tables -t $t -A PREROUTING -m comment --comment keep-before ||
			fail "${fam}tables -t $t"
	done
	nsx lb ${fam}tables -A INPUT -m comment --comment keep-me -j ACCEPT || fail "${fam}tables"
done

for fam in ip ip6; do
	# icmp: the ICMP errors' chain of a DSR VIP narrowed to a protocol.
	if [ $fam = ip ]; then
		vip=10.200.255.1 net=10.200.255.0/24 a1=10.200.1.2 a2=10.200.2.2 icmp=icmp:3
	else
		vip=fd00:200:ff::1 net=fd00:200:ff::/120 a1=fd00:200:1::2 a2=fd00:200:2::2
		icmp=icmp:4
	fi
	BEFORE=$(snap $fam)
	info "$fam: DSR, all packets, one queue"
	check_mode $fam "mangle:1" "--vip $vip"
	info "$fam: DSR, a queue range with cpu-fanout and bypass, a prefix"
	check_mode $fam "mangle:1" "--vip $net" --queue 0:3 --cpu-fanout --bypass
	info "$fam: SYN-only DSR (removed without --syn-only)"
	check_mode $fam "raw:1 mangle:3 nat:1" "--vip $vip" --syn-only --queue 2
	info "$fam: DSR, TCP port 80, with its ICMP errors"
	check_mode $fam "mangle:1 $icmp" "--vip $vip --proto tcp --port 80"
	info "$fam: SYN-only, UDP port 53, with its ICMP errors"
	check_mode $fam "mangle:3 nat:1 $icmp" "--vip $vip --proto udp --port 53" --syn-only
	info "$fam: NAT, TCP port 80"
	check_mode $fam "mangle:1 nat:2" "--vip $vip --proto tcp --port 80" \
		--nat 101=$a1 --nat 4294967295=$a2
	info "$fam: NAT, SCTP, SYN-only, bypass"
	check_mode $fam "mangle:3 nat:3" "--vip $vip --proto sctp" --syn-only --bypass \
		--nat 1=$a1 --nat 2=$a2
	info "$fam: --bpf, SYN-only DSR, TCP port 80, with its ICMP errors"
	check_mode $fam "raw:1 mangle:4 nat:1 $icmp" "--vip $vip --proto tcp --port 80" \
		--syn-only --bpf
	info "$fam: --bpf, NAT, a queue range (only unmarked packets queued, marked ones accepted)"
	check_mode $fam "mangle:2 nat:2" "--vip $vip --proto udp" --bpf --queue 0:1 \
		--nat 1=$a1 --nat 2=$a2

	info "$fam: switching mode by applying another is a fresh apply of it"
	modes=("--syn-only" "--syn-only --nat 1=$a1" "--nat 1=$a1" "" "--syn-only"
		"--syn-only --bpf")
	switch_modes $fam "--vip $vip" "${modes[@]}"
	info "$fam: the same, narrowed to TCP port 80 (the ICMP errors' chain comes and goes)"
	switch_modes $fam "--vip $vip --proto tcp --port 80" "${modes[@]}"

	info "$fam: what an older nfqlb left, a jump per apply, goes"
	fresh $fam "--vip $vip" --syn-only
	for i in 1 2 3; do
		"$NFQLB" rules --vip $vip --syn-only </dev/null |
			nsx lb ${fam}tables-restore --noflush || fail "blind apply $i"
	done
	[ "$(nsx lb ${fam}tables -t mangle -S PREROUTING | grep -c NFQLB-)" -eq 3 ] ||
		fail "three blind applies did not leave three jumps"
	apply $fam --vip $vip --syn-only
	same "an apply over three old ones" "$FRESH" "$(snap $fam)"
	for i in 1 2; do
		"$NFQLB" rules --vip $vip --syn-only </dev/null |
			nsx lb ${fam}tables-restore --noflush || fail "blind apply $i"
	done
	apply $fam --vip $vip --delete
	same "--delete after old applies" "$BEFORE" "$(snap $fam)"

	info "$fam: two VIPs side by side"
	fresh $fam "--vip $net" --nat 1=$a1
	apply $fam --vip $vip --syn-only
	apply $fam --vip $net --nat 1=$a1
	[ "$(nsx lb ${fam}tables -t mangle -S | grep -c '^-N NFQLB-')" -eq 2 ] ||
		fail "$fam: two VIPs do not have two mangle chains"
	apply $fam --vip $vip --proto tcp --delete
	apply $fam --vip $vip --delete
	same "$fam: removing one VIP touched the other" "$FRESH" "$(snap $fam)"
	apply $fam --vip $net --delete
	same "$fam: --delete of both VIPs" "$BEFORE" "$(snap $fam)"
done

info "input of the other family is refused"
"$NFQLB" rules --vip 10.200.255.1 < <(nsx lb ip6tables-save) >/dev/null 2>&1 &&
	fail "nfqlb rules took ip6tables-save output for an IPv4 VIP"
"$NFQLB" rules --vip fd00::1 < <(nsx lb iptables-save) >/dev/null 2>&1 &&
	fail "nfqlb rules took iptables-save output for an IPv6 VIP"
"$NFQLB" rules --vip 10.200.255.1 </dev/null | nsx lb ip6tables-restore --noflush 2>/dev/null &&
	fail "ip6tables-restore took IPv4 rules"
"$NFQLB" rules --vip fd00::1 </dev/null | nsx lb iptables-restore --noflush 2>/dev/null &&
	fail "iptables-restore took IPv6 rules"

pass
