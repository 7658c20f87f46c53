#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t-metrics: the Prometheus exposition, printed and served.  One namespace;
# UDP to 127.0.0.1:9999 goes through NFQUEUE 0 on OUTPUT to a worker on
# table A, so its counters are not zero.  Table B (a name with a quote and
# a backslash, to exercise escaping) has targets but no worker.
#   1. traffic through the worker on A;
#   2. `stats --prometheus` of A agrees with `stats --json` / `show --json`
#      (prometheus_client's parser, test/func/prom-check.py);
#   3. `nfqlb metrics --listen 127.0.0.1:PORT --shm A --shm B` in the
#      namespace, scraped with curl there: content type, both tables agree
#      with their JSON, HEAD works, other paths 404, POST 405;
#   4. B deleted: it shows nfqlb_table_up 0 and nothing else, A is intact,
#      the server lives on; B made again: up again;
#   5. a bad --listen exits 2, a port in use exits 1 with one line;
#   6. SIGTERM: exit status 0.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

need_root
need_cmd ip iptables timeout curl
need_bins

# A python 3 with prometheus_client (python3-prometheus-client in Debian);
# the first python3 on PATH may be another installation.
PY=""
for p in python3 /usr/bin/python3; do
	if command -v "$p" >/dev/null 2>&1 &&
		"$p" -c 'import prometheus_client.parser' 2>/dev/null; then
		PY=$p
		break
	fi
done
[ -n "$PY" ] || skip "needs python3 with prometheus_client (python3-prometheus-client)"
CHECK="$(dirname "$0")/prom-check.py"
A=$NFQLB_SHM
B="$NFQLB_SHM-b\"q\\x"
PORT=9464
URL="http://127.0.0.1:$PORT/metrics"

topo_loopback 7 8

"$NFQLB" init || fail "init A"
"$NFQLB" activate --weight 3 7 || fail "activate 7"
"$NFQLB" activate 8 || fail "activate 8"
"$NFQLB" init --shm "$B" --M 13 --N 4 || fail "init B"
"$NFQLB" activate --shm "$B" 1 2 3 || fail "activate B"
"$NFQLB" deactivate --shm "$B" 2 || fail "deactivate B"
start_bg lb "$NFQLB" lb --queue 0
wait_for lb_ready || fail "the worker did not start"

info "1. 40 datagrams through the worker on A"
lo_send 40
wait_for lo_marked_is 40 7 8 || fail "marked $(lo_marked 7 8), want 40"

# The worker copies its queue's backlog from /proc once a second: wait
# until it has copied an empty one, so that every later snapshot and
# scrape sees the same numbers.
queue_idle()
{
	"$NFQLB" stats --json | json_test 'j["queues"] and all(q["waiting"] == 0 for q in j["queues"])'
}
wait_for queue_idle || fail "the worker's queue never showed empty"

# snap NAME TAG: `stats --json` and `show --json` of table NAME into
# $LOGDIR/TAG.stats and $LOGDIR/TAG.show.
snap()
{
	"$NFQLB" stats --json --shm "$1" >"$LOGDIR/$2.stats" || fail "stats --json of $1"
	"$NFQLB" show --json --shm "$1" >"$LOGDIR/$2.show" || fail "show --json of $1"
}

# check FILE ARGS...: prom-check.py on FILE, or fail showing why.
check()
{
	local out

	out=$("$PY" "$CHECK" "$@" 2>&1) || fail "$1: $out"
}

info "2. stats --prometheus"
snap "$A" a
"$NFQLB" stats --prometheus >"$LOGDIR/stats.prom" || fail "stats --prometheus"
check "$LOGDIR/stats.prom" --up "$A" "$LOGDIR/a.stats" "$LOGDIR/a.show" --busy "$A"

info "3. nfqlb metrics, scraped in the namespace"
start_bg lb "$NFQLB" metrics --listen "127.0.0.1:$PORT" --shm "$A" --shm "$B"
SRV=$BG_PID

# scrape TAG [CURL_OPTION...]: GET /metrics from inside the namespace; the
# body in $LOGDIR/TAG.prom, the headers in $LOGDIR/TAG.hdr.
scrape()
{
	local tag=$1

	shift
	nsx lb curl -sS -f -m 5 -D "$LOGDIR/$tag.hdr" -o "$LOGDIR/$tag.prom" "$@" "$URL"
}

# http_code METHOD PATH: the status of one request from inside the namespace.
http_code()
{
	nsx lb curl -s -m 5 -o /dev/null -w '%{http_code}' -X "$1" \
		"http://127.0.0.1:$PORT$2"
}

wait_for scrape first || fail "the metrics server does not answer on $URL"
snap "$B" b
scrape both || fail "scrape failed"
tr -d '\r' <"$LOGDIR/both.hdr" | grep -qix \
	'content-type: text/plain; version=0.0.4; charset=utf-8' ||
	fail "bad content type: $(cat "$LOGDIR/both.hdr")"
check "$LOGDIR/both.prom" --up "$A" "$LOGDIR/a.stats" "$LOGDIR/a.show" --busy "$A" \
	--up "$B" "$LOGDIR/b.stats" "$LOGDIR/b.show"
cmp -s "$LOGDIR/stats.prom" <(grep -v -F "$NFQLB_SHM-b" "$LOGDIR/both.prom") ||
	fail "the served samples of A differ from stats --prometheus"
scrape head -I || fail "HEAD /metrics failed"
[ "$(http_code GET /)" = 404 ] || fail "GET / is not 404"
[ "$(http_code GET /metrics/x)" = 404 ] || fail "GET /metrics/x is not 404"
[ "$(http_code POST /metrics)" = 405 ] || fail "POST /metrics is not 405"

info "4. B deleted, then made again"
"$NFQLB" delete --shm "$B" || fail "delete B"
scrape gone || fail "scrape after deleting B failed"
snap "$A" a
check "$LOGDIR/gone.prom" --up "$A" "$LOGDIR/a.stats" "$LOGDIR/a.show" --down "$B"
alive "$SRV" || fail "the metrics server died"
"$NFQLB" init --shm "$B" --M 13 --N 4 || fail "init B again"
"$NFQLB" activate --shm "$B" 5 || fail "activate B again"
snap "$B" b
scrape back || fail "scrape after making B again failed"
check "$LOGDIR/back.prom" --up "$A" "$LOGDIR/a.stats" "$LOGDIR/a.show" \
	--up "$B" "$LOGDIR/b.stats" "$LOGDIR/b.show"

info "5. bad --listen, port in use"
nsx lb "$NFQLB" metrics --listen "127.0.0.1" 2>/dev/null
rc=$?
[ $rc -eq 2 ] || fail "a --listen without a port exited $rc, want 2"
one_error "port in use" metrics in "cannot listen on 127.0.0.1:$PORT: Address already in use" \
	nsx lb "$NFQLB" metrics --listen "127.0.0.1:$PORT" --shm "$A"
scrape after || fail "the server stopped answering"

info "6. SIGTERM"
kill -TERM "$SRV"
wait "$SRV"
rc=$?
[ $rc -eq 0 ] || fail "the metrics server exited with $rc"
alive "$SRV" && fail "the metrics server still runs"
pass
