/* publish.c: the publish/read protocol (see shm.h) and the updates that
 * publish new generations (see publish.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "maglev/maglev.h"
#include "shm/layout.h"
#include "shm/shm.h"

/* A reader retries this often while writers keep rewriting its buffer. */
#define READ_TRIES 10000

/* One seqlock read of the published buffer.  Returns 0, or -1 if a writer
 * touched it meanwhile. */
static int read_once(const struct shm *s, struct shm_view *v)
{
	uint64_t g = shm_generation(s);
	unsigned int b = g & 1;
	uint32_t s1, s2;

	s1 = __atomic_load_n(&s->hdr->seq[b], __ATOMIC_ACQUIRE);
	if (s1 & 1)
		return -1;
	memcpy(v->targets, shm_layout_targets(s, b), sizeof(*v->targets) * s->n);
	memcpy(v->lookup, shm_layout_lookup(s, b), sizeof(*v->lookup) * s->m);
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	s2 = __atomic_load_n(&s->hdr->seq[b], __ATOMIC_RELAXED);
	if (s1 != s2)
		return -1;
	v->generation = g;
	return 0;
}

/*
 * Writers hold the lock while a buffer is marked busy, so a busy mark that
 * outlasts the lock is damage (a writer that died would leave the other
 * buffer busy, not this one).  Ask for the lock without waiting: if nobody
 * holds it, one more read under it decides.  A writer's own handle already
 * holds it (`locked`); flock() again would turn its lock into a shared one.
 */
static int read_unbusy(const struct shm *s, struct shm_view *v, bool locked,
		       char *why)
{
	int r;

	if (!locked && flock(s->fd, LOCK_SH | LOCK_NB) < 0)
		return errno == EWOULDBLOCK ? 1 : why_fail(errno, why, "lock: %s",
						       strerror(errno));
	r = read_once(s, v);
	if (!locked)
		flock(s->fd, LOCK_UN);
	if (shm_lost(s))
		return why_fail(EIO, why, "the object was truncated while in use");
	if (r < 0)
		return why_fail(EBADMSG, why,
			    "the published table is marked busy but no writer holds the lock");
	return shm_view_check(v, why);
}

static int read_table(const struct shm *s, struct shm_view *v, bool locked,
		      char *why)
{
	int i, r;

	if (v->m != s->m || v->n != s->n)
		return why_fail(EINVAL, why, "view does not match the table size");
	for (i = 0; i < READ_TRIES; i++) {
		r = read_once(s, v);
		if (shm_lost(s))
			return why_fail(EIO, why, "the object was truncated while in use");
		if (r == 0)
			return shm_view_check(v, why);
		if (locked || i == 100) {
			r = read_unbusy(s, v, locked, why);
			if (r <= 0)
				return r;
		}
		if (i > 100)
			usleep(100);
	}
	return why_fail(EAGAIN, why, "the table kept changing while being read");
}

int shm_read(const struct shm *s, struct shm_view *v, char *why)
{
	return read_table(s, v, false, why);
}

/* Fill v's lookup from its active targets, and each target's entry count. */
static int build_lookup(struct shm_view *v, uint32_t seed)
{
	struct maglev_target *t = malloc(sizeof(*t) * (v->n ? v->n : 1));
	uint32_t *slot = malloc(sizeof(*slot) * (v->n ? v->n : 1));
	uint32_t i, k = 0;
	int ret = -1;

	if (!t || !slot)
		goto out;
	for (i = 0; i < v->n; i++) {
		v->targets[i].entries = 0;
		if (!v->targets[i].active)
			continue;
		t[k] = (struct maglev_target){ v->targets[i].id, v->targets[i].weight };
		slot[k++] = i;
	}
	if (maglev_build(v->lookup, v->m, seed, t, k) < 0)
		goto out;
	for (i = 0; i < v->m; i++) {
		if (v->lookup[i] == MAGLEV_EMPTY) {
			v->lookup[i] = SHM_NO_SLOT;
			continue;
		}
		v->lookup[i] = slot[v->lookup[i]];
		v->targets[v->lookup[i]].entries++;
	}
	ret = 0;
out:
	free(t);
	free(slot);
	return ret;
}

/* An active target without lookup entries gets no packets, and nothing
 * would tell: refuse such a table, naming the first such target by id.
 * Returns 1, or -1 with errno ERANGE. */
static int entries_check(const struct shm_view *v, uint32_t *bad, char *why)
{
	uint32_t i, zero = SHM_NO_SLOT, wmax = 0;

	for (i = 0; i < v->n; i++) {
		if (!v->targets[i].active)
			continue;
		if (v->targets[i].weight > wmax)
			wmax = v->targets[i].weight;
		if (!v->targets[i].entries &&
		    (zero == SHM_NO_SLOT || v->targets[i].id < v->targets[zero].id))
			zero = i;
	}
	if (zero == SHM_NO_SLOT)
		return 1;
	*bad = v->targets[zero].id;
	return why_fail(ERANGE, why, "target %u (weight %u) would get none of the M=%u "
			"entries next to weight %u: use a larger M or smaller weights",
			v->targets[zero].id, v->targets[zero].weight, v->m, wmax);
}

/* Write the buffer readers are not using, then make it the published one. */
static void publish(struct shm *s, const struct shm_view *v)
{
	uint64_t g = __atomic_load_n(&s->hdr->generation, __ATOMIC_RELAXED);
	unsigned int b = (g + 1) & 1;
	uint32_t q = __atomic_load_n(&s->hdr->seq[b], __ATOMIC_RELAXED);

	/* Odd: a writer died while writing this buffer.  We hold the lock,
	 * so nobody writes it now; start from the next even value, or the
	 * buffer would be published marked busy. */
	q += q & 1;
	__atomic_store_n(&s->hdr->seq[b], q + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	memcpy(shm_layout_targets(s, b), v->targets, sizeof(*v->targets) * s->n);
	memcpy(shm_layout_lookup(s, b), v->lookup, sizeof(*v->lookup) * s->m);
	__atomic_store_n(&s->hdr->seq[b], q + 2, __ATOMIC_RELEASE);
	__atomic_store_n(&s->hdr->generation, g + 1, __ATOMIC_RELEASE);
}

static int lock(struct shm *s, char *why)
{
	while (flock(s->fd, LOCK_EX) < 0)
		if (errno != EINTR)
			return why_fail(errno, why, "lock: %s", strerror(errno));
	if (shm_retired(s)) {
		flock(s->fd, LOCK_UN);
		return why_fail(ESTALE, why, "the table was replaced or deleted meanwhile");
	}
	return 0;
}

struct edit {
	const uint32_t *ids;
	size_t k;
	uint32_t weight;
	uint32_t *bad;
	uint32_t *reused;	/* slots given to a new id: k entries */
	size_t nreused;
	bool need_entries;	/* refuse an active target left without entries */
};

typedef int (*edit_fn)(struct shm_view *v, struct edit *e, char *why);

/* Lock, copy the current table, edit it, and publish it if it changed. */
static int update(struct shm *s, edit_fn fn, struct edit *e, char *why)
{
	struct shm_view v;
	size_t i;
	int ret, err;

	if (!s->writable)
		return why_fail(EBADF, why, "table is open read-only");
	if (shm_view_init(&v, s->m, s->n) < 0)
		return why_fail(errno, why, "%s", strerror(errno));
	if (lock(s, why) < 0) {
		shm_view_free(&v);
		return -1;
	}
	ret = read_table(s, &v, true, why);
	if (ret == 0)
		ret = fn(&v, e, why);
	if (ret > 0 && build_lookup(&v, s->seed) < 0)
		ret = why_fail(errno, why, "build: %s", strerror(errno));
	if (ret > 0 && e->need_entries)
		ret = entries_check(&v, e->bad, why);
	if (ret > 0) {
		for (i = 0; i < e->nreused; i++)
			shm_layout_bases(s)[e->reused[i]] = shm_slot_total(s, e->reused[i]);
		publish(s, &v);
		/* Truncated meanwhile: the update went to the guard's zero
		 * pages, not to the object. */
		if (shm_lost(s))
			ret = why_fail(EIO, why, "the object was truncated while being written");
	}
	err = errno;
	flock(s->fd, LOCK_UN);
	shm_view_free(&v);
	errno = err;
	return ret < 0 ? -1 : 0;
}

static uint32_t find_slot(const struct shm_view *v, uint32_t id)
{
	uint32_t i;

	for (i = 0; i < v->n; i++)
		if (v->targets[i].id == id)
			return i;
	return SHM_NO_SLOT;
}

/* A slot for a new id: a never-used one first, else an inactive one. */
static uint32_t free_slot(const struct shm_view *v, struct edit *e)
{
	uint32_t i, unused = find_slot(v, 0);

	if (unused != SHM_NO_SLOT)
		return unused;
	for (i = 0; i < v->n; i++)
		if (!v->targets[i].active) {
			e->reused[e->nreused++] = i;
			return i;
		}
	return SHM_NO_SLOT;
}

static int activate_one(struct shm_view *v, struct edit *e, uint32_t id,
			uint32_t *nactive, char *why)
{
	uint32_t i = find_slot(v, id);
	struct shm_target *t;

	if (i != SHM_NO_SLOT && v->targets[i].active) {
		if (!e->weight || v->targets[i].weight == e->weight)
			return 0;
		v->targets[i].weight = e->weight;
		return 1;
	}
	if (*nactive >= v->n) {
		*e->bad = id;
		return why_fail(ENOSPC, why, "activating %u would exceed N=%u active targets",
			    id, v->n);
	}
	if (i == SHM_NO_SLOT)
		i = free_slot(v, e);
	t = &v->targets[i];
	*t = (struct shm_target){ id, e->weight ? e->weight : 1, 1, 0 };
	(*nactive)++;
	return 1;
}

static int do_activate(struct shm_view *v, struct edit *e, char *why)
{
	uint32_t nactive = 0, i;
	int changed = 0, r;
	size_t j;

	for (i = 0; i < v->n; i++)
		nactive += v->targets[i].active;
	for (j = 0; j < e->k; j++) {
		r = activate_one(v, e, e->ids[j], &nactive, why);
		if (r < 0)
			return -1;
		changed |= r;
	}
	return changed;
}

static int do_deactivate(struct shm_view *v, struct edit *e, char *why)
{
	uint32_t i;
	size_t j;

	for (j = 0; j < e->k; j++) {
		i = find_slot(v, e->ids[j]);
		if (i == SHM_NO_SLOT || !v->targets[i].active) {
			*e->bad = e->ids[j];
			return why_fail(ENOENT, why, "target %u is not active", e->ids[j]);
		}
	}
	for (j = 0; j < e->k; j++)
		v->targets[find_slot(v, e->ids[j])].active = 0;
	return e->k > 0;
}

static int ids_check(const uint32_t *ids, size_t k, uint32_t weight,
		     uint32_t *bad, char *why)
{
	size_t j;

	if (weight > MAGLEV_WEIGHT_MAX)
		return why_fail(EINVAL, why, "weight %u is out of range 1..%u",
			    weight, MAGLEV_WEIGHT_MAX);
	for (j = 0; j < k; j++)
		if (ids[j] == 0) {
			*bad = 0;
			return why_fail(EINVAL, why, "target id 0 is not allowed");
		}
	return 0;
}

int shm_activate(struct shm *s, const uint32_t *ids, size_t k,
		 uint32_t weight, uint32_t *bad, char *why)
{
	struct edit e = { ids, k, weight, bad, NULL, 0, true };
	int ret;

	if (ids_check(ids, k, weight, bad, why) < 0)
		return -1;
	e.reused = malloc(sizeof(*e.reused) * (k ? k : 1));
	if (!e.reused)
		return why_fail(ENOMEM, why, "%s", strerror(ENOMEM));
	ret = update(s, do_activate, &e, why);
	free(e.reused);
	return ret;
}

int shm_deactivate(struct shm *s, const uint32_t *ids, size_t k, uint32_t *bad,
		   char *why)
{
	struct edit e = { ids, k, 0, bad, NULL, 0, false };

	if (ids_check(ids, k, 0, bad, why) < 0)
		return -1;
	return update(s, do_deactivate, &e, why);
}
