/* SPDX-License-Identifier: GPL-2.0-or-later */
/* trace.c: the trace ring (see trace.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "shm/layout.h"
#include "shm/trace.h"

_Static_assert(offsetof(struct trace_hdr, lease) % 64 == 0, "the lease has its own line");
_Static_assert(offsetof(struct trace_hdr, head) % 64 == 0, "head has its own line");

/* Suffixes tried when another PID namespace's worker has our PID. */
#define SUFFIXES 10

uint64_t trace_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static size_t ring_size(uint32_t records)
{
	return TRACE_HDR_SIZE + (size_t)records * sizeof(struct trace_rec);
}

/* The owner's lock on byte 0: F_OFD_SETLK to take it, F_OFD_GETLK to ask
 * (l_type comes back F_UNLCK when nobody holds it). */
static int lock_op(int fd, int cmd, struct flock *l)
{
	l->l_whence = SEEK_SET;
	l->l_start = 0;
	l->l_len = 1;
	l->l_pid = 0;
	return fcntl(fd, cmd, l);
}

static int lock_held(int fd)
{
	struct flock l = { .l_type = F_WRLCK };

	if (lock_op(fd, F_OFD_GETLK, &l) < 0)
		return -1;
	return l.l_type != F_UNLCK;
}

static bool pow2(uint32_t v)
{
	return v >= 2 && v <= TRACE_RECORDS_MAX && (v & (v - 1)) == 0;
}

/* Whether a header read from an object of size bytes is a complete ring. */
static bool hdr_valid(const struct trace_hdr *h, uint64_t size)
{
	return h->magic == TRACE_MAGIC && h->version == TRACE_VERSION &&
	       h->hdr_size == TRACE_HDR_SIZE && h->rec_size == sizeof(struct trace_rec) &&
	       pow2(h->records) && size == ring_size(h->records) &&
	       memchr(h->name, '\0', sizeof(h->name)) != NULL;
}

/* Read and check the header of an open object. */
static int read_hdr(int fd, struct trace_hdr *h, struct stat *st)
{
	if (fstat(fd, st) < 0)
		return -1;
	if ((size_t)st->st_size < TRACE_HDR_SIZE ||
	    pread(fd, h, sizeof(*h), 0) != (ssize_t)sizeof(*h) ||
	    !hdr_valid(h, (uint64_t)st->st_size)) {
		errno = EBADMSG;
		return -1;
	}
	return 0;
}

static int map_ring(struct trace *t, uint32_t records)
{
	void *p;

	t->size = ring_size(records);
	p = mmap(NULL, t->size, PROT_READ | PROT_WRITE, MAP_SHARED, t->fd, 0);
	if (p == MAP_FAILED)
		return -1;
	t->hdr = p;
	t->rec = (struct trace_rec *)((char *)p + TRACE_HDR_SIZE);
	t->mask = records - 1;
	return 0;
}

static void unmap_close(struct trace *t)
{
	if (t->hdr)
		munmap(t->hdr, t->size);
	if (t->fd >= 0)
		close(t->fd);
	free(t);
}

/* Probe one object: 1 a live ring (h filled), 0 not a ring or not yet
 * one, 2 a dead worker's ring, now removed; -1 on error. */
static int probe(const char *name, struct trace_hdr *h)
{
	char file[sizeof(SHM_DIR) + TRACE_NAME_LEN];
	struct stat st, now;
	int fd = shm_open(name, O_RDONLY, 0), r = 0;

	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	if (read_hdr(fd, h, &st) == 0) {
		r = lock_held(fd);
		snprintf(file, sizeof(file), "%s%s", SHM_DIR, name + 1);
		/* The name must still hold what was found dead. */
		if (r == 0 && lstat(file, &now) == 0 && now.st_ino == st.st_ino &&
		    now.st_dev == st.st_dev && shm_unlink(name) == 0)
			r = 2;
	}
	close(fd);
	return r;
}

/* Make the object and take its lock before it has a size, so no sweeper
 * ever takes it for a dead ring. */
static struct trace *try_create(const char *name, uint32_t records)
{
	struct trace *t = calloc(1, sizeof(*t));
	struct flock l = { .l_type = F_WRLCK };

	if (!t)
		return NULL;
	snprintf(t->name, sizeof(t->name), "%s", name);
	t->owner = true;
	t->fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (t->fd < 0)
		goto fail;
	if (fchmod(t->fd, 0600) < 0 || lock_op(t->fd, F_OFD_SETLK, &l) < 0 ||
	    ftruncate(t->fd, (off_t)ring_size(records)) < 0 || map_ring(t, records) < 0) {
		int err = errno;

		shm_unlink(name);
		errno = err;
		goto fail;
	}
	return t;
fail:
	unmap_close(t);
	return NULL;
}

static void fill_hdr(struct trace *t, int32_t pid, enum trace_serves serves,
		     const char *name, uint32_t records)
{
	struct trace_hdr *h = t->hdr;

	h->version = TRACE_VERSION;
	h->hdr_size = TRACE_HDR_SIZE;
	h->rec_size = sizeof(struct trace_rec);
	h->records = records;
	h->serves = serves;
	h->pid = pid;
	h->pidns = shm_pidns_self();
	snprintf(h->name, sizeof(h->name), "%s", name);
	__atomic_store_n(&h->magic, TRACE_MAGIC, __ATOMIC_RELEASE);
}

struct trace *trace_create(int32_t pid, enum trace_serves serves, const char *name,
			   uint32_t records, char *why)
{
	struct trace_hdr h;
	char obj[TRACE_NAME_LEN];
	struct trace *t;
	unsigned int k;

	if (!pow2(records) || strlen(name) > SHM_NAME_MAX) {
		why_fail(EINVAL, why, "bad ring size or name");
		return NULL;
	}
	for (k = 0; k < SUFFIXES; k++) {
		if (k)
			snprintf(obj, sizeof(obj), "/%s%d.%u", TRACE_PREFIX, (int)pid, k);
		else
			snprintf(obj, sizeof(obj), "/%s%d", TRACE_PREFIX, (int)pid);
		t = try_create(obj, records);
		/* A dead worker's ring under the name: remove it, try again. */
		if (!t && errno == EEXIST && probe(obj, &h) == 2)
			t = try_create(obj, records);
		if (t) {
			fill_hdr(t, pid, serves, name, records);
			return t;
		}
		if (errno != EEXIST)
			break;
	}
	why_fail(errno, why, "%s: %s", obj + 1, strerror(errno));
	return NULL;
}

void trace_destroy(struct trace *t)
{
	if (!t)
		return;
	if (t->owner)
		shm_unlink(t->name);
	unmap_close(t);
}

bool trace_armed_at(struct trace *t, uint64_t now_ms)
{
	uint64_t lease = __atomic_load_n(&t->hdr->lease, __ATOMIC_RELAXED);

	if (lease == 0)
		return false;
	if (now_ms < lease)
		return true;
	/* Expired: back to the one-load path, unless a reader renewed. */
	__atomic_compare_exchange_n(&t->hdr->lease, &lease, 0, false,
				    __ATOMIC_RELAXED, __ATOMIC_RELAXED);
	return false;
}

bool trace_batch_armed_slow(struct trace *t)
{
	return trace_armed_at(t, trace_now_ms());
}

void trace_put(struct trace *t, const struct trace_rec *r)
{
	uint64_t pos = __atomic_fetch_add(&t->hdr->head, 1, __ATOMIC_RELAXED);
	struct trace_rec *rec = &t->rec[pos & t->mask];

	__atomic_store_n(&rec->seq, (uint32_t)(2 * pos + 1), __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	memcpy((char *)rec + sizeof(rec->seq), (const char *)r + sizeof(r->seq),
	       sizeof(*rec) - sizeof(rec->seq));
	__atomic_store_n(&rec->seq, (uint32_t)(2 * pos + 2), __ATOMIC_RELEASE);
}

uint64_t trace_written(const struct trace *t)
{
	return __atomic_load_n(&t->hdr->head, __ATOMIC_ACQUIRE);
}

static void fill_info(struct trace_info *i, const char *name, const struct trace_hdr *h)
{
	snprintf(i->name, sizeof(i->name), "%s", name);
	i->pid = h->pid;
	i->pidns = h->pidns;
	i->serves = (enum trace_serves)h->serves;
	snprintf(i->serves_name, sizeof(i->serves_name), "%s", h->name);
	i->written = h->head;
	i->lease = h->lease;
}

/* Every object named TRACE_PREFIX...: list the live, remove the dead. */
static int scan(struct trace_info *out, size_t max, unsigned int *removed)
{
	char name[TRACE_NAME_LEN];
	DIR *d = opendir(SHM_DIR);
	struct trace_hdr h;
	struct dirent *e;
	int n = 0, r;

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, TRACE_PREFIX, strlen(TRACE_PREFIX)) != 0 ||
		    strlen(e->d_name) + 2 > sizeof(name))
			continue;
		name[0] = '/';
		memcpy(name + 1, e->d_name, strlen(e->d_name) + 1);
		r = probe(name, &h);
		if (r == 2 && removed)
			(*removed)++;
		if (r != 1)
			continue;
		if ((size_t)n < max)
			fill_info(&out[n], name, &h);
		n++;
	}
	closedir(d);
	return n;
}

int trace_sweep(unsigned int *removed)
{
	if (removed)
		*removed = 0;
	return scan(NULL, 0, removed) < 0 ? -1 : 0;
}

int trace_list(struct trace_info *out, size_t max)
{
	return scan(out, max, NULL);
}

struct trace *trace_open(const char *name, char *why)
{
	struct trace *t = calloc(1, sizeof(*t));
	struct trace_hdr h;
	struct stat st;

	if (!t) {
		why_fail(errno, why, "%s", strerror(errno));
		return NULL;
	}
	snprintf(t->name, sizeof(t->name), "%s", name);
	t->fd = shm_open(name, O_RDWR, 0);
	if (t->fd < 0 || read_hdr(t->fd, &h, &st) < 0 || map_ring(t, h.records) < 0) {
		int err = errno;

		why_fail(err, why, "%s: %s", name + 1,
			 err == EBADMSG ? "not a trace ring" : strerror(err));
		unmap_close(t);
		errno = err;
		return NULL;
	}
	return t;
}

void trace_close(struct trace *t)
{
	if (t)
		unmap_close(t);
}

int trace_alive(const struct trace *t)
{
	return lock_held(t->fd);
}

void trace_arm(struct trace *t, uint64_t now_ms)
{
	uint64_t want = now_ms + TRACE_LEASE_MS;
	uint64_t cur = __atomic_load_n(&t->hdr->lease, __ATOMIC_RELAXED);

	while (cur < want &&
	       !__atomic_compare_exchange_n(&t->hdr->lease, &cur, want, true,
					    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

int trace_read(const struct trace *t, uint64_t *pos, struct trace_rec *out,
	       uint64_t *lost)
{
	uint64_t head = trace_written(t), records = (uint64_t)t->mask + 1;
	const struct trace_rec *rec;
	uint32_t s1, s2;

	for (; *pos < head; (*pos)++, (*lost)++) {
		if (head - *pos > records) {
			*lost += head - records - *pos;
			*pos = head - records;
		}
		rec = &t->rec[*pos & t->mask];
		s1 = __atomic_load_n(&rec->seq, __ATOMIC_ACQUIRE);
		if ((int32_t)(s1 - (uint32_t)(2 * *pos + 2)) < 0)
			return 0;	/* its writer is not done yet */
		if (s1 != (uint32_t)(2 * *pos + 2))
			continue;	/* overwritten by a later lap */
		memcpy(out, rec, sizeof(*out));
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		s2 = __atomic_load_n(&rec->seq, __ATOMIC_RELAXED);
		if (s2 != s1)
			continue;	/* torn: a writer lapped the copy */
		out->seq = s1;
		out->flow[TRACE_FLOW_LEN - 1] = '\0';
		(*pos)++;
		return 1;
	}
	if (*pos > head)	/* a cursor from elsewhere: follow this ring */
		*pos = head;
	return 0;
}
