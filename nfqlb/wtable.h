/* SPDX-License-Identifier: GPL-2.0-or-later */
/* wtable.h: a table as one queue thread of `nfqlb lb` holds it: its own
 * handle, counter set and views, and the name it follows.  Both the
 * one-table worker (`lb --shm`) and the flows worker (`lb --flows`, one
 * per table its flows name) use it. */
#ifndef NFQLB_WTABLE_H
#define NFQLB_WTABLE_H

#include <stdbool.h>
#include <stdint.h>

#include "shm/shm.h"

/* What the table's name holds, as the thread last saw it. */
enum wtable_follow {
	FOLLOW_SAME,		/* the object in use */
	FOLLOW_GONE,		/* nothing: deleted (or never created) */
	FOLLOW_DAMAGED,		/* the object in use, resized or truncated */
	FOLLOW_UNUSABLE,	/* another object that does not validate */
};

struct wtable {
	char name[SHM_NAME_MAX + 1];
	uint32_t queue;		/* its counter set's, and for the log lines */
	const char *no_target;	/* the no-target verdict, for the log lines */
	struct shm *shm;	/* NULL: not open (flows: the name holds no usable table) */
	struct shm_worker *w;	/* our counter set in it */
	struct shm_view view, spare;
	uint32_t active;	/* active targets in view */
	uint64_t bad_gen;	/* an invalid generation, already logged */
	enum wtable_follow follow;	/* logged once per change */
	uint64_t verified;	/* tables checked by NFQLB_DEBUG_VERIFY */
};

/**
 * wtable_who - who a log line speaks for: "queue N", or "fastpath" for
 * SHM_QUEUE_FASTPATH
 * @queue: the thread's queue
 *
 * Returns a thread-local string, good until the next call.
 */
const char *wtable_who(uint32_t queue);

/* NFQLB_DEBUG_VERIFY: check every adopted table against its own build. */
extern bool wtable_debug_verify;

/**
 * wtable_attach - give a table its object: a counter set and a first view
 * @t: the table, with name and queue set
 * @s: the object, attached for writing; @t owns it on success
 * @why: filled with the reason on failure
 *
 * Returns 0, or -1 (all counter sets taken, no memory, an invalid table).
 */
int wtable_attach(struct wtable *t, struct shm *s, char *why);

/**
 * wtable_open - attach the object the table's name holds
 * @t: the table, with name and queue set, not open
 * @why: filled with the reason on failure
 *
 * Returns 0, or -1 with errno from shm_attach() (ENOENT: nothing there)
 * or from wtable_attach().
 */
int wtable_open(struct wtable *t, char *why);

/**
 * wtable_detach - release the counter set, views and object
 * @t: the table; open or not
 */
void wtable_detach(struct wtable *t);

/**
 * wtable_refresh - adopt a newly published generation, if it is valid
 * @t: the table; nothing happens when it is not open
 *
 * Allocates nothing.  Logs each generation adopted, and an invalid one
 * once.
 */
void wtable_refresh(struct wtable *t);

/**
 * wtable_follow - does the name still hold the object in use, intact?
 * @t: the table
 * @attach: when the table is not open, try to open what the name holds
 *
 * A new object under the name is validated with views and a counter set
 * of its own before the old one is dropped.  Every change is logged once.
 */
void wtable_follow(struct wtable *t, bool attach);

/**
 * wtable_log_adopted - log the generation in use and its active targets
 * @t: an open table
 */
void wtable_log_adopted(const struct wtable *t);

#endif
