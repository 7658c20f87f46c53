#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t-bpf-life: the fast path's program lives exactly as long as its worker,
# and `lb --bpf` fails loudly rather than run without it.
#
#	client --- lb --- sink		(topo_sink_marks: lb counts per mark)
#
# `lb --shm T --bpf c0 --vip VIP4,VIP6 --proto udp`, the queue rules
# passing marked packets by (queue_unmarked_only):
#   - the worker holds a tcx link at c0 (its fdinfo); 20 datagrams are
#     forwarded marked, and none reaches the queue rule;
#   - after SIGTERM, and again after SIGKILL (a worker with --bpf c0,t1,
#     which holds two links), the links and the program are gone (bpftool
#     finds none of their ids), no tc filter is left at the ingress, and
#     datagrams now all stop at the queue rule with no worker behind it:
#     nothing marks them any more;
#   - a new worker attaches again, after each, and marks;
#   - `--bpf nosuch0`: exit 1, one line naming the interface;
#   - without CAP_BPF, CAP_SYS_ADMIN and CAP_PERFMON (capsh --drop, from
#     the bounding set): exit 1 within 30 s, one line saying it needs
#     CAP_BPF, and the worker never ran without its fast path;
#   - usage errors, exit 2 and one line: --proto or --port without --bpf,
#     --bpf with --shm but no --vip, --bpf with --flows and --port, --vip
#     or --proto, and a bad --bpf list.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

need_root
need_cmd ip iptables ip6tables tc bpftool capsh timeout
need_bins

PORT=7000
LB_ARGS=(--shm "$NFQLB_SHM" --vip "$VIP4/32,$VIP6/128" --proto udp)

topo_sink_marks 0 101 102
queue_unmarked_only lb
from_client_rule -p udp
neigh_fix client 10.200.0.1 lb c0 eth0
"$NFQLB" init && "$NFQLB" activate 101 102 || fail "the table"

# send N: N datagrams from the client to VIP4:PORT, each from a new port.
send()
{
	nsx client timeout 10 "$PYTHON" -S -c '
import socket, sys
for _ in range(int(sys.argv[1])):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(b"x\n", (sys.argv[2], int(sys.argv[3])))
    s.close()
' "$1" "$VIP4" $PORT || fail "cannot send datagrams"
}

# counts_are FORWARDED QUEUED: lb forwarded and queued so many packets.
counts_are()
{
	[ "$(from_client) $(queue_hits lb)" = "$1 $2" ]
}

# marks_fast: 20 datagrams are forwarded, marked for 101 or 102, and the
# queue rule saw none of them.
marks_fast()
{
	local f q

	f=$(from_client)
	q=$(queue_hits lb)
	send 20
	wait_until 5 counts_are $((f + 20)) "$q" ||
		fail "$1: of 20 datagrams, $(($(from_client) - f)) forwarded and" \
			"$(($(queue_hits lb) - q)) queued, want 20 and 0"
	sink_sum_is iptables udp "$(from_client)" && [ -z "$(sink_marks iptables udp | grep -w '0:[0-9]*')" ] ||
		fail "$1: packets forwarded without a target's mark: $(sink_marks iptables udp)"
}

info "usage errors"
for args in "--proto udp" "--port 80" "--bpf c0" "--bpf c0 --vip 10.0.0.0/33" \
	"--bpf c0 --vip $VIP4 --proto icmp" "--bpf , --vip $VIP4" \
	"--flows $NFQLB_SHM-f --bpf c0 --port 80" "--flows $NFQLB_SHM-f --bpf c0 --proto udp" \
	"--flows $NFQLB_SHM-f --bpf c0 --vip $VIP4"; do
	# shellcheck disable=SC2086 # the arguments are words
	err=$(nsx lb timeout 10 "$NFQLB" lb $args 2>&1 >/dev/null)
	rc=$?
	[ $rc -eq 2 ] && [ "$(echo "$err" | wc -l)" -eq 1 ] ||
		fail "lb $args: exit $rc, want 2 and one line: $err"
done

info "--bpf on a missing interface: one line, exit 1"
one_error "--bpf nosuch0" lb in 'no interface "nosuch0"' \
	nsx lb timeout 30 "$NFQLB" lb --bpf nosuch0 "${LB_ARGS[@]}"

info "without CAP_BPF: one line naming it, exit 1"
one_error "without CAP_BPF" lb in "needs CAP_BPF" \
	nsx lb timeout 30 capsh --drop=cap_bpf,cap_sys_admin,cap_perfmon -- \
	-c 'exec "$0" "$@"' "$NFQLB" lb --bpf c0 "${LB_ARGS[@]}"
# The kernel must have refused: a worker that ran would have been cut by
# timeout (exit 124, which one_error refuses), and no link is left.
tc_ingress_empty lb c0 || fail "a tc filter at c0 after the refused worker"

for run in "TERM c0 1" "KILL c0,t1 2"; do
	read -r sig ifs nlinks <<<"$run"
	info "a worker with --bpf $ifs, then SIG$sig"
	lb_bpf_start lb "$ifs" "${LB_ARGS[@]}"
	links=$(bpf_fd_ids "$LB_PID" link_id)
	progs=$(bpf_fd_ids "$LB_PID" prog_id)
	[ "$(echo "$links" | wc -w) $(echo "$progs" | wc -w)" = "$nlinks 1" ] ||
		fail "the worker holds tcx links '$links' of programs '$progs'," \
			"want $nlinks of one program"
	marks_fast "SIG$sig: before"
	lb_stop "$sig"
	# shellcheck disable=SC2086 # the ids are words
	wait_until 5 bpf_gone link $links || fail "SIG$sig: the tcx link $links outlived the worker"
	# shellcheck disable=SC2086
	wait_until 5 bpf_gone prog $progs || fail "SIG$sig: the program $progs outlived the worker"
	tc_ingress_empty lb c0 && tc_ingress_empty lb t1 ||
		fail "SIG$sig: a tc filter is left at c0's or t1's ingress"
	f=$(from_client)
	q=$(queue_hits lb)
	send 10
	wait_until 5 counts_are "$f" $((q + 10)) ||
		fail "SIG$sig: of 10 datagrams with no worker, $(($(from_client) - f)) forwarded and" \
			"$(($(queue_hits lb) - q)) queued, want 0 and 10"
done

info "a worker attaches again after SIGKILL"
lb_bpf_start lb c0 "${LB_ARGS[@]}"
marks_fast "again"
lb_stop TERM
pass
