/* SPDX-License-Identifier: GPL-2.0-or-later */
/* worker.h: one queue thread of `nfqlb lb`. */
#ifndef NFQLB_WORKER_H
#define NFQLB_WORKER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "nfqlb/frag.h"
#include "nfqlb/lbconf.h"
#include "nfqlb/queue.h"
#include "shm/shm.h"
#include "shm/trace.h"

/* What the table's name holds, as the worker last saw it. */
enum worker_follow {
	FOLLOW_SAME,		/* the object in use */
	FOLLOW_GONE,		/* nothing: deleted */
	FOLLOW_DAMAGED,		/* the object in use, resized or truncated */
	FOLLOW_UNUSABLE,	/* another object that does not validate */
};

struct worker {
	pthread_t thread;
	bool started;
	const struct lb_conf *conf;
	uint16_t queue;
	struct shm *shm;
	struct shm_worker *w;
	struct shm_view view, spare;
	struct queue *q;
	bool rt;		/* runs with SCHED_FIFO */
	uint64_t bad_gen;	/* an invalid generation, already logged */
	enum worker_follow follow;	/* logged once per change */
	struct queue_stats logged;	/* the queue's counts at the last log line */
	time_t next_house;
	uint64_t next_follow;	/* ms, CLOCK_MONOTONIC_COARSE */
	uint64_t verified;	/* tables checked by NFQLB_DEBUG_VERIFY */
	struct trace *trace;	/* the process's trace ring, or NULL */
	struct frag *frag;	/* the fragment tracker (hash mode 5tuple) */
	struct frag_stats frag_counted;	/* its counts already in w->cnt */
};

/* Set to stop every queue thread (atomic); they notice within a receive
 * timeout, or at once when a signal interrupts their receive. */
extern int worker_stopping;
/* Set by a thread that failed (atomic): the process exits 1. */
extern int worker_failed;
/* NFQLB_DEBUG_VERIFY: check every adopted table against its own build. */
extern bool worker_debug_verify;

/**
 * worker_attach - give a worker its table: a counter set and a first view
 * @wk: the worker, with conf and queue set
 * @s: the table, attached for writing; the worker owns it on success
 * @why: filled with the reason on failure
 *
 * Returns 0, or -1 (all counter sets taken, no memory, an invalid table).
 */
int worker_attach(struct worker *wk, struct shm *s, char *why);

/**
 * worker_detach - release the worker's counter set, views and table
 * @wk: the worker
 */
void worker_detach(struct worker *wk);

/**
 * worker_fatal - log "queue N: what: strerror(errno)", mark the process
 * failed and stop it
 * @wk: the worker
 * @what: what failed
 */
void worker_fatal(struct worker *wk, const char *what);

/**
 * worker_main - the queue thread: receive, decide, send verdicts, follow
 * the table, until worker_stopping is set
 * @arg: the struct worker
 *
 * A new table is adopted between batches, never within one: a new
 * generation of the object in use before a batch is decided and after its
 * verdicts are sent (and after a receive timeout), and a new object under
 * the table's name (compared by device and inode) after a batch's verdicts,
 * within a second.  Each generation adopted is logged.
 *
 * Returns NULL.
 */
void *worker_main(void *arg);

#endif
