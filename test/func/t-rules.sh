#!/bin/bash
# t-rules: the kernel takes every mode of `nfqlb rules`, IPv4 and IPv6.
#
# In one namespace, for each mode: pipe the output into iptables-restore
# --noflush (ip6tables-restore for IPv6); check that the chains hold what
# was printed, that a rule that was there before is untouched, that
# applying twice leaves each chain's contents as they were (only the jump
# is added again), and that --delete, run once per apply, brings the tables
# back exactly to what they were before.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

need_root
need_cmd ip iptables-restore ip6tables-restore iptables-save ip6tables-save
[ -x "$NFQLB" ] || fail "$NFQLB is not built (run make all)"

ns_add lb

# save FAMILY: the chains and rules of every table we touch (not the
# built-in chains' policies, nor whether an empty table exists).
save()
{
	local t

	for t in raw mangle nat filter; do
		echo "table $t"
		nsx lb "$1"tables -t $t -S | grep -v '^-P'
	done
}

# apply FAMILY ARGS...: nfqlb rules ARGS | FAMILYtables-restore --noflush.
apply()
{
	local fam=$1 out

	shift
	out=$("$NFQLB" rules "$@") || fail "nfqlb rules $* failed"
	echo "$out" | nsx lb "$fam"tables-restore --noflush ||
		fail "${fam}tables-restore refused: nfqlb rules $*"
}

# chain_rules FAMILY TABLE CHAIN: the -A lines of CHAIN.
chain_rules()
{
	nsx lb "$1"tables -t "$2" -S "$3" | grep '^-A'
}

# check_mode FAMILY WANT ARGS...: apply, check, re-apply, delete twice.
# WANT is a list of TABLE:N, the number of rules expected in each chain.
check_mode()
{
	local fam=$1 want=$2 before after chain tc t n base

	shift 2
	before=$(save "$fam")
	apply "$fam" "$@"
	base=$("$NFQLB" rules "$@" | grep -m1 '^:' | sed 's/^:\(NFQLB-[0-9a-f]*\).*/\1/')
	[ -n "$base" ] || fail "no chain in: nfqlb rules $*"
	for tc in $want; do
		t=${tc%%:*}
		n=${tc#*:}
		case $t in raw) chain=$base-RAW ;; nat) chain=$base-NAT ;; *) chain=$base ;; esac
		[ "$(chain_rules "$fam" "$t" "$chain" | wc -l)" -eq "$n" ] ||
			fail "$t $chain has not $n rules after: nfqlb rules $*"
		nsx lb "$fam"tables -t "$t" -S PREROUTING | grep -q -- "-j $chain\$" ||
			fail "no jump to $chain in $t PREROUTING: nfqlb rules $*"
		eval "first_$t=\$(chain_rules \$fam \$t \$chain)"
	done
	nsx lb "$fam"tables -t filter -S INPUT | grep -q 'keep-me' ||
		fail "the unrelated rule is gone after: nfqlb rules $*"
	apply "$fam" "$@"
	for tc in $want; do
		t=${tc%%:*}
		case $t in raw) chain=$base-RAW ;; nat) chain=$base-NAT ;; *) chain=$base ;; esac
		[ "$(chain_rules "$fam" "$t" "$chain")" = "$(eval echo "\"\$first_$t\"")" ] ||
			fail "$t $chain changed on re-apply: nfqlb rules $*"
	done
	# Two jumps: the first removal takes one and stops at the chains.
	"$NFQLB" rules "$@" --delete | nsx lb "$fam"tables-restore --noflush 2>/dev/null &&
		fail "--delete removed chains still in use: nfqlb rules $*"
	"$NFQLB" rules "$@" --delete | nsx lb "$fam"tables-restore --noflush ||
		fail "--delete refused: nfqlb rules $*"
	after=$(save "$fam")
	[ "$before" = "$after" ] ||
		fail "--delete left: $(diff <(echo "$before") <(echo "$after") | tr '\n' ' ')"
}

# An unrelated rule, which --noflush must keep.
nsx lb iptables -A INPUT -m comment --comment keep-me -j ACCEPT || fail "iptables"
nsx lb ip6tables -A INPUT -m comment --comment keep-me -j ACCEPT || fail "ip6tables"

for fam in ip ip6; do
	if [ $fam = ip ]; then
		vip=10.200.255.1 net=10.200.255.0/24 a1=10.200.1.2 a2=10.200.2.2
	else
		vip=fd00:200:ff::1 net=fd00:200:ff::/120 a1=fd00:200:1::2 a2=fd00:200:2::2
	fi
	info "$fam: all packets, one queue"
	check_mode $fam "mangle:1" --vip $vip
	info "$fam: all packets, a queue range with cpu-fanout and bypass, a prefix"
	check_mode $fam "mangle:1" --vip $net --queue 0:3 --cpu-fanout --bypass
	info "$fam: SYN-only (DSR)"
	check_mode $fam "raw:1 mangle:3 nat:1" --vip $vip --syn-only --queue 2
	info "$fam: SYN-only, UDP port 53"
	check_mode $fam "mangle:3 nat:1" --vip $vip --syn-only --proto udp --port 53
	info "$fam: NAT, TCP port 80"
	check_mode $fam "mangle:1 nat:2" --vip $vip --proto tcp --port 80 \
		--nat 101=$a1 --nat 4294967295=$a2
	info "$fam: NAT, SCTP, SYN-only, bypass"
	check_mode $fam "mangle:3 nat:3" --vip $vip --proto sctp --syn-only --bypass \
		--nat 1=$a1 --nat 2=$a2
	info "$fam: two VIPs side by side"
	apply $fam --vip $vip --syn-only
	apply $fam --vip $net --nat 1=$a1
	[ "$(nsx lb ${fam}tables -t mangle -S | grep -c '^-N NFQLB-')" -eq 2 ] ||
		fail "$fam: two VIPs do not have two mangle chains"
	"$NFQLB" rules --vip $vip --syn-only --delete |
		nsx lb ${fam}tables-restore --noflush || fail "--delete refused"
	"$NFQLB" rules --vip $net --nat 1=$a1 --delete |
		nsx lb ${fam}tables-restore --noflush || fail "--delete refused"
	nsx lb ${fam}tables-save | grep -q NFQLB && fail "$fam: chains left after --delete"
done

info "IPv4 input is refused by ip6tables-restore and vice versa"
"$NFQLB" rules --vip 10.200.255.1 | nsx lb ip6tables-restore --noflush 2>/dev/null &&
	fail "ip6tables-restore took IPv4 rules"
"$NFQLB" rules --vip fd00::1 | nsx lb iptables-restore --noflush 2>/dev/null &&
	fail "iptables-restore took IPv6 rules"

pass
