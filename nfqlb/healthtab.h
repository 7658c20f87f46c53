/* SPDX-License-Identifier: GPL-2.0-or-later */
/* healthtab.h: the health checker's targets and tables, and how it writes
 * their transitions into the tables.
 *
 * A transition is written when it happens, never repeated: a target that
 * someone else activates or deactivates meanwhile stays as they left it
 * until its health changes again.  Each activation is one update, with the
 * weight the target had when it was last seen active; the deactivations of
 * one table found in the same round are one update together.
 *
 * The all-down rule: a deactivation that would leave a table with no active
 * target (counting every active id, checked or not) is not written, unless
 * keep_last is false; one target stays active ("held"), and the episode is
 * logged once.  A held target is deactivated as soon as another target of
 * its table is active, and released if it comes up again.
 *
 * Log lines go to stderr as "nfqlb: health: ...", one per transition.
 */
#ifndef NFQLB_HEALTHTAB_H
#define NFQLB_HEALTHTAB_H

#include <stdbool.h>
#include <stdint.h>

#include "nfqlb/health.h"
#include "nfqlb/healthconf.h"
#include "nfqlb/probe.h"
#include "shm/shm.h"

struct htable {
	char name[SHM_NAME_MAX + 1];
	struct shm *s;		/* NULL while it cannot be attached */
	struct shm_view v;	/* the last table read */
	bool dirty;		/* a transition of its targets is to be written */
	bool alldown;		/* an all-down episode is on (and was logged) */
	bool attach_logged;	/* the failure to attach it again was logged */
};

struct htarget {
	const struct health_check *c;
	struct htable *tb;
	struct health_state st;
	uint32_t weight;	/* to activate it with: its weight when last seen active */
	bool pending;		/* st is not written into the table yet */
	bool held;		/* down, but kept active by the all-down rule */
	bool fail_logged;	/* a failed write of the pending transition was logged */
	char why[WHY_MAX];	/* the last failure */
	struct probe p;
	int64_t due, deadline;	/* the next probe's start; the running one's end (ms) */
};

struct hset {
	struct htable *tables;
	size_t ntables;
	struct htarget *targets;
	size_t ntargets;
	bool keep_last;		/* the all-down rule (--all-down keep) */
};

/**
 * healthtab_open - attach the tables of conf and set each target's start
 * @h: filled; release with healthtab_close() (also after a failure)
 * @conf: the checks; they must outlive h
 * @keep_last: the all-down rule
 * @why: filled with the reason on failure
 *
 * A target starts up if the table has it active, else down, so that a
 * checker started again does not change the table; its weight is the one
 * its slot holds, else 1.  Returns 0, or -1 with errno ENOMEM, or that of
 * shm_attach() or shm_read() (why names the table).
 */
int healthtab_open(struct hset *h, const struct healthconf *conf, bool keep_last,
		   char *why);

/**
 * healthtab_close - detach the tables and free h (probes are the caller's)
 * @h: the set
 */
void healthtab_close(struct hset *h);

/**
 * healthtab_result - count a probe result of t
 * @t: the target
 * @ok: the result; when false, t->p.why (or t->why) says why
 *
 * Marks t's table dirty when t's state changes, or when a transition of t
 * is still to be written, or t is held.
 */
void healthtab_result(struct htarget *t, bool ok);

/**
 * healthtab_apply - write the transitions of every dirty table
 * @h: the set
 *
 * Reads each dirty table, attaching it again if it was replaced, deleted
 * or truncated.  A write that fails is logged once and tried again at
 * the target's next result.
 */
void healthtab_apply(struct hset *h);

/**
 * healthtab_log - write "nfqlb: health: <line>" and a newline to stderr
 */
void healthtab_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/**
 * healthtab_describe - "tcp 10.0.0.1:80", "http http://...", "exec \"...\""
 * @c: the check
 * @buf: written, NUL-terminated
 * @size: its size
 */
void healthtab_describe(const struct health_check *c, char *buf, size_t size);

#endif
