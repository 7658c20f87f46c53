/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_cli.c: the command line: argument errors, messages, exit codes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "nfqlb/cli.h"
#include "shm/shm.h"
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

/* Run one nfqlb command line (NULL-terminated); capture stdout and stderr
 * (cli_runl()). */
#define run(...) cli_runl(NULL, __VA_ARGS__)

#define TEN "abcdefghij"
#define LONG_NAME TEN TEN TEN TEN TEN TEN TEN TEN TEN TEN \
	TEN TEN TEN TEN TEN TEN TEN TEN TEN TEN "x"	/* 201 bytes */

/* A usage error: exit 2 and one line "nfqlb: <cmd>: ..." naming `what`. */
struct usage_case {
	const char *args[12];
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
	{ { "init", "extra" }, "unexpected argument 'extra'" },
	{ { "delete", "extra" }, "unexpected argument 'extra'" },
	{ { "stats", "--json", "x" }, "unexpected argument 'x'" },
	{ { "lb", "now" }, "unexpected argument 'now'" },
	{ { "activate" }, "no target id given" },
	{ { "activate", "0" }, "bad target id '0'" },
	{ { "activate", "4294967296" }, "bad target id '4294967296'" },
	{ { "activate", "-1" }, "unknown option '-1'" },
	{ { "activate", "--", "-1" }, "bad target id '-1'" },
	{ { "activate", " 5" }, "bad target id ' 5'" },
	{ { "activate", "5x" }, "bad target id '5x'" },
	{ { "activate", "010" }, "bad target id '010': a leading 0 is refused (iptables and "
				  "ip read it as octal)" },
	{ { "activate", "1", "00" }, "bad target id '00': a leading 0 is refused" },
	{ { "deactivate", "09" }, "bad target id '09': a leading 0 is refused" },
	{ { "activate", "0x" }, "bad target id '0x': want 1..4294967295" },
	{ { "activate", "--weight", "0", "1" }, "bad weight '0'" },
	{ { "activate", "--weight", "1001", "1" }, "bad weight '1001'" },
	{ { "deactivate" }, "no target id given" },
	{ { "show", "--shm", "a/b" }, "bad table name \"a/b\": a table name must not contain '/'" },
	{ { "show", "--shm", "" }, "bad table name \"\": a table name must not be empty" },
	{ { "show", "--shm", ".." }, "a table name must not be \".\" or \"..\"" },
	{ { "init", "--shm", "." }, "a table name must not be \".\" or \"..\"" },
	{ { "delete", "--shm", "/x" }, "must not contain '/'" },
	{ { "activate", "--shm", "", "1" }, "must not be empty" },
	{ { "lb", "--shm", "a/b" }, "must not contain '/'" },
	{ { "show", "--shm", LONG_NAME }, "must not be longer than 200 bytes" },
	{ { "show", "now" }, "unexpected argument 'now'" },
	{ { "lb", "--queue", "5:3" }, "bad queue '5:3'" },
	{ { "lb", "--queue", "0:64" }, "bad queue '0:64'" },
	{ { "lb", "--queue", "65536" }, "bad queue '65536'" },
	{ { "lb", "--qlength", "0" }, "bad qlength '0'" },
	{ { "lb", "--no-target", "maybe" }, "bad no-target 'maybe'" },
	{ { "lb", "--proto", "tcp" }, "--proto needs --bpf" },
	{ { "lb", "--port", "80" }, "--port needs --bpf" },
	{ { "lb", "--bpf", "lo" }, "--bpf with --shm needs --vip" },
	{ { "lb", "--bpf", "" }, "bad bpf ''" },
	{ { "lb", "--bpf", "lo,,lo" }, "bad bpf 'lo,,lo'" },
	{ { "lb", "--bpf", "averyveryverylongname" }, "bad bpf" },
	{ { "lb", "--bpf", "lo", "--vip", "10.0.0.0/33" }, "bad vip '10.0.0.0/33'" },
	{ { "lb", "--bpf", "lo", "--vip", "10.0.0.1", "--proto", "icmp" }, "bad proto 'icmp'" },
	{ { "lb", "--bpf", "lo", "--vip", "10.0.0.1", "--port", "0" }, "bad port '0'" },
	{ { "lb", "--bpf", "lo", "--flows", "f", "--port", "80" }, "--vip, --proto and --port are for --shm" },
	{ { "lb", "--bpf", "lo", "--vip", "10.0.0.1", "--shed", "lo", "--shed-mode", "xdp" },
	  "--bpf needs --shed-mode tc" },
	{ { "help", "nosuch" }, "unknown command 'nosuch'" },
	{ { "version", "1" }, "unexpected argument '1'" },
	{ { "help", "show", "stats" }, "unexpected argument 'stats'" },
};

START_TEST(test_usage_errors)
{
	const struct usage_case *c = &usage_cases[_i];

	cli_want_error(run(c->args[0], c->args[1], c->args[2], c->args[3],
			   c->args[4], c->args[5], c->args[6], c->args[7], c->args[8],
			   c->args[9], c->args[10], c->args[11], NULL), 2, c->args[0],
		       c->what);
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
	ck_assert_ptr_nonnull(strstr(cli_out, "{\"id\":101,\"active\":false,\"packets\":0,\"fast\":0}"));
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
	want_failure(run("delete", NULL), "delete", "is not an nfqlb table");
	ck_assert_int_eq(run("init", "--force", NULL), 0);
	ck_assert_ptr_nonnull(strstr(cli_err, "nfqlb: init: warning: the targets of the old "
				       "table"));
	ck_assert_ptr_nonnull(strstr(cli_err, "could not be kept (not an nfqlb table"));
	ck_assert_int_eq(run("show", NULL), 0);
}
END_TEST

/* An empty $NFQLB_SHM is a usage error, as an empty --shm is, and never
 * the default table. */
START_TEST(test_empty_env)
{
	const char *cmds[] = { "init", "show", "delete", "lb" };
	size_t i;

	setenv("NFQLB_SHM", "", 1);
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		cli_want_error(run(cmds[i], NULL), 2, cmds[i],
			       "NFQLB_SHM is empty: unset it, or set it to a table name");
	cli_want_error(run("activate", "1", NULL), 2, "activate", "NFQLB_SHM is empty");
	ck_assert_int_eq(run("init", "--shm", name, NULL), 0);
	ck_assert_int_eq(run("show", "--shm", name, NULL), 0);
}
END_TEST

/* An activation that leaves an active target without entries is refused,
 * naming it; nothing changes. */
START_TEST(test_zero_entries)
{
	ck_assert_int_eq(run("init", NULL), 0);
	ck_assert_int_eq(run("activate", "30", "10", "20", NULL), 0);
	want_failure(run("activate", "--weight", "1000", "10", NULL), "activate",
		     "target 20 (weight 1) would get none of the M=997 entries next to "
		     "weight 1000: use a larger M or smaller weights; nothing changed");
	ck_assert_int_eq(run("show", "--json", NULL), 0);
	ck_assert_ptr_nonnull(strstr(cli_out, "\"generation\":1,"));
	ck_assert_ptr_nonnull(strstr(cli_out, "{\"id\":10,\"weight\":1,"));
	ck_assert_int_eq(run("activate", "--weight", "100", "10", NULL), 0);
}
END_TEST

/* show lists the targets by id, whatever slots they got. */
START_TEST(test_show_by_id)
{
	ck_assert_int_eq(run("init", "--M", "7", "--N", "5", NULL), 0);
	ck_assert_int_eq(run("activate", "30", "0x100", "10", "20", NULL), 0);
	ck_assert_int_eq(run("deactivate", "10", NULL), 0);
	ck_assert_int_eq(run("activate", "5", NULL), 0);	/* the last slot */
	ck_assert_int_eq(run("show", "--json", NULL), 0);
	ck_assert_msg(strstr(cli_out, "\"targets\":[{\"id\":5,") &&
		      strstr(cli_out, "},{\"id\":20,") && strstr(cli_out, "},{\"id\":30,") &&
		      strstr(cli_out, "},{\"id\":256,") && strstr(cli_out, "}],\"lookup\""),
		      "%s", cli_out);
	ck_assert_ptr_nonnull(strstr(strstr(strstr(strstr(cli_out, "\"id\":5,"),
						      "\"id\":20,"), "\"id\":30,"),
				     "\"id\":256,"));
	ck_assert_int_eq(run("show", NULL), 0);
	ck_assert_ptr_nonnull(strstr(strstr(strstr(strstr(cli_out, "\n           5 "),
						      "\n          20 "), "\n          30 "),
				     "\n         256 "));
}
END_TEST

/* Deactivating the last target and deleting a table a worker uses both
 * succeed, with a warning. */
START_TEST(test_warnings)
{
	char why[WHY_MAX];
	struct shm *s;

	ck_assert_int_eq(run("init", NULL), 0);
	ck_assert_int_eq(run("activate", "1", "2", NULL), 0);
	ck_assert_int_eq(run("deactivate", "1", NULL), 0);
	ck_assert_str_eq(cli_err, "");
	cli_want_error(run("deactivate", "2", NULL), 0, "deactivate",
		       "warning: no target is active now");
	s = shm_attach(name, true, why);
	ck_assert_msg(s != NULL, "%s", why);
	ck_assert_ptr_nonnull(shm_worker_claim(s, (int32_t)gettid(), 7));
	cli_want_error(run("delete", NULL), 0, "delete",
		       "warning: table \"nfqlb-cli-");
	ck_assert_ptr_nonnull(strstr(cli_err, "\" was in use by a worker (queue 7)"));
	shm_detach(s);
	ck_assert_int_eq(run("init", NULL), 0);
	ck_assert_int_eq(run("delete", NULL), 0);
	ck_assert_str_eq(cli_err, "");
}
END_TEST

/* The slot of target id in the published table of s. */
static uint32_t slot_of(const struct shm *s, uint32_t id)
{
	char why[WHY_MAX];
	struct shm_view v;
	uint32_t i, slot = SHM_NO_SLOT;

	ck_assert_int_eq(shm_view_init(&v, s->m, s->n), 0);
	ck_assert_msg(shm_read(s, &v, why) == 0, "%s", why);
	for (i = 0; i < v.n; i++)
		if (v.targets[i].id == id)
			slot = i;
	shm_view_free(&v);
	ck_assert_uint_ne(slot, SHM_NO_SLOT);
	return slot;
}

/* A queue's set (queue 3) and the fast path's set of `lb --bpf`: the
 * totals sum both, and the fast path has a row of its own and a per-target
 * count; it never counts more than the target's packets. */
START_TEST(test_stats_fastpath)
{
	const char *json_q = "\"queues\":[{\"queue\":3,\"running\":true,\"packets\":10,"
			     "\"waiting\":2,\"queue_dropped\":0,\"user_dropped\":1,";
	char want[256], fs[64], why[WHY_MAX];
	struct shm_worker *q, *f;
	int pid = (int)gettid();
	struct shm *s;

	ck_assert_int_eq(run("init", "--M", "7", "--N", "2", NULL), 0);
	ck_assert_int_eq(run("activate", "101", "102", NULL), 0);
	s = shm_attach(name, true, why);
	ck_assert_msg(s != NULL, "%s", why);
	q = shm_worker_claim(s, pid, 3);
	f = shm_worker_claim(s, pid, SHM_QUEUE_FASTPATH);
	ck_assert_ptr_nonnull(q);
	ck_assert_ptr_nonnull(f);
	q->cnt[SHM_CNT_L4] = 10;
	q->q_total = 2;
	q->u_dropped = 1;
	q->target[slot_of(s, 101)] = 6;
	q->target[slot_of(s, 102)] = 4;
	f->cnt[SHM_CNT_L4] = 5;
	f->target[slot_of(s, 101)] = 5;

	ck_assert_int_eq(run("stats", NULL), 0);
	ck_assert_ptr_nonnull(strstr(cli_out, "          id     state        packets"
				       "           fast\n"));
	ck_assert_ptr_nonnull(strstr(cli_out, "\n         101    active             11"
				       "              5\n"));
	ck_assert_ptr_nonnull(strstr(cli_out, "\n         102    active              4"
				       "              0\n"));
	ck_assert_ptr_nonnull(strstr(cli_out, "kinds: l4 15 "));
	snprintf(want, sizeof(want), "\nfastpath  running %9d %14d %8s %14s %13s\n",
		 pid, 5, "-", "-", "-");
	ck_assert_msg(strstr(cli_out, want), "%s", cli_out);
	snprintf(want, sizeof(want), "\n       3  running %9d %14d %8d %14d %13d\n",
		 pid, 10, 2, 0, 1);
	ck_assert_msg(strstr(cli_out, want), "%s", cli_out);

	ck_assert_int_eq(run("stats", "--json", NULL), 0);
	ck_assert_ptr_nonnull(strstr(cli_out, "\"kinds\":{\"l4\":15,"));
	ck_assert_ptr_nonnull(strstr(cli_out, "{\"id\":101,\"active\":true,\"packets\":11,"
				       "\"fast\":5}"));
	ck_assert_msg(strstr(cli_out, json_q), "%s", cli_out);
	snprintf(want, sizeof(want), "],\"fastpath\":[{\"running\":true,\"packets\":5,"
		 "\"pid\":%d,\"other_pidns\":false}]}\n", pid);
	ck_assert_msg(strstr(cli_out, want), "%s", cli_out);

	/* stats --flows: per flow, its table's targets with their fast counts. */
	snprintf(fs, sizeof(fs), "nfqlb-cli-flows-%d", (int)getpid());
	ck_assert_int_eq(run("flow", "set", "web", "--flows", fs, "--table", name, NULL), 0);
	ck_assert_int_eq(run("stats", "--flows", fs, "--json", NULL), 0);
	ck_assert_msg(strstr(cli_out, "{\"id\":101,\"active\":true,\"packets\":11,"
			     "\"fast\":5}"), "%s", cli_out);
	ck_assert_int_eq(run("stats", "--flows", fs, NULL), 0);
	ck_assert_msg(strstr(cli_out, "\n            id     state        packets           fast\n"
			     "           101    active             11              5\n"),
		      "%s", cli_out);
	snprintf(want, sizeof(want), "/%s", fs);
	shm_unlink(want);

	/* 103 takes 102's slot: its count starts at 0, and so does its fast
	 * count, which the earlier id's fast packets do not exceed. */
	f->target[slot_of(s, 102)] = 4;
	ck_assert_int_eq(run("deactivate", "102", NULL), 0);
	ck_assert_int_eq(run("activate", "103", NULL), 0);
	ck_assert_int_eq(run("stats", "--json", NULL), 0);
	ck_assert_msg(strstr(cli_out, "{\"id\":103,\"active\":true,\"packets\":0,"
			     "\"fast\":0}"), "%s", cli_out);
	/* delete names the queue of a worker before its fast path. */
	cli_want_error(run("delete", NULL), 0, "delete", "was in use by a worker (queue 3)");
	shm_detach(s);
	ck_assert_int_eq(run("init", NULL), 0);
	s = shm_attach(name, true, why);
	ck_assert_msg(s != NULL, "%s", why);
	ck_assert_ptr_nonnull(shm_worker_claim(s, pid, SHM_QUEUE_FASTPATH));
	cli_want_error(run("delete", NULL), 0, "delete", "was in use by a worker (its fast path)");
	shm_detach(s);
}
END_TEST

/* delete refuses an object that is not an nfqlb table, unless --force. */
START_TEST(test_delete_foreign)
{
	char path[80];
	FILE *f;

	snprintf(path, sizeof(path), "/dev/shm/%s", name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("another program's data", f);
	fclose(f);
	want_failure(run("delete", NULL), "delete", "is not an nfqlb table (no nfqlb magic): "
		     "not deleting it (--force deletes it anyway)");
	ck_assert_int_eq(access(path, F_OK), 0);
	ck_assert_int_eq(run("delete", "--force", NULL), 0);
	ck_assert_int_ne(access(path, F_OK), 0);
	want_failure(run("delete", "--force", NULL), "delete", "does not exist");
	f = fopen(path, "w");	/* empty: no magic either */
	ck_assert_ptr_nonnull(f);
	fclose(f);
	want_failure(run("delete", NULL), "delete", "is not an nfqlb table");
	ck_assert_int_eq(run("delete", "--force", NULL), 0);
}
END_TEST

/* init --force keeps the active targets and weights; --empty does not;
 * a new N or M that cannot hold them is refused and nothing changes. */
START_TEST(test_init_force_keeps)
{
	ck_assert_int_eq(run("init", NULL), 0);
	ck_assert_int_eq(run("activate", "7", "8", NULL), 0);
	ck_assert_int_eq(run("activate", "--weight", "4", "8", NULL), 0);
	want_failure(run("init", "--force", "--N", "1", NULL), "init",
		     "its 2 active targets do not fit in N=1; nothing changed");
	want_failure(run("init", "--force", "--M", "2", "--N", "2", NULL), "init",
		     "target 7 (weight 1) would get none of the M=2 entries next to weight 4: "
		     "use a larger M or smaller weights; nothing changed");
	ck_assert_int_eq(run("init", "--force", "--M", "65537", "--seed", "3", NULL), 0);
	ck_assert_str_eq(cli_err, "");
	ck_assert_int_eq(run("show", "--json", NULL), 0);
	ck_assert_msg(strncmp(cli_out, "{\"M\":65537,\"N\":32,\"hash\":\"5tuple\",\"seed\":3,"
			      "\"generation\":1,\"targets\":[{\"id\":7,\"weight\":1,"
			      "\"entries\":13107},{\"id\":8,\"weight\":4,\"entries\":52430}]",
			      141) == 0, "%.160s", cli_out);
	ck_assert_int_eq(run("init", "--force", "--empty", NULL), 0);
	ck_assert_int_eq(run("show", "--json", NULL), 0);
	ck_assert_ptr_nonnull(strstr(cli_out, "\"generation\":0,\"targets\":[],"));
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
	tcase_add_test(tc, test_empty_env);
	tcase_add_test(tc, test_zero_entries);
	tcase_add_test(tc, test_show_by_id);
	tcase_add_test(tc, test_warnings);
	tcase_add_test(tc, test_stats_fastpath);
	tcase_add_test(tc, test_delete_foreign);
	tcase_add_test(tc, test_init_force_keeps);
	suite_add_tcase(s, tc);
	return s;
}
