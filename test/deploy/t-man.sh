#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t-man: nfqlb(8) documents every command and option of the code's tables,
# and nothing else (mancheck.py, both ways, metavariables included), its
# exit statuses and environment variables; the installed page lints clean.
#   1. mancheck.py on man/nfqlb.8.in and the tables (build/optdump);
#   2. the check fails, naming it, on a command, an option or a
#      metavariable the page lacks, and on an option the table lacks;
#   3. the installed page: `mandoc -T lint -W all` and `groff -ww -z`
#      print nothing.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

need_cmd python3 mandoc groff
need_built "$OPTDUMP"

page=$SRC/man/nfqlb.8.in
dump=$LOGDIR/dump
"$OPTDUMP" >"$dump" || fail "optdump"
grep -q '^option	lb	queue	' "$dump" || fail "the dump lacks lb --queue: $(head "$dump")"

# mancheck DUMP PAGE: run the check, its output in $LOGDIR/mancheck.out.
mancheck()
{
	python3 "$SRC/test/deploy/mancheck.py" "$1" "$2" "$SRC" >"$LOGDIR/mancheck.out" 2>&1
}

info "1. the page and the tables agree"
mancheck "$dump" "$page" || fail "$(cat "$LOGDIR/mancheck.out")"
[ -s "$LOGDIR/mancheck.out" ] && fail "mancheck passed but printed: $(cat "$LOGDIR/mancheck.out")"

info "2. the check fails on each kind of disagreement"
# must_report WHAT DUMP PAGE: the check fails and its output has WHAT.
must_report()
{
	mancheck "$2" "$3" && fail "mancheck passed with $1"
	grep -qF -- "$1" "$LOGDIR/mancheck.out" ||
		fail "mancheck did not name '$1': $(cat "$LOGDIR/mancheck.out")"
}
{ cat "$dump"; printf 'command\tfrob\t-\n'; } >"$LOGDIR/d1"
must_report "command 'frob' is in the command table" "$LOGDIR/d1" "$page"
{ cat "$dump"; printf 'option\tinit\tfrob\tX\n'; } >"$LOGDIR/d2"
must_report "option 'init --frob X' is in the table of 'init'" "$LOGDIR/d2" "$page"
sed 's/^option\tlb\tcpu\tLIST$/option\tlb\tcpu\tCPUS/' "$dump" >"$LOGDIR/d3"
must_report "the table says '--cpu CPUS', the man page '--cpu LIST'" "$LOGDIR/d3" "$page"
grep -v '^option	delete	force	' "$dump" >"$LOGDIR/d4"
must_report "the man page documents 'delete --force'" "$LOGDIR/d4" "$page"
sed '/^\.SH ENVIRONMENT/,/^\.SH/{/^\.B NFQLB_DEBUG_VERIFY$/d}' "$page" >"$LOGDIR/p5"
must_report "environment variable 'NFQLB_DEBUG_VERIFY' is in the code" "$dump" "$LOGDIR/p5"

info "3. lint the installed page"
deploy_install DESTDIR="$LOGDIR/dest"
man8=$LOGDIR/dest/usr/local/share/man/man8/nfqlb.8
out=$(mandoc -T lint -W all "$man8" 2>&1) || fail "mandoc -T lint: $out"
[ -z "$out" ] || fail "mandoc -T lint: $out"
out=$(groff -man -ww -z "$man8" 2>&1) || fail "groff: $out"
[ -z "$out" ] || fail "groff -ww: $out"
# The linters must be able to complain.
printf '.TH X 8\n.SH NAME\nx\n.BOGUS\n' >"$LOGDIR/bad.8"
[ -n "$(mandoc -T lint -W all "$LOGDIR/bad.8" 2>&1)" ] || fail "mandoc does not complain about a bad page"
pass
