# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash disable=SC2034  # a library: its globals are read by the scripts that source it
# lib-predict.sh: flows whose targets the reference model predicts.
# Sourced by lib.sh; tests source lib.sh only.
#
# A check that traffic spreads over the targets does not send from random
# source ports and hope: predict asks test/ref/predict.py, which rebuilds
# the table from `nfqlb show --json` with test/ref/maglev_ref.py alone, for
# source ports that land on each active target, and the check then wants
# every flow answered by exactly the target predicted for its port.  Flows
# are run with nfqlb-conn -P, which prints "port P NAME" per flow.
#
# Each flow's ports are used once in a test (conntrack and TIME_WAIT
# remember a flow): predict takes them from SPORT_NEXT upwards and moves
# SPORT_NEXT past them.  Call predict in the test's shell, not in $(...),
# so that SPORT_NEXT moves.  They stay below the kernel's ephemeral ports
# (32768 up), so that no connection from a random port is one of them, and
# clear of the ports tests name themselves (20000.., 30000.., 40000..).

SPORT_NEXT=22000
SPORT_LAST=29999
declare -gA _TNAME=()	# target id -> the name its echo server answers

# target_names ID:NAME...: the name the target with each ID answers with
# (nfqlb-echo -n NAME), for the checks below.
target_names()
{
	local p

	for p in "$@"; do
		_TNAME[${p%%:*}]=${p#*:}
	done
}

# client_addr ADDR: the client's address in ADDR's family, CLIENT4 or
# CLIENT6: 10.200.0.2 and fd00:200::2 (the star and DSR topologies) unless
# the topology sets them (topo_tier).  The predicted flows come from it
# (nfqlb-conn -b), whatever other addresses a test gives the client.
CLIENT4=10.200.0.2
CLIENT6=fd00:200::2
client_addr()
{
	case $1 in
	*:*) echo "$CLIENT6" ;;
	*) echo "$CLIENT4" ;;
	esac
}

# predict_run ARGS...: test/ref/predict.py ARGS on table $NFQLB_SHM; its
# "SPORT ID" lines (or its error) in PRED_OUT.  Returns its exit code.
predict_run()
{
	# shellcheck disable=SC2154 # _libdir is lib.sh's
	PRED_OUT=$("$NFQLB" show --json | "$PYTHON" -S "$_libdir/../ref/predict.py" "$@" 2>&1)
}

# predict SRC DST PROTO DPORT K: from SPORT_NEXT up, the first K source
# ports whose flows SRC -> DST:DPORT (PROTO tcp or udp) the reference model
# sends to each active target of $NFQLB_SHM.  Sets PRED_PORTS (the ports,
# comma-separated, for nfqlb-conn -P) and PRED_WANT (the "port P NAME"
# lines nfqlb-conn -P must print), and moves SPORT_NEXT past the ports.
predict()
{
	local p id name last=0

	predict_run --src "$1" --dst "$2" --proto "$3" --dport "$4" \
		--first "$SPORT_NEXT" --per-target "$5" ||
		fail "predict.py: $PRED_OUT"
	PRED_PORTS=""
	PRED_WANT=""
	while read -r p id; do
		name=${_TNAME[$id]:-}
		[ -n "$name" ] || fail "predict: no name for target $id (see target_names)"
		PRED_PORTS+="${PRED_PORTS:+,}$p"
		PRED_WANT+="port $p $name"$'\n'
		last=$p
	done <<<"$PRED_OUT"
	SPORT_NEXT=$((last + 1))
	[ "$last" -le "$SPORT_LAST" ] ||
		fail "predict: the test used up the ports for predicted flows"
}

# expect_predicted WHAT OUTPUT RC [WANT]: nfqlb-conn -P's OUTPUT and exit
# code RC show no failure, and every flow was answered by the target WANT
# (default PRED_WANT) names for its port.  WHAT names the traffic.
expect_predicted()
{
	local what=$1 out=$2 rc=$3 want=${4-$PRED_WANT} got bad

	got=$(echo "$out" | grep '^port ')
	[ -n "$want" ] || fail "$what: no flows predicted"
	if [ "$rc" != 0 ] || [ "$(conn_count "$out" failed)" -ne 0 ]; then
		fail "$what: nfqlb-conn failed (exit $rc): $(echo "$out" | tr '\n' ' ')"
	fi
	[ "$got" = "${want%$'\n'}" ] && return 0
	bad=$(diff <(echo "${want%$'\n'}") <(echo "$got") | sed -n 's/^> port //p' |
		head -n 8 | tr '\n' ' ')
	fail "$what: flows reached other targets than the model predicts" \
		"(port answered-by): $bad"
}

# spread_check VIP PROTO K [SRC]: K flows per active target from the
# client (address SRC, default client_addr VIP) to VIP:80 over PROTO (tcp
# or udp), with predicted source ports; each must be answered by its
# predicted target (so none by a target that is not active, nor by "lb").
spread_check()
{
	local vip=$1 proto=$2 k=$3 src=${4:-} flag="" out rc

	[ -n "$src" ] || src=$(client_addr "$vip")
	[ "$proto" = udp ] && flag=-u
	predict "$src" "$vip" "$proto" 80 "$k"
	out=$(conn client $flag -t 1000 -b "$src" -P "$PRED_PORTS" "$vip" 80)
	rc=$?
	expect_predicted "$proto to $vip" "$out" $rc
	SPREAD_OUT=$out
}
