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
#include "nfqlb/wflows.h"
#include "nfqlb/wtable.h"
#include "shm/shm.h"
#include "shm/trace.h"

struct worker {
	pthread_t thread;
	bool started;
	const struct lb_conf *conf;
	uint16_t queue;
	struct wtable table;	/* lb --shm: the one table */
	struct wflows fl;	/* lb --flows: the flow set (conf->flows) */
	struct queue *q;
	bool rt;		/* runs with SCHED_FIFO */
	struct queue_stats logged;	/* the queue's counts at the last log line */
	time_t next_house;
	uint64_t next_follow;	/* ms, CLOCK_MONOTONIC_COARSE */
	struct trace *trace;	/* the process's trace ring, or NULL */
	struct frag *frag;	/* the fragment tracker */
	struct frag_stats frag_counted;	/* its counts already in the counters */
};

/* Set to stop every queue thread (atomic); they notice within a receive
 * timeout, or at once when a signal interrupts their receive. */
extern int worker_stopping;
/* Set by a thread that failed (atomic): the process exits 1. */
extern int worker_failed;

/**
 * worker_attach - give a one-table worker its table
 * @wk: the worker, with conf and queue set
 * @s: the table, attached for writing; the worker owns it on success
 * @why: filled with the reason on failure
 *
 * Returns 0, or -1 (all counter sets taken, no memory, an invalid table).
 */
int worker_attach(struct worker *wk, struct shm *s, char *why);

/**
 * worker_attach_flows - give a flows worker its flow set (conf->flows),
 * created empty when missing, and the tables its flows name
 * @wk: the worker, with conf and queue set
 * @why: filled with the reason on failure
 *
 * Returns 0, or -1 (the set is damaged or not a flow set, all counter
 * sets taken, no memory).
 */
int worker_attach_flows(struct worker *wk, char *why);

/**
 * worker_detach - release the worker's tables, flow set and counter sets
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
 * the table or flow set, until worker_stopping is set
 * @arg: the struct worker
 *
 * A new table is adopted between batches, never within one: a new
 * generation of the object in use before a batch is decided and after its
 * verdicts are sent (and after a receive timeout), and a new object under
 * the table's name (compared by device and inode) after a batch's verdicts,
 * within a second.  Each generation adopted is logged.  With flows the
 * same holds for the flow set and for each table its flows name.
 *
 * Returns NULL.
 */
void *worker_main(void *arg);

#endif
