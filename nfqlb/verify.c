/* SPDX-License-Identifier: GPL-2.0-or-later */
/* verify.c: a debug check of a table copy (see verify.h). */
#include <stdio.h>
#include <stdlib.h>

#include "maglev/maglev.h"
#include "nfqlb/verify.h"

/* The id the lookup names in entry i, or 0 for an empty entry. */
static uint32_t entry_id(const struct shm_view *v, uint32_t i)
{
	uint32_t slot = v->lookup[i];

	return slot == SHM_NO_SLOT || slot >= v->n ? 0 : v->targets[slot].id;
}

static int compare(const struct shm_view *v, const uint32_t *table,
		   const struct maglev_target *t, char *why)
{
	uint32_t i, want;

	for (i = 0; i < v->m; i++) {
		want = table[i] == MAGLEV_EMPTY ? 0 : t[table[i]].id;
		if (entry_id(v, i) != want) {
			snprintf(why, WHY_MAX,
				 "generation %llu: entry %u names id %u, its targets give %u",
				 (unsigned long long)v->generation, i, entry_id(v, i), want);
			return 1;
		}
	}
	return 0;
}

int verify_view(const struct shm_view *v, uint32_t seed, char *why)
{
	struct maglev_target *t = malloc(sizeof(*t) * (v->n ? v->n : 1));
	uint32_t *table = malloc(sizeof(*table) * v->m);
	uint32_t i, k = 0;
	int ret = -1;

	if (!t || !table)
		goto out;
	for (i = 0; i < v->n; i++)
		if (v->targets[i].active)
			t[k++] = (struct maglev_target){ v->targets[i].id,
							 v->targets[i].weight };
	if (maglev_build(table, v->m, seed, t, k) < 0) {
		snprintf(why, WHY_MAX, "generation %llu: cannot build its targets",
			 (unsigned long long)v->generation);
		goto out;
	}
	ret = compare(v, table, t, why);
out:
	free(t);
	free(table);
	return ret;
}
