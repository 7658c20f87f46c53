/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fastpath.h: the kernel fast path of `nfqlb lb --bpf`: a tc BPF program
 * (bpf/fastpath.bpf.c) that classifies, matches, hashes and looks up the
 * common packet (TCP, UDP, SCTP and UDP-Lite with ports, not fragmented)
 * exactly as the queue path does (nfqlb/lb.c) and sets skb->mark to the
 * target's id.  Everything else passes unmarked, to the NFQUEUE rule.
 *
 * Library code: never prints or exits; returns -1 (or NULL) with errno and
 * fills `why` (WHY_MAX bytes).
 */
#ifndef NFQLB_FASTPATH_H
#define NFQLB_FASTPATH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bpf/fastpath_maps.h"
#include "flows/flow.h"
#include "maglev/hash.h"
#include "shm/shm.h"

struct fastpath;

/* A table as the fast path mirrors it. */
struct fastpath_table {
	const uint32_t *lookup;		/* m target slots (SHM_NO_SLOT: none);
					 * NULL: the table is not usable */
	const struct shm_target *targets;	/* n slots: their ids are the marks */
	uint32_t m, n, seed;
	enum hash_mode mode;
	uint64_t ident;			/* the object's identity (0: none): its
					 * per-target counters stay with it */
	uint64_t generation;		/* with ident, says the lookup entries
					 * and targets are those published before */
};

/* What one publish mirrors: the flows and the tables they name. */
struct fastpath_set {
	const struct flow *flows;	/* valid flows (flowset_check_flow()) */
	uint32_t nflows;		/* 0..FP_FLOWS_MAX */
	const uint32_t *flow_table;	/* per flow: its index in tab */
	const struct fastpath_table *tab;
	uint32_t ntab;			/* 0..FP_TABLES_MAX */
	const uint16_t *flow_slot;	/* per flow: its counter slot (for
					 * fastpath_flow_counts()); NULL: none */
};

/**
 * fastpath_load - load the program and create its maps; nothing attached,
 * and nothing marked until the first fastpath_publish()
 * @log: filled with the verifier's log when the kernel refuses the
 *       program (may be NULL)
 * @log_size: its size
 * @why: filled with the reason on failure ("needs CAP_BPF", the kernel
 *       refused the program: see the log, ...)
 *
 * Returns the fast path, or NULL with errno.
 */
struct fastpath *fastpath_load(char *log, size_t log_size, char *why);

/**
 * fastpath_attach - attach the program at tc ingress of an interface:
 * a tcx link (Linux 6.6), else a clsact filter
 * @fp: the fast path
 * @ifname: the interface
 * @tcx: set to whether a tcx link was used
 * @why: filled with the reason on failure
 *
 * A tcx link goes with the process, however it ends.  A clsact filter
 * would outlive a SIGKILL; fastpath_close() removes it, and the next
 * attach to the interface replaces one left by a dead worker.
 * Returns 0, or -1 with errno (ENODEV: no such interface).
 */
int fastpath_attach(struct fastpath *fp, const char *ifname, bool *tcx, char *why);

/**
 * fastpath_prefer_clsact - attach with a clsact filter even where tcx
 * works (for the tests of the fallback: NFQLB_BPF_CLSACT)
 * @fp: the fast path
 */
void fastpath_prefer_clsact(struct fastpath *fp);

/**
 * fastpath_keepalive - renew the deadline after which the program marks
 * nothing, when a clsact filter (which outlives the process) carries it
 * @fp: the fast path
 * @ms: from now; call again well before it passes
 *
 * Without a clsact filter there is no deadline (a tcx link goes with the
 * process).  Returns 0, or -1 with errno.
 */
int fastpath_keepalive(struct fastpath *fp, uint32_t ms);

/**
 * fastpath_publish - mirror a flow set and its tables into the slot not in
 * use, then flip to it
 * @fp: the fast path
 * @set: what to mirror
 * @why: filled with the reason on failure
 *
 * On failure the program marks nothing (every packet goes to the queue
 * path) until a publish succeeds.
 * Returns 0, or -1 with errno (E2BIG: the set needs more than the maps
 * hold; an error from the bpf() system call).
 */
int fastpath_publish(struct fastpath *fp, const struct fastpath_set *set, char *why);

/**
 * fastpath_counts - the program's packet counters, summed over CPUs
 * @fp: the fast path
 * @c: FP_C_MAX counters, written (enum fp_count)
 *
 * Returns 0, or -1 with errno.
 */
int fastpath_counts(const struct fastpath *fp, uint64_t *c);

/**
 * fastpath_target_counts - packets the program marked per target slot of
 * a table since the fast path first published it
 * @fp: the fast path
 * @ident: the table's identity (struct fastpath_table.ident)
 * @out: n counters, written
 * @n: the table's slots
 *
 * Returns 0, or -1 with errno (ENOENT: the table was not published).
 */
int fastpath_target_counts(const struct fastpath *fp, uint64_t ident, uint64_t *out,
			   uint32_t n);

/**
 * fastpath_flow_counts - packets the program marked per flow since the
 * last call, by the flows' counter slots (struct fastpath_set.flow_slot)
 * @fp: the fast path
 * @add: called for each counter slot with packets: add(arg, slot, n)
 * @arg: passed on
 *
 * Call it before a publish: the publish starts the slot it rewrites
 * from 0.  Returns 0, or -1 with errno.
 */
int fastpath_flow_counts(struct fastpath *fp, void (*add)(void *arg, uint16_t slot,
							  uint64_t n), void *arg);

/**
 * fastpath_prog_fd - the program's file descriptor (for BPF_PROG_TEST_RUN)
 * @fp: the fast path
 */
int fastpath_prog_fd(const struct fastpath *fp);

/**
 * fastpath_close - detach everywhere and free the program and maps
 * @fp: the fast path, or NULL
 */
void fastpath_close(struct fastpath *fp);

#endif
