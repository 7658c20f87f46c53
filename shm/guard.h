/* SPDX-License-Identifier: GPL-2.0-or-later */
/* guard.h: the SIGBUS guard that lets a process survive the truncation of
 * an object it has mapped (see shm_lost() in shm.h).  Internal to the shm
 * module. */
#ifndef NFQLB_SHM_GUARD_H
#define NFQLB_SHM_GUARD_H

#include "shm/shm.h"

/**
 * shm_guard_map - map s->size bytes of s->fd, registered with the guard
 * @s: the handle; s->hdr is set
 *
 * The first call installs the process's SIGBUS handler.
 * Returns 0, or -1 with errno from mmap(), ENFILE (SHM_GUARD_MAX mappings
 * registered) or from sigaction().
 */
int shm_guard_map(struct shm *s);

/**
 * shm_guard_unmap - unregister and unmap s's mapping (nothing if none)
 * @s: the handle
 */
void shm_guard_unmap(struct shm *s);

/**
 * shm_guard_lose - replace s's mapping by zeroed private memory now
 * @s: the handle; it is marked lost (shm_lost())
 */
void shm_guard_lose(struct shm *s);

#endif
