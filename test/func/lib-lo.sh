# SPDX-License-Identifier: GPL-2.0-or-later
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

# ---------------------------------------------------------------- predicted flows

# lo_flows SRC DST PREDICT_OPTION...: flows SRC:port -> DST:9999 over UDP
# whose targets the reference model predicts (predict_run with
# PREDICT_OPTIONs: --per-target K chooses from SPORT_NEXT up, --ports LIST
# takes those ports), added to LO_FLOWS ("SRC DST PORT ID" lines).  For
# each, a rule in lb's chain nfqlb-flows (jumped to from OUTPUT) counts the
# flow's datagrams that leave with the predicted mark; lo_flows_ok checks
# the counts.  lo_flows_reset forgets the flows and their counts.
lo_flows()
{
	local src=$1 dst=$2 p id last=0 rules=""

	shift 2
	case " $* " in *" --per-target "*) set -- --first "$SPORT_NEXT" "$@" ;; esac
	predict_run --src "$src" --dst "$dst" --proto udp --dport 9999 "$@" ||
		fail "predict.py: $PRED_OUT"
	nsx lb iptables -n -L nfqlb-flows >/dev/null 2>&1 || {
		nsx lb iptables -N nfqlb-flows &&
		nsx lb iptables -A OUTPUT -p udp --dport 9999 -j nfqlb-flows
	} || fail "iptables: the chain nfqlb-flows"
	while read -r p id; do
		LO_FLOWS+="$src $dst $p $id"$'\n'
		rules+="-A nfqlb-flows -s $src -d $dst -p udp --sport $p --dport 9999"
		rules+=" -m mark --mark $id"$'\n'
		last=$p
	done <<<"$PRED_OUT"
	[ "$last" -lt "$SPORT_NEXT" ] || SPORT_NEXT=$((last + 1))
	printf '*filter\n%sCOMMIT\n' "$rules" | nsx lb iptables-restore --noflush ||
		fail "iptables-restore: the flows' rules"
}

lo_flows_reset()
{
	LO_FLOWS=""
	nsx lb iptables -F nfqlb-flows 2>/dev/null
}

# lo_flows_ids: the distinct target ids LO_FLOWS predicts, sorted.
lo_flows_ids()
{
	awk 'NF { print $4 }' <<<"$LO_FLOWS" | sort -un | tr '\n' ' ' | sed 's/ $//'
}

# lo_send_flows [N]: N datagrams (default 1) from each flow of LO_FLOWS,
# each flow from its own socket bound to its source address and port.
lo_send_flows()
{
	nsx lb timeout 30 "$PYTHON" -S -c '
import socket, sys
n = int(sys.argv[1])
for line in sys.stdin:
    if not line.strip():
        continue
    src, dst, port, _ = line.split()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((src, int(port)))
    for _ in range(n):
        s.sendto(b"x\n", (dst, 9999))
    s.close()
' "${1:-1}" <<<"$LO_FLOWS" || fail "cannot send the flows"
}

# lo_flows_ok N: each flow of LO_FLOWS left exactly N datagrams with its
# predicted mark; the flows that did not are in LO_FLOWS_BAD.
lo_flows_ok()
{
	LO_FLOWS_BAD=$(nsx lb iptables -nvxL nfqlb-flows | awk -v n="$1" '
		/ spt:/ && $1 != n {
			for (i = 1; i <= NF; i++) if ($i ~ /^spt:/) p = substr($i, 5)
			print $(NF - 6) ":" p " (" $1 " left with its mark " $NF ")"
		}')
	[ -z "$LO_FLOWS_BAD" ]
}

# ---------------------------------------------------------------- a stream

# lo_stream_start [DST]: in lb, datagrams to DST:9999 (default 127.0.0.1),
# each from a new socket (so a new source port), about 2000 a second, until
# lo_stream_stop (and for 20 s and 40000 datagrams at most).
lo_stream_start()
{
	rm -f "$LOGDIR/stream.stop" "$LOGDIR/stream.sent"
	start_bg lb "$PYTHON" -S -c '
import os, socket, sys, time
base, dst = sys.argv[1], sys.argv[2]
end = time.monotonic() + 20
n = 0
while n < 40000 and time.monotonic() < end and not os.path.exists(base + ".stop"):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(b"x\n", (dst, 9999))
    s.close()
    n += 1
    if n % 10 == 0:
        time.sleep(0.005)
with open(base + ".sent", "w") as f:
    f.write("%d\n" % n)
' "$LOGDIR/stream" "${1:-127.0.0.1}"
	LO_STREAM_PID=$BG_PID
}

# lo_stream_stop: stop the stream and wait for it; LO_STREAM_SENT is how
# many datagrams it sent.
lo_stream_stop()
{
	touch "$LOGDIR/stream.stop"
	wait "$LO_STREAM_PID"
	LO_STREAM_SENT=$(cat "$LOGDIR/stream.sent" 2>/dev/null)
	[ -n "$LO_STREAM_SENT" ] || fail "the stream of datagrams did not finish"
}
