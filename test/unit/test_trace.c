/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_trace.c: the trace ring (shm/trace.h) and `nfqlb trace`: records
 * written and read back, overrun and torn records detected, two readers,
 * the lease, dead workers' rings, and the command on a ring of this
 * process. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shm/trace.h"
#include "test/unit/cli_run.h"
#include "test/unit/suites.h"

static char table[64];

static void setup(void)
{
	snprintf(table, sizeof(table), "nfqlb-unit-trace-%d", (int)getpid());
}

static struct trace *make(int32_t pid, uint32_t records)
{
	char why[WHY_MAX] = "";
	struct trace *t = trace_create(pid, TRACE_SERVES_TABLE, table, records, why);

	ck_assert_msg(t != NULL, "trace_create: %s", why);
	return t;
}

static struct trace *open_ring(const struct trace *w)
{
	char why[WHY_MAX] = "";
	struct trace *t = trace_open(w->name, why);

	ck_assert_msg(t != NULL, "trace_open: %s", why);
	return t;
}

/* Record i: every field a function of i, so a mixed copy shows. */
static struct trace_rec rec_of(uint64_t i)
{
	struct trace_rec r = { .queue = (uint16_t)i, .kind = (uint8_t)(i % 6),
			       .verdict = (uint8_t)(i & 1), .target = (uint32_t)i,
			       .mark = (uint32_t)i, .ns = i };
	unsigned int k;

	for (k = 0; k < HASH_FLOW_WORDS; k++)
		r.key[k] = (uint32_t)(i * 31 + k);
	memset(r.flow, 'a' + (int)(i % 26), TRACE_FLOW_LEN - 1);
	return r;
}

/* Whether r is rec_of(r.ns) exactly. */
static bool consistent(const struct trace_rec *r)
{
	struct trace_rec want = rec_of(r->ns);

	return memcmp((const char *)r + 4, (const char *)&want + 4, sizeof(*r) - 4) == 0;
}

static void put_n(struct trace *w, uint64_t from, uint64_t n)
{
	struct trace_rec r;
	uint64_t i;

	for (i = from; i < from + n; i++) {
		r = rec_of(i);
		trace_put(w, &r);
	}
}

START_TEST(test_write_read)
{
	struct trace *w = make(getpid(), 16), *r = open_ring(w);
	uint64_t pos = trace_written(r), lost = 0, i;
	char name[TRACE_NAME_LEN];
	struct trace_info info[8];
	struct trace_rec got;
	int n, k, seen = 0;

	ck_assert_uint_eq(pos, 0);
	put_n(w, 100, 10);
	for (i = 0; i < 10; i++) {
		ck_assert_int_eq(trace_read(r, &pos, &got, &lost), 1);
		ck_assert_uint_eq(got.ns, 100 + i);
		ck_assert(consistent(&got));
		ck_assert_uint_eq(got.seq, 2 * i + 2);
	}
	ck_assert_int_eq(trace_read(r, &pos, &got, &lost), 0);
	ck_assert_uint_eq(lost, 0);
	ck_assert_int_eq(trace_alive(r), 1);
	n = trace_list(info, 8);
	for (k = 0; k < n && k < 8; k++) {
		if (strcmp(info[k].name, w->name) != 0)
			continue;
		seen++;
		ck_assert_int_eq(info[k].pid, getpid());
		ck_assert_str_eq(info[k].serves_name, table);
		ck_assert_int_eq(info[k].serves, TRACE_SERVES_TABLE);
		ck_assert_uint_eq(info[k].written, 10);
	}
	ck_assert_int_eq(seen, 1);
	snprintf(name, sizeof(name), "%s", w->name);
	trace_close(r);
	trace_destroy(w);
	ck_assert_int_lt(shm_open(name, O_RDONLY, 0), 0);
}
END_TEST

/* A reader that fell more than a ring behind: told how many it lost, and
 * then given the newest records in order. */
START_TEST(test_overrun)
{
	struct trace *w = make(getpid(), 16), *r = open_ring(w);
	uint64_t pos = 0, lost = 0, i;
	struct trace_rec got;

	put_n(w, 0, 40);
	for (i = 24; i < 40; i++) {
		ck_assert_int_eq(trace_read(r, &pos, &got, &lost), 1);
		ck_assert_uint_eq(got.ns, i);
		ck_assert(consistent(&got));
	}
	ck_assert_uint_eq(lost, 24);
	ck_assert_int_eq(trace_read(r, &pos, &got, &lost), 0);
	ck_assert_uint_eq(pos, 40);
	trace_close(r);
	trace_destroy(w);
}
END_TEST

/* A record its writer has not finished is waited for, not read; one a
 * later lap overwrote is lost, never taken for the old one. */
START_TEST(test_torn_record)
{
	struct trace *w = make(getpid(), 16), *r = open_ring(w);
	uint64_t pos = 0, lost = 0;
	struct trace_rec got;

	put_n(w, 0, 3);
	w->rec[1].seq = 2 * 1 + 1;		/* being written */
	ck_assert_int_eq(trace_read(r, &pos, &got, &lost), 1);
	ck_assert_int_eq(trace_read(r, &pos, &got, &lost), 0);
	ck_assert_uint_eq(pos, 1);
	w->rec[1].seq = 2 * 1 + 2;		/* done */
	w->rec[2].seq = 2 * (2 + 16) + 1;	/* a later lap writes over it */
	ck_assert_int_eq(trace_read(r, &pos, &got, &lost), 1);
	ck_assert_uint_eq(got.ns, 1);
	ck_assert_int_eq(trace_read(r, &pos, &got, &lost), 0);
	ck_assert_uint_eq(lost, 1);
	ck_assert_uint_eq(pos, 3);
	trace_close(r);
	trace_destroy(w);
}
END_TEST

struct writer_arg {
	struct trace *w;
	uint64_t from, n;
};

static void *writer(void *arg)
{
	struct writer_arg *a = arg;

	put_n(a->w, a->from, a->n);
	return NULL;
}

#define STRESS_N 400000

/* Two writer threads flat out on a 2-record ring, a reader beside them:
 * every record read is whole (a copy a writer lapped is dropped), and
 * each record written is read or counted lost, exactly once. */
START_TEST(test_torn_stress)
{
	struct trace *w = make(getpid(), 2), *r = open_ring(w);
	struct writer_arg a[2] = { { w, 0, STRESS_N }, { w, 1u << 30, STRESS_N } };
	uint64_t pos = 0, lost = 0, read = 0;
	pthread_t th[2];
	struct trace_rec got;
	int i, ret;

	for (i = 0; i < 2; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, writer, &a[i]), 0);
	while (pos < 2 * STRESS_N) {
		ret = trace_read(r, &pos, &got, &lost);
		if (ret == 1) {
			ck_assert_msg(consistent(&got), "a torn record of %llu was read",
				      (unsigned long long)got.ns);
			read++;
		}
	}
	for (i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	while (trace_read(r, &pos, &got, &lost) == 1)
		read++;
	ck_assert_uint_eq(trace_written(w), 2 * STRESS_N);
	ck_assert_uint_eq(read + lost, 2 * STRESS_N);
	ck_assert_uint_gt(read, 0);
	trace_close(r);
	trace_destroy(w);
}
END_TEST

/* Two readers, each with its own cursor, both get every record; one's
 * renewal never shortens the other's lease. */
START_TEST(test_two_readers)
{
	struct trace *w = make(getpid(), 64), *r1 = open_ring(w), *r2 = open_ring(w);
	uint64_t p1 = trace_written(r1), p2 = trace_written(r2), l1 = 0, l2 = 0, i;
	struct trace_rec a, b;

	trace_arm(r1, 10000);
	trace_arm(r2, 9000);
	ck_assert_uint_eq(w->hdr->lease, 10000 + TRACE_LEASE_MS);
	ck_assert(trace_armed_at(w, 10500));
	put_n(w, 7, 20);
	for (i = 0; i < 20; i++) {
		ck_assert_int_eq(trace_read(r1, &p1, &a, &l1), 1);
		ck_assert_int_eq(trace_read(r2, &p2, &b, &l2), 1);
		ck_assert_uint_eq(a.ns, 7 + i);
		ck_assert_int_eq(memcmp(&a, &b, sizeof(a)), 0);
	}
	ck_assert_uint_eq(l1 + l2, 0);
	trace_close(r1);
	trace_close(r2);
	trace_destroy(w);
}
END_TEST

/* Armed only before the lease; an expired lease goes back to 0, so the
 * worker's per-batch check is one load again. */
START_TEST(test_lease)
{
	struct trace *w = make(getpid(), 16), *r = open_ring(w);

	ck_assert(!trace_batch_armed(NULL));
	ck_assert(!trace_batch_armed(w));
	ck_assert(!trace_armed_at(w, 5));
	trace_arm(r, 1000);
	ck_assert_uint_eq(w->hdr->lease, 1000 + TRACE_LEASE_MS);
	ck_assert(trace_armed_at(w, 1000 + TRACE_LEASE_MS - 1));
	ck_assert_uint_ne(w->hdr->lease, 0);
	ck_assert(!trace_armed_at(w, 1000 + TRACE_LEASE_MS));
	ck_assert_uint_eq(w->hdr->lease, 0);
	ck_assert(!trace_armed_at(w, 1500));
	trace_arm(r, trace_now_ms());
	ck_assert(trace_batch_armed(w));
	trace_close(r);
	trace_destroy(w);
}
END_TEST

/* A child makes a ring and dies by SIGKILL; returns its object's name. */
static void dead_ring(int32_t pid, char *name, size_t len)
{
	int fds[2];
	pid_t child;

	ck_assert_int_eq(pipe(fds), 0);
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		struct trace *t = trace_create(pid, TRACE_SERVES_TABLE, table, 16, NULL);

		if (!t || write(fds[1], t->name, strlen(t->name) + 1) < 0)
			_exit(1);
		pause();
		_exit(0);
	}
	close(fds[1]);
	ck_assert_int_gt(read(fds[0], name, len), 0);
	close(fds[0]);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
}

/* A dead worker's ring goes at the next sweep (and at the next worker
 * of its name); a live ring and an object that is no ring stay. */
START_TEST(test_stale_ring)
{
	struct trace *live = make(getpid(), 16), *again, *r;
	char dead[TRACE_NAME_LEN] = "", foreign[TRACE_NAME_LEN];
	int32_t pid = 0x7ffffff0 - getpid();
	unsigned int removed = 0;
	int fd;

	snprintf(foreign, sizeof(foreign), "/%s%d.x", TRACE_PREFIX, (int)getpid());
	fd = shm_open(foreign, O_RDWR | O_CREAT, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, 8192), 0);
	close(fd);
	dead_ring(pid, dead, sizeof(dead));
	ck_assert_int_eq(trace_sweep(&removed), 0);
	ck_assert_uint_ge(removed, 1);
	ck_assert_int_lt(shm_open(dead, O_RDONLY, 0), 0);
	fd = shm_open(foreign, O_RDONLY, 0);
	ck_assert_int_ge(fd, 0);
	close(fd);
	shm_unlink(foreign);
	r = open_ring(live);
	ck_assert_int_eq(trace_alive(r), 1);
	trace_close(r);
	/* A new worker of the dead one's PID takes over its name. */
	dead_ring(pid, dead, sizeof(dead));
	again = make(pid, 16);
	ck_assert_str_eq(again->name, dead);
	trace_destroy(again);
	trace_destroy(live);
}
END_TEST

/* A live worker of our PID elsewhere (another PID namespace): a suffix. */
START_TEST(test_same_pid)
{
	struct trace *a = make(getpid(), 16), *b = make(getpid(), 16);
	char want[TRACE_NAME_LEN];

	snprintf(want, sizeof(want), "/%s%d.1", TRACE_PREFIX, (int)getpid());
	ck_assert_str_eq(b->name, want);
	trace_destroy(b);
	trace_destroy(a);
}
END_TEST

/* Feeds records to the ring once `nfqlb trace` has armed it. */
static void *feeder(void *arg)
{
	struct trace *w = arg;
	int i;

	for (i = 0; i < 5000 && !trace_batch_armed(w); i++)
		usleep(1000);
	put_n(w, 0, 8);
	return NULL;
}

START_TEST(test_cli_trace)
{
	const char *none[] = { "trace", "--shm", table, NULL };
	const char *count[] = { "trace", "--shm", table, "--count", "3", "--json", NULL };
	const char *list[] = { "trace", "--list", "--json", "--shm", table, NULL };
	struct trace *w;
	pthread_t th;

	cli_want_error(cli_run(NULL, none), 1, "trace", "no running worker serves table");
	w = make(getpid(), 16);
	ck_assert_int_eq(pthread_create(&th, NULL, feeder, w), 0);
	ck_assert_int_eq(cli_run(NULL, count), 0);
	pthread_join(th, NULL);
	ck_assert_int_eq(cli_lines(cli_out), 3);
	ck_assert_msg(strstr(cli_out, "\"queue\":1,\"kind\":\"icmp-echo\"") != NULL, "%s", cli_out);
	ck_assert_int_eq(cli_run(NULL, list), 0);
	ck_assert_msg(strstr(cli_out, "\"armed\":true,\"written\":8}") != NULL, "%s", cli_out);
	trace_destroy(w);
}
END_TEST

struct usage_case {
	const char *args[8];
	const char *what;
};

static const struct usage_case usage_cases[] = {
	{ { "trace", "--shm", "a", "--flows", "b" }, "--shm and --flows exclude each other" },
	{ { "trace", "--shm", "a", "--flow", "web" }, "--flow needs --flows" },
	{ { "trace", "--src", "10.0.0.0/33" }, "bad src '10.0.0.0/33'" },
	{ { "trace", "--dst", "fd00::/129" }, "bad dst 'fd00::/129'" },
	{ { "trace", "--dst", "nowhere" }, "bad dst 'nowhere'" },
	{ { "trace", "--count", "0" }, "bad count '0'" },
	{ { "trace", "--list", "--count", "1" }, "--list takes no --count" },
	{ { "trace", "--flows", "a/b" }, "bad flow set name" },
	{ { "trace", "now" }, "unexpected argument 'now'" },
};

START_TEST(test_cli_usage)
{
	cli_want_error(cli_run(NULL, usage_cases[_i].args), 2, "trace", usage_cases[_i].what);
	ck_assert_str_eq(cli_out, "");
}
END_TEST

Suite *make_trace_suite(void)
{
	Suite *s = suite_create("trace");
	TCase *tc = tcase_create("ring");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_write_read);
	tcase_add_test(tc, test_overrun);
	tcase_add_test(tc, test_torn_record);
	/* Each run catches a torn copy most of the time (were the check gone). */
	tcase_add_loop_test(tc, test_torn_stress, 0, 5);
	tcase_add_test(tc, test_two_readers);
	tcase_add_test(tc, test_lease);
	tcase_add_test(tc, test_stale_ring);
	tcase_add_test(tc, test_same_pid);
	tcase_add_test(tc, test_cli_trace);
	tcase_add_loop_test(tc, test_cli_usage, 0,
			    sizeof(usage_cases) / sizeof(usage_cases[0]));
	suite_add_tcase(s, tc);
	return s;
}
