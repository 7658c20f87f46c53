#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# run-fuzz.sh SECONDS DIR NAME...: run each libFuzzer target DIR/fuzz_NAME
# for SECONDS of CPU, starting from the seeds in test/fuzz/corpus/NAME (never
# written) and the inputs earlier runs found in DIR/corpus/NAME.  Prints
# one line per target with its executions, and exits 1 if any target found
# a crash, leak, timeout or broken contract (its input is then in
# DIR/artifacts/NAME/, its log in DIR/NAME.log).
#
# Standard input is /dev/null.  The targets run side by side.  With more targets than CPUs each runs
# for SECONDS x targets / CPUs of wall time, so that each still gets about
# SECONDS of a CPU: the run takes that long instead of SECONDS x targets.

secs=${1:?usage: run-fuzz.sh SECONDS DIR NAME...}
dir=${2:?usage: run-fuzz.sh SECONDS DIR NAME...}
shift 2
src=$(cd "$(dirname "$0")" && pwd)
failed=0
total=0

# Per-target options: the longest input worth trying, and a dictionary.
opts_for()
{
	case $1 in
	pkt) echo "-max_len=1024" ;;
	shm) echo "-max_len=16384" ;;
	cli) echo "-max_len=512 -dict=$src/cli.dict" ;;
	esac
}

# As root, each target gets its own network namespace: fuzz_cli runs
# `route` and `rules` for real, and they must never reach this host's
# routes or firewall.  unshare execs the target, so $! stays its PID.
isolate=()
[ "$(id -u)" -eq 0 ] && isolate=(unshare -n)

cpus=$(nproc)
wall=$secs
[ $# -gt "$cpus" ] && wall=$(( (secs * $# + cpus - 1) / cpus ))

declare -A pid_of
for name in "$@"; do
	bin=$dir/fuzz_$name
	work=$dir/corpus/$name
	art=$dir/artifacts/$name
	log=$dir/$name.log
	[ -x "$bin" ] || { echo "run-fuzz: $bin is not built"; exit 1; }
	mkdir -p "$work" "$art"
	rm -f "$art"/*
	# shellcheck disable=SC2046
	"${isolate[@]}" "$bin" -max_total_time="$wall" -print_final_stats=1 -timeout=10 \
		-rss_limit_mb=2048 -artifact_prefix="$art/" $(opts_for "$name") \
		"$work" "$src/corpus/$name" </dev/null >"$log" 2>&1 &
	pid_of[$name]=$!
done

for name in "$@"; do
	art=$dir/artifacts/$name
	log=$dir/$name.log
	pid=${pid_of[$name]}
	wait "$pid"
	rc=$?
	# A target that died could not remove its sandbox object.
	rm -f "/dev/shm/nfqlb-fuzz-$pid" "/dev/shm/nfqlb-fuzz-cli-$pid"
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	found=$(find "$art" -type f | wc -l)
	printf 'fuzz_%-4s %10s executions in %ss (side by side), %s artifacts, exit %s\n' \
		"$name" "${execs:-?}" "$wall" "$found" "$rc"
	if [ "$rc" -ne 0 ] || [ "$found" -ne 0 ] || [ -z "$execs" ]; then
		failed=$((failed + 1))
		echo "FAILED fuzz_$name; last lines of $log:"
		tail -n 30 "$log"
	else
		total=$((total + execs))
	fi
done
echo "fuzz: $total executions in the targets that passed, $failed failed"
[ "$failed" -eq 0 ]
