/* test_cli.c: the command line: argument errors, messages, exit codes. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "nfqlb/cli.h"
#include "test/unit/cli_run.h"
#include "test/unit/suites.h"

static char name[64];

static void setup(void)
{
	snprintf(name, sizeof(name), "nfqlb-cli-%d", (int)getpid());
	setenv("NFQLB_SHM", name, 1);
}

static void teardown(void)
{
	char path[80];

	snprintf(path, sizeof(path), "/%s", name);
	shm_unlink(path);
}

/* Run one nfqlb command line (NULL-terminated); capture stdout and stderr. */
static int run(const char *arg, ...)
{
	const char *args[CLI_ARGS_MAX];
	int n = 0;
	va_list ap;

	va_start(ap, arg);
	for (; arg && n < CLI_ARGS_MAX - 1; arg = va_arg(ap, const char *))
		args[n++] = arg;
	va_end(ap);
	args[n] = NULL;
	return cli_run(NULL, args);
}

/* A usage error: exit 2 and one line "nfqlb: <cmd>: ..." naming `what`. */
struct usage_case {
	const char *args[6];
	const char *what;
};

static const struct usage_case usage_cases[] = {
	{ { "init", "--M", "1000" }, "nearest primes are 997 and 1009" },
	{ { "init", "--M", "abc" }, "bad M 'abc'" },
	{ { "init", "--M", "1" }, "out of range" },
	{ { "init", "--M", "2000000" }, "out of range" },
	{ { "init", "--N", "0" }, "bad N '0'" },
	{ { "init", "--M", "7", "--N", "8" }, "larger than M" },
	{ { "init", "--hash", "crc" }, "bad hash mode 'crc'" },
	{ { "init", "--seed", "-1" }, "bad seed '-1'" },
	{ { "init", "--bogus" }, "unknown option '--bogus'" },
	{ { "init", "--M" }, "needs an argument" },
	{ { "init", "--M", "7", "--M", "11" }, "given twice" },
	{ { "init", "extra" }, "unexpected argument" },
	{ { "activate" }, "no target id given" },
	{ { "activate", "0" }, "bad target id '0'" },
	{ { "activate", "4294967296" }, "bad target id '4294967296'" },
	{ { "activate", "-1" }, "unknown option '-1'" },
	{ { "activate", "--", "-1" }, "bad target id '-1'" },
	{ { "activate", " 5" }, "bad target id ' 5'" },
	{ { "activate", "5x" }, "bad target id '5x'" },
	{ { "activate", "--weight", "0", "1" }, "bad weight '0'" },
	{ { "activate", "--weight", "1001", "1" }, "bad weight '1001'" },
	{ { "deactivate" }, "no target id given" },
	{ { "show", "--shm", "a/b" }, "bad table name" },
	{ { "show", "now" }, "unexpected argument" },
	{ { "lb", "--queue", "5:3" }, "bad queue '5:3'" },
	{ { "lb", "--queue", "0:64" }, "bad queue '0:64'" },
	{ { "lb", "--queue", "65536" }, "bad queue '65536'" },
	{ { "lb", "--qlength", "0" }, "bad qlength '0'" },
	{ { "lb", "--no-target", "maybe" }, "bad no-target 'maybe'" },
	{ { "help", "nosuch" }, "unknown command 'nosuch'" },
	{ { "version", "1" }, "too many arguments" },
};

START_TEST(test_usage_errors)
{
	const struct usage_case *c = &usage_cases[_i];

	cli_want_error(run(c->args[0], c->args[1], c->args[2], c->args[3],
			   c->args[4], c->args[5], NULL), 2, c->args[0], c->what);
	ck_assert_str_eq(cli_out, "");
}
END_TEST

START_TEST(test_help)
{
	ck_assert_int_eq(run(NULL), 2);
	ck_assert_ptr_nonnull(strstr(cli_out, "activate"));
	ck_assert_int_eq(run("nosuch", NULL), 2);
	ck_assert_ptr_nonnull(strstr(cli_err, "unknown command 'nosuch'"));
	ck_assert_int_eq(run("help", NULL), 0);
	ck_assert_ptr_nonnull(strstr(cli_out, "deactivate"));
	ck_assert_int_eq(run("help", "init", NULL), 0);
	ck_assert_ptr_nonnull(strstr(cli_out, "usage: nfqlb init"));
	ck_assert_int_eq(run("init", "--help", NULL), 0);
	ck_assert_ptr_nonnull(strstr(cli_out, "--force"));
	ck_assert_int_eq(run("lb", "--help", NULL), 0);
	ck_assert_ptr_nonnull(strstr(cli_out, "--fail-open"));
	ck_assert_int_eq(run("version", NULL), 0);
	ck_assert_ptr_nonnull(strstr(cli_out, NFQLB_VERSION));
}
END_TEST

/* A failure: exit 1 and exactly one line "nfqlb: <cmd>: ...what...". */
static void want_failure(int ret, const char *cmd, const char *what)
{
	cli_want_error(ret, 1, cmd, what);
}

START_TEST(test_lifecycle)
{
	want_failure(run("show", NULL), "show", "does not exist");
	want_failure(run("activate", "1", NULL), "activate", "does not exist");
	want_failure(run("delete", NULL), "delete", "does not exist");
	ck_assert_int_eq(run("init", "--M", "13", "--N", "2", NULL), 0);
	want_failure(run("init", NULL), "init", "already exists");
	ck_assert_int_eq(run("init", "--force", "--M", "7", "--N", "3", "--hash", "src",
			     "--seed", "0x10", NULL), 0);
	ck_assert_int_eq(run("activate", "101", "0x66", NULL), 0);
	ck_assert_int_eq(run("activate", "--weight", "2", "103", NULL), 0);
	want_failure(run("activate", "104", NULL), "activate", "exceed N=3");
	want_failure(run("deactivate", "101", "9", NULL), "deactivate",
		     "target 9 is not active; nothing changed");
	ck_assert_int_eq(run("show", "--json", NULL), 0);
	ck_assert_msg(strncmp(cli_out, "{\"M\":7,\"N\":3,\"hash\":\"src\",\"seed\":16,"
			      "\"generation\":2,\"targets\":[{\"id\":101,\"weight\":1,",
			      60) == 0, "%s", cli_out);
	ck_assert_int_eq(cli_lines(cli_out), 1);
	ck_assert_ptr_nonnull(strstr(cli_out, "{\"id\":102,\"weight\":1,"));
	ck_assert_ptr_nonnull(strstr(cli_out, "{\"id\":103,\"weight\":2,"));
	ck_assert_int_eq(run("deactivate", "101", "102", NULL), 0);
	ck_assert_int_eq(run("show", "--json", NULL), 0);
	ck_assert_ptr_nonnull(strstr(cli_out, "\"generation\":3,\"targets\":[{\"id\":103,"
				       "\"weight\":2,\"entries\":7}],\"lookup\":[103,103,103,"
				       "103,103,103,103]}"));
	ck_assert_int_eq(run("show", NULL), 0);
	ck_assert_ptr_nonnull(strstr(cli_out, "M 7, N 3, hash src, seed 16, generation 3"));
	ck_assert_ptr_nonnull(strstr(cli_out, "100.00%"));
	ck_assert_int_eq(run("stats", "--json", NULL), 0);
	ck_assert_ptr_nonnull(strstr(cli_out, "{\"id\":101,\"active\":false,\"packets\":0}"));
	ck_assert_int_eq(run("delete", NULL), 0);
	want_failure(run("show", "--json", NULL), "show", "does not exist");
}
END_TEST

START_TEST(test_corrupt_object)
{
	char path[80];
	FILE *f;

	snprintf(path, sizeof(path), "/dev/shm/%s", name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("this is not a table, but it is long enough to hold a header of one "
	      "hundred and twenty-eight bytes, which is what nfqlb reads first....", f);
	fclose(f);
	want_failure(run("show", NULL), "show", "bad magic");
	want_failure(run("stats", NULL), "stats", "bad magic");
	want_failure(run("activate", "1", NULL), "activate", "bad magic");
	want_failure(run("deactivate", "1", NULL), "deactivate", "bad magic");
	want_failure(run("lb", NULL), "lb", "bad magic");
	want_failure(run("init", NULL), "init", "already exists");
	ck_assert_int_eq(run("init", "--force", NULL), 0);
	ck_assert_int_eq(run("show", NULL), 0);
}
END_TEST

Suite *make_cli_suite(void)
{
	Suite *s = suite_create("cli");
	TCase *tc = tcase_create("args");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_usage_errors, 0,
			    sizeof(usage_cases) / sizeof(usage_cases[0]));
	tcase_add_test(tc, test_help);
	tcase_add_test(tc, test_lifecycle);
	tcase_add_test(tc, test_corrupt_object);
	suite_add_tcase(s, tc);
	return s;
}
