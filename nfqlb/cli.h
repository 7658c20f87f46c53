/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cli.h: the nfqlb command line: one table of subcommands. */
#ifndef NFQLB_CLI_H
#define NFQLB_CLI_H

#include <stddef.h>

#include "nfqlb/opt.h"

#define NFQLB_VERSION "0.1.0"

/* The subcommands, each defined next to the code it runs. */
extern const struct cmd cmd_init, cmd_delete, cmd_activate, cmd_deactivate,
	cmd_show, cmd_stats, cmd_lb, cmd_health;
extern const struct cmd cmd_save, cmd_restore;	/* save.c, restore.c */
extern const struct cmd cmd_lookup;	/* lookup.c */
extern const struct cmd cmd_flow;		/* flowcmd.c */
extern const struct cmd cmd_trace;		/* tracecmd.c */

/**
 * nfqlb_run - run one nfqlb command line
 * @argc: argument count
 * @argv: arguments; argv[1] is the subcommand
 *
 * Returns an enum nfqlb_exit.
 */
int nfqlb_run(int argc, char **argv);

/**
 * nfqlb_commands - the command table, in `nfqlb help` order
 * @n: set to the number of commands
 *
 * For programs that document the command line from the tables (the man
 * page check, the bash completion).  Returns the table; never fails.
 */
const struct cmd *const *nfqlb_commands(size_t *n);

#endif
