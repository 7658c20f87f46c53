#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t-valgrind: every CLI command, on its success and its error paths, runs
# clean under valgrind --leak-check=full: the exit code it should have, 0
# errors, and no heap block left at exit (of any leak kind, reachable
# included).  Two streams run side by side: the table's life (missing,
# made, changed, shown, corrupt, deleted), and the commands that need no
# table (help, version, usage errors).  The worker is t-valgrind-lb.
#@ not-sanitized: valgrind cannot run a build with ASan
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

need_plain_build
need_cmd valgrind timeout
[ -x "$NFQLB" ] || fail "$NFQLB is not built"
# Needs no root: the tables are in /dev/shm under this run's unique names.
NOTABLE=$NFQLB_SHM-none		# never made, unless a command errs
trap 'rc=$?; rm -f "/dev/shm/$NOTABLE"; (exit $rc); cleanup' EXIT

VG_FAIL=99

# vg TAG WANT ARGS...: nfqlb ARGS under valgrind exits WANT, with a clean
# report.  TAG names the stream's files.
vg()
{
	local tag=$1 want=$2 rc log="$LOGDIR/$1-vg.txt" err="$LOGDIR/$1-err.txt"

	shift 2
	timeout 60 valgrind --leak-check=full --show-leak-kinds=all \
		--errors-for-leak-kinds=all --error-exitcode=$VG_FAIL \
		--log-file="$log" "$NFQLB" "$@" >/dev/null 2>"$err"
	rc=$?
	echo "nfqlb $*" >>"$LOGDIR/$tag-runs.txt"
	[ "$rc" -ne $VG_FAIL ] || fail "valgrind found errors in 'nfqlb $*': $(cat "$log")"
	[ "$rc" -eq "$want" ] || fail "'nfqlb $*' exited $rc, want $want: $(cat "$err")"
	grep -q "ERROR SUMMARY: 0 errors" "$log" ||
		fail "'nfqlb $*': no clean error summary: $(cat "$log")"
	grep -q "All heap blocks were freed -- no leaks are possible" "$log" ||
		fail "'nfqlb $*' leaves heap blocks: $(cat "$log")"
}

table_life()
{
	vg t 1 show			# no table yet
	vg t 1 delete
	vg t 0 init --M 251 --N 4
	vg t 1 init			# exists
	vg t 0 init --force --M 251 --N 4 --hash addr --seed 7
	vg t 0 activate 1 2 3
	vg t 0 activate --weight 5 2
	vg t 1 activate 4 5		# more than N=4
	vg t 0 deactivate 3
	vg t 1 deactivate 99
	vg t 0 show
	vg t 0 show --json
	vg t 0 stats
	vg t 0 stats --json
	printf 'JUNK' | dd of="/dev/shm/$NFQLB_SHM" conv=notrunc status=none ||
		fail "dd"
	vg t 1 show --json		# corrupt
	vg t 1 activate 9
	vg t 1 lb --queue 0		# refuses before it binds a queue
	vg t 1 delete			# no nfqlb magic: wants --force
	vg t 0 delete --force
}

no_table()
{
	export NFQLB_SHM=$NOTABLE
	vg n 0 help
	vg n 0 help show
	vg n 2 help bogus
	vg n 0 version
	vg n 0 --help
	vg n 0 activate --help
	vg n 2 bogus
	vg n 2
	vg n 2 init --M 1000		# not prime
	vg n 2 activate 0
	vg n 2 deactivate x
	vg n 2 show extra
	vg n 2 stats --shm a/b
	vg n 2 delete --shm ''		# empty: an error, not the default table
	vg n 2 lb --queue 70000
	vg n 2 stats --bogus
}

info "two streams: the table's life, and commands that need no table"
( table_life ) &
life=$!
( no_table ) &
other=$!
# Both finish before any verdict: nothing may run on after cleanup.
wait "$life"
life=$?
wait "$other"
other=$?
[ "$life" -eq 0 ] || fail "the table stream failed"
[ "$other" -eq 0 ] || fail "the no-table stream failed"
[ -e "/dev/shm/$NOTABLE" ] && fail "a usage error made a table"
info "$(cat "$LOGDIR"/*-runs.txt | wc -l) runs, 0 errors, no heap block left"
pass
