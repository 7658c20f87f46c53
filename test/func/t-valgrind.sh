#!/bin/bash
# t-valgrind: every CLI command, on its success and its error paths, runs
# clean under valgrind --leak-check=full: the exit code it should have, 0
# errors, and no heap block left at exit (of any leak kind, reachable
# included).  The worker has its own case, t-valgrind-lb.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

need_cmd valgrind python3
[ -x "$NFQLB" ] || fail "$NFQLB is not built"
# Needs no root: the table is in /dev/shm under this run's unique name.

VG_FAIL=99
RUNS=0

# vg WANT ARGS...: nfqlb ARGS under valgrind exits WANT, with a clean report.
vg()
{
	local want=$1 rc log="$LOGDIR/vg.log"

	shift
	timeout 60 valgrind --leak-check=full --show-leak-kinds=all \
		--errors-for-leak-kinds=all --error-exitcode=$VG_FAIL \
		--log-file="$log" "$NFQLB" "$@" >/dev/null 2>"$LOGDIR/err"
	rc=$?
	RUNS=$((RUNS + 1))
	[ "$rc" -ne $VG_FAIL ] || fail "valgrind found errors in 'nfqlb $*': $(cat "$log")"
	[ "$rc" -eq "$want" ] || fail "'nfqlb $*' exited $rc, want $want: $(cat "$LOGDIR/err")"
	grep -q "ERROR SUMMARY: 0 errors" "$log" ||
		fail "'nfqlb $*': no clean error summary: $(cat "$log")"
	grep -q "All heap blocks were freed -- no leaks are possible" "$log" ||
		fail "'nfqlb $*' leaves heap blocks: $(cat "$log")"
}

info "table commands, success and failure"
vg 1 show			# no table yet
vg 1 stats --json
vg 1 activate 1
vg 1 delete
vg 0 init --M 251 --N 4
vg 1 init			# exists
vg 0 init --force --M 251 --N 4 --hash addr --seed 7
vg 2 init --M 1000		# not prime
vg 2 init --N 0
vg 2 init --hash bogus
vg 0 activate 1 2 3
vg 0 activate --weight 5 2
vg 1 activate 4 5		# more than N=4
vg 2 activate 0
vg 2 activate --weight 1001 1
vg 2 activate
vg 0 deactivate 3
vg 1 deactivate 99
vg 2 deactivate x
vg 0 show
vg 0 show --json
vg 0 stats
vg 0 stats --json
vg 2 show extra
vg 2 stats --bogus
vg 2 show --shm
vg 2 show --shm a/b
vg 2 delete --shm ''		# empty: an error, not the default table
vg 2 show --shm=
vg 2 lb --queue 70000
vg 2 lb --no-target maybe

info "a corrupt table"
python3 -c 'import sys
with open(sys.argv[1], "r+b") as f: f.write(b"JUNK")' "/dev/shm/$NFQLB_SHM" || fail "poke"
vg 1 show
vg 1 stats --json
vg 1 activate 9
vg 1 deactivate 1
vg 1 lb --queue 0		# refuses before it binds a queue
vg 0 delete
vg 1 delete

info "help, version, usage"
vg 0 help
vg 0 help show
vg 2 help bogus
vg 0 version
vg 0 --version
vg 0 --help
vg 0 activate --help
vg 2 bogus
vg 2
info "$RUNS runs, 0 errors, no heap block left"
pass
