#!/bin/bash
# run.sh: run every test/func/t-*.sh, each as its own process bounded by
# `timeout 120` (FUNC_TIMEOUT=SECONDS overrides), and count the results.
# Exit 77 from a test is a skip.
# Needs NFQLB and TOOLS in the environment (the Makefile's `func` target
# passes them).  Ends with "N passed, N failed, N skipped" and exits 1 when
# any test failed.
#
# With NFQLB_SAN set (make func-san), sanitizer reports go to files, and a
# test after which any process (nfqlb, a tool, in the fore- or background)
# left a report fails, whatever the test itself concluded.
#
# Each test gets NFQLB_TEST_ID, which names its namespaces
# (nfqlb-t<ID>-*) and table (/dev/shm/nfqlb-test-<ID>).  A test killed by
# the timeout cannot clean up after itself, so run.sh removes exactly those
# names afterwards.

dir=$(cd "$(dirname "$0")" && pwd)
: "${NFQLB:?set NFQLB to the nfqlb binary}"
: "${TOOLS:?set TOOLS to the test tools directory}"
export NFQLB TOOLS

passed=0
failed=0
skipped=0
n=0
limit=${FUNC_TIMEOUT:-120}	# seconds per test
sandir=""

if [ -n "${NFQLB_SAN:-}" ]; then
	sandir=$(mktemp -d "${TMPDIR:-/tmp}/nfqlb-san.XXXXXX") || exit 1
	trap 'rm -rf "$sandir"' EXIT
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$sandir/asan"
	export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}print_stacktrace=1:log_path=$sandir/ubsan"
fi

# san_reports: print and remove the sanitizer reports; 0 when there were any.
san_reports()
{
	local f found=1

	[ -n "$sandir" ] || return 1
	for f in "$sandir"/*; do
		[ -e "$f" ] || continue
		found=0
		echo "--- sanitizer report $(basename "$f")"
		head -n 40 "$f"
		rm -f "$f"
	done
	return $found
}

# sweep ID: remove what a killed test with this id left behind.
sweep()
{
	local ns

	for ns in $(ip netns list 2>/dev/null | awk '{ print $1 }'); do
		case $ns in
		"nfqlb-t$1-"*) ip netns del "$ns" 2>/dev/null ;;
		esac
	done
	rm -f "/dev/shm/nfqlb-test-$1" "/dev/shm/nfqlb-test-$1-"*
}

for t in "$dir"/t-*.sh; do
	[ -e "$t" ] || continue
	n=$((n + 1))
	name=$(basename "$t" .sh)
	id="r$$x$n"
	start=$SECONDS
	NFQLB_TEST_ID=$id TEST_NAME=$name timeout -k 10 "$limit" bash "$t"
	rc=$?
	took=$((SECONDS - start))
	if san_reports; then
		echo "  $name: a process left the sanitizer reports above"
		case $rc in 0 | 77) rc=1 ;; esac
	fi
	case $rc in
	0)
		passed=$((passed + 1))
		echo "ok      $name (${took}s)"
		;;
	77)
		skipped=$((skipped + 1))
		echo "skipped $name"
		;;
	124 | 137)
		failed=$((failed + 1))
		echo "FAILED  $name: timed out after ${took}s"
		sweep "$id"
		;;
	*)
		failed=$((failed + 1))
		echo "FAILED  $name (exit $rc, ${took}s)"
		sweep "$id"
		;;
	esac
done

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
