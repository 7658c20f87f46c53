#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# run.sh [TEST...]: run the function tests (default: every test/func/t-*.sh;
# a TEST is a name like t-dsr), FUNC_JOBS of them at a time (default two
# per CPU: the tests mostly wait on timers and the network),
# each as its own process bounded by `timeout 120` (FUNC_TIMEOUT=SECONDS
# overrides), and count the results.  Each test builds its own namespaces
# and table, so tests do not meet; they share only the CPUs.
#
# A test's output is kept in a file while it runs and printed in one piece
# when it ends, followed by its result line, so that the output of tests
# running side by side never interleaves.  The slowest tests start first:
# their durations from the last run are kept in FUNC_TIMES, when set, and
# test/func/durations holds those of a run on a 2-vCPU machine for a first
# run (a test in neither starts first).
#
# A test whose header says, on a line of its own,
#	#@ alone: REASON
# (it checks a bound in real time, which tests beside it would stretch)
# runs after the others, with no other test beside it.
#
# Exit 77 from a test is a skip.  Without root most tests skip, and the
# summary says loudly how many did.  Under CI (CI=true or CI=1) a skip is a
# failure: a test that did not run proved nothing.
# Needs NFQLB and TOOLS in the environment (the Makefile's `func` target
# passes them).  Ends with "N passed, N failed, N skipped" and exits 1 when
# any test failed.
#
# Sanitizer builds: NFQLB_SAN set says NFQLB and TOOLS are built with ASan
# and UBSan (make func-san).  FUNC_SAN_NFQLB and FUNC_SAN_TOOLS, when set,
# name such a build too, and every test then runs twice in the one pool:
# against NFQLB and TOOLS, and against the sanitizer build, as "TEST (san)"
# (make check).  Against a sanitizer build, the tests that declare in their
# header, on a line of its own,
#	#@ not-sanitized: REASON
# (valgrind cannot run a sanitizer build) are not selected at all, and are
# listed as such; the others' sanitizer reports go to files, and a test
# after which any process (nfqlb, a tool, in the fore- or background) left
# a report fails, whatever the test itself concluded.
#
# Each test gets NFQLB_TEST_ID, which names its namespaces
# (nfqlb-t<ID>-*) and table (/dev/shm/nfqlb-test-<ID>).  A test killed by
# the timeout cannot clean up after itself, so run.sh removes exactly those
# names afterwards.

dir=$(cd "$(dirname "$0")" && pwd)
: "${NFQLB:?set NFQLB to the nfqlb binary}"
: "${TOOLS:?set TOOLS to the test tools directory}"

limit=${FUNC_TIMEOUT:-120}	# seconds per test
jobs=${FUNC_JOBS:-$((2 * $(nproc)))}
times=${FUNC_TIMES:-}		# "KEY SECONDS" lines from the last run
ci=0
case ${CI:-} in true | 1) ci=1 ;; esac
passed=0
failed=0
skipped=0
failures=()
# The builds: BIN_OF, TOOLS_OF and SAN_OF (1: sanitizers) by config, and
# the suffix of a test's name in that config.
BIN_OF=("$NFQLB")
TOOLS_OF=("$TOOLS")
SAN_OF=("${NFQLB_SAN:+1}")
SUFFIX_OF=("")
if [ -n "${FUNC_SAN_NFQLB:-}" ]; then
	: "${FUNC_SAN_TOOLS:?set FUNC_SAN_TOOLS with FUNC_SAN_NFQLB}"
	BIN_OF+=("$FUNC_SAN_NFQLB")
	TOOLS_OF+=("$FUNC_SAN_TOOLS")
	SAN_OF+=(1)
	SUFFIX_OF+=(" (san)")
fi
declare -A KEY_OF ID_OF START_OF	# by the PID of a running test

work=$(mktemp -d "${TMPDIR:-/tmp}/nfqlb-func.XXXXXX") || exit 1
# lib.sh's Python, resolved once for every test (see there).
if [ -z "${PYTHON:-}" ] && command -v python3 >/dev/null; then
	PYTHON=$(python3 -c 'import sys; print(sys.executable)') && export PYTHON
fi

# stop_all: end the tests still running (their timeout processes, by PID),
# sweep their names, remove the work directory.
stop_all()
{
	local pid

	for pid in "${!KEY_OF[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${!KEY_OF[@]}"; do
		wait "$pid" 2>/dev/null
		sweep "${ID_OF[$pid]}"
	done
	rm -rf "$work"
}
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# sweep ID: remove what a killed test with this id left behind.
sweep()
{
	local ns

	for ns in $(ip netns list 2>/dev/null | awk '{ print $1 }'); do
		case $ns in
		"nfqlb-t$1-"*)
			# The test's processes still in it die with it.
			ip netns pids "$ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
			ip netns del "$ns" 2>/dev/null
			;;
		esac
	done
	rm -f "/dev/shm/nfqlb-test-$1" "/dev/shm/nfqlb-test-$1-"*
}

# file_of KEY: the stem of test KEY's files in $work ("CONFIG.t-name": a
# colon would end a path in ASAN_OPTIONS).
file_of()
{
	echo "$work/${1%%:*}.${1#*:}"
}

# san_reports KEY: print and remove the sanitizer reports the processes of
# test KEY left; 0 when there were any.
san_reports()
{
	local f found=1

	for f in "$(file_of "$1").san"/*; do
		[ -e "$f" ] || continue
		found=0
		echo "--- sanitizer report $(basename "$f")"
		head -n 40 "$f"
		rm -f "$f"
	done
	return $found
}

# label KEY: "t-name" or "t-name (san)" for the key "CONFIG:t-name".
label()
{
	echo "${1#*:}${SUFFIX_OF[${1%%:*}]}"
}

# time_key KEY: the name of test KEY ("CONFIG:t-name") in the durations:
# t-name, or t-name/san against a sanitizer build.
time_key()
{
	echo "${1#*:}${SAN_OF[${1%%:*}]:+/san}"
}

# last_time KEY: the seconds KEY took in the last run, or in durations
# (9999 if unknown, so that a new test starts early).
last_time()
{
	local f s="" k

	k=$(time_key "$1")
	for f in "$times" "$dir/durations"; do
		{ [ -n "$f" ] && [ -r "$f" ]; } || continue
		s=$(awk -v n="$k" '$1 == n { print $2; exit }' "$f")
		[ -n "$s" ] && break
	done
	echo "${s:-9999}"
}

# select_tests NAME...: the keys ("CONFIG:t-name") to run side by side,
# slowest first, in KEYS, those to run alone in ALONE; the tests not for
# sanitizer builds in EXCLUDED.
select_tests()
{
	local t name c list=()

	KEYS=()
	ALONE=()
	EXCLUDED=()
	if [ $# -eq 0 ]; then
		list=("$dir"/t-*.sh)
	else
		for name in "$@"; do
			list+=("$dir/${name%.sh}.sh")
		done
	fi
	for t in "${list[@]}"; do
		[ -e "$t" ] || { echo "run.sh: no test $t"; exit 1; }
		name=$(basename "$t" .sh)
		for c in "${!BIN_OF[@]}"; do
			if [ -n "${SAN_OF[c]}" ] && grep -q '^#@ not-sanitized' "$t"; then
				EXCLUDED+=("$name")
				continue
			fi
			if grep -q '^#@ alone' "$t"; then
				ALONE+=("$c:$name")
			else
				KEYS+=("$(last_time "$c:$name") $c:$name")
			fi
		done
	done
	[ ${#KEYS[@]} -eq 0 ] ||
		mapfile -t KEYS < <(printf '%s\n' "${KEYS[@]}" | sort -k1,1nr | cut -d' ' -f2-)
}

# start N KEY: run test KEY in the background, its output in $work.
start()
{
	local n=$1 key=$2 c=${2%%:*} name=${2#*:} id pid f

	id="r$$x$n"
	f=$(file_of "$key")
	mkdir -p "$f.san"
	(
		export NFQLB=${BIN_OF[c]} TOOLS=${TOOLS_OF[c]} NFQLB_SAN=${SAN_OF[c]}
		if [ -n "$NFQLB_SAN" ]; then
			export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$f.san/asan"
			export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}print_stacktrace=1:log_path=$f.san/ubsan"
		fi
		NFQLB_TEST_ID=$id TEST_NAME=$name exec timeout -k 10 "$limit" \
			bash "$dir/$name.sh" </dev/null >"$f.out" 2>&1
	) &
	pid=$!
	KEY_OF[$pid]=$key
	ID_OF[$pid]=$id
	START_OF[$pid]=$SECONDS
}

# finish PID RC: print the output and the result of the test PID ran.
finish()
{
	local pid=$1 rc=$2 key=${KEY_OF[$1]} name took

	name=$(label "$key")
	took=$((SECONDS - START_OF[$pid]))
	unset "KEY_OF[$pid]"
	cat "$(file_of "$key").out"
	if san_reports "$key"; then
		echo "  $name: a process left the sanitizer reports above"
		case $rc in 0 | 77) rc=1 ;; esac
	fi
	case $rc in
	0)
		passed=$((passed + 1))
		echo "ok      $name (${took}s)"
		echo "$(time_key "$key") $took" >>"$work/times"
		;;
	77)
		if [ $ci -eq 1 ]; then
			failed=$((failed + 1))
			failures+=("$name")
			echo "FAILED  $name: skipped, and under CI a skip is a failure"
		else
			skipped=$((skipped + 1))
			echo "skipped $name"
		fi
		;;
	124 | 137)
		failed=$((failed + 1))
		failures+=("$name")
		echo "FAILED  $name: timed out after ${took}s"
		;;
	*)
		failed=$((failed + 1))
		failures+=("$name")
		echo "FAILED  $name (exit $rc, ${took}s)"
		;;
	esac
	[ "$rc" -eq 0 ] || [ "$rc" -eq 77 ] || sweep "${ID_OF[$pid]}"
	unset "ID_OF[$pid]" "START_OF[$pid]"
}

select_tests "$@"
if [ ${#EXCLUDED[@]} -gt 0 ]; then
	echo "not run against the sanitizer build (#@ not-sanitized): ${EXCLUDED[*]}"
fi
echo "${#KEYS[@]} test runs, $jobs at a time"
if [ ${#ALONE[@]} -gt 0 ]; then
	echo "then, one at a time (#@ alone):" \
		"$(for key in "${ALONE[@]}"; do label "$key"; done | paste -sd, | sed 's/,/, /g')"
fi
n=0
for key in "${KEYS[@]}"; do
	while [ ${#KEY_OF[@]} -ge "$jobs" ]; do
		wait -n -p done_pid "${!KEY_OF[@]}"
		finish "$done_pid" $?
	done
	n=$((n + 1))
	start "$n" "$key"
done
while [ ${#KEY_OF[@]} -gt 0 ]; do
	wait -n -p done_pid "${!KEY_OF[@]}"
	finish "$done_pid" $?
done
for key in "${ALONE[@]}"; do
	n=$((n + 1))
	start "$n" "$key"
	wait -n -p done_pid "${!KEY_OF[@]}"
	finish "$done_pid" $?
done

if [ -n "$times" ] && [ -s "$work/times" ]; then
	# Keep the old durations of the tests that did not pass this time.
	{ cat "$work/times"; [ -r "$times" ] && cat "$times"; } |
		awk '!seen[$1]++' >"$times.new" && mv "$times.new" "$times"
fi
echo "$passed passed, $failed failed, $skipped skipped"
if [ "$skipped" -gt 0 ]; then
	echo "************************************************************"
	echo "*** $skipped of $((${#KEYS[@]} + ${#ALONE[@]})) function test runs SKIPPED: they did not run"
	echo "*** (see the SKIP lines above; most need root).  Run as root,"
	echo "*** or with CI=true, where a skip is a failure."
	echo "************************************************************"
fi
[ "$failed" -eq 0 ] || echo "failed: ${failures[*]}"
[ "$failed" -eq 0 ]
