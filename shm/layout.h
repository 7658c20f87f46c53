/* SPDX-License-Identifier: GPL-2.0-or-later */
/* layout.h: where each part of a state object lies, and the checks of its
 * header.  Internal to the shm module (see the layout in shm.h). */
#ifndef NFQLB_SHM_LAYOUT_H
#define NFQLB_SHM_LAYOUT_H

#include <stdint.h>

#include "shm/shm.h"

/**
 * shm_layout_size - the size of an object of m entries and n slots
 * @m: table size
 * @n: target slots
 */
uint64_t shm_layout_size(uint32_t m, uint32_t n);

/**
 * shm_layout_targets - the target slots of buffer b of a mapped object
 * @s: the handle
 * @b: 0 or 1
 */
struct shm_target *shm_layout_targets(const struct shm *s, unsigned int b);

/**
 * shm_layout_lookup - the lookup entries of buffer b of a mapped object
 * @s: the handle
 * @b: 0 or 1
 */
uint32_t *shm_layout_lookup(const struct shm *s, unsigned int b);

/**
 * shm_layout_bases - the n counter bases of a mapped object
 * @s: the handle
 */
uint64_t *shm_layout_bases(const struct shm *s);

struct shm_sets;

/**
 * shm_layout_sets - where a table's counter sets lie (shm/object.h); the
 * byte at each set's start carries its owner lock (counters.c)
 * @s: the handle
 * @l: written
 */
void shm_layout_sets(const struct shm *s, struct shm_sets *l);

/**
 * shm_layout_worker - counter set i of a mapped object
 * @s: the handle
 * @i: 0..SHM_WORKERS-1
 */
struct shm_worker *shm_layout_worker(const struct shm *s, unsigned int i);

/**
 * shm_params_check - whether table parameters are acceptable
 * @p: M (prime, 2..SHM_M_MAX), N (1..SHM_N_MAX, at most M) and hash mode
 *
 * Returns 0, or -1 with errno EINVAL.
 */
int shm_params_check(const struct shm_params *p);

/**
 * shm_hdr_check - whether a copy of a header describes a valid object
 * @h: the copy
 * @fsize: the object's size now
 * @why: filled with the reason on failure
 *
 * Returns 0, or -1 with errno EBADMSG (truncated, not nfqlb's, corrupt,
 * size mismatch) or EPROTONOSUPPORT (another layout version, or a hash
 * mode this nfqlb does not know in an otherwise sound header).
 */
int shm_hdr_check(const struct shm_hdr *h, uint64_t fsize, char *why);

/**
 * shm_pidns_self - the inode of the caller's PID namespace, or 0 without
 * /proc (counter sets and trace rings record it)
 */
uint64_t shm_pidns_self(void);

#endif
