/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_verify.c: the NFQLB_DEBUG_VERIFY check (nfqlb/verify.c). */
#include <check.h>
#include <string.h>

#include "maglev/maglev.h"
#include "nfqlb/verify.h"
#include "test/unit/suites.h"

#define M 997
#define N 8
#define SEED 7

/* A view with targets 11, 12, 13 (weights 1, 2, 1) and its true lookup. */
static void good_view(struct shm_view *v)
{
	static const struct maglev_target t[] = { { 11, 1 }, { 12, 2 }, { 13, 1 } };
	uint32_t table[M], i;

	ck_assert_int_eq(shm_view_init(v, M, N), 0);
	memset(v->targets, 0, sizeof(*v->targets) * N);
	for (i = 0; i < 3; i++)
		v->targets[i] = (struct shm_target){ t[i].id, t[i].weight, 1, 0 };
	ck_assert_int_eq(maglev_build(table, M, SEED, t, 3), 0);
	for (i = 0; i < M; i++) {
		v->lookup[i] = table[i];
		v->targets[table[i]].entries++;
	}
	v->generation = 5;
}

START_TEST(test_verify_good)
{
	char why[WHY_MAX] = "";
	struct shm_view v;

	good_view(&v);
	ck_assert_int_eq(shm_view_check(&v, why), 0);
	ck_assert_int_eq(verify_view(&v, SEED, why), 0);
	shm_view_free(&v);
}
END_TEST

/* Two entries swapped: every count still agrees, so only a rebuild sees it. */
START_TEST(test_verify_swapped)
{
	char why[WHY_MAX] = "";
	struct shm_view v;
	uint32_t i = 0, j, tmp;

	good_view(&v);
	for (j = 1; v.lookup[j] == v.lookup[i]; j++)
		;
	tmp = v.lookup[i];
	v.lookup[i] = v.lookup[j];
	v.lookup[j] = tmp;
	ck_assert_int_eq(shm_view_check(&v, why), 0);
	ck_assert_int_eq(verify_view(&v, SEED, why), 1);
	ck_assert_ptr_nonnull(strstr(why, "generation 5: entry 0 names id"));
	shm_view_free(&v);
}
END_TEST

/* The same lookup under another seed, or with a weight changed, is stale. */
START_TEST(test_verify_stale)
{
	char why[WHY_MAX] = "";
	struct shm_view v;

	good_view(&v);
	ck_assert_int_eq(verify_view(&v, SEED + 1, why), 1);
	v.targets[1].weight = 1;
	ck_assert_int_eq(verify_view(&v, SEED, why), 1);
	shm_view_free(&v);
}
END_TEST

START_TEST(test_verify_empty)
{
	char why[WHY_MAX] = "";
	struct shm_view v;
	uint32_t i;

	ck_assert_int_eq(shm_view_init(&v, M, N), 0);
	memset(v.targets, 0, sizeof(*v.targets) * N);
	for (i = 0; i < M; i++)
		v.lookup[i] = SHM_NO_SLOT;
	ck_assert_int_eq(verify_view(&v, SEED, why), 0);
	v.targets[0] = (struct shm_target){ 11, 1, 1, 0 };
	ck_assert_int_eq(verify_view(&v, SEED, why), 1);
	shm_view_free(&v);
}
END_TEST

Suite *make_verify_suite(void)
{
	Suite *s = suite_create("verify");
	TCase *tc = tcase_create("verify");

	tcase_add_test(tc, test_verify_good);
	tcase_add_test(tc, test_verify_swapped);
	tcase_add_test(tc, test_verify_stale);
	tcase_add_test(tc, test_verify_empty);
	suite_add_tcase(s, tc);
	return s;
}
