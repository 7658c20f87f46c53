# shellcheck shell=bash disable=SC2034  # a library: its globals are read by the scripts that source it
# lib-lo.sh: the worker alone in one namespace, on loopback.
# Sourced by lib.sh; tests source lib.sh only.

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
