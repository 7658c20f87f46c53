/* SPDX-License-Identifier: GPL-2.0-or-later */
/* verify.h: a debug check of a table copy against its own Maglev build.
 *
 * `nfqlb lb` runs it on every table it adopts when NFQLB_DEBUG_VERIFY is
 * set in its environment (the tests set it; it is off by default).  A torn
 * or stale copy, whose lookup does not belong to its targets, can pass
 * shm_view_check() when the entry counts happen to agree; it cannot pass
 * this.
 */
#ifndef NFQLB_VERIFY_H
#define NFQLB_VERIFY_H

#include <stdint.h>

#include "shm/shm.h"

/**
 * verify_view - compare a view's lookup with a fresh build of its targets
 * @v: the view
 * @seed: the table's seed
 * @why: filled with the first difference (WHY_MAX bytes)
 *
 * Rebuilds the Maglev table of the view's active targets (their ids and
 * weights) and compares it entry by entry with the view's lookup.
 * Returns 0 when they are equal, 1 when they differ, or -1 with errno
 * ENOMEM or EINVAL (the targets cannot be built).
 */
int verify_view(const struct shm_view *v, uint32_t seed, char *why);

#endif
