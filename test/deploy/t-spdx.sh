#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t-spdx: every source file, script, build file, unit and example
# configuration (scripts/spdx-files.sh lists them) says its license,
# GPL-2.0-or-later, in an SPDX line within its first three lines; the BPF
# programs tell the kernel "GPL"; LICENSE is the GPL version 2.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

need_cmd git
[ -d "$SRC/.git" ] || [ -f "$SRC/.git" ] || skip "not a git checkout"

info "1. an SPDX line in each file"
files=$("$SRC/scripts/spdx-files.sh") || fail "spdx-files.sh"
[ "$(echo "$files" | wc -l)" -gt 100 ] || fail "spdx-files.sh listed too few files: $files"
missing=""
for f in $files; do
	head -n 3 "$SRC/$f" | grep -q 'SPDX-License-Identifier: GPL-2.0-or-later' ||
		missing="$missing $f"
done
[ -z "$missing" ] || fail "no SPDX line in:$missing"

info "2. the BPF programs' license, LICENSE"
for f in "$SRC"/bpf/*.bpf.c; do
	grep -q 'SEC("license") = "GPL";' "$f" || fail "$f does not tell the kernel GPL"
done
grep -q 'GNU GENERAL PUBLIC LICENSE' "$SRC/LICENSE" &&
	grep -q 'Version 2, June 1991' "$SRC/LICENSE" || fail "LICENSE is not the GPL version 2"
pass
