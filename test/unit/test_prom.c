/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_prom.c: the Prometheus exposition (prom.c) and the commands that
 * print or serve it (stats --prometheus, metrics). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "nfqlb/prom.h"
#include "shm/shm.h"
#include "test/unit/cli_run.h"
#include "test/unit/suites.h"

#define FAMILIES 17	/* metric families prom.h lists */

static char name[64];
static char why[WHY_MAX];

static void setup(void)
{
	char path[80];

	snprintf(name, sizeof(name), "nfqlb-prom-%d", (int)getpid());
	snprintf(path, sizeof(path), "/%s", name);
	shm_unlink(path);
	setenv("NFQLB_SHM", name, 1);
}

static void teardown(void)
{
	char path[80];

	snprintf(path, sizeof(path), "/%s", name);
	shm_unlink(path);
}

/* What fn wrote to a stream, malloc'd. */
#define CAPTURE(buf, stmt) do {						\
		size_t len_;						\
		FILE *f = open_memstream(&(buf), &len_);		\
		ck_assert_ptr_nonnull(f);				\
		stmt;							\
		ck_assert_int_eq(fclose(f), 0);				\
	} while (0)

static const struct { const char *in, *out; } escapes[] = {
	{ "nfqlb", "nfqlb" },
	{ "", "" },
	{ "a\\b", "a\\\\b" },
	{ "say \"hi\"", "say \\\"hi\\\"" },
	{ "two\nlines", "two\\nlines" },
	{ "\\\"\n", "\\\\\\\"\\n" },
	{ "tab\tand é", "tab\tand é" },	/* other bytes as they are */
};

START_TEST(test_escape)
{
	char *buf = NULL;

	CAPTURE(buf, prom_escape(f, escapes[_i].in));
	ck_assert_str_eq(buf, escapes[_i].out);
	free(buf);
}
END_TEST

/* A table as a worker would leave it: targets 3 (active) and 9 (not), one
 * queue. */
static struct prom_target small_targets[] = {
	{ 3, true, 2, 13, 40 },
	{ 9, false, 0, 0, 2 },
};

static void small_table(struct prom_table *t, const char *tname)
{
	memset(t, 0, sizeof(*t));
	t->name = tname;
	t->up = true;
	t->m = 13;
	t->n = 4;
	t->nactive = 1;
	t->generation = 5;
	t->targets = small_targets;
	t->ntargets = 2;
	t->cnt[SHM_CNT_L4] = 30;
	t->cnt[SHM_CNT_ICMP_ECHO] = 6;
	t->cnt[SHM_CNT_ICMP_ERROR] = 3;
	t->cnt[SHM_CNT_FRAGMENT] = 2;
	t->cnt[SHM_CNT_L3] = 1;
	t->cnt[SHM_CNT_MALFORMED] = 1;
	t->cnt[SHM_CNT_NO_TARGET] = 1;
	t->cnt[SHM_CNT_ACCEPT] = 42;
	t->cnt[SHM_CNT_DROP] = 1;
	t->cnt[SHM_CNT_FRAG_TRACKED] = 5;
	t->cnt[SHM_CNT_FRAG_HELD] = 2;
	t->cnt[SHM_CNT_FRAG_RELEASED] = 1;
	t->cnt[SHM_CNT_FRAG_TIMEOUT] = 1;
	t->queues[0] = (struct prom_queue){ 7, true, 43, 3, 4, 18446744073709551615ULL };
	t->nqueues = 1;
}

#define T "{table=\"t\\\"1\""
static const char small_want[] =
	"# HELP nfqlb_table_up Whether the table could be read (1) or not (0).\n"
	"# TYPE nfqlb_table_up gauge\n"
	"nfqlb_table_up" T "} 1\n"
	"# HELP nfqlb_table_generation Generation of the published table; every update adds one.\n"
	"# TYPE nfqlb_table_generation gauge\n"
	"nfqlb_table_generation" T "} 5\n"
	"# HELP nfqlb_table_size Lookup entries of the table (M).\n"
	"# TYPE nfqlb_table_size gauge\n"
	"nfqlb_table_size" T "} 13\n"
	"# HELP nfqlb_table_max_targets Most active targets the table holds (N).\n"
	"# TYPE nfqlb_table_max_targets gauge\n"
	"nfqlb_table_max_targets" T "} 4\n"
	"# HELP nfqlb_table_active_targets Active targets.\n"
	"# TYPE nfqlb_table_active_targets gauge\n"
	"nfqlb_table_active_targets" T "} 1\n"
	"# HELP nfqlb_target_active Whether a target that owns a slot is active (1) or not (0).\n"
	"# TYPE nfqlb_target_active gauge\n"
	"nfqlb_target_active" T ",target=\"3\"} 1\n"
	"nfqlb_target_active" T ",target=\"9\"} 0\n"
	"# HELP nfqlb_target_weight Weight of an active target.\n"
	"# TYPE nfqlb_target_weight gauge\n"
	"nfqlb_target_weight" T ",target=\"3\"} 2\n"
	"# HELP nfqlb_target_entries Lookup entries an active target owns.\n"
	"# TYPE nfqlb_target_entries gauge\n"
	"nfqlb_target_entries" T ",target=\"3\"} 13\n"
	"# HELP nfqlb_target_packets_total Packets given to a target since its slot got its id.\n"
	"# TYPE nfqlb_target_packets_total counter\n"
	"nfqlb_target_packets_total" T ",target=\"3\"} 40\n"
	"nfqlb_target_packets_total" T ",target=\"9\"} 2\n"
	"# HELP nfqlb_packets_total Packets the workers classified, by kind of packet.\n"
	"# TYPE nfqlb_packets_total counter\n"
	"nfqlb_packets_total" T ",kind=\"l4\"} 30\n"
	"nfqlb_packets_total" T ",kind=\"icmp-echo\"} 6\n"
	"nfqlb_packets_total" T ",kind=\"icmp-error\"} 3\n"
	"nfqlb_packets_total" T ",kind=\"fragment\"} 2\n"
	"nfqlb_packets_total" T ",kind=\"l3\"} 1\n"
	"nfqlb_packets_total" T ",kind=\"malformed\"} 1\n"
	"# HELP nfqlb_no_target_packets_total Packets that found no active target.\n"
	"# TYPE nfqlb_no_target_packets_total counter\n"
	"nfqlb_no_target_packets_total" T "} 1\n"
	"# HELP nfqlb_verdicts_total Verdicts the workers gave.\n"
	"# TYPE nfqlb_verdicts_total counter\n"
	"nfqlb_verdicts_total" T ",verdict=\"accept\"} 42\n"
	"nfqlb_verdicts_total" T ",verdict=\"drop\"} 1\n"
	"# HELP nfqlb_fragments_total Fragments the workers' trackers saw (hash mode 5tuple), "
	"by event.\n"
	"# TYPE nfqlb_fragments_total counter\n"
	"nfqlb_fragments_total" T ",event=\"tracked\"} 5\n"
	"nfqlb_fragments_total" T ",event=\"held\"} 2\n"
	"nfqlb_fragments_total" T ",event=\"released\"} 1\n"
	"nfqlb_fragments_total" T ",event=\"timeout\"} 1\n"
	"nfqlb_fragments_total" T ",event=\"dropped\"} 0\n"
	"# HELP nfqlb_queue_packets_total Packets the workers of a queue classified.\n"
	"# TYPE nfqlb_queue_packets_total counter\n"
	"nfqlb_queue_packets_total" T ",queue=\"7\"} 43\n"
	"# HELP nfqlb_queue_waiting_packets Packets waiting in the kernel's queue, at the "
	"workers' last look.\n"
	"# TYPE nfqlb_queue_waiting_packets gauge\n"
	"nfqlb_queue_waiting_packets" T ",queue=\"7\"} 3\n"
	"# HELP nfqlb_queue_dropped_total Packets the kernel dropped before a worker saw "
	"them, by reason.\n"
	"# TYPE nfqlb_queue_dropped_total counter\n"
	"nfqlb_queue_dropped_total" T ",queue=\"7\",reason=\"queue_full\"} 4\n"
	"nfqlb_queue_dropped_total" T ",queue=\"7\",reason=\"socket_full\"} "
	"18446744073709551615\n"
	"# HELP nfqlb_worker_up Whether a worker serves the queue (1) or not (0).\n"
	"# TYPE nfqlb_worker_up gauge\n"
	"nfqlb_worker_up" T ",queue=\"7\"} 1\n";
#undef T

START_TEST(test_write_one)
{
	struct prom_table t;
	char *buf = NULL;

	small_table(&t, "t\"1");
	CAPTURE(buf, ck_assert_int_eq(prom_write(f, &t, 1), 0));
	ck_assert_str_eq(buf, small_want);
	free(buf);
}
END_TEST

static int count(const char *s, const char *what)
{
	int n = 0;

	for (; (s = strstr(s, what)); s++)
		n++;
	return n;
}

/* Each family's samples follow its own TYPE line, for every table. */
static void check_grouped(const char *text)
{
	char family[128] = "";
	const char *line, *end;
	size_t fl;

	for (line = text; *line; line = end + 1) {
		end = strchr(line, '\n');
		ck_assert_ptr_nonnull(end);
		if (strncmp(line, "# TYPE ", 7) == 0) {
			fl = strcspn(line + 7, " ");
			ck_assert_uint_lt(fl, sizeof(family));
			memcpy(family, line + 7, fl);
			family[fl] = '\0';
		} else if (line[0] != '#') {
			fl = strlen(family);
			ck_assert_msg(fl && strncmp(line, family, fl) == 0 && line[fl] == '{',
				      "sample outside its family %s: %.*s", family,
				      (int)(end - line), line);
		}
	}
}

START_TEST(test_write_several)
{
	struct prom_table t[3];
	char *buf = NULL;

	small_table(&t[0], "a");
	memset(&t[1], 0, sizeof(t[1]));
	t[1].name = "gone";
	small_table(&t[2], "b");
	CAPTURE(buf, ck_assert_int_eq(prom_write(f, t, 3), 0));
	ck_assert_int_eq(count(buf, "# HELP "), FAMILIES);
	ck_assert_int_eq(count(buf, "# TYPE "), FAMILIES);
	ck_assert_int_eq(count(buf, "{table=\"gone\""), 1);
	ck_assert_ptr_nonnull(strstr(buf, "\nnfqlb_table_up{table=\"a\"} 1\n"
				     "nfqlb_table_up{table=\"gone\"} 0\n"
				     "nfqlb_table_up{table=\"b\"} 1\n"));
	/* The up tables show the same samples as alone. */
	ck_assert_int_eq(count(buf, "{table=\"a\""), count(small_want, "\nnfqlb_"));
	ck_assert_int_eq(count(buf, "{table=\"b\""), count(small_want, "\nnfqlb_"));
	check_grouped(buf);
	free(buf);
}
END_TEST

START_TEST(test_write_error)
{
	struct prom_table t;
	char small[64];
	FILE *f = fmemopen(small, sizeof(small), "w");

	ck_assert_ptr_nonnull(f);
	setvbuf(f, NULL, _IONBF, 0);
	small_table(&t, "t");
	ck_assert_int_eq(prom_write(f, &t, 1), -1);
	ck_assert_int_eq(errno, EIO);
	fclose(f);
}
END_TEST

/* ------------------------------------------------------------ from a table */

static struct shm *make(void)
{
	struct shm_params p = { 13, 4, 0, HASH_5TUPLE };
	uint32_t ids[] = { 30, 10, 20 }, gone = 20, bad;
	struct shm *s;

	ck_assert_int_eq(shm_create(name, &p, false), 0);
	s = shm_attach(name, true, why);
	ck_assert_msg(s != NULL, "attach: %s", why);
	ck_assert_msg(shm_activate(s, ids, 3, 2, &bad, why) == 0, "%s", why);
	ck_assert_msg(shm_deactivate(s, &gone, 1, &bad, why) == 0, "%s", why);
	return s;
}

/* A counter set for queue q, owned by handle h, with these counts. */
static struct shm_worker *worker(struct shm *h, uint32_t q, uint64_t l4,
				 uint64_t dropped)
{
	struct shm_worker *w = shm_worker_claim(h, 1, q);

	ck_assert_ptr_nonnull(w);
	shm_count(&w->cnt[SHM_CNT_L4], l4);
	shm_count(&w->cnt[SHM_CNT_ACCEPT], l4);
	shm_count(&w->q_dropped, dropped);
	shm_count(&w->u_dropped, 2 * dropped);
	return w;
}

START_TEST(test_load)
{
	struct shm *s = make(), *h1, *h2, *h3;
	uint64_t target[4], cnt[SHM_CNT_MAX];
	struct shm_view v;
	struct prom_table t;
	uint32_t i, entries = 0;

	h1 = shm_attach(name, true, why);
	h2 = shm_attach(name, true, why);
	h3 = shm_attach(name, true, why);
	ck_assert(h1 && h2 && h3);
	worker(h1, 5, 10, 1);
	worker(h2, 5, 7, 2);	/* the same queue number: summed */
	worker(h3, 2, 3, 0);
	shm_count(&shm_worker_at(s, 0)->target[0], 4);
	shm_detach(h2);		/* one of queue 5's workers is gone */
	shm_detach(h3);		/* queue 2's worker is gone */

	ck_assert_msg(prom_load(&t, name, why) == 0, "load: %s", why);
	ck_assert(t.up);
	ck_assert_str_eq(t.name, name);
	/* Against what the shm module itself reads. */
	ck_assert_int_eq(shm_view_init(&v, s->m, s->n), 0);
	ck_assert_int_eq(shm_read(s, &v, why), 0);
	shm_counts(s, target, cnt);
	ck_assert_uint_eq(t.generation, v.generation);
	ck_assert_uint_eq(t.m, 13);
	ck_assert_uint_eq(t.n, 4);
	ck_assert_uint_eq(t.nactive, 2);
	ck_assert_uint_eq(t.ntargets, 3);
	for (i = 0; i < 3; i++) {
		ck_assert_uint_eq(t.targets[i].id, 10 * (i + 1));	/* by id */
		ck_assert(t.targets[i].active == (t.targets[i].id != 20));
		entries += t.targets[i].entries;
	}
	ck_assert_uint_eq(entries, 13);
	ck_assert_uint_eq(t.targets[0].weight, 2);
	for (i = 0; i < v.n; i++)
		if (v.targets[i].id == 30)
			ck_assert_uint_eq(t.targets[2].packets, target[i]);
	ck_assert_mem_eq(t.cnt, cnt, sizeof(cnt));
	ck_assert_uint_eq(t.cnt[SHM_CNT_L4], 20);
	ck_assert_uint_eq(t.nqueues, 2);
	ck_assert_uint_eq(t.queues[0].queue, 2);
	ck_assert(!t.queues[0].running);
	ck_assert_uint_eq(t.queues[0].packets, 3);
	ck_assert_uint_eq(t.queues[1].queue, 5);
	ck_assert(t.queues[1].running);
	ck_assert_uint_eq(t.queues[1].packets, 17);
	ck_assert_uint_eq(t.queues[1].queue_dropped, 3);
	ck_assert_uint_eq(t.queues[1].user_dropped, 6);
	prom_free(&t);
	shm_view_free(&v);
	shm_detach(h1);
	shm_detach(s);
}
END_TEST

START_TEST(test_load_missing)
{
	struct prom_table t;

	ck_assert_int_eq(prom_load(&t, name, why), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert(!t.up);
	ck_assert_str_eq(t.name, name);
	ck_assert_str_ne(why, "");
	prom_free(&t);
}
END_TEST

/* ------------------------------------------------------------ commands */

static int run(const char *const *args)
{
	return cli_run(NULL, args);
}

START_TEST(test_stats_prometheus)
{
	char want[128];

	shm_detach(make());
	ck_assert_int_eq(run((const char *[]){ "stats", "--prometheus", NULL }), 0);
	ck_assert_str_eq(cli_err, "");
	ck_assert_int_eq(strncmp(cli_out, "# HELP nfqlb_table_up ", 22), 0);
	snprintf(want, sizeof(want), "\nnfqlb_table_active_targets{table=\"%s\"} 2\n", name);
	ck_assert_ptr_nonnull(strstr(cli_out, want));
	ck_assert_int_eq(count(cli_out, "# TYPE "), FAMILIES);
	check_grouped(cli_out);
}
END_TEST

START_TEST(test_stats_prometheus_missing)
{
	cli_want_error(run((const char *[]){ "stats", "--prometheus", NULL }), 1,
		       "stats", "does not exist");
	ck_assert_str_eq(cli_out, "");
}
END_TEST

struct usage_case {
	const char *args[8];
	const char *what;
};

static const struct usage_case usage_cases[] = {
	{ { "stats", "--prometheus", "--json" }, "--json and --prometheus exclude" },
	{ { "stats", "--prometheus", "x" }, "unexpected argument 'x'" },
	{ { "metrics" }, "--listen ADDR:PORT is required" },
	{ { "metrics", "--listen", "127.0.0.1" }, "bad --listen '127.0.0.1'" },
	{ { "metrics", "--listen", "127.0.0.1:0" }, "bad --listen" },
	{ { "metrics", "--listen", "127.0.0.1:65536" }, "bad --listen" },
	{ { "metrics", "--listen", "127.0.0.1:x" }, "bad --listen" },
	{ { "metrics", "--listen", "localhost:9100" }, "bad --listen" },
	{ { "metrics", "--listen", "::1:9100" }, "bad --listen" },
	{ { "metrics", "--listen", "[::1]" }, "bad --listen" },
	{ { "metrics", "--listen", "[127.0.0.1]:9100" }, "bad --listen" },
	{ { "metrics", "--listen", ":9100" }, "bad --listen" },
	{ { "metrics", "--listen", "127.0.0.1:9100", "x" }, "unexpected argument 'x'" },
	{ { "metrics", "--listen", "127.0.0.1:9100", "--shm", "a", "--shm", "a" },
	  "table \"a\" given twice" },
	{ { "metrics", "--listen", "127.0.0.1:9100", "--shm", "a/b" },
	  "bad table name \"a/b\"" },
	{ { "metrics", "--listen", "127.0.0.1:9100", "--shm", "" }, "bad table name \"\"" },
};

START_TEST(test_usage)
{
	cli_want_error(run(usage_cases[_i].args), 2, usage_cases[_i].args[0],
		       usage_cases[_i].what);
	ck_assert_str_eq(cli_out, "");
}
END_TEST

/* 192.0.2.1 (TEST-NET-1) is no address of this host: bind() fails before
 * anything is served. */
START_TEST(test_bind_failure)
{
	cli_want_error(run((const char *[]){ "metrics", "--listen", "192.0.2.1:9100",
					     NULL }),
		       1, "metrics", "cannot listen on 192.0.2.1:9100: ");
}
END_TEST

Suite *make_prom_suite(void)
{
	Suite *s = suite_create("prom");
	TCase *tc = tcase_create("exposition");
	TCase *cmd = tcase_create("commands");

	tcase_add_loop_test(tc, test_escape, 0, sizeof(escapes) / sizeof(escapes[0]));
	tcase_add_test(tc, test_write_one);
	tcase_add_test(tc, test_write_several);
	tcase_add_test(tc, test_write_error);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_load);
	tcase_add_test(tc, test_load_missing);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(cmd, setup, teardown);
	tcase_add_test(cmd, test_stats_prometheus);
	tcase_add_test(cmd, test_stats_prometheus_missing);
	tcase_add_loop_test(cmd, test_usage, 0,
			    sizeof(usage_cases) / sizeof(usage_cases[0]));
	tcase_add_test(cmd, test_bind_failure);
	suite_add_tcase(s, cmd);
	return s;
}
