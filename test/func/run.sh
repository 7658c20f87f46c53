#!/bin/bash
# run.sh: run every test/func/t-*.sh, each as its own process bounded by
# `timeout 120` (FUNC_TIMEOUT=SECONDS overrides), and count the results.
# Exit 77 from a test is a skip.
# Needs NFQLB and TOOLS in the environment (the Makefile's `func` target
# passes them).  Ends with "N passed, N failed, N skipped" and exits 1 when
# any test failed.
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
