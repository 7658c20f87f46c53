/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_frag.c: the fragment tracker, on keys and metas made by hand and a
 * clock the test moves. */
#include <errno.h>
#include <stdlib.h>

#include <netinet/in.h>

#include "nfqlb/frag.h"
#include "test/unit/suites.h"

#define TIMEOUT 200
#define T0 1000000	/* the clock's start, ms */

static struct frag *t;

static void setup(void)
{
	t = frag_new(8, TIMEOUT, 12345);
	ck_assert_ptr_nonnull(t);
}

static void teardown(void)
{
	frag_free(t);
}

/* An IPv4 datagram's key: client 10.0.0.c to the VIP. */
static struct pkt_key key4(uint32_t c, uint32_t proto)
{
	struct pkt_key k = { { 0, 0, 0xffff, 0x0a000000u | c, 0, 0, 0xffff,
			       0xc0a80a0au, 0, proto } };

	return k;
}

static struct pkt_meta meta(uint8_t frag, uint32_t id, bool v6)
{
	return (struct pkt_meta){ .frag_id = id, .frag = frag, .v6 = v6 };
}

static struct frag_decision dec(uint32_t mark)
{
	return (struct frag_decision){ 1, mark, 3, mark + 100 };
}

/* A first fragment, with its own ports in w[8] as pkt_classify_meta() gives. */
static enum frag_result first(uint32_t c, uint32_t id, uint32_t mark, uint64_t now)
{
	struct pkt_key k = key4(c, IPPROTO_UDP);
	struct pkt_meta m = meta(PKT_FRAG_FIRST, id, false);
	struct frag_decision d = dec(mark);

	k.w[8] = 40000u << 16 | 53;
	return frag_decide(t, &k, &m, 999, &d, now);
}

/* A later fragment; its decision in *d when FRAG_DECIDED. */
static enum frag_result later(uint32_t c, uint32_t id, uint32_t pkt, uint64_t now,
			      struct frag_decision *d)
{
	struct pkt_key k = key4(c, IPPROTO_UDP);
	struct pkt_meta m = meta(PKT_FRAG_LATER, id, false);

	*d = dec(0xdead);
	return frag_decide(t, &k, &m, pkt, d, now);
}

static void assert_dec(const struct frag_decision *d, uint32_t mark)
{
	ck_assert_uint_eq(d->verdict, 1);
	ck_assert_uint_eq(d->mark, mark);
	ck_assert_int_eq(d->flow, 3);
	ck_assert_uint_eq(d->slot, mark + 100);
}

static void assert_stats(uint64_t tracked, uint64_t held, uint64_t released,
			 uint64_t timed_out, uint64_t dropped)
{
	struct frag_stats st;

	frag_stats(t, &st);
	ck_assert_uint_eq(st.tracked, tracked);
	ck_assert_uint_eq(st.held, held);
	ck_assert_uint_eq(st.released, released);
	ck_assert_uint_eq(st.timed_out, timed_out);
	ck_assert_uint_eq(st.dropped, dropped);
}

/* In order: later fragments take the first's decision at once. */
START_TEST(first_then_later)
{
	struct frag_decision d;
	struct frag_out o;

	ck_assert_int_eq(first(1, 77, 5, T0), FRAG_DECIDED);
	ck_assert_int_eq(later(1, 77, 10, T0 + 1, &d), FRAG_DECIDED);
	assert_dec(&d, 5);
	ck_assert_int_eq(later(1, 77, 11, T0 + 2, &d), FRAG_DECIDED);
	assert_dec(&d, 5);
	ck_assert(!frag_pop(t, &o));
	assert_stats(3, 0, 0, 0, 0);
}
END_TEST

/* Reversed: the later fragments are held, and released in arrival order
 * with the first's decision when it comes. */
START_TEST(later_then_first)
{
	struct frag_decision d;
	struct frag_out o;

	ck_assert_int_eq(later(1, 77, 12, T0, &d), FRAG_HELD);
	ck_assert_int_eq(later(1, 77, 11, T0 + 1, &d), FRAG_HELD);
	ck_assert_uint_eq(frag_held(t), 2);
	ck_assert(!frag_pop(t, &o));
	ck_assert_int_eq(first(1, 77, 6, T0 + 2), FRAG_DECIDED);
	ck_assert_uint_eq(frag_held(t), 0);
	ck_assert(frag_pop(t, &o));
	ck_assert_uint_eq(o.id, 12);
	ck_assert(!o.timed_out);
	assert_dec(&o.d, 6);
	ck_assert(frag_pop(t, &o));
	ck_assert_uint_eq(o.id, 11);
	assert_dec(&o.d, 6);
	ck_assert(!frag_pop(t, &o));
	assert_stats(1, 2, 2, 0, 0);
}
END_TEST

/* Held fragments whose first never comes time out after TIMEOUT from the
 * first held one, not from the last. */
START_TEST(held_time_out)
{
	struct frag_decision d;
	struct frag_out o;

	ck_assert_int_eq(later(1, 77, 20, T0, &d), FRAG_HELD);
	ck_assert_int_eq(later(1, 77, 21, T0 + 150, &d), FRAG_HELD);
	frag_expire(t, T0 + TIMEOUT - 1);
	ck_assert(!frag_pop(t, &o));
	frag_expire(t, T0 + TIMEOUT);
	ck_assert(frag_pop(t, &o));
	ck_assert_uint_eq(o.id, 20);
	ck_assert(o.timed_out);
	ck_assert(frag_pop(t, &o));
	ck_assert_uint_eq(o.id, 21);
	ck_assert(o.timed_out);
	ck_assert(!frag_pop(t, &o));
	ck_assert_uint_eq(frag_held(t), 0);
	assert_stats(0, 2, 0, 2, 0);
	/* The first, too late: a datagram of its own, nothing to release. */
	ck_assert_int_eq(first(1, 77, 5, T0 + TIMEOUT + 1), FRAG_DECIDED);
	ck_assert(!frag_pop(t, &o));
}
END_TEST

/* A decision is kept TIMEOUT after the last fragment that used it. */
START_TEST(decision_expires)
{
	struct frag_decision d;

	ck_assert_int_eq(first(1, 77, 5, T0), FRAG_DECIDED);
	ck_assert_int_eq(later(1, 77, 10, T0 + 150, &d), FRAG_DECIDED);
	frag_expire(t, T0 + 300);
	ck_assert_int_eq(later(1, 77, 11, T0 + 300, &d), FRAG_DECIDED);
	assert_dec(&d, 5);
	frag_expire(t, T0 + 500);
	ck_assert_int_eq(later(1, 77, 12, T0 + 500, &d), FRAG_HELD);
}
END_TEST

/* Datagrams differ by source, id and (IPv4) protocol. */
START_TEST(datagrams_apart)
{
	struct pkt_key k = key4(1, IPPROTO_TCP);
	struct pkt_meta m = meta(PKT_FRAG_LATER, 77, false);
	struct frag_decision d;

	ck_assert_int_eq(first(1, 77, 5, T0), FRAG_DECIDED);
	ck_assert_int_eq(first(2, 77, 6, T0), FRAG_DECIDED);
	ck_assert_int_eq(first(1, 78, 7, T0), FRAG_DECIDED);
	ck_assert_int_eq(later(2, 77, 1, T0, &d), FRAG_DECIDED);
	assert_dec(&d, 6);
	ck_assert_int_eq(later(1, 78, 2, T0, &d), FRAG_DECIDED);
	assert_dec(&d, 7);
	ck_assert_int_eq(frag_decide(t, &k, &m, 3, &d, T0), FRAG_HELD);
}
END_TEST

/* IPv6: the protocol is not part of the name; the first fragment's chain
 * may end in another header than the later fragments' next header. */
START_TEST(v6_ignores_protocol)
{
	struct pkt_key k = key4(1, IPPROTO_UDP);
	struct pkt_meta m = meta(PKT_FRAG_FIRST, 0xcafef00d, true);
	struct frag_decision d = dec(9);

	k.w[2] = 0x20010db8;
	ck_assert_int_eq(frag_decide(t, &k, &m, 1, &d, T0), FRAG_DECIDED);
	k.w[9] = IPPROTO_DSTOPTS;
	m.frag = PKT_FRAG_LATER;
	d = dec(0);
	ck_assert_int_eq(frag_decide(t, &k, &m, 2, &d, T0), FRAG_DECIDED);
	assert_dec(&d, 9);
}
END_TEST

/* A second first fragment (a duplicate) gets the stored decision back. */
START_TEST(duplicate_first)
{
	struct pkt_key k = key4(1, IPPROTO_UDP);
	struct pkt_meta m = meta(PKT_FRAG_FIRST, 5, false);
	struct frag_decision d = dec(5);

	ck_assert_int_eq(frag_decide(t, &k, &m, 1, &d, T0), FRAG_DECIDED);
	d = dec(8);
	ck_assert_int_eq(frag_decide(t, &k, &m, 2, &d, T0), FRAG_DECIDED);
	assert_dec(&d, 5);
}
END_TEST

/* Not a fragment: nothing tracked, the decision untouched. */
START_TEST(not_a_fragment)
{
	struct pkt_key k = key4(1, IPPROTO_UDP);
	struct pkt_meta m = meta(PKT_FRAG_NONE, 0, false);
	struct frag_decision d = dec(4);

	ck_assert_int_eq(frag_decide(t, &k, &m, 1, &d, T0), FRAG_DECIDED);
	assert_dec(&d, 4);
	assert_stats(0, 0, 0, 0, 0);
}
END_TEST

/* Full: 8 datagrams tracked, the 9th dropped (first or later); 8 held
 * packets, the 9th dropped; room again once they expire. */
START_TEST(full)
{
	struct frag_decision d;
	struct frag_out o;
	uint32_t i;

	for (i = 0; i < 8; i++)
		ck_assert_int_eq(first(i, 1, i, T0), FRAG_DECIDED);
	ck_assert_int_eq(first(100, 1, 1, T0), FRAG_FULL);
	ck_assert_int_eq(later(100, 1, 1, T0, &d), FRAG_FULL);
	assert_stats(8, 0, 0, 0, 2);
	frag_expire(t, T0 + TIMEOUT);
	for (i = 0; i < 8; i++)
		ck_assert_int_eq(later(50, 2, i, T0 + TIMEOUT, &d), FRAG_HELD);
	ck_assert_int_eq(later(50, 2, 8, T0 + TIMEOUT, &d), FRAG_FULL);
	/* No held slot: a new datagram's entry is not left behind. */
	ck_assert_int_eq(later(51, 2, 9, T0 + TIMEOUT, &d), FRAG_FULL);
	ck_assert_int_eq(first(51, 2, 3, T0 + TIMEOUT), FRAG_DECIDED);
	assert_stats(9, 8, 0, 0, 4);
	ck_assert_int_eq(first(50, 2, 4, T0 + TIMEOUT), FRAG_DECIDED);
	for (i = 0; i < 8; i++) {
		ck_assert(frag_pop(t, &o));
		ck_assert_uint_eq(o.id, i);
	}
	ck_assert_int_eq(later(52, 2, 1, T0 + TIMEOUT, &d), FRAG_HELD);
}
END_TEST

/* Many datagrams through a small tracker, in every order, with time
 * passing: the counts add up and nothing leaks. */
START_TEST(churn)
{
	struct frag_decision d;
	struct frag_stats st;
	struct frag_out o;
	uint64_t now = T0, calls = 0, popped = 0;
	uint32_t i, j;

	for (i = 0; i < 20000; i++, now += 7) {
		bool rev = i % 3 == 0;

		for (j = 0; j < 3; j++, calls++) {
			if ((j == 0) != rev)
				first(i % 50, i, i & 0xff, now);
			else
				later(i % 50, i, i * 3 + j, now, &d);
		}
		if (i % 5 == 0)
			frag_expire(t, now);
		while (frag_pop(t, &o))
			popped++;
	}
	frag_expire(t, now + TIMEOUT);
	while (frag_pop(t, &o))
		popped++;
	frag_stats(t, &st);
	ck_assert_uint_eq(st.tracked + st.held + st.dropped, calls);
	ck_assert_uint_eq(st.released + st.timed_out, st.held);
	ck_assert_uint_eq(popped, st.held);
	ck_assert_uint_eq(frag_held(t), 0);
	ck_assert_uint_gt(st.released, 0);
	for (i = 0; i < 8; i++)
		ck_assert_int_eq(later(7, 1000000 + i, i, now + TIMEOUT, &d), FRAG_HELD);
}
END_TEST

START_TEST(bad_size)
{
	errno = 0;
	ck_assert_ptr_null(frag_new(0, TIMEOUT, 1));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_null(frag_new(FRAG_MAX_LIMIT + 1, TIMEOUT, 1));
	frag_free(NULL);
}
END_TEST

Suite *make_frag_suite(void)
{
	Suite *s = suite_create("frag");
	TCase *tc = tcase_create("frag");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, first_then_later);
	tcase_add_test(tc, later_then_first);
	tcase_add_test(tc, held_time_out);
	tcase_add_test(tc, decision_expires);
	tcase_add_test(tc, datagrams_apart);
	tcase_add_test(tc, v6_ignores_protocol);
	tcase_add_test(tc, duplicate_first);
	tcase_add_test(tc, not_a_fragment);
	tcase_add_test(tc, full);
	tcase_add_test(tc, churn);
	tcase_add_test(tc, bad_size);
	suite_add_tcase(s, tc);
	return s;
}
