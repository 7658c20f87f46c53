/* SPDX-License-Identifier: GPL-2.0-or-later */
/* prom.h: the Prometheus text exposition (format 0.0.4) of shared tables.
 *
 * One writer serves both `nfqlb stats --prometheus` and the /metrics
 * handler of `nfqlb metrics`.  A table is first copied into a struct
 * prom_table (prom_read(), prom_load()), then any number of copies are
 * written at once (prom_write()), so that each metric family gets one
 * HELP and one TYPE line whatever the number of tables.
 *
 * Every sample carries the label table="NAME".  The families:
 *   nfqlb_table_up                      gauge    1 if the table could be read
 *   nfqlb_table_generation              gauge
 *   nfqlb_table_size                    gauge    M, lookup entries
 *   nfqlb_table_max_targets             gauge    N
 *   nfqlb_table_active_targets          gauge
 *   nfqlb_target_active{target}         gauge    every id that owns a slot
 *   nfqlb_target_weight{target}         gauge    active targets
 *   nfqlb_target_entries{target}        gauge    active targets
 *   nfqlb_target_packets_total{target}  counter  every id that owns a slot
 *   nfqlb_packets_total{kind}           counter  kind: shm_cnt_name()
 *   nfqlb_no_target_packets_total       counter
 *   nfqlb_verdicts_total{verdict}       counter  verdict: accept, drop
 *   nfqlb_fragments_total{event}        counter  event: tracked, held, released,
 *                                                timeout, dropped
 *   nfqlb_queue_packets_total{queue}    counter  classified by the queue's workers
 *   nfqlb_queue_waiting_packets{queue}  gauge    in the kernel's queue
 *   nfqlb_queue_dropped_total{queue,reason}  counter  reason: queue_full,
 *                                                    socket_full
 *   nfqlb_worker_up{queue}              gauge    1 while a worker serves it
 * A table that is down has only its nfqlb_table_up sample.  Counter sets
 * that served the same queue number are summed into one queue.
 */
#ifndef NFQLB_PROM_H
#define NFQLB_PROM_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "shm/shm.h"

/* The content type of what prom_write() writes. */
#define PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* A target id that owns a slot of the table. */
struct prom_target {
	uint32_t id;
	bool active;
	uint32_t weight;	/* meaningful when active */
	uint32_t entries;	/* meaningful when active */
	uint64_t packets;	/* since the slot got this id */
};

/* The counter sets that served one queue number, summed. */
struct prom_queue {
	uint32_t queue;
	bool running;		/* a live worker owns one of them */
	uint64_t packets;	/* classified: the sum over packet kinds */
	uint64_t waiting;	/* in the kernel's queue at the last update */
	uint64_t queue_dropped;	/* by the kernel: queue full */
	uint64_t user_dropped;	/* by the kernel: socket full */
};

/* What the exposition shows of one table. */
struct prom_table {
	const char *name;	/* not owned */
	bool up;		/* false: only name is meaningful */
	uint32_t m, n, nactive;
	uint64_t generation;
	struct prom_target *targets;	/* ntargets, by id; owned */
	uint32_t ntargets;
	uint64_t cnt[SHM_CNT_MAX];	/* enum shm_cnt, summed over sets */
	struct prom_queue queues[SHM_WORKERS];	/* nqueues, by queue */
	unsigned int nqueues;
};

/**
 * prom_read - copy what the exposition shows of an open table
 * @t: written; free it with prom_free() whatever the result
 * @name: the table's name for the table label; kept, not copied
 * @s: the handle, read-only will do
 * @why: filled with the reason on failure
 *
 * Returns 0 with t->up set, or -1 with t->up clear and errno from
 * shm_read() (EBADMSG, EAGAIN, EIO), EIO (the object was truncated while
 * being read), ENOMEM, or from fcntl().
 */
int prom_read(struct prom_table *t, const char *name, const struct shm *s,
	      char *why);

/**
 * prom_load - attach a table read-only, prom_read() it, and detach
 * @t: written; free it with prom_free() whatever the result
 * @name: the table's name; kept, not copied
 * @why: filled with the reason on failure
 *
 * Returns 0, or -1 with t->up clear and errno from shm_attach() (ENOENT
 * when the table does not exist) or prom_read().
 */
int prom_load(struct prom_table *t, const char *name, char *why);

/**
 * prom_free - free what prom_read() or prom_load() allocated
 * @t: the copy; its name is left as it is
 */
void prom_free(struct prom_table *t);

/**
 * prom_write - write the exposition of some tables
 * @f: the stream
 * @t: the tables, in the order their samples appear within each family
 * @k: how many; their names must differ
 *
 * Every family gets its HELP and TYPE lines, then the samples of each
 * table in turn.  Returns 0, or -1 with errno EIO when the stream had an
 * error.
 */
int prom_write(FILE *f, const struct prom_table *t, size_t k);

/**
 * prom_escape - write a label value, escaped as the format wants
 * @f: the stream
 * @s: the value; backslash, double quote and newline are written as \\,
 *     \" and \n, every other byte as it is
 */
void prom_escape(FILE *f, const char *s);

#endif
