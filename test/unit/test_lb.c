/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_lb.c: the worker's pure parts: the batch decision, the CPU list of
 * --cpu, and the shedding controller. */
#include <errno.h>
#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "maglev/hash.h"
#include "maglev/maglev.h"
#include "nfqlb/frag.h"
#include "nfqlb/lb.h"
#include "nfqlb/lbconf.h"
#include "nfqlb/shed.h"
#include "test/unit/suites.h"

#define M 997

/* An IPv4 UDP packet from 10.0.0.<i> port 1000+i to 10.1.0.1:80. */
static void udp4(uint8_t *p, unsigned int i)
{
	memset(p, 0, 28);
	p[0] = 0x45;
	p[3] = 28;
	p[9] = 17;
	p[12] = 10;
	p[15] = (uint8_t)i;
	p[16] = 10;
	p[17] = 1;
	p[19] = 1;
	p[20] = (uint8_t)((1000 + i) >> 8);
	p[21] = (uint8_t)(1000 + i);
	p[23] = 80;
}

static uint32_t lookup[M];

static struct shm_view table(void)
{
	struct maglev_target t[3] = { { 11, 1 }, { 22, 1 }, { 33, 1 } };

	ck_assert_int_eq(maglev_build(lookup, M, 7, t, 3), 0);
	return (struct shm_view){ .m = M, .lookup = lookup };
}

/* The batch gives what classifying, hashing and looking up each packet on
 * its own gives, in every hash mode; malformed packets get no slot. */
START_TEST(batch_equals_single)
{
	static uint8_t bufs[QUEUE_BATCH][64];
	struct queue_pkt pkts[QUEUE_BATCH];
	struct lb_result res[QUEUE_BATCH];
	struct shm_view v = table();
	struct pkt_key key;
	unsigned int i, kind;

	for (i = 0; i < QUEUE_BATCH; i++) {
		udp4(bufs[i], i);
		if (i % 9 == 4)
			bufs[i][0] = 0x75;	/* version 7: malformed */
		pkts[i] = (struct queue_pkt){ i, 28, bufs[i] };
	}
	lb_lookup_batch(&v, (enum hash_mode)_i, 7, pkts, QUEUE_BATCH, res);
	for (i = 0; i < QUEUE_BATCH; i++) {
		kind = pkt_classify(bufs[i], 28, &key);
		ck_assert_uint_eq(res[i].kind, kind);
		if (kind == PKT_MALFORMED)
			ck_assert_uint_eq(res[i].slot, SHM_NO_SLOT);
		else
			ck_assert_uint_eq(res[i].slot, lookup[hash_reduce(
				hash_flow(key.w, (enum hash_mode)_i, 7), M)]);
	}
}
END_TEST

/* A short batch only writes its own results. */
START_TEST(batch_short)
{
	struct lb_result res[3] = { { .kind = 99, .slot = 12345 }, { .kind = 99, .slot = 12345 },
				    { .kind = 99, .slot = 12345 } };
	struct shm_view v = table();
	uint8_t buf[64];
	struct queue_pkt p = { 1, 28, buf };

	udp4(buf, 1);
	lb_lookup_batch(&v, HASH_5TUPLE, 7, &p, 1, res);
	ck_assert_uint_eq(res[0].kind, PKT_L4);
	ck_assert_uint_lt(res[0].slot, 3);
	ck_assert_uint_eq(res[1].slot, 12345);
	lb_lookup_batch(&v, HASH_5TUPLE, 7, &p, 0, res + 2);
	ck_assert_uint_eq(res[2].kind, 99);
}
END_TEST

/* A flow of protocol bits protos to 10.1.0.1/32, using table t. */
static struct flow flow_to(const char *name, uint32_t protos, int32_t prio, uint16_t encap)
{
	struct flow f = { .prio = prio, .protos = protos, .ndst = 1, .udp_encap = encap };

	snprintf(f.name, sizeof(f.name), "%s", name);
	snprintf(f.table, sizeof(f.table), "t-%s", name);
	f.dst[0] = (struct flow_cidr){ { 0, 0, 0xffff, 0x0a010001 }, 128, AF_INET, { 0 } };
	return f;
}

/* The ICMP error a router sends back to 10.1.0.1 about packet q (28 bytes). */
static void icmp_err4(uint8_t *p, const uint8_t *q)
{
	memset(p, 0, 56);
	p[0] = 0x45;
	p[3] = 56;
	p[9] = 1;
	p[12] = 10;
	p[13] = 9;
	p[16] = 10;
	p[17] = 1;
	p[19] = 1;
	p[20] = 3;	/* destination unreachable */
	p[21] = 4;	/* fragmentation needed */
	memcpy(p + 28, q, 28);
}

/* The reply of udp4(q, i): 10.1.0.1:80 -> 10.0.0.i:1000+i. */
static void reply4(uint8_t *q, unsigned int i)
{
	udp4(q, i);
	memcpy(q + 12, (uint8_t[]){ 10, 1, 0, 1, 10, 0, 0, (uint8_t)i }, 8);
	memcpy(q + 20, (uint8_t[]){ 0, 80, (uint8_t)((1000 + i) >> 8), (uint8_t)(1000 + i) }, 4);
}

/* Flows: each packet gets its flow's table, and there the slot of its own
 * hash; an ICMP error the flow of the packet it quotes; a packet no flow
 * takes, or whose table cannot be used, no slot. */
START_TEST(flows_match_lookup)
{
	struct flow f[3] = { flow_to("udp", FLOW_P_UDP, 0, 0), flow_to("tcp", FLOW_P_TCP, 5, 0),
			     flow_to("sctp", FLOW_P_SCTP, 0, 9899) };
	uint32_t flow_table[3] = { 0, 1, 0 };
	struct shm_view v = table();
	struct lb_table lt[2] = { { lookup, M, 7, HASH_5TUPLE }, { NULL, 1, 0, HASH_5TUPLE } };
	char why[WHY_MAX] = "";
	struct flow_match *m = flow_match_build(f, 3, why);
	struct lb_flows lf = { m, flow_table, lt };
	uint8_t b[5][64], q[28];
	struct queue_pkt p[5];
	struct lb_result r[5], one;
	struct pkt_key key;
	unsigned int i;

	ck_assert_msg(m != NULL, "%s", why);
	for (i = 0; i < 5; i++) {
		udp4(b[i], i + 1);
		p[i] = (struct queue_pkt){ i, 28, b[i] };
	}
	b[1][9] = 6;				/* TCP: table 1, not usable */
	b[1][32] = 5 << 4;
	p[1].len = 40;
	b[2][19] = 2;				/* to 10.1.0.2: no flow */
	reply4(q, 3);				/* an error about udp4(, 3)'s reply */
	icmp_err4(b[4], q);
	p[4].len = 56;
	lb_flows_match(&lf, p, 5, r);
	lb_flows_lookup(&lf, r, 5);
	ck_assert_int_eq(r[0].flow, 0);
	pkt_classify(b[0], 28, &key);
	ck_assert_uint_eq(r[0].slot, v.lookup[hash_reduce(hash_flow(key.w, HASH_5TUPLE, 7), M)]);
	ck_assert_int_eq(r[1].flow, 1);
	ck_assert_uint_eq(r[1].slot, SHM_NO_SLOT);
	ck_assert_int_eq(r[2].flow, -1);
	ck_assert_uint_eq(r[2].slot, SHM_NO_SLOT);
	ck_assert_uint_eq(r[4].kind, PKT_ICMP_ERROR);
	ck_assert_int_eq(r[4].flow, 0);
	udp4(b[0], 3);
	lb_flows_match(&lf, p, 1, &one);
	lb_flows_lookup(&lf, &one, 1);
	ck_assert_int_eq(one.flow, 0);
	ck_assert_uint_eq(r[4].entry, one.entry);
	ck_assert_uint_eq(r[4].slot, one.slot);
	flow_match_free(m);
}
END_TEST

/* SCTP over UDP to a port a flow names is matched and hashed as SCTP. */
START_TEST(flows_udp_encap)
{
	struct flow f[2] = { flow_to("udp", FLOW_P_UDP, 0, 0), flow_to("sctp", FLOW_P_SCTP, 0, 9899) };
	uint32_t flow_table[2] = { 0, 0 };
	struct lb_table lt[1] = { { lookup, M, 7, HASH_5TUPLE } };
	char why[WHY_MAX] = "";
	struct flow_match *m = flow_match_build(f, 2, why);
	struct lb_flows lf = { m, flow_table, lt };
	uint8_t b[48];
	struct queue_pkt p = { 1, 48, b };
	struct lb_result r;

	table();
	ck_assert_msg(m != NULL, "%s", why);
	udp4(b, 1);
	b[3] = 48;
	b[22] = 9899 >> 8;
	b[23] = 9899 & 0xff;
	b[25] = 28;			/* UDP length: 8 + the SCTP common header + 8 */
	b[28] = 0x0b;			/* inner SCTP: 3000 -> 36412 */
	b[29] = 0xb8;
	b[30] = 0x8e;
	b[31] = 0x3c;
	lb_flows_match(&lf, &p, 1, &r);
	ck_assert_int_eq(r.flow, 1);
	ck_assert_uint_eq(r.key.w[9], 132);
	ck_assert_uint_eq(r.key.w[8], 3000u << 16 | 36412u);
	b[23] = 0x01;			/* another port: plain UDP */
	lb_flows_match(&lf, &p, 1, &r);
	ck_assert_int_eq(r.flow, 0);
	flow_match_free(m);
}
END_TEST

/* An IPv4 SCTP-over-UDP datagram 10.0.0.1:9899 -> 10.1.0.1:9899 in two
 * fragments, inner SCTP 3000 -> 36412: the first (id 0x77, offset 0, the
 * UDP header and the SCTP common header) into a, the second (offset 24)
 * into b; each 44 bytes. */
static void encap_frags4(uint8_t *a, uint8_t *b)
{
	udp4(a, 1);
	a[3] = 44;
	a[5] = 0x77;
	a[6] = 0x20;			/* more fragments */
	memcpy(a + 20, (uint8_t[]){ 0x26, 0xab, 0x26, 0xab, 0, 48, 0, 0,
				    0x0b, 0xb8, 0x8e, 0x3c }, 12);
	memcpy(b, a, 20);
	b[7] = 3;			/* offset 24 bytes, the last one */
	b[6] = 0;
	memset(b + 20, 0xa5, 24);
}

/* Every fragment of SCTP over UDP gets the first one's decision from the
 * tracker: the first, re-keyed as SCTP, must name the same datagram as the
 * later ones, which have no ports and stay UDP. */
START_TEST(flows_udp_encap_fragments)
{
	struct flow f[1] = { flow_to("sctp", FLOW_P_SCTP, 0, 9899) };
	uint32_t flow_table[1] = { 0 };
	struct lb_table lt[1] = { { lookup, M, 7, HASH_SCTP } };
	char why[WHY_MAX] = "";
	struct flow_match *m = flow_match_build(f, 1, why);
	struct lb_flows lf = { m, flow_table, lt };
	struct frag *t = frag_new(16, 100, 1);
	struct frag_decision d = { NF_ACCEPT, 0, 0, 0 };
	uint8_t a[44], b[44];
	struct queue_pkt p[2] = { { 1, 44, a }, { 2, 44, b } };
	struct lb_result r[2];

	table();
	ck_assert_msg(m != NULL, "%s", why);
	ck_assert_ptr_nonnull(t);
	encap_frags4(a, b);
	lb_flows_match(&lf, p, 2, r);
	lb_flows_lookup(&lf, r, 2);
	ck_assert_uint_eq(r[0].meta.frag, PKT_FRAG_FIRST);
	ck_assert_uint_eq(r[0].key.w[9], 132);
	ck_assert_int_eq(r[0].flow, 0);
	ck_assert_uint_eq(r[1].meta.frag, PKT_FRAG_LATER);
	d.slot = r[0].slot;
	d.mark = 11;
	ck_assert_int_eq(frag_decide(t, &r[0].key, &r[0].meta, 1, &d, 0), FRAG_DECIDED);
	d = (struct frag_decision){ 0, 0, -1, SHM_NO_SLOT };
	ck_assert_int_eq(frag_decide(t, &r[1].key, &r[1].meta, 2, &d, 1), FRAG_DECIDED);
	ck_assert_uint_eq(d.mark, 11);
	ck_assert_int_eq(d.flow, 0);
	frag_free(t);
	flow_match_free(m);
}
END_TEST

/* An ICMP error is not re-keyed as SCTP over UDP, even when its own ICMP
 * header happens to read as the UDP ports of the key it gives (type 3, code
 * 1 and checksum 9899 as ports 769 -> 9899). */
START_TEST(flows_udp_encap_icmp_error)
{
	struct flow f[1] = { flow_to("any", 0, 0, 9899) };
	uint32_t flow_table[1] = { 0 };
	struct lb_table lt[1] = { { lookup, M, 7, HASH_5TUPLE } };
	char why[WHY_MAX] = "";
	struct flow_match *m = flow_match_build(f, 1, why);
	struct lb_flows lf = { m, flow_table, lt };
	uint8_t b[56], q[28];
	struct queue_pkt p = { 1, 56, b };
	struct lb_result r;

	table();
	ck_assert_msg(m != NULL, "%s", why);
	reply4(q, 1);				/* 10.1.0.1:9899 -> 10.0.0.1:769 */
	memcpy(q + 20, (uint8_t[]){ 0x26, 0xab, 0x03, 0x01 }, 4);
	icmp_err4(b, q);
	b[21] = 1;				/* host unreachable */
	b[22] = 0x26;				/* checksum 9899 */
	b[23] = 0xab;
	b[25] = 48;				/* "unused": 48 */
	lb_flows_match(&lf, &p, 1, &r);
	ck_assert_uint_eq(r.kind, PKT_ICMP_ERROR);
	ck_assert_uint_eq(r.key.w[9], 17);
	ck_assert_uint_eq(r.key.w[8], 769u << 16 | 9899u);
	flow_match_free(m);
}
END_TEST

/* --no-target and --no-flow verdicts. */
START_TEST(verdict_parse)
{
	struct lb_verdict v;

	ck_assert_int_eq(lb_verdict_parse("drop", &v), 0);
	ck_assert_uint_eq(v.verdict, NF_DROP);
	ck_assert_int_eq(lb_verdict_parse("accept", &v), 0);
	ck_assert_uint_eq(v.verdict, NF_ACCEPT);
	ck_assert_uint_eq(v.mark, 0);
	ck_assert_int_eq(lb_verdict_parse("mark=0x999", &v), 0);
	ck_assert_uint_eq(v.verdict, NF_ACCEPT);
	ck_assert_uint_eq(v.mark, 0x999);
	ck_assert_str_eq(v.text, "mark=0x999");
	ck_assert_int_eq(lb_verdict_parse("mark=0", &v), -1);
	ck_assert_int_eq(lb_verdict_parse("mark=", &v), -1);
	ck_assert_int_eq(lb_verdict_parse("reject", &v), -1);
	ck_assert_int_eq(lb_verdict_parse("mark=4294967296", &v), -1);
}
END_TEST

/* The first CPU this process may use. */
static int first_cpu(void)
{
	cpu_set_t set;
	int i;

	ck_assert_int_eq(sched_getaffinity(0, sizeof(set), &set), 0);
	for (i = 0; i < CPU_SETSIZE; i++)
		if (CPU_ISSET(i, &set))
			return i;
	ck_abort_msg("no CPU");
	return -1;
}

START_TEST(cpus_good)
{
	int cpu[8], c = first_cpu();
	char why[WHY_MAX], s[64];

	snprintf(s, sizeof(s), "%d", c);
	ck_assert_int_eq(lb_parse_cpus(s, cpu, 8, why), 1);
	ck_assert_int_eq(cpu[0], c);
	snprintf(s, sizeof(s), "%d,%d-%d,%d", c, c, c, c);
	ck_assert_int_eq(lb_parse_cpus(s, cpu, 8, why), 3);
	ck_assert(cpu[0] == c && cpu[1] == c && cpu[2] == c);
}
END_TEST

static const char *const bad_cpus[] = {
	"", ",", "0,", ",0", "1-0", "a", "-1", "0-", "0--1", "0 ", "0x", "1024",
	"99999999999", "0,,0",
};

START_TEST(cpus_bad)
{
	char why[WHY_MAX] = "";
	int cpu[8];

	errno = 0;
	ck_assert_int_eq(lb_parse_cpus(bad_cpus[_i], cpu, 8, why), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_msg(why[0] != '\0', "no reason for \"%s\"", bad_cpus[_i]);
	ck_assert_ptr_null(strchr(why, '\n'));
}
END_TEST

START_TEST(cpus_unavailable)
{
	char why[WHY_MAX] = "";
	cpu_set_t set;
	int cpu[8], i;

	ck_assert_int_eq(sched_getaffinity(0, sizeof(set), &set), 0);
	for (i = CPU_SETSIZE - 1; i >= 0 && CPU_ISSET(i, &set); i--)
		;
	ck_assert_int_ge(i, 0);
	snprintf(why, sizeof(why), "%d", i);
	ck_assert_int_eq(lb_parse_cpus(why, cpu, 8, why), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "not available"));
}
END_TEST

START_TEST(cpus_too_many)
{
	char why[WHY_MAX] = "", s[32];
	int cpu[2], c = first_cpu();

	snprintf(s, sizeof(s), "%d,%d,%d", c, c, c);
	ck_assert_int_eq(lb_parse_cpus(s, cpu, 2, why), -1);
	ck_assert_int_eq(errno, E2BIG);
	ck_assert_ptr_nonnull(strstr(why, "more CPUs than queues"));
}
END_TEST

static uint32_t next(uint32_t share, uint64_t waiting, uint64_t queued,
		     uint64_t dropped)
{
	struct shed_sample s = { waiting, queued, dropped, 4096 };

	return shed_next(share, &s);
}

#define HALF 2147483648u

/* A queue that took only half of what reached it: shed a bit over half of
 * what passes; a quarter of what passes at a quarter shed. */
START_TEST(shed_follows_drops)
{
	uint32_t s = next(0, 4096, 1000, 1000);

	ck_assert_uint_gt(s, HALF);
	ck_assert_uint_lt(s, HALF + HALF / 4);
	s = next(HALF, 4096, 3000, 1000);	/* pass 1/2 * 3/4 * 15/16 */
	ck_assert_uint_gt(s, HALF + HALF / 4);
	ck_assert_uint_lt(s, HALF + HALF / 2);
}
END_TEST

/* Drops keep raising it, but never to everything. */
START_TEST(shed_rises)
{
	uint32_t s = 0, prev = 0;
	int i;

	for (i = 0; i < 200; i++) {
		s = next(s, 4096, 10, 100);
		ck_assert_uint_ge(s, prev);
		prev = s;
	}
	ck_assert_uint_gt(s, UINT32_MAX / 2);
	ck_assert_uint_lt(s, UINT32_MAX);
	ck_assert_uint_gt(next(0, 10, 1000, 1), 0);	/* any drop */
	ck_assert_uint_gt(next(0, 2049, 1000, 0), 0);	/* more than half full */
	ck_assert_uint_eq(next(0, 0, 0, 0), 0);		/* idle */
}
END_TEST

/* An almost empty queue lowers it to 0; in between it holds. */
START_TEST(shed_falls)
{
	uint32_t s = UINT32_MAX - UINT32_MAX / 32;
	int i;

	ck_assert_uint_eq(next(s, 1000, 5000, 0), s);
	ck_assert_uint_eq(next(s, 2048, 5000, 0), s);
	for (i = 0; i < 400 && s; i++)
		s = next(s, 100, 5000, 0);
	ck_assert_uint_eq(s, 0);
}
END_TEST

Suite *make_lb_suite(void)
{
	Suite *s = suite_create("lb");
	TCase *tc = tcase_create("lb");

	tcase_add_loop_test(tc, batch_equals_single, 0, HASH_MODE_MAX);
	tcase_add_test(tc, batch_short);
	tcase_add_test(tc, flows_match_lookup);
	tcase_add_test(tc, flows_udp_encap);
	tcase_add_test(tc, flows_udp_encap_fragments);
	tcase_add_test(tc, flows_udp_encap_icmp_error);
	tcase_add_test(tc, verdict_parse);
	tcase_add_test(tc, cpus_good);
	tcase_add_loop_test(tc, cpus_bad, 0, (int)(sizeof(bad_cpus) / sizeof(bad_cpus[0])));
	tcase_add_test(tc, cpus_unavailable);
	tcase_add_test(tc, cpus_too_many);
	tcase_add_test(tc, shed_follows_drops);
	tcase_add_test(tc, shed_rises);
	tcase_add_test(tc, shed_falls);
	suite_add_tcase(s, tc);
	return s;
}
