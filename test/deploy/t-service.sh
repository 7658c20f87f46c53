#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t-service: the installed units' exact command lines, run as the units run
# them, bring up a worker and a health checker that balance a packet, with
# only the capabilities the units grant, and only the system calls and
# socket families they allow.
#
# There is no systemd to start the units here, so each command line is read
# from the installed unit by unit.py (specifiers and the example config's
# environment expanded as systemd expands them) and run in a network
# namespace under `setpriv` with the unit's capability bounding set and
# no_new_privs, an environment of the unit's variables only, and `strace
# -f`, whose trace is checked against the unit's SystemCallFilter= and
# RestrictAddressFamilies= (seccomp itself cannot be applied without
# systemd; neither can RestrictRealtime= or the file system protections).
#
#   1. install (PREFIX and SYSCONFDIR in a temporary directory) and the
#      example web.conf as the instance's config (its NFQLB_SHM made this
#      test's table); the namespace queues UDP to port 9999 on lo as
#      NFQLB_LB_ARGS' --queue says;
#   2. ExecStartPre makes the table from NFQLB_INIT_ARGS; run again, it
#      keeps the existing table as it is;
#   3. ExecStart without CAP_NET_ADMIN fails, saying it needs it;
#   4. ExecStart with the unit's capabilities: the worker comes up, holding
#      exactly those capabilities, and no_new_privs;
#   5. nfqlb-health@'s ExecStart (no capability) activates targets 1, 2
#      and 3, whose TCP, UDP and exec checks pass; 30 datagrams leave marked
#      with them; both exit 0 on SIGTERM;
#   6. the traces of 2, 4 and 5 stay within the units' system call and
#      socket family lists;
#   7. --shed: refused with the unit alone (CAP_BPF); with the shed.conf
#      drop-in it attaches, within the merged lists;
#   8. --rt-priority: refused with the unit alone; with rt-priority.conf the
#      queue threads run SCHED_FIFO, within the merged lists.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

need_root
need_cmd ip iptables setpriv strace capsh systemd-analyze python3 ps timeout
need_bins
need_built "$COMPLETION"

SYSTEMD_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
HEALTH_PORT=8081

prefix=$LOGDIR/usr
etc=$LOGDIR/etc
units=$prefix/lib/systemd/system
examples=$prefix/share/doc/nfqlb/examples
lbunit=$units/nfqlb@.service
hcunit=$units/nfqlb-health@.service
inst=$NFQLB_SHM		# the instance; its config names this test's table

# conf INSTANCE [EXTRA_LB_ARGS]: the example web.conf as INSTANCE's config,
# with this test's table, and EXTRA_LB_ARGS appended to NFQLB_LB_ARGS.
conf()
{
	sed -e "s/^NFQLB_SHM=.*/NFQLB_SHM=$NFQLB_SHM/" \
		-e "s/^\(NFQLB_LB_ARGS=\"[^\"]*\)\"$/\1${2:+ $2}\"/" \
		"$examples/web.conf" >"$etc/nfqlb/$1.conf" || fail "conf $1"
	grep -qx "NFQLB_SHM=$NFQLB_SHM" "$etc/nfqlb/$1.conf" || fail "web.conf has no NFQLB_SHM line"
	[ -z "${2:-}" ] || grep -q "^NFQLB_LB_ARGS=\".* $2\"$" "$etc/nfqlb/$1.conf" ||
		fail "web.conf has no NFQLB_LB_ARGS=\"...\" line"
}

# unit_cmd UNIT INSTANCE KEY [DROPIN...]: the unit's command line KEY in
# CMD, its environment in ENVV, and setpriv options granting what it grants
# in PRIV.
unit_cmd()
{
	local u=$1 i=$2 k=$3

	shift 3
	mapfile -d '' CMD < <(unit_py argv "$u" "$i" "$k" "$@")
	mapfile -d '' ENVV < <(unit_py env "$u" "$i" "$@")
	mapfile -d '' PRIV < <(unit_py setpriv "$u" "$i" "$@")
	[ "${#CMD[@]}" -gt 0 ] || fail "cannot read $k of $u"
	[ "${#PRIV[@]}" -gt 0 ] || fail "cannot read the capabilities of $u"
}

# as_unit TRACE [SECONDS]: run CMD as the unit would (see the top), in
# namespace lb, traced into TRACE ("" for no trace), killed after SECONDS if
# given.
as_unit()
{
	local trace=$1 tmo=()

	[ -z "${2:-}" ] || tmo=(timeout "$2")
	if [ -n "$trace" ]; then
		nsx lb "${tmo[@]}" setpriv "${PRIV[@]}" env -i PATH="$SYSTEMD_PATH" \
			"${ENVV[@]}" strace -f -qq -o "$trace" -- "${CMD[@]}"
	else
		nsx lb "${tmo[@]}" setpriv "${PRIV[@]}" env -i PATH="$SYSTEMD_PATH" \
			"${ENVV[@]}" "${CMD[@]}"
	fi
}

# start_unit NAME TRACE: as_unit in the background, log $LOGDIR/NAME.log.
# Sets TPID, the background job, and UPID, the process running CMD.
start_unit()
{
	local n=$1 trace=$2

	as_unit "$trace" >"$LOGDIR/$n.log" 2>&1 &
	TPID=$!
	_PIDS+=("$TPID")
	UPID=""
	wait_for cmd_pid "$TPID" || fail "$n did not start: $(cat "$LOGDIR/$n.log")"
	UPID=$(cmd_pid "$TPID")
	_PIDS+=("$UPID")
}

# cmd_pid PID: print the process that runs CMD[0], PID or a descendant
# through only children (the job's shell, strace); fails while there is none.
cmd_pid()
{
	local p=$1 i

	for ((i = 0; i < 6; i++)); do
		[ "$(readlink "/proc/$p/exe" 2>/dev/null)" = "${CMD[0]}" ] && { echo "$p"; return 0; }
		p=$(ps -o pid= --ppid "$p" | tr -d ' ')
		[ -n "$p" ] && [ "$(wc -w <<<"$p")" -eq 1 ] || return 1
	done
	return 1
}

# stop_unit NAME: SIGTERM to UPID; its exit status (through strace) must be 0.
stop_unit()
{
	local rc

	kill -TERM "$UPID" || fail "$1 is not running: $(cat "$LOGDIR/$1.log")"
	wait "$TPID"
	rc=$?
	[ "$rc" -eq 0 ] || fail "$1 exited with $rc: $(cat "$LOGDIR/$1.log")"
}

# has_target ID: the table has ID active.
has_target()
{
	"$NFQLB" show --json | python3 -c 'import json, sys
sys.exit(int(sys.argv[1]) not in [t["id"] for t in json.load(sys.stdin)["targets"]])' "$1"
}

# caps_are PID WANT: PID's effective and bounding sets are WANT (capsh
# --decode names, comma-separated and sorted; "" for none), and
# no_new_privs is set.
caps_are()
{
	local st eff bnd

	st=$(cat "/proc/$1/status") || fail "no process $1"
	eff=$(capsh --decode="$(awk '/^CapEff:/ { print $2 }' <<<"$st")" | sed 's/^0x[0-9a-f]*=\?//')
	bnd=$(capsh --decode="$(awk '/^CapBnd:/ { print $2 }' <<<"$st")" | sed 's/^0x[0-9a-f]*=\?//')
	eff=$(tr ',' '\n' <<<"$eff" | sort | paste -sd,)
	bnd=$(tr ',' '\n' <<<"$bnd" | sort | paste -sd,)
	[ "$eff" = "$2" ] || fail "process $1 has capabilities '$eff', want '$2'"
	[ "$bnd" = "$2" ] ||
		fail "process $1 has the bounding set '$bnd', want '$2'"
	grep -q '^NoNewPrivs:[[:space:]]*1$' <<<"$st" || fail "process $1 lacks no_new_privs"
}

# has_ring: a live worker serving $NFQLB_SHM has a trace ring.
has_ring()
{
	"$NFQLB" trace --list --shm "$NFQLB_SHM" --json | json_test 'j["workers"]'
}

# check_trace UNIT TRACE [DROPIN...]: the trace is within the unit's lists.
check_trace()
{
	local out

	out=$(unit_py check-trace "$1" "$inst" "$2" "${@:3}" 2>&1) ||
		fail "$(basename "$2"): $out"
}

# refused WHY: ExecStart (in CMD, ENVV, PRIV) exits 1 saying WHY.
refused()
{
	local out rc

	out=$(as_unit "" 10 2>&1)
	rc=$?
	[ "$rc" -eq 1 ] || fail "ExecStart (${PRIV[0]}) exited $rc, want 1: $out"
	grep -q "$1" <<<"$out" || fail "ExecStart (${PRIV[0]}) did not say '$1': $out"
}

info "1. install; the example config; the namespace"
deploy_install PREFIX="$prefix" SYSCONFDIR="$etc"
mkdir -p "$etc/nfqlb" || fail "mkdir"
conf "$inst"
unit_cmd "$lbunit" "$inst" ExecStart
queue=$(printf '%s\n' "${CMD[@]}" | sed -n '/^--queue$/{n;p}')
case $queue in
*:*) LO_NFQUEUE="--queue-balance $queue" ;;
[0-9]*) LO_NFQUEUE="--queue-num $queue" ;;
*) fail "no --queue in ExecStart: ${CMD[*]}" ;;
esac
topo_loopback 1 2 3

info "2. ExecStartPre makes the table, then keeps it"
unit_cmd "$lbunit" "$inst" ExecStartPre
[ "${CMD[0]}" = /bin/sh ] || fail "ExecStartPre: ${CMD[*]}"
as_unit "$LOGDIR/pre.trace" || fail "ExecStartPre failed"
init_args=$(printf '%s\n' "${ENVV[@]}" | sed -n 's/^NFQLB_INIT_ARGS=//p')
m=$(sed -n 's/.*--M \([0-9]*\).*/\1/p' <<<"$init_args")
[ -n "$m" ] || fail "NFQLB_INIT_ARGS has no --M: $init_args"
"$NFQLB" show --json | python3 -c 'import json, sys
t = json.load(sys.stdin)
sys.exit(not (t["M"] == int(sys.argv[1]) and t["targets"] == []))' "$m" ||
	fail "ExecStartPre did not make the table NFQLB_INIT_ARGS ask for"
"$NFQLB" activate 2 || fail "activate 2"
before=$("$NFQLB" show --json) || fail "show"
as_unit "" || fail "ExecStartPre failed on an existing table"
[ "$("$NFQLB" show --json)" = "$before" ] || fail "ExecStartPre changed the existing table"
has_target 2 || fail "target 2 is not active"
"$NFQLB" deactivate 2 2>/dev/null || fail "deactivate 2"

info "3. ExecStart without CAP_NET_ADMIN is refused"
unit_cmd "$lbunit" "$inst" ExecStart
PRIV_UNIT=("${PRIV[@]}")
PRIV=(--bounding-set=-all --inh-caps=-all --ambient-caps=-all --no-new-privs)
refused "needs CAP_NET_ADMIN"
PRIV=("${PRIV_UNIT[@]}")

info "4. ExecStart: the worker, with the unit's capabilities"
start_unit lb "$LOGDIR/lb.trace"
LB_UPID=$UPID LB_TPID=$TPID
wait_for lb_ready || fail "the worker did not come up: $(cat "$LOGDIR/lb.log")"
# Its trace ring too: `nfqlb trace` must work on a worker run by the unit.
wait_until 5 has_ring || fail "the worker has no trace ring: $(cat "$LOGDIR/lb.log")"
caps_are "$LB_UPID" "$(unit_py caps "$lbunit" "$inst")"
[ "$(unit_py caps "$lbunit" "$inst")" = cap_net_admin ] ||
	fail "nfqlb@.service grants $(unit_py caps "$lbunit" "$inst"), want cap_net_admin"

info "5. nfqlb-health@: targets 1, 2, 3 come up; packets are marked"
start_bg lb "$TOOLS/nfqlb-echo" -4 -p "$HEALTH_PORT" -a 127.0.0.1 -n t1
cat >"$etc/nfqlb/$inst.health" <<EOF2
$NFQLB_SHM 1 tcp 127.0.0.1:$HEALTH_PORT interval=0.2 rise=1
$NFQLB_SHM 2 udp 127.0.0.1:$HEALTH_PORT interval=0.2 rise=1
$NFQLB_SHM 3 exec "test -e /dev/null" interval=0.2 rise=1
EOF2
unit_cmd "$hcunit" "$inst" ExecStart
[ "${CMD[3]}" = "$etc/nfqlb/$inst.health" ] || fail "nfqlb-health@ ExecStart: ${CMD[*]}"
start_unit health "$LOGDIR/health.trace"
caps_are "$UPID" ""
for id in 1 2 3; do
	wait_for -n 50 has_target "$id" ||
		fail "the health checker did not activate target $id: $(cat "$LOGDIR/health.log")"
done
lo_send 30
wait_for lo_marked_is 30 1 2 3 || fail "marked 1, 2, 3: $(lo_marked 1 2 3), want 30"
stop_unit health
UPID=$LB_UPID TPID=$LB_TPID
stop_unit lb

info "6. the traces are within the units' lists"
check_trace "$lbunit" "$LOGDIR/pre.trace"
check_trace "$lbunit" "$LOGDIR/lb.trace"
check_trace "$hcunit" "$LOGDIR/health.trace"
grep -q 'socket(AF_NETLINK' "$LOGDIR/lb.trace" || fail "the worker's trace has no netlink socket"
# The check must be able to fail: the worker's trace against the health unit.
unit_py check-trace "$hcunit" "$inst" "$LOGDIR/lb.trace" >"$LOGDIR/neg.out" 2>&1 &&
	fail "the worker's trace passed the health checker's lists"
grep -q "AF_NETLINK is not in RestrictAddressFamilies" "$LOGDIR/neg.out" ||
	fail "check-trace did not name AF_NETLINK: $(cat "$LOGDIR/neg.out")"

info "7. --shed needs the shed.conf drop-in"
nsx lb ip link add sh0 type veth peer name sh1 || fail "veth"
nsx lb ip link set sh0 up || fail "link up"
nsx lb ip link set sh1 up || fail "link up"
conf "$inst-shed" "--shed sh0 --vip $VIP4"
unit_cmd "$lbunit" "$inst-shed" ExecStart
refused "needs CAP_BPF"
unit_cmd "$lbunit" "$inst-shed" ExecStart "$examples/shed.conf"
start_unit shed "$LOGDIR/shed.trace"
wait_for -n 50 grep -q "shedding on sh0" "$LOGDIR/shed.log" ||
	fail "no shedding: $(cat "$LOGDIR/shed.log")"
caps_are "$UPID" "$(unit_py caps "$lbunit" "$inst" "$examples/shed.conf")"
stop_unit shed
check_trace "$lbunit" "$LOGDIR/shed.trace" "$examples/shed.conf"
# Without the drop-in, the system call check must fail, naming bpf.
unit_py check-trace "$lbunit" "$inst" "$LOGDIR/shed.trace" >"$LOGDIR/neg.out" 2>&1 &&
	fail "the shed trace passed the unit's lists without shed.conf"
grep -q "^system call bpf (" "$LOGDIR/neg.out" ||
	fail "check-trace did not name bpf: $(cat "$LOGDIR/neg.out")"

info "8. --rt-priority needs the rt-priority.conf drop-in"
conf "$inst-rt" "--rt-priority 10"
unit_cmd "$lbunit" "$inst-rt" ExecStart
refused "SCHED_FIFO: Operation not permitted"
unit_cmd "$lbunit" "$inst-rt" ExecStart "$examples/rt-priority.conf"
start_unit rt "$LOGDIR/rt.trace"
wait_for -n 50 grep -q "SCHED_FIFO priority 10" "$LOGDIR/rt.log" ||
	fail "no SCHED_FIFO: $(cat "$LOGDIR/rt.log")"
[ "$(ps -L -o cls= -p "$UPID" | grep -c FF)" -ge 1 ] || fail "no SCHED_FIFO thread"
caps_are "$UPID" "$(unit_py caps "$lbunit" "$inst" "$examples/rt-priority.conf")"
stop_unit rt
check_trace "$lbunit" "$LOGDIR/rt.trace" "$examples/rt-priority.conf"
pass
