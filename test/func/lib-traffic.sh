# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash disable=SC2034  # a library: its globals are read by the scripts that source it
# lib-traffic.sh: traffic from the client with nfqlb-conn, and checks on
# where it went.  Topology-free: the helpers take the namespace and the
# address.
# Sourced by lib.sh; tests source lib.sh only.

# ---------------------------------------------------------------- short exchanges

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

# lb_probe ADDR PORT: one short exchange from the client namespace.
lb_probe()
{
	CONN_TIMEOUT=5 conn client -c 1 -t 250 "$1" "$2" >/dev/null 2>&1
}

# ---------------------------------------------------------------- long-lived connections

# conn_keep NAME NS ARGS...: nfqlb-conn ARGS inside NS in the background
# (bounded by CONN_TIMEOUT seconds, default 60), its output in
# $LOGDIR/NAME.log.  BG_PID is its PID; conn_keep_check waits for it.
# timeout runs in the foreground: a signal sent to it (conn_keep_end) then
# reaches nfqlb-conn alone, without the SIGCONT that timeout otherwise
# sends after it.  A SIGCONT cancels a pending SIGSTOP, and if it came
# while LeakSanitizer was stopping an exiting nfqlb-conn to look for
# leaks (SIGTERM just as the run ended by itself), the sanitizer waited
# for a stop that never came, spinning for ever.
conn_keep()
{
	local name=$1 n=$2

	shift 2
	timeout --foreground "${CONN_TIMEOUT:-60}" ip netns exec "${NS_PREFIX}$n" \
		"$TOOLS/nfqlb-conn" "$@" >"$LOGDIR/$name.log" 2>&1 &
	BG_PID=$!
	_PIDS+=("$BG_PID")
}

# conn_keep_end PID...: end the long-lived connections of nfqlb-conn -F
# runs (PIDs as conn_keep, conn_keep_spread or start_bg left them) once
# the test has seen what it needed, rather than at the end of -k SECONDS,
# which is then only a bound.  On SIGTERM, -F makes every live connection
# go through one more exchange (a failure counts) before the summary, so
# each still proves it works.  conn_keep_check follows.
conn_keep_end()
{
	kill -TERM "$@" 2>/dev/null
}

# conn_keep_check NAME PID: wait for the nfqlb-conn of conn_keep NAME and
# fail unless it exited 0 with "failed 0" and "moved 0", and, when
# conn_keep_spread started it, each connection was answered by the target
# predicted for its port.  Its output is left in CONN_OUT.
conn_keep_check()
{
	local rc

	wait "$2"
	rc=$?
	CONN_OUT=$(cat "$LOGDIR/$1.log")
	if [ "$rc" -ne 0 ] || [ "$(conn_count "$CONN_OUT" failed)" -ne 0 ] ||
		[ "$(conn_count "$CONN_OUT" moved)" -ne 0 ]; then
		stats_save
		fail "$1: nfqlb-conn exit $rc: $(echo "$CONN_OUT" | tr '\n' ' ')"
	fi
	[ -e "$LOGDIR/$1.want" ] || return 0
	expect_predicted "$1" "$CONN_OUT" "$rc" "$(cat "$LOGDIR/$1.want")"
}

# conn_keep_both NAME COUNT SECONDS TIMEOUT_MS: conn_keep NAME-4 and NAME-6
# from the client, COUNT connections to VIP4 and to VIP6 held for SECONDS,
# every wait bounded by TIMEOUT_MS.  Their PIDs are KEEP4 and KEEP6.
conn_keep_both()
{
	conn_keep "$1-4" client -c "$2" -k "$3" -t "$4" "$VIP4" 80
	KEEP4=$BG_PID
	conn_keep "$1-6" client -c "$2" -k "$3" -t "$4" "$VIP6" 80
	KEEP6=$BG_PID
}

# conn_keep_spread NAME K SECONDS TIMEOUT_MS: as conn_keep_both, but K
# connections per active target to each VIP, from source ports the
# reference model sends to that target (predict); conn_keep_check then
# wants each connection answered by its predicted target.  KEEP_COUNT is
# the number of connections per VIP.  They run with -F: conn_keep_end may
# end them early.
conn_keep_spread()
{
	local vip f src pids=()

	for f in 4 6; do
		vip=$VIP4
		[ $f = 6 ] && vip=$VIP6
		src=$(client_addr "$vip")
		predict "$src" "$vip" tcp 80 "$2"
		printf '%s' "$PRED_WANT" >"$LOGDIR/$1-$f.want"
		conn_keep "$1-$f" client -k "$3" -t "$4" -F -b "$src" -P "$PRED_PORTS" \
			"$vip" 80
		pids+=("$BG_PID")
	done
	KEEP4=${pids[0]}
	KEEP6=${pids[1]}
	KEEP_COUNT=$(grep -c . <<<"$PRED_WANT")
}

# conn_keep_opened NAME COUNT SECONDS TIMEOUT_MS: conn_keep_both, then wait
# (10 s at most) until queue 0's worker has classified at least a packet
# for each of the 2 x COUNT connections.
conn_keep_opened()
{
	local q0

	q0=$(queue_packets 0)
	conn_keep_both "$@"
	_keep_wait_opened "$q0" $((2 * $2))
}

# conn_keep_spread_opened NAME K SECONDS TIMEOUT_MS: conn_keep_spread, then
# wait as conn_keep_opened does for its 2 x KEEP_COUNT connections.
conn_keep_spread_opened()
{
	local q0

	q0=$(queue_packets 0)
	conn_keep_spread "$@"
	_keep_wait_opened "$q0" $((2 * KEEP_COUNT))
}

# _keep_wait_opened Q0 N: queue 0 classified N packets since it had Q0,
# within 10 s.
_keep_wait_opened()
{
	wait_until 10 queue_packets_over 0 $(($1 + $2 - 1)) ||
		fail "the connections did not open (queue: $(queue_packets 0) packets)"
}

# ---------------------------------------------------------------- checks

# expect_spread WHAT OUTPUT RC WANT...: nfqlb-conn's OUTPUT and exit code
# RC show no failure, and each target in WANT got connections ("t2=0"
# means t2 must get none).  WHAT names the traffic in failure messages.
expect_spread()
{
	local what=$1 out=$2 rc=$3 w name n

	shift 3
	if [ "$rc" != 0 ] || [ "$(conn_count "$out" failed)" -ne 0 ]; then
		fail "$what: nfqlb-conn failed (exit $rc): $(echo "$out" | tr '\n' ' ')"
	fi
	for w in "$@"; do
		name=${w%=0}
		n=$(conn_count "$out" "$name")
		if [ "$w" != "$name" ]; then
			[ "$n" -eq 0 ] || fail "$what: $name got $n connections, want 0"
		else
			[ "$n" -gt 0 ] || fail "$what: $name got no connections:" \
				"$(echo "$out" | tr '\n' ' ')"
		fi
	done
}

# spread_all VIP PROTO COUNT: COUNT exchanges from the client with VIP:80
# over PROTO (tcp or udp), COUNT / 3 from source ports the reference model
# sends to each of the three active targets (spread_check; say their names
# with target_names), each answered by its predicted target, so none by
# "lb" (which answers only what went unmarked, see vip_on_lb).
spread_all()
{
	spread_check "$1" "$2" $(($3 / 3))
	[ "$(conn_count "$SPREAD_OUT" lb)" -eq 0 ] || fail "$2 to $1: lb answered"
}

# hold_queued VIP MIN MAX: 10 connections from the client to VIP:80, held
# 2 s, all work, and queue 0's worker classified between MIN and MAX
# packets meanwhile.  HELD_Q is how many.
hold_queued()
{
	local q0 out

	q0=$(queue_packets 0)
	out=$(conn client -c 10 -k 2 -t 1000 "$1" 80) ||
		fail "held connections to $1 failed: $(echo "$out" | tr '\n' ' ')"
	HELD_Q=$(( $(queue_packets 0) - q0 ))
	info "$1: 10 held connections, $HELD_Q packets queued"
	[ "$HELD_Q" -ge "$2" ] && [ "$HELD_Q" -le "$3" ] ||
		fail "$1: $HELD_Q packets queued for 10 held connections, want $2..$3"
}
