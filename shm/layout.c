/* SPDX-License-Identifier: GPL-2.0-or-later */
/* layout.c: where each part of a state object lies (see shm.h), and the
 * validation of names, parameters and headers. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "maglev/maglev.h"
#include "shm/layout.h"
#include "shm/object.h"
#include "shm/shm.h"

_Static_assert(sizeof(struct shm_hdr) == 128, "header layout");
_Static_assert(sizeof(struct shm_target) == 16, "target layout");
_Static_assert(sizeof(struct shm_worker) == 168, "counter set layout");

static uint64_t align64(uint64_t x)
{
	return (x + 63) & ~(uint64_t)63;
}

static uint64_t buf_size(uint32_t m, uint32_t n)
{
	return align64((uint64_t)n * sizeof(struct shm_target) +
		       (uint64_t)m * sizeof(uint32_t));
}

static uint64_t off_buf(uint32_t m, uint32_t n, unsigned int b)
{
	return sizeof(struct shm_hdr) + b * buf_size(m, n);
}

static uint64_t off_base(uint32_t m, uint32_t n)
{
	return off_buf(m, n, 2);
}

static uint64_t worker_stride(uint32_t n)
{
	return align64(sizeof(struct shm_worker) + (uint64_t)n * sizeof(uint64_t));
}

static uint64_t off_workers(uint32_t m, uint32_t n)
{
	return off_base(m, n) + align64((uint64_t)n * sizeof(uint64_t));
}

uint64_t shm_layout_size(uint32_t m, uint32_t n)
{
	return off_workers(m, n) + SHM_WORKERS * worker_stride(n);
}

struct shm_target *shm_layout_targets(const struct shm *s, unsigned int b)
{
	return (struct shm_target *)((char *)s->hdr + off_buf(s->m, s->n, b));
}

uint32_t *shm_layout_lookup(const struct shm *s, unsigned int b)
{
	return (uint32_t *)(shm_layout_targets(s, b) + s->n);
}

uint64_t *shm_layout_bases(const struct shm *s)
{
	return (uint64_t *)((char *)s->hdr + off_base(s->m, s->n));
}

void shm_layout_sets(const struct shm *s, struct shm_sets *l)
{
	l->off = off_workers(s->m, s->n);
	l->stride = worker_stride(s->n);
}

struct shm_worker *shm_layout_worker(const struct shm *s, unsigned int i)
{
	return (struct shm_worker *)((char *)s->hdr + off_workers(s->m, s->n) +
				     i * worker_stride(s->n));
}

#define STR_(x) #x
#define STR(x) STR_(x)

const char *shm_name_why(const char *name)
{
	if (!*name)
		return "a table name must not be empty";
	if (strlen(name) > SHM_NAME_MAX)
		return "a table name must not be longer than " STR(SHM_NAME_MAX)
		       " bytes";
	if (strchr(name, '/'))
		return "a table name must not contain '/'";
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return "a table name must not be \".\" or \"..\"";
	return NULL;
}

int shm_name_check(const char *name)
{
	if (shm_name_why(name)) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

int shm_params_check(const struct shm_params *p)
{
	if (p->m < 2 || p->m > SHM_M_MAX || !maglev_is_prime(p->m) ||
	    p->n < 1 || p->n > SHM_N_MAX || p->n > p->m ||
	    (unsigned int)p->mode >= HASH_MODE_MAX) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

/* A hash mode this nfqlb lacks in a header that is otherwise sound: most
 * likely a newer nfqlb's table, to be refused as such, not as "corrupt". */
static bool newer_mode(const struct shm_hdr *h)
{
	struct shm_params p = { h->m, h->n, h->seed, HASH_5TUPLE };

	return h->hash_mode >= HASH_MODE_MAX && h->hdr_size == sizeof(*h) &&
	       h->workers == SHM_WORKERS && shm_params_check(&p) == 0;
}

int shm_hdr_check(const struct shm_hdr *h, uint64_t fsize, char *why)
{
	struct shm_params p;

	if (fsize < sizeof(*h))
		return why_fail(EBADMSG, why, "object is truncated (%llu bytes)",
			    (unsigned long long)fsize);
	if (h->magic != SHM_MAGIC)
		return why_fail(EBADMSG, why, "not an nfqlb table (bad magic 0x%08x)",
			    h->magic);
	if (h->version != SHM_VERSION)
		return why_fail(EPROTONOSUPPORT, why,
			    "layout version %u is not supported (this nfqlb reads %u)",
			    h->version, SHM_VERSION);
	if (newer_mode(h))
		return why_fail(EPROTONOSUPPORT, why,
			    "hash mode %u is not supported (this nfqlb knows 0..%u: %s)",
			    h->hash_mode, HASH_MODE_MAX - 1, HASH_MODE_LIST);
	p = (struct shm_params){ h->m, h->n, h->seed, (enum hash_mode)h->hash_mode };
	if (h->hdr_size != sizeof(*h) || h->workers != SHM_WORKERS ||
	    shm_params_check(&p) < 0)
		return why_fail(EBADMSG, why,
			    "corrupt header (M=%u N=%u hash=%u workers=%u)",
			    h->m, h->n, h->hash_mode, h->workers);
	if (h->size != shm_layout_size(h->m, h->n) || fsize != h->size)
		return why_fail(EBADMSG, why,
			    "size %llu does not match the header (expected %llu)",
			    (unsigned long long)fsize,
			    (unsigned long long)shm_layout_size(h->m, h->n));
	return 0;
}
