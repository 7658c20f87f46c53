#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# spdx-files.sh: list the tracked files that must carry an SPDX line: every
# source file, script, build file, unit and example configuration.
cd "$(dirname "$0")/.." || exit 1
git ls-files | grep -E '(\.(c|h|sh|py|mk|gp|in|conf|health)$|^Makefile$|^\.ci/run$)' |
	grep -v '^test/fuzz/corpus/'
