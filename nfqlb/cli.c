/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cli.c: the subcommand table, help and version. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "nfqlb/cli.h"
#include "nfqlb/metrics.h"
#include "nfqlb/route.h"
#include "nfqlb/rules.h"
#include "shm/shm.h"

static int do_help(const struct cmd *cmd, const struct optval *ov, int argc,
		   char **argv);
static int do_version(const struct cmd *cmd, const struct optval *ov, int argc,
		      char **argv);

static const struct cmd cmd_help = {
	"help", do_help, "print the commands, or one command's usage", "[COMMAND]", NULL,
};

static const struct cmd cmd_version = {
	"version", do_version, "print the version", NULL, NULL,
};

static const struct cmd *const cmds[] = {
	&cmd_init, &cmd_delete, &cmd_activate, &cmd_deactivate, &cmd_show,
	&cmd_stats, &cmd_flow, &cmd_save, &cmd_restore, &cmd_metrics, &cmd_lb, &cmd_trace,
	&cmd_health, &cmd_rules, &cmd_lookup, &cmd_route, &cmd_version, &cmd_help,
};

#define NCMDS (sizeof(cmds) / sizeof(cmds[0]))

static const struct cmd *find_cmd(const char *name)
{
	size_t i;

	for (i = 0; i < NCMDS; i++)
		if (strcmp(cmds[i]->name, name) == 0)
			return cmds[i];
	return NULL;
}

const struct cmd *const *nfqlb_commands(size_t *n)
{
	*n = NCMDS;
	return cmds;
}

static void list_cmds(void)
{
	size_t i;

	printf("usage: nfqlb COMMAND [OPTIONS] [ARGS]\n\n"
	       "A stateless Maglev load balancer for NFQUEUE.\n\ncommands:\n");
	for (i = 0; i < NCMDS; i++)
		printf("  %-12s %s\n", cmds[i]->name, cmds[i]->help);
	printf("\nRun 'nfqlb COMMAND --help' for a command's options.\n"
	       "Exit codes: 0 success, 1 failure, 2 usage error.\n");
}

static int do_help(const struct cmd *cmd, const struct optval *ov, int argc,
		   char **argv)
{
	const struct cmd *c;

	if (opt_operands(cmd, ov, argc, argv, 1))
		return NFQLB_USAGE;
	if (argc == ov->first) {
		list_cmds();
		return NFQLB_OK;
	}
	c = find_cmd(argv[ov->first]);
	if (!c)
		return usage_error(cmd, "unknown command '%s'", argv[ov->first]);
	opt_usage(c);
	return NFQLB_OK;
}

static int do_version(const struct cmd *cmd, const struct optval *ov, int argc,
		      char **argv)
{
	if (opt_operands(cmd, ov, argc, argv, 0))
		return NFQLB_USAGE;
	printf("nfqlb %s (table layout %u)\n", NFQLB_VERSION, SHM_VERSION);
	return NFQLB_OK;
}

/* A command that printed must fail when its output was lost (a full disk,
 * a closed pipe): a script reading it would otherwise take a cut listing
 * for the whole.  Commands that report a write error themselves return 1
 * first, so this adds no second line. */
static int check_output(const char *name, int r)
{
	int err = 0;

	if (fflush(stdout) == EOF)
		err = errno;
	else if (ferror(stdout))
		err = EIO;
	clearerr(stdout);
	if (!err || r != NFQLB_OK)
		return r;
	fprintf(stderr, "nfqlb: %s: write error: %s\n", name, strerror(err));
	return NFQLB_FAIL;
}

int nfqlb_run(int argc, char **argv)
{
	const struct cmd *c;
	struct optval ov;
	int r;

	if (argc < 2) {
		list_cmds();
		return check_output("help", NFQLB_USAGE);
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return check_output("help", do_help(&cmd_help,
				    &(struct optval){ .first = argc }, argc, argv));
	c = find_cmd(strcmp(argv[1], "--version") == 0 ? "version" : argv[1]);
	if (!c) {
		fprintf(stderr, "nfqlb: unknown command '%s' (see 'nfqlb help')\n",
			argv[1]);
		return NFQLB_USAGE;
	}
	r = opt_parse(c, argc - 1, argv + 1, &ov);
	if (r)
		return check_output(c->name, r == OPT_HELP ? NFQLB_OK : r);
	return check_output(c->name, c->fn(c, &ov, argc - 1, argv + 1));
}
