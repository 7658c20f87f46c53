#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t-state: every command refuses a corrupt or hostile state object.
#
# For each damage below, made in a fresh M=997 N=32 table with targets
# 1 2 3: show, show --json, stats, stats --json, activate, activate
# --weight, deactivate and lb each exit 1 with one line on stderr,
# "nfqlb: <cmd>: ...<reason>", and nothing on stdout; the commands leave
# the object byte for byte as it was; init without --force refuses it too;
# init --force and delete, the ways out, work (delete wants --force for an
# object without nfqlb's magic).  The worker's part (damage
# while it runs) is t-state-live.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

need_root
need_cmd ip timeout python3 cmp truncate od dd
[ -x "$NFQLB" ] || fail "$NFQLB is not built"

SHMF=/dev/shm/$NFQLB_SHM
M=997
N=32
# Layout (shm/shm.h): a 128-byte header, then two buffers of N 16-byte
# target slots and M 4-byte lookup entries, each rounded up to 64 bytes.
BUF=$(( (N * 16 + M * 4 + 63) / 64 * 64 ))

# poke32 OFFSET VALUE / poke64 OFFSET VALUE: write a little-endian value
# into the object, in place.
poke32()
{
	local v=$2

	# shellcheck disable=SC2059
	printf "$(printf '\\%03o\\%03o\\%03o\\%03o' $((v & 255)) $((v >> 8 & 255)) \
		$((v >> 16 & 255)) $((v >> 24 & 255)))" |
		dd of="$SHMF" bs=1 seek="$1" conv=notrunc status=none || fail "poke $*"
}
poke64()
{
	poke32 "$1" $(($2 & 0xffffffff))
	poke32 $(($1 + 4)) $(($2 >> 32))
}

# peek32 OFFSET / peek64 OFFSET: read one value.
peek32()
{
	od -An -tu4 -j "$1" -N4 "$SHMF" | tr -d ' '
}
peek64()
{
	od -An -tu8 -j "$1" -N8 "$SHMF" | tr -d ' '
}

# Offsets in the published buffer (generation & 1).
pub()
{
	echo $(( 128 + ($(peek64 40) & 1) * BUF ))
}
slot_off()	# SLOT FIELD(0 id, 1 weight, 2 active, 3 entries)
{
	echo $(( $(pub) + $1 * 16 + $2 * 4 ))
}
lookup_off()	# ENTRY
{
	echo $(( $(pub) + N * 16 + $1 * 4 ))
}

# damage NAME: apply one kind of damage; prints the reason to expect.
damage()
{
	case $1 in
	magic) poke32 0 0x12345678; echo "bad magic" ;;
	version) poke32 4 3; echo "layout version 3 is not supported" ;;
	m-not-prime) poke32 12 1000; echo "corrupt header" ;;
	m-prime-wrong-size) poke32 12 991; echo "does not match" ;;
	n-over-m) poke32 16 998; echo "corrupt header" ;;
	n-zero) poke32 16 0; echo "corrupt header" ;;
	workers) poke32 20 65; echo "corrupt header" ;;
	hash-mode) poke32 24 7; echo "hash mode 7 is not supported" ;;
	size-field) poke64 32 $(( $(stat -c %s "$SHMF") + 64 )); echo "does not match" ;;
	truncated-header) truncate -s 100 "$SHMF"; echo "truncated" ;;
	truncated-half) truncate -s $(( $(stat -c %s "$SHMF") / 2 )) "$SHMF"
		echo "does not match" ;;
	empty) truncate -s 0 "$SHMF"; echo "truncated" ;;
	grown) truncate -s +4096 "$SHMF"; echo "does not match" ;;
	garbage) python3 -c 'import random, sys
random.seed(4); sys.stdout.buffer.write(bytes(random.getrandbits(8) for _ in range(38144)))' \
			>"$SHMF"; echo "bad magic" ;;
	lookup-unknown-slot) poke32 "$(lookup_off 5)" 40; echo "names no active target" ;;
	lookup-inactive-slot) poke32 "$(lookup_off 5)" 7; echo "names no active target" ;;
	lookup-empty) poke32 "$(lookup_off 5)" 0xffffffff; echo "names no active target" ;;
	entries-count) poke32 "$(slot_off 0 3)" $(( $(peek32 "$(slot_off 0 3)") + 1 ))
		echo "claims" ;;
	duplicate-id) poke32 "$(slot_off 1 0)" "$(peek32 "$(slot_off 0 0)")"
		echo "active twice" ;;
	weight-zero) poke32 "$(slot_off 0 1)" 0; echo "corrupt target slot" ;;
	active-two) poke32 "$(slot_off 0 2)" 2; echo "corrupt target slot" ;;
	id-zero) poke32 "$(slot_off 0 0)" 0; echo "corrupt target slot" ;;
	published-busy) poke32 $(( 48 + 4 * ($(peek64 40) & 1) )) 3
		echo "marked busy but no writer holds the lock" ;;
	missing) rm -f "$SHMF"; echo "does not exist" ;;
	*) fail "unknown damage $1" ;;
	esac
}

# refuses CASE REASON CMD...: CMD exits 1, prints nothing on stdout and
# exactly one line "nfqlb: <cmd>: ...REASON..." on stderr (<cmd> from $cmd).
refuses()
{
	local case=$1 reason=$2

	shift 2
	one_error "$case" "$cmd" in "$reason" "$@"
}

CASES="magic version m-not-prime m-prime-wrong-size n-over-m n-zero workers
hash-mode size-field truncated-header truncated-half empty grown garbage
lookup-unknown-slot lookup-inactive-slot lookup-empty entries-count
duplicate-id weight-zero active-two id-zero published-busy missing"

ns_add lb
n=0
for c in $CASES; do
	rm -f "$SHMF"
	"$NFQLB" init --M $M --N $N || fail "init"
	"$NFQLB" activate 1 2 3 || fail "activate"
	reason=$(damage "$c") || exit 1
	[ -e "$SHMF" ] && cp "$SHMF" "$LOGDIR/before"
	for args in "show" "show --json" "stats" "stats --json" "activate 9" \
		"activate --weight 3 1" "deactivate 1"; do
		cmd=${args%% *}
		# shellcheck disable=SC2086
		refuses "$c" "$reason" "$NFQLB" $args
	done
	if [ -e "$SHMF" ]; then
		cmp -s "$SHMF" "$LOGDIR/before" || fail "$c: a refused command changed the object"
	fi
	cmd=lb
	refuses "$c" "$reason" nsx lb timeout 20 "$NFQLB" lb --queue 0
	if [ "$c" != missing ]; then
		cmd=init
		refuses "$c" "already exists" "$NFQLB" init
		case $c in
		magic | garbage | empty)
			# Without nfqlb's magic it may be another program's.
			cmd=delete
			refuses "$c" "is not an nfqlb table" "$NFQLB" delete
			[ -e "$SHMF" ] || fail "$c: delete without --force removed it"
			"$NFQLB" delete --force || fail "$c: delete --force refused it" ;;
		*) "$NFQLB" delete || fail "$c: delete refused the damaged object" ;;
		esac
		[ -e "$SHMF" ] && fail "$c: delete left the object"
	fi
	n=$((n + 1))
done
info "$n kinds of damage refused by 8 commands each"

info "init --force replaces a damaged object"
"$NFQLB" init || fail "init"
damage magic >/dev/null
"$NFQLB" init --force || fail "init --force refused a damaged object"
"$NFQLB" activate 4 || fail "activate after init --force"
[ "$("$NFQLB" show --json | json_ids)" = 4 ] || fail "show after init --force"
pass
