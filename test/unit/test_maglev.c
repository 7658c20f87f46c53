/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_maglev.c: the Maglev table and the hashes behind it. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "maglev/hash.h"
#include "maglev/maglev.h"
#include "test/unit/suites.h"

/* Build a table of ids (0 = empty) rather than of indexes. */
static void build_ids(uint32_t *ids, uint32_t m, uint32_t seed,
		      const struct maglev_target *t, uint32_t n)
{
	uint32_t i;

	ck_assert_int_eq(maglev_build(ids, m, seed, t, n), 0);
	for (i = 0; i < m; i++)
		ids[i] = ids[i] == MAGLEV_EMPTY ? 0 : t[ids[i]].id;
}

static void counts_of(const uint32_t *table, uint32_t m, uint32_t *count,
		      uint32_t n)
{
	uint32_t i;

	memset(count, 0, sizeof(*count) * n);
	for (i = 0; i < m; i++) {
		ck_assert_uint_lt(table[i], n);
		count[table[i]]++;
	}
}

/* The paper's example (NSDI 2016, page 6), with its offsets and skips. */
START_TEST(test_known_answer)
{
	const struct maglev_perm all[3] = { { 3, 4, 1 }, { 0, 2, 1 }, { 3, 1, 1 } };
	const struct maglev_perm rest[2] = { { 3, 4, 1 }, { 3, 1, 1 } };
	const uint32_t want_all[7] = { 1, 0, 1, 0, 2, 2, 0 };
	const uint32_t want_rest[7] = { 0, 0, 0, 0, 1, 1, 1 };	/* B0 and B2 */
	uint32_t table[7];

	ck_assert_int_eq(maglev_populate(table, 7, all, 3), 0);
	ck_assert_mem_eq(table, want_all, sizeof(want_all));
	ck_assert_int_eq(maglev_populate(table, 7, rest, 2), 0);
	ck_assert_mem_eq(table, want_rest, sizeof(want_rest));
}
END_TEST

START_TEST(test_populate_rejects)
{
	struct maglev_perm p = { 0, 1, 1 };
	uint32_t table[8];

	ck_assert_int_eq(maglev_populate(table, 8, &p, 1), -1);	/* not prime */
	ck_assert_int_eq(errno, EINVAL);
	p.skip = 0;
	ck_assert_int_eq(maglev_populate(table, 7, &p, 1), -1);
	p.skip = 7;
	ck_assert_int_eq(maglev_populate(table, 7, &p, 1), -1);
	p = (struct maglev_perm){ 7, 1, 1 };
	ck_assert_int_eq(maglev_populate(table, 7, &p, 1), -1);
	p = (struct maglev_perm){ 0, 1, 1001 };
	ck_assert_int_eq(maglev_populate(table, 7, &p, 1), -1);
	ck_assert_int_eq(maglev_populate(table, 7, &p, 0), 0);
	ck_assert_uint_eq(table[3], MAGLEV_EMPTY);
}
END_TEST

START_TEST(test_build_rejects)
{
	struct maglev_target t[2] = { { 5, 1 }, { 5, 1 } };
	uint32_t table[7];

	ck_assert_int_eq(maglev_build(table, 7, 0, t, 2), -1);
	ck_assert_int_eq(errno, EINVAL);
	t[1].id = 0;
	ck_assert_int_eq(maglev_build(table, 7, 0, t, 2), -1);
	t[1] = (struct maglev_target){ 6, 0 };
	ck_assert_int_eq(maglev_build(table, 7, 0, t, 2), -1);
	t[1].weight = 1;
	ck_assert_int_eq(maglev_build(table, 9, 0, t, 2), -1);
	ck_assert_int_eq(maglev_build(table, 7, 0, t, 2), 0);
}
END_TEST

static const uint32_t balance_cases[][2] = {
	{ 7, 3 }, { 997, 1 }, { 997, 3 }, { 997, 10 }, { 997, 32 },
	{ 997, 997 }, { 65537, 100 }, { 65537, 1000 },
};

START_TEST(test_balance)
{
	uint32_t m = balance_cases[_i][0], n = balance_cases[_i][1], i;
	struct maglev_target *t = calloc(n, sizeof(*t));
	uint32_t *table = malloc(sizeof(*table) * m), *count = calloc(n, sizeof(*count));

	for (i = 0; i < n; i++)
		t[i] = (struct maglev_target){ 1000 + 7 * i, 1 };
	ck_assert_int_eq(maglev_build(table, m, 42, t, n), 0);
	counts_of(table, m, count, n);
	for (i = 0; i < n; i++) {
		ck_assert_uint_ge(count[i], m / n);
		ck_assert_uint_le(count[i], (m + n - 1) / n);
	}
	free(t);
	free(table);
	free(count);
}
END_TEST

/* A small LCG: the tests' shuffles are reproducible. */
static uint32_t lcg(uint32_t *state)
{
	*state = *state * 1664525u + 1013904223u;
	return *state >> 8;
}

START_TEST(test_order_independent)
{
	const uint32_t m = 997, n = 20;
	struct maglev_target t[20];
	uint32_t a[997], b[997], i, r, state = 7;
	int round;

	for (i = 0; i < n; i++)
		t[i] = (struct maglev_target){ 101 + i * 13, 1 + i % 4 };
	build_ids(a, m, 3, t, n);
	for (round = 0; round < 20; round++) {
		for (i = n - 1; i > 0; i--) {
			struct maglev_target x = t[i];

			r = lcg(&state) % (i + 1);
			t[i] = t[r];
			t[r] = x;
		}
		build_ids(b, m, 3, t, n);
		ck_assert_mem_eq(a, b, sizeof(a));
	}
	build_ids(b, m, 4, t, n);	/* another seed: another table */
	ck_assert_int_ne(memcmp(a, b, sizeof(a)), 0);
}
END_TEST

static const uint32_t weight_cases[][4] = {
	{ 1, 2, 3, 4 }, { 1, 1, 1, 1000 }, { 1000, 999, 500, 1 },
	{ 7, 7, 7, 7 }, { 100, 200, 300, 400 }, { 3, 1000, 17, 250 },
};

START_TEST(test_weights)
{
	const uint32_t m = 65537;
	struct maglev_target t[4];
	uint32_t *table = malloc(sizeof(*table) * m), count[4], wsum = 0, i;

	for (i = 0; i < 4; i++) {
		t[i] = (struct maglev_target){ 10 + i, weight_cases[_i][i] };
		wsum += t[i].weight;
	}
	ck_assert_int_eq(maglev_build(table, m, 0, t, 4), 0);
	counts_of(table, m, count, 4);
	for (i = 0; i < 4; i++) {
		double ideal = (double)m * t[i].weight / wsum;
		double tol = ideal / 100 > 2 ? ideal / 100 : 2;

		ck_assert_double_le(count[i] > ideal ? count[i] - ideal : ideal - count[i], tol);
	}
	free(table);
}
END_TEST

/* Changed entries after removing targets, and those whose old owner stays. */
static void disruption(const uint32_t *before, const uint32_t *after, uint32_t m,
		       const uint32_t *gone, uint32_t k, uint32_t *changed,
		       uint32_t *excess)
{
	uint32_t i, j;

	*changed = *excess = 0;
	for (i = 0; i < m; i++) {
		bool removed = false;

		if (before[i] == after[i])
			continue;
		(*changed)++;
		for (j = 0; j < k; j++)
			removed |= before[i] == gone[j];
		*excess += !removed;
	}
}

START_TEST(test_disruption)
{
	const uint32_t m = 65537, n = 100, k = 10;
	struct maglev_target t[100];
	uint32_t *a = malloc(sizeof(*a) * m), *b = malloc(sizeof(*b) * m);
	uint32_t gone[10], changed, excess, i;

	for (i = 0; i < n; i++)
		t[i] = (struct maglev_target){ 500 + i, 1 };
	build_ids(a, m, 0, t, n);
	for (i = 0; i < k; i++)
		gone[i] = t[n - 1 - i].id;
	build_ids(b, m, 0, t, n - k);
	disruption(a, b, m, gone, k, &changed, &excess);
	/* Ideal k/N = 10%: every entry of a removed target moves... */
	ck_assert_uint_ge(changed, m * k / n);
	/* ...and only a little more than that (the paper's trade-off). */
	ck_assert_double_lt((double)excess / m, 0.02);
	ck_assert_double_lt((double)changed / m, 0.12);
	free(a);
	free(b);
}
END_TEST

START_TEST(test_primes)
{
	ck_assert(!maglev_is_prime(0));
	ck_assert(!maglev_is_prime(1));
	ck_assert(maglev_is_prime(2));
	ck_assert(maglev_is_prime(997));
	ck_assert(!maglev_is_prime(1000));
	ck_assert(maglev_is_prime(65537));
	ck_assert(maglev_is_prime(4294967291u));
	ck_assert(!maglev_is_prime(4294967295u));
	ck_assert_uint_eq(maglev_prime_below(1000), 997);
	ck_assert_uint_eq(maglev_prime_above(1000), 1009);
	ck_assert_uint_eq(maglev_prime_below(2), 0);
	ck_assert_uint_eq(maglev_prime_above(4294967291u), 0);
}
END_TEST

/* Expected values come from test/ref/maglev_ref.py, an implementation of
 * docs/maglev.md's specification in Python: they pin the hashes across hosts. */
START_TEST(test_hash_known_values)
{
	const uint32_t w[HASH_FLOW_WORDS] = { 0, 0, 0xffff, 0x0a000001, 0, 0,
					      0xffff, 0x0ac8ff01, 40000u << 16 | 80, 6 };
	const uint32_t sctp[HASH_FLOW_WORDS] = { 0, 0, 0xffff, 0x0a000001, 0, 0,
						 0xffff, 0x0ac8ff01,
						 40000u << 16 | 38412, 132 };
	uint64_t h1, h2;

	hash_target(1, 0, &h1, &h2);
	ck_assert_uint_eq(h1, 0xb456bcfc34c2cb2cULL);
	ck_assert_uint_eq(h2, 0x25b775faeca8f520ULL);
	hash_target(101, 7, &h1, &h2);
	ck_assert_uint_eq(h1, 0xb213205c24fd0403ULL);
	ck_assert_uint_eq(h2, 0xdb1a37284ef9c6f9ULL);
	hash_target(4294967295u, 4294967295u, &h1, &h2);
	ck_assert_uint_eq(h1, 0x64b5720b4b825f21ULL);
	ck_assert_uint_eq(h2, 0x3cd617bbbcc39640ULL);
	ck_assert_uint_eq(hash_flow(w, HASH_5TUPLE, 0), 0xc7ae9b4078872c12ULL);
	ck_assert_uint_eq(hash_reduce(hash_flow(w, HASH_5TUPLE, 0), 997), 777);
	ck_assert_uint_eq(hash_flow(w, HASH_ADDR, 0), 0x69d9fefea362bd85ULL);
	ck_assert_uint_eq(hash_reduce(hash_flow(w, HASH_ADDR, 0), 997), 412);
	ck_assert_uint_eq(hash_flow(w, HASH_SRC, 0), 0xfb8726d562f71ac6ULL);
	ck_assert_uint_eq(hash_reduce(hash_flow(w, HASH_SRC, 0), 997), 979);
	ck_assert_uint_eq(hash_flow(w, HASH_5TUPLE, 12345), 0xc367def5158b2766ULL);
	/* sctp: a TCP key as 5tuple; an SCTP key on ports and protocol
	 * (test/ref/maglev_ref.py gives the same values). */
	ck_assert_uint_eq(hash_flow(w, HASH_SCTP, 0), 0xc7ae9b4078872c12ULL);
	ck_assert_uint_eq(hash_flow(sctp, HASH_SCTP, 0), 0x35b739e20ffeb435ULL);
	ck_assert_uint_eq(hash_reduce(hash_flow(sctp, HASH_SCTP, 0), 997), 209);
	ck_assert_uint_eq(hash_flow(sctp, HASH_SCTP, 12345), 0xe3a6dc8d29acfd11ULL);
}
END_TEST

START_TEST(test_table_known_values)
{
	const struct maglev_target t[3] = { { 30, 3 }, { 10, 1 }, { 20, 2 } };
	const uint32_t want[13] = { 30, 20, 30, 10, 30, 30, 20, 20, 30, 30, 10, 30, 20 };
	uint32_t ids[13];

	build_ids(ids, 13, 5, t, 3);
	ck_assert_mem_eq(ids, want, sizeof(want));
}
END_TEST

START_TEST(test_hash_modes)
{
	uint32_t a[HASH_FLOW_WORDS] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };
	uint32_t b[HASH_FLOW_WORDS];

	memcpy(b, a, sizeof(b));
	b[8] = 99;	/* other ports */
	ck_assert_uint_ne(hash_flow(a, HASH_5TUPLE, 0), hash_flow(b, HASH_5TUPLE, 0));
	ck_assert_uint_eq(hash_flow(a, HASH_ADDR, 0), hash_flow(b, HASH_ADDR, 0));
	b[7] = 99;	/* another destination */
	ck_assert_uint_ne(hash_flow(a, HASH_ADDR, 0), hash_flow(b, HASH_ADDR, 0));
	ck_assert_uint_eq(hash_flow(a, HASH_SRC, 0), hash_flow(b, HASH_SRC, 0));
	ck_assert_int_eq(hash_mode_parse("addr"), HASH_ADDR);
	ck_assert_int_eq(hash_mode_parse("5TUPLE"), -1);
	ck_assert_str_eq(hash_mode_name(HASH_SRC), "src");
	ck_assert_ptr_null(hash_mode_name(HASH_MODE_MAX));
	ck_assert_int_eq(hash_mode_parse("sctp"), HASH_SCTP);
	ck_assert_str_eq(hash_mode_name(HASH_SCTP), "sctp");
}
END_TEST

/* An SCTP key of `ports` between two addresses (IPv4 when v4, else IPv6). */
static void sctp_key(uint32_t *w, uint32_t src, uint32_t dst, bool v4,
		     uint32_t ports)
{
	memset(w, 0, HASH_FLOW_WORDS * sizeof(*w));
	if (v4) {
		w[2] = w[6] = 0xffff;
		w[3] = 0x0a000000 | src;
		w[7] = 0xc0a80000 | dst;
	} else {
		w[0] = w[4] = 0xfd000000;
		w[3] = src;
		w[7] = dst;
	}
	w[8] = ports;
	w[9] = HASH_PROTO_SCTP;
}

/* Every path of a multihomed association (any source, any destination,
 * IPv4 or IPv6, same ports) reaches one entry; its ports decide it. */
START_TEST(test_hash_sctp_multihomed)
{
	const uint32_t ports = 5000u << 16 | 38412, m = 997;
	uint32_t w[HASH_FLOW_WORDS], slot, s, d, other = 0;
	uint32_t seed = (uint32_t)_i * 0x9e3779b9u;

	sctp_key(w, 1, 1, true, ports);
	slot = hash_reduce(hash_flow(w, HASH_SCTP, seed), m);
	for (s = 1; s <= 40; s++)
		for (d = 1; d <= 5; d++) {
			sctp_key(w, s, d, s & 1, ports);
			ck_assert_uint_eq(hash_reduce(hash_flow(w, HASH_SCTP, seed), m),
					  slot);
			/* 5tuple and addr tell these paths apart. */
			if (hash_reduce(hash_flow(w, HASH_5TUPLE, seed), m) != slot)
				other++;
		}
	ck_assert_uint_gt(other, 150);
	/* Other source ports spread over the entries. */
	other = 0;
	for (s = 1; s <= 200; s++) {
		sctp_key(w, 1, 1, true, (5000u + s) << 16 | 38412);
		if (hash_reduce(hash_flow(w, HASH_SCTP, seed), m) != slot)
			other++;
	}
	ck_assert_uint_gt(other, 190);
}
END_TEST

/* mode sctp hashes every key that is not SCTP with ports as 5tuple: TCP,
 * UDP, ICMP, other protocols, and an SCTP fragment (no ports). */
START_TEST(test_hash_sctp_others)
{
	static const uint32_t protos[] = { 6, 17, 1, 58, 136, 47, HASH_PROTO_SCTP };
	uint32_t w[HASH_FLOW_WORDS], b[HASH_FLOW_WORDS], lcg = 7, i, p;

	for (i = 0; i < 500; i++) {
		for (p = 0; p < HASH_FLOW_WORDS; p++) {
			lcg = lcg * 1103515245u + 12345u;
			w[p] = lcg;
		}
		w[9] = protos[i % 7];
		if (w[9] == HASH_PROTO_SCTP)
			w[8] = 0;
		ck_assert_uint_eq(hash_flow(w, HASH_SCTP, i), hash_flow(w, HASH_5TUPLE, i));
	}
	/* An SCTP fragment keeps its addresses: two sources differ. */
	w[8] = 0;
	w[9] = HASH_PROTO_SCTP;
	memcpy(b, w, sizeof(b));
	b[3] ^= 1;
	ck_assert_uint_ne(hash_flow(w, HASH_SCTP, 0), hash_flow(b, HASH_SCTP, 0));
	/* With ports, the addresses no longer count. */
	w[8] = b[8] = 1234u << 16 | 80;
	ck_assert_uint_eq(hash_flow(w, HASH_SCTP, 0), hash_flow(b, HASH_SCTP, 0));
	ck_assert_uint_ne(hash_flow(w, HASH_5TUPLE, 0), hash_flow(b, HASH_5TUPLE, 0));
}
END_TEST

Suite *make_maglev_suite(void)
{
	Suite *s = suite_create("maglev");
	TCase *tc = tcase_create("table");

	tcase_add_test(tc, test_known_answer);
	tcase_add_test(tc, test_populate_rejects);
	tcase_add_test(tc, test_build_rejects);
	tcase_add_loop_test(tc, test_balance, 0,
			    sizeof(balance_cases) / sizeof(balance_cases[0]));
	tcase_add_test(tc, test_order_independent);
	tcase_add_loop_test(tc, test_weights, 0,
			    sizeof(weight_cases) / sizeof(weight_cases[0]));
	tcase_add_test(tc, test_disruption);
	tcase_add_test(tc, test_primes);
	tcase_add_test(tc, test_table_known_values);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	tc = tcase_create("hash");
	tcase_add_test(tc, test_hash_known_values);
	tcase_add_test(tc, test_hash_modes);
	tcase_add_loop_test(tc, test_hash_sctp_multihomed, 0, 4);
	tcase_add_test(tc, test_hash_sctp_others);
	suite_add_tcase(s, tc);
	return s;
}
