/* SPDX-License-Identifier: GPL-2.0-or-later */
/* view.h: a private, consistent copy of a published table, and the check
 * that it is a valid one.  Part of the shm module (include shm/shm.h). */
#ifndef NFQLB_SHM_VIEW_H
#define NFQLB_SHM_VIEW_H

#include <stdint.h>

#ifndef NFQLB_SHM_H
#error "include shm/shm.h, which includes this header"
#endif

/* A private, consistent copy of a published table. */
struct shm_view {
	uint32_t m, n;
	uint64_t generation;
	struct shm_target *targets;	/* n slots */
	uint32_t *lookup;		/* m slot indexes, or SHM_NO_SLOT */
	uint32_t *scratch;		/* n entries for shm_view_check(), or NULL */
};

/**
 * shm_view_init - allocate a view for a table of m entries and n slots
 * @v: the view
 * @m: table size
 * @n: number of slots
 *
 * The view gets the scratch space shm_view_check() works in, so that
 * reading a table into it (shm_read()) allocates nothing.
 * Returns 0, or -1 with errno ENOMEM.
 */
int shm_view_init(struct shm_view *v, uint32_t m, uint32_t n);

/**
 * shm_view_free - free a view's buffers
 * @v: the view
 */
void shm_view_free(struct shm_view *v);

/**
 * shm_view_check - validate a view's content
 * @v: the view
 * @why: filled with the reason on failure
 *
 * Checks that active ids are non-zero and unique, weights are in range,
 * every lookup entry names an active slot (or all are empty when no target
 * is active), and each target's entry count matches the lookup.  Works in
 * v->scratch, and allocates only for a view without one.
 * Returns 0, or -1 with errno EBADMSG (or ENOMEM without scratch space).
 */
int shm_view_check(const struct shm_view *v, char *why);

#endif
