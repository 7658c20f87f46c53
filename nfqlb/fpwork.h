/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fpwork.h: the fast path's thread of `nfqlb lb --bpf`: it holds the
 * table (--shm) or the flow set (--flows) as a queue thread does, with a
 * counter set of its own (queue SHM_QUEUE_FASTPATH), follows them the same
 * way, and mirrors every change into the program's maps (fastpath.h).  It
 * also adds what the program counted to its counter sets. */
#ifndef NFQLB_FPWORK_H
#define NFQLB_FPWORK_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "nfqlb/cli.h"
#include "nfqlb/fastpath.h"
#include "nfqlb/lbconf.h"
#include "nfqlb/wflows.h"
#include "nfqlb/wtable.h"

struct fpfold;

struct fpwork {
	const struct lb_conf *conf;
	struct fastpath *fp;
	struct wtable table;		/* --shm */
	struct wflows fl;		/* --flows */
	pthread_t thread;
	bool started;
	uint64_t sig;			/* what the last publish mirrored */
	bool failed;			/* the last publish failed (logged) */
	uint64_t publishes;
	struct fpfold *fold;		/* per table: counts already added */
	unsigned int nfold;
	uint64_t marked;		/* the program's marked count, added */
	uint64_t *cur;			/* SHM_N_MAX counts, for fold() */
};

/**
 * fpwork_start - load the program, open the table or flow set, mirror it,
 * attach to every --bpf interface, and start the thread
 * @cmd: the command, for error messages (printed, one line, and the
 *       verifier's log when the kernel refused the program)
 * @w: zeroed
 * @c: the configuration (nbpf > 0)
 *
 * When it returns NFQLB_OK the program marks with the current table.
 * Returns NFQLB_OK or NFQLB_FAIL.
 */
int fpwork_start(const struct cmd *cmd, struct fpwork *w, const struct lb_conf *c);

/**
 * fpwork_stop - stop the thread, detach the program, release everything
 * @w: the fast path; started or not
 */
void fpwork_stop(struct fpwork *w);

#endif
