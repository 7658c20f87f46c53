/* SPDX-License-Identifier: GPL-2.0-or-later */
/* publish.c: the publish/read protocol (see shm.h) and the updates that
 * publish new generations (see publish.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "maglev/maglev.h"
#include "shm/layout.h"
#include "shm/object.h"
#include "shm/shm.h"

/* A reader retries this often while writers keep rewriting its buffer. */
#define READ_TRIES 10000

/* One seqlock read of the published buffer.  Returns 0, or -1 if a writer
 * touched it meanwhile. */
static int read_once(const struct shm *s, const struct shm_buffers *ops,
		     void *arg, uint64_t *generation)
{
	uint64_t g = shm_generation(s);
	unsigned int b = g & 1;
	uint32_t s1, s2;

	s1 = __atomic_load_n(&s->hdr->seq[b], __ATOMIC_ACQUIRE);
	if (s1 & 1)
		return -1;
	ops->copy(s, b, arg);
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	s2 = __atomic_load_n(&s->hdr->seq[b], __ATOMIC_RELAXED);
	if (s1 != s2)
		return -1;
	*generation = g;
	return 0;
}

/*
 * Writers hold the lock while a buffer is marked busy, so a busy mark that
 * outlasts the lock is damage (a writer that died would leave the other
 * buffer busy, not this one).  Ask for the lock without waiting: if nobody
 * holds it, one more read under it decides.  A writer's own handle already
 * holds it (`locked`); flock() again would turn its lock into a shared one.
 */
static int read_unbusy(const struct shm *s, const struct shm_buffers *ops,
		       void *arg, uint64_t *generation, char *why)
{
	int r;

	if (!s->locked && flock(s->fd, LOCK_SH | LOCK_NB) < 0)
		return errno == EWOULDBLOCK ? 1 : why_fail(errno, why, "lock: %s",
						       strerror(errno));
	r = read_once(s, ops, arg, generation);
	if (!s->locked)
		flock(s->fd, LOCK_UN);
	if (shm_lost(s))
		return why_fail(EIO, why, "the object was truncated while in use");
	if (r < 0)
		return why_fail(EBADMSG, why,
			    "the published %s is marked busy but no writer holds the lock",
			    ops->what);
	return ops->check(arg, why);
}

int shm_object_read(const struct shm *s, const struct shm_buffers *ops,
		    void *arg, uint64_t *generation, char *why)
{
	int i, r;

	for (i = 0; i < READ_TRIES; i++) {
		r = read_once(s, ops, arg, generation);
		if (shm_lost(s))
			return why_fail(EIO, why, "the object was truncated while in use");
		if (r == 0)
			return ops->check(arg, why);
		if (s->locked || i == 100) {
			r = read_unbusy(s, ops, arg, generation, why);
			if (r <= 0)
				return r;
		}
		if (i > 100)
			usleep(100);
	}
	return why_fail(EAGAIN, why, "the %s kept changing while being read", ops->what);
}

static void table_copy(const struct shm *s, unsigned int b, void *arg)
{
	struct shm_view *v = arg;

	memcpy(v->targets, shm_layout_targets(s, b), sizeof(*v->targets) * s->n);
	memcpy(v->lookup, shm_layout_lookup(s, b), sizeof(*v->lookup) * s->m);
}

static int table_check(void *arg, char *why)
{
	return shm_view_check(arg, why);
}

static void table_write(struct shm *s, unsigned int b, const void *arg)
{
	const struct shm_view *v = arg;

	memcpy(shm_layout_targets(s, b), v->targets, sizeof(*v->targets) * s->n);
	memcpy(shm_layout_lookup(s, b), v->lookup, sizeof(*v->lookup) * s->m);
}

static const struct shm_buffers table_buffers = {
	table_copy, table_check, table_write, "table",
};

int shm_read(const struct shm *s, struct shm_view *v, char *why)
{
	if (v->m != s->m || v->n != s->n)
		return why_fail(EINVAL, why, "view does not match the table size");
	return shm_object_read(s, &table_buffers, v, &v->generation, why);
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
void shm_object_publish(struct shm *s, const struct shm_buffers *ops,
			const void *arg)
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
	ops->write(s, b, arg);
	__atomic_store_n(&s->hdr->seq[b], q + 2, __ATOMIC_RELEASE);
	__atomic_store_n(&s->hdr->generation, g + 1, __ATOMIC_RELEASE);
}

int shm_lock(struct shm *s, char *why)
{
	int same;

	while (flock(s->fd, LOCK_EX) < 0)
		if (errno != EINTR)
			return why_fail(errno, why, "lock: %s", strerror(errno));
	/* Identity, not content: whoever replaced or deleted the object did
	 * so under its name, whatever it wrote (or could not write) into it. */
	same = shm_same_object(s, why);
	if (same == 1 && !shm_retired(s)) {
		s->locked = true;
		return 0;
	}
	flock(s->fd, LOCK_UN);
	if (same < 0 && errno != ENOENT)
		return -1;
	return why_fail(ESTALE, why, "the table was replaced or deleted meanwhile");
}

void shm_unlock(struct shm *s)
{
	s->locked = false;
	flock(s->fd, LOCK_UN);
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
	bool held = s->locked;
	struct shm_view v;
	size_t i;
	int ret, err;

	if (!s->writable)
		return why_fail(EBADF, why, "table is open read-only");
	if (shm_view_init(&v, s->m, s->n) < 0)
		return why_fail(errno, why, "%s", strerror(errno));
	if (!held && shm_lock(s, why) < 0) {
		shm_view_free(&v);
		return -1;
	}
	ret = shm_read(s, &v, why);
	if (ret == 0)
		ret = fn(&v, e, why);
	if (ret > 0 && build_lookup(&v, s->seed) < 0)
		ret = why_fail(errno, why, "build: %s", strerror(errno));
	if (ret > 0 && e->need_entries)
		ret = entries_check(&v, e->bad, why);
	if (ret > 0) {
		for (i = 0; i < e->nreused; i++)
			shm_layout_bases(s)[e->reused[i]] = shm_slot_total(s, e->reused[i]);
		shm_object_publish(s, &table_buffers, &v);
		/* Truncated meanwhile: the update went to the guard's zero
		 * pages, not to the object. */
		if (shm_lost(s))
			ret = why_fail(EIO, why, "the object was truncated while being written");
	}
	err = errno;
	if (!held)
		shm_unlock(s);
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

/* shm_set_targets()'s edit: the wanted set, id << 32 | weight, by id. */
struct set_edit {
	struct edit e;
	const uint64_t *want;
};

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* The first of the k sorted keys whose upper 32 bits are id, or NULL. */
static const uint64_t *key_find(const uint64_t *key, size_t k, uint32_t id)
{
	size_t lo = 0, hi = k, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (key[mid] >> 32 < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < k && key[lo] >> 32 == id ? &key[lo] : NULL;
}

/* Every slot that has an id, as id << 32 | inactive << 31 | slot, sorted:
 * an id's active slot comes before any inactive one.  NULL: no memory. */
static uint64_t *slot_index(const struct shm_view *v, size_t *k)
{
	uint64_t *key = malloc(sizeof(*key) * (v->n ? v->n : 1));
	uint32_t i;

	*k = 0;
	for (i = 0; key && i < v->n; i++)
		if (v->targets[i].id)
			key[(*k)++] = (uint64_t)v->targets[i].id << 32 |
				      (uint64_t)!v->targets[i].active << 31 | i;
	if (key)
		qsort(key, *k, sizeof(*key), cmp_u64);
	return key;
}

/* Give a known id its old slot back, active with the wanted weight. */
static void set_known(struct shm_view *v, const uint64_t *key, size_t nkey,
		      uint64_t want, int *changed)
{
	const uint64_t *f = key_find(key, nkey, (uint32_t)(want >> 32));
	uint32_t w = (uint32_t)want;
	struct shm_target *t;

	if (!f)
		return;
	t = &v->targets[*f & 0x7fffffff];
	if (!t->active || t->weight != w)
		*changed = 1;
	t->weight = w;
	t->active = 1;
}

/* The next slot for a new id: never-used slots first, then inactive ones
 * (recorded in e->reused).  *cur walks 0..2n-1 over the two passes. */
static uint32_t next_free(const struct shm_view *v, struct edit *e, uint32_t *cur)
{
	for (; *cur < 2 * v->n; (*cur)++) {
		uint32_t i = *cur % v->n;
		const struct shm_target *t = &v->targets[i];

		if (*cur < v->n ? t->id == 0 : t->id != 0 && !t->active) {
			if (*cur >= v->n)
				e->reused[e->nreused++] = i;
			return i;
		}
	}
	return SHM_NO_SLOT;
}

/* A new id in the next free slot. */
static int set_new(struct shm_view *v, struct edit *e, uint64_t want,
		   uint32_t *cur, char *why)
{
	uint32_t slot = next_free(v, e, cur);

	if (slot == SHM_NO_SLOT) {
		*e->bad = (uint32_t)(want >> 32);
		return why_fail(ENOSPC, why, "more than N=%u targets", v->n);
	}
	v->targets[slot] = (struct shm_target){ (uint32_t)(want >> 32),
						(uint32_t)want, 1, 0 };
	return 1;
}

static int do_set(struct shm_view *v, struct edit *e, char *why)
{
	const uint64_t *want = ((struct set_edit *)e)->want;	/* e is its first member */
	uint32_t i, cur = 0;
	size_t nkey, j;
	uint64_t *key = slot_index(v, &nkey);
	int changed = 0;

	if (!key)
		return why_fail(ENOMEM, why, "%s", strerror(ENOMEM));
	for (i = 0; i < v->n; i++)
		if (v->targets[i].active && !key_find(want, e->k, v->targets[i].id)) {
			v->targets[i].active = 0;
			changed = 1;
		}
	/* Known ids first: a new id must not take the slot of one coming back. */
	for (j = 0; j < e->k; j++)
		set_known(v, key, nkey, want[j], &changed);
	for (j = 0; j < e->k && changed >= 0; j++)
		if (!key_find(key, nkey, (uint32_t)(want[j] >> 32)))
			changed = set_new(v, e, want[j], &cur, why);
	free(key);
	return changed;
}

/* e->want from the targets, sorted and checked. */
static uint64_t *want_build(const struct maglev_target *t, size_t k, uint32_t *bad,
			    char *why)
{
	uint64_t *want = malloc(sizeof(*want) * (k ? k : 1));
	size_t j;

	if (!want) {
		why_fail(ENOMEM, why, "%s", strerror(ENOMEM));
		return NULL;
	}
	for (j = 0; j < k; j++)
		want[j] = (uint64_t)t[j].id << 32 | t[j].weight;
	qsort(want, k, sizeof(*want), cmp_u64);
	for (j = 0; j < k; j++) {
		uint32_t id = (uint32_t)(want[j] >> 32), w = (uint32_t)want[j];

		*bad = id;
		if (id == 0)
			why_fail(EINVAL, why, "target id 0 is not allowed");
		else if (j > 0 && want[j - 1] >> 32 == id)
			why_fail(EINVAL, why, "target %u is given twice", id);
		else if (w == 0 || w > MAGLEV_WEIGHT_MAX)
			why_fail(EINVAL, why, "target %u: weight %u is out of range 1..%u",
				 id, w, MAGLEV_WEIGHT_MAX);
		else
			continue;
		free(want);
		return NULL;
	}
	return want;
}

int shm_set_targets(struct shm *s, const struct maglev_target *t, size_t k,
		    uint32_t *bad, char *why)
{
	struct set_edit se = { { NULL, k, 0, bad, NULL, 0, true }, NULL };
	int ret;

	if (k > s->n) {
		*bad = t[s->n].id;
		return why_fail(ENOSPC, why, "%zu targets: more than N=%u", k, s->n);
	}
	se.want = want_build(t, k, bad, why);
	if (!se.want)
		return -1;
	se.e.reused = malloc(sizeof(*se.e.reused) * (k ? k : 1));
	if (se.e.reused)
		ret = update(s, do_set, &se.e, why);
	else
		ret = why_fail(ENOMEM, why, "%s", strerror(ENOMEM));
	free(se.e.reused);
	free((void *)se.want);
	return ret;
}
