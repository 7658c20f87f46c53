/* SPDX-License-Identifier: GPL-2.0-or-later */
/* wflows.h: a flow set as one queue thread of `nfqlb lb --flows` holds
 * it: its handle and counter set, the flows compiled for matching, and an
 * open table (wtable.h) for every table the flows name. */
#ifndef NFQLB_WFLOWS_H
#define NFQLB_WFLOWS_H

#include <stdbool.h>
#include <stdint.h>

#include "flows/flowset.h"
#include "flows/match.h"
#include "nfqlb/lb.h"
#include "nfqlb/wtable.h"

/* What one generation of the flow set needs: its tables, open, and its
 * flows compiled.  The next one is built beside it, then swapped in. */
struct wflows_gen {
	unsigned int ntab;
	struct wtable *tab;		/* one per table name the flows use */
	struct lb_table *lt;		/* the decision's view of tab[] */
	uint32_t *flow_table;		/* per flow: its index in tab[] */
	uint64_t *seen;			/* per table: the batch that last refreshed it */
	struct flow_match *match;
};

struct wflows {
	const char *name;
	uint32_t queue;
	const char *no_target;	/* the no-target verdict, for the log lines */
	struct flowset *fs;
	struct flowset_worker *fw;	/* our counter set in it */
	struct flowset_view fv;		/* the flows in use */
	uint64_t bad_gen;		/* an invalid generation, already logged */
	enum wtable_follow follow;
	struct wflows_gen gen;		/* the tables and match of fv */
	struct lb_flows lf;		/* what lb_flows_*() get */
	uint64_t batch;
};

/**
 * wflows_open - attach (creating it empty when missing) and compile a
 * flow set, and open the tables its flows name
 * @f: with name, queue and no_target set
 * @why: filled with the reason on failure
 *
 * A table that cannot be opened is no error: its flows get the no-target
 * verdict until the table appears (logged once).
 * Returns 0, or -1 with errno (the set is damaged, not a flow set, all
 * counter sets are taken, no memory).
 */
int wflows_open(struct wflows *f, char *why);

/**
 * wflows_close - release everything
 * @f: the flow set, open or not
 */
void wflows_close(struct wflows *f);

/**
 * wflows_refresh_set - adopt a newly published generation of the flow set
 * @f: the flow set
 *
 * Compiles the new flows and opens the tables they add, before the old
 * ones are dropped: on any failure the flows in use stay, logged once.
 * Between batches; allocates.
 */
void wflows_refresh_set(struct wflows *f);

/**
 * wflows_refresh_used - adopt new generations of the tables a batch uses
 * @f: the flow set
 * @res: the batch's results from lb_flows_match()
 * @n: how many
 */
void wflows_refresh_used(struct wflows *f, const struct lb_result *res, unsigned int n);

/**
 * wflows_housekeeping - refresh every table, and follow every name
 * @f: the flow set
 * @follow: also check (every FOLLOW_MS) whether the names still hold the
 *          objects in use, and open tables that appeared
 */
void wflows_housekeeping(struct wflows *f, bool follow);

/**
 * wflows_log_start - log the flow set in use, one line per flow
 * @f: an open flow set
 */
void wflows_log_start(const struct wflows *f);

#endif
