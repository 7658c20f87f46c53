#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t-completion: the bash completion (build/completion/nfqlb, generated from
# the option tables by deploy/gen-completion.sh) completes what the tables
# hold.
#   1. it is valid bash, and it registers _nfqlb for nfqlb;
#   2. the first word: every command of the table, --help, --version;
#   3. "nfqlb CMD --": exactly CMD's options and --help, for every command;
#   4. prefixes; values: drop|accept words, table names in /dev/shm, files,
#      interfaces, nothing for a number; --opt=VALUE; positionals of help and
#      route;
#   5. an option or a command added to the tables appears in the completion
#      made from them: values by metavariable (NAME... too), a FILE
#      positional.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

need_built "$OPTDUMP" "$COMPLETION" "$NFQLB"

dump=$LOGDIR/dump
"$OPTDUMP" >"$dump" || fail "optdump"

info "1. valid bash"
bash -n "$COMPLETION" || fail "bash -n $COMPLETION"
# shellcheck disable=SC1090
. "$COMPLETION" || fail "sourcing $COMPLETION"
[ "$(complete -p nfqlb)" = "complete -F _nfqlb nfqlb" ] ||
	fail "complete -p nfqlb: $(complete -p nfqlb 2>&1)"

# comp WORD...: the completions of the command line WORD... (the last word
# is the one being completed), sorted, space-separated.
comp()
{
	local COMP_WORDS=("$@") COMP_CWORD=$(($# - 1)) COMPREPLY=()

	_nfqlb nfqlb "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
	printf '%s\n' "${COMPREPLY[@]}" | sed '/^$/d' | sort | tr '\n' ' ' | sed 's/ $//'
}

# want WANT WORD...: comp WORD... gives WANT (any order).
want()
{
	local w=$1 got

	shift
	w=$(tr ' ' '\n' <<<"$w" | sed '/^$/d' | sort | tr '\n' ' ' | sed 's/ $//')
	got=$(comp "$@")
	[ "$got" = "$w" ] || fail "completing '$*': got '$got', want '$w'"
}

cmds=$(awk -F '\t' '$1 == "command" { print $2 }' "$dump" | tr '\n' ' ')
[ -n "$cmds" ] || fail "no commands in the dump"

info "2. commands"
want "$cmds --help --version" nfqlb ""
want "activate" nfqlb ac

info "3. each command's options"
for c in $cmds; do
	opts=$(awk -F '\t' -v c="$c" '$1 == "option" && $2 == c { printf "--%s ", $3 }' "$dump")
	want "$opts--help" nfqlb "$c" --
done

info "4. prefixes, values, positionals"
want "--no-target" nfqlb lb --no-t
want "drop accept mark=" nfqlb lb --no-target ""
want "accept" nfqlb lb --no-target a
want "mark=" nfqlb lb --no-target m
want "drop accept mark=" nfqlb lb --no-target = ""
want "accept drop mark=" nfqlb lb --no-flow ""
want "" nfqlb init --M ""
want "--force" nfqlb init --M 13 --f
"$NFQLB" init || fail "init"
want "$NFQLB_SHM" nfqlb show --shm "$NFQLB_SHM"
want "$NFQLB_SHM" nfqlb stats --shm = "$NFQLB_SHM"
touch "$LOGDIR/checks.conf"
want "$LOGDIR/checks.conf" nfqlb health --config "$LOGDIR/checks.c"
[[ " $(comp nfqlb lb --shed "") " == *" lo "* ]] || fail "lb --shed does not complete lo"
want "$cmds" nfqlb help ""
want "add del show" nfqlb route ""
want "del" nfqlb route --table 7 d
want "" nfqlb route add ""
want "" nfqlb activate 1 ""

info "5. a new option in a table is completed"
{ cat "$dump"; printf 'option\tinit\tfrob\tdrop|keep\n'; } |
	"$SRC/deploy/gen-completion.sh" >"$LOGDIR/completion" || fail "gen-completion.sh"
# shellcheck disable=SC1091
. "$LOGDIR/completion"
want "--frob" nfqlb init --fr
want "drop keep" nfqlb init --frob ""
# A repeatable table option, and a command taking a file.
{ cat "$dump"; printf 'command\tload\t[FILE]\noption\tload\tshm\tNAME...\n'; } |
	"$SRC/deploy/gen-completion.sh" >"$LOGDIR/completion2" || fail "gen-completion.sh"
# shellcheck disable=SC1091
. "$LOGDIR/completion2"
want "$NFQLB_SHM" nfqlb load --shm "$NFQLB_SHM"
want "$LOGDIR/checks.conf" nfqlb load "$LOGDIR/checks.c"
pass
