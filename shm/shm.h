/* SPDX-License-Identifier: GPL-2.0-or-later */
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
 * A worker owns a counter set while it holds an open-file-description lock
 * (fcntl F_OFD_SETLK, F_WRLCK) on the first byte of that set, taken through
 * its own handle.  The kernel drops the lock when the handle is closed or
 * its process dies, in whatever PID namespace it runs.  On Linux these
 * record locks and the writers' flock() do not interact.
 *
 * Library code: never prints or exits; returns -1 (or NULL) and sets errno.
 * Functions that validate also fill `why` with a one-line reason (why.h).
 *
 * This header is the module's one public header.  The module's files:
 *   shm.c       the object: create or replace, attach (validated), follow
 *               the name, remove
 *   layout.c    where each part lies, and the header's validation
 *   view.c      a private copy of a table, and its validation (view.h)
 *   publish.c   the publish/read protocol and the updates (publish.h)
 *   counters.c  the counter sets, their schema and ownership (counters.h)
 *   guard.c     the SIGBUS guard against truncation (guard.h, internal)
 * object.h declares the parts of these that serve any nfqlb object (the
 * flow set too, flows/flowset.c): private creation and placing, attach,
 * the publish protocol, the counter sets' ownership.
 */
#ifndef NFQLB_SHM_H
#define NFQLB_SHM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "maglev/hash.h"
#include "maglev/maglev.h"
#include "shm/why.h"

#define SHM_MAGIC 0x4c51464eU	/* "NFQL" in little-endian memory */
#define SHM_VERSION 2
#define SHM_NAME_DEFAULT "nfqlb"
#define SHM_DIR "/dev/shm/"	/* where shm_open() keeps its objects (glibc, musl) */
#define SHM_NAME_MAX 200
#define SHM_M_MAX 1000003	/* largest table size (prime) */
#define SHM_N_MAX 65535		/* largest number of targets */
#define SHM_WORKERS 64		/* counter sets, one per worker thread */
#define SHM_NO_SLOT UINT32_MAX	/* an empty lookup entry */
#define SHM_GUARD_MAX 4096	/* handles open at once in a process (lb --flows: one per table and queue thread) */

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
	uint32_t retired;	/* atomic; 1 once replaced or deleted (informative:
				 * followers compare identities, see shm_same_object()) */
	uint32_t pad[17];
};

struct shm_target {
	uint32_t id;		/* fwmark; 0 for a slot never used */
	uint32_t weight;	/* 1..MAGLEV_WEIGHT_MAX */
	uint32_t active;	/* 0 or 1 */
	uint32_t entries;	/* lookup entries this target owns */
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
	uint64_t sets;			/* atomic; bit i: this handle owns set i */
	dev_t dev;			/* the object's identity: what the */
	ino_t ino;			/* name held when it was opened */
	bool locked;			/* holds the writers' lock (shm_lock()) */
};


struct shm_params {
	uint32_t m, n, seed;
	enum hash_mode mode;
};

/**
 * shm_name_check - whether a name can name a state object
 * @name: the name, without a leading '/'
 *
 * Returns 0, or -1 with errno EINVAL (empty, too long, contains '/', is
 * "." or "..").
 */
int shm_name_check(const char *name);

/**
 * shm_name_why - the rule a name breaks, for an error message
 * @name: the name, without a leading '/'
 *
 * Returns NULL for a good name (see shm_name_check()), else a static
 * string naming the rule: empty, longer than SHM_NAME_MAX bytes, contains
 * '/', or is "." or "..".
 */
const char *shm_name_why(const char *name);

/**
 * shm_create - create and initialise a state object with an empty table
 * @name: the name (see shm_name_check())
 * @p: M (prime, 2..SHM_M_MAX, at least n), N (1..SHM_N_MAX), seed, mode
 * @force: replace what the name holds, whatever it is; a worker following
 *         the name switches to the new object
 *
 * The object is built under a private name and then given its name
 * complete, so nobody ever opens it half-built.  With force that is one
 * rename() over the old object, so the name never goes missing; a valid
 * old object is locked meanwhile (see shm_replace()).
 * The object gets mode 0600.  Returns 0, or -1 with errno EEXIST (exists and
 * !force), EINVAL (bad name or parameters), EACCES (no permission for the
 * existing object), EIO (someone truncated it while it was being filled;
 * it is removed) or an error from shm_open(), ftruncate(), mmap() or
 * rename().
 */
int shm_create(const char *name, const struct shm_params *p, bool force);

/**
 * shm_create_targets - shm_create(), with these targets active from the start
 * @name: the name (see shm_name_check())
 * @p: M, N, seed and mode
 * @t: the active targets (as for shm_set_targets()), or NULL when k is 0
 * @k: how many
 * @force: replace what the name holds, whatever it is (a valid old object
 *         is locked meanwhile and retired after, see shm_replace())
 * @why: filled with the reason on failure
 *
 * The object is built complete, targets included, under a private name
 * and then takes its name in one step: nobody ever finds it empty.
 * Returns 0, or -1 with errno as for shm_create(), ENOSPC (k > p->n) or
 * an error of shm_set_targets() (EINVAL, ERANGE).  Nothing changes on
 * error.
 */
int shm_create_targets(const char *name, const struct shm_params *p,
		       const struct maglev_target *t, size_t k, bool force, char *why);

/**
 * shm_replace - create a state object, replacing what the name holds and
 * keeping its active targets
 * @name: the name (see shm_name_check())
 * @p: the new object's M, N, seed and mode
 * @kept: set to the number of active targets carried over
 * @lost: WHY_MAX bytes: set to "" when nothing was lost, or to why the old
 *        object's targets could not be kept (not nfqlb's, a damaged header
 *        or an invalid table); the new table is then empty
 * @why: filled with the reason on failure
 *
 * When the name holds a valid object, its writers' lock is held from the
 * copy of its targets to the end, so no update to it is lost: a writer
 * that waited for it finds it replaced (ESTALE, see shm_lock()).  The
 * targets are activated in the new object with their weights, as one
 * update, before the object takes the name in one rename(): a reader never
 * finds the name missing, nor the new object without the kept targets.
 * A missing name is no error (nothing to keep).
 *
 * Returns 0, or -1 with errno ENOSPC (more active targets than p->n),
 * ERANGE (a kept target would get no lookup entry of p->m), EINVAL (bad
 * name or parameters), EACCES (no permission), ESTALE (others kept
 * replacing the object meanwhile) or another error from the system.
 * Nothing changes on error.
 */
int shm_replace(const char *name, const struct shm_params *p, size_t *kept,
		char *lost, char *why);

/**
 * shm_attach - open and validate a state object
 * @name: the name
 * @writable: map it for writing (needed by writers and workers)
 * @why: filled with the reason on failure (WHY_MAX bytes)
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
 * shm_same_object - whether the name still holds the handle's object
 * @s: the handle
 * @why: filled with the reason on failure
 *
 * Identity, not content: compares the device and inode of the object the
 * handle has open with those of what SHM_DIR<name> holds now (one
 * lstat()).  The handle keeps its object alive, so its inode number cannot
 * be reused meanwhile.
 * Returns 1 (the same object), 0 (the name now holds another object), or
 * -1 with errno ENOENT (the name holds nothing) or another error from
 * lstat().
 */
int shm_same_object(const struct shm *s, char *why);

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
 * shm_is_nfqlb - whether the object a name holds begins with nfqlb's magic
 * @name: the name
 *
 * Reads only the magic, so a damaged nfqlb table still counts as one.
 * Returns 1, 0 (another magic, or too short to hold one), or -1 with errno
 * EINVAL (bad name) or from shm_open() or pread() (ENOENT, EACCES).
 */
int shm_is_nfqlb(const char *name);

/**
 * shm_remove - retire and unlink a state object
 * @name: the name
 *
 * Unlinks whatever the name holds, valid or not; a valid object is first
 * marked retired (informative: followers compare identities).  Returns 0,
 * or -1 with errno from shm_unlink() (ENOENT, EACCES).
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
 * shm_retired - whether the object was marked replaced or deleted
 * @s: the handle
 *
 * Informative only: whoever replaces an object with rm(1) or damages it
 * does not mark it.  Follow a name with shm_same_object().
 */
static inline bool shm_retired(const struct shm *s)
{
	return __atomic_load_n(&s->hdr->retired, __ATOMIC_ACQUIRE) != 0;
}

#include "shm/view.h"
#include "shm/publish.h"
#include "shm/counters.h"

#endif
