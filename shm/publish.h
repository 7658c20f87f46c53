/* SPDX-License-Identifier: GPL-2.0-or-later */
/* publish.h: the publish/read protocol of a table (see shm.h), and the
 * updates that publish a new generation.  Part of the shm module. */
#ifndef NFQLB_SHM_PUBLISH_H
#define NFQLB_SHM_PUBLISH_H

#include <stddef.h>
#include <stdint.h>

#include "maglev/maglev.h"

#ifndef NFQLB_SHM_H
#error "include shm/shm.h, which includes this header"
#endif

/**
 * shm_read - copy the published table into a view and validate it
 * @s: the handle
 * @v: a view of the same m and n, written
 * @why: filled with the reason on failure
 *
 * Returns 0, or -1 with errno EBADMSG (invalid content), EAGAIN (writers
 * kept changing the buffer; try again) or EIO (the handle is lost).  Under
 * the caller's own shm_lock() nobody writes, so EAGAIN cannot happen.
 */
int shm_read(const struct shm *s, struct shm_view *v, char *why);

/**
 * shm_lock - take the writers' lock of an object
 * @s: the handle
 * @why: filled with the reason on failure
 *
 * Waits for the writer that holds it.  The lock is only granted while the
 * name still holds this very object (same device and inode): a writer
 * that waited while someone replaced or deleted it must not publish into
 * an object nobody follows any more.  The updates below take and release
 * the lock themselves, unless the caller holds it already.
 * Returns 0, or -1 with errno ESTALE (the name now holds another object,
 * or none) or an error from flock() or stat().
 */
int shm_lock(struct shm *s, char *why);

/**
 * shm_unlock - release the lock taken by shm_lock()
 * @s: the handle
 */
void shm_unlock(struct shm *s);

/**
 * shm_activate - activate targets, as one update
 * @s: a writable handle
 * @ids: the ids (not 0); an id already active only gets its weight updated
 * @k: number of ids
 * @weight: weight for the ids (1..1000), or 0 to keep an active id's weight
 *          and give new ones weight 1
 * @bad: set to the offending id on ENOSPC and ERANGE
 * @why: filled with the reason on failure
 *
 * Serialised against other writers with flock().  Nothing changes on error;
 * the generation is not bumped when nothing changes.  An update that would
 * leave an active target with no lookup entries (its weight too small
 * next to the others' for M) is refused.
 * Returns 0, or -1 with errno EINVAL, ENOSPC (more than n active), ERANGE
 * (an active target would get no entries; why names it), EBADMSG
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
 * shm_set_targets - make exactly these targets the active ones, as one update
 * @s: a writable handle
 * @t: the targets: ids (not 0, no id twice) and weights (1..MAGLEV_WEIGHT_MAX)
 * @k: number of targets, at most n; 0 deactivates every target
 * @bad: set to the offending id on EINVAL (for an id or weight) and ERANGE
 * @why: filled with the reason on failure
 *
 * An active target not in @ids is deactivated.  An id that already has a
 * slot keeps it, and its packet counter; a new id takes a never-used slot,
 * else an inactive one.  Serialised against other writers with flock().
 * Nothing changes on error, and the generation is not bumped when the
 * result equals the current table, so applying the same set twice leaves
 * the table as it was.  An update that would leave an active target with
 * no lookup entries is refused, as by shm_activate().
 * Returns 0, or -1 with errno EINVAL (id 0, an id twice, weight out of
 * range), ENOSPC (k > n), ERANGE (an active target would get no entries;
 * why names it), ESTALE (the object was replaced or deleted), EBADMSG, EIO
 * (as for shm_activate()) or an error from the system.
 */
int shm_set_targets(struct shm *s, const struct maglev_target *t, size_t k,
		    uint32_t *bad, char *why);

#endif
