#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t-docs: the documentation's links hold, and no document is orphaned
# (doccheck.py): every relative link in every .md file points to a file
# that exists, and to a heading of it when it names an anchor; every .md
# file is reached from README.md through such links.
#   1. doccheck.py on the source tree prints nothing;
#   2. on a small tree, the check fails, naming it, on a missing file, a
#      missing anchor and an orphaned document, and not on links in code
#      or on a repeated heading's anchor.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

need_cmd python3

# doccheck TREE: run the check, its output in $LOGDIR/doccheck.out.
doccheck()
{
	python3 "$SRC/test/deploy/doccheck.py" "$1" >"$LOGDIR/doccheck.out" 2>&1
}

info "1. the links of README.md, NEWS.md, BENCHMARKS.md and docs/ hold"
doccheck "$SRC" || fail "$(cat "$LOGDIR/doccheck.out")"
[ -s "$LOGDIR/doccheck.out" ] && fail "doccheck passed but printed: $(cat "$LOGDIR/doccheck.out")"

info "2. the check fails on each kind of problem"
tree=$LOGDIR/tree
mkdir -p "$tree/docs" "$tree/build" || fail "mkdir"
# tree_ok: a tree whose links all hold.
tree_ok()
{
	cat >"$tree/README.md" <<'EOF'
# Title

See [a](docs/a.md#b-c-d), [the second](docs/a.md#usage-1), the
[license](LICENSE) and [news](NEWS.md).

```sh
cat [not a link](nowhere.md)
```

and `[not a link either](nowhere.md)`.
EOF
	cat >"$tree/docs/a.md" <<'EOF'
# A

## B: `c` (d)

## Usage

## Usage

Back to the [top](../README.md#title).
EOF
	echo "# News" >"$tree/NEWS.md"
	echo "GPL" >"$tree/LICENSE"
	echo "# not a document of the tree" >"$tree/build/x.md"
}
tree_ok
doccheck "$tree" || fail "a good tree: $(cat "$LOGDIR/doccheck.out")"

# must_report WHAT: the check fails on $tree and its output has WHAT.
must_report()
{
	doccheck "$tree" && fail "doccheck passed with $1"
	grep -qF -- "$1" "$LOGDIR/doccheck.out" ||
		fail "doccheck did not say '$1': $(cat "$LOGDIR/doccheck.out")"
	tree_ok
}
rm "$tree/LICENSE"
must_report "README.md: link 'LICENSE': no such file LICENSE"
sed -i 's/#b-c-d/#b-c/' "$tree/README.md"
must_report "README.md: link 'docs/a.md#b-c': docs/a.md has no heading #b-c"
sed -i 's/#title/#titles/' "$tree/docs/a.md"
must_report "docs/a.md: link '../README.md#titles': README.md has no heading #titles"
echo "# B" >"$tree/docs/b.md"
must_report "docs/b.md: not linked from README.md"
sed -i 's/ and \[news\](NEWS.md)\././' "$tree/README.md"
must_report "NEWS.md: not linked from README.md"
sed -i 's|(LICENSE)|(../LICENSE)|' "$tree/README.md"
must_report "README.md: link '../LICENSE' leaves the tree"
pass
