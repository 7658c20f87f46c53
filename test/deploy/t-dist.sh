#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t-dist: `make dist` makes nfqlb-VERSION.tar.gz, VERSION being the one of
# nfqlb/cli.h, holding exactly the files git tracks under nfqlb-VERSION/;
# the same tree makes the same bytes; the tarball builds and installs.
#   1. make dist (into a temporary BUILD): the name, the file list;
#   2. again: byte for byte the same tarball;
#   3. extract it, `make` in it: nfqlb prints the version, the completion
#      is made; `make install DESTDIR` from it installs nfqlb.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

need_cmd git tar gzip make cmp
git -C "$SRC" rev-parse --is-inside-work-tree >/dev/null 2>&1 ||
	skip "not a git checkout (make dist needs git)"

version=$(sed -n 's/^#define NFQLB_VERSION "\(.*\)"$/\1/p' "$SRC/nfqlb/cli.h")
[ -n "$version" ] || fail "no NFQLB_VERSION in nfqlb/cli.h"
top=nfqlb-$version

info "1. make dist"
make -C "$SRC" --no-print-directory -s BUILD="$LOGDIR/b1" dist >"$LOGDIR/dist.out" ||
	fail "make dist: $(cat "$LOGDIR/dist.out")"
tarball=$LOGDIR/b1/$top.tar.gz
[ -f "$tarball" ] || fail "no $tarball: $(cat "$LOGDIR/dist.out")"
got=$(tar -tzf "$tarball" | sort) || fail "tar -t"
want=$(git -C "$SRC" ls-files | sed "s,^,$top/," | sort)
[ "$got" = "$want" ] || fail "the tarball's files are not git's:
$(diff <(echo "$want") <(echo "$got") | head -20)"
for f in LICENSE Makefile deploy/deploy.mk man/nfqlb.8.in nfqlb/cli.h; do
	grep -qx "$top/$f" <<<"$got" || fail "the tarball lacks $f"
done

info "2. make dist again: the same bytes"
make -C "$SRC" --no-print-directory -s BUILD="$LOGDIR/b2" dist >/dev/null || fail "make dist"
cmp "$tarball" "$LOGDIR/b2/$top.tar.gz" || fail "two make dist differ"

info "3. the tarball builds"
mkdir -p "$LOGDIR/x" || fail "mkdir"
tar -xzf "$tarball" -C "$LOGDIR/x" || fail "extract"
[ ! -e "$LOGDIR/x/$top/.git" ] || fail "the tarball has .git"
nice make -C "$LOGDIR/x/$top" -j2 >"$LOGDIR/build.log" 2>&1 ||
	fail "make in the extracted tarball: $(tail -20 "$LOGDIR/build.log")"
out=$("$LOGDIR/x/$top/build/nfqlb" version) || fail "the tarball's nfqlb version"
[[ $out == "nfqlb $version (table layout "* ]] || fail "the tarball's nfqlb says '$out'"
[ -s "$LOGDIR/x/$top/build/completion/nfqlb" ] || fail "the tarball's build made no completion"
make -C "$LOGDIR/x/$top" --no-print-directory -s install DESTDIR="$LOGDIR/dest" ||
	fail "make install from the tarball"
[ -x "$LOGDIR/dest/usr/local/sbin/nfqlb" ] || fail "make install from the tarball installed no nfqlb"
pass
