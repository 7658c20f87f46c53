/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_pkt.c: the packet classifier, on packets built byte by byte. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>

#include "maglev/hash.h"
#include "nfqlb/pkt.h"
#include "test/unit/suites.h"
#include "test/unit/wire.h"

#define HBH IPPROTO_HOPOPTS	/* 0 */
#define ROUT IPPROTO_ROUTING	/* 43 */
#define FRAG IPPROTO_FRAGMENT	/* 44 */
#define AH IPPROTO_AH		/* 51 */
#define DST IPPROTO_DSTOPTS	/* 60 */
#define TCP IPPROTO_TCP
#define UDP IPPROTO_UDP
#define SCTP IPPROTO_SCTP
#define UDPLITE IPPROTO_UDPLITE
#define ICMP4 IPPROTO_ICMP
#define ICMP6 IPPROTO_ICMPV6

#define CLIENT4 0x0a000001u	/* 10.0.0.1 */
#define VIP4 0xc0a80a0au	/* 192.168.10.10 */
#define ROUTER4 0xac100001u	/* 172.16.0.1 */
#define CPORT 40000
#define VPORT 80
#define PORTS(s, d) ((uint32_t)(s) << 16 | (d))

/* Each address as bytes, and as the key words it must give. */
static const uint8_t client6[16] = {	/* 2001:db8:1:2:3:4:5:6 */
	0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6 };
static const uint32_t client6_w[4] = {
	0x20010db8, 0x00010002, 0x00030004, 0x00050006 };
/* fd00:1111:2222:3333:4444:5555:6666:7777 */
static const uint8_t vip6[16] = {
	0xfd, 0x00, 0x11, 0x11, 0x22, 0x22, 0x33, 0x33,
	0x44, 0x44, 0x55, 0x55, 0x66, 0x66, 0x77, 0x77 };
static const uint32_t vip6_w[4] = {
	0xfd001111, 0x22223333, 0x44445555, 0x66667777 };
static const uint8_t router6[16] = {	/* 2001:db8:ffff::1 */
	0x20, 0x01, 0x0d, 0xb8, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };
static const uint32_t router6_w[4] = { 0x20010db8, 0xffff0000, 0, 1 };

struct pkt {
	uint8_t b[PKT_COPY_RANGE];
	size_t len;
};

/* ---- builders: each appends to the packet ---- */

static uint8_t *grow(struct pkt *k, size_t n)
{
	uint8_t *p = k->b + k->len;

	ck_assert_uint_le(k->len + n, sizeof(k->b));
	memset(p, 0, n);
	k->len += n;
	return p;
}

static size_t ip4(struct pkt *k, uint8_t proto, uint32_t src, uint32_t dst)
{
	size_t at = k->len;
	uint8_t *p = grow(k, 20);

	p[0] = 0x45;
	put16(p + 4, 0x1234);	/* id */
	p[8] = 64;
	p[9] = proto;
	put32(p + 12, src);
	put32(p + 16, dst);
	return at;
}

/* tot_len: everything from the header at `at` to the end. */
static void end4(struct pkt *k, size_t at)
{
	put16(k->b + at + 2, (unsigned int)(k->len - at));
}

static size_t ip6(struct pkt *k, uint8_t nh, const uint8_t *src,
		  const uint8_t *dst)
{
	size_t at = k->len;
	uint8_t *p = grow(k, 40);

	p[0] = 0x60;
	p[6] = nh;
	p[7] = 64;
	memcpy(p + 8, src, 16);
	memcpy(p + 24, dst, 16);
	return at;
}

static void end6(struct pkt *k, size_t at)
{
	put16(k->b + at + 4, (unsigned int)(k->len - at - 40));
}

/* Hop-by-hop, routing or destination options: len a multiple of 8. */
static void opt6(struct pkt *k, uint8_t nh, size_t len)
{
	uint8_t *p = grow(k, len);

	p[0] = nh;
	p[1] = (uint8_t)(len / 8 - 1);
	memset(p + 2, 0x01, len - 2);	/* PadN-ish filler, never parsed */
}

/* AH: len a multiple of 8 (IPv6), its length field in 4-octet units. */
static void ah6(struct pkt *k, uint8_t nh, size_t len)
{
	uint8_t *p = grow(k, len);

	p[0] = nh;
	p[1] = (uint8_t)(len / 4 - 2);
	put32(p + 4, 0x1001);	/* SPI */
}

static void frag6(struct pkt *k, uint8_t nh, unsigned int offset8, bool more)
{
	uint8_t *p = grow(k, 8);

	p[0] = nh;
	put16(p + 2, offset8 << 3 | more);
	put32(p + 4, 0xcafef00d);
}

static void l4(struct pkt *k, uint8_t proto, uint16_t sport, uint16_t dport)
{
	size_t len = proto == TCP ? 20 : proto == SCTP ? 12 : 8;
	uint8_t *p = grow(k, len);

	put16(p, sport);
	put16(p + 2, dport);
	if (proto == TCP) {
		p[12] = 0x50;	/* data offset 5 */
		p[13] = 0x10;	/* ACK */
	}
}

static void icmp(struct pkt *k, uint8_t type, uint8_t code, uint16_t id)
{
	uint8_t *p = grow(k, 8);

	p[0] = type;
	p[1] = code;
	put16(p + 4, id);
	put16(p + 6, 7);	/* sequence, or for errors the MTU's low half */
}

static void fill(struct pkt *k, size_t n)
{
	memset(grow(k, n), 0xa5, n);
}

/* A whole packet src:sport -> dst:dport (ports only for proto with ports). */
static void flow4(struct pkt *k, uint8_t proto, uint32_t src, uint32_t dst,
		  uint16_t sport, uint16_t dport)
{
	size_t at = ip4(k, proto, src, dst);

	l4(k, proto, sport, dport);
	fill(k, 10);
	end4(k, at);
}

static void flow6(struct pkt *k, uint8_t proto, const uint8_t *src,
		  const uint8_t *dst, uint16_t sport, uint16_t dport)
{
	size_t at = ip6(k, proto, src, dst);

	l4(k, proto, sport, dport);
	fill(k, 10);
	end6(k, at);
}

/* ---- expected keys and checks ---- */

static struct pkt_key key4(uint32_t src, uint32_t dst, uint32_t ports,
			   uint32_t proto)
{
	struct pkt_key k = { { 0, 0, 0xffff, src, 0, 0, 0xffff, dst,
			       ports, proto } };

	return k;
}

static struct pkt_key key6(const uint32_t *src, const uint32_t *dst,
			   uint32_t ports, uint32_t proto)
{
	struct pkt_key k = { { src[0], src[1], src[2], src[3],
			       dst[0], dst[1], dst[2], dst[3], ports, proto } };

	return k;
}

/*
 * Classify a copy in a heap block of exactly len bytes, placed at offset
 * `odd` (0 or 1) so the reads are unaligned too: ASan sees any read past the
 * end.  The key starts as garbage so that every word must be written.
 */
static enum pkt_kind classify_with(const uint8_t *b, size_t len, size_t odd,
				   struct pkt_key *key, struct pkt_meta *meta)
{
	uint8_t *copy = malloc(len + odd);
	enum pkt_kind kind;

	ck_assert_ptr_nonnull(copy);
	if (len)
		memcpy(copy + odd, b, len);
	memset(key, 0xa5, sizeof(*key));
	if (meta) {
		memset(meta, 0xa5, sizeof(*meta));
		kind = pkt_classify_meta(copy + odd, len, key, meta);
	} else
		kind = pkt_classify(copy + odd, len, key);
	free(copy);
	return kind;
}

static enum pkt_kind classify_at(const uint8_t *b, size_t len, size_t odd,
				 struct pkt_key *key)
{
	return classify_with(b, len, odd, key, NULL);
}

static enum pkt_kind classify(const struct pkt *k, struct pkt_key *key)
{
	return classify_at(k->b, k->len, 0, key);
}

/* pkt_classify_meta() on an exact-size copy, key and meta starting as
 * garbage. */
static enum pkt_kind classify_meta_at(const uint8_t *b, size_t len, size_t odd,
				      struct pkt_key *key, struct pkt_meta *meta)
{
	return classify_with(b, len, odd, key, meta);
}

static enum pkt_kind classify_meta(const struct pkt *k, struct pkt_key *key,
				   struct pkt_meta *meta)
{
	return classify_meta_at(k->b, k->len, 0, key, meta);
}

static void assert_key(const struct pkt_key *got, const struct pkt_key *want)
{
	int i;

	for (i = 0; i < HASH_FLOW_WORDS; i++)
		ck_assert_msg(got->w[i] == want->w[i],
			      "key w[%d] is 0x%08x, want 0x%08x", i,
			      (unsigned int)got->w[i], (unsigned int)want->w[i]);
}

static void expect(const struct pkt *k, enum pkt_kind kind,
		   const struct pkt_key *want)
{
	struct pkt_key got;

	ck_assert_str_eq(pkt_kind_name(classify(k, &got)), pkt_kind_name(kind));
	assert_key(&got, want);
}

static void assert_zero_key(const struct pkt_key *key)
{
	static const struct pkt_key zero;

	assert_key(key, &zero);
}

/* What pkt_classify_meta() must say besides the key. */
struct want_meta {
	uint8_t frag;
	uint32_t frag_id;
	uint16_t l4_off, l4_len;
	bool v6;
};

static void expect_meta(const struct pkt *k, enum pkt_kind kind,
			const struct pkt_key *want, const struct want_meta *wm)
{
	struct pkt_meta m;
	struct pkt_key got;

	ck_assert_str_eq(pkt_kind_name(classify_meta(k, &got, &m)), pkt_kind_name(kind));
	assert_key(&got, want);
	ck_assert_uint_eq(m.frag, wm->frag);
	ck_assert_uint_eq(m.frag_id, wm->frag_id);
	ck_assert_uint_eq(m.l4_off, wm->l4_off);
	ck_assert_uint_eq(m.l4_len, wm->l4_len);
	ck_assert_uint_eq(m.v6, wm->v6);
}

/* ---- plain flows ---- */

/* 10.0.0.1:40000 -> 10.0.0.2:80 TCP, spelled out byte by byte. */
START_TEST(test_literal_v4_tcp)
{
	static const uint8_t b[40] = {
		0x45, 0x00, 0x00, 0x28, 0x00, 0x01, 0x40, 0x00,	/* DF */
		0x40, 0x06, 0x00, 0x00, 10, 0, 0, 1, 10, 0, 0, 2,
		0x9c, 0x40, 0x00, 0x50, 0, 0, 0, 1, 0, 0, 0, 0,
		0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0 };
	struct pkt_key want = { { 0, 0, 0xffff, 0x0a000001, 0, 0, 0xffff,
				  0x0a000002, 0x9c400050, 6 } };
	struct pkt_key got;

	ck_assert_int_eq(classify_at(b, sizeof(b), 0, &got), PKT_L4);
	assert_key(&got, &want);
	ck_assert_int_eq(classify_at(b, sizeof(b), 1, &got), PKT_L4);
	assert_key(&got, &want);
}
END_TEST

static const struct {
	bool v6;
	uint8_t proto;
} l4_cases[] = {
	{ false, TCP }, { false, UDP }, { false, SCTP }, { false, UDPLITE },
	{ true, TCP }, { true, UDP }, { true, SCTP }, { true, UDPLITE },
};

START_TEST(test_l4)
{
	uint8_t proto = l4_cases[_i].proto;
	struct pkt k = { .len = 0 };
	struct pkt_key want;

	if (l4_cases[_i].v6) {
		flow6(&k, proto, client6, vip6, CPORT, VPORT);
		want = key6(client6_w, vip6_w, PORTS(CPORT, VPORT), proto);
	} else {
		flow4(&k, proto, CLIENT4, VIP4, CPORT, VPORT);
		want = key4(CLIENT4, VIP4, PORTS(CPORT, VPORT), proto);
	}
	expect(&k, PKT_L4, &want);
}
END_TEST

START_TEST(test_v4_options)
{
	struct pkt k = { .len = 0 };
	struct pkt_key want = key4(CLIENT4, VIP4, PORTS(1234, 5678), UDP);
	size_t at = ip4(&k, UDP, CLIENT4, VIP4);

	k.b[at] = 0x47;		/* IHL 7: 8 bytes of options */
	memset(grow(&k, 8), 0x01, 8);	/* NOP options */
	l4(&k, UDP, 1234, 5678);
	end4(&k, at);
	expect(&k, PKT_L4, &want);
}
END_TEST

/* tot_len bounds the parse; 0 (GSO) and more than captured are normal. */
START_TEST(test_v4_tot_len)
{
	struct pkt k = { .len = 0 };
	struct pkt_key l4key = key4(CLIENT4, VIP4, PORTS(CPORT, VPORT), TCP);
	struct pkt_key l3key = key4(CLIENT4, VIP4, 0, TCP);

	flow4(&k, TCP, CLIENT4, VIP4, CPORT, VPORT);
	fill(&k, 6);		/* link-layer padding past tot_len */
	expect(&k, PKT_L4, &l4key);
	put16(k.b + 2, 0);
	expect(&k, PKT_L4, &l4key);
	put16(k.b + 2, 9000);
	expect(&k, PKT_L4, &l4key);
	put16(k.b + 2, 23);	/* the ports are in the buffer, not the packet */
	expect(&k, PKT_L3, &l3key);
	put16(k.b + 2, 20);
	expect(&k, PKT_L3, &l3key);
}
END_TEST

START_TEST(test_v6_payload_len)
{
	struct pkt k = { .len = 0 };
	struct pkt_key l4key = key6(client6_w, vip6_w, PORTS(CPORT, VPORT), TCP);
	struct pkt_key l3key = key6(client6_w, vip6_w, 0, TCP);

	flow6(&k, TCP, client6, vip6, CPORT, VPORT);
	fill(&k, 6);
	expect(&k, PKT_L4, &l4key);
	put16(k.b + 4, 0);	/* jumbogram or GSO */
	expect(&k, PKT_L4, &l4key);
	put16(k.b + 4, 9000);
	expect(&k, PKT_L4, &l4key);
	put16(k.b + 4, 3);
	expect(&k, PKT_L3, &l3key);
}
END_TEST

START_TEST(test_l4_truncated)
{
	struct pkt k = { .len = 0 };
	struct pkt_key l3key = key4(CLIENT4, VIP4, 0, TCP);
	struct pkt_key l4key = key4(CLIENT4, VIP4, PORTS(CPORT, VPORT), TCP);
	size_t n;

	flow4(&k, TCP, CLIENT4, VIP4, CPORT, VPORT);
	k.b[32] = 0x00;		/* data offset 0: seen only from 13 bytes on */
	for (n = 20; n < 24; n++) {
		k.len = n;
		expect(&k, PKT_L3, &l3key);
	}
	for (n = 24; n < 33; n++) {
		k.len = n;
		expect(&k, PKT_L4, &l4key);
	}
	k.len = 33;
	expect(&k, PKT_MALFORMED, &(struct pkt_key){ { 0 } });
}
END_TEST

START_TEST(test_other_protocols)
{
	struct pkt k = { .len = 0 };
	struct pkt_key want;

	flow4(&k, IPPROTO_GRE, CLIENT4, VIP4, 1, 2);
	want = key4(CLIENT4, VIP4, 0, IPPROTO_GRE);
	expect(&k, PKT_L3, &want);
	k.len = 0;
	flow4(&k, ICMP6, CLIENT4, VIP4, 0x0800, 2);	/* ICMPv6 over IPv4, type 8 */
	want = key4(CLIENT4, VIP4, 0, ICMP6);
	expect(&k, PKT_L3, &want);
	k.len = 0;
	flow6(&k, IPPROTO_ESP, client6, vip6, 1, 2);
	want = key6(client6_w, vip6_w, 0, IPPROTO_ESP);
	expect(&k, PKT_L3, &want);
	k.len = 0;
	flow6(&k, ICMP4, client6, vip6, 0x8000, 2);	/* ICMPv4 over IPv6, type 128 */
	want = key6(client6_w, vip6_w, 0, ICMP4);
	expect(&k, PKT_L3, &want);
}
END_TEST

/* ---- IPv6 extension header chains ---- */

#define NONE IPPROTO_NONE	/* 59 */

static const struct chain_case {
	uint8_t ext[12];	/* extension header types, in order */
	unsigned int n;
	uint8_t proto;		/* what follows the chain */
	enum pkt_kind kind;
	uint8_t key_proto;
} chain_cases[] = {
	{ { HBH, DST, ROUT }, 3, TCP, PKT_L4, TCP },
	{ { HBH, ROUT, FRAG, DST }, 4, UDP, PKT_L4, UDP },	/* atomic fragment */
	{ { FRAG }, 1, TCP, PKT_L4, TCP },
	{ { AH }, 1, TCP, PKT_L4, TCP },
	{ { HBH, AH, DST }, 3, SCTP, PKT_L4, SCTP },
	{ { HBH, DST, ROUT, DST, AH, DST, FRAG, DST }, 8, TCP, PKT_L4, TCP },
	/* Longer than PKT_EXT_MAX: keyed by the header the walk stopped at. */
	{ { HBH, DST, DST, DST, DST, DST, DST, DST, ROUT }, 9, TCP, PKT_L3, ROUT },
	{ { HBH, DST, DST, DST, DST, DST, DST, DST, AH, DST, DST, DST },
	  12, UDP, PKT_L3, AH },
	{ { HBH }, 1, NONE, PKT_L3, NONE },
	{ { DST }, 1, IPPROTO_GRE, PKT_L3, IPPROTO_GRE },
	{ { HBH, DST }, 2, ICMP6, PKT_ICMP_ECHO, ICMP6 },
};

static void ext_hdr(struct pkt *k, uint8_t type, uint8_t nh, unsigned int i)
{
	if (type == FRAG)
		frag6(k, nh, 0, false);
	else if (type == AH)
		ah6(k, nh, 24);
	else
		opt6(k, nh, 8 * (1 + i % 3));
}

/* client6:40000 -> vip6:80 (or an echo with id 40000) behind a chain. */
static void chain6(struct pkt *k, const uint8_t *ext, unsigned int n,
		   uint8_t proto)
{
	size_t at = ip6(k, n ? ext[0] : proto, client6, vip6);
	unsigned int i;

	for (i = 0; i < n; i++)
		ext_hdr(k, ext[i], i + 1 < n ? ext[i + 1] : proto, i);
	if (proto == ICMP6)
		icmp(k, 128, 0, CPORT);
	else
		l4(k, proto, CPORT, VPORT);
	fill(k, 4);
	end6(k, at);
}

START_TEST(test_v6_chain)
{
	const struct chain_case *c = &chain_cases[_i];
	struct pkt k = { .len = 0 };
	uint32_t ports = c->kind == PKT_L4 ? PORTS(CPORT, VPORT) :
			 c->kind == PKT_ICMP_ECHO ? PORTS(CPORT, 0) : 0;
	struct pkt_key want = key6(client6_w, vip6_w, ports, c->key_proto);

	chain6(&k, c->ext, c->n, c->proto);
	expect(&k, c->kind, &want);
}
END_TEST

/* Cut off by the capture: L3; by the packet's own end: malformed. */
START_TEST(test_v6_chain_cut)
{
	static const uint8_t ext[] = { HBH, DST, FRAG };
	struct pkt k = { .len = 0 };
	struct pkt_key want = key6(client6_w, vip6_w, 0, DST);

	chain6(&k, ext, 3, TCP);	/* HBH 8, DST 16, FRAG 8 */
	k.len = 40 + 8 + 15;
	expect(&k, PKT_L3, &want);
	k.len = 40 + 8 + 1;
	expect(&k, PKT_L3, &want);
	k.len = 40 + 8 + 16 + 7;
	want.w[9] = FRAG;
	expect(&k, PKT_L3, &want);
	put16(k.b + 4, 8 + 16 + 7);	/* now the whole packet is there */
	expect(&k, PKT_MALFORMED, &(struct pkt_key){ { 0 } });
	k.len = 40 + 8 + 16 + 8 + 20;
	put16(k.b + 4, 8 + 15);		/* payload_len ends inside DST */
	expect(&k, PKT_MALFORMED, &(struct pkt_key){ { 0 } });
}
END_TEST

/* ---- fragments ---- */

static void frag4(struct pkt *k, unsigned int offset8, bool more)
{
	size_t at = ip4(k, TCP, CLIENT4, VIP4);

	put16(k->b + at + 6, (more ? 0x2000 : 0) | offset8);
	if (offset8 == 0)
		l4(k, TCP, CPORT, VPORT);
	fill(k, 64);
	end4(k, at);
}

/* pkt_classify() keys every fragment on addresses and protocol;
 * pkt_classify_meta() keys the first with its ports and tells which is
 * which, with the IP id. */
START_TEST(test_v4_fragments)
{
	struct pkt_key want = key4(CLIENT4, VIP4, 0, TCP);
	struct pkt_key full = key4(CLIENT4, VIP4, PORTS(CPORT, VPORT), TCP);
	struct pkt first = { .len = 0 }, mid = { .len = 0 };
	struct pkt last = { .len = 0 };

	frag4(&first, 0, true);
	frag4(&mid, 11, true);
	frag4(&last, 22, false);
	expect(&first, PKT_FRAGMENT, &want);
	expect(&mid, PKT_FRAGMENT, &want);
	expect(&last, PKT_FRAGMENT, &want);
	expect_meta(&first, PKT_FRAGMENT, &full,
		    &(struct want_meta){ PKT_FRAG_FIRST, 0x1234, 20, 20 + 64, false });
	expect_meta(&mid, PKT_FRAGMENT, &want,
		    &(struct want_meta){ PKT_FRAG_LATER, 0x1234, 0, 0, false });
	expect_meta(&last, PKT_FRAGMENT, &want,
		    &(struct want_meta){ PKT_FRAG_LATER, 0x1234, 0, 0, false });
}
END_TEST

/* The first fragment has the transport header after a given next header. */
static void frag6_pkt(struct pkt *k, uint8_t nh, unsigned int offset8,
		      bool more)
{
	size_t at = ip6(k, HBH, client6, vip6);

	opt6(k, FRAG, 8);
	frag6(k, nh, offset8, more);
	if (offset8 == 0 && nh == DST)
		opt6(k, TCP, 16);
	if (offset8 == 0)
		l4(k, TCP, CPORT, VPORT);
	fill(k, 64);
	end6(k, at);
}

/* The first fragment is walked to its transport header, past headers after
 * the fragment header too: keyed (and hashed in addr and src mode) as its
 * datagram is.  A later one is keyed by the fragment header's next
 * header. */
START_TEST(test_v6_fragments)
{
	static const uint8_t nhs[] = { TCP, DST };
	unsigned int i;

	for (i = 0; i < sizeof(nhs); i++) {
		struct pkt_key want = key6(client6_w, vip6_w, 0, TCP);
		struct pkt_key later = key6(client6_w, vip6_w, 0, nhs[i]);
		struct pkt_key full = key6(client6_w, vip6_w, PORTS(CPORT, VPORT), TCP);
		struct pkt first = { .len = 0 }, last = { .len = 0 };
		uint16_t off = (uint16_t)(40 + 8 + 8 + (nhs[i] == DST ? 16 : 0));

		frag6_pkt(&first, nhs[i], 0, true);
		frag6_pkt(&last, nhs[i], 181, false);
		expect(&first, PKT_FRAGMENT, &want);
		expect(&last, PKT_FRAGMENT, &later);
		expect_meta(&first, PKT_FRAGMENT, &full, &(struct want_meta){
			PKT_FRAG_FIRST, 0xcafef00d, off, (uint16_t)(first.len - off), true });
		expect_meta(&last, PKT_FRAGMENT, &later,
			    &(struct want_meta){ PKT_FRAG_LATER, 0xcafef00d, 0, 0, true });
	}
}
END_TEST

/* Offset 0 and no M flag: a whole datagram, reserved bits or not. */
START_TEST(test_v6_atomic_fragment)
{
	struct pkt k = { .len = 0 };
	struct pkt_key want = key6(client6_w, vip6_w, PORTS(CPORT, VPORT), TCP);
	struct want_meta wm = { PKT_FRAG_NONE, 0, 56, 20 + 64, true };

	frag6_pkt(&k, TCP, 0, false);
	expect(&k, PKT_L4, &want);
	expect_meta(&k, PKT_L4, &want, &wm);
	k.b[40 + 8 + 3] |= 0x06;	/* the two reserved bits */
	expect(&k, PKT_L4, &want);
	expect_meta(&k, PKT_L4, &want, &wm);
}
END_TEST

/* The transport header is located for every packet walked to it. */
START_TEST(test_meta_plain)
{
	struct pkt k = { .len = 0 };
	struct pkt_key want = key4(CLIENT4, VIP4, PORTS(CPORT, VPORT), UDP);

	flow4(&k, UDP, CLIENT4, VIP4, CPORT, VPORT);
	expect_meta(&k, PKT_L4, &want, &(struct want_meta){ 0, 0, 20, 8 + 10, false });
	k.len = 0;
	flow6(&k, TCP, client6, vip6, CPORT, VPORT);
	want = key6(client6_w, vip6_w, PORTS(CPORT, VPORT), TCP);
	expect_meta(&k, PKT_L4, &want, &(struct want_meta){ 0, 0, 40, 20 + 10, true });
	k.len = 0;
	flow4(&k, IPPROTO_GRE, CLIENT4, VIP4, 0, 0);
	want = key4(CLIENT4, VIP4, 0, IPPROTO_GRE);
	expect_meta(&k, PKT_L3, &want, &(struct want_meta){ 0, 0, 20, 8 + 10, false });
}
END_TEST

/* Nothing located: a chain cut by the capture; malformed: all zero. */
START_TEST(test_meta_not_located)
{
	static const uint8_t ext[] = { HBH, DST, FRAG };
	struct pkt k = { .len = 0 };
	struct pkt_key want = key6(client6_w, vip6_w, 0, DST);

	chain6(&k, ext, 3, TCP);
	k.len = 40 + 8 + 15;
	expect_meta(&k, PKT_L3, &want, &(struct want_meta){ 0, 0, 0, 0, true });
	k.len = 10;
	expect_meta(&k, PKT_MALFORMED, &(struct pkt_key){ { 0 } },
		    &(struct want_meta){ 0, 0, 0, 0, false });
}
END_TEST

/* A first fragment whose ports were not captured, or cut inside the chain
 * after its fragment header, is keyed as a later one. */
START_TEST(test_first_fragment_short)
{
	struct pkt k = { .len = 0 };
	struct pkt_key want = key4(CLIENT4, VIP4, 0, TCP);
	struct pkt_key want6 = key6(client6_w, vip6_w, 0, DST);

	frag4(&k, 0, true);
	k.len = 20 + 3;
	put16(k.b + 2, 23);
	expect_meta(&k, PKT_FRAGMENT, &want,
		    &(struct want_meta){ PKT_FRAG_FIRST, 0x1234, 20, 3, false });
	k.len = 0;
	frag6_pkt(&k, DST, 0, true);
	k.len = 40 + 8 + 8 + 9;		/* in the DST header after the FRAG */
	expect_meta(&k, PKT_FRAGMENT, &want6,
		    &(struct want_meta){ PKT_FRAG_FIRST, 0xcafef00d, 0, 0, true });
	expect(&k, PKT_FRAGMENT, &want6);
}
END_TEST

/* A first fragment of a big echo is keyed with the echo id, as the echo. */
START_TEST(test_first_fragment_echo)
{
	struct pkt k = { .len = 0 };
	size_t at = ip4(&k, ICMP4, CLIENT4, VIP4);
	struct pkt_key want = key4(CLIENT4, VIP4, PORTS(CPORT, 0), ICMP4);

	put16(k.b + at + 6, 0x2000);
	icmp(&k, 8, 0, CPORT);
	fill(&k, 32);
	end4(&k, at);
	expect_meta(&k, PKT_FRAGMENT, &want,
		    &(struct want_meta){ PKT_FRAG_FIRST, 0x1234, 20, 40, false });
	want.w[8] = 0;
	expect(&k, PKT_FRAGMENT, &want);
}
END_TEST

/* ---- ICMP ---- */

static const struct {
	bool v6;
	uint8_t type;
} echo_cases[] = {
	{ false, 8 }, { false, 0 }, { true, 128 }, { true, 129 },
};

START_TEST(test_icmp_echo)
{
	struct pkt k = { .len = 0 };
	struct pkt_key want;
	size_t at;

	if (echo_cases[_i].v6) {
		at = ip6(&k, ICMP6, client6, vip6);
		icmp(&k, echo_cases[_i].type, 0, 0xbeef);
		end6(&k, at);
		want = key6(client6_w, vip6_w, 0xbeef0000, ICMP6);
	} else {
		at = ip4(&k, ICMP4, CLIENT4, VIP4);
		icmp(&k, echo_cases[_i].type, 0, 0xbeef);
		end4(&k, at);
		want = key4(CLIENT4, VIP4, 0xbeef0000, ICMP4);
	}
	expect(&k, PKT_ICMP_ECHO, &want);
	k.len -= 3;		/* the id not captured */
	want.w[8] = 0;
	expect(&k, PKT_L3, &want);
}
END_TEST

START_TEST(test_icmp_other_types)
{
	static const uint8_t v4types[] = { 5, 9, 13, 255 };
	static const uint8_t v6types[] = { 130, 133, 134, 135, 137 };
	struct pkt_key want4 = key4(ROUTER4, VIP4, 0, ICMP4);
	struct pkt_key want6 = key6(router6_w, vip6_w, 0, ICMP6);
	struct pkt k;
	unsigned int i;

	for (i = 0; i < sizeof(v4types); i++) {
		k.len = 0;
		ip4(&k, ICMP4, ROUTER4, VIP4);
		icmp(&k, v4types[i], 0, 0x1111);
		flow4(&k, TCP, VIP4, CLIENT4, VPORT, CPORT);	/* looks quoted */
		end4(&k, 0);
		expect(&k, PKT_L3, &want4);
	}
	for (i = 0; i < sizeof(v6types); i++) {
		k.len = 0;
		ip6(&k, ICMP6, router6, vip6);
		icmp(&k, v6types[i], 0, 0x1111);
		flow6(&k, TCP, vip6, client6, VPORT, CPORT);
		end6(&k, 0);
		expect(&k, PKT_L3, &want6);
	}
	k.len = 0;
	ip4(&k, ICMP4, ROUTER4, VIP4);	/* no ICMP header at all */
	end4(&k, 0);
	expect(&k, PKT_L3, &want4);
}
END_TEST

/* An ICMP error from a router to the VIP, up to the quoted packet. */
static void error4(struct pkt *k, uint8_t type, uint8_t code)
{
	ip4(k, ICMP4, ROUTER4, VIP4);
	icmp(k, type, code, 0);
	put16(k->b + 20 + 6, 1400);	/* next-hop MTU, for frag needed */
}

static void error6(struct pkt *k, uint8_t type, uint8_t code)
{
	ip6(k, ICMP6, router6, vip6);
	icmp(k, type, code, 0);
	put32(k->b + 40 + 4, 1280);	/* MTU, for packet too big */
}

/*
 * Quoted: the start of a reply VIP:VPORT -> client:CPORT (an echo reply with
 * id CPORT for ICMP) of 1500 bytes, of which the router kept the IP header
 * and l4len bytes.
 */
static void quote4(struct pkt *k, uint8_t proto, size_t l4len)
{
	size_t at = ip4(k, proto, VIP4, CLIENT4);

	if (proto == ICMP4)
		icmp(k, 0, 0, CPORT);	/* echo reply */
	else
		l4(k, proto, VPORT, CPORT);
	fill(k, 40);
	put16(k->b + at + 2, 1500);
	k->len = at + 20 + l4len;
}

static void quote6(struct pkt *k, uint8_t proto, size_t l4len)
{
	size_t at = ip6(k, proto, vip6, client6);

	if (proto == ICMP6)
		icmp(k, 129, 0, CPORT);
	else
		l4(k, proto, VPORT, CPORT);
	fill(k, 40);
	put16(k->b + at + 4, 1460);
	k->len = at + 40 + l4len;
}

static void assert_same_hash(const struct pkt_key *a, const struct pkt_key *b)
{
	static const uint32_t seeds[] = { 0, 1, 0xdeadbeef };
	int mode;
	unsigned int i;

	for (mode = HASH_5TUPLE; mode < HASH_MODE_MAX; mode++)
		for (i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++)
			ck_assert_uint_eq(hash_flow(a->w, mode, seeds[i]),
					  hash_flow(b->w, mode, seeds[i]));
}

/* The acid test: the error lands where the client's packets land. */
START_TEST(test_icmp4_frag_needed)
{
	struct pkt flow = { .len = 0 }, err = { .len = 0 };
	struct pkt_key want = key4(CLIENT4, VIP4, PORTS(CPORT, VPORT), TCP);
	struct pkt_key fkey, ekey;

	flow4(&flow, TCP, CLIENT4, VIP4, CPORT, VPORT);
	ck_assert_int_eq(classify(&flow, &fkey), PKT_L4);
	error4(&err, 3, 4);
	quote4(&err, TCP, 8);	/* RFC 792: IP header + 64 bits */
	end4(&err, 0);
	ck_assert_int_eq(classify(&err, &ekey), PKT_ICMP_ERROR);
	assert_key(&ekey, &want);
	assert_key(&ekey, &fkey);
	assert_same_hash(&ekey, &fkey);
	err.len = 0;
	error4(&err, 3, 4);
	quote4(&err, TCP, 60);	/* RFC 1812: as much as fits */
	end4(&err, 0);
	expect(&err, PKT_ICMP_ERROR, &want);
}
END_TEST

START_TEST(test_icmp6_packet_too_big)
{
	struct pkt flow = { .len = 0 }, err = { .len = 0 };
	struct pkt_key want = key6(client6_w, vip6_w, PORTS(CPORT, VPORT), TCP);
	struct pkt_key fkey, ekey;

	flow6(&flow, TCP, client6, vip6, CPORT, VPORT);
	ck_assert_int_eq(classify(&flow, &fkey), PKT_L4);
	error6(&err, 2, 0);
	quote6(&err, TCP, 60);
	end6(&err, 0);
	ck_assert_int_eq(classify(&err, &ekey), PKT_ICMP_ERROR);
	assert_key(&ekey, &want);
	assert_key(&ekey, &fkey);
	assert_same_hash(&ekey, &fkey);
}
END_TEST

/* The quoted packet carries an extension header chain of its own. */
START_TEST(test_icmp6_quoted_chain)
{
	static const uint8_t ext[] = { HBH, DST };
	struct pkt err = { .len = 0 }, flow = { .len = 0 };
	struct pkt_key want = key6(client6_w, vip6_w, PORTS(CPORT, VPORT), TCP);
	struct pkt_key fkey, ekey;
	size_t at;

	chain6(&flow, ext, 2, TCP);	/* client -> vip */
	ck_assert_int_eq(classify(&flow, &fkey), PKT_L4);
	assert_key(&fkey, &want);
	error6(&err, 1, 4);
	at = ip6(&err, HBH, vip6, client6);	/* the reply, vip -> client */
	opt6(&err, DST, 16);
	opt6(&err, TCP, 8);
	l4(&err, TCP, VPORT, CPORT);
	put16(err.b + at + 4, 1200);
	end6(&err, 0);
	ck_assert_int_eq(classify(&err, &ekey), PKT_ICMP_ERROR);
	assert_key(&ekey, &want);
	assert_same_hash(&ekey, &fkey);
}
END_TEST

static const struct {
	bool v6;
	uint8_t type, code, proto;
} error_cases[] = {
	{ false, 3, 3, UDP },	/* port unreachable */
	{ false, 3, 1, SCTP },	/* host unreachable */
	{ false, 11, 0, TCP },	/* time exceeded */
	{ false, 12, 0, UDPLITE },	/* parameter problem */
	{ true, 1, 4, UDP },
	{ true, 3, 0, TCP },
	{ true, 4, 1, SCTP },
	{ true, 2, 0, UDPLITE },
};

START_TEST(test_icmp_errors)
{
	uint8_t proto = error_cases[_i].proto;
	struct pkt k = { .len = 0 };
	struct pkt_key want;

	if (error_cases[_i].v6) {
		error6(&k, error_cases[_i].type, error_cases[_i].code);
		quote6(&k, proto, 8);
		end6(&k, 0);
		want = key6(client6_w, vip6_w, PORTS(CPORT, VPORT), proto);
	} else {
		error4(&k, error_cases[_i].type, error_cases[_i].code);
		quote4(&k, proto, 8);
		end4(&k, 0);
		want = key4(CLIENT4, VIP4, PORTS(CPORT, VPORT), proto);
	}
	expect(&k, PKT_ICMP_ERROR, &want);
}
END_TEST

/* Quoted transport header cut before the ports: addresses and protocol. */
START_TEST(test_icmp_error_short_quote)
{
	struct pkt k = { .len = 0 };
	struct pkt_key want4 = key4(CLIENT4, VIP4, 0, TCP);
	struct pkt_key want6 = key6(client6_w, vip6_w, 0, UDP);
	size_t n;

	for (n = 0; n < 4; n++) {
		k.len = 0;
		error4(&k, 11, 0);
		quote4(&k, TCP, n);
		end4(&k, 0);
		expect(&k, PKT_ICMP_ERROR, &want4);
		k.len = 0;
		error6(&k, 3, 0);
		quote6(&k, UDP, n);
		end6(&k, 0);
		expect(&k, PKT_ICMP_ERROR, &want6);
	}
}
END_TEST

/* An error about an echo reply goes where the echo request went. */
START_TEST(test_icmp_error_quoting_echo)
{
	struct pkt k = { .len = 0 };
	struct pkt_key want4 = key4(CLIENT4, VIP4, PORTS(CPORT, 0), ICMP4);
	struct pkt_key want6 = key6(client6_w, vip6_w, PORTS(CPORT, 0), ICMP6);
	struct pkt_key echo;

	error4(&k, 11, 0);
	quote4(&k, ICMP4, 8);
	end4(&k, 0);
	expect(&k, PKT_ICMP_ERROR, &want4);
	k.len = 0;
	ip4(&k, ICMP4, CLIENT4, VIP4);
	icmp(&k, 8, 0, CPORT);
	end4(&k, 0);
	ck_assert_int_eq(classify(&k, &echo), PKT_ICMP_ECHO);
	assert_key(&echo, &want4);
	k.len = 0;
	error6(&k, 3, 0);
	quote6(&k, ICMP6, 8);
	end6(&k, 0);
	expect(&k, PKT_ICMP_ERROR, &want6);
}
END_TEST

/* No recursion: an error quoting an error keeps addresses and protocol. */
START_TEST(test_icmp_error_quoting_error)
{
	struct pkt k = { .len = 0 };
	struct pkt_key want4 = key4(CLIENT4, VIP4, 0, ICMP4);
	struct pkt_key want6 = key6(client6_w, vip6_w, 0, ICMP6);
	size_t at;

	error4(&k, 3, 1);
	at = ip4(&k, ICMP4, VIP4, CLIENT4);
	icmp(&k, 3, 3, 0);
	quote4(&k, UDP, 8);
	end4(&k, at);
	end4(&k, 0);
	expect(&k, PKT_ICMP_ERROR, &want4);
	k.len = 0;
	error6(&k, 1, 0);
	at = ip6(&k, ICMP6, vip6, client6);
	icmp(&k, 1, 4, 0);
	quote6(&k, UDP, 8);
	end6(&k, at);
	end6(&k, 0);
	expect(&k, PKT_ICMP_ERROR, &want6);
}
END_TEST

/* A quoted protocol without ports: addresses and protocol only. */
START_TEST(test_icmp_error_quoting_other)
{
	struct pkt k = { .len = 0 };
	struct pkt_key want4 = key4(CLIENT4, VIP4, 0, IPPROTO_GRE);
	struct pkt_key want6 = key6(client6_w, vip6_w, 0, IPPROTO_ESP);

	error4(&k, 3, 4);
	quote4(&k, IPPROTO_GRE, 8);
	end4(&k, 0);
	expect(&k, PKT_ICMP_ERROR, &want4);
	k.len = 0;
	error6(&k, 2, 0);
	quote6(&k, IPPROTO_ESP, 8);
	end6(&k, 0);
	expect(&k, PKT_ICMP_ERROR, &want6);
}
END_TEST

/* A quoted fragment is keyed like a fragment: no ports. */
START_TEST(test_icmp_error_quoting_fragment)
{
	struct pkt k = { .len = 0 };
	struct pkt_key want = key4(CLIENT4, VIP4, 0, UDP);

	error4(&k, 11, 1);	/* reassembly time exceeded */
	quote4(&k, UDP, 8);
	put16(k.b + 28 + 6, 0x2000);	/* MF */
	end4(&k, 0);
	expect(&k, PKT_ICMP_ERROR, &want);
}
END_TEST

/* ---- malformed packets ---- */

static void bad_empty(struct pkt *k)
{
	k->len = 0;
}

static void bad_len1(struct pkt *k)
{
	flow4(k, TCP, CLIENT4, VIP4, CPORT, VPORT);
	k->len = 1;
}

static void bad_v4_short(struct pkt *k)
{
	flow4(k, TCP, CLIENT4, VIP4, CPORT, VPORT);
	k->len = 19;
}

/* UDP: no TCP data offset check to catch it by accident. */
static void bad_ihl_small(struct pkt *k)
{
	flow4(k, UDP, CLIENT4, VIP4, CPORT, VPORT);
	k->b[0] = 0x44;
}

static void bad_ihl_past_end(struct pkt *k)
{
	flow4(k, TCP, CLIENT4, VIP4, CPORT, VPORT);
	k->b[0] = 0x4f;		/* 60 bytes of header */
	put16(k->b + 2, 1500);
	k->len = 59;
}

static void bad_tot_len(struct pkt *k)
{
	flow4(k, TCP, CLIENT4, VIP4, CPORT, VPORT);
	put16(k->b + 2, 19);
}

static void bad_tot_len_options(struct pkt *k)
{
	flow4(k, TCP, CLIENT4, VIP4, CPORT, VPORT);
	k->b[0] = 0x46;
	put16(k->b + 2, 23);
}

static void bad_version0(struct pkt *k)
{
	flow4(k, TCP, CLIENT4, VIP4, CPORT, VPORT);
	k->b[0] = 0x05;
}

static void bad_version5(struct pkt *k)
{
	flow4(k, TCP, CLIENT4, VIP4, CPORT, VPORT);
	k->b[0] = 0x55;
}

static void bad_version15(struct pkt *k)
{
	flow6(k, TCP, client6, vip6, CPORT, VPORT);
	k->b[0] = 0xf0;
}

static void bad_v6_short(struct pkt *k)
{
	flow6(k, TCP, client6, vip6, CPORT, VPORT);
	k->len = 39;
}

/* DST says 24 bytes; the packet, all captured, ends 16 bytes in. */
static void bad_chain_past_end(struct pkt *k)
{
	static const uint8_t ext[] = { HBH, DST };

	chain6(k, ext, 2, TCP);
	k->b[40 + 8 + 1] = 2;
	k->len = 40 + 8 + 16;
	end6(k, 0);
}

static void bad_tcp_doff(struct pkt *k)
{
	flow4(k, TCP, CLIENT4, VIP4, CPORT, VPORT);
	k->b[20 + 12] = 0x40;
}

static void bad_tcp_doff6(struct pkt *k)
{
	flow6(k, TCP, client6, vip6, CPORT, VPORT);
	k->b[40 + 12] = 0x00;
}

static void bad_error_no_quote(struct pkt *k)
{
	error4(k, 3, 4);
	end4(k, 0);
}

static void bad_error_short_icmp(struct pkt *k)
{
	error4(k, 3, 4);
	quote4(k, TCP, 8);
	k->len = 20 + 7;
	end4(k, 0);
}

static void bad_error_inner_short(struct pkt *k)
{
	error4(k, 3, 4);
	quote4(k, TCP, 8);
	k->len = 28 + 19;
	end4(k, 0);
}

static void bad_error_inner_ihl(struct pkt *k)
{
	error4(k, 3, 4);
	quote4(k, UDP, 8);
	k->b[28] = 0x43;
	end4(k, 0);
}

static void bad_error_inner_version(struct pkt *k)
{
	error4(k, 11, 0);
	quote4(k, TCP, 8);
	k->b[28] = 0x05;
	end4(k, 0);
}

static void bad_error_inner_doff(struct pkt *k)
{
	error4(k, 3, 4);
	quote4(k, TCP, 20);
	k->b[28 + 20 + 12] = 0x30;
	end4(k, 0);
}

static void bad_error6_inner_short(struct pkt *k)
{
	error6(k, 2, 0);
	quote6(k, TCP, 8);
	k->len = 48 + 39;
	end6(k, 0);
}

static void bad_v4_in_icmp6(struct pkt *k)
{
	error6(k, 2, 0);
	quote4(k, TCP, 8);
	end6(k, 0);
}

static void bad_v6_in_icmp4(struct pkt *k)
{
	error4(k, 3, 4);
	quote6(k, TCP, 8);
	end4(k, 0);
}

/* The quoted IPv6 packet is all there, and its chain runs past its end. */
static void bad_error6_inner_chain(struct pkt *k)
{
	error6(k, 1, 0);
	ip6(k, HBH, vip6, client6);
	opt6(k, TCP, 8);
	k->b[48 + 40 + 1] = 1;	/* 16 bytes */
	l4(k, TCP, VPORT, CPORT);
	put16(k->b + 48 + 4, 12);
	k->len = 48 + 40 + 12;
	end6(k, 0);
}

static const struct {
	const char *name;
	void (*build)(struct pkt *k);
} bad_cases[] = {
	{ "empty", bad_empty },
	{ "len 1", bad_len1 },
	{ "IPv4 header cut", bad_v4_short },
	{ "IHL < 5", bad_ihl_small },
	{ "IHL past the end", bad_ihl_past_end },
	{ "tot_len < IHL*4", bad_tot_len },
	{ "tot_len < IHL*4 with options", bad_tot_len_options },
	{ "version 0", bad_version0 },
	{ "version 5", bad_version5 },
	{ "version 15", bad_version15 },
	{ "IPv6 header cut", bad_v6_short },
	{ "chain past the end", bad_chain_past_end },
	{ "TCP data offset 4", bad_tcp_doff },
	{ "TCP data offset 0, IPv6", bad_tcp_doff6 },
	{ "ICMP error without quote", bad_error_no_quote },
	{ "ICMP error header cut", bad_error_short_icmp },
	{ "quoted IPv4 header cut", bad_error_inner_short },
	{ "quoted IHL < 5", bad_error_inner_ihl },
	{ "quoted version 0", bad_error_inner_version },
	{ "quoted TCP data offset 3", bad_error_inner_doff },
	{ "quoted IPv6 header cut", bad_error6_inner_short },
	{ "IPv4 in ICMPv6", bad_v4_in_icmp6 },
	{ "IPv6 in ICMPv4", bad_v6_in_icmp4 },
	{ "quoted chain past its end", bad_error6_inner_chain },
};

START_TEST(test_malformed)
{
	struct pkt k = { .len = 0 };
	struct pkt_key key;
	enum pkt_kind kind;

	bad_cases[_i].build(&k);
	kind = classify(&k, &key);
	ck_assert_msg(kind == PKT_MALFORMED, "%s: %s", bad_cases[_i].name,
		      pkt_kind_name(kind));
	assert_zero_key(&key);
}
END_TEST

/* ---- every prefix of valid packets ---- */

static void ok_v4_options(struct pkt *k)
{
	size_t at = ip4(k, TCP, CLIENT4, VIP4);

	k->b[at] = 0x4f;
	memset(grow(k, 40), 0x01, 40);
	l4(k, TCP, CPORT, VPORT);
	end4(k, at);
}

static void ok_v6_chain(struct pkt *k)
{
	static const uint8_t ext[] = { HBH, ROUT, AH, FRAG, DST };

	chain6(k, ext, sizeof(ext), TCP);
}

static void ok_v6_fragment(struct pkt *k)
{
	frag6_pkt(k, DST, 0, true);
}

static void ok_error4(struct pkt *k)
{
	error4(k, 3, 4);
	quote4(k, TCP, 20);
	end4(k, 0);
}

static void ok_error6(struct pkt *k)
{
	error6(k, 2, 0);
	ip6(k, HBH, client6, vip6);
	opt6(k, DST, 16);
	opt6(k, UDP, 8);
	l4(k, UDP, CPORT, VPORT);
	put16(k->b + 48 + 4, 1200);
	end6(k, 0);
}

static void ok_echo6(struct pkt *k)
{
	static const uint8_t ext[] = { HBH };

	chain6(k, ext, 1, ICMP6);
}

static const struct {
	void (*build)(struct pkt *k);
	enum pkt_kind kind;
} ok_cases[] = {
	{ ok_v4_options, PKT_L4 },
	{ ok_v6_chain, PKT_L4 },
	{ ok_v6_fragment, PKT_FRAGMENT },
	{ ok_error4, PKT_ICMP_ERROR },
	{ ok_error6, PKT_ICMP_ERROR },
	{ ok_echo6, PKT_ICMP_ECHO },
};

/* pkt_classify() is pkt_classify_meta() without a first fragment's ports;
 * the transport header located lies within the capture. */
static void same_as_meta(const uint8_t *b, size_t n, size_t odd,
			 enum pkt_kind kind, const struct pkt_key *key)
{
	struct pkt_key mkey;
	struct pkt_meta m;

	ck_assert_int_eq(classify_meta_at(b, n, odd, &mkey, &m), kind);
	if (m.frag == PKT_FRAG_FIRST)
		mkey.w[8] = 0;
	assert_key(&mkey, key);
	ck_assert_uint_le((size_t)m.l4_off + m.l4_len, n);
	ck_assert(m.frag == PKT_FRAG_NONE || kind == PKT_FRAGMENT);
}

START_TEST(test_prefixes)
{
	struct pkt k = { .len = 0 };
	struct pkt_key key;
	enum pkt_kind kind = PKT_KIND_MAX;
	size_t n, odd;

	ok_cases[_i].build(&k);
	for (odd = 0; odd < 2; odd++) {
		for (n = 0; n <= k.len; n++) {
			kind = classify_at(k.b, n, odd, &key);
			ck_assert_int_lt(kind, PKT_KIND_MAX);
			if (kind == PKT_MALFORMED)
				assert_zero_key(&key);
			same_as_meta(k.b, n, odd, kind, &key);
		}
		ck_assert_int_eq(kind, ok_cases[_i].kind);
	}
}
END_TEST

START_TEST(test_kind_name)
{
	ck_assert_str_eq(pkt_kind_name(PKT_L4), "l4");
	ck_assert_str_eq(pkt_kind_name(PKT_ICMP_ECHO), "icmp-echo");
	ck_assert_str_eq(pkt_kind_name(PKT_ICMP_ERROR), "icmp-error");
	ck_assert_str_eq(pkt_kind_name(PKT_FRAGMENT), "fragment");
	ck_assert_str_eq(pkt_kind_name(PKT_L3), "l3");
	ck_assert_str_eq(pkt_kind_name(PKT_MALFORMED), "malformed");
	ck_assert_str_eq(pkt_kind_name(PKT_KIND_MAX), "unknown");
	ck_assert_str_eq(pkt_kind_name((enum pkt_kind)-1), "unknown");
	ck_assert_str_eq(pkt_kind_name((enum pkt_kind)1000), "unknown");
}
END_TEST

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

Suite *make_pkt_suite(void)
{
	Suite *s = suite_create("pkt");
	TCase *tc = tcase_create("flows");

	tcase_add_test(tc, test_literal_v4_tcp);
	tcase_add_loop_test(tc, test_l4, 0, N(l4_cases));
	tcase_add_test(tc, test_v4_options);
	tcase_add_test(tc, test_v4_tot_len);
	tcase_add_test(tc, test_v6_payload_len);
	tcase_add_test(tc, test_l4_truncated);
	tcase_add_test(tc, test_other_protocols);
	tcase_add_loop_test(tc, test_v6_chain, 0, N(chain_cases));
	tcase_add_test(tc, test_v6_chain_cut);
	tcase_add_test(tc, test_v4_fragments);
	tcase_add_test(tc, test_v6_fragments);
	tcase_add_test(tc, test_v6_atomic_fragment);
	tcase_add_test(tc, test_meta_plain);
	tcase_add_test(tc, test_meta_not_located);
	tcase_add_test(tc, test_first_fragment_short);
	tcase_add_test(tc, test_first_fragment_echo);
	tcase_add_test(tc, test_kind_name);
	suite_add_tcase(s, tc);
	tc = tcase_create("icmp");
	tcase_add_loop_test(tc, test_icmp_echo, 0, N(echo_cases));
	tcase_add_test(tc, test_icmp_other_types);
	tcase_add_test(tc, test_icmp4_frag_needed);
	tcase_add_test(tc, test_icmp6_packet_too_big);
	tcase_add_test(tc, test_icmp6_quoted_chain);
	tcase_add_loop_test(tc, test_icmp_errors, 0, N(error_cases));
	tcase_add_test(tc, test_icmp_error_short_quote);
	tcase_add_test(tc, test_icmp_error_quoting_echo);
	tcase_add_test(tc, test_icmp_error_quoting_error);
	tcase_add_test(tc, test_icmp_error_quoting_other);
	tcase_add_test(tc, test_icmp_error_quoting_fragment);
	suite_add_tcase(s, tc);
	tc = tcase_create("robustness");
	tcase_add_loop_test(tc, test_malformed, 0, N(bad_cases));
	tcase_add_loop_test(tc, test_prefixes, 0, N(ok_cases));
	suite_add_tcase(s, tc);
	return s;
}
