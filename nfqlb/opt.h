/* SPDX-License-Identifier: GPL-2.0-or-later */
/* opt.h: command tables, option tables, and the CLI's error conventions.
 *
 * One option table per command yields both the getopt_long() parsing and
 * the --help text.  Errors print as "nfqlb: <cmd>: <reason>".
 */
#ifndef NFQLB_OPT_H
#define NFQLB_OPT_H

#include <stdbool.h>
#include <stdint.h>

/* Exit codes of every command. */
enum nfqlb_exit {
	NFQLB_OK = 0,		/* success */
	NFQLB_FAIL = 1,		/* the command failed */
	NFQLB_USAGE = 2,	/* bad command line */
};

#define OPT_HELP (-1)

/* The --shm option, which every command that uses a table has. */
#define OPT_SHM { "shm", "NAME", "state object in /dev/shm (default $NFQLB_SHM or nfqlb)" }

struct opt {
	const char *name;	/* long option, without "--"; NULL ends a table */
	/* Metavariable, or NULL for a flag.  One that ends in "..." marks an
	 * option that may be given more than once (see opt_nth). */
	const char *arg;
	const char *help;
};

/* The values of one command line: val[i] belongs to cmd->opts[i]. */
#define OPT_MAX 24
#define OPT_REPEAT_MAX 64	/* values of repeatable options, in all */
struct optval {
	const char *val[OPT_MAX];	/* argument; "" for a given flag; NULL if absent */
	int first;			/* index in argv of the first positional */
	/* Every value of a repeatable option, in command-line order. */
	const char *rep[OPT_REPEAT_MAX];
	unsigned char rep_opt[OPT_REPEAT_MAX];	/* index into cmd->opts */
	int nrep;
};

struct cmd {
	const char *name;
	/* Runs with the options already parsed; returns an enum nfqlb_exit. */
	int (*fn)(const struct cmd *cmd, const struct optval *ov, int argc,
		  char **argv);
	const char *help;	/* one line */
	const char *args;	/* positional arguments, e.g. "ID...", or NULL */
	const struct opt *opts;
};

/**
 * opt_parse - parse a command's options
 * @cmd: the command
 * @argc: argument count, argv[0] being the command name
 * @argv: arguments
 * @ov: written
 *
 * Handles --help itself.  Returns 0 to go on, OPT_HELP after printing the
 * help, or NFQLB_USAGE after printing a usage error.
 */
int opt_parse(const struct cmd *cmd, int argc, char **argv, struct optval *ov);

/**
 * opt_get - the value of an option by name, or NULL if absent
 */
const char *opt_get(const struct cmd *cmd, const struct optval *ov,
		    const char *name);

/**
 * opt_nth - the n-th value (from 0) of a repeatable option, or NULL
 */
const char *opt_nth(const struct cmd *cmd, const struct optval *ov,
		    const char *name, int n);

/**
 * opt_u32 - parse a decimal or 0x-hexadecimal number within [min, max]
 *
 * Returns 0, or -1 for anything else (sign, spaces, junk, out of range).
 */
int opt_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out);

/**
 * opt_id - parse a target id, which is a firewall mark: 1..4294967295,
 * decimal or 0x-hexadecimal
 *
 * A decimal id with a leading 0 ("010") is refused: iptables' --mark and
 * ip's fwmark read it as octal.  Returns 0, or -1 with errno EDOM (leading
 * 0) or EINVAL (anything else that is not an id).
 */
int opt_id(const char *s, uint32_t *out);

/**
 * opt_id_why - why opt_id() refuses s, for an error message; "" if it does not
 */
const char *opt_id_why(const char *s);

/**
 * opt_usage - print a command's usage and options to stdout
 */
void opt_usage(const struct cmd *cmd);

/**
 * opt_operands - refuse more than max operands after the options
 * @cmd: the command
 * @ov: its parsed options (ov->first is the first operand)
 * @argc: the argument count
 * @argv: the arguments
 * @max: how many operands the command takes
 *
 * Returns NFQLB_OK, or NFQLB_USAGE after "unexpected argument 'X'" naming
 * the first one too many.
 */
int opt_operands(const struct cmd *cmd, const struct optval *ov, int argc,
		 char **argv, int max);

/**
 * usage_error - print "nfqlb: <cmd>: <reason>" to stderr, for a usage error
 *
 * Returns NFQLB_USAGE.
 */
int usage_error(const struct cmd *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/**
 * cmd_error - print "nfqlb: <cmd>: <reason>" to stderr
 *
 * Returns NFQLB_FAIL.
 */
int cmd_error(const struct cmd *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/**
 * cmd_warning - print "nfqlb: <cmd>: warning: <what>" to stderr
 *
 * For a command that succeeds but did something the user may not have
 * meant; its exit code stays 0.
 */
void cmd_warning(const struct cmd *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/**
 * opt_shm_name - the state object's name: --shm, else $NFQLB_SHM, else "nfqlb"
 *
 * Not checked: an empty --shm or $NFQLB_SHM is returned as "" (see
 * table_name(), which checks it).
 */
const char *opt_shm_name(const struct cmd *cmd, const struct optval *ov);

#endif
