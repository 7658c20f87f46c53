#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t-install: `make install` puts exactly the expected files, with their
# modes, under DESTDIR and PREFIX; the installed nfqlb runs; `make
# uninstall` removes exactly those files.
#   1. DESTDIR, default PREFIX (/usr/local): the file list and modes; no
#      @PLACEHOLDER@ left; the units and man page name the installed paths;
#      the binary is the build's; an existing /etc file is left alone;
#   2. the installed binary: version (the one of nfqlb/cli.h), help (every
#      command of the table), and init, activate, show --json, delete;
#   3. installing again changes nothing;
#   4. uninstall: no file of ours left, a foreign file in sbin/ kept;
#   5. PREFIX=/usr: the same files under usr/, naming /usr/sbin/nfqlb.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

need_cmd make find python3
need_built "$NFQLB" "$OPTDUMP" "$COMPLETION"

# expected PREFIX: the files install must put under DESTDIR, "MODE PATH".
expected()
{
	local p=${1#/}

	sort <<-EOF2
	755 $p/sbin/nfqlb
	644 $p/share/man/man8/nfqlb.8
	644 $p/share/bash-completion/completions/nfqlb
	644 $p/lib/systemd/system/nfqlb@.service
	644 $p/lib/systemd/system/nfqlb-health@.service
	644 $p/share/doc/nfqlb/examples/web.conf
	644 $p/share/doc/nfqlb/examples/web.health
	644 $p/share/doc/nfqlb/examples/shed.conf
	644 $p/share/doc/nfqlb/examples/rt-priority.conf
	EOF2
}

# files DIR: the files under DIR, "MODE PATH", sorted.
files()
{
	find "$1" -type f -printf '%m %P\n' | sort
}

# same_files DIR PREFIX [EXTRA...]: the files under DIR are the expected
# ones plus EXTRA ("MODE PATH" lines).
same_files()
{
	local d=$1 p=$2 got want

	shift 2
	got=$(files "$d")
	want=$( { expected "$p"; printf '%s\n' "$@"; } | sed '/^$/d' | sort)
	[ "$got" = "$want" ] || fail "files under $d:
$(diff <(echo "$want") <(echo "$got"))"
}

version=$(sed -n 's/^#define NFQLB_VERSION "\(.*\)"$/\1/p' "$SRC/nfqlb/cli.h")
[ -n "$version" ] || fail "no NFQLB_VERSION in nfqlb/cli.h"

info "1. make install DESTDIR (PREFIX /usr/local)"
d=$LOGDIR/dest
mkdir -p "$d/etc/nfqlb" || fail "mkdir"
echo "NFQLB_SHM=mine" >"$d/etc/nfqlb/web.conf"
deploy_install DESTDIR="$d" SYSCONFDIR="$d/etc"
same_files "$d" /usr/local "644 etc/nfqlb/web.conf"
[ "$(cat "$d/etc/nfqlb/web.conf")" = "NFQLB_SHM=mine" ] || fail "install changed etc/nfqlb/web.conf"
grep -rInE '@[A-Z]+@' "$d" && fail "placeholders left in the installed files"
unit=$d/usr/local/lib/systemd/system/nfqlb@.service
# shellcheck disable=SC2016 # the unit's text, $NFQLB_LB_ARGS as written
grep -qx 'ExecStart=/usr/local/sbin/nfqlb lb $NFQLB_LB_ARGS' "$unit" ||
	fail "nfqlb@.service does not run /usr/local/sbin/nfqlb: $(grep ExecStart "$unit")"
grep -qx "EnvironmentFile=$d/etc/nfqlb/%i.conf" "$unit" ||
	fail "nfqlb@.service does not read SYSCONFDIR/nfqlb/%i.conf"
grep -q "^\.TH NFQLB 8 .*\"nfqlb $version\"" "$d/usr/local/share/man/man8/nfqlb.8" ||
	fail "the man page does not carry version $version"
cmp -s "$NFQLB" "$d/usr/local/sbin/nfqlb" || fail "the installed nfqlb is not the build's"
cmp -s "$COMPLETION" "$d/usr/local/share/bash-completion/completions/nfqlb" ||
	fail "the installed completion is not the build's"

info "2. run the installed nfqlb"
bin=$d/usr/local/sbin/nfqlb
out=$("$bin" version) || fail "version"
[[ $out =~ ^nfqlb\ ${version//./\\.}\ \(table\ layout\ [0-9]+\)$ ]] ||
	fail "version printed '$out', want nfqlb $version (table layout N)"
out=$("$bin" help) || fail "help"
for c in $("$OPTDUMP" | awk -F '\t' '$1 == "command" { print $2 }'); do
	grep -qE "^  $c " <<<"$out" || fail "help does not list $c"
done
"$bin" init --M 13 --N 4 || fail "init"
"$bin" activate 7 || fail "activate"
out=$("$bin" show --json) || fail "show --json"
python3 -c 'import json, sys
t = json.loads(sys.argv[1])
assert t["M"] == 13 and [x["id"] for x in t["targets"]] == [7], t
assert t["lookup"] == [7] * 13, t' "$out" || fail "show --json: $out"
"$bin" delete || fail "delete"

info "3. install again: the same files"
deploy_install DESTDIR="$d" SYSCONFDIR="$d/etc"
same_files "$d" /usr/local "644 etc/nfqlb/web.conf"

info "4. make uninstall: exactly our files go"
echo other >"$d/usr/local/sbin/other" && chmod 0755 "$d/usr/local/sbin/other"
deploy_uninstall DESTDIR="$d" SYSCONFDIR="$d/etc"
got=$(files "$d")
[ "$got" = "$(printf '644 etc/nfqlb/web.conf\n755 usr/local/sbin/other')" ] ||
	fail "left after uninstall: $got"
[ -e "$d/usr/local/share/doc/nfqlb" ] && fail "uninstall left share/doc/nfqlb"
deploy_uninstall DESTDIR="$d" SYSCONFDIR="$d/etc"	# again: nothing to do, no error

info "5. PREFIX=/usr"
d2=$LOGDIR/dest2
deploy_install DESTDIR="$d2" PREFIX=/usr
same_files "$d2" /usr
# shellcheck disable=SC2016 # the unit's text
grep -qx 'ExecStart=/usr/sbin/nfqlb lb $NFQLB_LB_ARGS' "$d2/usr/lib/systemd/system/nfqlb@.service" ||
	fail "PREFIX=/usr: nfqlb@.service does not run /usr/sbin/nfqlb"
grep -qx 'EnvironmentFile=/etc/nfqlb/%i.conf' "$d2/usr/lib/systemd/system/nfqlb@.service" ||
	fail "PREFIX=/usr: nfqlb@.service does not read /etc/nfqlb/%i.conf"
"$d2/usr/sbin/nfqlb" version >/dev/null || fail "PREFIX=/usr: version"
deploy_uninstall DESTDIR="$d2" PREFIX=/usr
[ -z "$(files "$d2")" ] || fail "left after uninstall: $(files "$d2")"
pass
