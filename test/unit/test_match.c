/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_match.c: the compiled flow match (flows/match.h), by hand and
 * against a plain reference matcher on random flow sets. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "flows/match.h"
#include "shm/why.h"
#include "test/unit/ref_match.h"
#include "test/unit/suites.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---------------------------------------------------------------- helpers */

static struct flow mk(const char *name, int32_t prio, uint32_t protos)
{
	struct flow f;

	memset(&f, 0, sizeof(f));
	snprintf(f.name, sizeof(f.name), "%s", name);
	snprintf(f.table, sizeof(f.table), "t-%s", name);
	f.prio = prio;
	f.protos = protos;
	return f;
}

/* "a.b.c.d" or an IPv6 address into the key's four words. */
static void addr_words(const char *text, uint32_t *w)
{
	uint8_t b[16];
	int i;

	memset(w, 0, 4 * sizeof(*w));
	if (inet_pton(AF_INET, text, b) == 1) {
		w[2] = 0xffff;
		w[3] = (uint32_t)b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3];
		return;
	}
	ck_assert_int_eq(inet_pton(AF_INET6, text, b), 1);
	for (i = 0; i < 4; i++)
		w[i] = (uint32_t)b[4 * i] << 24 | b[4 * i + 1] << 16 |
		       b[4 * i + 2] << 8 | b[4 * i + 3];
}

/* "ADDR/LEN" appended to a prefix list. */
static void cidr(struct flow_cidr *list, uint16_t *n, const char *text)
{
	char a[64];
	const char *slash = strchr(text, '/');
	struct flow_cidr *c = &list[(*n)++];
	int len = atoi(slash + 1);

	snprintf(a, sizeof(a), "%.*s", (int)(slash - text), text);
	memset(c, 0, sizeof(*c));
	addr_words(a, c->w);
	c->family = strchr(a, ':') ? AF_INET6 : AF_INET;
	c->len = (uint8_t)(c->family == AF_INET ? 96 + len : len);
}

static void ports(struct flow_ports *list, uint16_t *n, uint16_t lo, uint16_t hi)
{
	list[*n].lo = lo;
	list[*n].hi = hi;
	(*n)++;
}

static struct pkt_key key(const char *src, const char *dst, uint32_t proto,
			  uint16_t sport, uint16_t dport)
{
	struct pkt_key k;

	memset(&k, 0, sizeof(k));
	addr_words(src, k.w);
	addr_words(dst, k.w + 4);
	k.w[8] = (uint32_t)sport << 16 | dport;
	k.w[9] = proto;
	return k;
}

static struct flow_match *build(const struct flow *f, size_t n)
{
	char why[WHY_MAX] = "";
	struct flow_match *m = flow_match_build(f, n, why);

	ck_assert_msg(m != NULL, "build: %s", why);
	return m;
}

static int look(const struct flow *f, size_t n, struct pkt_key k, enum flow_l4 l4)
{
	struct flow_match *m = build(f, n);
	int r = flow_match_lookup(m, &k, l4);

	flow_match_free(m);
	return r;
}

static void build_fails(const struct flow *f, size_t n, int err)
{
	char why[WHY_MAX] = "";

	errno = 0;
	ck_assert_ptr_null(flow_match_build(f, n, why));
	ck_assert_int_eq(errno, err);
	ck_assert_msg(why[0] != 0, "no reason given");
}

/* ---------------------------------------------------------------- by hand */

START_TEST(test_empty_set)
{
	struct pkt_key k = key("10.0.0.1", "10.0.0.2", 6, 1, 80);
	struct flow_match *m = build(NULL, 0);

	ck_assert_int_eq(flow_match_lookup(m, &k, FLOW_L4_PORTS), -1);
	ck_assert(!flow_match_encap(m, 0));
	ck_assert(!flow_match_encap(m, 9899));
	flow_match_free(m);
	flow_match_free(NULL);
}
END_TEST

START_TEST(test_match_all)
{
	struct flow f = mk("all", 0, 0);
	struct pkt_key k = key("10.0.0.1", "10.0.0.2", 6, 1, 80);

	ck_assert_int_eq(look(&f, 1, k, FLOW_L4_PORTS), 0);
	k = key("2001:db8::1", "::ffff:0:1", 200, 0, 0);
	ck_assert_int_eq(look(&f, 1, k, FLOW_L4_NONE), 0);
}
END_TEST

START_TEST(test_prio)
{
	struct flow f[3] = { mk("low", -5, 0), mk("high", 7, 0), mk("mid", 0, 0) };
	struct pkt_key k = key("10.0.0.1", "10.0.0.2", 6, 1, 80);

	ck_assert_int_eq(look(f, 3, k, FLOW_L4_PORTS), 1);
	f[1].protos = FLOW_P_UDP;
	ck_assert_int_eq(look(f, 3, k, FLOW_L4_PORTS), 2);
	f[2].protos = FLOW_P_SCTP;
	ck_assert_int_eq(look(f, 3, k, FLOW_L4_PORTS), 0);
}
END_TEST

/* Equal prios go to the name that sorts first, in whatever order given. */
START_TEST(test_tie_by_name)
{
	static const char *const perm[6][3] = {
		{ "b", "a", "c" }, { "a", "b", "c" }, { "c", "b", "a" },
		{ "b", "c", "a" }, { "c", "a", "b" }, { "a", "c", "b" },
	};
	struct pkt_key k = key("10.0.0.1", "10.0.0.2", 17, 1, 53);
	struct flow f[3];
	int i, r;

	for (i = 0; i < 3; i++)
		f[i] = mk(perm[_i][i], 3, 0);
	r = look(f, 3, k, FLOW_L4_PORTS);
	ck_assert_int_ge(r, 0);
	ck_assert_str_eq(f[r].name, "a");
	f[r].prio = 2;		/* "a" drops out of the tie: "b" next */
	r = look(f, 3, k, FLOW_L4_PORTS);
	ck_assert_str_eq(f[r].name, "b");
}
END_TEST

START_TEST(test_v4_v6_prefixes)
{
	struct flow f[2] = { mk("v4", 0, 0), mk("v6", 0, 0) };

	cidr(f[0].dst, &f[0].ndst, "10.0.0.0/8");
	cidr(f[1].dst, &f[1].ndst, "::/0");
	ck_assert_int_eq(look(f, 2, key("1.1.1.1", "10.1.2.3", 6, 1, 80), FLOW_L4_PORTS), 0);
	ck_assert_int_eq(look(f, 2, key("1.1.1.1", "11.0.0.1", 6, 1, 80), FLOW_L4_PORTS), -1);
	ck_assert_int_eq(look(f, 2, key("::1", "2001:db8::1", 6, 1, 80), FLOW_L4_PORTS), 1);
	ck_assert_int_eq(look(f, 2, key("::1", "::", 6, 1, 80), FLOW_L4_PORTS), 1);
	ck_assert_int_eq(look(f, 2, key("::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 6, 1, 80),
			      FLOW_L4_PORTS), 1);
	/* Right around the IPv4-mapped block. */
	ck_assert_int_eq(look(f, 2, key("::1", "::fffe:ffff:ffff", 6, 1, 80), FLOW_L4_PORTS), 1);
	ck_assert_int_eq(look(f, 2, key("::1", "::1:0:0:0", 6, 1, 80), FLOW_L4_PORTS), 1);
	ck_assert_int_eq(look(f, 2, key("::1", "0.0.0.0", 6, 1, 80), FLOW_L4_PORTS), -1);
	ck_assert_int_eq(look(f, 2, key("::1", "255.255.255.255", 6, 1, 80), FLOW_L4_PORTS), -1);
}
END_TEST

START_TEST(test_v4_all_v6_all)
{
	struct flow f[2] = { mk("a4", 0, 0), mk("b6", 0, 0) };

	cidr(f[0].src, &f[0].nsrc, "0.0.0.0/0");
	cidr(f[1].src, &f[1].nsrc, "::/0");
	ck_assert_int_eq(look(f, 2, key("0.0.0.0", "::1", 6, 1, 80), FLOW_L4_PORTS), 0);
	ck_assert_int_eq(look(f, 2, key("255.255.255.255", "::1", 6, 1, 80), FLOW_L4_PORTS), 0);
	ck_assert_int_eq(look(f, 2, key("fe80::1", "::1", 6, 1, 80), FLOW_L4_PORTS), 1);
	f[1].prio = 1;		/* ::/0 first: still never IPv4 */
	ck_assert_int_eq(look(f, 2, key("192.0.2.1", "::1", 6, 1, 80), FLOW_L4_PORTS), 0);
}
END_TEST

/* An IPv6 prefix inside ::ffff:0:0/96 holds IPv4 packets only: none. */
START_TEST(test_v6_prefix_in_mapped_block)
{
	struct flow f = mk("m", 0, 0);

	cidr(f.dst, &f.ndst, "::ffff:10.0.0.0/104");
	ck_assert_int_eq(look(&f, 1, key("1.1.1.1", "10.1.2.3", 6, 1, 80), FLOW_L4_PORTS), -1);
	cidr(f.dst, &f.ndst, "::ffff:0:0/96");
	ck_assert_int_eq(look(&f, 1, key("1.1.1.1", "10.1.2.3", 6, 1, 80), FLOW_L4_PORTS), -1);
	cidr(f.dst, &f.ndst, "::fffe:0:0/95");	/* holds the block: the rest of it */
	ck_assert_int_eq(look(&f, 1, key("1.1.1.1", "10.1.2.3", 6, 1, 80), FLOW_L4_PORTS), -1);
	ck_assert_int_eq(look(&f, 1, key("1.1.1.1", "::fffe:1:2", 6, 1, 80), FLOW_L4_PORTS), 0);
}
END_TEST

START_TEST(test_longest_prefix_is_not_the_rule)
{
	struct flow f[2] = { mk("wide", 5, 0), mk("narrow", 1, 0) };

	cidr(f[0].dst, &f[0].ndst, "10.0.0.0/8");
	cidr(f[1].dst, &f[1].ndst, "10.1.2.3/32");
	ck_assert_int_eq(look(f, 2, key("1.1.1.1", "10.1.2.3", 6, 1, 80), FLOW_L4_PORTS), 0);
	f[1].prio = 6;
	ck_assert_int_eq(look(f, 2, key("1.1.1.1", "10.1.2.3", 6, 1, 80), FLOW_L4_PORTS), 1);
	ck_assert_int_eq(look(f, 2, key("1.1.1.1", "10.1.2.4", 6, 1, 80), FLOW_L4_PORTS), 0);
}
END_TEST

static const struct { uint16_t port; bool in; } dport_edges[] = {
	{ 0, true }, { 1, false }, { 79, false }, { 80, true }, { 81, false },
	{ 7999, false }, { 8000, true }, { 8050, true }, { 8099, true },
	{ 8100, false }, { 65534, false }, { 65535, true },
};

START_TEST(test_port_edges)
{
	struct flow f = mk("p", 0, 0);
	int want = dport_edges[_i].in ? 0 : -1;

	ports(f.dport, &f.ndport, 8000, 8099);
	ports(f.dport, &f.ndport, 80, 80);
	ports(f.dport, &f.ndport, 0, 0);
	ports(f.dport, &f.ndport, 65535, 65535);
	ck_assert_int_eq(look(&f, 1, key("10.0.0.1", "10.0.0.2", 6, 5555, dport_edges[_i].port),
			      FLOW_L4_PORTS), want);
	/* The same as source ports, with the destination port elsewhere. */
	f.ndport = 0;
	ports(f.sport, &f.nsport, 8000, 8099);
	ports(f.sport, &f.nsport, 80, 80);
	ports(f.sport, &f.nsport, 0, 0);
	ports(f.sport, &f.nsport, 65535, 65535);
	ck_assert_int_eq(look(&f, 1, key("10.0.0.1", "10.0.0.2", 6, dport_edges[_i].port, 5555),
			      FLOW_L4_PORTS), want);
}
END_TEST

START_TEST(test_sport_and_dport)
{
	struct flow f = mk("p", 0, 0);

	ports(f.dport, &f.ndport, 53, 53);
	ports(f.sport, &f.nsport, 1024, 65535);
	ck_assert_int_eq(look(&f, 1, key("::1", "::2", 17, 1024, 53), FLOW_L4_PORTS), 0);
	ck_assert_int_eq(look(&f, 1, key("::1", "::2", 17, 1023, 53), FLOW_L4_PORTS), -1);
	ck_assert_int_eq(look(&f, 1, key("::1", "::2", 17, 53, 1024), FLOW_L4_PORTS), -1);
}
END_TEST

/* Echo: port lists do not apply; no ports: a flow with one does not match. */
START_TEST(test_icmp_echo_and_no_ports)
{
	struct flow f[2] = { mk("web", 10, FLOW_P_TCP | FLOW_P_ICMP), mk("rest", 0, 0) };
	struct pkt_key echo = key("10.0.0.1", "10.0.0.2", 1, 0, 0);
	struct pkt_key echo6 = key("fd00::1", "fd00::2", 58, 0, 0);
	struct pkt_key frag = key("10.0.0.1", "10.0.0.2", 6, 0, 0);

	ports(f[0].dport, &f[0].ndport, 80, 80);
	echo.w[8] = 0x1234u << 16;
	echo6.w[8] = 0xabcdu << 16;
	ck_assert_int_eq(look(f, 2, echo, FLOW_L4_ANY), 0);
	ck_assert_int_eq(look(f, 2, echo6, FLOW_L4_ANY), 0);
	ck_assert_int_eq(look(f, 2, echo, FLOW_L4_NONE), 1);
	ck_assert_int_eq(look(f, 2, frag, FLOW_L4_NONE), 1);
	ck_assert_int_eq(look(f, 1, frag, FLOW_L4_NONE), -1);
	ck_assert_int_eq(look(f, 1, key("10.0.0.1", "10.0.0.2", 6, 9, 80), FLOW_L4_PORTS), 0);
	/* An ICMP error quoting the TCP flow carries its protocol and ports. */
	ck_assert_int_eq(look(f, 1, key("10.0.0.1", "10.0.0.2", 6, 9, 80), FLOW_L4_PORTS), 0);
	/* Echo of a flow without ICMP does not match it, ports or not. */
	f[0].protos = FLOW_P_TCP;
	ck_assert_int_eq(look(f, 2, echo, FLOW_L4_ANY), 1);
	/* An unknown l4 matches nothing. */
	ck_assert_int_eq(look(f, 2, echo, (enum flow_l4)7), -1);
}
END_TEST

START_TEST(test_protocols)
{
	struct flow f[5] = { mk("tcp", 4, FLOW_P_TCP), mk("udp", 3, FLOW_P_UDP),
			     mk("sctp", 2, FLOW_P_SCTP), mk("icmp", 1, FLOW_P_ICMP),
			     mk("any", 0, 0) };
	static const struct { uint32_t proto; int want; } c[] = {
		{ 6, 0 }, { 17, 1 }, { 132, 2 }, { 1, 3 }, { 58, 3 }, { 47, 4 },
		{ 0, 4 }, { 255, 4 }, { 256 + 6, 4 }, { 0xffffffff, 4 },
	};
	size_t i;

	for (i = 0; i < N(c); i++)
		ck_assert_int_eq(look(f, 5, key("10.0.0.1", "10.0.0.2", c[i].proto, 0, 0),
				      c[i].proto == 1 || c[i].proto == 58 ? FLOW_L4_ANY :
				      FLOW_L4_PORTS), c[i].want);
	ck_assert_int_eq(look(f, 4, key("10.0.0.1", "10.0.0.2", 47, 0, 0), FLOW_L4_NONE), -1);
	f[0].protos = FLOW_P_ALL;	/* every bit: still not other protocols */
	ck_assert_int_eq(look(f, 4, key("10.0.0.1", "10.0.0.2", 47, 0, 0), FLOW_L4_NONE), -1);
	ck_assert_int_eq(look(f, 4, key("10.0.0.1", "10.0.0.2", 1, 0, 0), FLOW_L4_ANY), 0);
}
END_TEST

START_TEST(test_encap)
{
	struct flow f[3] = { mk("a", 0, FLOW_P_SCTP), mk("b", 0, 0), mk("c", 0, 0) };
	struct flow_match *m;

	f[0].udp_encap = 9899;
	f[1].udp_encap = 65535;
	m = build(f, 3);
	ck_assert(flow_match_encap(m, 9899));
	ck_assert(flow_match_encap(m, 65535));
	ck_assert(!flow_match_encap(m, 9898));
	ck_assert(!flow_match_encap(m, 9900));
	ck_assert(!flow_match_encap(m, 0));
	ck_assert(!flow_match_encap(m, 1));
	flow_match_free(m);
}
END_TEST

START_TEST(test_rejects)
{
	static struct flow f[FLOW_MAX + 1];
	size_t i;

	for (i = 0; i < N(f); i++) {
		char name[16];

		snprintf(name, sizeof(name), "f%zu", i);
		f[i] = mk(name, 0, 0);
	}
	build_fails(f, FLOW_MAX + 1, EINVAL);
	flow_match_free(build(f, FLOW_MAX));
	snprintf(f[7].name, sizeof(f[7].name), "f3");
	build_fails(f, 10, EINVAL);
	f[7] = mk("f7", 0, 0);
	f[2].name[0] = 0;
	build_fails(f, 3, EINVAL);
	f[2] = mk("f2", FLOW_PRIO_MAX + 1, 0);
	build_fails(f, 3, EINVAL);
	f[2] = mk("f2", 0, FLOW_P_ALL + 1);
	build_fails(f, 3, EINVAL);
	f[2] = mk("f2", 0, 0);
	ports(f[2].dport, &f[2].ndport, 90, 80);
	build_fails(f, 3, EINVAL);
	f[2] = mk("f2", 0, 0);
	cidr(f[2].src, &f[2].nsrc, "10.0.0.0/8");
	f[2].src[0].w[3] |= 1;		/* a bit past the length */
	build_fails(f, 3, EINVAL);
	f[2] = mk("f2", 0, 0);
	cidr(f[2].dst, &f[2].ndst, "2001:db8::/32");
	f[2].dst[0].family = AF_INET;	/* IPv4 outside the mapped block */
	build_fails(f, 3, EINVAL);
	f[2].dst[0].family = AF_INET6;
	f[2].dst[0].len = 129;
	build_fails(f, 3, EINVAL);
	f[2] = mk("f2", 0, 0);
	f[2].ndst = FLOW_CIDR_MAX + 1;
	build_fails(f, 3, EINVAL);
	f[2] = mk("f2", 0, 0);
	flow_match_free(build(f, 3));
}
END_TEST

/* ---------------------------------------------------------------- random */

static uint64_t rng;

static uint32_t rnd(void)
{
	rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
	return (uint32_t)(rng >> 33);
}

/* Prefixes cluster on a few bases so that they nest and overlap. */
static void rnd_cidr(struct flow_cidr *c)
{
	static const uint32_t v6[][4] = {
		{ 0, 0, 0, 0 }, { 0x20010db8, 0, 0, 0 }, { 0x20010db8, 0x10000, 0, 0 },
		{ 0, 0, 0xfffe, 0xffffffff }, { 0, 0, 1, 0 }, { 0xfd000000, 0, 0, 1 },
		{ 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff },
	};
	static const uint32_t v4[] = { 0x0a000000, 0x0a010203, 0, 0xffffffff, 0xc0a80000 };
	int i, bits, len;

	memset(c, 0, sizeof(*c));
	if (rnd() % 2) {
		c->family = AF_INET;
		len = (int)(rnd() % 33);
		memcpy(c->w, (uint32_t[4]){ 0, 0, 0xffff, v4[rnd() % N(v4)] ^ (rnd() % 4 ? 0 : rnd()) }, 16);
		c->len = (uint8_t)(96 + len);
	} else {
		c->family = AF_INET6;
		memcpy(c->w, v6[rnd() % N(v6)], 16);
		if (rnd() % 4 == 0)
			c->w[rnd() % 4] ^= rnd();
		c->len = (uint8_t)(rnd() % 3 == 0 ? 92 + rnd() % 10 : rnd() % 129);
	}
	for (i = 0; i < 4; i++) {	/* clear the bits past len */
		bits = c->len - 32 * i;
		c->w[i] &= bits <= 0 ? 0 : bits >= 32 ? 0xffffffffu : ~(0xffffffffu >> bits);
	}
}

static void rnd_ports(struct flow_ports *p)
{
	static const uint16_t anchor[] = { 0, 1, 53, 80, 443, 1024, 8000, 65534, 65535 };
	uint16_t a = anchor[rnd() % N(anchor)], b = (uint16_t)(a + rnd() % 3);

	if (rnd() % 4 == 0)
		b = (uint16_t)rnd();
	p->lo = a < b ? a : b;
	p->hi = a < b ? b : a;
}

static void rnd_flow(struct flow *f, uint32_t id)
{
	char name[16];
	uint16_t i, k;

	snprintf(name, sizeof(name), "n%u.%u", rnd() % 1000, id);
	*f = mk(name, (int32_t)(rnd() % 4) - 2, rnd() % 3 ? rnd() & FLOW_P_ALL : 0);
	k = (uint16_t)(rnd() % 3 ? rnd() % 4 : 0);
	for (i = 0; i < k; i++)
		rnd_cidr(&f->dst[f->ndst++]);
	k = (uint16_t)(rnd() % 3 ? 0 : rnd() % 3);
	for (i = 0; i < k; i++)
		rnd_cidr(&f->src[f->nsrc++]);
	k = (uint16_t)(rnd() % 2 ? rnd() % 4 : 0);
	for (i = 0; i < k; i++)
		rnd_ports(&f->dport[f->ndport++]);
	k = (uint16_t)(rnd() % 4 ? 0 : rnd() % 3);
	for (i = 0; i < k; i++)
		rnd_ports(&f->sport[f->nsport++]);
	f->udp_encap = (uint16_t)(rnd() % 8 ? 0 : rnd());
}

/* An address near an edge of some prefix of the set, or random. */
static void rnd_addr(const struct flow *f, size_t n, bool dst, uint32_t *a)
{
	const struct flow *g = &f[rnd() % n];
	const struct flow_cidr *c = dst ? g->dst : g->src;
	uint16_t nc = dst ? g->ndst : g->nsrc;
	int i, bits, edge = (int)(rnd() % 4);
	uint32_t low, carry;

	if (nc == 0 || rnd() % 8 == 0) {
		memcpy(a, (uint32_t[4]){ rnd() % 2 ? 0 : rnd(), 0, rnd() % 2 ? 0xffff : rnd(), rnd() }, 16);
		return;
	}
	c = &c[rnd() % nc];
	for (i = 0; i < 4; i++) {	/* the first (edge 0, 2) or last address */
		bits = c->len - 32 * i;
		low = bits <= 0 ? 0xffffffffu : bits >= 32 ? 0 : 0xffffffffu >> bits;
		a[i] = edge % 2 ? c->w[i] | low : c->w[i];
	}
	if (edge == 2)		/* one before the first */
		for (i = 3, carry = 1; i >= 0 && carry; i--)
			carry = a[i]-- == 0;
	if (edge == 3)		/* one past the last */
		for (i = 3, carry = 1; i >= 0 && carry; i--)
			carry = ++a[i] == 0;
}

static uint16_t rnd_port(const struct flow *f, size_t n, bool dst)
{
	const struct flow *g = &f[rnd() % n];
	const struct flow_ports *p = dst ? g->dport : g->sport;
	uint16_t np = dst ? g->ndport : g->nsport;

	if (np == 0 || rnd() % 8 == 0)
		return (uint16_t)rnd();
	p = &p[rnd() % np];
	switch (rnd() % 4) {
	case 0: return p->lo;
	case 1: return p->hi;
	case 2: return (uint16_t)(p->lo - 1);
	default: return (uint16_t)(p->hi + 1);
	}
}

static struct pkt_key rnd_key(const struct flow *f, size_t n)
{
	static const uint32_t protos[] = { 6, 17, 132, 1, 58, 47, 0, 6, 17 };
	struct pkt_key k;

	memset(&k, 0, sizeof(k));
	if (n == 0)
		return k;
	rnd_addr(f, n, false, k.w);
	rnd_addr(f, n, true, k.w + 4);
	k.w[8] = (uint32_t)rnd_port(f, n, false) << 16 | rnd_port(f, n, true);
	k.w[9] = protos[rnd() % N(protos)];
	return k;
}

#define SETS 300
#define KEYS 2000
#define SET_MAX 150

static void check_set(uint64_t seed, struct flow *f)
{
	size_t n = rnd() % (SET_MAX + 1), i;
	struct flow_match *m;
	struct pkt_key k;
	enum flow_l4 l4;
	int got, want;

	for (i = 0; i < n; i++)
		rnd_flow(&f[i], (uint32_t)i);
	m = build(f, n);
	for (i = 0; i < KEYS; i++) {
		k = rnd_key(f, n);
		l4 = (enum flow_l4)(rnd() % 3);
		got = flow_match_lookup(m, &k, l4);
		want = ref_lookup(f, n, &k, l4);
		ck_assert_msg(got == want,
			      "seed %llu, %zu flows, key %d: %08x:%08x:%08x:%08x -> "
			      "%08x:%08x:%08x:%08x ports %08x proto %u l4 %d: got %d, want %d",
			      (unsigned long long)seed, n, (int)i, k.w[0], k.w[1], k.w[2],
			      k.w[3], k.w[4], k.w[5], k.w[6], k.w[7], k.w[8], k.w[9], l4,
			      got, want);
	}
	for (i = 0; i < 64; i++) {
		uint16_t port = n && i % 2 ? f[rnd() % n].udp_encap : (uint16_t)rnd();
		bool encap = false;
		size_t j;

		for (j = 0; j < n; j++)
			encap |= port && f[j].udp_encap == port;
		ck_assert_msg(flow_match_encap(m, port) == encap, "seed %llu: encap %u",
			      (unsigned long long)seed, port);
	}
	flow_match_free(m);
}

START_TEST(test_against_reference)
{
	struct flow *f = calloc(SET_MAX, sizeof(*f));
	uint64_t seed;
	int s;

	ck_assert_ptr_nonnull(f);
	for (s = 0; s < SETS; s++) {
		seed = 0x6d617463ULL * 1000 + (uint64_t)s;
		rng = seed;
		check_set(seed, f);
	}
	free(f);
}
END_TEST

/* An IPv6 prefix that keeps the first `keep` bits of base, random bits
 * after them, and a length from keep to 128. */
static void cluster_cidr(struct flow_cidr *c, const uint32_t *base, int keep)
{
	int i, bits, len = keep + (int)(rnd() % (uint32_t)(129 - keep));
	uint32_t head;

	memset(c, 0, sizeof(*c));
	c->family = AF_INET6;
	c->len = (uint8_t)len;
	for (i = 0; i < 4; i++) {
		bits = keep - 32 * i;
		head = bits <= 0 ? 0 : bits >= 32 ? 0xffffffffu : ~(0xffffffffu >> bits);
		c->w[i] = (base[i] & head) | (rnd() & ~head);
		bits = len - 32 * i;
		c->w[i] &= bits <= 0 ? 0 : bits >= 32 ? 0xffffffffu : ~(0xffffffffu >> bits);
	}
}

/* An address in the cluster (the prefixes' common part), or any. */
static void cluster_addr(const uint32_t *base, int keep, uint32_t *a)
{
	struct flow_cidr c;

	if (rnd() % 4 == 0) {
		memcpy(a, (uint32_t[4]){ rnd(), rnd(), rnd(), rnd() }, 16);
		return;
	}
	cluster_cidr(&c, base, keep);
	memcpy(a, c.w, 16);
	a[3] |= rnd() % 2 ? rnd() : 0;
}

static const int cluster_keep[] = { 0, 8, 16, 48, 64, 100, 112, 120, 127, 128 };

/* IPv6 prefixes in one cluster, as VIPs of one site are: the IPv6 index
 * cuts the cluster, not the whole space, into buckets; keys in it, around
 * its edges and far from it. */
START_TEST(test_v6_cluster_against_reference)
{
	static const uint32_t base[4] = { 0x20010db8, 0xa0000, 0x12345678, 0x9abcdef0 };
	struct flow *f = calloc(FLOW_MAX, sizeof(*f));
	int keep = cluster_keep[_i], got, want;
	size_t n = 1 + (size_t)_i * 150, i;
	struct flow_match *m;
	struct pkt_key k;

	ck_assert_ptr_nonnull(f);
	rng = 0x636c7573ULL + (uint64_t)_i;
	for (i = 0; i < n; i++) {
		rnd_flow(&f[i], (uint32_t)i);
		while (f[i].ndst < FLOW_CIDR_MAX && rnd() % 4)
			cluster_cidr(&f[i].dst[f[i].ndst++], base, keep);
		while (f[i].nsrc < FLOW_CIDR_MAX && rnd() % 3 == 0)
			cluster_cidr(&f[i].src[f[i].nsrc++], base, keep);
	}
	m = build(f, n);
	for (i = 0; i < 6000; i++) {
		k = rnd_key(f, n);
		if (i % 2)
			cluster_addr(base, keep, k.w + 4 * (i % 4 == 1));
		got = flow_match_lookup(m, &k, FLOW_L4_PORTS);
		want = ref_lookup(f, n, &k, FLOW_L4_PORTS);
		ck_assert_msg(got == want, "keep %d key %zu: got %d, want %d", keep, i,
			      got, want);
	}
	flow_match_free(m);
	free(f);
}
END_TEST

/* Many flows, long lists: the multi-word bitsets and the deduplication. */
START_TEST(test_large_against_reference)
{
	struct flow *f = calloc(FLOW_MAX, sizeof(*f));
	uint64_t seed = 0x6c61726765ULL;
	struct flow_match *m;
	struct pkt_key k;
	size_t n = 1500, i;
	int got, want;

	ck_assert_ptr_nonnull(f);
	rng = seed;
	for (i = 0; i < n; i++) {
		rnd_flow(&f[i], (uint32_t)i);
		while (f[i].ndst < FLOW_CIDR_MAX && rnd() % 8)
			rnd_cidr(&f[i].dst[f[i].ndst++]);
		while (f[i].ndport && f[i].ndport < FLOW_PORT_MAX && rnd() % 4)
			rnd_ports(&f[i].dport[f[i].ndport++]);
	}
	m = build(f, n);
	for (i = 0; i < 4000; i++) {
		k = rnd_key(f, n);
		got = flow_match_lookup(m, &k, FLOW_L4_PORTS);
		want = ref_lookup(f, n, &k, FLOW_L4_PORTS);
		ck_assert_msg(got == want, "seed %llu key %zu: got %d, want %d",
			      (unsigned long long)seed, i, got, want);
	}
	flow_match_free(m);
	free(f);
}
END_TEST

Suite *make_match_suite(void)
{
	Suite *s = suite_create("match");
	TCase *tc = tcase_create("rules");

	tcase_add_test(tc, test_empty_set);
	tcase_add_test(tc, test_match_all);
	tcase_add_test(tc, test_prio);
	tcase_add_loop_test(tc, test_tie_by_name, 0, 6);
	tcase_add_test(tc, test_v4_v6_prefixes);
	tcase_add_test(tc, test_v4_all_v6_all);
	tcase_add_test(tc, test_v6_prefix_in_mapped_block);
	tcase_add_test(tc, test_longest_prefix_is_not_the_rule);
	tcase_add_loop_test(tc, test_port_edges, 0, N(dport_edges));
	tcase_add_test(tc, test_sport_and_dport);
	tcase_add_test(tc, test_icmp_echo_and_no_ports);
	tcase_add_test(tc, test_protocols);
	tcase_add_test(tc, test_encap);
	tcase_add_test(tc, test_rejects);
	suite_add_tcase(s, tc);
	tc = tcase_create("reference");
	tcase_add_test(tc, test_against_reference);
	tcase_add_test(tc, test_large_against_reference);
	tcase_add_loop_test(tc, test_v6_cluster_against_reference, 0, N(cluster_keep));
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}
