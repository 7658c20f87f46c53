/* SPDX-License-Identifier: GPL-2.0-or-later */
/* counters.h: the counter sets of the shared state: their schema (which
 * counter means what) and who owns each set.  Part of the shm module.
 *
 * Every worker thread owns one set and is its only writer, so counting
 * needs no locked instruction.  Readers sum all sets. */
#ifndef NFQLB_SHM_COUNTERS_H
#define NFQLB_SHM_COUNTERS_H

#include <stdbool.h>
#include <stdint.h>

#ifndef NFQLB_SHM_H
#error "include shm/shm.h, which includes this header"
#endif

#define SHM_CNT_MAX 16		/* generic counters per set */

/* struct shm_worker.queue of the set the fast path of `lb --bpf` counts
 * in (nfqlb/fastpath.h): no NFQUEUE number (those end at 65535). */
#define SHM_QUEUE_FASTPATH 0xfffffffeu

/* The generic counters of a set (struct shm_worker.cnt).  The first
 * SHM_CNT_KINDS count packets per kind of packet, in the order of the
 * packet parser's enum pkt_kind (nfqlb/pkt.h checks that it agrees). */
enum shm_cnt {
	SHM_CNT_L4 = 0,		/* TCP, UDP or SCTP with ports */
	SHM_CNT_ICMP_ECHO,	/* ICMP/ICMPv6 echo */
	SHM_CNT_ICMP_ERROR,	/* ICMP errors, balanced by the quoted flow */
	SHM_CNT_FRAGMENT,	/* IP fragments */
	SHM_CNT_L3,		/* other protocols */
	SHM_CNT_MALFORMED,	/* packets that cannot be trusted */
	SHM_CNT_KINDS,
	SHM_CNT_NO_TARGET = SHM_CNT_KINDS,	/* found an empty table */
	SHM_CNT_ACCEPT,				/* verdicts: accepted */
	SHM_CNT_DROP,				/* verdicts: dropped */
	/* The fragment tracker of `lb` in hash mode 5tuple (nfqlb/frag.h):
	 * frag-tracked + frag-held + frag-dropped fragments were tracked;
	 * of the held, frag-released + frag-timeout + those still held. */
	SHM_CNT_FRAG_TRACKED,	/* decided at once: first fragments, and later
				 * ones that found their first's decision */
	SHM_CNT_FRAG_HELD,	/* later fragments held for their first */
	SHM_CNT_FRAG_RELEASED,	/* held ones released with their first's decision */
	SHM_CNT_FRAG_TIMEOUT,	/* held ones dropped: their first did not come */
	SHM_CNT_FRAG_DROPPED,	/* dropped: the tracker was full */
	SHM_CNT_USED
};

#define SHM_CNT_FRAG_FIRST SHM_CNT_FRAG_TRACKED	/* the fragment counters, */
#define SHM_CNT_FRAG_END SHM_CNT_USED		/* [first, end) */
#define SHM_CNT_FRAG_PREFIX "frag-"		/* their names start with it */

_Static_assert(SHM_CNT_USED <= SHM_CNT_MAX, "counters fit the shared state");

/**
 * shm_cnt_name - a counter's short name: "l4", "icmp-echo", "icmp-error",
 * "fragment", "l3", "malformed", "no-target", "accept", "drop",
 * "frag-tracked", "frag-held", "frag-released", "frag-timeout", "frag-dropped"
 * @c: the counter
 *
 * Returns the name, or "unknown" for a value out of range.
 */
const char *shm_cnt_name(enum shm_cnt c);

/* A counter set.  Only its owner writes it (relaxed atomic stores).  Who
 * owns it is decided by a lock (see shm.h), never by pid: pid and pidns
 * only tell a reader which process that is, or was. */
struct shm_worker {
	int32_t pid;		/* the last owner's PID in its own PID namespace;
				 * 0 if never owned */
	uint32_t queue;		/* NFQUEUE number; UINT32_MAX if none */
	uint64_t pidns;		/* inode of the last owner's PID namespace;
				 * 0 if unknown */
	uint64_t q_total;	/* from /proc/net/netfilter/nfnetlink_queue */
	uint64_t q_dropped;	/* packets the kernel dropped: queue full */
	uint64_t u_dropped;	/* packets the kernel dropped: socket full */
	uint64_t cnt[SHM_CNT_MAX];
	uint64_t target[];	/* n packet counters, one per target slot */
};

/**
 * shm_worker_at - counter set number i
 * @s: the handle
 * @i: 0..SHM_WORKERS-1
 */
struct shm_worker *shm_worker_at(const struct shm *s, unsigned int i);

/**
 * shm_worker_claim - take a free counter set for a worker thread
 * @s: a writable handle, which the worker keeps open while it owns the set;
 *     each worker thread needs its own handle
 * @pid: the PID to record, as the caller sees it (getpid()); it does not
 *       decide ownership
 * @queue: the queue the thread serves
 *
 * A set is free when no handle holds its lock, whatever its pid says: its
 * owner released it, detached, or died (even by SIGKILL, in any PID
 * namespace).  A set that served the same queue is preferred, then one that
 * never served a queue.  The counts already in the set are kept, so totals
 * survive restarts.  A handle may own several sets.
 *
 * Returns the set, or NULL with errno EBUSY (all are taken), EBADF (the
 * handle is read-only) or another error from fcntl().
 */
struct shm_worker *shm_worker_claim(struct shm *s, int32_t pid, uint32_t queue);

/**
 * shm_worker_release - give a counter set back
 * @s: the handle that claimed it
 * @w: the set; nothing happens if @s does not own it
 *
 * The set keeps the pid of its last owner.  Detaching the handle, or the
 * end of its process, releases its sets too.
 */
void shm_worker_release(struct shm *s, struct shm_worker *w);

/* Who owns a counter set, as a reader sees it (shm_worker_owner()). */
struct shm_owner {
	int32_t pid;		/* the (last) owner's PID in its PID namespace;
				 * 0 if the set was never owned */
	bool running;		/* a live handle owns the set now */
	bool other_pidns;	/* pid belongs to a PID namespace other than
				 * the caller's */
};

/**
 * shm_worker_owner - who owns counter set i, and whether it still runs
 * @s: any handle, read-only will do
 * @i: 0..SHM_WORKERS-1
 * @o: written
 *
 * running comes from the set's lock (F_OFD_GETLK), so it is right across
 * PID namespaces and after the PID was reused.  other_pidns is false when
 * either namespace is unknown (no /proc).
 *
 * Returns 0, or -1 with errno from fcntl().
 */
int shm_worker_owner(const struct shm *s, unsigned int i, struct shm_owner *o);

/**
 * shm_slot_total - the packets every set counted for a target slot
 * @s: the handle
 * @slot: 0..n-1
 *
 * Includes what the slot counted for earlier ids; see shm_counts().
 */
uint64_t shm_slot_total(const struct shm *s, uint32_t slot);

/**
 * shm_counts - sum the counters of every set
 * @s: the handle
 * @target: n entries, written: packets per target slot since the slot got
 *          its current id
 * @cnt: SHM_CNT_MAX entries, written
 */
void shm_counts(const struct shm *s, uint64_t *target, uint64_t *cnt);

/**
 * shm_fast_counts - of each target's packets, those the fast path counted
 * @s: the handle
 * @target: n entries from shm_counts()
 * @fast: n entries, written: per slot, what the sets whose queue is
 *        SHM_QUEUE_FASTPATH counted, but never more than target[slot]
 *
 * Exact for a slot that no earlier id used.  The counter base of a reused
 * slot (see shm_counts()) is kept for all sets together, so such a slot's
 * fast count may include fast path packets of its earlier ids.
 */
void shm_fast_counts(const struct shm *s, const uint64_t *target, uint64_t *fast);

/**
 * shm_count - add to a counter of the caller's own set
 * @c: the counter
 * @add: the amount
 *
 * A relaxed load and store: no locked instruction on the packet path.
 */
static inline void shm_count(uint64_t *c, uint64_t add)
{
	__atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + add,
			 __ATOMIC_RELAXED);
}

#endif
