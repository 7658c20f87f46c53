/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_shm.c: the shared state: creation, validation, updates, concurrency. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <signal.h>
#include <unistd.h>

#include "maglev/maglev.h"
#include "shm/shm.h"
#include "test/unit/suites.h"

static char name[64];
static char why[WHY_MAX];

static void setup(void)
{
	snprintf(name, sizeof(name), "nfqlb-unit-%d", (int)getpid());
	shm_unlink(name);
}

static void teardown(void)
{
	char path[80];

	snprintf(path, sizeof(path), "/%s", name);
	shm_unlink(path);
}

static struct shm *make(uint32_t m, uint32_t n)
{
	struct shm_params p = { m, n, 0, HASH_5TUPLE };
	struct shm *s;

	ck_assert_int_eq(shm_create(name, &p, false), 0);
	s = shm_attach(name, true, why);
	ck_assert_msg(s != NULL, "attach: %s", why);
	return s;
}

/* The current table as ids (0 = empty), validated. */
static uint64_t read_ids(struct shm *s, uint32_t *ids)
{
	struct shm_view v;
	uint32_t i;
	uint64_t g;

	ck_assert_int_eq(shm_view_init(&v, s->m, s->n), 0);
	ck_assert_msg(shm_read(s, &v, why) == 0, "read: %s", why);
	for (i = 0; i < s->m; i++)
		ids[i] = v.lookup[i] == SHM_NO_SLOT ? 0 : v.targets[v.lookup[i]].id;
	g = v.generation;
	shm_view_free(&v);
	return g;
}

static void write_file(const char *data, size_t len)
{
	char path[80];
	int fd;

	snprintf(path, sizeof(path), "/%s", name);
	fd = shm_open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
	close(fd);
}

START_TEST(test_create_attach)
{
	struct shm *s = make(997, 32);
	uint32_t ids[997], i;
	struct stat st;

	ck_assert_uint_eq(s->m, 997);
	ck_assert_uint_eq(s->n, 32);
	ck_assert_int_eq(fstat(s->fd, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
	ck_assert_uint_eq(read_ids(s, ids), 0);
	for (i = 0; i < 997; i++)
		ck_assert_uint_eq(ids[i], 0);
	shm_detach(s);
}
END_TEST

START_TEST(test_create_exists)
{
	struct shm_params p = { 997, 32, 0, HASH_SCTP };
	struct shm *old = make(7, 2), *s;

	ck_assert_int_eq(shm_create(name, &p, false), -1);
	ck_assert_int_eq(errno, EEXIST);
	ck_assert(!shm_retired(old));
	ck_assert_int_eq(shm_create(name, &p, true), 0);
	ck_assert(shm_retired(old));	/* a worker on it can notice */
	s = shm_attach(name, false, why);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(s->m, 997);
	ck_assert_int_eq(s->mode, HASH_SCTP);	/* the newest mode is accepted */
	shm_detach(s);
	shm_detach(old);
}
END_TEST

START_TEST(test_create_rejects)
{
	struct shm_params p = { 1000, 32, 0, HASH_5TUPLE };

	ck_assert_int_eq(shm_create(name, &p, false), -1);
	ck_assert_int_eq(errno, EINVAL);
	p = (struct shm_params){ 7, 8, 0, HASH_5TUPLE };	/* N > M */
	ck_assert_int_eq(shm_create(name, &p, false), -1);
	p = (struct shm_params){ 7, 2, 0, HASH_MODE_MAX };
	ck_assert_int_eq(shm_create(name, &p, false), -1);
	p.mode = HASH_SRC;
	ck_assert_int_eq(shm_create("a/b", &p, false), -1);
	ck_assert_int_eq(shm_create("", &p, false), -1);
}
END_TEST

/* Each rule a name can break, named; good names pass. */
START_TEST(test_name_rules)
{
	char longest[SHM_NAME_MAX + 2];

	memset(longest, 'x', SHM_NAME_MAX);
	longest[SHM_NAME_MAX] = '\0';
	ck_assert_ptr_null(shm_name_why(longest));
	ck_assert_int_eq(shm_name_check(longest), 0);
	ck_assert_ptr_null(shm_name_why("nfqlb"));
	ck_assert_ptr_null(shm_name_why("..."));
	ck_assert_ptr_null(shm_name_why(".a"));
	longest[SHM_NAME_MAX] = 'x';
	longest[SHM_NAME_MAX + 1] = '\0';
	ck_assert_str_eq(shm_name_why(longest),
			 "a table name must not be longer than 200 bytes");
	ck_assert_int_eq(shm_name_check(longest), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_str_eq(shm_name_why(""), "a table name must not be empty");
	ck_assert_str_eq(shm_name_why("a/b"), "a table name must not contain '/'");
	ck_assert_str_eq(shm_name_why("."), "a table name must not be \".\" or \"..\"");
	ck_assert_str_eq(shm_name_why(".."), "a table name must not be \".\" or \"..\"");
}
END_TEST

START_TEST(test_attach_missing)
{
	ck_assert_ptr_null(shm_attach(name, false, why));
	ck_assert_int_eq(errno, ENOENT);
}
END_TEST

START_TEST(test_attach_garbage)
{
	char junk[4096];
	size_t i;

	for (i = 0; i < sizeof(junk); i++)
		junk[i] = (char)(i * 131 + 7);
	write_file(junk, 10);
	ck_assert_ptr_null(shm_attach(name, false, why));
	ck_assert_int_eq(errno, EBADMSG);
	ck_assert_msg(strstr(why, "truncated"), "%s", why);
	write_file(junk, sizeof(junk));
	ck_assert_ptr_null(shm_attach(name, false, why));
	ck_assert_int_eq(errno, EBADMSG);
	ck_assert_msg(strstr(why, "magic"), "%s", why);
	write_file("", 0);
	ck_assert_ptr_null(shm_attach(name, true, why));
	ck_assert_int_eq(errno, EBADMSG);
}
END_TEST

/* Corrupt one thing in a valid object; attaching must fail with `err`. */
enum corruption { BAD_VERSION, BAD_M, BAD_N, BAD_SIZE, BAD_HASH, BAD_MAGIC,
		  BAD_N_OVER_M, BAD_M_PRIME_SIZE, BAD_HDR_SIZE, BAD_WORKERS,
		  BAD_SIZE_FIELD, BAD_GROWN, CORRUPTION_MAX };

START_TEST(test_attach_corrupt_header)
{
	const int want[CORRUPTION_MAX] = { EPROTONOSUPPORT, EBADMSG, EBADMSG,
					   EBADMSG, EPROTONOSUPPORT, EBADMSG, EBADMSG,
					   EBADMSG, EBADMSG, EBADMSG, EBADMSG,
					   EBADMSG };
	struct shm *s = make(997, 32);

	switch (_i) {
	case BAD_VERSION: s->hdr->version = SHM_VERSION + 1; break;
	case BAD_M: s->hdr->m = 1000; break;
	case BAD_N: s->hdr->n = 0; break;
	case BAD_SIZE: ck_assert_int_eq(ftruncate(s->fd, (off_t)s->size / 2), 0); break;
	case BAD_HASH: s->hdr->hash_mode = 9; break;
	case BAD_MAGIC: s->hdr->magic ^= 1; break;
	case BAD_N_OVER_M: s->hdr->m = 7; s->hdr->n = 11; break;
	case BAD_M_PRIME_SIZE: s->hdr->m = 991; break;	/* prime, wrong size */
	case BAD_HDR_SIZE: s->hdr->hdr_size = 64; break;
	case BAD_WORKERS: s->hdr->workers = 65; break;
	case BAD_SIZE_FIELD: s->hdr->size += 64; break;
	case BAD_GROWN: ck_assert_int_eq(ftruncate(s->fd, (off_t)s->size + 4096), 0); break;
	}
	shm_detach(s);
	ck_assert_ptr_null(shm_attach(name, false, why));
	ck_assert_int_eq(errno, want[_i]);
	ck_assert_uint_gt(strlen(why), 0);
	/* A newer nfqlb's mode is named as such, not as corruption. */
	if (_i == BAD_HASH)
		ck_assert_msg(strstr(why, "hash mode 9 is not supported"), "%s", why);
}
END_TEST

/* An unknown hash mode in a header that is wrong in other ways too is
 * corruption. */
START_TEST(test_attach_bad_hash_and_more)
{
	struct shm *s = make(997, 32);

	s->hdr->hash_mode = HASH_MODE_MAX;
	s->hdr->workers = 65;
	shm_detach(s);
	ck_assert_ptr_null(shm_attach(name, false, why));
	ck_assert_int_eq(errno, EBADMSG);
	ck_assert_msg(strstr(why, "corrupt header"), "%s", why);
}
END_TEST

/* The published buffer of a writable handle, for corrupting it. */
static struct shm_target *live_targets(struct shm *s)
{
	return (struct shm_target *)((char *)s->hdr + sizeof(struct shm_hdr) +
		(s->hdr->generation & 1) *
		((s->n * sizeof(struct shm_target) + s->m * 4 + 63) & ~63ul));
}

START_TEST(test_corrupt_table)
{
	struct shm *s = make(997, 32);
	const uint32_t ids[2] = { 5, 6 };
	uint32_t bad, table[997];
	struct shm_view v;

	ck_assert_int_eq(shm_activate(s, ids, 2, 0, &bad, why), 0);
	live_targets(s)[0].active = 0;	/* lookup now names an inactive slot */
	ck_assert_int_eq(shm_view_init(&v, 997, 32), 0);
	ck_assert_int_eq(shm_read(s, &v, why), -1);
	ck_assert_int_eq(errno, EBADMSG);
	ck_assert_msg(strstr(why, "names no active target"), "%s", why);
	ck_assert_int_eq(shm_activate(s, ids, 1, 0, &bad, why), -1);
	ck_assert_int_eq(errno, EBADMSG);
	live_targets(s)[0].active = 1;
	live_targets(s)[1].id = 5;	/* the same id twice */
	ck_assert_int_eq(shm_read(s, &v, why), -1);
	ck_assert_msg(strstr(why, "twice"), "%s", why);
	live_targets(s)[1].id = 6;
	live_targets(s)[1].entries++;
	ck_assert_int_eq(shm_read(s, &v, why), -1);
	live_targets(s)[1].entries--;
	ck_assert_uint_eq(read_ids(s, table), 1);
	shm_view_free(&v);
	shm_detach(s);
}
END_TEST

START_TEST(test_activate_deactivate)
{
	struct shm *s = make(997, 3);
	const uint32_t abc[3] = { 10, 20, 30 }, d = 40, x = 99;
	uint32_t bad = 0, t1[997], t2[997], i;

	ck_assert_int_eq(shm_activate(s, abc, 3, 0, &bad, why), 0);
	ck_assert_uint_eq(read_ids(s, t1), 1);	/* three ids, one update */
	ck_assert_int_eq(shm_activate(s, abc, 2, 0, &bad, why), 0);
	ck_assert_uint_eq(read_ids(s, t2), 1);	/* nothing changed, no new generation */
	ck_assert_int_eq(shm_activate(s, &d, 1, 0, &bad, why), -1);
	ck_assert_int_eq(errno, ENOSPC);
	ck_assert_uint_eq(bad, 40);
	ck_assert_int_eq(shm_deactivate(s, &x, 1, &bad, why), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_uint_eq(bad, 99);
	ck_assert_uint_eq(read_ids(s, t2), 1);
	ck_assert_mem_eq(t1, t2, sizeof(t1));
	ck_assert_int_eq(shm_deactivate(s, abc + 1, 1, &bad, why), 0);
	ck_assert_uint_eq(read_ids(s, t2), 2);
	for (i = 0; i < 997; i++)
		ck_assert_uint_ne(t2[i], 20);
	ck_assert_int_eq(shm_activate(s, &d, 1, 0, &bad, why), 0);	/* reuses the slot */
	ck_assert_uint_eq(read_ids(s, t2), 3);
	ck_assert_int_eq(shm_activate(s, &d, 1, 5, &bad, why), 0);	/* weight only */
	ck_assert_uint_eq(read_ids(s, t2), 4);
	ck_assert_int_eq(shm_activate(s, &d, 1, 5, &bad, why), 0);
	ck_assert_uint_eq(read_ids(s, t2), 4);
	shm_detach(s);
}
END_TEST

/* An activation that would leave an active target with no entries fails
 * with ERANGE, naming the target, and changes nothing; one that does not,
 * and deactivations, go through. */
START_TEST(test_zero_entries)
{
	struct shm *s = make(997, 8);
	const uint32_t ids[3] = { 30, 10, 20 }, ten = 10, thirty = 30;
	uint32_t bad = 0, t1[997], t2[997], i, n20 = 0;

	ck_assert_int_eq(shm_activate(s, ids, 3, 0, &bad, why), 0);
	ck_assert_uint_eq(read_ids(s, t1), 1);
	ck_assert_int_eq(shm_activate(s, &ten, 1, 1000, &bad, why), -1);
	ck_assert_int_eq(errno, ERANGE);
	ck_assert_uint_eq(bad, 20);
	ck_assert_str_eq(why, "target 20 (weight 1) would get none of the M=997 entries "
			 "next to weight 1000: use a larger M or smaller weights");
	ck_assert_uint_eq(read_ids(s, t2), 1);
	ck_assert_mem_eq(t1, t2, sizeof(t1));
	ck_assert_int_eq(shm_activate(s, &ten, 1, 100, &bad, why), 0);
	ck_assert_uint_eq(read_ids(s, t2), 2);
	for (i = 0; i < 997; i++)
		n20 += t2[i] == 20;
	ck_assert_uint_gt(n20, 0);
	ck_assert_int_eq(shm_deactivate(s, &thirty, 1, &bad, why), 0);
	shm_detach(s);
}
END_TEST

/* The table equals maglev_build() of the same set, whatever the history. */
START_TEST(test_matches_build)
{
	struct shm *s = make(997, 8);
	const uint32_t first[4] = { 7, 3, 9, 1 }, second[2] = { 3, 9 }, again[1] = { 3 };
	const struct maglev_target set[3] = { { 7, 1 }, { 1, 1 }, { 3, 1 } };
	uint32_t bad, got[997], want[997], i;

	ck_assert_int_eq(shm_activate(s, first, 4, 0, &bad, why), 0);
	ck_assert_int_eq(shm_deactivate(s, second, 2, &bad, why), 0);
	ck_assert_int_eq(shm_activate(s, again, 1, 0, &bad, why), 0);
	read_ids(s, got);
	ck_assert_int_eq(maglev_build(want, 997, 0, set, 3), 0);
	for (i = 0; i < 997; i++)
		ck_assert_uint_eq(got[i], set[want[i]].id);
	shm_detach(s);
}
END_TEST

static void writer_child(int k, int rounds)
{
	struct shm *s = shm_attach(name, true, why);
	uint32_t bad, id;
	int j;

	if (!s)
		_exit(2);
	for (j = 0; j < rounds; j++) {
		id = 1000u * (uint32_t)(k + 1) + (uint32_t)j;
		if (shm_activate(s, &id, 1, 0, &bad, why) < 0 ||
		    shm_deactivate(s, &id, 1, &bad, why) < 0)
			_exit(1);
	}
	shm_detach(s);
	_exit(0);
}

START_TEST(test_concurrent_writers)
{
	const int rounds = 150;
	struct shm *s = make(997, 4);
	uint32_t bad, one = 1, ids[997], i;
	pid_t pid[2];
	int k, st;

	ck_assert_int_eq(shm_activate(s, &one, 1, 0, &bad, why), 0);
	for (k = 0; k < 2; k++) {
		pid[k] = fork();
		if (pid[k] == 0)
			writer_child(k, rounds);
	}
	for (k = 0; k < 2; k++) {
		ck_assert_int_eq(waitpid(pid[k], &st, 0), pid[k]);
		ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "writer %d failed", k);
	}
	/* Every update published exactly once: no update was lost. */
	ck_assert_uint_eq(read_ids(s, ids), 1 + 2 * 2 * rounds);
	for (i = 0; i < 997; i++)
		ck_assert_uint_eq(ids[i], 1);
	shm_detach(s);
}
END_TEST

static void toggler_child(int rounds)
{
	struct shm *s = shm_attach(name, true, why);
	uint32_t bad, four = 4;
	int j;

	if (!s)
		_exit(2);
	for (j = 0; j < rounds; j++)
		if (shm_activate(s, &four, 1, 0, &bad, why) < 0 ||
		    shm_deactivate(s, &four, 1, &bad, why) < 0)
			_exit(1);
	_exit(0);
}

static void ids_of_set(uint32_t *ids, const struct maglev_target *t, uint32_t n)
{
	uint32_t i;

	ck_assert_int_eq(maglev_build(ids, 997, 0, t, n), 0);
	for (i = 0; i < 997; i++)
		ids[i] = t[ids[i]].id;
}

START_TEST(test_reader_never_torn)
{
	const struct maglev_target set[4] = { { 1, 1 }, { 2, 1 }, { 3, 1 }, { 4, 1 } };
	const uint32_t abc[3] = { 1, 2, 3 };
	uint32_t a[997], b[997], got[997], bad;
	struct shm *s = make(997, 4);
	int st, reads = 0, seen_a = 0, seen_b = 0;
	pid_t pid;

	ids_of_set(a, set, 3);
	ids_of_set(b, set, 4);
	ck_assert_int_eq(shm_activate(s, abc, 3, 0, &bad, why), 0);
	pid = fork();
	if (pid == 0)
		toggler_child(3000);
	while (waitpid(pid, &st, WNOHANG) == 0 && reads++ < 200000) {
		read_ids(s, got);
		if (memcmp(got, a, sizeof(a)) == 0)
			seen_a++;
		else if (memcmp(got, b, sizeof(b)) == 0)
			seen_b++;
		else
			ck_abort_msg("read %d: a table that is neither A nor B", reads);
	}
	ck_assert_int_gt(seen_a + seen_b, 100);
	shm_detach(s);
}
END_TEST

START_TEST(test_counters)
{
	struct shm *s = make(997, 2);
	const uint32_t ab[2] = { 7, 8 }, c = 9;
	uint64_t target[2], cnt[SHM_CNT_MAX];
	struct shm_worker *w1, *w2;
	uint32_t bad;

	ck_assert_int_eq(shm_activate(s, ab, 2, 0, &bad, why), 0);
	w1 = shm_worker_claim(s, getpid(), 0);
	w2 = shm_worker_claim(s, getpid(), 1);
	ck_assert_ptr_nonnull(w1);
	ck_assert_ptr_nonnull(w2);
	ck_assert_ptr_ne(w1, w2);
	shm_count(&w1->target[0], 5);
	shm_count(&w2->target[0], 2);
	shm_count(&w2->target[1], 1);
	shm_count(&w1->cnt[3], 4);
	shm_counts(s, target, cnt);
	ck_assert_uint_eq(target[0], 7);
	ck_assert_uint_eq(target[1], 1);
	ck_assert_uint_eq(cnt[3], 4);
	/* Slot 0 goes to a new id: its count starts again from 0. */
	ck_assert_int_eq(shm_deactivate(s, ab, 1, &bad, why), 0);
	ck_assert_int_eq(shm_activate(s, &c, 1, 0, &bad, why), 0);
	shm_count(&w1->target[0], 1);
	shm_counts(s, target, cnt);
	ck_assert_uint_eq(target[0], 1);
	shm_worker_release(s, w1);
	ck_assert_ptr_eq(shm_worker_claim(s, getpid(), 0), w1);	/* same queue, same set */
	shm_detach(s);
}
END_TEST

/* The number of counter set w in s. */
static unsigned int set_index(const struct shm *s, const struct shm_worker *w)
{
	unsigned int i;

	for (i = 0; i < SHM_WORKERS; i++)
		if (shm_worker_at(s, i) == w)
			return i;
	ck_abort_msg("not a counter set of the handle");
	return 0;
}

/* Owner of set i as another, read-only, handle sees it. */
static struct shm_owner owner_of(unsigned int i)
{
	struct shm *r = shm_attach(name, false, why);
	struct shm_owner o;

	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(shm_worker_owner(r, i, &o), 0);
	shm_detach(r);
	return o;
}

/* Two handles (two workers) claiming with one PID and for one queue get two
 * sets: ownership is the lock, not the PID.  A read-only handle cannot own. */
START_TEST(test_claim_two_handles)
{
	struct shm *a = make(7, 2), *b = shm_attach(name, true, why), *r;
	struct shm_worker *wa, *wb;
	struct shm_owner o;

	ck_assert_ptr_nonnull(b);
	wa = shm_worker_claim(a, 1, 4);
	wb = shm_worker_claim(b, 1, 4);
	ck_assert_ptr_nonnull(wa);
	ck_assert_ptr_nonnull(wb);
	ck_assert_uint_ne(set_index(a, wa), set_index(b, wb));
	o = owner_of(set_index(a, wa));
	ck_assert(o.running);
	ck_assert_int_eq(o.pid, 1);
	ck_assert(!o.other_pidns);
	ck_assert(owner_of(set_index(b, wb)).running);
	ck_assert(!owner_of(SHM_WORKERS - 1).running);
	ck_assert_int_eq(owner_of(SHM_WORKERS - 1).pid, 0);
	/* The claiming handle itself sees its own set as running too. */
	ck_assert_int_eq(shm_worker_owner(a, set_index(a, wa), &o), 0);
	ck_assert(o.running);
	r = shm_attach(name, false, why);
	ck_assert_ptr_nonnull(r);
	ck_assert_ptr_null(shm_worker_claim(r, 1, 4));
	ck_assert_int_eq(errno, EBADF);
	shm_detach(r);
	shm_detach(b);
	shm_detach(a);
}
END_TEST

/* Released sets are free again and keep their last owner's PID; the set
 * that served a queue goes back to that queue. */
START_TEST(test_claim_release)
{
	struct shm *a = make(7, 2), *b = shm_attach(name, true, why);
	struct shm_worker *w, *w2;
	struct shm_owner o;
	unsigned int i;

	ck_assert_ptr_nonnull(b);
	ck_assert_ptr_nonnull(shm_worker_claim(a, 10, 1));
	w = shm_worker_claim(a, 11, 3);
	ck_assert_ptr_nonnull(w);
	i = set_index(a, w);
	shm_worker_release(a, w);
	o = owner_of(i);
	ck_assert(!o.running);
	ck_assert_int_eq(o.pid, 11);
	ck_assert_ptr_eq(shm_worker_claim(b, 12, 3), shm_worker_at(b, i));
	ck_assert_int_eq(owner_of(i).pid, 12);
	/* Held by b now: a gets another set, one that never served a queue. */
	w2 = shm_worker_claim(a, 11, 3);
	ck_assert_ptr_nonnull(w2);
	ck_assert_uint_eq(set_index(a, w2), 2);
	shm_worker_release(a, shm_worker_at(a, i));	/* not a's: no effect */
	ck_assert(owner_of(i).running);
	shm_detach(b);
	shm_detach(a);
}
END_TEST

/* Detaching a handle frees its sets; one handle may own every set, and
 * then nobody else gets one. */
START_TEST(test_claim_detached_and_full)
{
	struct shm *a = make(7, 2), *b = shm_attach(name, true, why);
	unsigned int i;

	ck_assert_ptr_nonnull(b);
	for (i = 0; i < SHM_WORKERS; i++)
		ck_assert_ptr_eq(shm_worker_claim(a, 20, i), shm_worker_at(a, i));
	ck_assert_ptr_null(shm_worker_claim(a, 20, 99));
	ck_assert_int_eq(errno, EBUSY);
	ck_assert_ptr_null(shm_worker_claim(b, 21, 99));
	ck_assert_int_eq(errno, EBUSY);
	ck_assert(owner_of(17).running);
	shm_detach(a);
	ck_assert(!owner_of(17).running);
	ck_assert_ptr_eq(shm_worker_claim(b, 21, 17), shm_worker_at(b, 17));
	shm_detach(b);
}
END_TEST

/* An owner process: the set it claimed and the PID it has in its own
 * namespace; `pid` kills it, `reap` is the child of the test to wait for. */
struct owner_proc {
	unsigned int idx;
	int32_t seen_pid;
	pid_t pid, reap;
};

/* The owner: attach, claim a set for queue 5, report { set, getpid(),
 * getpid() } on fd and wait to be killed (bounded: it dies with its parent,
 * or after a minute). */
static void owner_body(int fd)
{
	int msg[3] = { -1, getpid(), getpid() };
	struct shm_worker *w;
	struct shm *s;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	alarm(60);
	s = shm_attach(name, true, why);
	w = s ? shm_worker_claim(s, getpid(), 5) : NULL;
	msg[0] = w ? (int)set_index(s, w) : -1;
	if (write(fd, msg, sizeof(msg)) != sizeof(msg))
		_exit(2);
	pause();
	_exit(0);
}

/* The owner as PID 1 of a new PID namespace: relay its report with its PID
 * as seen outside, and wait for it.  The test process itself stays out of
 * the namespace: once its PID 1 dies, nobody can fork into it. */
static void owner_in_pidns(int fd)
{
	int in[2], msg[3] = { -1, -1, -1 };
	pid_t g;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (pipe(in) < 0 || unshare(CLONE_NEWPID) < 0)
		_exit(3);
	g = fork();
	if (g == 0)
		owner_body(in[1]);
	if (g < 0 || read(in[0], msg, sizeof(msg)) != sizeof(msg))
		_exit(4);
	msg[2] = g;
	if (write(fd, msg, sizeof(msg)) != sizeof(msg))
		_exit(2);
	waitpid(g, NULL, 0);
	_exit(0);
}

/* Start an owner, in a new PID namespace (as a worker in a container) or
 * not, and wait for its report. */
static void spawn_owner(bool pidns, struct owner_proc *o)
{
	int fd[2], msg[3];
	pid_t pid;

	ck_assert_int_eq(pipe(fd), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (pidns)
			owner_in_pidns(fd[1]);
		owner_body(fd[1]);
	}
	close(fd[1]);
	ck_assert_int_eq(read(fd[0], msg, sizeof(msg)), (ssize_t)sizeof(msg));
	close(fd[0]);
	ck_assert_int_ge(msg[0], 0);
	o->idx = (unsigned int)msg[0];
	o->seen_pid = msg[1];
	o->pid = msg[2];
	o->reap = pid;
}

static void kill_owner(const struct owner_proc *o)
{
	int st;

	ck_assert_int_eq(kill(o->pid, SIGKILL), 0);
	ck_assert_int_eq(waitpid(o->reap, &st, 0), o->reap);
}

/* A worker killed by SIGKILL leaves no owner behind: its set is free, and
 * goes back to its queue.  While it lived, nobody could take it. */
START_TEST(test_claim_owner_killed)
{
	struct shm *s = make(7, 2);
	struct owner_proc o;
	struct shm_worker *w;

	spawn_owner(false, &o);
	ck_assert_int_eq(o.seen_pid, o.pid);
	ck_assert(owner_of(o.idx).running);
	ck_assert_int_eq(owner_of(o.idx).pid, o.pid);
	w = shm_worker_claim(s, getpid(), 5);
	ck_assert_ptr_nonnull(w);
	ck_assert_uint_ne(set_index(s, w), o.idx);
	kill_owner(&o);
	ck_assert(!owner_of(o.idx).running);
	ck_assert_int_eq(owner_of(o.idx).pid, o.pid);
	ck_assert_ptr_eq(shm_worker_claim(s, getpid(), 5), shm_worker_at(s, o.idx));
	shm_detach(s);
}
END_TEST

/* An owner in another PID namespace, whose PID means nothing here (it is
 * 1, the PID of this namespace's init): seen as running while it lives,
 * marked as from another namespace, and its set is free once it dies. */
START_TEST(test_claim_owner_other_pidns)
{
	struct owner_proc o;
	struct shm_owner so;
	struct shm *s;

	if (geteuid() != 0)
		return;		/* a PID namespace needs root */
	s = make(7, 2);
	spawn_owner(true, &o);
	ck_assert_int_eq(o.seen_pid, 1);
	ck_assert_int_ne(o.pid, 1);
	so = owner_of(o.idx);
	ck_assert(so.running);
	ck_assert_int_eq(so.pid, 1);
	ck_assert(so.other_pidns);
	ck_assert_uint_ne(set_index(s, shm_worker_claim(s, 1, 5)), o.idx);
	kill_owner(&o);
	ck_assert(!owner_of(o.idx).running);
	ck_assert_ptr_eq(shm_worker_claim(s, 1, 5), shm_worker_at(s, o.idx));
	shm_detach(s);
}
END_TEST

/* Another process's view of the object: shrink it to `size` bytes. */
static void shrink(off_t size)
{
	char path[80];
	int fd;

	snprintf(path, sizeof(path), "/%s", name);
	fd = shm_open(path, O_RDWR, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, size), 0);
	close(fd);
}

/* Truncated to nothing under a reader (_i = 1: a read-only handle): the
 * next read touches a page that is gone; the guard turns the SIGBUS into
 * EIO, and the handle reads zeros from then on. */
START_TEST(test_truncated_under_reader)
{
	struct shm *w = make(997, 32), *s;
	const uint32_t ids[2] = { 5, 6 };
	uint64_t target[32], cnt[SHM_CNT_MAX];
	uint32_t bad;
	struct shm_view v;

	ck_assert_int_eq(shm_activate(w, ids, 2, 0, &bad, why), 0);
	s = _i ? shm_attach(name, false, why) : w;
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(shm_view_init(&v, 997, 32), 0);
	ck_assert_int_eq(shm_read(s, &v, why), 0);
	ck_assert_int_eq(shm_check_size(s, why), 0);
	shrink(0);
	ck_assert(!shm_lost(s));
	ck_assert_int_eq(shm_read(s, &v, why), -1);
	ck_assert_int_eq(errno, EIO);
	ck_assert_msg(strstr(why, "truncated"), "%s", why);
	ck_assert(shm_lost(s));
	ck_assert_uint_eq(shm_generation(s), 0);
	shm_counts(s, target, cnt);
	ck_assert_uint_eq(target[0], 0);
	ck_assert_int_eq(shm_check_size(s, why), -1);
	ck_assert_int_eq(errno, EIO);
	shm_view_free(&v);
	if (s != w)
		shm_detach(s);
	shm_detach(w);
	/* The object itself is refused now. */
	ck_assert_ptr_null(shm_attach(name, false, why));
	ck_assert_int_eq(errno, EBADMSG);
}
END_TEST

/* Truncated before an update is written: the update fails, and says so,
 * instead of reporting success for a table that went nowhere. */
START_TEST(test_truncated_under_writer)
{
	struct shm *s = make(997, 32);
	const uint32_t ids[2] = { 5, 6 };
	uint32_t bad;

	ck_assert_int_eq(shm_activate(s, ids, 1, 0, &bad, why), 0);
	shrink(4096);	/* the header survives, buffer 1 and the rest do not */
	ck_assert_int_eq(shm_activate(s, ids + 1, 1, 0, &bad, why), -1);
	ck_assert_int_eq(errno, EIO);
	ck_assert(shm_lost(s));
	ck_assert_int_eq(shm_deactivate(s, ids, 1, &bad, why), -1);
	ck_assert_int_eq(errno, EIO);
	shm_detach(s);
}
END_TEST

/* A worker's counter writes past the new end are absorbed, and a resize
 * that leaves every used page in place is still noticed by the size check. */
START_TEST(test_truncated_under_counters)
{
	struct shm *s = make(997, 32);
	struct shm_worker *last = shm_worker_at(s, SHM_WORKERS - 1);
	struct shm_view v;

	ck_assert_int_eq(shm_view_init(&v, 997, 32), 0);
	shrink((off_t)s->size / 2);
	ck_assert_int_eq(shm_read(s, &v, why), 0);	/* buffers still there */
	ck_assert(!shm_lost(s));
	shm_count(&last->cnt[0], 1);			/* SIGBUS, absorbed */
	ck_assert(shm_lost(s));
	ck_assert_uint_eq(last->cnt[0], 1);		/* private zero page + 1 */
	shm_detach(s);

	s = shm_attach(name, true, why);
	ck_assert_ptr_null(s);
	teardown();
	s = make(997, 32);
	shrink((off_t)s->size - 64);	/* no page of the mapping goes away */
	ck_assert_int_eq(shm_check_size(s, why), -1);
	ck_assert_int_eq(errno, EIO);
	ck_assert_msg(strstr(why, "resized"), "%s", why);
	ck_assert(shm_lost(s));
	ck_assert_int_eq(shm_read(s, &v, why), -1);
	ck_assert_int_eq(errno, EIO);
	shm_view_free(&v);
	shm_detach(s);
}
END_TEST

/* The guard handles faults in table mappings only: a SIGBUS anywhere else
 * still goes to the handler before it (ASan's under unit-san) or kills. */
START_TEST(test_foreign_sigbus_kills)
{
	struct shm *s = make(7, 2);
	pid_t pid;
	int st;

	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		char path[] = "/tmp/nfqlb-unit-bus-XXXXXX";
		int fd = mkstemp(path);
		volatile char *p;

		unlink(path);
		if (fd < 0 || ftruncate(fd, 4096) < 0)
			_exit(2);
		p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (p == MAP_FAILED || ftruncate(fd, 0) < 0)
			_exit(2);
		dup2(fd, 2);	/* a sanitizer's report of the expected fault */
		p[0] = 1;
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	/* Killed by SIGBUS, or, under a sanitizer, its SIGBUS report. */
	ck_assert_msg(WIFSIGNALED(st) ? WTERMSIG(st) == SIGBUS :
		      WIFEXITED(st) && WEXITSTATUS(st) != 0 && WEXITSTATUS(st) != 2,
		      "a foreign SIGBUS did not kill (status 0x%x)", st);
	shm_detach(s);
}
END_TEST

/* SHM_GUARD_MAX handles at once; one more is refused, and detaching frees
 * the entries again. */
START_TEST(test_guard_slots)
{
	static struct shm *h[SHM_GUARD_MAX];
	struct shm *s = make(7, 2);
	struct rlimit r;
	int i, n;

	/* Each handle holds a descriptor: make room for them all, as lb
	 * --flows does (root may raise the hard limit too).  Where that is
	 * not allowed, the descriptors run out first: EMFILE, not a crash. */
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &r), 0);
	if (r.rlim_cur < SHM_GUARD_MAX + 64) {
		r.rlim_cur = SHM_GUARD_MAX + 64;
		if (r.rlim_max < r.rlim_cur)
			r.rlim_max = r.rlim_cur;
		if (setrlimit(RLIMIT_NOFILE, &r) < 0)
			ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &r), 0);
	}

	for (n = 0; n < SHM_GUARD_MAX; n++) {
		h[n] = shm_attach(name, false, why);
		if (!h[n])
			break;
	}
	if (r.rlim_cur < SHM_GUARD_MAX + 64) {
		ck_assert_int_eq(errno, EMFILE);
	} else {
		/* The fixture's own handle holds one entry (plus any leaked ones). */
		ck_assert_int_le(n, SHM_GUARD_MAX - 1);
		ck_assert_int_ge(n, SHM_GUARD_MAX - 8);
		ck_assert_int_eq(errno, ENFILE);
	}
	for (i = 0; i < n; i++)
		shm_detach(h[i]);
	h[0] = shm_attach(name, false, why);
	ck_assert_ptr_nonnull(h[0]);
	shm_detach(h[0]);
	shm_detach(s);
}
END_TEST

/* A writer killed in the middle of publish() leaves the buffer it was
 * writing marked busy (an odd sequence number).  The next writer, which
 * holds the lock, must not take that for a stable buffer, nor publish the
 * buffer still marked busy. */
START_TEST(test_writer_died_mid_publish)
{
	struct shm *s = make(997, 32);
	const uint32_t ids[3] = { 5, 6, 7 };
	uint32_t bad, table[997];
	uint64_t g;

	ck_assert_int_eq(shm_activate(s, ids, 1, 0, &bad, why), 0);
	g = shm_generation(s);
	s->hdr->seq[(g + 1) & 1] |= 1;		/* died after marking it */
	ck_assert_int_eq(shm_activate(s, ids + 1, 1, 0, &bad, why), 0);
	ck_assert_uint_eq(shm_generation(s), g + 1);
	ck_assert_uint_eq(s->hdr->seq[(g + 1) & 1] & 1, 0);
	ck_assert_uint_eq(read_ids(s, table), g + 1);
	ck_assert_int_eq(shm_activate(s, ids + 2, 1, 0, &bad, why), 0);
	ck_assert_uint_eq(read_ids(s, table), g + 2);
	shm_detach(s);
}
END_TEST

/* The published buffer marked busy while nobody holds the lock is damage,
 * not a writer at work: readers say so instead of waiting for it. */
START_TEST(test_published_stuck_busy)
{
	struct shm *s = make(997, 32), *r;
	const uint32_t id = 5;
	struct shm_view v;
	uint32_t bad;

	ck_assert_int_eq(shm_activate(s, &id, 1, 0, &bad, why), 0);
	s->hdr->seq[shm_generation(s) & 1] |= 1;
	r = shm_attach(name, false, why);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(shm_view_init(&v, 997, 32), 0);
	ck_assert_int_eq(shm_read(r, &v, why), -1);
	ck_assert_int_eq(errno, EBADMSG);
	ck_assert_msg(strstr(why, "no writer"), "%s", why);
	ck_assert_int_eq(shm_activate(s, &id, 1, 3, &bad, why), -1);
	ck_assert_int_eq(errno, EBADMSG);
	shm_view_free(&v);
	shm_detach(r);
	shm_detach(s);
}
END_TEST

/* Validation sorts the active ids in the view's own scratch space (no
 * allocation while the worker adopts a table): many ids in any order pass,
 * and one id active twice, however far apart, is found. */
START_TEST(test_view_check_many_ids)
{
	struct shm_view v;
	uint32_t i;

	ck_assert_int_eq(shm_view_init(&v, 997, 300), 0);
	ck_assert_ptr_nonnull(v.scratch);
	for (i = 0; i < 300; i++)
		v.targets[i] = (struct shm_target){ (i * 7919) % 1009 + 1, 1, 1, 0 };
	for (i = 0; i < 997; i++) {
		v.lookup[i] = i % 300;
		v.targets[i % 300].entries++;
	}
	ck_assert_msg(shm_view_check(&v, why) == 0, "%s", why);
	v.targets[299].id = v.targets[3].id;
	ck_assert_int_eq(shm_view_check(&v, why), -1);
	ck_assert_int_eq(errno, EBADMSG);
	ck_assert_msg(strstr(why, "active twice"), "%s", why);
	shm_view_free(&v);
	ck_assert_ptr_null(v.scratch);
}
END_TEST

/* The object a name holds now, by identity. */
START_TEST(test_same_object)
{
	struct shm_params p = { 7, 2, 0, HASH_5TUPLE };
	struct shm *s = make(997, 32), *t;
	char path[80];

	ck_assert_int_eq(shm_same_object(s, why), 1);
	snprintf(path, sizeof(path), "/%s", name);
	ck_assert_int_eq(shm_unlink(path), 0);
	ck_assert_int_eq(shm_same_object(s, why), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_int_eq(shm_create(name, &p, false), 0);	/* rm + init */
	ck_assert_int_eq(shm_same_object(s, why), 0);
	ck_assert(!shm_retired(s));	/* nobody marked it: identity tells */
	t = shm_attach(name, true, why);
	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(shm_same_object(t, why), 1);
	shm_detach(t);
	shm_detach(s);
}
END_TEST

/* The private names replacements build under, left by this process. */
static int tmp_left(void)
{
	char cmd[128];
	int r;

	snprintf(cmd, sizeof(cmd), "ls -a " SHM_DIR " | grep -q '^\\.nfqlb-new-%d-'",
		 (int)getpid());
	r = system(cmd);
	return WIFEXITED(r) && WEXITSTATUS(r) == 0;
}

/* Targets 1 and 2 of weight 1 and 3 of weight 5, active. */
static struct shm *make_three(uint32_t m, uint32_t n)
{
	const struct maglev_target t[3] = { { 1, 1 }, { 2, 1 }, { 3, 5 } };
	struct shm *s = make(m, n);
	uint32_t bad = 0;

	ck_assert_msg(shm_set_targets(s, t, 3, &bad, why) == 0, "%s", why);
	return s;
}

/* The active targets of what the name holds, as "id:weight " in slot order. */
static void active_of(char *out, size_t len, struct shm **ps)
{
	struct shm *s = shm_attach(name, false, why);
	struct shm_view v;
	size_t used = 0;
	uint32_t i;

	ck_assert_msg(s != NULL, "attach: %s", why);
	ck_assert_int_eq(shm_view_init(&v, s->m, s->n), 0);
	ck_assert_msg(shm_read(s, &v, why) == 0, "read: %s", why);
	out[0] = '\0';
	for (i = 0; i < v.n; i++)
		if (v.targets[i].active)
			used += (size_t)snprintf(out + used, len - used, "%u:%u ",
						 v.targets[i].id, v.targets[i].weight);
	shm_view_free(&v);
	*ps = s;
}

START_TEST(test_replace_keeps_targets)
{
	struct shm_params p = { 65537, 8, 7, HASH_ADDR };
	struct shm *old = make_three(997, 32), *s;
	char lost[WHY_MAX] = "x", got[128];
	const uint32_t id = 4;
	uint32_t bad;
	size_t kept = 0;

	ck_assert_msg(shm_replace(name, &p, &kept, lost, why) == 0, "%s", why);
	ck_assert_uint_eq(kept, 3);
	ck_assert_str_eq(lost, "");
	active_of(got, sizeof(got), &s);
	ck_assert_str_eq(got, "1:1 2:1 3:5 ");
	ck_assert_uint_eq(s->m, 65537);
	ck_assert_uint_eq(s->n, 8);
	ck_assert_uint_eq(s->seed, 7);
	ck_assert_int_eq(s->mode, HASH_ADDR);
	ck_assert_uint_eq(shm_generation(s), 1);	/* one update */
	ck_assert_int_eq(shm_same_object(old, why), 0);
	/* A writer still holding the old object cannot publish into it. */
	ck_assert_int_eq(shm_activate(old, &id, 1, 0, &bad, why), -1);
	ck_assert_int_eq(errno, ESTALE);
	ck_assert(!tmp_left());
	shm_detach(s);
	shm_detach(old);
}
END_TEST

/* A new N or M that cannot hold the targets: refused, nothing changes. */
START_TEST(test_replace_refuses)
{
	struct shm_params small_n = { 997, 2, 0, HASH_5TUPLE };
	struct shm_params small_m = { 3, 3, 0, HASH_5TUPLE };
	struct shm *old = make_three(997, 32), *s;
	char lost[WHY_MAX], got[128];
	size_t kept = 9;

	ck_assert_int_eq(shm_replace(name, &small_n, &kept, lost, why), -1);
	ck_assert_int_eq(errno, ENOSPC);
	ck_assert_msg(strstr(why, "3 active targets"), "%s", why);
	ck_assert_int_eq(shm_replace(name, &small_m, &kept, lost, why), -1);
	ck_assert_int_eq(errno, ERANGE);
	ck_assert_msg(strstr(why, "would get none of the M=3 entries"), "%s", why);
	ck_assert_uint_eq(kept, 0);
	ck_assert_int_eq(shm_same_object(old, why), 1);
	ck_assert(!shm_retired(old));
	active_of(got, sizeof(got), &s);
	ck_assert_str_eq(got, "1:1 2:1 3:5 ");
	ck_assert_uint_eq(shm_generation(s), 1);
	ck_assert(!tmp_left());
	shm_detach(s);
	shm_detach(old);
}
END_TEST

/* Damage, or nothing at all, under the name: an empty table, and why. */
START_TEST(test_replace_damaged)
{
	struct shm_params p = { 251, 8, 0, HASH_5TUPLE };
	char lost[WHY_MAX], got[128];
	struct shm *old, *s;
	size_t kept = 9;

	ck_assert_int_eq(shm_replace(name, &p, &kept, lost, why), 0);	/* missing */
	ck_assert_str_eq(lost, "");
	ck_assert_uint_eq(kept, 0);
	teardown();
	write_file("junk junk junk junk", 19);
	ck_assert_int_eq(shm_replace(name, &p, &kept, lost, why), 0);
	ck_assert_msg(strstr(lost, "truncated"), "%s", lost);
	active_of(got, sizeof(got), &s);
	ck_assert_str_eq(got, "");
	shm_detach(s);
	teardown();
	old = make_three(997, 32);
	live_targets(old)[0].active = 0;	/* the lookup names an inactive slot */
	ck_assert_int_eq(shm_replace(name, &p, &kept, lost, why), 0);
	ck_assert_msg(strstr(lost, "names no active target"), "%s", lost);
	ck_assert_uint_eq(kept, 0);
	ck_assert_int_eq(shm_same_object(old, why), 0);
	active_of(got, sizeof(got), &s);
	ck_assert_str_eq(got, "");
	shm_detach(s);
	shm_detach(old);
}
END_TEST

/* shm_create(force) replaces whatever the name holds with an empty table. */
START_TEST(test_create_force_any_content)
{
	struct shm_params p = { 251, 8, 0, HASH_5TUPLE };
	struct shm *old = make_three(997, 32), *s;
	char got[128];

	ck_assert_int_eq(shm_create(name, &p, true), 0);
	ck_assert(shm_retired(old));
	ck_assert_int_eq(shm_same_object(old, why), 0);
	active_of(got, sizeof(got), &s);
	ck_assert_str_eq(got, "");
	shm_detach(s);
	old->hdr->magic = 0;	/* not an nfqlb table any more */
	shm_detach(old);
	write_file("junk", 4);
	ck_assert_int_eq(shm_create(name, &p, false), -1);
	ck_assert_int_eq(errno, EEXIST);
	ck_assert_int_eq(shm_create(name, &p, true), 0);
	s = shm_attach(name, false, why);
	ck_assert_msg(s != NULL, "%s", why);
	ck_assert(!tmp_left());
	shm_detach(s);
}
END_TEST

/* While another process replaces the object over and over (M alternating),
 * the name always holds a complete object with the three targets. */
START_TEST(test_replace_never_missing)
{
	struct shm *s = make_three(997, 32), *r;
	char got[128];
	int i, status, seen = 0;
	pid_t pid;

	shm_detach(s);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		for (i = 0; i < 200; i++) {
			struct shm_params p = { i & 1 ? 997 : 251, 32, (uint32_t)i, HASH_5TUPLE };
			char l[WHY_MAX], w[WHY_MAX];
			size_t k;

			if (shm_replace(name, &p, &k, l, w) < 0 || k != 3 || l[0])
				_exit(1);
		}
		_exit(0);
	}
	while (waitpid(pid, &status, WNOHANG) == 0) {
		active_of(got, sizeof(got), &r);
		ck_assert_str_eq(got, "1:1 2:1 3:5 ");
		shm_detach(r);
		seen++;
	}
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert_int_gt(seen, 0);
}
END_TEST

Suite *make_shm_suite(void)
{
	Suite *s = suite_create("shm");
	TCase *tc = tcase_create("state");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_create_attach);
	tcase_add_test(tc, test_create_exists);
	tcase_add_test(tc, test_create_rejects);
	tcase_add_test(tc, test_name_rules);
	tcase_add_test(tc, test_zero_entries);
	tcase_add_test(tc, test_attach_missing);
	tcase_add_test(tc, test_attach_garbage);
	tcase_add_loop_test(tc, test_attach_corrupt_header, 0, CORRUPTION_MAX);
	tcase_add_test(tc, test_attach_bad_hash_and_more);
	tcase_add_test(tc, test_corrupt_table);
	tcase_add_test(tc, test_activate_deactivate);
	tcase_add_test(tc, test_matches_build);
	tcase_add_test(tc, test_concurrent_writers);
	tcase_add_test(tc, test_reader_never_torn);
	tcase_add_test(tc, test_counters);
	tcase_add_test(tc, test_claim_two_handles);
	tcase_add_test(tc, test_claim_release);
	tcase_add_test(tc, test_claim_detached_and_full);
	tcase_add_test(tc, test_claim_owner_killed);
	tcase_add_test(tc, test_claim_owner_other_pidns);
	tcase_add_loop_test(tc, test_truncated_under_reader, 0, 2);
	tcase_add_test(tc, test_truncated_under_writer);
	tcase_add_test(tc, test_truncated_under_counters);
	tcase_add_test(tc, test_foreign_sigbus_kills);
	tcase_add_test(tc, test_guard_slots);
	tcase_add_test(tc, test_writer_died_mid_publish);
	tcase_add_test(tc, test_published_stuck_busy);
	tcase_add_test(tc, test_view_check_many_ids);
	tcase_add_test(tc, test_same_object);
	tcase_add_test(tc, test_replace_keeps_targets);
	tcase_add_test(tc, test_replace_refuses);
	tcase_add_test(tc, test_replace_damaged);
	tcase_add_test(tc, test_create_force_any_content);
	tcase_add_test(tc, test_replace_never_missing);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}
