#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t-units: the installed systemd units pass `systemd-analyze verify`, with
# and without the example drop-ins, and stay hardened; the example
# configuration is one nfqlb accepts.
#   1. install with PREFIX and SYSCONFDIR in a temporary directory (the
#      units then name a binary and a man page that exist), then
#      `systemd-analyze verify` of nfqlb@web and nfqlb-health@web prints
#      nothing; a unit with a misspelt key does print (the check can fail);
#   2. the same with the drop-ins shed.conf and rt-priority.conf;
#   3. `systemd-analyze security --offline=true`: overall exposure at most
#      MAX_EXPOSURE (2.5, "OK") for each unit;
#   4. the example web.conf: NFQLB_INIT_ARGS make a table; the example
#      web.health passes `nfqlb health --dry-run` on it.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

MAX_EXPOSURE=2.5

need_cmd systemd-analyze python3 man
need_built "$NFQLB" "$COMPLETION"

prefix=$LOGDIR/usr
etc=$LOGDIR/etc
units=$prefix/lib/systemd/system
examples=$prefix/share/doc/nfqlb/examples
deploy_install PREFIX="$prefix" SYSCONFDIR="$etc"

# verify UNIT...: systemd-analyze verify prints nothing and exits 0.  The man
# page is looked up where install put it (Documentation=man:nfqlb(8)).
verify()
{
	local out

	out=$(MANPATH=$prefix/share/man systemd-analyze verify "$@" 2>&1) ||
		fail "systemd-analyze verify $*: $out"
	[ -z "$out" ] || fail "systemd-analyze verify $*: $out"
}

info "1. verify the units"
verify "$units/nfqlb@web.service" "$units/nfqlb-health@web.service"
mkdir -p "$LOGDIR/bad" || fail "mkdir"
sed 's/^ProtectSystem=/ProtectSystm=/' "$units/nfqlb@.service" >"$LOGDIR/bad/nfqlb@.service"
out=$(MANPATH=$prefix/share/man systemd-analyze verify "$LOGDIR/bad/nfqlb@web.service" 2>&1)
grep -q "ProtectSystm" <<<"$out" || fail "verify did not report a misspelt key: $out"

info "2. verify with the drop-ins"
for d in shed rt-priority; do
	mkdir -p "$units/nfqlb@$d.service.d" || fail "mkdir"
	cp "$examples/$d.conf" "$units/nfqlb@$d.service.d/" || fail "cp $d.conf"
	verify "$units/nfqlb@$d.service"
done

info "3. exposure"
for u in nfqlb@web nfqlb-health@web; do
	out=$(systemd-analyze security --offline=true "$units/$u.service" 2>&1) ||
		fail "systemd-analyze security $u: $out"
	level=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\) .*/\1/p' <<<"$out")
	[ -n "$level" ] || fail "no exposure level for $u: $(tail -3 <<<"$out")"
	info "   $u: exposure $level"
	python3 -c 'import sys; sys.exit(float(sys.argv[1]) > float(sys.argv[2]))' \
		"$level" "$MAX_EXPOSURE" || fail "$u: exposure $level > $MAX_EXPOSURE:
$(grep '✗' <<<"$out")"
done

info "4. the example configuration"
mkdir -p "$etc/nfqlb" || fail "mkdir"
sed "s/^NFQLB_SHM=.*/NFQLB_SHM=$NFQLB_SHM/" "$examples/web.conf" >"$etc/nfqlb/$NFQLB_SHM.conf"
mapfile -d '' env < <(unit_py env "$units/nfqlb@.service" "$NFQLB_SHM")
[ "${#env[@]}" -ge 4 ] || fail "the unit's environment: ${env[*]}"
init_args=$(printf '%s\n' "${env[@]}" | sed -n 's/^NFQLB_INIT_ARGS=//p')
[ -n "$init_args" ] || fail "web.conf sets no NFQLB_INIT_ARGS"
# shellcheck disable=SC2086 # the arguments, split as systemd splits $VAR
"$NFQLB" init $init_args || fail "nfqlb init $init_args"
sed "s/^web /$NFQLB_SHM /" "$examples/web.health" >"$LOGDIR/web.health"
out=$("$NFQLB" health --config "$LOGDIR/web.health" --dry-run 2>&1) ||
	fail "the example web.health: $out"
[ "$(grep -c "^$NFQLB_SHM " <<<"$out")" -eq 2 ] || fail "dry run of web.health: $out"
pass
