/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_flowset.c: the flow set (flows/flowset.h), the text of its fields
 * (flows/flowtext.h) and `nfqlb flow`. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "flows/flowset.h"
#include "flows/flowset_layout.h"
#include "flows/flowtext.h"
#include "test/unit/cli_run.h"
#include "test/unit/suites.h"

static char name[64];
static char why[WHY_MAX];

static void setup(void)
{
	snprintf(name, sizeof(name), "nfqlb-unit-flows-%d", (int)getpid());
	setenv(FLOWSET_ENV, name, 1);
}

static void teardown(void)
{
	char path[80];

	snprintf(path, sizeof(path), "/%s", name);
	shm_unlink(path);
	unsetenv(FLOWSET_ENV);
}

/* ---- text ---- */

struct parse_case {
	const char *opt;	/* proto, cidrs, ports, prio, port */
	const char *in;
	const char *out;	/* formatted back, or NULL: refused */
	const char *why;	/* part of the reason, when refused */
};

static const struct parse_case parse_cases[] = {
	{ "proto", "tcp", "tcp", NULL },
	{ "proto", "icmp,udp,tcp,udp", "tcp,udp,icmp", NULL },
	{ "proto", "sctp", "sctp", NULL },
	{ "proto", "TCP", NULL, "unknown protocol 'TCP'" },
	{ "proto", "tcp,,udp", NULL, "empty item" },
	{ "proto", "", NULL, "empty item" },
	{ "proto", "tcp,", NULL, "empty item" },
	{ "cidrs", "10.0.0.1", "10.0.0.1/32", NULL },
	{ "cidrs", "10.0.0.0/8,2001:db8::/32,::1", "10.0.0.0/8,2001:db8::/32,::1/128", NULL },
	{ "cidrs", "0.0.0.0/0,::/0", "0.0.0.0/0,::/0", NULL },
	{ "cidrs", "10.0.0.1/8", NULL, "did you mean 10.0.0.0/8?" },
	{ "cidrs", "2001:db8::1/32", NULL, "did you mean 2001:db8::/32?" },
	{ "cidrs", "10.0.0.0/33", NULL, "the length must be 0..32" },
	{ "cidrs", "::/129", NULL, "the length must be 0..128" },
	{ "cidrs", "10.0.0.0/08", NULL, "the length must be" },
	{ "cidrs", "10.0.0.0/", NULL, "the length must be" },
	{ "cidrs", "10.0.0", NULL, "bad prefix '10.0.0'" },
	{ "cidrs", "::ffff:10.0.0.1", NULL, "IPv4-mapped" },
	{ "cidrs", "host.example", NULL, "bad prefix" },
	{ "cidrs", "1.1.1.1,1.1.1.2,1.1.1.3,1.1.1.4,1.1.1.5,1.1.1.6,1.1.1.7,1.1.1.8,"
		   "1.1.1.9,1.1.1.10,1.1.1.11,1.1.1.12,1.1.1.13,1.1.1.14,1.1.1.15,"
		   "1.1.1.16,1.1.1.17,1.1.1.18,1.1.1.19,1.1.1.20,1.1.1.21,1.1.1.22,"
		   "1.1.1.23,1.1.1.24,1.1.1.25,1.1.1.26,1.1.1.27,1.1.1.28,1.1.1.29,"
		   "1.1.1.30,1.1.1.31,1.1.1.32,1.1.1.33", NULL, "more than 32 prefixes" },
	{ "ports", "80,443,8000-8099", "80,443,8000-8099", NULL },
	{ "ports", "1-65535", "1-65535", NULL },
	{ "ports", "5-5", "5", NULL },
	{ "ports", "0", NULL, "bad port '0'" },
	{ "ports", "65536", NULL, "bad port '65536'" },
	{ "ports", "90-80", NULL, "low end is above" },
	{ "ports", "80-", NULL, "bad port ''" },
	{ "ports", "-80", NULL, "bad port ''" },
	{ "ports", "+80", NULL, "bad port '+80'" },
	{ "ports", "0x50", NULL, "bad port" },
	{ "prio", "0", "0", NULL },
	{ "prio", "-1000000", "-1000000", NULL },
	{ "prio", "1000000", "1000000", NULL },
	{ "prio", "1000001", NULL, "bad prio" },
	{ "prio", "-0", NULL, "bad prio" },
	{ "prio", "--5", NULL, "bad prio" },
	{ "prio", "5x", NULL, "bad prio" },
	{ "port", "9899", "9899", NULL },
	{ "port", "0", NULL, "bad port '0'" },
};

/* Parse c->in as c->opt, and format it back into out. */
static int parse_fmt(const struct parse_case *c, char *out, size_t len)
{
	struct flow f;
	int r;

	memset(&f, 0, sizeof(f));
	if (!strcmp(c->opt, "proto")) {
		r = flowtext_protos(c->in, &f.protos, why);
		flowtext_fmt_protos(f.protos, out, len);
	} else if (!strcmp(c->opt, "cidrs")) {
		r = flowtext_cidrs(c->in, f.dst, &f.ndst, why);
		flowtext_fmt_cidrs(f.dst, f.ndst, out, len);
	} else if (!strcmp(c->opt, "ports")) {
		r = flowtext_ports(c->in, f.dport, &f.ndport, why);
		flowtext_fmt_ports(f.dport, f.ndport, out, len);
	} else if (!strcmp(c->opt, "prio")) {
		r = flowtext_prio(c->in, &f.prio, why);
		snprintf(out, len, "%d", f.prio);
	} else {
		r = flowtext_port(c->in, &f.udp_encap, why);
		snprintf(out, len, "%u", f.udp_encap);
	}
	return r;
}

START_TEST(test_parse)
{
	const struct parse_case *c = &parse_cases[_i];
	char out[FLOWTEXT_MAX];

	why[0] = '\0';
	errno = 0;
	if (c->out) {
		ck_assert_msg(parse_fmt(c, out, sizeof(out)) == 0, "%s '%s': %s", c->opt,
			      c->in, why);
		ck_assert_str_eq(out, c->out);
		return;
	}
	ck_assert_msg(parse_fmt(c, out, sizeof(out)) < 0, "%s '%s' taken", c->opt, c->in);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_msg(strstr(why, c->why), "%s '%s': reason '%s' lacks '%s'", c->opt,
		      c->in, why, c->why);
	ck_assert_ptr_null(strchr(why, '\n'));
}
END_TEST

START_TEST(test_parse_forms)
{
	struct flow_cidr c[FLOW_CIDR_MAX];
	uint16_t n;

	ck_assert_int_eq(flowtext_cidrs("10.1.2.3,2001:db8::/32", c, &n, why), 0);
	ck_assert_int_eq(n, 2);
	ck_assert_int_eq(c[0].family, AF_INET);
	ck_assert_int_eq(c[0].len, 128);
	ck_assert_uint_eq(c[0].w[2], 0xffff);
	ck_assert_uint_eq(c[0].w[3], 0x0a010203);
	ck_assert_int_eq(c[1].family, AF_INET6);
	ck_assert_int_eq(c[1].len, 32);
	ck_assert_uint_eq(c[1].w[0], 0x20010db8);
	ck_assert_uint_eq(c[1].w[1] | c[1].w[2] | c[1].w[3], 0);
}
END_TEST

static const char *const bad_names[] = {
	"", "-x", "a b", "a/b", "é", "x\n",
	"0123456789012345678901234567890123456789012345678901234567890123",
};

START_TEST(test_names)
{
	ck_assert_ptr_nonnull(flowtext_name_why(bad_names[_i]));
	ck_assert_ptr_null(flowtext_name_why("web-1.a_B"));
	ck_assert_ptr_null(flowtext_name_why(
		"012345678901234567890123456789012345678901234567890123456789012"));
}
END_TEST

/* ---- the object ---- */

static struct flow mkflow(const char *fname, const char *table, int32_t prio)
{
	struct flow f;

	memset(&f, 0, sizeof(f));
	snprintf(f.name, sizeof(f.name), "%s", fname);
	snprintf(f.table, sizeof(f.table), "%s", table);
	f.prio = prio;
	return f;
}

static struct flowset *open_set(bool create)
{
	struct flowset *fs = flowset_attach(name, true, create, why);

	ck_assert_msg(fs != NULL, "attach: %s", why);
	return fs;
}

static void set_ok(struct flowset *fs, const struct flow *f)
{
	ck_assert_msg(flowset_set(fs, f, why) == 0, "set %s: %s", f->name, why);
}

/* The published set; the caller frees v. */
static void read_ok(struct flowset *fs, struct flowset_view *v)
{
	ck_assert_int_eq(flowset_view_init(v), 0);
	ck_assert_msg(flowset_read(fs, v, why) == 0, "read: %s", why);
}

/* The counter slot of the flow called fname, or -1. */
static int slot_of(struct flowset *fs, const char *fname)
{
	struct flowset_view v;
	int slot = -1;
	uint32_t i;

	read_ok(fs, &v);
	for (i = 0; i < v.n; i++)
		if (!strcmp(v.flows[i].name, fname))
			slot = v.slot[i];
	flowset_view_free(&v);
	return slot;
}

START_TEST(test_create)
{
	struct flowset_view v;
	struct flowset *fs;
	char file[96];
	struct stat st;

	ck_assert_ptr_null(flowset_attach(name, false, false, why));
	ck_assert_int_eq(errno, ENOENT);
	fs = open_set(true);
	snprintf(file, sizeof(file), "/dev/shm/%s", name);
	ck_assert_int_eq(stat(file, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	ck_assert_uint_eq(st.st_size, sizeof(struct flowset_obj));
	ck_assert_uint_eq(flowset_generation(fs), 0);
	read_ok(fs, &v);
	ck_assert_uint_eq(v.n, 0);
	flowset_view_free(&v);
	ck_assert_int_eq(flowset_same_object(fs, why), 1);
	flowset_detach(fs);
	/* A second create opens what is there. */
	fs = open_set(true);
	flowset_detach(fs);
	ck_assert_str_eq(flowset_name("x"), "x");
	ck_assert_str_eq(flowset_name(NULL), name);
	unsetenv(FLOWSET_ENV);
	ck_assert_str_eq(flowset_name(NULL), FLOWSET_NAME_DEFAULT);
}
END_TEST

START_TEST(test_set_replace_delete)
{
	struct flowset *fs = open_set(true);
	struct flow a = mkflow("b-web", "web", 5), b = mkflow("a-dns", "dns", 0);
	char *del[] = { "a-dns", "nope" };
	const char *bad = NULL;
	struct flowset_view v;
	uint64_t g;

	set_ok(fs, &a);
	set_ok(fs, &b);
	read_ok(fs, &v);
	ck_assert_uint_eq(v.n, 2);
	ck_assert_str_eq(v.flows[0].name, "a-dns");	/* name order */
	ck_assert_str_eq(v.flows[1].name, "b-web");
	ck_assert_uint_eq(v.slot[0], 1);
	ck_assert_uint_eq(v.slot[1], 0);
	ck_assert_uint_eq(v.generation, 2);
	flowset_view_free(&v);
	/* The same flow again: no new generation. */
	set_ok(fs, &a);
	ck_assert_uint_eq(flowset_generation(fs), 2);
	/* A replacement keeps the slot. */
	a.protos = FLOW_P_TCP;
	a.ndport = 1;
	a.dport[0] = (struct flow_ports){ 80, 80 };
	set_ok(fs, &a);
	ck_assert_uint_eq(flowset_generation(fs), 3);
	ck_assert_int_eq(slot_of(fs, "b-web"), 0);
	/* Delete: all or nothing. */
	g = flowset_generation(fs);
	ck_assert_int_eq(flowset_delete(fs, del, 2, &bad, why), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_str_eq(bad, "nope");
	ck_assert_uint_eq(flowset_generation(fs), g);
	ck_assert_int_eq(flowset_delete(fs, del, 1, &bad, why), 0);
	read_ok(fs, &v);
	ck_assert_uint_eq(v.n, 1);
	ck_assert_str_eq(v.flows[0].name, "b-web");
	ck_assert_uint_eq(v.flows[0].dport[0].lo, 80);
	flowset_view_free(&v);
	flowset_detach(fs);
}
END_TEST

START_TEST(test_set_refused)
{
	struct flowset *fs = open_set(true);
	struct flow f = mkflow("x", "t", 0);

	f.udp_encap = 9899;
	f.protos = FLOW_P_TCP;
	ck_assert_int_eq(flowset_set(fs, &f, why), -1);
	ck_assert_int_eq(errno, EINVAL);
	f = mkflow("x", "a/b", 0);
	ck_assert_int_eq(flowset_set(fs, &f, why), -1);
	f = mkflow("x", "t", FLOW_PRIO_MAX + 1);
	ck_assert_int_eq(flowset_set(fs, &f, why), -1);
	f = mkflow("x", "t", 0);
	f.ndst = 1;
	f.dst[0] = (struct flow_cidr){ { 0, 0, 0xffff, 0x0a000001 }, 104, AF_INET, { 0 } };
	ck_assert_int_eq(flowset_set(fs, &f, why), -1);
	ck_assert_ptr_nonnull(strstr(why, "bits set past"));
	f.dst[0].w[3] = 0x0a000000;
	set_ok(fs, &f);
	flowset_detach(fs);
	fs = flowset_attach(name, false, false, why);
	ck_assert_int_eq(flowset_set(fs, &f, why), -1);
	ck_assert_int_eq(errno, EBADF);
	flowset_detach(fs);
}
END_TEST

/* The object mapped raw, to damage it. */
static struct flowset_obj *raw(int *fd)
{
	char path[80];
	struct flowset_obj *o;

	snprintf(path, sizeof(path), "/%s", name);
	*fd = shm_open(path, O_RDWR, 0);
	ck_assert_int_ge(*fd, 0);
	o = mmap(NULL, sizeof(*o), PROT_READ | PROT_WRITE, MAP_SHARED, *fd, 0);
	ck_assert_ptr_ne(o, MAP_FAILED);
	return o;
}

/* A new flow takes a never-used slot; when there is none, a freed one,
 * whose counts become its base. */
START_TEST(test_slots_and_bases)
{
	struct flowset *fs = open_set(true);
	struct flow a = mkflow("a", "t", 0), b = mkflow("b", "t", 0), c = mkflow("c", "t", 0);
	uint64_t (*counts)[FLOWSET_F_MAX] = calloc(FLOW_MAX, sizeof(*counts));
	uint64_t cnt[FLOWSET_C_MAX];
	struct flowset_worker *w;
	char *del[] = { "a" };
	struct flowset_obj *o;
	int fd;

	set_ok(fs, &a);
	set_ok(fs, &b);
	w = flowset_worker_claim(fs, getpid(), 7);
	ck_assert_ptr_nonnull(w);
	w->flow[0][FLOWSET_F_PACKETS] = 40;
	w->flow[0][FLOWSET_F_NO_TARGET] = 4;
	w->cnt[FLOWSET_C_NO_FLOW] = 9;
	flowset_counts(fs, counts, cnt);
	ck_assert_uint_eq(counts[0][FLOWSET_F_PACKETS], 40);
	ck_assert_uint_eq(cnt[FLOWSET_C_NO_FLOW], 9);
	ck_assert_int_eq(flowset_delete(fs, del, 1, NULL, why), 0);
	set_ok(fs, &c);
	ck_assert_int_eq(slot_of(fs, "c"), 2);	/* never used before: not a's */
	/* Mark every slot used, as after FLOW_MAX flows. */
	o = raw(&fd);
	memset(o->used, 1, sizeof(o->used));
	a.prio = 3;
	set_ok(fs, &a);
	ck_assert_int_eq(slot_of(fs, "a"), 0);	/* the freed one */
	flowset_counts(fs, counts, cnt);
	ck_assert_uint_eq(counts[0][FLOWSET_F_PACKETS], 0);
	ck_assert_uint_eq(counts[0][FLOWSET_F_NO_TARGET], 0);
	w->flow[0][FLOWSET_F_PACKETS] += 2;
	flowset_counts(fs, counts, cnt);
	ck_assert_uint_eq(counts[0][FLOWSET_F_PACKETS], 2);
	munmap(o, sizeof(*o));
	close(fd);
	flowset_worker_release(fs, w);
	free(counts);
	flowset_detach(fs);
}
END_TEST

START_TEST(test_workers)
{
	struct flowset *fs = open_set(true), *fs2 = open_set(false);
	struct flowset_worker *w1, *w2, *w3;

	w1 = flowset_worker_claim(fs, 11, 1);
	w2 = flowset_worker_claim(fs2, 12, 2);
	ck_assert_ptr_nonnull(w1);
	ck_assert_ptr_nonnull(w2);
	ck_assert_ptr_ne(w1, w2);
	ck_assert_int_eq(w1->pid, 11);
	ck_assert_uint_eq(w2->queue, 2);
	w1->cnt[0] = 77;
	flowset_worker_release(fs, w1);
	/* The set of queue 1 is taken back for queue 1, its counts kept. */
	w3 = flowset_worker_claim(fs2, 13, 1);
	ck_assert_ptr_nonnull(w3);
	ck_assert_uint_eq(w3->cnt[0], 77);
	ck_assert_int_eq(w3->pid, 13);
	flowset_detach(fs2);
	flowset_detach(fs);
	fs = flowset_attach(name, false, false, why);
	ck_assert_ptr_null(flowset_worker_claim(fs, 1, 1));
	ck_assert_int_eq(errno, EBADF);
	flowset_detach(fs);
}
END_TEST

static void read_fails(struct flowset *fs, int err, const char *what)
{
	struct flowset_view v;

	ck_assert_int_eq(flowset_view_init(&v), 0);
	ck_assert_int_eq(flowset_read(fs, &v, why), -1);
	ck_assert_int_eq(errno, err);
	ck_assert_msg(strstr(why, what), "reason '%s' lacks '%s'", why, what);
	ck_assert_uint_eq(v.n, 0);
	flowset_view_free(&v);
}

START_TEST(test_corrupt)
{
	struct flowset *fs = open_set(true);
	struct flow a = mkflow("a", "t", 0), b = mkflow("b", "t", 0);
	struct flowset_obj *o;
	unsigned int pub;
	int fd;

	set_ok(fs, &a);
	set_ok(fs, &b);
	o = raw(&fd);
	pub = flowset_generation(fs) & 1;
	o->buf[pub].flows[0].name[0] = '-';
	read_fails(fs, EBADMSG, "bad flow name");
	o->buf[pub].flows[0].name[0] = 'c';
	read_fails(fs, EBADMSG, "out of name order");
	o->buf[pub].flows[0].name[0] = 'b';
	read_fails(fs, EBADMSG, "there twice");
	o->buf[pub].flows[0].name[0] = 'a';
	o->buf[pub].slot[1] = o->buf[pub].slot[0];
	read_fails(fs, EBADMSG, "counter slot");
	o->buf[pub].slot[1] = FLOW_MAX;
	read_fails(fs, EBADMSG, "counter slot");
	o->buf[pub].n = FLOW_MAX + 1;
	read_fails(fs, EBADMSG, "corrupt flow set");
	/* A writer refuses to build on a damaged set. */
	ck_assert_int_eq(flowset_set(fs, &a, why), -1);
	ck_assert_int_eq(errno, EBADMSG);
	o->hdr.magic = 0x12345678;
	ck_assert_ptr_null(flowset_attach(name, false, false, why));
	ck_assert_int_eq(errno, EBADMSG);
	ck_assert_ptr_nonnull(strstr(why, "not an nfqlb flow set"));
	o->hdr.magic = FLOWSET_MAGIC;
	o->hdr.version = 9;
	ck_assert_ptr_null(flowset_attach(name, false, true, why));
	ck_assert_int_eq(errno, EPROTONOSUPPORT);
	o->hdr.version = FLOWSET_VERSION;
	o->hdr.flows_max = 7;
	ck_assert_ptr_null(flowset_attach(name, false, false, why));
	ck_assert_int_eq(errno, EBADMSG);
	munmap(o, sizeof(*o));
	ck_assert_int_eq(ftruncate(fd, 100), 0);
	ck_assert_ptr_null(flowset_attach(name, false, false, why));
	ck_assert_int_eq(errno, EBADMSG);
	ck_assert_ptr_nonnull(strstr(why, "truncated"));
	close(fd);
	flowset_detach(fs);
}
END_TEST

/* A set truncated while mapped: reads and writes fail with EIO, and the
 * process lives on. */
START_TEST(test_truncated)
{
	struct flowset *fs = open_set(true);
	struct flow a = mkflow("a", "t", 0);
	char path[80];
	int fd;

	set_ok(fs, &a);
	snprintf(path, sizeof(path), "/%s", name);
	fd = shm_open(path, O_RDWR, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, 0), 0);
	close(fd);
	read_fails(fs, EIO, "truncated");
	ck_assert_int_eq(flowset_set(fs, &a, why), -1);
	ck_assert_int_eq(errno, EIO);
	flowset_detach(fs);
}
END_TEST

/* Another object under the name: a writer holding the old one gets ESTALE. */
START_TEST(test_stale)
{
	struct flowset *fs = open_set(true), *fs2;
	struct flow a = mkflow("a", "t", 0);
	char path[80];

	snprintf(path, sizeof(path), "/%s", name);
	ck_assert_int_eq(shm_unlink(path), 0);
	ck_assert_int_eq(flowset_same_object(fs, why), -1);
	ck_assert_int_eq(errno, ENOENT);
	fs2 = open_set(true);
	ck_assert_int_eq(flowset_same_object(fs, why), 0);
	ck_assert_int_eq(flowset_set(fs, &a, why), -1);
	ck_assert_int_eq(errno, ESTALE);
	set_ok(fs2, &a);
	flowset_detach(fs2);
	flowset_detach(fs);
}
END_TEST

#define WRITERS 4
#define WRITES 25

/* Writers in parallel processes: every update is kept. */
START_TEST(test_concurrent_writers)
{
	struct flowset *fs = open_set(true);
	struct flowset_view v;
	int i, j, status;
	pid_t pid[WRITERS];

	for (i = 0; i < WRITERS; i++) {
		pid[i] = fork();
		ck_assert_int_ge(pid[i], 0);
		if (pid[i] > 0)
			continue;
		fs = flowset_attach(name, true, true, why);
		for (j = 0; fs && j < WRITES; j++) {
			struct flow f = mkflow("", "t", j);

			snprintf(f.name, sizeof(f.name), "w%d-%02d", i, j);
			if (flowset_set(fs, &f, why) < 0)
				_exit(1);
		}
		_exit(fs ? 0 : 1);
	}
	for (i = 0; i < WRITERS; i++) {
		ck_assert_int_eq(waitpid(pid[i], &status, 0), pid[i]);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "writer %d", i);
	}
	read_ok(fs, &v);
	ck_assert_uint_eq(v.n, WRITERS * WRITES);
	ck_assert_uint_eq(v.generation, WRITERS * WRITES);
	flowset_view_free(&v);
	flowset_detach(fs);
}
END_TEST

/* A flow whose fields all say k: a torn copy would mix two values. */
static struct flow uniform(uint16_t k)
{
	struct flow f = mkflow("x", "t", k);
	int i;

	f.ndport = f.nsport = FLOW_PORT_MAX;
	for (i = 0; i < FLOW_PORT_MAX; i++)
		f.dport[i] = f.sport[i] = (struct flow_ports){ k, k };
	return f;
}

static void torn_check(const struct flowset_view *v)
{
	uint32_t i, j;

	for (i = 0; i < v->n; i++) {
		const struct flow *f = &v->flows[i];

		if (strcmp(f->name, "x"))
			continue;
		for (j = 0; j < f->nsport; j++)
			ck_assert_msg(f->sport[j].lo == f->prio && f->dport[j].hi == f->prio,
				      "torn flow: prio %d, port %u", f->prio, f->sport[j].lo);
	}
}

START_TEST(test_no_torn_reads)
{
	struct flowset *fs = open_set(true);
	struct flowset_view v;
	int status, reads = 0, i;
	pid_t pid;

	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct flowset *w = flowset_attach(name, true, false, why);

		for (i = 1; w && i <= 400; i++) {
			struct flow f = uniform((uint16_t)(i % 2 ? i : 1000 + i));

			if (flowset_set(w, &f, why) < 0)
				_exit(1);
		}
		_exit(w ? 0 : 1);
	}
	ck_assert_int_eq(flowset_view_init(&v), 0);
	while (waitpid(pid, &status, WNOHANG) == 0 && reads < 1000000) {
		if (flowset_read(fs, &v, why) == 0)
			torn_check(&v);
		else
			ck_assert_msg(errno == EAGAIN, "read: %s", why);
		reads++;
	}
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "writer failed");
	ck_assert_int_eq(flowset_read(fs, &v, why), 0);
	ck_assert_uint_eq(v.n, 1);
	ck_assert_int_eq(v.flows[0].prio, 1400);
	flowset_view_free(&v);
	flowset_detach(fs);
}
END_TEST

/* ---- the command line ---- */

#define run(...) cli_runl("flow", __VA_ARGS__)

struct usage_case {
	const char *args[6];
	const char *what;
};

static const struct usage_case usage_cases[] = {
	{ { "frob" }, "unknown subcommand 'frob'" },
	{ { "set" }, "set needs a flow NAME" },
	{ { "set", "web" }, "set needs --table TABLE" },
	{ { "set", "-x", "--table", "t" }, "unknown option '-x'" },
	{ { "set", "--table", "t", "--", "-x" }, "bad flow name '-x'" },
	{ { "set", "a b", "--table", "t" }, "bad flow name 'a b'" },
	{ { "set", "web", "--table", "a/b" }, "bad table name \"a/b\"" },
	{ { "set", "web", "--table", "t", "x" }, "unexpected argument 'x'" },
	{ { "set", "web", "--table", "t", "--proto", "tcpx" }, "--proto: unknown protocol" },
	{ { "set", "web", "--table", "t", "--dst", "1.2.3.4/8" }, "did you mean 1.0.0.0/8?" },
	{ { "set", "web", "--table", "t", "--src", "" }, "--src: empty item" },
	{ { "set", "web", "--table", "t", "--dport", "0" }, "--dport: bad port '0'" },
	{ { "set", "web", "--table", "t", "--sport", "9-8" }, "--sport: bad range" },
	{ { "set", "web", "--table", "t", "--prio", "x" }, "--prio: bad prio 'x'" },
	{ { "set", "web", "--table", "t", "--udp-encap", "0" }, "--udp-encap: bad port" },
	{ { "set", "w", "--table", "t", "--udp-encap" }, "needs an argument" },
	{ { "set", "w", "--table", "t", "--json" }, "set takes no --json" },
	{ { "delete" }, "delete needs a flow NAME" },
	{ { "delete", "a", "b/c" }, "bad flow name 'b/c'" },
	{ { "delete", "a", "--json" }, "delete takes no --json" },
	{ { "list", "x" }, "unexpected argument 'x'" },
	{ { "list", "--table", "t" }, "list takes no --table" },
	{ { "show" }, "show needs a flow NAME" },
	{ { "show", "a", "b" }, "unexpected argument 'b'" },
	{ { "show", "a", "--prio", "1" }, "show takes no --prio" },
	{ { "list", "--flows", "a/b" }, "bad flow set name \"a/b\"" },
	{ { "list", "--flows", "" }, "bad flow set name \"\"" },
};

START_TEST(test_cli_usage)
{
	const struct usage_case *c = &usage_cases[_i];

	cli_want_error(run(c->args[0], c->args[1], c->args[2], c->args[3], c->args[4],
			   c->args[5], NULL), 2, "flow", c->what);
	ck_assert_str_eq(cli_out, "");
}
END_TEST

START_TEST(test_cli)
{
	cli_want_error(run(NULL), 2, "flow", "want set, delete, list or show");
	ck_assert_str_eq(cli_out, "");
	cli_want_error(run("list", NULL), 1, "flow", "does not exist");
	setenv(FLOWSET_ENV, "", 1);
	cli_want_error(run("list", NULL), 2, "flow", "NFQLB_FLOWS is empty");
	setenv(FLOWSET_ENV, name, 1);
	ck_assert_int_eq(run("set", "web", "--table", "t1", "--prio", "5", "--proto", "tcp",
			     "--dst", "192.0.2.1", "--dport", "80,443", NULL), 0);
	ck_assert_int_eq(run("set", "dns", "--table", "t2", "--proto", "udp", NULL), 0);
	ck_assert_int_eq(run("set", "any", "--table", "t3", "--prio", "5", NULL), 0);
	ck_assert_int_eq(run("list", NULL), 0);
	ck_assert_str_eq(cli_out,
			 "any prio 5 table t3\n"
			 "web prio 5 table t1 proto tcp dst 192.0.2.1/32 dport 80,443\n"
			 "dns prio 0 table t2 proto udp\n");
	ck_assert_int_eq(run("show", "web", NULL), 0);
	ck_assert_ptr_nonnull(strstr(cli_out, "  src        any\n"));
	ck_assert_int_eq(run("show", "web", "--json", NULL), 0);
	ck_assert_ptr_nonnull(strstr(cli_out, "\"dport\":[\"80\",\"443\"]"));
	cli_want_error(run("show", "nope", NULL), 1, "flow", "flow \"nope\" does not exist");
	cli_want_error(run("delete", "web", "nope", NULL), 1, "flow", "nothing deleted");
	ck_assert_int_eq(run("delete", "web", "dns", NULL), 0);
	ck_assert_int_eq(run("list", "--json", NULL), 0);
	ck_assert_ptr_nonnull(strstr(cli_out, "\"flows\":[{\"name\":\"any\""));
	ck_assert_int_eq(cli_lines(cli_out), 1);
}
END_TEST

Suite *make_flowset_suite(void)
{
	Suite *s = suite_create("flowset");
	TCase *tc = tcase_create("text");

	tcase_add_loop_test(tc, test_parse, 0, sizeof(parse_cases) / sizeof(parse_cases[0]));
	tcase_add_test(tc, test_parse_forms);
	tcase_add_loop_test(tc, test_names, 0, sizeof(bad_names) / sizeof(bad_names[0]));
	suite_add_tcase(s, tc);
	tc = tcase_create("object");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_create);
	tcase_add_test(tc, test_set_replace_delete);
	tcase_add_test(tc, test_set_refused);
	tcase_add_test(tc, test_slots_and_bases);
	tcase_add_test(tc, test_workers);
	tcase_add_test(tc, test_corrupt);
	tcase_add_test(tc, test_truncated);
	tcase_add_test(tc, test_stale);
	tcase_add_test(tc, test_concurrent_writers);
	tcase_add_test(tc, test_no_torn_reads);
	suite_add_tcase(s, tc);
	tc = tcase_create("cli");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_cli_usage, 0, sizeof(usage_cases) / sizeof(usage_cases[0]));
	tcase_add_test(tc, test_cli);
	suite_add_tcase(s, tc);
	return s;
}
