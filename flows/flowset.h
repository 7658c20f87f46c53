/* SPDX-License-Identifier: GPL-2.0-or-later */
/* flowset.h: a flow set, the flows one worker serves, in a POSIX
 * shared-memory object with the same publish protocol, validation, 0600
 * mode and SIGBUS guard as a table (shm/shm.h).
 *
 * Library code: never prints or exits; returns -1 (or NULL) and sets
 * errno, and fills `why` (WHY_MAX bytes) with a one-line reason.
 *
 * Each flow has a counter slot that it keeps while it exists, also when
 * `flow set` replaces it; a deleted flow's slot is reused by a new flow
 * only after its counts are carried into a base, as a table does with its
 * target slots.  Workers own counter sets by OFD lock, as in a table. */
#ifndef NFQLB_FLOWSET_H
#define NFQLB_FLOWSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flows/flow.h"
#include "shm/shm.h"

#define FLOWSET_NAME_DEFAULT "nfqlb-flows"
#define FLOWSET_ENV "NFQLB_FLOWS"	/* the default name, when set */

/* Counters of a flow, per counter slot. */
enum flowset_fcnt {
	FLOWSET_F_PACKETS = 0,	/* packets the flow matched */
	FLOWSET_F_NO_TARGET,	/* of them, found its table with no active target (or no table) */
	FLOWSET_F_MAX
};

/* Generic counters of a worker's set in a flow set. */
enum flowset_cnt {
	FLOWSET_C_NO_FLOW = 0,	/* packets that matched no flow */
	FLOWSET_C_KINDS,	/* SHM_CNT_KINDS counters by packet kind follow */
	FLOWSET_C_MAX = FLOWSET_C_KINDS + 16
};

struct flowset;		/* an open flow set (opaque) */

/* A private copy of a published flow set. */
struct flowset_view {
	uint64_t generation;
	uint32_t n;		/* flows */
	struct flow *flows;	/* n flows, in name order */
	uint16_t *slot;		/* n counter slots, 0..FLOW_MAX-1 */
};

/* A worker's counter set in a flow set (only its owner writes it). */
struct flowset_worker {
	int32_t pid;
	uint32_t queue;
	uint64_t pidns;
	uint64_t cnt[FLOWSET_C_MAX];
	uint64_t flow[FLOW_MAX][FLOWSET_F_MAX];
};

/**
 * flowset_name - the flow set's name from --flows, else $NFQLB_FLOWS,
 * else FLOWSET_NAME_DEFAULT
 * @opt: the option's value, or NULL
 */
const char *flowset_name(const char *opt);

/**
 * flowset_check_flow - whether a flow is valid
 * @f: the flow
 * @why: filled with the reason on failure
 *
 * Names: 1..FLOW_NAME_MAX bytes of [A-Za-z0-9._-], not starting with '-';
 * table: a valid table name (shm_name_check()); prio in range; protos
 * within FLOW_P_ALL; list counts within their maximum; prefixes with no
 * bit past len, IPv4 ones inside ::ffff:0:0/96; ranges within 1..65535, lo <= hi;
 * udp_encap only with protos 0 or including FLOW_P_SCTP.
 * Returns 0, or -1 with errno EINVAL.
 */
int flowset_check_flow(const struct flow *f, char *why);

/**
 * flowset_attach - open and validate a flow set
 * @name: the name
 * @writable: map it for writing (writers, workers)
 * @create: create an empty set (mode 0600) when the name holds nothing
 * @why: filled with the reason on failure
 *
 * Returns the handle, or NULL with errno ENOENT, EACCES, EBADMSG (not a
 * flow set, or damaged), EPROTONOSUPPORT, EIO or another system error.
 */
struct flowset *flowset_attach(const char *name, bool writable, bool create,
			       char *why);

/**
 * flowset_detach - unmap and close
 * @fs: the handle, or NULL
 */
void flowset_detach(struct flowset *fs);

/**
 * flowset_generation - the published generation
 * @fs: the handle
 */
uint64_t flowset_generation(const struct flowset *fs);

/**
 * flowset_view_init - allocate a view that can hold any flow set
 * @v: written
 * Returns 0, or -1 with errno ENOMEM.
 */
int flowset_view_init(struct flowset_view *v);

/**
 * flowset_view_free - free a view's arrays
 * @v: the view
 */
void flowset_view_free(struct flowset_view *v);

/**
 * flowset_read - copy the published flow set into a view and validate it
 * @fs: the handle
 * @v: a view from flowset_view_init(), written
 * @why: filled with the reason on failure
 *
 * Every flow is checked with flowset_check_flow(), names are unique, slots
 * in range and unique.  Returns 0, or -1 with errno EBADMSG, EAGAIN
 * (writers kept changing it) or EIO (the handle is lost).
 */
int flowset_read(const struct flowset *fs, struct flowset_view *v, char *why);

/**
 * flowset_set - add a flow, or replace the one of that name, as one update
 * @fs: a writable handle
 * @f: the flow (checked)
 * @why: filled with the reason on failure
 *
 * A replaced flow keeps its counter slot.  The generation is not bumped
 * when the flow is already there as given.  Returns 0, or -1 with errno
 * EINVAL, ENOSPC (FLOW_MAX flows already), ESTALE (the name now holds
 * another object), EIO or another system error.
 */
int flowset_set(struct flowset *fs, const struct flow *f, char *why);

/**
 * flowset_delete - delete flows by name, as one update
 * @fs: a writable handle
 * @names: the names
 * @k: how many
 * @bad: set to the first name that is not there, on ENOENT
 * Returns 0, or -1 with errno ENOENT (nothing changes), ESTALE, EIO or
 * another system error.
 */
int flowset_delete(struct flowset *fs, char *const *names, size_t k,
		   const char **bad, char *why);

/**
 * flowset_same_object - whether the name still holds the handle's object
 * (as shm_same_object())
 * Returns 1, 0, or -1 with errno ENOENT or from lstat().
 */
int flowset_same_object(const struct flowset *fs, char *why);

/**
 * flowset_worker_claim - take a free counter set (as shm_worker_claim())
 * Returns the set, or NULL with errno EBUSY, EBADF or from fcntl().
 */
struct flowset_worker *flowset_worker_claim(struct flowset *fs, int32_t pid,
					    uint32_t queue);

/**
 * flowset_worker_release - give a counter set back
 */
void flowset_worker_release(struct flowset *fs, struct flowset_worker *w);

/**
 * flowset_counts - sum every worker's counters
 * @fs: the handle
 * @flow: FLOW_MAX rows, written: each slot's counts since the slot got
 *        its current flow
 * @cnt: FLOWSET_C_MAX entries, written
 */
void flowset_counts(const struct flowset *fs, uint64_t (*flow)[FLOWSET_F_MAX],
		    uint64_t *cnt);

#endif
