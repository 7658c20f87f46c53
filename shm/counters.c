/* counters.c: the counter sets and their ownership (see counters.h). */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>

#include "shm/layout.h"
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

static bool task_alive(int32_t tid)
{
	return kill(tid, 0) == 0 || errno == EPERM;
}

static struct shm_worker *claim_pass(struct shm *s, int32_t tid,
				     uint32_t queue, bool same_queue)
{
	unsigned int i;

	for (i = 0; i < SHM_WORKERS; i++) {
		struct shm_worker *w = shm_worker_at(s, i);
		int32_t o = __atomic_load_n(&w->owner, __ATOMIC_ACQUIRE);

		if ((o != 0 && (o == tid || task_alive(o))) ||
		    (same_queue && w->queue != queue))
			continue;
		if (__atomic_compare_exchange_n(&w->owner, &o, tid, false,
						__ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
			__atomic_store_n(&w->queue, queue, __ATOMIC_RELAXED);
			return w;
		}
	}
	return NULL;
}

struct shm_worker *shm_worker_claim(struct shm *s, int32_t tid, uint32_t queue)
{
	/* Prefer the set that served this queue before: its per-queue drop
	 * counts stay in one place. */
	struct shm_worker *w = claim_pass(s, tid, queue, true);

	if (!w)
		w = claim_pass(s, tid, queue, false);
	if (!w)
		errno = EBUSY;
	return w;
}

void shm_worker_release(struct shm_worker *w)
{
	__atomic_store_n(&w->owner, 0, __ATOMIC_RELEASE);
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
