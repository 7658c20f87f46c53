/* shm.h: the shared state, a Maglev table in a POSIX shared-memory object.
 *
 * Layout (all offsets derived from m and n, every part 64-byte aligned):
 *   struct shm_hdr
 *   buffer 0, buffer 1: struct shm_target targets[n]; uint32_t lookup[m]
 *   uint64_t base[n]          counter bases, for slots reused by new ids
 *   SHM_WORKERS counter sets: struct shm_worker + uint64_t target[n]
 *
 * Readers use the buffer of the published generation (generation & 1).  A
 * writer holds flock(LOCK_EX) on the object, builds the other buffer under
 * that buffer's sequence counter and then publishes it by incrementing the
 * generation, so a reader never uses a half-built table.
 *
 * Library code: never prints or exits; returns -1 (or NULL) and sets errno.
 * Functions that validate also fill `why` with a one-line reason.
 */
#ifndef NFQLB_SHM_H
#define NFQLB_SHM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "maglev/hash.h"

#define SHM_MAGIC 0x4c51464eU	/* "NFQL" in little-endian memory */
#define SHM_VERSION 1
#define SHM_NAME_DEFAULT "nfqlb"
#define SHM_NAME_MAX 200
#define SHM_M_MAX 1000003	/* largest table size (prime) */
#define SHM_N_MAX 65535		/* largest number of targets */
#define SHM_WORKERS 64		/* counter sets, one per worker thread */
#define SHM_CNT_MAX 16		/* generic counters per set, see nfqlb/lb.h */
#define SHM_NO_SLOT UINT32_MAX	/* an empty lookup entry */
#define SHM_WHY_MAX 160
#define SHM_GUARD_MAX 256	/* handles open at once in a process */

struct shm_hdr {
	uint32_t magic;
	uint32_t version;
	uint32_t hdr_size;	/* sizeof(struct shm_hdr) */
	uint32_t m;		/* table size, prime */
	uint32_t n;		/* target slots = most active targets */
	uint32_t workers;	/* counter sets */
	uint32_t hash_mode;	/* enum hash_mode */
	uint32_t seed;
	uint64_t size;		/* size of the whole object */
	uint64_t generation;	/* atomic; the published buffer is generation & 1 */
	uint32_t seq[2];	/* atomic; odd while a writer fills that buffer */
	uint32_t retired;	/* atomic; 1 once replaced (init --force) or deleted */
	uint32_t pad[17];
};

struct shm_target {
	uint32_t id;		/* fwmark; 0 for a slot never used */
	uint32_t weight;	/* 1..MAGLEV_WEIGHT_MAX */
	uint32_t active;	/* 0 or 1 */
	uint32_t entries;	/* lookup entries this target owns */
};

/* A counter set.  Only its owner writes it (relaxed atomic stores). */
struct shm_worker {
	int32_t owner;		/* thread id of the owner; 0 when free */
	uint32_t queue;		/* NFQUEUE number; UINT32_MAX if none */
	uint64_t q_total;	/* from /proc/net/netfilter/nfnetlink_queue */
	uint64_t q_dropped;	/* packets the kernel dropped: queue full */
	uint64_t u_dropped;	/* packets the kernel dropped: socket full */
	uint64_t cnt[SHM_CNT_MAX];
	uint64_t target[];	/* n packet counters, one per target slot */
};

/* An open object.  Treat every field as read-only. */
struct shm {
	char name[SHM_NAME_MAX + 2];	/* "/name", as given to shm_open() */
	int fd;
	bool writable;
	size_t size;
	struct shm_hdr *hdr;		/* the mapping */
	uint32_t m, n, seed;		/* copies validated at attach time */
	enum hash_mode mode;
	int lost;			/* atomic; see shm_lost() */
};

/* A private, consistent copy of a published table. */
struct shm_view {
	uint32_t m, n;
	uint64_t generation;
	struct shm_target *targets;	/* n slots */
	uint32_t *lookup;		/* m slot indexes, or SHM_NO_SLOT */
};

struct shm_params {
	uint32_t m, n, seed;
	enum hash_mode mode;
};

/**
 * shm_name_check - whether a name can name a state object
 * @name: the name, without a leading '/'
 *
 * Returns 0, or -1 with errno EINVAL (empty, too long, contains '/').
 */
int shm_name_check(const char *name);

/**
 * shm_create - create and initialise a state object with an empty table
 * @name: the name (see shm_name_check())
 * @p: M (prime, 2..SHM_M_MAX, at least n), N (1..SHM_N_MAX), seed, mode
 * @force: replace an existing object; a worker using it switches to the new one
 *
 * The object gets mode 0600.  Returns 0, or -1 with errno EEXIST (exists and
 * !force), EINVAL (bad name or parameters), EIO (someone truncated it while
 * it was being filled; it is removed) or an error from shm_open(),
 * ftruncate() or mmap().
 */
int shm_create(const char *name, const struct shm_params *p, bool force);

/**
 * shm_attach - open and validate a state object
 * @name: the name
 * @writable: map it for writing (needed by writers and workers)
 * @why: filled with the reason on failure (SHM_WHY_MAX bytes)
 *
 * The header is copied once and the copy validated, so a header that
 * changes meanwhile cannot make the handle disagree with the mapping.
 * The mapping is guarded against truncation: see shm_lost().
 *
 * Returns the handle, or NULL with errno ENOENT (missing), EACCES (no
 * permission), EBADMSG (truncated, garbage or inconsistent header),
 * EPROTONOSUPPORT (other layout version), EIO (shrunk while being read),
 * ENFILE (SHM_GUARD_MAX handles already open) or another error from the
 * system.
 */
struct shm *shm_attach(const char *name, bool writable, char *why);

/**
 * shm_lost - whether the handle's object was truncated under its mapping
 * @s: the handle
 *
 * Whoever can write the object can also shrink it, and touching a mapped
 * page past the new end raises SIGBUS.  The first shm_attach() or
 * shm_create() of a process installs a SIGBUS handler for that: a fault in
 * a handle's mapping replaces the whole mapping with zeroed private memory
 * and marks the handle lost, so the access completes and the process goes
 * on.  Faults anywhere else go to the handler installed before, or kill the
 * process as usual.  A lost handle reads zeros and its writes reach nobody:
 * shm_read() and the updates fail with EIO; detach it and attach again.
 */
static inline bool shm_lost(const struct shm *s)
{
	return __atomic_load_n(&s->lost, __ATOMIC_ACQUIRE) != 0;
}

/**
 * shm_check_size - whether the object still has the size it had at attach
 * @s: the handle
 * @why: filled with the reason on failure
 *
 * One fstat().  A changed size means someone damaged the object: the handle
 * is then made lost at once (see shm_lost()), whether or not a page it uses
 * went away.  Returns 0, or -1 with errno EIO (lost or resized) or an error
 * from fstat().
 */
int shm_check_size(struct shm *s, char *why);

/**
 * shm_detach - unmap and close a handle
 * @s: the handle, or NULL
 */
void shm_detach(struct shm *s);

/**
 * shm_remove - retire and unlink a state object
 * @name: the name
 *
 * Marks a valid object retired, so that workers using it notice, then
 * unlinks it.  Returns 0, or -1 with errno from shm_unlink() (ENOENT, EACCES).
 */
int shm_remove(const char *name);

/**
 * shm_generation - the published generation
 * @s: the handle
 */
static inline uint64_t shm_generation(const struct shm *s)
{
	return __atomic_load_n(&s->hdr->generation, __ATOMIC_ACQUIRE);
}

/**
 * shm_retired - whether the object was replaced or deleted
 * @s: the handle
 */
static inline bool shm_retired(const struct shm *s)
{
	return __atomic_load_n(&s->hdr->retired, __ATOMIC_ACQUIRE) != 0;
}

/**
 * shm_view_init - allocate a view for a table of m entries and n slots
 * @v: the view
 * @m: table size
 * @n: number of slots
 *
 * Returns 0, or -1 with errno ENOMEM.
 */
int shm_view_init(struct shm_view *v, uint32_t m, uint32_t n);

/**
 * shm_view_free - free a view's buffers
 * @v: the view
 */
void shm_view_free(struct shm_view *v);

/**
 * shm_view_check - validate a view's content
 * @v: the view
 * @why: filled with the reason on failure
 *
 * Checks that active ids are non-zero and unique, weights are in range,
 * every lookup entry names an active slot (or all are empty when no target
 * is active), and each target's entry count matches the lookup.
 * Returns 0, or -1 with errno EBADMSG.
 */
int shm_view_check(const struct shm_view *v, char *why);

/**
 * shm_read - copy the published table into a view and validate it
 * @s: the handle
 * @v: a view of the same m and n, written
 * @why: filled with the reason on failure
 *
 * Returns 0, or -1 with errno EBADMSG (invalid content), EAGAIN (writers
 * kept changing the buffer; try again) or EIO (the handle is lost).
 */
int shm_read(const struct shm *s, struct shm_view *v, char *why);

/**
 * shm_activate - activate targets, as one update
 * @s: a writable handle
 * @ids: the ids (not 0); an id already active only gets its weight updated
 * @k: number of ids
 * @weight: weight for the ids (1..1000), or 0 to keep an active id's weight
 *          and give new ones weight 1
 * @bad: set to the offending id on ENOSPC
 * @why: filled with the reason on failure
 *
 * Serialised against other writers with flock().  Nothing changes on error;
 * the generation is not bumped when nothing changes.
 * Returns 0, or -1 with errno EINVAL, ENOSPC (more than n active), EBADMSG
 * (the current table is invalid), EIO (the object was truncated, before or
 * while writing: the update may not have been stored) or an error from the
 * system.
 */
int shm_activate(struct shm *s, const uint32_t *ids, size_t k,
		 uint32_t weight, uint32_t *bad, char *why);

/**
 * shm_deactivate - deactivate targets, as one update
 * @s: a writable handle
 * @ids: the ids
 * @k: number of ids
 * @bad: set to the first id that is not active, on ENOENT
 * @why: filled with the reason on failure
 *
 * Returns 0, or -1 with errno ENOENT (an id is not active; nothing changes),
 * EBADMSG, EIO (as for shm_activate()) or an error from the system.
 */
int shm_deactivate(struct shm *s, const uint32_t *ids, size_t k, uint32_t *bad,
		   char *why);

/**
 * shm_worker_at - counter set number i
 * @s: the handle
 * @i: 0..SHM_WORKERS-1
 */
struct shm_worker *shm_worker_at(const struct shm *s, unsigned int i);

/**
 * shm_worker_claim - take a free counter set for a worker thread
 * @s: a writable handle
 * @tid: the thread id; a set whose owner no longer runs is free
 * @queue: the queue the thread serves
 *
 * The counts already in the set are kept, so totals survive restarts.
 * Returns the set, or NULL with errno EBUSY when all are taken.
 */
struct shm_worker *shm_worker_claim(struct shm *s, int32_t tid, uint32_t queue);

/**
 * shm_worker_release - give a counter set back
 * @w: the set
 */
void shm_worker_release(struct shm_worker *w);

/**
 * shm_counts - sum the counters of every set
 * @s: the handle
 * @target: n entries, written: packets per target slot since the slot got
 *          its current id
 * @cnt: SHM_CNT_MAX entries, written
 */
void shm_counts(const struct shm *s, uint64_t *target, uint64_t *cnt);

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
