#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# run.sh: run every test/deploy/t-*.sh, each bounded by `timeout`
# (DEPLOY_TIMEOUT=SECONDS, default 180), and count the results.  Exit 77
# from a test is a skip, which fails the run under CI=true.  Ends with
# "N passed, N failed, N skipped" and exits 1 when any test failed.
# `make check-deploy` runs it with NFQLB, TOOLS, OPTDUMP, COMPLETION and
# BUILD set.

dir=$(cd "$(dirname "$0")" && pwd)
: "${NFQLB:?set NFQLB to the nfqlb binary}"
: "${TOOLS:?set TOOLS to the test tools directory}"
export NFQLB TOOLS OPTDUMP COMPLETION BUILD

passed=0
failed=0
skipped=0
n=0
limit=${DEPLOY_TIMEOUT:-180}

# sweep ID: remove what a test killed by the timeout left behind: its
# namespaces and tables (named as test/func/lib.sh names them).
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
	start=$SECONDS
	id="d$$x$n"
	NFQLB_TEST_ID=$id TEST_NAME=$name timeout -k 10 "$limit" bash "$t"
	rc=$?
	took=$((SECONDS - start))
	case $rc in
	0)
		passed=$((passed + 1))
		echo "ok      $name (${took}s)"
		;;
	77)
		if [ "${CI:-}" = true ]; then
			failed=$((failed + 1))
			echo "FAILED  $name: skipped, and CI=true"
		else
			skipped=$((skipped + 1))
			echo "skipped $name"
		fi
		;;
	*)
		failed=$((failed + 1))
		echo "FAILED  $name (exit $rc, ${took}s)"
		sweep "$id"
		;;
	esac
done

echo "$passed passed, $failed failed, $skipped skipped"
[ "$n" -gt 0 ] && [ "$failed" -eq 0 ]
