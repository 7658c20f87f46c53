#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t-quickstart: README.md's quick start works as written.
#
#	client --- lb --- sw (a bridge) --- t1, t2
#
# The namespaces get the quick start's addresses, which it says are
# configured already: client 10.0.3.2/24; lb 10.0.3.1/24 towards the
# client, 10.0.1.1/24 towards the targets; target 1 10.0.1.11/24, target
# 2 10.0.1.12/24, on one link (a bridge in sw).  Nothing else: no routes,
# no forwarding, no servers.
#
# Every fenced block that follows a line "<!-- quickstart: ROLE -->" in
# README.md is taken from it and run, in order, in the shell of ROLE's
# machine (target1 -> t1, target2 -> t2, lb, client): one bash per
# namespace, open for the whole test, as a reader keeps a terminal open on
# each machine, so that `&` and `kill %1` work as written.  Each shell runs
# in a directory of its own, with pipefail and an ERR trap that reports
# any command that fails.  The only difference from a reader's machine:
# `nfqlb` is found on PATH as a link to $NFQLB, and $NFQLB_SHM names this
# test's table (the quick start names no table; the test checks that).
#
# Checks, after the block that:
#  - starts the worker: the worker serves queue 0;
#  - runs the client's requests: each of the 8 answered "target 1" or
#    "target 2"; then, from source ports the reference model sends to
#    each target, K requests per target, each answered by its predicted
#    target, and both targets' packet counters in `nfqlb stats` grew;
#  - deactivates target 2: K requests per target of the old table, from
#    new ports, are all answered by target 1;
#  - undoes it all: the worker exited 0, lb's firewall holds no nfqlb
#    chain, and the table is gone.
# Every command of every block must succeed.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

need_root
need_cmd ip iptables iptables-save iptables-restore curl sysctl ss
need_bins

README=${QS_README:-$_libdir/../../README.md}	# QS_README: another file, to test this test
VIP=10.0.0.100
CLIENT4=10.0.3.2	# the client's address, for the predicted flows
K=3			# predicted requests per target in each check
ROLES="target1 target2 lb client lb lb"	# the blocks, in README's order

# ---------------------------------------------------------------- the blocks

# qs_blocks: README's quick start blocks into $LOGDIR/block.N (N from 1)
# and their roles, in order, into QS_ROLE[N].
qs_blocks()
{
	local n=0 role

	"$PYTHON" -S - "$README" "$LOGDIR" >"$LOGDIR/roles" <<'EOF' ||
import re, sys
lines = open(sys.argv[1]).read().split("\n")
n = 0
i = 0
while i < len(lines):
    m = re.fullmatch(r"<!-- quickstart: (\S+) -->", lines[i])
    i += 1
    if not m:
        continue
    while i < len(lines) and lines[i] == "":
        i += 1
    if i >= len(lines) or lines[i] != "```sh":
        sys.exit("README.md line %d: no ```sh block after the marker" % i)
    i += 1
    block = []
    while i < len(lines) and lines[i] != "```":
        block.append(lines[i])
        i += 1
    if i >= len(lines):
        sys.exit("README.md: a quickstart block does not end")
    n += 1
    with open("%s/block.%d" % (sys.argv[2], n), "w") as f:
        f.write("\n".join(block) + "\n")
    print(m.group(1))
EOF
		fail "cannot read the quick start from README.md: $(cat "$LOGDIR/roles")"
	QS_ROLE=()
	while read -r role; do
		n=$((n + 1))
		QS_ROLE[n]=$role
	done <"$LOGDIR/roles"
	[ "${QS_ROLE[*]}" = "$ROLES" ] ||
		fail "README's quick start blocks are \"${QS_ROLE[*]}\", this test knows \"$ROLES\""
	grep -n -e '--shm' -e 'NFQLB_SHM' "$LOGDIR"/block.* &&
		fail "a quick start block names a table: it must use the default"
	grep -q '^nfqlb lb ' "$LOGDIR"/block.* || fail "no quick start block starts nfqlb lb"
}

# ---------------------------------------------------------------- the shells

declare -A QS_FD=()	# role -> the file descriptor that writes to its shell

qs_ns()
{
	case $1 in
	target1) echo t1 ;;
	target2) echo t2 ;;
	*) echo "$1" ;;
	esac
}

# qs_shell ROLE: a bash in ROLE's namespace that reads commands from a
# FIFO, in $LOGDIR/ROLE.cwd, its output in $LOGDIR/ROLE.log.
qs_shell()
{
	local role=$1 dir=$LOGDIR/$1.cwd fd

	mkdir -p "$dir" || fail "mkdir $dir"
	mkfifo "$LOGDIR/$role.in" || fail "mkfifo"
	(cd "$dir" && exec ip netns exec "$(ns "$(qs_ns "$role")")" \
		env PATH="$LOGDIR/bin:$PATH" bash --norc --noprofile -s) \
		<"$LOGDIR/$role.in" >"$LOGDIR/$role.log" 2>&1 &
	_PIDS+=("$!")
	exec {fd}>"$LOGDIR/$role.in" || fail "cannot open $role's shell"
	QS_FD[$role]=$fd
	# shellcheck disable=SC2016 # for the shell in the namespace
	qs_send "$role" 'set -o pipefail' \
		'trap '\''qs_rc=$?; echo "QS-ERR: exit $qs_rc: $BASH_COMMAND"'\'' ERR'
}

# qs_send ROLE LINE...: send lines to ROLE's shell.
qs_send()
{
	local role=$1

	shift
	printf '%s\n' "$@" >&"${QS_FD[$role]}" || fail "cannot write to $role's shell"
}

# qs_run N: run block N in its role's shell, wait (60 s at most) until it
# is done, fail if a command of it failed; its output in QS_OUT.  The
# shell's background jobs go to _PIDS, for cleanup.
qs_run()
{
	local n=$1 role=${QS_ROLE[$1]} log pid

	log=$LOGDIR/$role.log
	info "block $n, on $role: $(grep -v '^#' "$LOGDIR/block.$n" | head -n 1 | cut -c1-60) ..."
	qs_send "$role" "echo QS-BEGIN-$n" "$(cat "$LOGDIR/block.$n")" \
		"jobs -p >'$LOGDIR/$role.jobs'; echo QS-END-$n"
	wait_until 60 grep -qx "QS-END-$n" "$log" ||
		fail "block $n ($role) did not end within 60 s: $(tail -n 5 "$log")"
	QS_OUT=$(sed -n "/^QS-BEGIN-$n\$/,/^QS-END-$n\$/p" "$log" | sed '1d;$d')
	while read -r pid; do
		[[ " ${_PIDS[*]} " == *" $pid "* ]] || _PIDS+=("$pid")
	done <"$LOGDIR/$role.jobs"
	if echo "$QS_OUT" | grep -q '^QS-ERR: '; then
		fail "block $n ($role): $(echo "$QS_OUT" | grep '^QS-ERR: ' | head -n 3)"
	fi
}

# qs_cleanup: stop whatever runs in this test's namespaces, even a job of
# a block that never ended, then lib.sh's cleanup.
# shellcheck disable=SC2317 # the EXIT trap runs it
qs_cleanup()
{
	local rc=$? n pid

	for n in "${_NETNS[@]}"; do
		for pid in $(ip netns pids "$n" 2>/dev/null); do
			kill -TERM "$pid" 2>/dev/null
		done
	done
	(exit "$rc")
	cleanup
}
trap qs_cleanup EXIT

# ---------------------------------------------------------------- the machines

qs_topology()
{
	ns_add client lb sw t1 t2
	veth_add client eth0 lb c0
	addr_add client eth0 10.0.3.2/24
	addr_add lb c0 10.0.3.1/24
	ip -n "$(ns sw)" link add br0 type bridge || fail "cannot add br0"
	sysctl_in sw net.bridge.bridge-nf-call-iptables=0 \
		net.bridge.bridge-nf-call-ip6tables=0
	veth_add lb t0 sw lb
	addr_add lb t0 10.0.1.1/24
	veth_add t1 eth0 sw t1
	addr_add t1 eth0 10.0.1.11/24
	veth_add t2 eth0 sw t2
	addr_add t2 eth0 10.0.1.12/24
	for p in lb t1 t2; do
		ip -n "$(ns sw)" link set "$p" master br0 || fail "bridge port $p"
	done
	ip -n "$(ns sw)" link set br0 up || fail "br0 up"
}

# ---------------------------------------------------------------- checks

# shellcheck disable=SC2317 # run by wait_until
listens80()
{
	nsx "$1" ss -Hltn 'sport = :80' | grep -q .
}

# ask PORT: the client's request to the VIP from source port PORT; the
# answer (the target's name) on stdout.
ask()
{
	nsx client curl -sS --max-time 5 --local-port "$1" "http://$VIP/" </dev/null
}

# predicted_ports: K source ports per active target of the table, as
# "PORT ID" lines in PRED_OUT, from SPORT_NEXT up, which moves past them.
predicted_ports()
{
	local last

	predict_run --src "$CLIENT4" --dst "$VIP" --proto tcp --dport 80 \
		--first "$SPORT_NEXT" --per-target "$K" || fail "predict.py: $PRED_OUT"
	last=$(echo "$PRED_OUT" | awk '{ print $1 }' | sort -n | tail -n 1)
	SPORT_NEXT=$((last + 1))
}

# expect_answers WHAT PORTS_IDS [ID]: each "PORT ID" line's request is
# answered "target ID" (or "target ID2" for every line when given).
expect_answers()
{
	local what=$1 port id want got

	while read -r port id; do
		want="target ${3:-$id}"
		got=$(ask "$port" 2>&1) || fail "$what: the request from port $port failed: $got"
		[ "$got" = "$want" ] ||
			fail "$what: the request from port $port was answered \"$got\", want \"$want\""
	done <<<"$2"
}

worker_pid()
{
	cat "$LOGDIR/lb.jobs"
}

# ---------------------------------------------------------------- the test

qs_blocks
mkdir -p "$LOGDIR/bin" || fail "mkdir"
ln -s "$NFQLB" "$LOGDIR/bin/nfqlb" || fail "nfqlb link"
info "topology: client, lb, t1, t2 with the quick start's addresses"
qs_topology
for role in target1 target2 lb client; do
	qs_shell "$role"
done

qs_run 1
qs_run 2
wait_until 10 listens80 t1 || fail "target 1 does not listen on port 80"
wait_until 10 listens80 t2 || fail "target 2 does not listen on port 80"

qs_run 3
[ "$(wc -w <"$LOGDIR/lb.jobs")" -eq 1 ] || fail "lb's shell runs $(wc -w <"$LOGDIR/lb.jobs") jobs, want 1 (the worker)"
LB_PID=$(worker_pid)
wait_until 10 lb_ready || fail "the worker does not serve its queue"
[ "$(nsx lb sysctl -n net.ipv4.ip_forward)" = 1 ] || fail "lb does not forward"

qs_run 4
answers=$(echo "$QS_OUT" | grep -c -x -e 'target 1' -e 'target 2')
if [ "$answers" -ne 8 ] || [ "$(echo "$QS_OUT" | wc -l)" -ne 8 ]; then
	fail "the client's 8 requests got $answers answers from a target: $QS_OUT"
fi
info "the client's requests: $(echo "$QS_OUT" | sort | uniq -c | tr -s ' \n' ' ')"

info "$K requests per target from predicted ports"
before1=$(stats_target 1)
before2=$(stats_target 2)
predicted_ports
expect_answers "before deactivate" "$PRED_OUT"
[ "$(echo "$PRED_OUT" | awk '{ print $2 }' | sort -u | tr '\n' ' ')" = "1 2 " ] ||
	fail "the predicted flows do not cover both targets: $PRED_OUT"
[ "$(stats_target 1)" -gt "$before1" ] || fail "stats: target 1's packets did not grow"
[ "$(stats_target 2)" -gt "$before2" ] || fail "stats: target 2's packets did not grow"
predicted_ports		# for after the deactivation, from other ports
after=$PRED_OUT

qs_run 5
"$NFQLB" show --json | json_test '[t["id"] for t in j["targets"]] == [1]' ||
	fail "after the block, the table's targets are not just 1: $("$NFQLB" show)"
info "after deactivate 2: the flows of both targets go to target 1"
expect_answers "after deactivate 2" "$after" 1

qs_run 6
qs_send lb "wait $LB_PID; echo QS-WORKER-EXIT \$?"
wait_until 10 grep -q '^QS-WORKER-EXIT ' "$LOGDIR/lb.log" ||
	fail "the worker did not exit after the last block"
rc=$(sed -n 's/^QS-WORKER-EXIT //p' "$LOGDIR/lb.log")
[ "$rc" = 0 ] || fail "the worker exited with status $rc"
nsx lb iptables-save | grep -q NFQLB && fail "lb's firewall still holds nfqlb rules: $(nsx lb iptables-save | grep NFQLB)"
[ -e "/dev/shm/$NFQLB_SHM" ] && fail "the table still exists"
pass
