/* SPDX-License-Identifier: GPL-2.0-or-later */
/* opt.c: option tables to getopt_long(), --help, numbers, error messages. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nfqlb/opt.h"
#include "shm/shm.h"

static size_t opt_count(const struct cmd *cmd)
{
	size_t n = 0;

	while (cmd->opts && cmd->opts[n].name)
		n++;
	return n;
}

void opt_usage(const struct cmd *cmd)
{
	size_t i, n = opt_count(cmd);

	printf("usage: nfqlb %s%s%s%s\n", cmd->name, n ? " [OPTIONS]" : "",
	       cmd->args ? " " : "", cmd->args ? cmd->args : "");
	printf("%s\n", cmd->help);
	if (n)
		printf("\noptions:\n");
	for (i = 0; i < n; i++) {
		char left[64];

		snprintf(left, sizeof(left), "--%s%s%s", cmd->opts[i].name,
			 cmd->opts[i].arg ? " " : "",
			 cmd->opts[i].arg ? cmd->opts[i].arg : "");
		printf("  %-26s %s\n", left, cmd->opts[i].help);
	}
	printf("  %-26s %s\n", "--help", "print this help");
}

static void verror(const struct cmd *cmd, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

static void verror(const struct cmd *cmd, const char *fmt, va_list ap)
{
	fprintf(stderr, "nfqlb: %s: ", cmd->name);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

int usage_error(const struct cmd *cmd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verror(cmd, fmt, ap);
	va_end(ap);
	return NFQLB_USAGE;
}

int opt_operands(const struct cmd *cmd, const struct optval *ov, int argc,
		 char **argv, int max)
{
	if (argc - ov->first > max)
		return usage_error(cmd, "unexpected argument '%s'", argv[ov->first + max]);
	return NFQLB_OK;
}

int cmd_error(const struct cmd *cmd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verror(cmd, fmt, ap);
	va_end(ap);
	return NFQLB_FAIL;
}

void cmd_warning(const struct cmd *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "nfqlb: %s: warning: ", cmd->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int opt_index(const struct cmd *cmd, const char *name)
{
	size_t i, n = opt_count(cmd);

	for (i = 0; i < n; i++)
		if (strcmp(cmd->opts[i].name, name) == 0)
			return (int)i;
	return -1;
}

static void build_longopts(const struct cmd *cmd, struct option *lo)
{
	size_t i, n = opt_count(cmd);

	for (i = 0; i < n; i++)
		lo[i] = (struct option){ cmd->opts[i].name,
					 cmd->opts[i].arg ? required_argument : no_argument,
					 NULL, 256 + (int)i };
	lo[n] = (struct option){ "help", no_argument, NULL, 'h' };
	lo[n + 1] = (struct option){ NULL, 0, NULL, 0 };
}

static int bad_option(const struct cmd *cmd, int c, char **argv)
{
	const char *arg = argv[optind - 1];
	char shortopt[3] = { '-', (char)optopt, '\0' };

	if (optopt > 0 && optopt < 256)
		arg = shortopt;
	if (c == ':')
		return usage_error(cmd, "option '%s' needs an argument", arg);
	return usage_error(cmd, "unknown option '%s'", arg);
}

static bool repeatable(const struct opt *o)
{
	size_t n = o->arg ? strlen(o->arg) : 0;

	return n > 3 && strcmp(o->arg + n - 3, "...") == 0;
}

/* Keep option i's value; a repeatable option's values are all kept. */
static int store(const struct cmd *cmd, struct optval *ov, int i, const char *v)
{
	bool rep = repeatable(&cmd->opts[i]);

	if (ov->val[i] && !rep)
		return usage_error(cmd, "option '--%s' given twice", cmd->opts[i].name);
	if (!ov->val[i])
		ov->val[i] = v;
	if (!rep)
		return NFQLB_OK;
	if (ov->nrep == OPT_REPEAT_MAX)
		return usage_error(cmd, "option '--%s' given more than %d times",
				   cmd->opts[i].name, OPT_REPEAT_MAX);
	ov->rep[ov->nrep] = v;
	ov->rep_opt[ov->nrep++] = (unsigned char)i;
	return NFQLB_OK;
}

int opt_parse(const struct cmd *cmd, int argc, char **argv, struct optval *ov)
{
	struct option lo[OPT_MAX + 2];
	int c, r;

	memset(ov, 0, sizeof(*ov));
	build_longopts(cmd, lo);
	optind = 0;	/* full re-initialisation: commands may run more than once */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", lo, NULL)) != -1) {
		if (c == 'h') {
			opt_usage(cmd);
			return OPT_HELP;
		}
		if (c < 256)
			return bad_option(cmd, c, argv);
		if ((r = store(cmd, ov, c - 256, optarg ? optarg : "")))
			return r;
	}
	ov->first = optind;
	return NFQLB_OK;
}

const char *opt_get(const struct cmd *cmd, const struct optval *ov,
		    const char *name)
{
	int i = opt_index(cmd, name);

	return i < 0 ? NULL : ov->val[i];
}

const char *opt_nth(const struct cmd *cmd, const struct optval *ov,
		    const char *name, int n)
{
	int i = opt_index(cmd, name), k;

	for (k = 0; i >= 0 && k < ov->nrep; k++)
		if (ov->rep_opt[k] == i && n-- == 0)
			return ov->rep[k];
	return NULL;
}

int opt_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	unsigned long long v;
	int base = 10;
	char *end;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (!(s[0] >= '0' && s[0] <= '9') && !(base == 16 && s[0] != '\0' &&
						 strchr("abcdefABCDEF", s[0])))
		return -1;
	errno = 0;
	v = strtoull(s, &end, base);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

int opt_id(const char *s, uint32_t *out)
{
	/* iptables' --mark and ip's fwmark read "010" as octal 8: refuse it
	 * rather than mean 10 where they mean 8.  "0x010" is hex everywhere. */
	if (s[0] == '0' && s[1] >= '0' && s[1] <= '9') {
		errno = EDOM;
		return -1;
	}
	if (opt_u32(s, 1, UINT32_MAX, out) < 0) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

const char *opt_id_why(const char *s)
{
	uint32_t id;

	if (opt_id(s, &id) == 0)
		return "";
	if (errno == EDOM)
		return "a leading 0 is refused (iptables and ip read it as octal): "
		       "write it in decimal, or as 0x-hex";
	return "want 1..4294967295, decimal or 0x-hex";
}

const char *opt_shm_name(const struct cmd *cmd, const struct optval *ov)
{
	const char *name = opt_get(cmd, ov, "shm");

	/* An empty --shm or $NFQLB_SHM is an error table_name() reports, not
	 * the default: `--shm "$UNSET"` must not reach the default table. */
	if (name)
		return name;
	name = getenv("NFQLB_SHM");
	return name ? name : SHM_NAME_DEFAULT;
}
