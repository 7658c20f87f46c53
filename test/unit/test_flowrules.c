/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_flowrules.c: the iptables matches of a flow set (nfqlb/flowrules.h),
 * from hand-built flows. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "nfqlb/flowrules.h"
#include "shm/why.h"
#include "test/unit/suites.h"

#define ERR4(p) \
	"-d " p " -p icmp -m icmp --icmp-type destination-unreachable\n" \
	"-d " p " -p icmp -m icmp --icmp-type time-exceeded\n" \
	"-d " p " -p icmp -m icmp --icmp-type parameter-problem\n"
#define ERR6(p) \
	"-d " p " -p ipv6-icmp -m icmp6 --icmpv6-type destination-unreachable\n" \
	"-d " p " -p ipv6-icmp -m icmp6 --icmpv6-type packet-too-big\n" \
	"-d " p " -p ipv6-icmp -m icmp6 --icmpv6-type time-exceeded\n" \
	"-d " p " -p ipv6-icmp -m icmp6 --icmpv6-type parameter-problem\n"

/* A flow named name with protos, and nothing else yet. */
static struct flow flow(const char *name, uint32_t protos)
{
	struct flow f;

	memset(&f, 0, sizeof(f));
	snprintf(f.name, sizeof(f.name), "%s", name);
	snprintf(f.table, sizeof(f.table), "tab-%s", name);
	f.protos = protos;
	return f;
}

/* Add a destination prefix "ADDR/LEN" (IPv4 or IPv6) to f. */
static void dst(struct flow *f, const char *addr, unsigned len)
{
	struct flow_cidr *c = &f->dst[f->ndst++];
	unsigned char b[16];
	int i;

	memset(c, 0, sizeof(*c));
	if (inet_pton(AF_INET, addr, b) == 1) {
		c->family = AF_INET;
		c->w[2] = 0xffff;
		c->w[3] = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
		c->len = (uint8_t)(96 + len);
		return;
	}
	ck_assert_int_eq(inet_pton(AF_INET6, addr, b), 1);
	c->family = AF_INET6;
	for (i = 0; i < 4; i++)
		c->w[i] = (uint32_t)b[4 * i] << 24 | (uint32_t)b[4 * i + 1] << 16 |
			  (uint32_t)b[4 * i + 2] << 8 | b[4 * i + 3];
	c->len = (uint8_t)len;
}

static void dport(struct flow *f, uint16_t lo, uint16_t hi)
{
	f->dport[f->ndport].lo = lo;
	f->dport[f->ndport].hi = hi;
	f->ndport++;
}

/* The specs of f[0..n) in family, one a line. */
static char out[16384];

static const char *build_flags(const struct flow *f, size_t n, int family, unsigned flags,
			       size_t *flows)
{
	struct flowrules r;
	char why[WHY_MAX] = "";
	size_t i, len = 0;

	ck_assert_msg(flowrules_build(f, n, family, flags, &r, why) == 0, "%s", why);
	out[0] = '\0';
	for (i = 0; i < r.n; i++)
		len += (size_t)snprintf(out + len, sizeof(out) - len, "%s\n", r.spec[i]);
	ck_assert_uint_lt(len, sizeof(out));
	if (flows)
		*flows = r.flows;
	flowrules_free(&r);
	return out;
}

static const char *build(const struct flow *f, size_t n, int family, size_t *flows)
{
	return build_flags(f, n, family, 0, flows);
}

START_TEST(test_one_port)
{
	struct flow f = flow("web", FLOW_P_TCP);

	dst(&f, "10.0.0.1", 32);
	dport(&f, 80, 80);
	ck_assert_str_eq(build(&f, 1, AF_INET, NULL),
			 "-d 10.0.0.1/32 -p tcp -m tcp --dport 80\n" ERR4("10.0.0.1/32"));
	ck_assert_str_eq(build_flags(&f, 1, AF_INET, FLOWRULES_NO_ERRORS, NULL),
			 "-d 10.0.0.1/32 -p tcp -m tcp --dport 80\n");
}
END_TEST

/* Each family takes its own prefixes; IPv6 errors include packet too big. */
START_TEST(test_families)
{
	struct flow f = flow("dns", FLOW_P_UDP);
	size_t flows = 9;

	dst(&f, "10.0.0.0", 24);
	dst(&f, "fd00::100", 128);
	dport(&f, 53, 53);
	ck_assert_str_eq(build(&f, 1, AF_INET, &flows),
			 "-d 10.0.0.0/24 -p udp -m udp --dport 53\n" ERR4("10.0.0.0/24"));
	ck_assert_uint_eq(flows, 1);
	ck_assert_str_eq(build(&f, 1, AF_INET6, &flows),
			 "-d fd00::100/128 -p udp -m udp --dport 53\n" ERR6("fd00::100/128"));
	ck_assert_uint_eq(flows, 1);
	f.ndst = 1;
	ck_assert_str_eq(build(&f, 1, AF_INET6, &flows), "");
	ck_assert_uint_eq(flows, 0);
}
END_TEST

/* No protocol and no port: the prefix alone; "every address" spelt out. */
START_TEST(test_everything)
{
	struct flow f[2] = { flow("all4", 0), flow("all6", 0) };

	dst(&f[0], "0.0.0.0", 0);
	dst(&f[1], "::", 0);
	ck_assert_str_eq(build(f, 2, AF_INET, NULL), "-d 0.0.0.0/0\n" ERR4("0.0.0.0/0"));
	ck_assert_str_eq(build(f, 2, AF_INET6, NULL), "-d ::/0\n" ERR6("::/0"));
}
END_TEST

/* No protocol with a port list: the protocols with ports, and ICMP echo,
 * which ignores ports; a single range by --dport. */
START_TEST(test_ports_any_proto)
{
	struct flow f = flow("range", 0);

	dst(&f, "fd00::", 64);
	dport(&f, 8000, 8099);
	ck_assert_str_eq(build(&f, 1, AF_INET6, NULL),
			 "-d fd00::/64 -p tcp -m tcp --dport 8000:8099\n"
			 "-d fd00::/64 -p udp -m udp --dport 8000:8099\n"
			 "-d fd00::/64 -p sctp -m sctp --dport 8000:8099\n"
			 "-d fd00::/64 -p ipv6-icmp -m icmp6 --icmpv6-type echo-request\n"
			 "-d fd00::/64 -p ipv6-icmp -m icmp6 --icmpv6-type echo-reply\n"
			 ERR6("fd00::/64"));
}
END_TEST

/* multiport takes 15 ports, a range counting two: split beyond. */
START_TEST(test_multiport_split)
{
	struct flow f = flow("many", FLOW_P_SCTP);
	uint16_t p;

	dst(&f, "10.1.0.1", 32);
	for (p = 1; p <= 13; p++)
		dport(&f, p, p);
	dport(&f, 100, 199);		/* 13 + 2 = 15: fits */
	dport(&f, 200, 299);		/* would make 17 */
	for (p = 300; p < 314; p++)	/* 2 + 14 = 16: the last one spills */
		dport(&f, p, p);
	ck_assert_str_eq(build(&f, 1, AF_INET, NULL),
			 "-d 10.1.0.1/32 -p sctp -m multiport --dports "
			 "1,2,3,4,5,6,7,8,9,10,11,12,13,100:199\n"
			 "-d 10.1.0.1/32 -p sctp -m multiport --dports "
			 "200:299,300,301,302,303,304,305,306,307,308,309,310,311,312\n"
			 "-d 10.1.0.1/32 -p sctp -m multiport --dports 313\n"
			 ERR4("10.1.0.1/32"));
}
END_TEST

/* SCTP over UDP adds its UDP port; icmp is echo. */
START_TEST(test_encap_and_echo)
{
	struct flow f = flow("sig", FLOW_P_SCTP | FLOW_P_ICMP);

	dst(&f, "10.2.0.0", 16);
	dport(&f, 3868, 3868);
	dport(&f, 2905, 2905);
	f.udp_encap = 9899;
	ck_assert_str_eq(build(&f, 1, AF_INET, NULL),
			 "-d 10.2.0.0/16 -p sctp -m multiport --dports 3868,2905\n"
			 "-d 10.2.0.0/16 -p udp -m udp --dport 9899\n"
			 "-d 10.2.0.0/16 -p icmp -m icmp --icmp-type echo-request\n"
			 "-d 10.2.0.0/16 -p icmp -m icmp --icmp-type echo-reply\n"
			 ERR4("10.2.0.0/16"));
}
END_TEST

/* What two flows share comes once; the errors follow, prefixes sorted. */
START_TEST(test_dedup)
{
	struct flow f[3] = { flow("a", FLOW_P_TCP), flow("b", FLOW_P_TCP | FLOW_P_UDP),
			     flow("c", FLOW_P_TCP) };

	dst(&f[0], "10.0.0.2", 32);
	dst(&f[0], "10.0.0.1", 32);
	dport(&f[0], 443, 443);
	dst(&f[1], "10.0.0.1", 32);
	dport(&f[1], 443, 443);
	dst(&f[2], "10.0.0.2", 32);
	ck_assert_str_eq(build(f, 3, AF_INET, NULL),
			 "-d 10.0.0.2/32 -p tcp -m tcp --dport 443\n"
			 "-d 10.0.0.1/32 -p tcp -m tcp --dport 443\n"
			 "-d 10.0.0.1/32 -p udp -m udp --dport 443\n"
			 "-d 10.0.0.2/32 -p tcp\n"
			 ERR4("10.0.0.1/32") ERR4("10.0.0.2/32"));
}
END_TEST

START_TEST(test_empty)
{
	size_t flows = 9;

	ck_assert_str_eq(build(NULL, 0, AF_INET, &flows), "");
	ck_assert_uint_eq(flows, 0);
}
END_TEST

/* A flow on every address cannot be a rule: refused, named. */
START_TEST(test_no_dst)
{
	struct flow f[2] = { flow("ok", FLOW_P_TCP), flow("everywhere", FLOW_P_UDP) };
	struct flowrules r;
	char why[WHY_MAX] = "";

	dst(&f[0], "10.0.0.1", 32);
	errno = 0;
	ck_assert_int_eq(flowrules_build(f, 2, AF_INET6, 0, &r, why), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_str_eq(why, "flow 'everywhere' has no --dst (give one;"
			      " 0.0.0.0/0 or ::/0 means every address)");
	ck_assert_ptr_null(r.spec);
	ck_assert_uint_eq(r.n, 0);
}
END_TEST

START_TEST(test_icmp_lists)
{
	const char *const *e4 = flowrules_icmp_errors(AF_INET);
	const char *const *e6 = flowrules_icmp_errors(AF_INET6);
	int n4 = 0, n6 = 0;

	while (e4[n4])
		ck_assert_ptr_nonnull(strstr(e4[n4++], "-p icmp -m icmp --icmp-type "));
	while (e6[n6])
		ck_assert_ptr_nonnull(strstr(e6[n6++], "-p ipv6-icmp -m icmp6 --icmpv6-type "));
	ck_assert_int_eq(n4, 3);
	ck_assert_int_eq(n6, 4);
	ck_assert_str_eq(flowrules_icmp_proto(AF_INET), "icmp");
	ck_assert_str_eq(flowrules_icmp_proto(AF_INET6), "ipv6-icmp");
}
END_TEST

Suite *make_flowrules_suite(void)
{
	Suite *s = suite_create("flowrules");
	TCase *tc = tcase_create("flowrules");

	tcase_add_test(tc, test_one_port);
	tcase_add_test(tc, test_families);
	tcase_add_test(tc, test_everything);
	tcase_add_test(tc, test_ports_any_proto);
	tcase_add_test(tc, test_multiport_split);
	tcase_add_test(tc, test_encap_and_echo);
	tcase_add_test(tc, test_dedup);
	tcase_add_test(tc, test_empty);
	tcase_add_test(tc, test_no_dst);
	tcase_add_test(tc, test_icmp_lists);
	suite_add_tcase(s, tc);
	return s;
}
