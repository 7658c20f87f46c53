/* view.c: a private copy of a table and its validation (see view.h). */
#include <errno.h>
#include <stdlib.h>

#include "maglev/maglev.h"
#include "shm/shm.h"

int shm_view_init(struct shm_view *v, uint32_t m, uint32_t n)
{
	v->m = m;
	v->n = n;
	v->generation = 0;
	v->targets = calloc(n, sizeof(*v->targets));
	v->lookup = calloc(m, sizeof(*v->lookup));
	if (v->targets && v->lookup)
		return 0;
	shm_view_free(v);
	errno = ENOMEM;
	return -1;
}

void shm_view_free(struct shm_view *v)
{
	free(v->targets);
	free(v->lookup);
	v->targets = NULL;
	v->lookup = NULL;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Active ids are non-zero, in range and unique.  Sets *nactive. */
static int check_targets(const struct shm_view *v, uint32_t *nactive,
			 char *why)
{
	uint32_t *ids, i, k = 0;
	int ret = 0;

	ids = malloc(sizeof(*ids) * (v->n ? v->n : 1));
	if (!ids)
		return -1;
	for (i = 0; i < v->n && ret == 0; i++) {
		const struct shm_target *t = &v->targets[i];

		if (t->active > 1 || (t->active && (t->id == 0 || t->weight == 0 ||
						    t->weight > MAGLEV_WEIGHT_MAX)))
			ret = why_fail(EBADMSG, why, "corrupt target slot %u (id %u weight %u)",
				   i, t->id, t->weight);
		else if (t->active)
			ids[k++] = t->id;
	}
	qsort(ids, k, sizeof(*ids), cmp_u32);
	for (i = 1; i < k && ret == 0; i++)
		if (ids[i] == ids[i - 1])
			ret = why_fail(EBADMSG, why, "target id %u is active twice", ids[i]);
	free(ids);
	*nactive = k;
	return ret;
}

int shm_view_check(const struct shm_view *v, char *why)
{
	uint32_t *count, nactive, i;
	int ret = 0;

	if (check_targets(v, &nactive, why) < 0)
		return -1;
	count = calloc(v->n ? v->n : 1, sizeof(*count));
	if (!count)
		return -1;
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
	free(count);
	return ret;
}
