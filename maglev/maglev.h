/* SPDX-License-Identifier: GPL-2.0-or-later */
/* maglev.h: Maglev consistent-hash lookup tables (NSDI 2016, section 3.4).
 *
 * Pure computation: no I/O, no printing.  The table is a pure function of
 * (m, seed, the set of (id, weight)); docs/maglev.md specifies it
 * completely.
 */
#ifndef NFQLB_MAGLEV_H
#define NFQLB_MAGLEV_H

#include <stdbool.h>
#include <stdint.h>

#define MAGLEV_EMPTY UINT32_MAX	/* a table entry that no target owns */
#define MAGLEV_WEIGHT_MAX 1000

struct maglev_target {
	uint32_t id;		/* not 0; unique within a build */
	uint32_t weight;	/* 1..MAGLEV_WEIGHT_MAX */
};

/* One target's preference list: permutation[j] = (offset + j*skip) mod m. */
struct maglev_perm {
	uint32_t offset;	/* 0..m-1 */
	uint32_t skip;		/* 1..m-1 */
	uint32_t weight;	/* 1..MAGLEV_WEIGHT_MAX */
};

/**
 * maglev_populate - fill a table from explicit preference lists
 * @table: m entries, written; each becomes an index into @perm
 * @m: table size, prime
 * @perm: the preference lists, in turn order
 * @n: number of lists; 0 leaves every entry MAGLEV_EMPTY
 *
 * Targets take turns in array order.  Each round, every target adds its
 * weight to a credit; a target whose credit reaches the largest weight takes
 * a turn (and its credit drops by that weight).  On its turn a target claims
 * the next empty entry of its preference list.
 *
 * Returns 0, or -1 with errno EINVAL for a bad m, offset, skip or weight.
 */
int maglev_populate(uint32_t *table, uint32_t m, const struct maglev_perm *perm,
		    uint32_t n);

/**
 * maglev_perm_of - the preference list of a target id
 * @id: the target id
 * @seed: the table's seed
 * @m: table size, prime and at least 2
 * @weight: copied into @p
 * @p: written
 */
void maglev_perm_of(uint32_t id, uint32_t seed, uint32_t m, uint32_t weight,
		    struct maglev_perm *p);

/**
 * maglev_build - build the lookup table for a set of targets
 * @table: m entries, written; each becomes an index into @t, or MAGLEV_EMPTY
 * @m: table size, prime
 * @seed: the table's seed
 * @t: the targets, in any order
 * @n: number of targets
 *
 * Turns go in ascending id order, so the result does not depend on the order
 * of @t: two builds of the same set give the same ids in every entry.
 *
 * Returns 0, or -1 with errno EINVAL (bad m, weight, zero or duplicate id)
 * or ENOMEM.
 */
int maglev_build(uint32_t *table, uint32_t m, uint32_t seed,
		 const struct maglev_target *t, uint32_t n);

/**
 * maglev_is_prime - whether n is prime
 * @n: any value
 */
bool maglev_is_prime(uint32_t n);

/**
 * maglev_prime_below - the largest prime below n
 * @n: any value
 *
 * Returns the prime, or 0 when there is none (n <= 2).
 */
uint32_t maglev_prime_below(uint32_t n);

/**
 * maglev_prime_above - the smallest prime above n
 * @n: any value
 *
 * Returns the prime, or 0 when it does not fit in 32 bits.
 */
uint32_t maglev_prime_above(uint32_t n);

#endif
