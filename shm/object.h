/* SPDX-License-Identifier: GPL-2.0-or-later */
/* object.h: what every nfqlb shared-memory object has in common, whatever
 * it holds: a table (shm/) or a flow set (flows/flowset.c).
 *
 * A handle is a struct shm (shm.h) whose table fields (m, n, seed, mode)
 * another kind of object leaves 0.  Such an object's header begins as a
 * table's does: struct shm_hdr's generation, seq[2] and retired lie at the
 * same offsets in it (its owner asserts that), so the writers' lock
 * (shm_lock()), the publish protocol below and the follow of a name
 * (shm_same_object()) serve it as they serve a table; the SIGBUS guard
 * (guard.h) needs only the handle.
 *
 * Part of the shm module; the functions below return -1 (or NULL) with
 * errno set and fill `why` (WHY_MAX bytes, may be NULL) on failure.
 */
#ifndef NFQLB_SHM_OBJECT_H
#define NFQLB_SHM_OBJECT_H

#include <stdbool.h>
#include <stdint.h>

#include "shm/shm.h"

/**
 * shm_object_tmp - a new object of size bytes under a private name, mapped
 * @s: a handle from calloc() (fd -1); written: name, fd, size, the
 *     mapping (zeroed) and its identity; writable is set
 * @size: the object's size
 * @why: filled with the reason on failure
 *
 * Mode 0600.  It takes its real name only through shm_object_place().
 * Returns 0, or -1 with errno from shm_open(), ftruncate(), mmap(), ...;
 * a private name made already is unlinked again; detach s either way.
 */
int shm_object_tmp(struct shm *s, uint64_t size, char *why);

/**
 * shm_object_place - give a finished private object its real name
 * @tmp: from shm_object_tmp()
 * @name: the name (checked by the caller)
 * @force: replace whatever the name holds in one rename(); else take the
 *         name only if it is free (link()) and drop the private name
 * @why: filled with the reason on failure
 *
 * Returns 0, or -1 with errno EEXIST (!force and the name is taken),
 * EACCES or another error from rename() or link().
 */
int shm_object_place(const struct shm *tmp, const char *name, bool force,
		     char *why);

/* Validates an opened object (s->fd open, s->name set) and maps it:
 * returns 0, or -1 with errno set and why filled. */
typedef int (*shm_attach_fn)(struct shm *s, char *why);

/**
 * shm_object_attach - open the object a name holds and let fn validate and
 * map it
 * @name: the name
 * @writable: open and map it for writing
 * @fn: the kind's own validation (it calls shm_object_head() and
 *      shm_object_map())
 * @why: filled with the reason on failure
 *
 * Returns the handle, or NULL with errno EINVAL (bad name), ENOENT, EACCES,
 * fn's errno or another error from the system.
 */
struct shm *shm_object_attach(const char *name, bool writable, shm_attach_fn fn,
			      char *why);

/**
 * shm_object_head - read the start of an object and its size now
 * @s: the handle (fd open); its identity (dev, ino) is recorded
 * @h: len bytes, written (what could be read; the rest is left alone)
 * @len: bytes to read
 * @fsize: written: the object's size, or what could be read when it is
 *         shorter than len
 * Returns 0, or -1 with errno from pread() or fstat().
 */
int shm_object_head(struct shm *s, void *h, size_t len, uint64_t *fsize,
		    char *why);

/**
 * shm_object_map - map size bytes of s's object, guarded (guard.h)
 * Returns 0, or -1 with errno from mmap() or ENFILE.
 */
int shm_object_map(struct shm *s, uint64_t size, char *why);

/* What the publish protocol copies out of, or into, buffer b. */
struct shm_buffers {
	/* Copy buffer b into arg (a reader's private copy). */
	void (*copy)(const struct shm *s, unsigned int b, void *arg);
	/* Validate the copy: 0, or -1 with errno EBADMSG and why. */
	int (*check)(void *arg, char *why);
	/* Write the new content arg into buffer b (a writer's). */
	void (*write)(struct shm *s, unsigned int b, const void *arg);
	const char *what;	/* "table", "flow set": for the reasons */
};

/**
 * shm_object_read - copy the published buffer and validate the copy
 * @s: the handle
 * @ops: copy and check
 * @arg: the copy, given to ops
 * @generation: written: the generation read
 * @why: filled with the reason on failure
 *
 * Returns 0, or -1 with errno EBADMSG (check failed, or the buffer is
 * marked busy while no writer holds the lock), EAGAIN (writers kept
 * changing it) or EIO (the handle is lost).  Under the caller's own
 * shm_lock() (s->locked) nobody writes, so EAGAIN cannot happen.
 */
int shm_object_read(const struct shm *s, const struct shm_buffers *ops,
		    void *arg, uint64_t *generation, char *why);

/**
 * shm_object_publish - write the unpublished buffer and publish it
 * @s: a writable handle, under shm_lock()
 * @ops: write
 * @arg: the new content, given to ops->write
 *
 * Whether the write reached the object: check shm_lost() after.
 */
void shm_object_publish(struct shm *s, const struct shm_buffers *ops,
			const void *arg);

/* How an object lays out its SHM_WORKERS counter sets: set i begins at
 * off + i * stride, with a struct shm_set_head; its owner lock is on its
 * first byte (see shm.h). */
struct shm_sets {
	uint64_t off, stride;
};

/* The beginning of every counter set (struct shm_worker's first fields). */
struct shm_set_head {
	int32_t pid;
	uint32_t queue;
	uint64_t pidns;
};

/**
 * shm_sets_at - counter set i
 */
void *shm_sets_at(const struct shm *s, const struct shm_sets *l, unsigned int i);

/**
 * shm_sets_claim - shm_worker_claim() for any object's sets
 * Returns the set, or NULL with errno EBUSY, EBADF or from fcntl().
 */
void *shm_sets_claim(struct shm *s, const struct shm_sets *l, int32_t pid,
		     uint32_t queue);

/**
 * shm_sets_release - shm_worker_release() for any object's sets
 */
void shm_sets_release(struct shm *s, const struct shm_sets *l, const void *w);

/**
 * shm_sets_owner - shm_worker_owner() for any object's sets
 * Returns 0, or -1 with errno from fcntl().
 */
int shm_sets_owner(const struct shm *s, const struct shm_sets *l, unsigned int i,
		   struct shm_owner *o);

#endif
