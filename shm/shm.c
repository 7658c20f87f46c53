/* SPDX-License-Identifier: GPL-2.0-or-later */
/* shm.c: a state object's life: create or replace under its name, attach
 * with validation, follow the name, detach and remove (see shm.h). */
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shm/guard.h"
#include "shm/layout.h"
#include "shm/object.h"
#include "shm/shm.h"

int shm_check_size(struct shm *s, char *why)
{
	struct stat st;

	if (fstat(s->fd, &st) < 0)
		return why_fail(errno, why, "fstat: %s", strerror(errno));
	if (!shm_lost(s) && (uint64_t)st.st_size != s->size)
		shm_guard_lose(s);
	if (shm_lost(s))
		return why_fail(EIO, why, "the object was resized to %llu bytes while in use (it had %llu)",
			    (unsigned long long)st.st_size, (unsigned long long)s->size);
	return 0;
}

static void shm_path(char *dst, const char *name)
{
	dst[0] = '/';
	strcpy(dst + 1, name);
}

/* Where the object named by path ("/name") lies in the file system. */
static void shm_file(char *dst, size_t len, const char *path)
{
	snprintf(dst, len, "%s%s", SHM_DIR, path + 1);
}

int shm_same_object(const struct shm *s, char *why)
{
	char file[sizeof(SHM_DIR) + sizeof(s->name)];
	struct stat st;

	shm_file(file, sizeof(file), s->name);
	if (lstat(file, &st) < 0)
		return why_fail(errno, why, "%s", strerror(errno));
	return st.st_dev == s->dev && st.st_ino == s->ino;
}

static void init_content(struct shm_hdr *h, const struct shm_params *p)
{
	struct shm s = { .hdr = h, .m = p->m, .n = p->n };
	uint32_t i;

	/* ftruncate() zeroed everything; only the lookup needs a value. */
	for (i = 0; i < p->m; i++)
		shm_layout_lookup(&s, 0)[i] = SHM_NO_SLOT;
	for (i = 0; i < SHM_WORKERS; i++)
		shm_layout_worker(&s, i)->queue = UINT32_MAX;
	h->version = SHM_VERSION;
	h->hdr_size = sizeof(*h);
	h->m = p->m;
	h->n = p->n;
	h->workers = SHM_WORKERS;
	h->hash_mode = p->mode;
	h->seed = p->seed;
	h->size = shm_layout_size(p->m, p->n);
	/* The magic goes last: until then a reader sees "not an nfqlb table". */
	__atomic_store_n(&h->magic, SHM_MAGIC, __ATOMIC_RELEASE);
}

int shm_object_tmp(struct shm *s, uint64_t size, char *why)
{
	static unsigned int serial;
	struct stat st;
	int err;

	s->writable = true;
	s->size = (size_t)size;
	snprintf(s->name, sizeof(s->name), "/.nfqlb-new-%d-%u", (int)getpid(),
		 __atomic_fetch_add(&serial, 1, __ATOMIC_RELAXED));
	s->fd = shm_open(s->name, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (s->fd >= 0 && fchmod(s->fd, 0600) == 0 &&
	    ftruncate(s->fd, (off_t)s->size) == 0 && fstat(s->fd, &st) == 0 &&
	    shm_guard_map(s) == 0) {
		s->dev = st.st_dev;
		s->ino = st.st_ino;
		return 0;
	}
	err = errno;
	if (s->fd >= 0)
		shm_unlink(s->name);
	return why_fail(err, why, "%s", strerror(err));
}

/* A new object under a private name of its own, filled with an empty
 * table and attached for writing.  It appears under its real name only
 * when shm_object_place() gives it its name, complete. */
static struct shm *create_tmp(const struct shm_params *p, char *why)
{
	struct shm *s = calloc(1, sizeof(*s));
	int err;

	if (!s) {
		why_fail(errno, why, "%s", strerror(errno));
		return NULL;
	}
	*s = (struct shm){ .fd = -1, .m = p->m, .n = p->n, .seed = p->seed,
			   .mode = p->mode };
	if (shm_object_tmp(s, shm_layout_size(p->m, p->n), why) == 0) {
		init_content(s->hdr, p);
		if (!shm_lost(s))
			return s;
		shm_unlink(s->name);
		why_fail(EIO, why, "%s", strerror(EIO));
	}
	err = errno;
	shm_detach(s);
	errno = err;
	return NULL;
}

/* Give the finished object tmp its real name: replace whatever the name
 * holds in one rename() (force), or take the name only if it is free. */
int shm_object_place(const struct shm *tmp, const char *name, bool force,
		     char *why)
{
	char from[sizeof(SHM_DIR) + sizeof(tmp->name)];
	char path[SHM_NAME_MAX + 2], to[sizeof(SHM_DIR) + sizeof(path)];

	shm_path(path, name);
	shm_file(from, sizeof(from), tmp->name);
	shm_file(to, sizeof(to), path);
	if ((force ? rename(from, to) : link(from, to)) < 0) {
		/* The sticky /dev/shm says EPERM where shm_unlink() said EACCES. */
		return why_fail(errno == EPERM ? EACCES : errno, why, "%s",
				strerror(errno == EPERM ? EACCES : errno));
	}
	if (!force)
		unlink(from);
	return 0;
}

static void retire(struct shm *s)
{
	__atomic_store_n(&s->hdr->retired, 1, __ATOMIC_RELEASE);
}

/* What the name held before a replacement: the object (locked) when it is
 * a valid one, and its active targets when they are to be kept. */
struct old {
	struct shm *s;
	struct maglev_target *t;
	size_t k;
};

static void old_release(struct old *o)
{
	if (o->s && o->s->locked)
		shm_unlock(o->s);
	shm_detach(o->s);
	free(o->t);
	*o = (struct old){ 0 };
}

/* Copy the locked old object's active targets.  A table that cannot be
 * read is damage: lost says why, and nothing is kept. */
static int old_targets(struct old *o, char *lost, char *why)
{
	struct shm_view v;
	uint32_t i;

	if (shm_view_init(&v, o->s->m, o->s->n) < 0)
		return why_fail(errno, why, "%s", strerror(errno));
	o->t = calloc(o->s->n, sizeof(*o->t));
	if (!o->t) {
		shm_view_free(&v);
		return why_fail(errno, why, "%s", strerror(errno));
	}
	if (shm_read(o->s, &v, lost) == 0)
		for (i = 0; i < v.n; i++)
			if (v.targets[i].active)
				o->t[o->k++] = (struct maglev_target){
					v.targets[i].id, v.targets[i].weight };
	shm_view_free(&v);
	return 0;
}

/* Open and lock what the name holds now.  Nothing there, or something
 * damaged (lost says why), is no error: there is nothing to keep. */
static int old_take(struct old *o, const char *name, bool keep, char *lost,
		    char *why)
{
	char reason[WHY_MAX] = "";

	o->s = shm_attach(name, true, reason);
	if (!o->s) {
		if (errno == EBADMSG || errno == EPROTONOSUPPORT || errno == EIO)
			snprintf(lost, WHY_MAX, "%s", reason);
		else if (errno != ENOENT)
			return why_fail(errno, why, "%s", reason);
		return 0;
	}
	if (shm_lock(o->s, why) == 0 && (!keep || old_targets(o, lost, why) == 0))
		return 0;
	old_release(o);
	return -1;
}

/* Activate targets in the new object, as one update.  It refuses a new N
 * that cannot hold them all, and a new M that leaves one of them without
 * an entry (ERANGE, from the update). */
static int fill(struct shm *tmp, const struct maglev_target *t, size_t k, char *why)
{
	uint32_t bad = 0;

	if (k == 0)
		return 0;
	if (k > tmp->n)
		return why_fail(ENOSPC, why, "its %zu active targets do not fit in N=%u",
				k, tmp->n);
	return shm_set_targets(tmp, t, k, &bad, why);
}

/* Another replacement, or a delete, between opening the old object and
 * locking it moves the name on: start again from what it holds then. */
#define REPLACE_TRIES 10

/* Replace what the name holds by a new object with the targets t, or with
 * the old object's own when keep. */
static int replace(const char *name, const struct shm_params *p, bool keep,
		   const struct maglev_target *t, size_t k, struct old *o,
		   char *lost, char *why)
{
	struct shm *tmp;
	int i, ret = -1, err;

	for (i = 0; old_take(o, name, keep, lost, why) < 0; i++)
		if (errno != ESTALE || i == REPLACE_TRIES)
			return -1;
	tmp = create_tmp(p, why);
	if (tmp && fill(tmp, keep ? o->t : t, keep ? o->k : k, why) == 0 &&
	    shm_object_place(tmp, name, true, why) == 0)
		ret = 0;
	err = errno;
	if (ret == 0 && o->s)
		retire(o->s);
	if (ret < 0 && tmp)
		shm_unlink(tmp->name);
	shm_detach(tmp);
	errno = err;
	return ret;
}

int shm_create_targets(const char *name, const struct shm_params *p,
		       const struct maglev_target *t, size_t k, bool force, char *why)
{
	char lost[WHY_MAX];
	struct old o = { 0 };
	struct shm *tmp;
	int ret = -1, err;

	if (shm_name_check(name) < 0 || shm_params_check(p) < 0)
		return why_fail(EINVAL, why, "bad name or table parameters");
	if (force) {
		ret = replace(name, p, false, t, k, &o, lost, why);
		err = errno;
		old_release(&o);
		errno = err;
		return ret;
	}
	tmp = create_tmp(p, why);
	if (!tmp)
		return -1;
	if (fill(tmp, t, k, why) == 0)
		ret = shm_object_place(tmp, name, false, why);
	err = errno;
	if (ret < 0)
		shm_unlink(tmp->name);
	shm_detach(tmp);
	errno = err;
	return ret;
}

int shm_create(const char *name, const struct shm_params *p, bool force)
{
	return shm_create_targets(name, p, NULL, 0, force, NULL);
}

int shm_replace(const char *name, const struct shm_params *p, size_t *kept,
		char *lost, char *why)
{
	struct old o = { 0 };
	int ret, err;

	*kept = 0;
	lost[0] = '\0';
	if (shm_name_check(name) < 0 || shm_params_check(p) < 0)
		return why_fail(EINVAL, why, "bad name or table parameters");
	ret = replace(name, p, true, NULL, 0, &o, lost, why);
	err = errno;
	if (ret == 0)
		*kept = o.k;
	old_release(&o);
	errno = err;
	return ret;
}

int shm_object_head(struct shm *s, void *h, size_t len, uint64_t *fsize,
		    char *why)
{
	struct stat st;
	ssize_t got;

	got = pread(s->fd, h, len, 0);
	if (got < 0 || fstat(s->fd, &st) < 0)
		return why_fail(errno, why, "%s", strerror(errno));
	*fsize = (size_t)got < len ? (uint64_t)got : (uint64_t)st.st_size;
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	return 0;
}

int shm_object_map(struct shm *s, uint64_t size, char *why)
{
	s->size = (size_t)size;
	if (shm_guard_map(s) < 0)
		return why_fail(errno, why, "%s", strerror(errno));
	return 0;
}

/* Read and check the header through the descriptor, then map exactly the
 * size the checked copy gives: later changes to the header cannot make the
 * handle disagree with its mapping. */
static int attach_fd(struct shm *s, char *why)
{
	struct shm_hdr h;
	uint64_t fsize;

	if (shm_object_head(s, &h, sizeof(h), &fsize, why) < 0 ||
	    shm_hdr_check(&h, fsize, why) < 0 || shm_object_map(s, h.size, why) < 0)
		return -1;
	s->m = h.m;
	s->n = h.n;
	s->seed = h.seed;
	s->mode = (enum hash_mode)h.hash_mode;
	return 0;
}

struct shm *shm_object_attach(const char *name, bool writable, shm_attach_fn fn,
			      char *why)
{
	struct shm *s;
	int err;

	if (shm_name_check(name) < 0) {
		why_fail(EINVAL, why, "bad name \"%s\"", name);
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	shm_path(s->name, name);
	s->writable = writable;
	s->fd = shm_open(s->name, writable ? O_RDWR : O_RDONLY, 0);
	if (s->fd >= 0 && fn(s, why) == 0)
		return s;
	if (why && s->fd < 0)
		why_fail(errno, why, "%s", strerror(errno));
	err = errno;
	shm_detach(s);
	errno = err;
	return NULL;
}

struct shm *shm_attach(const char *name, bool writable, char *why)
{
	return shm_object_attach(name, writable, attach_fd, why);
}

void shm_detach(struct shm *s)
{
	if (!s)
		return;
	shm_guard_unmap(s);
	if (s->fd >= 0)
		close(s->fd);
	free(s);
}

int shm_is_nfqlb(const char *name)
{
	char path[SHM_NAME_MAX + 2];
	uint32_t magic = 0;
	ssize_t got;
	int fd;

	if (shm_name_check(name) < 0)
		return -1;
	shm_path(path, name);
	fd = shm_open(path, O_RDONLY, 0);
	if (fd < 0)
		return -1;
	got = pread(fd, &magic, sizeof(magic), offsetof(struct shm_hdr, magic));
	close(fd);
	if (got < 0)
		return -1;
	return got == sizeof(magic) && magic == SHM_MAGIC;
}

int shm_remove(const char *name)
{
	char path[SHM_NAME_MAX + 2];
	struct shm *s;

	if (shm_name_check(name) < 0)
		return -1;
	s = shm_attach(name, true, NULL);
	if (s) {
		retire(s);
		shm_detach(s);
	}
	shm_path(path, name);
	return shm_unlink(path);
}
