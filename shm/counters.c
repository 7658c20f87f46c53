/* SPDX-License-Identifier: GPL-2.0-or-later */
/* counters.c: the counter sets and their ownership (see counters.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "shm/layout.h"
#include "shm/object.h"
#include "shm/shm.h"

static const char *const cnt_names[SHM_CNT_USED] = {
	[SHM_CNT_L4] = "l4",
	[SHM_CNT_ICMP_ECHO] = "icmp-echo",
	[SHM_CNT_ICMP_ERROR] = "icmp-error",
	[SHM_CNT_FRAGMENT] = "fragment",
	[SHM_CNT_L3] = "l3",
	[SHM_CNT_MALFORMED] = "malformed",
	[SHM_CNT_NO_TARGET] = "no-target",
	[SHM_CNT_ACCEPT] = "accept",
	[SHM_CNT_DROP] = "drop",
	[SHM_CNT_FRAG_TRACKED] = SHM_CNT_FRAG_PREFIX "tracked",
	[SHM_CNT_FRAG_HELD] = SHM_CNT_FRAG_PREFIX "held",
	[SHM_CNT_FRAG_RELEASED] = SHM_CNT_FRAG_PREFIX "released",
	[SHM_CNT_FRAG_TIMEOUT] = SHM_CNT_FRAG_PREFIX "timeout",
	[SHM_CNT_FRAG_DROPPED] = SHM_CNT_FRAG_PREFIX "dropped",
};

const char *shm_cnt_name(enum shm_cnt c)
{
	if ((unsigned int)c >= SHM_CNT_USED)
		return "unknown";
	return cnt_names[c];
}

struct shm_worker *shm_worker_at(const struct shm *s, unsigned int i)
{
	return shm_layout_worker(s, i);
}

uint64_t shm_slot_total(const struct shm *s, uint32_t slot)
{
	uint64_t sum = 0;
	unsigned int i;

	for (i = 0; i < SHM_WORKERS; i++)
		sum += __atomic_load_n(&shm_worker_at(s, i)->target[slot],
				       __ATOMIC_RELAXED);
	return sum;
}

_Static_assert(SHM_WORKERS <= 64, "a handle's sets fit its bit mask");
_Static_assert(offsetof(struct shm_worker, pid) == offsetof(struct shm_set_head, pid) &&
	       offsetof(struct shm_worker, queue) == offsetof(struct shm_set_head, queue) &&
	       offsetof(struct shm_worker, pidns) == offsetof(struct shm_set_head, pidns),
	       "a table's counter set begins with the common head");

void *shm_sets_at(const struct shm *s, const struct shm_sets *l, unsigned int i)
{
	return (char *)s->hdr + l->off + i * l->stride;
}

static struct shm_set_head *head_at(const struct shm *s, const struct shm_sets *l,
				    unsigned int i)
{
	return shm_sets_at(s, l, i);
}

/* The lock on set i's first byte (see shm.h).  Returns fcntl()'s result. */
static int set_lock(const struct shm *s, const struct shm_sets *sets, unsigned int i,
		    int cmd, struct flock *l)
{
	l->l_whence = SEEK_SET;
	l->l_start = (off_t)(sets->off + i * sets->stride);
	l->l_len = 1;
	l->l_pid = 0;
	return fcntl(s->fd, cmd, l);
}

uint64_t shm_pidns_self(void)
{
	struct stat st;

	return stat("/proc/self/ns/pid", &st) == 0 ? (uint64_t)st.st_ino : 0;
}

static bool owns(const struct shm *s, unsigned int i)
{
	return (__atomic_load_n(&s->sets, __ATOMIC_RELAXED) >> i) & 1;
}

/* Take set i's lock: 1 taken, 0 held by a handle (this one included: locks
 * of one open file description never conflict), -1 error. */
static int take(struct shm *s, const struct shm_sets *sets, unsigned int i)
{
	struct flock l = { .l_type = F_WRLCK };

	if (owns(s, i))
		return 0;
	if (set_lock(s, sets, i, F_OFD_SETLK, &l) < 0)
		return errno == EAGAIN || errno == EACCES ? 0 : -1;
	__atomic_fetch_or(&s->sets, (uint64_t)1 << i, __ATOMIC_RELAXED);
	return 1;
}

/* Claim passes, in order of preference. */
enum pass { PASS_SAME_QUEUE, PASS_UNUSED, PASS_ANY, PASSES };

static bool pass_wants(const struct shm_set_head *w, enum pass p, uint32_t queue)
{
	uint32_t q = __atomic_load_n(&w->queue, __ATOMIC_RELAXED);

	if (p == PASS_SAME_QUEUE)
		return q == queue;
	return p == PASS_ANY || q == UINT32_MAX;
}

static void *own(struct shm_set_head *w, int32_t pid, uint32_t queue)
{
	__atomic_store_n(&w->pid, pid, __ATOMIC_RELAXED);
	__atomic_store_n(&w->pidns, shm_pidns_self(), __ATOMIC_RELAXED);
	__atomic_store_n(&w->queue, queue, __ATOMIC_RELAXED);
	return w;
}

void *shm_sets_claim(struct shm *s, const struct shm_sets *l, int32_t pid,
		     uint32_t queue)
{
	unsigned int p, i;
	int r;

	if (!s->writable) {
		errno = EBADF;
		return NULL;
	}
	/* The set that served this queue before keeps its per-queue drop
	 * counts in one place. */
	for (p = 0; p < PASSES; p++)
		for (i = 0; i < SHM_WORKERS; i++) {
			if (!pass_wants(head_at(s, l, i), (enum pass)p, queue))
				continue;
			r = take(s, l, i);
			if (r < 0)
				return NULL;
			if (r > 0)
				return own(head_at(s, l, i), pid, queue);
		}
	errno = EBUSY;
	return NULL;
}

void shm_sets_release(struct shm *s, const struct shm_sets *l, const void *w)
{
	struct flock fl = { .l_type = F_UNLCK };
	unsigned int i;

	for (i = 0; i < SHM_WORKERS; i++)
		if (shm_sets_at(s, l, i) == w && owns(s, i)) {
			set_lock(s, l, i, F_OFD_SETLK, &fl);
			__atomic_fetch_and(&s->sets, ~((uint64_t)1 << i), __ATOMIC_RELAXED);
		}
}

int shm_sets_owner(const struct shm *s, const struct shm_sets *l, unsigned int i,
		   struct shm_owner *o)
{
	const struct shm_set_head *w = head_at(s, l, i);
	struct flock fl = { .l_type = F_WRLCK };
	uint64_t ns = __atomic_load_n(&w->pidns, __ATOMIC_RELAXED), self;

	/* GETLK does not see this description's own locks. */
	if (!owns(s, i) && set_lock(s, l, i, F_OFD_GETLK, &fl) < 0)
		return -1;
	self = shm_pidns_self();
	o->pid = __atomic_load_n(&w->pid, __ATOMIC_RELAXED);
	o->running = owns(s, i) || fl.l_type != F_UNLCK;
	o->other_pidns = ns && self && ns != self;
	return 0;
}

struct shm_worker *shm_worker_claim(struct shm *s, int32_t pid, uint32_t queue)
{
	struct shm_sets l;

	shm_layout_sets(s, &l);
	return shm_sets_claim(s, &l, pid, queue);
}

void shm_worker_release(struct shm *s, struct shm_worker *w)
{
	struct shm_sets l;

	shm_layout_sets(s, &l);
	shm_sets_release(s, &l, w);
}

int shm_worker_owner(const struct shm *s, unsigned int i, struct shm_owner *o)
{
	struct shm_sets l;

	shm_layout_sets(s, &l);
	return shm_sets_owner(s, &l, i, o);
}

void shm_counts(const struct shm *s, uint64_t *target, uint64_t *cnt)
{
	unsigned int i, c;
	uint32_t t;

	for (c = 0; c < SHM_CNT_MAX; c++)
		cnt[c] = 0;
	for (i = 0; i < SHM_WORKERS; i++)
		for (c = 0; c < SHM_CNT_MAX; c++)
			cnt[c] += __atomic_load_n(&shm_worker_at(s, i)->cnt[c],
						  __ATOMIC_RELAXED);
	for (t = 0; t < s->n; t++) {
		uint64_t sum = shm_slot_total(s, t), base = shm_layout_bases(s)[t];

		target[t] = sum > base ? sum - base : 0;
	}
}

void shm_fast_counts(const struct shm *s, const uint64_t *target, uint64_t *fast)
{
	const struct shm_worker *w;
	unsigned int i;
	uint32_t t;

	for (t = 0; t < s->n; t++)
		fast[t] = 0;
	for (i = 0; i < SHM_WORKERS; i++) {
		w = shm_worker_at(s, i);
		if (__atomic_load_n(&w->queue, __ATOMIC_RELAXED) != SHM_QUEUE_FASTPATH)
			continue;
		for (t = 0; t < s->n; t++)
			fast[t] += __atomic_load_n(&w->target[t], __ATOMIC_RELAXED);
	}
	for (t = 0; t < s->n; t++)
		if (fast[t] > target[t])
			fast[t] = target[t];
}
