/* SPDX-License-Identifier: GPL-2.0-or-later */
/* maglev.c: Maglev lookup tables (Eisenbud et al., NSDI 2016, section 3.4). */
#include <errno.h>
#include <stdlib.h>

#include "maglev/hash.h"
#include "maglev/maglev.h"

bool maglev_is_prime(uint32_t n)
{
	uint32_t d;

	if (n < 2)
		return false;
	if (n % 2 == 0)
		return n == 2;
	for (d = 3; (uint64_t)d * d <= n; d += 2)
		if (n % d == 0)
			return false;
	return true;
}

uint32_t maglev_prime_below(uint32_t n)
{
	while (n > 2)
		if (maglev_is_prime(--n))
			return n;
	return 0;
}

uint32_t maglev_prime_above(uint32_t n)
{
	while (n < UINT32_MAX)
		if (maglev_is_prime(++n))
			return n;
	return 0;
}

void maglev_perm_of(uint32_t id, uint32_t seed, uint32_t m, uint32_t weight,
		    struct maglev_perm *p)
{
	uint64_t h1, h2;

	hash_target(id, seed, &h1, &h2);
	p->offset = (uint32_t)(h1 % m);
	p->skip = (uint32_t)(h2 % (m - 1)) + 1;
	p->weight = weight;
}

static int perm_check(const struct maglev_perm *perm, uint32_t n, uint32_t m,
		      uint32_t *wmax)
{
	uint32_t i;

	*wmax = 0;
	for (i = 0; i < n; i++) {
		if (perm[i].offset >= m || perm[i].skip == 0 ||
		    perm[i].skip >= m || perm[i].weight == 0 ||
		    perm[i].weight > MAGLEV_WEIGHT_MAX)
			return -1;
		if (perm[i].weight > *wmax)
			*wmax = perm[i].weight;
	}
	return 0;
}

/* Claim the next empty entry of target i's preference list.  `next` holds
 * each list's position, so the permutation is never stored (paper, 3.4). */
static void take_turn(uint32_t *table, uint32_t m, const struct maglev_perm *p,
		      uint32_t *next, uint32_t i)
{
	uint32_t c = next[i];

	while (table[c] != MAGLEV_EMPTY) {
		c += p->skip;
		if (c >= m)
			c -= m;
	}
	table[c] = i;
	c += p->skip;
	next[i] = c >= m ? c - m : c;
}

static void fill(uint32_t *table, uint32_t m, const struct maglev_perm *perm,
		 uint32_t n, uint32_t wmax, uint32_t *next, uint32_t *credit)
{
	uint32_t filled = 0, i;

	for (i = 0; i < n; i++) {
		next[i] = perm[i].offset;
		credit[i] = 0;
	}
	while (filled < m) {
		for (i = 0; i < n && filled < m; i++) {
			credit[i] += perm[i].weight;
			if (credit[i] < wmax)
				continue;
			credit[i] -= wmax;
			take_turn(table, m, &perm[i], next, i);
			filled++;
		}
	}
}

int maglev_populate(uint32_t *table, uint32_t m, const struct maglev_perm *perm,
		    uint32_t n)
{
	uint32_t wmax, i, *next;

	if (m < 2 || !maglev_is_prime(m) || perm_check(perm, n, m, &wmax) < 0) {
		errno = EINVAL;
		return -1;
	}
	for (i = 0; i < m; i++)
		table[i] = MAGLEV_EMPTY;
	if (n == 0)
		return 0;
	next = malloc(2 * sizeof(*next) * (size_t)n);
	if (!next)
		return -1;
	fill(table, m, perm, n, wmax, next, next + n);
	free(next);
	return 0;
}

static int cmp_id(const void *a, const void *b)
{
	uint32_t x = ((const struct maglev_target *)a)->id;
	uint32_t y = ((const struct maglev_target *)b)->id;

	return x < y ? -1 : x > y;
}

/* Turns go in ascending id order.  Sort a copy by id; order[k] is the index
 * in the caller's array of the k-th smallest id. */
static int sorted_perms(const struct maglev_target *t, uint32_t n, uint32_t m,
			uint32_t seed, struct maglev_perm *perm, uint32_t *order)
{
	struct maglev_target *s;
	uint32_t i;

	s = malloc(sizeof(*s) * (size_t)n);
	if (!s)
		return -1;
	for (i = 0; i < n; i++) {
		s[i].id = t[i].id;
		s[i].weight = i;	/* carries the original index through qsort */
	}
	qsort(s, n, sizeof(*s), cmp_id);
	for (i = 0; i < n; i++) {
		order[i] = s[i].weight;
		if (s[i].id == 0 || (i > 0 && s[i].id == s[i - 1].id))
			break;
		maglev_perm_of(s[i].id, seed, m, t[order[i]].weight, &perm[i]);
	}
	free(s);
	if (i < n) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

int maglev_build(uint32_t *table, uint32_t m, uint32_t seed,
		 const struct maglev_target *t, uint32_t n)
{
	struct maglev_perm *perm = NULL;
	uint32_t *order = NULL, i;
	int ret = -1;

	if (m < 2 || !maglev_is_prime(m)) {
		errno = EINVAL;
		return -1;
	}
	perm = malloc(sizeof(*perm) * (size_t)(n ? n : 1));
	order = malloc(sizeof(*order) * (size_t)(n ? n : 1));
	if (!perm || !order)
		goto out;
	if (sorted_perms(t, n, m, seed, perm, order) < 0)
		goto out;
	if (maglev_populate(table, m, perm, n) < 0)
		goto out;
	for (i = 0; i < m; i++)
		if (table[i] != MAGLEV_EMPTY)
			table[i] = order[table[i]];
	ret = 0;
out:
	free(perm);
	free(order);
	return ret;
}
