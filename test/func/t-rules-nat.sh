#!/bin/bash
# t-rules-nat: NAT mode with the rules `nfqlb rules --nat` prints, with all
# packets queued and then with --syn-only, IPv4 and IPv6.
#
#	client --- lb --- t1, t2, t3
#
# Checks: TCP and UDP connections spread over every target in both modes;
# all packets mode queues every packet; SYN-only queues exactly one packet
# per connection (the others take the connection's saved mark), while the
# connections keep working.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

need_root
need_cmd ip iptables-restore ip6tables-restore timeout
need_bins

COUNT=30

# queued: the packets queue 0's worker has classified.
queued()
{
	"$NFQLB" stats --json | grep -o '"queues":.*' | json_num packets
}

# rules_apply ARGS...: nfqlb rules --nat for both VIPs, into the kernel
# (with --delete among ARGS: out of it).
rules_apply()
{
	"$NFQLB" rules --vip "$VIP4" --nat "1=$(target_addr4 1)" --nat "2=$(target_addr4 2)" \
		--nat "3=$(target_addr4 3)" "$@" | nsx lb iptables-restore --noflush ||
		fail "iptables-restore refused: nfqlb rules --vip $VIP4 $*"
	"$NFQLB" rules --vip "$VIP6" --nat "1=$(target_addr6 1)" --nat "2=$(target_addr6 2)" \
		--nat "3=$(target_addr6 3)" "$@" | nsx lb ip6tables-restore --noflush ||
		fail "ip6tables-restore refused: nfqlb rules --vip $VIP6 $*"
}

# spread VIP [-u]: COUNT exchanges reach every target.
spread()
{
	local out rc t

	out=$(conn client -c $COUNT -t 1000 "$@" 80)
	rc=$?
	[ $rc -eq 0 ] && [ "$(conn_count "$out" failed)" -eq 0 ] ||
		fail "exchanges to $* failed (exit $rc): $(echo "$out" | tr '\n' ' ')"
	for t in t1 t2 t3; do
		[ "$(conn_count "$out" $t)" -gt 0 ] ||
			fail "$*: $t got none: $(echo "$out" | tr '\n' ' ')"
	done
}

# hold VIP MIN MAX: 10 connections held 2 s work, and between MIN and MAX
# packets were queued meanwhile.
hold()
{
	local vip=$1 q0 q out

	q0=$(queued)
	out=$(conn client -c 10 -k 2 -t 1000 "$vip" 80) ||
		fail "held connections to $vip failed: $(echo "$out" | tr '\n' ' ')"
	q=$(($(queued) - q0))
	info "$vip: 10 held connections, $q packets queued"
	[ "$q" -ge "$2" ] && [ "$q" -le "$3" ] ||
		fail "$vip: $q packets queued for 10 held connections, want $2..$3"
}

info "topology: client, lb, t1..t3"
topo_nat t1 t2 t3
"$NFQLB" init --M 997 || fail "nfqlb init"
"$NFQLB" activate 1 2 3 || fail "nfqlb activate"
start_bg lb "$NFQLB" lb --queue 0
wait_for lb_ready || fail "the worker did not attach to queue 0"

info "all packets queued"
rules_apply
wait_for -n 30 lb_probe "$VIP4" 80 || fail "no answer through the worker"
for vip in "$VIP4" "$VIP6"; do
	spread "$vip"
	spread "$vip" -u
	hold "$vip" 100 100000
done

info "SYN-only"
rules_apply --delete
rules_apply --syn-only
for vip in "$VIP4" "$VIP6"; do
	spread "$vip"
	spread "$vip" -u
	# One packet per connection, its SYN; a SYN sent again while the
	# first waits in the queue (a worker slower than 1 s) is queued too.
	hold "$vip" 10 12
done

rules_apply --syn-only --delete
nsx lb iptables-save | grep -q NFQLB && fail "IPv4 chains left after --delete"
nsx lb ip6tables-save | grep -q NFQLB && fail "IPv6 chains left after --delete"

pass
