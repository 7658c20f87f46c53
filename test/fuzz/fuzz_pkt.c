/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz_pkt.c: libFuzzer target for the packet classifier (nfqlb/pkt.c).
 *
 * The input is one packet from its IP header on.  pkt_classify() is the
 * classifier's only entry point; it is run on the packet, on the part the
 * worker would capture (PKT_COPY_RANGE bytes), and on the packet cut at the
 * end its own IP header gives, and each result must keep the contract in
 * pkt.h: a valid kind, a zero key for a malformed packet, the addresses
 * where the header has them, the same answer from an exact-size copy (ASan
 * then catches any read past the end), bytes past the IP packet's end
 * ignored, and every hash mode reducing into the table.
 *
 * Then the worker's decision with flows (nfqlb/lb.h): a batch of copies of
 * the packet, between two fixed packets, through lb_flows_match() and
 * lb_flows_lookup() against a few fixed flow sets (prefixes of both
 * families, port ranges, protocols, --udp-encap ports, prios and ties, an
 * empty set, one of more than 64 flows), each with two assignments of its
 * flows to tables of every hash mode, an empty table and an unusable one.
 * Each result must be what the classifier and the reference matcher
 * (test/unit/ref_match.h) say, re-keyed as SCTP only when it is UDP to an
 * encap port, its slot that of its table's entry, and every copy's result
 * the same.  Fragments go through trackers, one with the worker's
 * decisions, which must come out as they went in.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>
#include <sys/socket.h>

#include "flows/match.h"
#include "maglev/hash.h"
#include "maglev/maglev.h"
#include "nfqlb/frag.h"
#include "nfqlb/lb.h"
#include "nfqlb/pkt.h"
#include "shm/why.h"
#include "test/unit/ref_match.h"

#define REQUIRE(c) do {							\
	if (!(c)) {							\
		fprintf(stderr, "fuzz_pkt: %s:%d: contract broken: %s\n",	\
			__FILE__, __LINE__, #c);			\
		abort();						\
	}								\
} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static bool key_zero(const struct pkt_key *k)
{
	unsigned int i;

	for (i = 0; i < HASH_FLOW_WORDS; i++)
		if (k->w[i])
			return false;
	return true;
}

/* Addresses straight from the header, unless the key is an ICMP error's,
 * which carries the quoted packet's addresses. */
static void check_addresses(const uint8_t *d, size_t len, enum pkt_kind kind,
			    const struct pkt_key *k)
{
	unsigned int i;

	if (kind == PKT_MALFORMED)
		return;
	if (d[0] >> 4 == 4) {
		REQUIRE(k->w[0] == 0 && k->w[1] == 0 && k->w[2] == 0xffff);
		REQUIRE(k->w[4] == 0 && k->w[5] == 0 && k->w[6] == 0xffff);
		if (kind != PKT_ICMP_ERROR) {
			REQUIRE(len >= 20);
			REQUIRE(k->w[3] == rd32(d + 12) && k->w[7] == rd32(d + 16));
		}
		return;
	}
	REQUIRE(d[0] >> 4 == 6 && len >= 40);
	if (kind != PKT_ICMP_ERROR)
		for (i = 0; i < 4; i++)
			REQUIRE(k->w[i] == rd32(d + 8 + 4 * i) &&
				k->w[4 + i] == rd32(d + 24 + 4 * i));
}

static void check_kind(const uint8_t *d, size_t len, enum pkt_kind kind,
		       const struct pkt_key *k)
{
	uint32_t p = k->w[9];

	REQUIRE((unsigned int)kind < PKT_KIND_MAX);
	REQUIRE(strcmp(pkt_kind_name(kind), "unknown") != 0);
	if (len == 0 || (d[0] >> 4 != 4 && d[0] >> 4 != 6))
		REQUIRE(kind == PKT_MALFORMED);
	switch (kind) {
	case PKT_MALFORMED:
		REQUIRE(key_zero(k));
		break;
	case PKT_L4:
		REQUIRE(p == IPPROTO_TCP || p == IPPROTO_UDP || p == IPPROTO_SCTP ||
			p == IPPROTO_UDPLITE);
		break;
	case PKT_ICMP_ECHO:
		REQUIRE(p == (d[0] >> 4 == 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6));
		REQUIRE((k->w[8] & 0xffff) == 0);
		break;
	case PKT_FRAGMENT:
		REQUIRE(k->w[8] == 0);
		break;
	case PKT_ICMP_ERROR:
	case PKT_L3:
	case PKT_KIND_MAX:
		break;
	}
	REQUIRE(p < 256);
	check_addresses(d, len, kind, k);
}

/* Mode sctp: an SCTP key with ports ignores its addresses; any other key
 * hashes as 5tuple. */
static void check_hash_sctp(const struct pkt_key *k, uint32_t seed)
{
	struct pkt_key moved = *k;
	unsigned int i;

	for (i = 0; i < 8; i++)
		moved.w[i] ^= seed | 1;
	if (k->w[9] == HASH_PROTO_SCTP && k->w[8] != 0)
		REQUIRE(hash_flow(k->w, HASH_SCTP, seed) ==
			hash_flow(moved.w, HASH_SCTP, seed));
	else
		REQUIRE(hash_flow(k->w, HASH_SCTP, seed) ==
			hash_flow(k->w, HASH_5TUPLE, seed));
}

/* Every mode hashes into the table, and ignores the words it should. */
static void check_hash(const struct pkt_key *k, uint32_t seed)
{
	static const uint32_t ms[] = { 2, 997, 65537, 1000003 };
	struct pkt_key src = *k;
	unsigned int i, mode;

	for (i = 4; i < HASH_FLOW_WORDS; i++)
		src.w[i] ^= seed;
	for (mode = 0; mode < HASH_MODE_MAX; mode++)
		for (i = 0; i < sizeof(ms) / sizeof(ms[0]); i++)
			REQUIRE(hash_reduce(hash_flow(k->w, mode, seed), ms[i]) < ms[i]);
	REQUIRE(hash_flow(k->w, HASH_SRC, seed) == hash_flow(src.w, HASH_SRC, seed));
	check_hash_sctp(k, seed);
}

/* pkt_classify() is pkt_classify_meta() without a first fragment's ports;
 * the transport header it locates is within the capture. */
static void check_meta(const uint8_t *copy, size_t len, enum pkt_kind kind,
		       const struct pkt_key *k, struct pkt_key *mk, struct pkt_meta *m)
{
	REQUIRE(pkt_classify_meta(copy, len, mk, m) == kind);
	REQUIRE(m->frag <= PKT_FRAG_LATER);
	REQUIRE(m->frag == PKT_FRAG_NONE || kind == PKT_FRAGMENT);
	REQUIRE((size_t)m->l4_off + m->l4_len <= len);
	REQUIRE(m->frag != PKT_FRAG_LATER || m->l4_off == 0);
	if (m->frag == PKT_FRAG_FIRST)
		REQUIRE(memcmp(mk->w, k->w, 8 * sizeof(k->w[0])) == 0);
	else
		REQUIRE(memcmp(mk, k, sizeof(*k)) == 0);
}

/* Every fragment through one small tracker, time moving on per input: its
 * counts add up and it holds no more than its size. */
static void check_tracker(const struct pkt_key *k, const struct pkt_meta *m)
{
	static struct frag *t;
	static uint64_t now, calls;
	struct frag_decision d = { 1, 2, 3, 4 };
	struct frag_stats st;
	struct frag_out o;

	if (!t)
		t = frag_new(16, 100, 1);
	REQUIRE(t != NULL);
	now += 7;
	if (m->frag != PKT_FRAG_NONE) {
		frag_decide(t, k, m, (uint32_t)calls, &d, now);
		calls++;
	}
	frag_expire(t, now);
	while (frag_pop(t, &o))
		REQUIRE(o.timed_out || o.d.mark == 2);
	frag_stats(t, &st);
	REQUIRE(st.tracked + st.held + st.dropped == calls);
	REQUIRE(frag_held(t) <= 16 && st.released + st.timed_out + frag_held(t) == st.held);
}

/* Classify len bytes from an exact-size copy, twice, and check the result. */
static enum pkt_kind classify(const uint8_t *data, size_t len, struct pkt_key *k)
{
	uint8_t *copy = malloc(len ? len : 1);
	struct pkt_meta meta;
	struct pkt_key again;
	enum pkt_kind kind;

	REQUIRE(copy != NULL);
	memcpy(copy, data, len);
	kind = pkt_classify(copy, len, k);
	REQUIRE(pkt_classify(copy, len, &again) == kind);
	REQUIRE(memcmp(&again, k, sizeof(again)) == 0);
	check_meta(copy, len, kind, k, &again, &meta);
	free(copy);
	check_tracker(&again, &meta);
	check_kind(data, len, kind, k);
	check_hash(k, len ? data[len - 1] * 0x01010101u : 0);
	return kind;
}

/* ---------------------------------------------------------------- flows */

#define NTAB 6		/* a table per hash mode, an empty one, an unusable one */
#define NMAP 2		/* assignments of a set's flows to the tables */
#define NCOPY 3		/* copies of the input in a batch */
#define NBATCH (NCOPY + 2)
#define GEN_FLOWS 80	/* flows of the generated set: more than 64 */
#define NTARGET_MAX 8
#define UDP_SCTP_HLEN 20	/* a UDP header and an SCTP common header */

struct fz_set {
	struct flow *f;
	size_t n;
	struct flow_match *m;
	uint32_t *table_of[NMAP];
};

enum { SET_MIXED, SET_ENCAP, SET_EMPTY, SET_GEN, NSET };

static struct lb_table tabs[NTAB];
static uint32_t tab_n[NTAB];	/* targets: every slot a table holds is below */
static struct fz_set sets[NSET];

/* Two packets that sit in every batch, around the copies of the input:
 * SCTP 5000 -> 38412 over UDP 9899 from 10.0.0.1 to 192.168.10.10, and a
 * TCP SYN 2001:db8:1:2:3:4:5:6 port 40000 -> fd00:1111:2222:3333:4444:5555:6666:7777 port 80. */
static const uint8_t fixed_v4[48] = {
	0x45, 0, 0, 48, 0x12, 0x34, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 192, 168, 10, 10,
	0x26, 0xab, 0x26, 0xab, 0, 28, 0, 0,
	0x13, 0x88, 0x96, 0x0c, 0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 0,
	1, 0, 0, 8, 0, 0, 0, 0,
};
static const uint8_t fixed_v6[60] = {
	0x60, 0, 0, 0, 0, 20, 6, 64,
	0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6,
	0xfd, 0, 0x11, 0x11, 0x22, 0x22, 0x33, 0x33, 0x44, 0x44, 0x55, 0x55, 0x66, 0x66, 0x77, 0x77,
	0x9c, 0x40, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0,
};

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void table_build(unsigned int i, uint32_t m, uint32_t seed, enum hash_mode mode,
			uint32_t n)
{
	struct maglev_target t[NTARGET_MAX];
	uint32_t *lookup = malloc(m * sizeof(*lookup)), j;

	REQUIRE(lookup != NULL && n <= NTARGET_MAX);
	for (j = 0; j < n; j++)
		t[j] = (struct maglev_target){ 100 + j, 1 + j % 3 };
	REQUIRE(maglev_build(lookup, m, seed, t, n) == 0);
	tabs[i] = (struct lb_table){ lookup, m, seed, mode };
	tab_n[i] = n;
}

static void tables_build(void)
{
	table_build(0, 13, 1, HASH_5TUPLE, 3);
	table_build(1, 251, 2, HASH_ADDR, 5);
	table_build(2, 97, 3, HASH_SRC, 2);
	table_build(3, 997, 4, HASH_SCTP, 7);
	table_build(4, 7, 5, HASH_SCTP, 0);		/* no target: every entry empty */
	tabs[5] = (struct lb_table){ NULL, 1, 0, HASH_5TUPLE };	/* not usable */
}

static struct flow *flow_add(struct fz_set *s, const char *name, int32_t prio,
			     uint32_t protos, uint16_t encap)
{
	struct flow *f = &s->f[s->n++];

	memset(f, 0, sizeof(*f));
	snprintf(f->name, sizeof(f->name), "%s", name);
	snprintf(f->table, sizeof(f->table), "t-%s", name);
	f->prio = prio;
	f->protos = protos;
	f->udp_encap = encap;
	return f;
}

/* The top len bits of a word that starts bit 32 * i of a prefix. */
static uint32_t mask_word(unsigned int len, unsigned int i)
{
	int bits = (int)len - 32 * (int)i;

	return bits >= 32 ? 0xffffffffu : bits <= 0 ? 0 : ~(0xffffffffu >> bits);
}

static struct flow_cidr cidr4(uint32_t a, unsigned int len)
{
	return (struct flow_cidr){ { 0, 0, 0xffff, a & mask_word(len, 0) },
				   (uint8_t)(96 + len), AF_INET, { 0 } };
}

static struct flow_cidr cidr6(uint32_t w0, uint32_t w1, unsigned int len)
{
	return (struct flow_cidr){ { w0 & mask_word(len, 0), w1 & mask_word(len, 1), 0, 0 },
				   (uint8_t)len, AF_INET6, { 0 } };
}

static void add_dst(struct flow *f, struct flow_cidr c)
{
	f->dst[f->ndst++] = c;
}

static void add_src(struct flow *f, struct flow_cidr c)
{
	f->src[f->nsrc++] = c;
}

static void add_dport(struct flow *f, uint16_t lo, uint16_t hi)
{
	f->dport[f->ndport++] = (struct flow_ports){ lo, hi };
}

/* Services on the seed corpus's addresses (gen-corpus.py), with ties. */
static void set_mixed(struct fz_set *s)
{
	struct flow *f;

	f = flow_add(s, "web", 10, FLOW_P_TCP, 0);
	add_dst(f, cidr4(0xc0a80a00, 24));
	add_dst(f, cidr6(0xfd001111, 0, 32));
	add_dport(f, 80, 80);
	add_dport(f, 443, 443);
	add_dport(f, 8000, 8099);
	f = flow_add(s, "dns", 10, FLOW_P_UDP, 0);
	add_dst(f, cidr4(0xc0a80000, 16));
	add_dst(f, cidr6(0xfd000000, 0, 8));
	add_dport(f, 53, 53);
	add_dport(f, 80, 80);
	f = flow_add(s, "sctp", 5, FLOW_P_SCTP, 9899);
	add_dst(f, cidr4(0xc0a80a0a, 32));
	add_dst(f, cidr6(0xfd001111, 0x22220000, 48));
	add_dport(f, 80, 80);
	add_dport(f, 38412, 38412);
	f = flow_add(s, "ping", 0, FLOW_P_ICMP | FLOW_P_TCP, 0);
	add_dst(f, cidr4(0, 0));
	add_dport(f, 80, 80);
	add_dst(flow_add(s, "v6-all", 0, 0, 0), cidr6(0, 0, 0));
	f = flow_add(s, "from-ten", -5, 0, 0);
	add_src(f, cidr4(0x0a000000, 8));
	f->sport[f->nsport++] = (struct flow_ports){ 1024, 65535 };
	add_dst(flow_add(s, "tie-b", 7, FLOW_P_UDP, 0), cidr4(0xc0a80a0a, 32));
	add_dst(flow_add(s, "tie-a", 7, FLOW_P_UDP, 0), cidr4(0xc0a80a0a, 32));
	f = flow_add(s, "src6", 1, 0, 0);
	add_src(f, cidr6(0x20010db8, 0, 32));
	add_src(f, cidr6(0x20010db8, 0xffff0000, 48));
	add_dport(f, 1, 1023);
}

/* --udp-encap on two ports, with and without prefixes, ties, catch-alls. */
static void set_encap(struct fz_set *s)
{
	struct flow *f;

	f = flow_add(s, "enc-a", 3, FLOW_P_SCTP, 9899);
	add_dst(f, cidr4(0xc0a80a0a, 32));
	add_dst(f, cidr6(0xfd001111, 0, 16));
	f = flow_add(s, "enc-b", 3, FLOW_P_SCTP, 5000);
	add_dport(f, 80, 80);
	add_dport(f, 38412, 38412);
	add_dst(flow_add(s, "sctp-tie", 3, FLOW_P_SCTP, 0), cidr4(0xc0a80a00, 24));
	flow_add(s, "udp-all", 1, FLOW_P_UDP, 0);
	add_dst(flow_add(s, "routers", 2, 0, 0), cidr4(0xac100000, 12));
	flow_add(s, "last", FLOW_PRIO_MIN, 0, 0);
}

static uint32_t lcg(uint32_t *x)
{
	*x = *x * 1664525u + 1013904223u;
	return *x >> 8;
}

static struct flow_cidr gen_cidr(uint32_t *x)
{
	uint32_t kind = lcg(x) % 4, a = lcg(x), b = lcg(x), len = lcg(x);

	switch (kind) {
	case 0: return cidr4(0x0a000000 | (a & 0xffffff), 8 + len % 25);
	case 1: return cidr4(0xc0a80000 | (a & 0xffff), 16 + len % 17);
	case 2: return cidr6(0x20010db8, a << 8 | b, 32 + len % 33);
	default: return cidr6(0xfd000000 | (a & 0xffffff), b << 8, 8 + len % 57);
	}
}

static struct flow_ports gen_ports(uint32_t *x)
{
	static const uint16_t near[] = { 1, 53, 80, 443, 1024, 5000, 9899, 38412, 40000 };
	uint32_t lo = near[lcg(x) % 9] + lcg(x) % 40, width = lcg(x) % 300;

	return (struct flow_ports){ (uint16_t)lo, (uint16_t)(lo + width > 65535 ? 65535 : lo + width) };
}

/* A flow of the generated set: prios -3..3 (ties), any protocols, up to 3
 * prefixes and port ranges per list, now and then an encap port. */
static void gen_flow(struct fz_set *s, unsigned int i, uint32_t *x)
{
	static const uint16_t encaps[] = { 0, 0, 0, 0, 9899, 2905, 80 };
	uint32_t prio = lcg(x) % 7, protos = lcg(x) % 16, encap = lcg(x) % 7, k;
	struct flow *f;
	char name[8];

	snprintf(name, sizeof(name), "g%02u", i);
	f = flow_add(s, name, (int32_t)prio - 3, protos, encaps[encap]);
	for (k = lcg(x) % 4; k; k--)
		add_dst(f, gen_cidr(x));
	for (k = lcg(x) % 3; k; k--)
		add_src(f, gen_cidr(x));
	for (k = lcg(x) % 4; k; k--)
		f->dport[f->ndport++] = gen_ports(x);
	for (k = lcg(x) % 3 == 0; k; k--)
		f->sport[f->nsport++] = gen_ports(x);
}

static void set_compile(struct fz_set *s)
{
	char why[WHY_MAX] = "";
	unsigned int k;
	size_t i;

	s->m = flow_match_build(s->f, s->n, why);
	if (!s->m) {
		fprintf(stderr, "fuzz_pkt: flow_match_build: %s\n", why);
		abort();
	}
	for (k = 0; k < NMAP; k++) {
		s->table_of[k] = malloc((s->n ? s->n : 1) * sizeof(*s->table_of[k]));
		REQUIRE(s->table_of[k] != NULL);
		for (i = 0; i < s->n; i++)
			s->table_of[k][i] = (uint32_t)(i + 3 * k) % NTAB;
	}
}

static void flows_init(void)
{
	uint32_t x = 0x5eed;
	unsigned int i;

	tables_build();
	for (i = 0; i < NSET; i++) {
		sets[i].f = calloc(GEN_FLOWS, sizeof(struct flow));
		REQUIRE(sets[i].f != NULL);
	}
	set_mixed(&sets[SET_MIXED]);
	set_encap(&sets[SET_ENCAP]);
	for (i = 0; i < GEN_FLOWS; i++)
		gen_flow(&sets[SET_GEN], i, &x);
	for (i = 0; i < NSET; i++)
		set_compile(&sets[i]);
}

static bool names_encap(const struct fz_set *s, uint16_t port)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (s->f[i].udp_encap && s->f[i].udp_encap == port)
			return true;
	return false;
}

/* Whether the packet is UDP to an encap port with an SCTP common header in
 * its capture: whole, or a first fragment (never an ICMP error). */
static bool encapsulated(const struct fz_set *s, const uint8_t *d, enum pkt_kind kind,
			 const struct pkt_key *k, const struct pkt_meta *m)
{
	const uint8_t *udp = d + m->l4_off;

	return k->w[9] == IPPROTO_UDP && names_encap(s, (uint16_t)k->w[8]) &&
	       (kind == PKT_L4 || (kind == PKT_FRAGMENT && m->frag == PKT_FRAG_FIRST)) &&
	       m->l4_off && m->l4_len >= UDP_SCTP_HLEN && rd32(udp) == k->w[8] &&
	       rd16(udp + 4) >= UDP_SCTP_HLEN;
}

/* The key is the classifier's, or that of the SCTP packet carried. */
static void check_rekey(const struct fz_set *s, const uint8_t *d, enum pkt_kind kind,
			const struct pkt_key *k, const struct pkt_meta *m,
			const struct lb_result *r)
{
	REQUIRE(flow_match_encap(s->m, (uint16_t)k->w[8]) ==
		names_encap(s, (uint16_t)k->w[8]));
	if (!encapsulated(s, d, kind, k, m)) {
		REQUIRE(memcmp(&r->key, k, sizeof(*k)) == 0 && !r->meta.udp_encap);
		return;
	}
	REQUIRE(r->meta.udp_encap);
	REQUIRE(memcmp(r->key.w, k->w, 8 * sizeof(k->w[0])) == 0);
	REQUIRE(r->key.w[8] == rd32(d + m->l4_off + 8) && r->key.w[9] == IPPROTO_SCTP);
}

/* The slot is the one its flow's table gives its key, or none. */
static void check_slot(const struct lb_flows *lf, const struct lb_result *r)
{
	const struct lb_table *t;

	if (r->flow < 0) {
		REQUIRE(r->slot == SHM_NO_SLOT);
		return;
	}
	REQUIRE(r->table == lf->flow_table[r->flow] && r->table < NTAB);
	t = &lf->tab[r->table];
	if (!t->lookup) {
		REQUIRE(r->slot == SHM_NO_SLOT);
		return;
	}
	REQUIRE(r->entry == hash_reduce(hash_flow(r->key.w, t->mode, t->seed), t->m));
	REQUIRE(r->slot == t->lookup[r->entry]);
	REQUIRE(r->slot == SHM_NO_SLOT || r->slot < tab_n[r->table]);
}

/* ref: also against the reference matcher (slow: once per set and input). */
static void check_result(const struct fz_set *s, const struct lb_flows *lf,
			 const struct queue_pkt *p, const struct lb_result *r, bool ref)
{
	struct pkt_meta m;
	struct pkt_key k;
	enum pkt_kind kind = pkt_classify_meta(p->data, p->len, &k, &m);

	REQUIRE(r->kind == kind);
	REQUIRE(r->meta.frag_id == m.frag_id && r->meta.l4_off == m.l4_off &&
		r->meta.l4_len == m.l4_len && r->meta.frag == m.frag && r->meta.v6 == m.v6);
	check_rekey(s, p->data, kind, &k, &m, r);
	if (kind == PKT_MALFORMED) {
		REQUIRE(r->flow == -1 && r->slot == SHM_NO_SLOT);
		return;
	}
	REQUIRE(r->flow >= -1 && r->flow < (int32_t)s->n);
	REQUIRE(r->flow == flow_match_lookup(s->m, &r->key, lb_l4(r)));
	REQUIRE(!ref || r->flow == ref_lookup(s->f, s->n, &r->key, lb_l4(r)));
	check_slot(lf, r);
}

static void same_result(const struct lb_result *a, const struct lb_result *b)
{
	REQUIRE(a->kind == b->kind && a->flow == b->flow && a->table == b->table &&
		a->entry == b->entry && a->slot == b->slot);
	REQUIRE(memcmp(&a->key, &b->key, sizeof(a->key)) == 0);
	REQUIRE(a->meta.frag_id == b->meta.frag_id && a->meta.l4_off == b->meta.l4_off &&
		a->meta.l4_len == b->meta.l4_len && a->meta.frag == b->meta.frag &&
		a->meta.v6 == b->meta.v6 && a->meta.udp_encap == b->meta.udp_encap);
}

static void decision_ok(const struct frag_decision *d, size_t nflows)
{
	REQUIRE(d->verdict == 1);
	REQUIRE(d->flow >= -1 && d->flow < (int32_t)nflows);
	REQUIRE(d->slot == SHM_NO_SLOT || d->slot < NTARGET_MAX);
	REQUIRE(d->mark == (d->slot == SHM_NO_SLOT ? 0 : d->slot + 1));
}

/* The worker's decisions through a tracker, the packet keyed as the worker
 * keys it (re-keyed or not): what comes out is a decision that went in. */
static void check_decisions(const struct lb_result *r, size_t nflows)
{
	static struct frag *t;
	static uint64_t now;
	static uint32_t id;
	struct frag_decision d = { 1, r->slot == SHM_NO_SLOT ? 0 : r->slot + 1,
				   r->flow, r->slot };
	struct frag_out o;

	if (!t)
		t = frag_new(32, 50, 2);
	REQUIRE(t != NULL);
	now += 3;
	if (r->kind != PKT_MALFORMED && r->meta.frag != PKT_FRAG_NONE &&
	    frag_decide(t, &r->key, &r->meta, id++, &d, now) == FRAG_DECIDED)
		decision_ok(&d, nflows);
	frag_expire(t, now);
	while (frag_pop(t, &o))
		if (!o.timed_out)
			decision_ok(&o.d, nflows);
}

/* What the fixed packets get, each alone, per set and assignment. */
static struct lb_result fixed_res[NSET][NMAP][2];

static void decide(const struct lb_flows *lf, const struct queue_pkt *p, unsigned int n,
		   struct lb_result *res)
{
	memset(res, 0, n * sizeof(*res));
	lb_flows_match(lf, p, n, res);
	lb_flows_lookup(lf, res, n);
}

static void fixed_decide(const struct queue_pkt *pkts)
{
	unsigned int i, k;

	for (i = 0; i < NSET; i++)
		for (k = 0; k < NMAP; k++) {
			struct lb_flows lf = { sets[i].m, sets[i].table_of[k], tabs };

			decide(&lf, &pkts[0], 1, &fixed_res[i][k][0]);
			decide(&lf, &pkts[NBATCH - 1], 1, &fixed_res[i][k][1]);
			check_result(&sets[i], &lf, &pkts[0], &fixed_res[i][k][0], true);
			check_result(&sets[i], &lf, &pkts[NBATCH - 1], &fixed_res[i][k][1], true);
		}
}

/* One set, one assignment of its flows to tables: the batch; the first
 * copy's result checked, the other copies' alike, the fixed packets'
 * what they get alone. */
static void check_set(unsigned int i, unsigned int k, const struct queue_pkt *pkts)
{
	const struct fz_set *s = &sets[i];
	struct lb_flows lf = { s->m, s->table_of[k], tabs };
	struct lb_result res[NBATCH];
	unsigned int j;

	decide(&lf, pkts, NBATCH, res);
	check_result(s, &lf, &pkts[1], &res[1], true);
	for (j = 2; j <= NCOPY; j++)
		same_result(&res[1], &res[j]);
	same_result(&res[0], &fixed_res[i][k][0]);
	same_result(&res[NBATCH - 1], &fixed_res[i][k][1]);
	if (i == SET_ENCAP)
		check_decisions(&res[1], s->n);
}

/* The one-table worker (lb --shm) on the copies, in every table's mode:
 * the first copy's result is the classifier's key and its table's slot,
 * the other copies' alike. */
static void check_tables(const struct queue_pkt *pkts)
{
	struct lb_result res[NBATCH];
	const struct lb_table *t;
	struct shm_view v;
	struct pkt_meta m;
	struct pkt_key k;
	enum pkt_kind kind = pkt_classify_meta(pkts[1].data, pkts[1].len, &k, &m);
	unsigned int i, j;

	for (i = 0; i < NTAB; i++) {
		t = &tabs[i];
		if (!t->lookup)
			continue;
		v = (struct shm_view){ .m = t->m, .lookup = (uint32_t *)t->lookup };
		lb_lookup_batch(&v, t->mode, t->seed, pkts + 1, NCOPY, res + 1);
		REQUIRE(res[1].kind == kind && memcmp(&res[1].key, &k, sizeof(k)) == 0);
		REQUIRE(res[1].slot == (kind == PKT_MALFORMED ? SHM_NO_SLOT :
			t->lookup[hash_reduce(hash_flow(k.w, t->mode, t->seed), t->m)]));
		REQUIRE(res[1].slot == SHM_NO_SLOT || res[1].slot < tab_n[i]);
		for (j = 2; j <= NCOPY; j++)
			REQUIRE(res[j].kind == kind && res[j].slot == res[1].slot &&
				memcmp(&res[j].key, &k, sizeof(k)) == 0);
	}
}

/* The input's packet (len bytes) in NCOPY exact-size copies, between the
 * two fixed packets, against every set, with one of its assignments to
 * tables (by the input's length: the same input, the same checks). */
static void check_flows(const uint8_t *data, size_t len)
{
	static bool ready;
	struct queue_pkt pkts[NBATCH];
	uint8_t *copy[NCOPY];
	unsigned int i, k;

	pkts[0] = (struct queue_pkt){ 0, sizeof(fixed_v4), fixed_v4 };
	pkts[NBATCH - 1] = (struct queue_pkt){ NBATCH - 1, sizeof(fixed_v6), fixed_v6 };
	if (!ready) {
		flows_init();
		fixed_decide(pkts);
		ready = true;
	}
	for (i = 0; i < NCOPY; i++) {
		copy[i] = malloc(len ? len : 1);
		REQUIRE(copy[i] != NULL);
		memcpy(copy[i], data, len);
		pkts[1 + i] = (struct queue_pkt){ 1 + i, (uint32_t)len, copy[i] };
	}
	k = (unsigned int)(len % NMAP);
	for (i = 0; i < NSET; i++)
		check_set(i, k, pkts);
	check_tables(pkts);
	for (i = 0; i < NCOPY; i++)
		free(copy[i]);
}

/* The end the packet's own IP header gives, or 0 if it gives none. */
static size_t ip_end(const uint8_t *d, size_t len)
{
	size_t end = 0;

	if (len >= 20 && d[0] >> 4 == 4)
		end = (size_t)d[2] << 8 | d[3];
	else if (len >= 40 && d[0] >> 4 == 6 && (d[4] | d[5]))
		end = 40 + ((size_t)d[4] << 8 | d[5]);
	return end <= len ? end : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pkt_key whole, cut;
	enum pkt_kind kind;
	size_t end;

	kind = classify(data, size, &whole);
	check_flows(data, size < PKT_COPY_RANGE ? size : PKT_COPY_RANGE);
	if (size > PKT_COPY_RANGE)
		classify(data, PKT_COPY_RANGE, &cut);
	/* Link-layer padding after the IP packet changes nothing. */
	end = ip_end(data, size);
	if (end && end < size) {
		REQUIRE(classify(data, end, &cut) == kind);
		REQUIRE(memcmp(&cut, &whole, sizeof(cut)) == 0);
	}
	return 0;
}
