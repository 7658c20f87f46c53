# shellcheck shell=bash disable=SC2034  # a library: its globals are read by the scripts that source it
# SPDX-License-Identifier: GPL-2.0-or-later
# lib.sh: helpers of the deployment tests (test/deploy/t-*.sh).  Sources the
# function tests' lib.sh (results, cleanup, namespaces), then:
#
#	SRC		the source tree
#	BUILD		the build directory, relative to SRC (default build)
#	OPTDUMP		build/optdump: prints the option tables
#	COMPLETION	build/completion/nfqlb: the generated bash completion
#	deploy_install VAR=VALUE...	`make install` with these variables
#	unit_py ARGS...			test/deploy/unit.py

# shellcheck source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/../func/lib.sh"

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-build}
OPTDUMP=${OPTDUMP:-$SRC/$BUILD/optdump}
COMPLETION=${COMPLETION:-$SRC/$BUILD/completion/nfqlb}

# deploy_install VAR=VALUE...: install from $SRC, whose build is up to date
# (make check-deploy builds it first), with these make variables.
deploy_install()
{
	make -C "$SRC" --no-print-directory -s BUILD="$BUILD" install "$@" ||
		fail "make install $*"
}

# deploy_uninstall VAR=VALUE...: the same for uninstall.
deploy_uninstall()
{
	make -C "$SRC" --no-print-directory -s BUILD="$BUILD" uninstall "$@" ||
		fail "make uninstall $*"
}

unit_py()
{
	python3 "$SRC/test/deploy/unit.py" "$@"
}

# need_built FILE...: fail unless each file exists (make check-deploy builds them).
need_built()
{
	local f

	for f in "$@"; do
		[ -e "$f" ] || fail "$f is missing (run make check-deploy)"
	done
}
