/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cli_run.h: run an nfqlb command line inside the unit tests and capture
 * what it prints. */
#ifndef NFQLB_TEST_CLI_RUN_H
#define NFQLB_TEST_CLI_RUN_H

#define CLI_OUT_MAX	(1 << 16)
#define CLI_ERR_MAX	4096
#define CLI_ARGS_MAX	256	/* arguments of one command line */

/* What the last cli_run() printed, NUL-terminated, cut at the size. */
extern char cli_out[CLI_OUT_MAX];
extern char cli_err[CLI_ERR_MAX];

/**
 * cli_run - run "nfqlb [CMD] ARGS..." through nfqlb_run()
 * @cmd: the subcommand, or NULL when args holds the whole command line
 * @args: the arguments, NULL-terminated; fewer than CLI_ARGS_MAX in all
 *
 * Its stdout lands in cli_out and its stderr in cli_err.  Fails the test
 * when there are too many arguments or no temporary file for the capture.
 * Returns nfqlb_run()'s exit code.
 */
int cli_run(const char *cmd, const char *const *args);

/**
 * cli_runl - cli_run() with the arguments as a NULL-terminated list
 * @cmd: as for cli_run()
 * @arg: the first argument, or NULL for none
 *
 * Returns nfqlb_run()'s exit code.
 */
int cli_runl(const char *cmd, const char *arg, ...);

/**
 * cli_run_in - cli_run() with in as the command's standard input
 * @in: what the command reads on stdin (a temporary file's contents)
 * @cmd: as for cli_run()
 * @args: as for cli_run()
 *
 * The test's own stdin is back in place afterwards.  Returns nfqlb_run()'s
 * exit code.
 */
int cli_run_in(const char *in, const char *cmd, const char *const *args);

/**
 * cli_lines - the number of lines (newline characters) in s
 */
int cli_lines(const char *s);

/**
 * cli_want_error - check a command's error report
 * @ret: what cli_run() returned
 * @code: the exit code it must be
 * @cmd: the subcommand the message must name
 * @what: text the message must contain
 *
 * Fails the test unless ret is code and cli_err is exactly one line,
 * "nfqlb: CMD: ..." containing what.
 */
void cli_want_error(int ret, int code, const char *cmd, const char *what);

#endif
