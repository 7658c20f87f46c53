/* SPDX-License-Identifier: GPL-2.0-or-later */
/* view.c: a private copy of a table and its validation (see view.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "maglev/maglev.h"
#include "shm/shm.h"

int shm_view_init(struct shm_view *v, uint32_t m, uint32_t n)
{
	v->m = m;
	v->n = n;
	v->generation = 0;
	v->targets = calloc(n, sizeof(*v->targets));
	v->lookup = calloc(m, sizeof(*v->lookup));
	v->scratch = calloc(n, sizeof(*v->scratch));
	if (v->targets && v->lookup && v->scratch)
		return 0;
	shm_view_free(v);
	errno = ENOMEM;
	return -1;
}

void shm_view_free(struct shm_view *v)
{
	free(v->targets);
	free(v->lookup);
	free(v->scratch);
	v->targets = NULL;
	v->lookup = NULL;
	v->scratch = NULL;
}

static void sift_down(uint32_t *a, size_t root, size_t len)
{
	size_t child;
	uint32_t t;

	while ((child = 2 * root + 1) < len) {
		if (child + 1 < len && a[child + 1] > a[child])
			child++;
		if (a[root] >= a[child])
			return;
		t = a[root];
		a[root] = a[child];
		a[child] = t;
		root = child;
	}
}

/* Heapsort: in place, where qsort() may allocate. */
static void sort_u32(uint32_t *a, size_t len)
{
	size_t i;
	uint32_t t;

	for (i = len / 2; i-- > 0;)
		sift_down(a, i, len);
	for (i = len; i-- > 1;) {
		t = a[0];
		a[0] = a[i];
		a[i] = t;
		sift_down(a, 0, i);
	}
}

/* Active ids are non-zero, in range and unique.  Sets *nactive. */
static int check_targets(const struct shm_view *v, uint32_t *ids,
			 uint32_t *nactive, char *why)
{
	uint32_t i, k = 0;
	int ret = 0;

	for (i = 0; i < v->n && ret == 0; i++) {
		const struct shm_target *t = &v->targets[i];

		if (t->active > 1 || (t->active && (t->id == 0 || t->weight == 0 ||
						    t->weight > MAGLEV_WEIGHT_MAX)))
			ret = why_fail(EBADMSG, why, "corrupt target slot %u (id %u weight %u)",
				   i, t->id, t->weight);
		else if (t->active)
			ids[k++] = t->id;
	}
	sort_u32(ids, k);
	for (i = 1; i < k && ret == 0; i++)
		if (ids[i] == ids[i - 1])
			ret = why_fail(EBADMSG, why, "target id %u is active twice", ids[i]);
	*nactive = k;
	return ret;
}

/* The lookup names active slots only, and as often as each one says. */
static int check_lookup(const struct shm_view *v, uint32_t *count,
			uint32_t nactive, char *why)
{
	uint32_t i;
	int ret = 0;

	memset(count, 0, sizeof(*count) * v->n);
	for (i = 0; i < v->m && ret == 0; i++) {
		uint32_t slot = v->lookup[i];

		if (slot == SHM_NO_SLOT ? nactive > 0 :
		    slot >= v->n || !v->targets[slot].active)
			ret = why_fail(EBADMSG, why,
				   "lookup entry %u names no active target (%u)",
				   i, slot);
		else if (slot != SHM_NO_SLOT)
			count[slot]++;
	}
	for (i = 0; i < v->n && ret == 0; i++)
		if (v->targets[i].active && v->targets[i].entries != count[i])
			ret = why_fail(EBADMSG, why,
				   "target %u claims %u entries but has %u",
				   v->targets[i].id, v->targets[i].entries, count[i]);
	return ret;
}

int shm_view_check(const struct shm_view *v, char *why)
{
	uint32_t *work = v->scratch, nactive;
	int ret;

	if (!work && !(work = malloc(sizeof(*work) * (v->n ? v->n : 1))))
		return -1;
	ret = check_targets(v, work, &nactive, why);
	if (ret == 0)
		ret = check_lookup(v, work, nactive, why);
	if (work != v->scratch)
		free(work);
	return ret;
}
