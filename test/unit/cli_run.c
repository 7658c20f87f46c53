/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cli_run.c: run an nfqlb command line in the unit tests, output captured. */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <string.h>
#include <unistd.h>

#include "nfqlb/cli.h"
#include "test/unit/cli_run.h"

char cli_out[CLI_OUT_MAX];
char cli_err[CLI_ERR_MAX];

static void slurp(FILE *f, char *buf, size_t size)
{
	size_t n;

	rewind(f);
	n = fread(buf, 1, size - 1, f);
	buf[n] = '\0';
	fclose(f);
}

/* argv for nfqlb_run(): "nfqlb", cmd if any, then args; returns argc. */
static int build_argv(char **argv, const char *cmd, const char *const *args)
{
	int argc = 0;

	argv[argc++] = "nfqlb";
	if (cmd)
		argv[argc++] = (char *)cmd;
	for (; *args; args++) {
		ck_assert_msg(argc < CLI_ARGS_MAX - 1, "more than %d arguments",
			      CLI_ARGS_MAX - 1);
		argv[argc++] = (char *)*args;
	}
	argv[argc] = NULL;
	return argc;
}

int cli_run(const char *cmd, const char *const *args)
{
	char *argv[CLI_ARGS_MAX];
	int argc = build_argv(argv, cmd, args);
	FILE *fo = tmpfile(), *fe = tmpfile();
	int so = dup(1), se = dup(2), ret;

	ck_assert_msg(fo && fe, "tmpfile failed");
	fflush(stdout);
	fflush(stderr);
	dup2(fileno(fo), 1);
	dup2(fileno(fe), 2);
	ret = nfqlb_run(argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(so, 1);
	dup2(se, 2);
	close(so);
	close(se);
	slurp(fo, cli_out, sizeof(cli_out));
	slurp(fe, cli_err, sizeof(cli_err));
	return ret;
}

int cli_run_in(const char *in, const char *cmd, const char *const *args)
{
	FILE *fi = tmpfile();
	int si = dup(0), ret;

	ck_assert_msg(fi && si >= 0, "tmpfile or dup failed");
	ck_assert_msg(fputs(in, fi) != EOF && fflush(fi) == 0, "writing stdin failed");
	rewind(fi);
	dup2(fileno(fi), 0);
	clearerr(stdin);
	ret = cli_run(cmd, args);
	/* Whatever the command left unread must not reach the next one. */
	__fpurge(stdin);
	clearerr(stdin);
	dup2(si, 0);
	close(si);
	fclose(fi);
	return ret;
}

int cli_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

void cli_want_error(int ret, int code, const char *cmd, const char *what)
{
	char prefix[64];

	snprintf(prefix, sizeof(prefix), "nfqlb: %s: ", cmd);
	ck_assert_int_eq(ret, code);
	ck_assert_msg(strncmp(cli_err, prefix, strlen(prefix)) == 0, "stderr: %s",
		      cli_err);
	ck_assert_msg(strstr(cli_err, what), "want '%s' in: %s", what, cli_err);
	ck_assert_int_eq(cli_lines(cli_err), 1);
}

int cli_runl(const char *cmd, const char *arg, ...)
{
	const char *args[CLI_ARGS_MAX];
	int n = 0;
	va_list ap;

	va_start(ap, arg);
	for (; arg && n < CLI_ARGS_MAX - 1; arg = va_arg(ap, const char *))
		args[n++] = arg;
	va_end(ap);
	args[n] = NULL;
	return cli_run(cmd, args);
}
