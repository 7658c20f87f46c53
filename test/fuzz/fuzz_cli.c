/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz_cli.c: libFuzzer target for the command line (nfqlb/cli.c, opt.c,
 * and the parsing in table.c and lb.c).
 *
 * The input is a command line: arguments separated by NUL or newline
 * (a newline inside an argument would make any message two lines).
 * Before each run a sandbox table /dev/shm/nfqlb-fuzz-cli-<pid>, named by
 * $NFQLB_SHM, is made afresh with targets 1 and 2, and a sandbox flow set
 * /dev/shm/nfqlb-fuzz-cli-flows-<pid>, named by $NFQLB_FLOWS, with flows
 * a and b.
 *
 * nfqlb's commands return their exit code instead of exiting, so the real
 * nfqlb_run() runs in-process.  Only what cannot reach outside the sandbox
 * runs for real:
 *   - a table command runs when its options resolve the table to the
 *     sandbox (opt_parse() and opt_shm_name() tell, before the run);
 *     otherwise only its parsing runs, so no input can touch a real table;
 *   - so does `flow`, when its options resolve the flow set to the sandbox;
 *   - `lb` runs only with the sandbox removed first, so it fails before it
 *     binds a queue or waits for a signal; its signal mask is restored;
 *   - `metrics`, `health` and `restore` are only parsed: they would serve
 *     or probe until a signal, or write the tables their input names.
 * The other commands run for real: run-fuzz.sh gives the fuzzer its own
 * network namespace (so `route` and `rules` see only that) and /dev/null
 * as standard input.
 * What must hold: the exit code is 0, 1 or 2; a failure prints exactly one
 * line on stderr, "nfqlb: ...", and a success none or one warning line,
 * "nfqlb: <cmd>: warning: ..."; the parse run alone and the full run
 * agree on usage errors; a --shm given is the table used; and the
 * sandbox table and flow set, if they still exist, are valid.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "flows/flowset.h"
#include "nfqlb/cli.h"
#include "nfqlb/metrics.h"
#include "shm/shm.h"

#define REQUIRE(c) do {							\
	if (!(c)) {							\
		restore_streams();					\
		fprintf(stderr, "fuzz_cli: %s:%d: contract broken: %s\n",	\
			__FILE__, __LINE__, #c);			\
		fprintf(stderr, "fuzz_cli: stderr was: %s\n", err_buf);	\
		abort();						\
	}								\
} while (0)

#define ARGS_MAX 24
#define ERR_MAX 4096

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char sandbox[64], flows_sandbox[80];
static bool dirty = true;	/* the sandbox may differ from what reset makes */
static bool flows_dirty = true;	/* the same for the sandbox flow set */
static char err_buf[ERR_MAX];
static FILE *devnull, *saved_out, *saved_err;

/* The table commands; help and version touch no table. */
static const struct cmd *const table_cmds[] = {
	&cmd_init, &cmd_delete, &cmd_activate, &cmd_deactivate, &cmd_show,
	&cmd_stats, &cmd_lb, &cmd_flow,
};

/* Commands only parsed: they would serve or probe until a signal (metrics,
 * health), or write tables that the input names (restore). */
static const struct cmd *const parse_cmds[] = {
	&cmd_metrics, &cmd_health, &cmd_restore,
};

static void restore_streams(void)
{
	if (saved_out) {
		stdout = saved_out;
		saved_out = NULL;
	}
	if (saved_err) {
		fclose(stderr);
		stderr = saved_err;
		saved_err = NULL;
	}
}

/* stdout to /dev/null, stderr into err_buf. */
static void capture_streams(void)
{
	FILE *f;

	memset(err_buf, 0, sizeof(err_buf));
	f = fmemopen(err_buf, sizeof(err_buf) - 1, "w");
	if (!f)
		abort();
	setvbuf(f, NULL, _IONBF, 0);
	saved_out = stdout;
	saved_err = stderr;
	stdout = devnull;
	stderr = f;
}

static void remove_sandbox(void)
{
	char path[80];

	snprintf(path, sizeof(path), "/%s", sandbox);
	shm_unlink(path);
}

static void remove_flows_sandbox(void)
{
	char path[96];

	snprintf(path, sizeof(path), "/%s", flows_sandbox);
	shm_unlink(path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	snprintf(sandbox, sizeof(sandbox), "nfqlb-fuzz-cli-%d", (int)getpid());
	setenv("NFQLB_SHM", sandbox, 1);
	snprintf(flows_sandbox, sizeof(flows_sandbox), "%s-flows", sandbox);
	setenv(FLOWSET_ENV, flows_sandbox, 1);
	devnull = fopen("/dev/null", "w");
	if (!devnull)
		abort();
	atexit(remove_sandbox);
	atexit(remove_flows_sandbox);
	return 0;
}

/* Every input starts from the same sandbox.  Remaking it costs two
 * mmap()/munmap() pairs, so it is only remade after a command that may
 * have changed it. */
static void reset_sandbox(void)
{
	struct shm_params p = { 13, 4, 0, HASH_5TUPLE };
	const uint32_t ids[2] = { 1, 2 };
	char why[WHY_MAX];
	uint32_t bad;
	struct shm *s;

	if (!dirty)
		return;
	dirty = false;
	if (shm_create(sandbox, &p, true) < 0)
		abort();
	s = shm_attach(sandbox, true, why);
	if (!s || shm_activate(s, ids, 2, 0, &bad, why) < 0)
		abort();
	shm_detach(s);
}

/* The sandbox flow set, made afresh after a flow command ran. */
static void reset_flows_sandbox(void)
{
	struct flow f;
	struct flowset *fs;
	char why[WHY_MAX];

	if (!flows_dirty)
		return;
	flows_dirty = false;
	remove_flows_sandbox();
	fs = flowset_attach(flows_sandbox, true, true, why);
	if (!fs)
		abort();
	memset(&f, 0, sizeof(f));
	strcpy(f.table, sandbox);
	strcpy(f.name, "a");
	if (flowset_set(fs, &f, why) < 0)
		abort();
	strcpy(f.name, "b");
	f.prio = 5;
	f.protos = FLOW_P_TCP;
	if (flowset_set(fs, &f, why) < 0)
		abort();
	flowset_detach(fs);
}

/* Split the input into argv[1..]; argv[0] is "nfqlb".  Bytes after the
 * ARGS_MAX-th argument are dropped.  Returns argc. */
static int split(const uint8_t *data, size_t size, char *buf, char **argv)
{
	int argc = 1;
	size_t i;

	argv[0] = "nfqlb";
	memcpy(buf, data, size);
	buf[size] = '\0';
	for (i = 0; i < size; i++)
		if (buf[i] == '\n')
			buf[i] = '\0';
	if (size)
		argv[argc++] = buf;
	for (i = 0; i < size && argc < ARGS_MAX; i++)
		if (buf[i] == '\0')
			argv[argc++] = buf + i + 1;
	argv[argc] = NULL;
	return argc;
}

static const struct cmd *find_cmd(const struct cmd *const *cmds, size_t n,
				  const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(cmds[i]->name, name) == 0)
			return cmds[i];
	return NULL;
}

static const struct cmd *table_cmd(const char *name)
{
	return find_cmd(table_cmds, sizeof(table_cmds) / sizeof(table_cmds[0]), name);
}

static const struct cmd *parse_cmd(const char *name)
{
	return find_cmd(parse_cmds, sizeof(parse_cmds) / sizeof(parse_cmds[0]), name);
}

/* One line, "nfqlb: ...\n", and nothing else. */
static bool one_line(const char *s)
{
	const char *nl = strchr(s, '\n');

	return strncmp(s, "nfqlb: ", 7) == 0 && nl && nl[1] == '\0';
}

/* One line, "nfqlb: <cmd>: warning: ...\n": what a success may print. */
static bool one_warning(const char *s)
{
	const char *colon;

	if (!one_line(s))
		return false;
	colon = strchr(s + 7, ':');	/* the end of <cmd> */
	return colon && strncmp(colon, ": warning: ", 11) == 0;
}

/* Parse only.  Returns the parse result; *run says whether the command
 * may run for real. */
static int parse_only(const struct cmd *c, int argc, char **argv, bool *run)
{
	struct optval ov;
	int r;

	capture_streams();
	r = opt_parse(c, argc - 1, argv + 1, &ov);
	restore_streams();
	REQUIRE(r == 0 || r == OPT_HELP || r == NFQLB_USAGE);
	REQUIRE(r != NFQLB_USAGE || one_line(err_buf));
	REQUIRE(r == NFQLB_USAGE || err_buf[0] == '\0');
	/* A table named on the command line is the table used, or an error. */
	if (r == 0 && opt_get(c, &ov, "shm"))
		REQUIRE(strcmp(opt_shm_name(c, &ov), opt_get(c, &ov, "shm")) == 0);
	if (c == &cmd_flow)
		*run = r != 0 || strcmp(flowset_name(opt_get(c, &ov, "flows")),
					flows_sandbox) == 0;
	else
		*run = r != 0 || strcmp(opt_shm_name(c, &ov), sandbox) == 0;
	return r;
}

static void check_sandbox(void)
{
	char why[WHY_MAX] = "";
	struct shm_view v;
	struct shm *s = shm_attach(sandbox, false, why);

	if (!s) {
		REQUIRE(errno == ENOENT);
		return;
	}
	REQUIRE(shm_view_init(&v, s->m, s->n) == 0);
	REQUIRE(shm_read(s, &v, why) == 0);
	shm_view_free(&v);
	shm_detach(s);
}

static void check_flows_sandbox(void)
{
	char why[WHY_MAX] = "";
	struct flowset_view v;
	struct flowset *fs = flowset_attach(flows_sandbox, false, false, why);

	if (!fs) {
		REQUIRE(errno == ENOENT);
		return;
	}
	REQUIRE(flowset_view_init(&v) == 0);
	REQUIRE(flowset_read(fs, &v, why) == 0);
	flowset_view_free(&v);
	flowset_detach(fs);
}

static void run_full(int argc, char **argv, int parsed)
{
	sigset_t mask;
	struct sigaction usr1;
	int r;

	pthread_sigmask(SIG_SETMASK, NULL, &mask);
	sigaction(SIGUSR1, NULL, &usr1);
	capture_streams();
	r = nfqlb_run(argc, argv);
	restore_streams();
	pthread_sigmask(SIG_SETMASK, &mask, NULL);
	sigaction(SIGUSR1, &usr1, NULL);
	REQUIRE(r == NFQLB_OK || r == NFQLB_FAIL || r == NFQLB_USAGE);
	/* Without a command nfqlb prints the command list, on stdout. */
	if (argc >= 2)
		REQUIRE(r == NFQLB_OK ? err_buf[0] == '\0' || one_warning(err_buf) :
					one_line(err_buf));
	REQUIRE(parsed != NFQLB_USAGE || r == NFQLB_USAGE);
	REQUIRE(parsed != OPT_HELP || r == NFQLB_OK);
	check_sandbox();
	check_flows_sandbox();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1), *argv[ARGS_MAX + 1], *argv2[ARGS_MAX + 1];
	const struct cmd *c;
	int argc, parsed = 0;
	bool run = true;

	if (!buf)
		abort();
	argc = split(data, size, buf, argv);
	memcpy(argv2, argv, sizeof(argv));	/* getopt permutes argv */
	reset_sandbox();
	reset_flows_sandbox();
	c = argc >= 2 ? table_cmd(argv[1]) : NULL;
	if (c)
		parsed = parse_only(c, argc, argv, &run);
	if (!c && argc >= 2 && parse_cmd(argv[1])) {
		parse_only(parse_cmd(argv[1]), argc, argv, &run);
		run = false;
	}
	if (c == &cmd_lb)
		remove_sandbox();
	if (run)
		run_full(argc, argv2, parsed);
	dirty = c && run && c != &cmd_show && c != &cmd_stats && c != &cmd_flow;
	flows_dirty = c == &cmd_flow && run;
	free(buf);
	return 0;
}
