// SPDX-License-Identifier: GPL-2.0-or-later
/* optdump.c: print nfqlb's command and option tables, one entry a line.
 *
 * Linked against libnfqlb.a, it walks the very tables the CLI parses with,
 * so what it prints cannot drift from the code.  The man page check and
 * the bash completion generator read its output; users never see it.
 *
 * Output, tab-separated, commands in `nfqlb help` order:
 *	command	NAME	ARGS		(ARGS: the positionals, or "-")
 *	option	COMMAND	NAME	ARG	(NAME without "--"; ARG: the
 *					 metavariable, or "-" for a flag)
 * Exits 0, or 1 when stdout cannot be written.
 */
#include <stdio.h>

#include "nfqlb/cli.h"

static void dump_cmd(const struct cmd *c)
{
	const struct opt *o;

	printf("command\t%s\t%s\n", c->name, c->args ? c->args : "-");
	for (o = c->opts; o && o->name; o++)
		printf("option\t%s\t%s\t%s\n", c->name, o->name, o->arg ? o->arg : "-");
}

int main(void)
{
	const struct cmd *const *cmds;
	size_t i, n;

	cmds = nfqlb_commands(&n);
	for (i = 0; i < n; i++)
		dump_cmd(cmds[i]);
	if (fflush(stdout) == EOF || ferror(stdout)) {
		perror("optdump: stdout");
		return 1;
	}
	return 0;
}
