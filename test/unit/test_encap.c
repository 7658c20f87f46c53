/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_encap.c: SCTP over UDP (pkt_udp_encap, RFC 6951) and the hash mode
 * sctp on the keys it gives, on packets built byte by byte.  The meta is
 * made here (l4_off 20 for IPv4, 40 for IPv6), not by pkt_classify_meta(). */
#include <stdbool.h>
#include <string.h>

#include <netinet/in.h>

#include "maglev/hash.h"
#include "nfqlb/pkt.h"
#include "test/unit/suites.h"
#include "test/unit/wire.h"

#define ENCAP_PORT 9899	/* the port RFC 6951 registers */
#define CPORT 40000
#define SPORT 5000	/* the SCTP ports inside */
#define DPORT 38412
#define PORTS(s, d) ((uint32_t)(s) << 16 | (d))
#define UDP_AND_SCTP 20	/* UDP header, SCTP common header */

struct frame {
	uint8_t b[128];
	size_t len;
	struct pkt_meta meta;
};

/* The IP header: from 10.0.0.src to 192.168.10.dst, or fd00::src to
 * fd00::1:dst; its length covers `l4` bytes of payload. */
static void ip_header(struct frame *f, bool v6, uint8_t proto, uint8_t src,
		      uint8_t dst, size_t l4)
{
	uint8_t *p = f->b;

	memset(f, 0, sizeof(*f));
	if (v6) {
		p[0] = 0x60;
		put16(p + 4, (unsigned int)l4);
		p[6] = proto;
		p[7] = 64;
		p[8] = p[24] = 0xfd;
		p[23] = src;
		p[37] = 1;
		p[39] = dst;
		f->len = 40;
	} else {
		p[0] = 0x45;
		put16(p + 2, (unsigned int)(20 + l4));
		p[8] = 64;
		p[9] = proto;
		put32(p + 12, 0x0a000000u | src);
		put32(p + 16, 0xc0a80a00u | dst);
		f->len = 20;
	}
	f->meta.l4_off = (uint16_t)f->len;
	f->meta.v6 = v6;
}

/* A UDP datagram to ENCAP_PORT holding an SCTP common header and `data`
 * bytes of chunks; the meta says all of it was captured. */
static void sctp_udp(struct frame *f, bool v6, uint8_t src, uint8_t dst,
		     unsigned int sport, size_t data)
{
	uint8_t *u;

	ip_header(f, v6, IPPROTO_UDP, src, dst, UDP_AND_SCTP + data);
	u = f->b + f->len;
	put16(u, CPORT);
	put16(u + 2, ENCAP_PORT);
	put16(u + 4, (unsigned int)(UDP_AND_SCTP + data));
	put16(u + 8, sport);
	put16(u + 10, DPORT);
	put32(u + 12, 0xdeadbeef);	/* verification tag */
	f->len += UDP_AND_SCTP + data;
	f->meta.l4_len = (uint16_t)(UDP_AND_SCTP + data);
}

/* classify f; its key must be UDP with the outer ports. */
static void udp_key(const struct frame *f, struct pkt_key *key)
{
	ck_assert_int_eq(pkt_classify(f->b, f->len, key), PKT_L4);
	ck_assert_uint_eq(key->w[8], PORTS(CPORT, ENCAP_PORT));
	ck_assert_uint_eq(key->w[9], IPPROTO_UDP);
}

START_TEST(test_encap_good)
{
	bool v6 = _i;
	struct pkt_key key, before;
	struct frame f;

	sctp_udp(&f, v6, 1, 1, SPORT, 16);
	udp_key(&f, &key);
	before = key;
	ck_assert(pkt_udp_encap(f.b, &f.meta, &key));
	ck_assert_uint_eq(key.w[8], PORTS(SPORT, DPORT));
	ck_assert_uint_eq(key.w[9], IPPROTO_SCTP);
	ck_assert_mem_eq(key.w, before.w, 8 * sizeof(key.w[0]));	/* addresses */
	/* Just the SCTP common header, no chunk, captured: enough. */
	sctp_udp(&f, v6, 1, 1, SPORT, 0);
	udp_key(&f, &key);
	ck_assert(pkt_udp_encap(f.b, &f.meta, &key));
	ck_assert_uint_eq(key.w[8], PORTS(SPORT, DPORT));
}
END_TEST

/* Each way of being refused; the key must not change. */
enum refusal {
	REF_SHORT,	/* capture ends inside the SCTP header */
	REF_UDP_ONLY,	/* capture ends after the UDP header */
	REF_NO_L4,	/* l4_off 0: no transport header located */
	REF_UDP_LEN,	/* UDP length field too small for an SCTP header */
	REF_PORTS,	/* the key is not this UDP header's (an ICMP error's) */
	REF_TCP,	/* not UDP */
	REF_SCTP,	/* plain SCTP: already keyed as such */
	REF_MAX
};

static void refused_frame(struct frame *f, struct pkt_key *key, enum refusal r,
			  bool v6)
{
	sctp_udp(f, v6, 1, 1, SPORT, 16);
	if (r == REF_TCP || r == REF_SCTP) {
		ip_header(f, v6, r == REF_TCP ? IPPROTO_TCP : IPPROTO_SCTP, 1, 1, 40);
		put16(f->b + f->len, CPORT);
		put16(f->b + f->len + 2, ENCAP_PORT);
		f->b[f->len + 12] = 0x50;	/* TCP data offset 5 */
		f->len += 40;
		f->meta.l4_len = 40;
	}
	ck_assert_int_eq(pkt_classify(f->b, f->len, key), PKT_L4);
	if (r == REF_SHORT)
		f->meta.l4_len = UDP_AND_SCTP - 1;
	if (r == REF_UDP_ONLY)
		f->meta.l4_len = 8;
	if (r == REF_NO_L4)
		f->meta.l4_off = 0;
	if (r == REF_UDP_LEN)
		put16(f->b + f->meta.l4_off + 4, UDP_AND_SCTP - 1);
	if (r == REF_PORTS)
		key->w[8] = PORTS(ENCAP_PORT, CPORT);
}

START_TEST(test_encap_refused)
{
	enum refusal r = (enum refusal)(_i % REF_MAX);
	struct pkt_key key, before;
	struct frame f;

	refused_frame(&f, &key, r, _i >= REF_MAX);
	before = key;
	ck_assert_msg(!pkt_udp_encap(f.b, &f.meta, &key), "case %d accepted", _i);
	ck_assert_mem_eq(key.w, before.w, sizeof(key.w));
}
END_TEST

/* Multihomed, encapsulated: every path (client and server address) of one
 * association gets one hash in mode sctp, as plain SCTP with the same ports
 * does; other SCTP source ports spread. */
START_TEST(test_encap_multihomed)
{
	uint32_t seed = 77, m = 997, slot, other = 0;
	struct pkt_key key;
	struct frame f;
	unsigned int s, d;

	sctp_udp(&f, false, 1, 1, SPORT, 16);
	udp_key(&f, &key);
	ck_assert(pkt_udp_encap(f.b, &f.meta, &key));
	slot = hash_reduce(hash_flow(key.w, HASH_SCTP, seed), m);
	for (s = 1; s <= 6; s++)
		for (d = 1; d <= 3; d++) {
			sctp_udp(&f, s > 3, (uint8_t)s, (uint8_t)d, SPORT, 16);
			udp_key(&f, &key);
			ck_assert(pkt_udp_encap(f.b, &f.meta, &key));
			ck_assert_uint_eq(hash_reduce(hash_flow(key.w, HASH_SCTP, seed), m),
					  slot);
		}
	for (s = 1; s <= 100; s++) {
		sctp_udp(&f, false, 1, 1, SPORT + s, 16);
		udp_key(&f, &key);
		ck_assert(pkt_udp_encap(f.b, &f.meta, &key));
		if (hash_reduce(hash_flow(key.w, HASH_SCTP, seed), m) != slot)
			other++;
	}
	ck_assert_uint_gt(other, 95);
}
END_TEST

Suite *make_encap_suite(void)
{
	Suite *s = suite_create("encap");
	TCase *tc = tcase_create("udp-encap");

	tcase_add_loop_test(tc, test_encap_good, 0, 2);
	tcase_add_loop_test(tc, test_encap_refused, 0, 2 * REF_MAX);
	tcase_add_test(tc, test_encap_multihomed);
	suite_add_tcase(s, tc);
	return s;
}
