/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_fastpath.c: the proof that the two paths agree (issue 13).  The
 * fast path's BPF program (bpf/fastpath.bpf.c), run by the kernel on
 * Ethernet frames (BPF_PROG_TEST_RUN), against the queue path's decision
 * (nfqlb/lb.c) on the same IP packets, flows and tables:
 * - where the program marks, the mark is the queue path's target mark;
 * - where it leaves a packet unmarked, the queue path finds it one the
 *   program may pass: not PKT_L4 (fragment, ICMP, L3, malformed), no
 *   flow, no target, UDP to a --udp-encap port, or an IPv6 packet with
 *   more than FP_EXT_MAX extension headers.
 * Inputs: the packet fuzzer's seed corpus (plain and VLAN-tagged), a few
 * packets that once disagreed, and 100,000 random packets from a seeded
 * generator, biased to the flows' prefixes and ports and their edges,
 * published flow set after flow set so that both slots serve.
 *
 * Also fp_image_build() (nfqlb/fpbuild.h) on its own.
 *
 * Loading the program needs root (CAP_BPF): without it those tests skip,
 * except under CI=true, where a skip is a failure. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <linux/bpf.h>

#include "flows/flowset.h"
#include "flows/match.h"
#include "maglev/maglev.h"
#include "nfqlb/fastpath.h"
#include "nfqlb/fpbuild.h"
#include "nfqlb/lb.h"
#include "nfqlb/pkt.h"
#include "shm/why.h"
#include "test/unit/suites.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define CORPUS "test/fuzz/corpus/pkt"
#define TCX_NEXT (-1)
#define NRANDOM 100000
#define NEPOCH 25		/* publishes over the random packets */
#define NTAB 8
#define NTARGET_MAX 16
#define GEN_FLOWS 150		/* the generated set: three bitset words */
#define PKT_MAX 1600		/* an IP packet */
#define FRAME_MAX (PKT_MAX + 22)
#define PROTO_UDPLITE 136
#define VLAN_TAGS_MAX 2

/* ---------------------------------------------------------------- rng */

static uint64_t rnd(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint32_t below(uint64_t *x, uint32_t n)
{
	return (uint32_t)(rnd(x) % n);
}

/* true with a chance of pct in 100 */
static bool chance(uint64_t *x, uint32_t pct)
{
	return below(x, 100) < pct;
}

/* ---------------------------------------------------------------- tables */

struct dtab {
	uint32_t *lookup;	/* NULL: not usable */
	struct shm_target targets[NTARGET_MAX];
	uint32_t m, n, seed;
	enum hash_mode mode;
	uint64_t ident, generation;
};

struct tab_spec {
	uint32_t m;
	enum hash_mode mode;
	uint32_t n;		/* target slots */
	uint32_t inactive;	/* of them, the last ones inactive */
	bool unusable;
	bool ident;		/* an identity (so the loader may keep it) */
};

/* Every hash mode; sizes from 2 to 65537; an empty table (its targets
 * all inactive) and an unusable one. */
static const struct tab_spec tab_specs[NTAB] = {
	{ 13, HASH_5TUPLE, 3, 0, false, true },
	{ 251, HASH_ADDR, 5, 1, false, true },
	{ 97, HASH_SRC, 2, 0, false, false },
	{ 997, HASH_SCTP, 7, 2, false, true },
	{ 7, HASH_5TUPLE, 2, 2, false, true },
	{ 1, HASH_5TUPLE, 0, 0, true, true },
	{ 65537, HASH_5TUPLE, 16, 3, false, true },
	{ 2, HASH_ADDR, 1, 0, false, false },
};

/* Table i built (again) with a seed; its generation moves on. */
static void tab_build(struct dtab *t, unsigned int i, uint32_t seed)
{
	const struct tab_spec *sp = &tab_specs[i];
	struct maglev_target mt[NTARGET_MAX];
	uint32_t j, n = 0, e;

	t->m = sp->m;
	t->n = sp->n;
	t->seed = seed;
	t->mode = sp->mode;
	t->ident = sp->ident ? 0x1000 + i : 0;
	t->generation++;
	for (j = 0; j < sp->n; j++) {
		bool active = j < sp->n - sp->inactive;

		t->targets[j] = (struct shm_target){ 100 * (i + 1) + j + seed % 7, 1 + j % 3,
						     active, 0 };
		if (active)
			mt[n++] = (struct maglev_target){ t->targets[j].id, t->targets[j].weight };
	}
	if (sp->unusable)
		return;
	if (!t->lookup)
		t->lookup = malloc(sp->m * sizeof(*t->lookup));
	ck_assert_ptr_nonnull(t->lookup);
	ck_assert_int_eq(maglev_build(t->lookup, sp->m, seed, mt, n), 0);
	/* maglev_build() gives indexes into mt: map them to the slots. */
	for (e = 0; e < sp->m; e++) {
		uint32_t k = t->lookup[e];

		if (k == MAGLEV_EMPTY) {
			t->lookup[e] = SHM_NO_SLOT;
			continue;
		}
		for (j = 0; j < sp->n && t->targets[j].id != mt[k].id; j++)
			;
		t->lookup[e] = j;
	}
}

/* ---------------------------------------------------------------- flow sets */

struct dset {
	const char *name;
	struct flow *f;
	size_t n;
	struct flow_match *m;
};

static struct flow *flow_add(struct dset *s, const char *name, int32_t prio,
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

static struct flow_cidr cidr6(uint32_t w0, uint32_t w1, uint32_t w2, uint32_t w3,
			      unsigned int len)
{
	return (struct flow_cidr){ { w0 & mask_word(len, 0), w1 & mask_word(len, 1),
				     w2 & mask_word(len, 2), w3 & mask_word(len, 3) },
				   (uint8_t)len, AF_INET6, { 0 } };
}

static void dst(struct flow *f, struct flow_cidr c)
{
	f->dst[f->ndst++] = c;
}

static void src(struct flow *f, struct flow_cidr c)
{
	f->src[f->nsrc++] = c;
}

static void dport(struct flow *f, uint16_t lo, uint16_t hi)
{
	f->dport[f->ndport++] = (struct flow_ports){ lo, hi };
}

static void sport(struct flow *f, uint16_t lo, uint16_t hi)
{
	f->sport[f->nsport++] = (struct flow_ports){ lo, hi };
}

/* Services, with ties, source lists, both families, udp-encap. */
static void set_mixed(struct dset *s)
{
	struct flow *f;

	f = flow_add(s, "web", 10, FLOW_P_TCP, 0);
	dst(f, cidr4(0xc0a80a00, 24));
	dst(f, cidr6(0xfd001111, 0, 0, 0, 32));
	dport(f, 80, 80);
	dport(f, 443, 443);
	dport(f, 8000, 8099);
	f = flow_add(s, "dns", 10, FLOW_P_UDP, 0);
	dst(f, cidr4(0xc0a80000, 16));
	dst(f, cidr6(0xfd000000, 0, 0, 0, 8));
	dport(f, 53, 53);
	dport(f, 80, 80);
	f = flow_add(s, "sctp", 5, FLOW_P_SCTP, 9899);
	dst(f, cidr4(0xc0a80a0a, 32));
	dst(f, cidr6(0xfd001111, 0x22220000, 0, 0, 48));
	dport(f, 80, 80);
	dport(f, 38412, 38412);
	f = flow_add(s, "ping", 0, FLOW_P_ICMP | FLOW_P_TCP, 0);
	dst(f, cidr4(0, 0));
	dport(f, 80, 80);
	dst(flow_add(s, "v6-all", 0, 0, 0), cidr6(0, 0, 0, 0, 0));
	f = flow_add(s, "from-ten", -5, 0, 0);
	src(f, cidr4(0x0a000000, 8));
	sport(f, 1024, 65535);
	dst(flow_add(s, "tie-b", 7, FLOW_P_UDP, 0), cidr4(0xc0a80a0a, 32));
	dst(flow_add(s, "tie-a", 7, FLOW_P_UDP, 0), cidr4(0xc0a80a0a, 32));
	f = flow_add(s, "src6", 1, 0, 0);
	src(f, cidr6(0x20010db8, 0, 0, 0, 32));
	src(f, cidr6(0x20010db8, 0xffff0000, 0, 0, 48));
	dport(f, 1, 1023);
}

/* --udp-encap on two ports, with and without prefixes, ties, catch-alls. */
static void set_encap(struct dset *s)
{
	struct flow *f;

	f = flow_add(s, "enc-a", 3, FLOW_P_SCTP, 9899);
	dst(f, cidr4(0xc0a80a0a, 32));
	dst(f, cidr6(0xfd001111, 0, 0, 0, 16));
	f = flow_add(s, "enc-b", 3, 0, 5000);
	dport(f, 80, 80);
	dport(f, 38412, 38412);
	dst(flow_add(s, "sctp-tie", 3, FLOW_P_SCTP, 0), cidr4(0xc0a80a00, 24));
	flow_add(s, "udp-all", 1, FLOW_P_UDP, 0);
	dst(flow_add(s, "routers", 2, 0, 0), cidr4(0xac100000, 12));
	flow_add(s, "last", FLOW_PRIO_MIN, 0, 0);
}

/* Nested and overlapping prefixes of both families in both directions,
 * ::/0 and 0.0.0.0/0, host routes, source ports, the edges of the port
 * space. */
static void set_overlap(struct dset *s)
{
	struct flow *f;

	dst(flow_add(s, "all4", -10, 0, 0), cidr4(0, 0));
	dst(flow_add(s, "all6", -10, 0, 0), cidr6(0, 0, 0, 0, 0));
	f = flow_add(s, "ten", 1, FLOW_P_TCP | FLOW_P_UDP, 0);
	dst(f, cidr4(0x0a000000, 8));
	dport(f, 1, 100);
	f = flow_add(s, "ten-one", 2, 0, 0);
	dst(f, cidr4(0x0a010000, 16));
	dst(f, cidr4(0x0a010203, 32));
	dport(f, 50, 150);
	dport(f, 65535, 65535);
	f = flow_add(s, "ten-one-two", 3, FLOW_P_SCTP, 0);
	dst(f, cidr4(0x0a010200, 24));
	src(f, cidr4(0x0a000000, 9));
	f = flow_add(s, "host", 4, 0, 0);
	dst(f, cidr4(0x0a010203, 32));
	sport(f, 1, 1);
	sport(f, 60000, 65535);
	f = flow_add(s, "db8", 1, 0, 0);
	dst(f, cidr6(0x20010db8, 0, 0, 0, 32));
	src(f, cidr6(0x20010db8, 0x00010000, 0, 0, 48));
	src(f, cidr6(0xfd000000, 0, 0, 0, 8));
	f = flow_add(s, "db8-1", 1, FLOW_P_TCP, 0);	/* ties db8 */
	dst(f, cidr6(0x20010db8, 0x00010000, 0, 0, 48));
	dst(f, cidr6(0x20010db8, 0x00010002, 0x00030004, 0x00050006, 128));
	dport(f, 1, 65535);
	f = flow_add(s, "v6-src-any", 0, 0, 0);
	src(f, cidr6(0, 0, 0, 0, 0));
	sport(f, 32768, 65535);
	f = flow_add(s, "v4-src-any", 0, FLOW_P_UDP | FLOW_P_SCTP, 0);
	src(f, cidr4(0, 0));
	dport(f, 1000, 2000);
	/* IPv6 prefixes over ::ffff:0:0/96 match no packet (flows/flow.h). */
	f = flow_add(s, "v6-mapped", 20, 0, 0);
	dst(f, cidr6(0, 0, 0xffff, 0x0a000000, 104));
	dst(f, cidr6(0, 0, 0xffff, 0, 96));
	dst(f, cidr6(0, 0, 0xfffe, 0, 95));
}

/* The one flow of `lb --shm NAME --bpf IF --vip ... --proto --port`. */
static void set_shm(struct dset *s)
{
	struct flow *f = flow_add(s, "shm", 0, FLOW_P_TCP | FLOW_P_UDP | FLOW_P_SCTP, 0);

	dst(f, cidr4(0x0a000001, 32));
	dst(f, cidr4(0xc0a80a00, 24));
	dst(f, cidr6(0xfd001111, 0x22223333, 0, 0, 64));
	dport(f, 80, 80);
	dport(f, 5000, 5100);
}

/* `lb --shm NAME --bpf IF` with no --vip: every packet. */
static void set_shm_all(struct dset *s)
{
	flow_add(s, "all", 0, 0, 0);
}

static struct flow_cidr gen_cidr(uint64_t *x)
{
	uint32_t a = (uint32_t)rnd(x), b = (uint32_t)rnd(x), len = below(x, 1000);

	switch (below(x, 5)) {
	case 0: return cidr4(0x0a000000 | (a & 0xffffff), 8 + len % 25);
	case 1: return cidr4(0xc0a80000 | (a & 0xffff), 16 + len % 17);
	case 2: return cidr6(0x20010db8, a << 8 | b, b, a, 32 + len % 97);
	case 3: return cidr4(a, len % 33);
	default: return cidr6(0xfd000000 | (a & 0xffffff), b << 8, 0, 0, 8 + len % 57);
	}
}

static struct flow_ports gen_ports(uint64_t *x)
{
	static const uint16_t near[] = { 1, 53, 80, 443, 1024, 5000, 9899, 38412, 65000 };
	uint32_t lo = near[below(x, N(near))] + below(x, 40), width = below(x, 300);

	if (lo > 65535)
		lo = 65535;
	return (struct flow_ports){ (uint16_t)lo, (uint16_t)(lo + width > 65535 ? 65535 :
							     lo + width) };
}

/* Prios -3..3 (ties), any protocols, up to 3 prefixes and ranges per list,
 * now and then an encap port. */
static void gen_flow(struct dset *s, unsigned int i, uint64_t *x)
{
	static const uint16_t encaps[] = { 0, 0, 0, 0, 0, 0, 9899, 2905 };
	uint32_t prio = below(x, 7), protos = below(x, 16), k;
	uint16_t encap = encaps[below(x, N(encaps))];
	struct flow *f;
	char name[8];

	if (encap && protos && !(protos & FLOW_P_SCTP))
		protos |= FLOW_P_SCTP;
	snprintf(name, sizeof(name), "g%03u", i);
	f = flow_add(s, name, (int32_t)prio - 3, protos, encap);
	for (k = below(x, 4); k; k--)
		dst(f, gen_cidr(x));
	for (k = below(x, 3); k; k--)
		src(f, gen_cidr(x));
	for (k = below(x, 4); k; k--)
		f->dport[f->ndport++] = gen_ports(x);
	for (k = below(x, 3) == 0; k; k--)
		f->sport[f->nsport++] = gen_ports(x);
}

static void set_gen(struct dset *s)
{
	uint64_t x = 0x5eed;
	unsigned int i;

	for (i = 0; i < GEN_FLOWS; i++)
		gen_flow(s, i, &x);
}

enum { SET_MIXED, SET_ENCAP, SET_OVERLAP, SET_SHM, SET_SHM_ALL, SET_EMPTY, SET_GEN, NSET };

static struct dset sets[NSET];

static void sets_init(void)
{
	static void (*const fill[NSET])(struct dset *) = {
		set_mixed, set_encap, set_overlap, set_shm, set_shm_all, NULL, set_gen,
	};
	static const char *const names[NSET] = {
		"mixed", "encap", "overlap", "shm", "shm-all", "empty", "generated",
	};
	char why[WHY_MAX] = "";
	static bool ready;
	unsigned int i;
	size_t k;

	if (ready)
		return;
	ready = true;
	for (i = 0; i < NSET; i++) {
		sets[i].name = names[i];
		sets[i].f = calloc(GEN_FLOWS, sizeof(struct flow));
		ck_assert_ptr_nonnull(sets[i].f);
		if (fill[i])
			fill[i](&sets[i]);
		for (k = 0; k < sets[i].n; k++)
			ck_assert_msg(flowset_check_flow(&sets[i].f[k], why) == 0,
				      "set %s, flow %s: %s", names[i], sets[i].f[k].name, why);
		sets[i].m = flow_match_build(sets[i].f, sets[i].n, why);
		ck_assert_msg(sets[i].m, "flow_match_build %s: %s", names[i], why);
	}
}

/* ---------------------------------------------------------------- the published state */

/* What the fast path holds now, and the queue path's view of the same. */
struct world {
	struct fastpath *fp;
	const struct dset *set;
	struct dtab tab[NTAB];
	struct lb_table lbt[NTAB];
	struct fastpath_table fpt[NTAB];
	uint32_t flow_table[GEN_FLOWS];
	unsigned int publishes;
};

/* Differences are printed, the first few of each kind. */
#define SHOW_MAX 5

struct tally {
	uint64_t runs;		/* frames the program ran on */
	uint64_t refused;	/* frames the kernel would not run it on */
	uint64_t marked;	/* marked, as the queue path marks */
	uint64_t passed;	/* unmarked, and the queue path agrees it may be */
	uint64_t wrong_mark;	/* marked, not with the queue path's mark */
	uint64_t missed;	/* unmarked, but the queue path marks it */
	uint64_t verdict;	/* the program returned other than TCX_NEXT */
};

/* Root, or a skip (a failure under CI=true).  Returns whether to go on. */
static bool may_skip(const char *what)
{
	const char *ci = getenv("CI");

	ck_assert_msg(!ci || strcmp(ci, "true") != 0,
		      "%s, and CI=true counts a skip as a failure", what);
	fprintf(stderr, "test_fastpath: skipped: %s\n", what);
	return false;
}

/* Load the program; false (a skip) when not allowed to. */
static bool world_load(struct world *w)
{
	char why[WHY_MAX] = "";
	static char log[65536];

	memset(w, 0, sizeof(*w));
	if (geteuid() != 0)
		return may_skip("loading BPF programs needs root");
	w->fp = fastpath_load(log, sizeof(log), why);
	if (!w->fp && errno == EPERM)
		return may_skip(why);
	ck_assert_msg(w->fp, "fastpath_load: %s\n%s", why, log);
	return true;
}

static void world_close(struct world *w)
{
	unsigned int i;

	fastpath_close(w->fp);
	for (i = 0; i < NTAB; i++)
		free(w->tab[i].lookup);
}

/* Publish set s; tables rebuilt now and then (with new seeds), flows
 * assigned to tables by epoch. */
static void world_publish(struct world *w, const struct dset *s, unsigned int epoch)
{
	char why[WHY_MAX] = "";
	struct fastpath_set fs;
	unsigned int i;
	size_t k;

	for (i = 0; i < NTAB; i++) {
		struct dtab *t = &w->tab[i];

		if (epoch == 0 || (epoch + i) % 3 == 0)
			tab_build(t, i, 7 * epoch + 11 * i + 1);
		w->lbt[i] = (struct lb_table){ t->lookup, t->m, t->seed, t->mode };
		w->fpt[i] = (struct fastpath_table){ t->lookup, t->targets, t->m, t->n,
						     t->seed, t->mode, t->ident,
						     t->generation };
	}
	for (k = 0; k < s->n; k++)
		w->flow_table[k] = epoch % 5 == 4 ? epoch % NTAB :
				   (uint32_t)(k * (epoch + 1) + epoch) % NTAB;
	fs = (struct fastpath_set){ s->f, (uint32_t)s->n, w->flow_table, w->fpt, NTAB, NULL };
	ck_assert_msg(fastpath_publish(w->fp, &fs, why) == 0, "fastpath_publish %s: %s",
		      s->name, why);
	w->set = s;
	w->publishes++;
}

/* ---------------------------------------------------------------- one packet */

/* The queue path's mark for the IP packet (the worker's decision()). */
static uint32_t queue_mark(const struct world *w, const uint8_t *ip, uint32_t len,
			   struct lb_result *r)
{
	struct lb_flows lf = { w->set->m, w->flow_table, w->lbt };
	struct queue_pkt p = { 0, len, ip };

	memset(r, 0, sizeof(*r));
	lb_flows_match(&lf, &p, 1, r);
	lb_flows_lookup(&lf, r, 1);
	if (r->kind == PKT_MALFORMED || r->flow < 0 || r->slot == SHM_NO_SLOT)
		return 0;
	return w->tab[r->table].targets[r->slot].id;
}

static bool is_ext(uint8_t nh)
{
	return nh == IPPROTO_HOPOPTS || nh == IPPROTO_ROUTING || nh == IPPROTO_DSTOPTS ||
	       nh == IPPROTO_FRAGMENT || nh == IPPROTO_AH;
}

/* IPv6 extension headers before the transport header of a packet the
 * queue path walked to it (PKT_L4). */
static unsigned int ext_count(const uint8_t *ip, uint32_t len)
{
	uint32_t off = 40, n = 0;
	uint8_t nh = ip[6];

	while (is_ext(nh) && off + 2 <= len) {
		uint8_t next = ip[off];

		n++;
		off += nh == IPPROTO_FRAGMENT ? 8u : nh == IPPROTO_AH ?
		       (ip[off + 1] + 2u) * 4u : (ip[off + 1] + 1u) * 8u;
		nh = next;
	}
	return n;
}

/* Why the program may leave the packet unmarked; NULL when it may not. */
static const char *may_pass(const struct world *w, const uint8_t *ip, uint32_t len,
			    const struct lb_result *r)
{
	struct pkt_meta m;
	struct pkt_key k;

	if (r->kind != PKT_L4)
		return pkt_kind_name((enum pkt_kind)r->kind);
	if (r->flow < 0)
		return "no flow";
	if (r->slot == SHM_NO_SLOT)
		return "no target";
	pkt_classify_meta(ip, len, &k, &m);
	if (k.w[9] == IPPROTO_UDP && flow_match_encap(w->set->m, (uint16_t)k.w[8]))
		return "udp-encap";
	if (ip[0] >> 4 == 6 && ext_count(ip, len) > FP_EXT_MAX)
		return "long chain";
	return NULL;
}

static void hexdump(const uint8_t *p, uint32_t len)
{
	uint32_t i;

	for (i = 0; i < len && i < 128; i++)
		fprintf(stderr, "%02x%s", p[i], i % 32 == 31 ? "\n" : " ");
	fprintf(stderr, "%s", i % 32 ? "\n" : "");
}

static void show(const struct world *w, const char *what, const char *how,
		 const uint8_t *ip, uint32_t len, uint32_t mark, uint32_t qmark,
		 const struct lb_result *r)
{
	fprintf(stderr, "test_fastpath: %s: %s (set %s, publish %u): program mark %u, "
		"queue mark %u (kind %s, flow %d, table %u, slot %d), %u bytes:\n",
		what, how, w->set->name, w->publishes, mark, qmark,
		pkt_kind_name((enum pkt_kind)r->kind), r->flow, r->table, (int)r->slot, len);
	hexdump(ip, len);
}

/* The Ethernet frame of an IP packet, with tags 802.1Q (or 802.1ad, then
 * 802.1Q) tags; returns its length. */
static uint32_t frame_of(uint8_t *fr, const uint8_t *ip, uint32_t len, unsigned int tags)
{
	uint16_t type = len && ip[0] >> 4 == 6 ? ETH_P_IPV6 : ETH_P_IP;
	uint32_t o = 12;
	unsigned int i;

	memset(fr, 0, 12);
	fr[0] = fr[6] = 0x02;
	fr[11] = 1;
	for (i = 0; i < tags; i++) {
		uint16_t tpid = i == 0 && tags > 1 ? ETH_P_8021AD : ETH_P_8021Q;

		fr[o++] = (uint8_t)(tpid >> 8);
		fr[o++] = (uint8_t)tpid;
		fr[o++] = 0;
		fr[o++] = (uint8_t)(7 + i);
	}
	fr[o++] = (uint8_t)(type >> 8);
	fr[o++] = (uint8_t)type;
	memcpy(fr + o, ip, len);
	return o + len;
}

/* Run the program on a frame: 0, or -1 with errno. */
static int prog_run(const struct world *w, const uint8_t *fr, uint32_t len,
		    uint32_t *mark, int *ret)
{
	struct __sk_buff in = { 0 }, out = { 0 };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = fr, .data_size_in = len,
		    .ctx_in = &in, .ctx_size_in = sizeof(in),
		    .ctx_out = &out, .ctx_size_out = sizeof(out), .repeat = 1);

	if (bpf_prog_test_run_opts(fastpath_prog_fd(w->fp), &o) < 0)
		return -1;
	*mark = out.mark;
	*ret = (int)o.retval;
	return 0;
}

/* The one-table worker's mark (lb --shm: lb_lookup_batch()) from the
 * table of the set's one flow. */
static uint32_t shm_mark(const struct world *w, const uint8_t *ip, uint32_t len)
{
	const struct dtab *t = &w->tab[w->flow_table[0]];
	struct shm_view v = { .m = t->m, .lookup = t->lookup };
	struct queue_pkt p = { 0, len, ip };
	struct lb_result r;

	if (!t->lookup)
		return 0;
	lb_lookup_batch(&v, t->mode, t->seed, &p, 1, &r);
	return r.slot == SHM_NO_SLOT ? 0 : t->targets[r.slot].id;
}

/* One IP packet, in a frame with tags, through both paths: tallied. */
static void check_one(const struct world *w, struct tally *t, const char *what,
		      const uint8_t *ip, uint32_t len, unsigned int tags)
{
	static uint8_t fr[FRAME_MAX];
	uint32_t flen = frame_of(fr, ip, len, tags), mark = 0, qmark, qlen;
	struct lb_result r;
	int ret = 0;

	if (prog_run(w, fr, flen, &mark, &ret) < 0) {
		/* The kernel wants a whole IP header in an untagged IP frame. */
		ck_assert_msg(errno == EINVAL, "BPF_PROG_TEST_RUN: %s", strerror(errno));
		t->refused++;
		return;
	}
	t->runs++;
	qlen = len < PKT_COPY_RANGE ? len : PKT_COPY_RANGE;
	qmark = queue_mark(w, ip, qlen, &r);
	if (ret != TCX_NEXT && t->verdict++ < SHOW_MAX)
		show(w, what, "verdict not TCX_NEXT", ip, len, mark, qmark, &r);
	if (mark && w->set->n == 1 && mark != shm_mark(w, ip, qlen) &&
	    t->wrong_mark++ < SHOW_MAX)
		show(w, what, "marked unlike lb --shm", ip, len, mark, qmark, &r);
	if (mark) {
		if (mark == qmark)
			t->marked++;
		else if (t->wrong_mark++ < SHOW_MAX)
			show(w, what, "marked differently", ip, len, mark, qmark, &r);
		return;
	}
	if (!qmark || may_pass(w, ip, qlen, &r))
		t->passed++;
	else if (t->missed++ < SHOW_MAX)
		show(w, what, "not marked", ip, len, mark, qmark, &r);
}

static void tally_print(const char *what, const struct tally *t)
{
	fprintf(stderr, "test_fastpath: %s: %llu frames run (%llu more refused by the "
		"kernel): %llu marked alike, %llu passed to the queue path; differences: "
		"%llu marked differently, %llu not marked, %llu bad verdicts\n", what,
		(unsigned long long)t->runs, (unsigned long long)t->refused,
		(unsigned long long)t->marked, (unsigned long long)t->passed,
		(unsigned long long)t->wrong_mark, (unsigned long long)t->missed,
		(unsigned long long)t->verdict);
}

static void tally_assert(const char *what, const struct tally *t)
{
	tally_print(what, t);
	ck_assert_msg(t->wrong_mark == 0 && t->missed == 0 && t->verdict == 0,
		      "%s: the paths disagree: %llu marked differently, %llu not marked, "
		      "%llu bad verdicts", what, (unsigned long long)t->wrong_mark,
		      (unsigned long long)t->missed, (unsigned long long)t->verdict);
	ck_assert_uint_eq(t->marked + t->passed, t->runs);
}

/* The program counted every frame it ran on, once, and its marks. */
static void counts_assert(const struct world *w, const struct tally *t)
{
	uint64_t c[FP_C_MAX], sum = 0;
	unsigned int i;

	ck_assert_int_eq(fastpath_counts(w->fp, c), 0);
	for (i = 0; i < FP_C_MAX; i++)
		sum += c[i];
	ck_assert_uint_eq(sum, t->runs);
	ck_assert_uint_eq(c[FP_C_MARKED], t->marked);
	ck_assert_uint_eq(c[FP_C_BUSY], 0);
	ck_assert_uint_eq(c[FP_C_OFF], 0);
}

/* ---------------------------------------------------------------- the corpus */

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The corpus's file names, sorted; returns how many. */
static size_t corpus_names(char ***names)
{
	DIR *d = opendir(CORPUS);
	struct dirent *e;
	size_t n = 0;

	ck_assert_msg(d, "%s: %s (run the tests from the source tree)", CORPUS,
		      strerror(errno));
	*names = NULL;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		*names = realloc(*names, (n + 1) * sizeof(**names));
		ck_assert_ptr_nonnull(*names);
		(*names)[n] = strdup(e->d_name);
		ck_assert_ptr_nonnull((*names)[n++]);
	}
	closedir(d);
	qsort(*names, n, sizeof(**names), by_name);
	return n;
}

static uint32_t corpus_read(const char *name, uint8_t *buf)
{
	char path[512];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", CORPUS, name);
	f = fopen(path, "rb");
	ck_assert_msg(f, "%s: %s", path, strerror(errno));
	n = fread(buf, 1, PKT_MAX, f);
	fclose(f);
	return (uint32_t)n;
}

/* Every corpus packet, untagged, with one tag and with two, against
 * every flow set. */
START_TEST(test_corpus)
{
	static uint8_t pkt[PKT_MAX];
	struct tally t = { 0 };
	struct world w;
	char **names;
	size_t n = corpus_names(&names), i;
	unsigned int s, tags;

	ck_assert_uint_gt(n, 50);
	sets_init();
	if (!world_load(&w))
		return;
	for (s = 0; s < NSET; s++) {
		world_publish(&w, &sets[s], s);
		for (i = 0; i < n; i++) {
			uint32_t len = corpus_read(names[i], pkt);

			for (tags = 0; tags <= VLAN_TAGS_MAX; tags++)
				check_one(&w, &t, names[i], pkt, len, tags);
		}
	}
	tally_assert("corpus", &t);
	counts_assert(&w, &t);
	ck_assert_uint_gt(t.marked, 50);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	world_close(&w);
}
END_TEST

/* ---------------------------------------------------------------- random packets */

static void wr16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void wr32(uint8_t *p, uint32_t v)
{
	wr16(p, v >> 16);
	wr16(p + 2, v);
}

static void fill(uint64_t *x, uint8_t *p, uint32_t n)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)rnd(x);
}

/* A prefix of the set's dst (or src) lists, NULL when none came up. */
static const struct flow_cidr *pick_cidr(uint64_t *x, const struct dset *s, bool to)
{
	const struct flow *f;
	unsigned int i;

	for (i = 0; s->n && i < 4; i++) {
		f = &s->f[below(x, (uint32_t)s->n)];
		if (to && f->ndst)
			return &f->dst[below(x, f->ndst)];
		if (!to && f->nsrc)
			return &f->src[below(x, f->nsrc)];
	}
	return NULL;
}

/* w plus d (+1 or -1), over 128 bits, or over the last 32 for IPv4. */
static void step(uint32_t *w, int d, bool v4)
{
	int i;

	for (i = 3; i >= (v4 ? 3 : 0); i--) {
		w[i] += (uint32_t)d;
		if ((d > 0 && w[i] != 0) || (d < 0 && w[i] != UINT32_MAX))
			break;
	}
}

/* An address in, at the edges of, or just outside a prefix. */
static void near_cidr(uint64_t *x, const struct flow_cidr *c, uint32_t *w)
{
	uint32_t how = below(x, 6), i, host;

	for (i = 0; i < 4; i++) {
		host = ~mask_word(c->len, i);
		w[i] = c->w[i] | (how <= 1 ? (uint32_t)rnd(x) & host : how == 3 || how == 5 ?
				  host : 0);
	}
	if (how == 4)
		step(w, -1, c->family == AF_INET);
	else if (how == 5)
		step(w, 1, c->family == AF_INET);
}

static void any_addr(uint64_t *x, bool v6, uint32_t *w)
{
	uint32_t r = (uint32_t)rnd(x);

	if (!v6) {
		w[0] = w[1] = 0;
		w[2] = 0xffff;
		w[3] = r % 3 == 0 ? r : r % 3 == 1 ? 0x0a000000 | (r >> 8) : 0xc0a80000 | (r >> 16);
		return;
	}
	w[0] = r % 3 == 0 ? 0x20010db8 : r % 3 == 1 ? 0xfd000000 | (r >> 8) : (uint32_t)rnd(x);
	w[1] = r % 5 == 0 ? 0 : (uint32_t)rnd(x);
	w[2] = (uint32_t)rnd(x);
	w[3] = (uint32_t)rnd(x);
	if (chance(x, 5)) {	/* an IPv6 packet with an IPv4-mapped address */
		w[0] = w[1] = 0;
		w[2] = chance(x, 80) ? 0xffff : 0xfffe;
	}
}

/* An address for a packet of family v6, near the set's prefixes. */
static void pick_addr(uint64_t *x, const struct dset *s, bool to, bool v6, uint32_t *w)
{
	const struct flow_cidr *c = chance(x, 85) ? pick_cidr(x, s, to) : NULL;

	/* (now and then an IPv6 packet with an IPv4-mapped address near an
	 * IPv4 prefix) */
	if (c && ((c->family == AF_INET6) == v6 || (v6 && chance(x, 20))))
		near_cidr(x, c, w);
	else
		any_addr(x, v6, w);
}

static uint16_t pick_port(uint64_t *x, const struct dset *s, bool to)
{
	static const uint16_t common[] = { 0, 1, 53, 80, 443, 1024, 2905, 5000, 9899,
					   38412, 65535 };
	const struct flow_ports *p = NULL;
	const struct flow *f;
	uint16_t np;

	if (s->n && chance(x, 80)) {
		f = &s->f[below(x, (uint32_t)s->n)];
		if (to && f->udp_encap && chance(x, 30))
			return f->udp_encap;
		np = to ? f->ndport : f->nsport;
		p = np ? &(to ? f->dport : f->sport)[below(x, np)] : NULL;
	}
	if (p) {
		switch (below(x, 5)) {
		case 0: return p->lo;
		case 1: return p->hi;
		case 2: return (uint16_t)(p->lo - 1);
		case 3: return (uint16_t)(p->hi + 1);
		default: return (uint16_t)(p->lo + below(x, p->hi - p->lo + 1u));
		}
	}
	return chance(x, 50) ? common[below(x, N(common))] : (uint16_t)rnd(x);
}

/* What one random packet is. */
struct spec {
	bool v6;
	uint8_t proto;
	uint32_t src[4], dst[4];
	uint16_t sport, dport;
};

static uint8_t pick_proto(uint64_t *x, bool v6)
{
	static const uint8_t other[] = { 47, 50, 89, 59, 0, 2, 103 };
	uint32_t r = below(x, 100);

	if (r < 34)
		return IPPROTO_TCP;
	if (r < 64)
		return IPPROTO_UDP;
	if (r < 80)
		return IPPROTO_SCTP;
	if (r < 87)
		return PROTO_UDPLITE;
	if (r < 94)
		return v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
	return other[below(x, N(other))];
}

/* The quoted packet of an ICMP error: an IP header and 8 bytes. */
static uint32_t put_quote(uint64_t *x, uint8_t *p, const struct spec *sp)
{
	uint32_t hl = sp->v6 ? 40 : 20, i;

	memset(p, 0, hl);
	fill(x, p + hl, 8);
	wr16(p + hl, sp->dport);
	wr16(p + hl + 2, sp->sport);
	if (sp->v6) {
		p[0] = 0x60;
		wr16(p + 4, 8);
		p[6] = chance(x, 50) ? IPPROTO_TCP : IPPROTO_UDP;
		for (i = 0; i < 4; i++) {
			wr32(p + 8 + 4 * i, sp->dst[i]);
			wr32(p + 24 + 4 * i, sp->src[i]);
		}
		return hl + 8;
	}
	p[0] = 0x45;
	wr16(p + 2, 28);
	p[9] = chance(x, 50) ? IPPROTO_TCP : IPPROTO_UDP;
	wr32(p + 12, sp->dst[3]);
	wr32(p + 16, sp->src[3]);
	return hl + 8;
}

static uint32_t put_icmp(uint64_t *x, uint8_t *p, const struct spec *sp)
{
	static const uint8_t t4[] = { 8, 0, 3, 11, 12, 13 }, t6[] = { 128, 129, 1, 3, 2, 135 };
	uint32_t k = below(x, N(t4));

	fill(x, p, 8);
	p[0] = sp->v6 ? t6[k] : t4[k];
	if (k >= 2 && k <= 4 && chance(x, 80))
		return 8 + put_quote(x, p + 8, sp);
	return 8;
}

/* The transport header; returns its length. */
static uint32_t put_l4(uint64_t *x, uint8_t *p, const struct spec *sp, const struct dset *s)
{
	uint32_t n;

	switch (sp->proto) {
	case IPPROTO_TCP:
		fill(x, p, 20);
		wr16(p, sp->sport);
		wr16(p + 2, sp->dport);
		p[12] = (uint8_t)((chance(x, 90) ? 5 + below(x, 3) * below(x, 6) / 2 :
				   below(x, 5)) << 4);
		return 20;
	case IPPROTO_UDP:
	case PROTO_UDPLITE:
		fill(x, p, 8);
		wr16(p, sp->sport);
		wr16(p + 2, sp->dport);
		n = 8;
		if (sp->proto == IPPROTO_UDP && flow_match_encap(s->m, sp->dport) &&
		    chance(x, 60)) {
			fill(x, p + 8, 12);
			wr16(p + 8, pick_port(x, s, false));
			wr16(p + 10, pick_port(x, s, true));
			n += 12;
		}
		wr16(p + 4, chance(x, 95) ? n : below(x, 40));
		return n;
	case IPPROTO_SCTP:
		fill(x, p, 16);
		wr16(p, sp->sport);
		wr16(p + 2, sp->dport);
		return 16;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		return put_icmp(x, p, sp);
	}
	return 0;
}

/* IPv4 header; returns its length. */
static uint32_t put_ip4(uint64_t *x, uint8_t *p, const struct spec *sp)
{
	uint32_t ihl = chance(x, 85) ? 5 : chance(x, 90) ? 6 + below(x, 10) : below(x, 5);
	uint32_t frag = 0;

	memset(p, 0, 60);
	p[0] = (uint8_t)(0x40 | ihl);
	wr16(p + 4, (uint32_t)rnd(x));
	if (chance(x, 10))
		frag = below(x, 3) == 0 ? 0x2000 : below(x, 2) ? 1 + below(x, 0x1fff) :
		       0x2000 | (1 + below(x, 0x1fff));
	else if (chance(x, 30))
		frag = 0x4000;	/* DF: no fragment */
	wr16(p + 6, frag);
	p[8] = 64;
	p[9] = sp->proto;
	wr32(p + 12, sp->src[3]);
	wr32(p + 16, sp->dst[3]);
	if (ihl > 5)
		memset(p + 20, 1, (ihl - 5) * 4);	/* NOPs */
	return ihl < 5 ? 20 : ihl * 4;
}

/* One IPv6 extension header of type nh, its next header next. */
static uint32_t put_ext(uint64_t *x, uint8_t *p, uint8_t nh, uint8_t next)
{
	uint32_t n;

	if (nh == IPPROTO_FRAGMENT) {
		fill(x, p, 8);
		p[1] = 0;
		/* atomic (offset 0, no M), first (M), or later (offset) */
		n = below(x, 10);
		wr16(p + 2, n < 7 ? (uint32_t)(rnd(x) & 6) : n < 9 ? 1 : (1 + below(x, 0x1fff)) << 3);
		n = 8;
	} else if (nh == IPPROTO_AH) {
		p[1] = (uint8_t)(1 + below(x, 6));
		n = (p[1] + 2u) * 4u;
		fill(x, p + 2, n - 2);
	} else {
		p[1] = (uint8_t)(chance(x, 97) ? below(x, 3) : 30 + below(x, 34));
		n = (p[1] + 1u) * 8u;
		memset(p + 2, 0, n - 2);
	}
	p[0] = next;
	return n;
}

/* IPv6 header and 0..10 extension headers; returns their length. */
static uint32_t put_ip6(uint64_t *x, uint8_t *p, const struct spec *sp)
{
	static const uint8_t ext[] = { IPPROTO_HOPOPTS, IPPROTO_ROUTING, IPPROTO_DSTOPTS,
				       IPPROTO_AH, IPPROTO_FRAGMENT };
	uint32_t next = chance(x, 50) ? 0 : chance(x, 96) ? 1 + below(x, 6) : 7 + below(x, 4);
	uint32_t off = 40, i;
	uint8_t nh[12];

	memset(p, 0, 40);
	p[0] = 0x60;
	p[7] = 64;
	for (i = 0; i < 4; i++) {
		wr32(p + 8 + 4 * i, sp->src[i]);
		wr32(p + 24 + 4 * i, sp->dst[i]);
	}
	for (i = 0; i < next; i++)
		nh[i] = ext[below(x, N(ext))];
	nh[next] = sp->proto;
	p[6] = nh[0];
	/* (an extension header is at most 512 bytes) */
	for (i = 0; i < next && off < PKT_MAX - 900; i++)
		off += put_ext(x, p + off, nh[i], nh[i + 1]);
	return off;
}

/* Lengths that lie, padding and packets cut short, now and then. */
static uint32_t put_lengths(uint64_t *x, uint8_t *p, uint32_t hlen, uint32_t len, bool v6)
{
	uint32_t claim = v6 ? len - 40 : len, r = below(x, 100);

	if (r < 3)
		claim = 0;
	else if (r < 5)
		claim = below(x, 65536);
	else if (r < 8)
		claim = (v6 ? 0 : hlen) + below(x, len - hlen + 1) - (v6 ? 0 : below(x, 4));
	wr16(p + (v6 ? 4 : 2), claim);
	r = below(x, 100);
	if (r < 6) {		/* link-layer padding */
		fill(x, p + len, 1 + below(x, 40));
		len += 1 + below(x, 40);
	} else if (r < 11) {	/* cut short */
		len = below(x, len + 1);
	}
	return len;
}

/* A random packet for set s into p (PKT_MAX bytes); returns its length. */
static uint32_t random_packet(uint64_t *x, const struct dset *s, uint8_t *p)
{
	struct spec sp = { .v6 = chance(x, 45) };
	uint32_t off, len, pay = below(x, 100);

	sp.proto = pick_proto(x, sp.v6);
	pick_addr(x, s, false, sp.v6, sp.src);
	pick_addr(x, s, true, sp.v6, sp.dst);
	sp.sport = pick_port(x, s, false);
	sp.dport = pick_port(x, s, true);
	off = sp.v6 ? put_ip6(x, p, &sp) : put_ip4(x, p, &sp);
	len = off + put_l4(x, p + off, &sp, s);
	pay = pay < 70 ? below(x, 40) : pay < 95 ? 40 + below(x, 200) : 500 + below(x, 700);
	if (len + pay > PKT_MAX - 50)
		pay = PKT_MAX - 50 - len;
	fill(x, p + len, pay);
	len += pay;
	return put_lengths(x, p, off, len, sp.v6);
}

/* NRANDOM random packets, over NEPOCH publishes that go round the flow
 * sets and rebuild tables, so that both slots serve. */
START_TEST(test_random)
{
	static uint8_t pkt[PKT_MAX];
	struct tally t = { 0 };
	uint64_t x = 0x6e66716c62ULL, n;
	unsigned int e, i;
	struct world w;

	sets_init();
	if (!world_load(&w))
		return;
	for (e = 0; e < NEPOCH; e++) {
		world_publish(&w, &sets[e % NSET], e);
		/* NRANDOM run in all: a frame the kernel refuses to run the
		 * program on (an IP header cut short) does not count. */
		for (i = 0, n = t.runs; t.runs - n < NRANDOM / NEPOCH && i < 2 * NRANDOM / NEPOCH;
		     i++) {
			uint32_t len = random_packet(&x, w.set, pkt);

			check_one(&w, &t, "random", pkt, len, chance(&x, 10) ? 1 : 0);
		}
	}
	ck_assert_uint_eq(t.runs, NRANDOM);
	tally_assert("random", &t);
	counts_assert(&w, &t);
	ck_assert_uint_gt(t.marked, NRANDOM / 4);
	world_close(&w);
}
END_TEST

/* ---------------------------------------------------------------- edges by hand */

#define BIG 'B'		/* a 512-byte destination options header */

struct edge {
	const char *name;
	const char *src, *dst;
	uint8_t proto;
	uint16_t sport, dport;
	const char *ext;	/* IPv6 extension headers: H, R, D, A, F (atomic),
				 * f (first fragment), B */
	unsigned int tags;
	uint8_t doff;		/* TCP data offset (0: 5) */
	bool sctp_in_udp;
	bool mark;		/* the program marks it */
};

/* Against flow set "mixed", published at epoch 1. */
static const struct edge edges[] = {
	{ "v4 TCP to web", "10.1.1.1", "192.168.10.5", IPPROTO_TCP, 40000, 80, "", 0, 0, 0, 1 },
	{ "v4 TCP to web, DF", "10.1.1.1", "192.168.10.5", IPPROTO_TCP, 40000, 443, "", 0, 0, 0, 1 },
	{ "v6 TCP to web after 4 extension headers", "2001:db8::1", "fd00:1111::1",
	  IPPROTO_TCP, 40000, 80, "HDRA", 0, 0, 0, 1 },
	{ "v6 TCP to web after 5 extension headers", "2001:db8::1", "fd00:1111::1",
	  IPPROTO_TCP, 40000, 80, "HDRAD", 0, 0, 0, 0 },
	{ "v6 UDP to dns after an atomic fragment", "2001:db8::1", "fd00::1",
	  IPPROTO_UDP, 40000, 53, "HF", 0, 0, 0, 1 },
	{ "v6 UDP to dns, a first fragment", "2001:db8::1", "fd00::1",
	  IPPROTO_UDP, 40000, 53, "f", 0, 0, 0, 0 },
	{ "v6 UDP to dns past the capture", "2001:db8::1", "fd00::1",
	  IPPROTO_UDP, 40000, 53, "B", 0, 0, 0, 0 },
	{ "v4 UDP to dns, 802.1ad and 802.1Q tags", "10.1.1.1", "192.168.10.10",
	  IPPROTO_UDP, 40000, 53, "", 2, 0, 0, 1 },
	{ "v4 UDP to dns, one tag", "10.1.1.1", "192.168.10.10",
	  IPPROTO_UDP, 40000, 53, "", 1, 0, 0, 1 },
	{ "v4 SCTP over UDP", "10.1.1.1", "192.168.10.10",
	  IPPROTO_UDP, 5000, 9899, "", 0, 0, 1, 0 },
	{ "v6 TCP to ::ffff:192.168.10.5 (web's IPv4 prefix)", "2001:db8::1",
	  "::ffff:192.168.10.5", IPPROTO_TCP, 40000, 80, "", 0, 0, 0, 1 },
	{ "v4 UDP-Lite from ten", "10.0.0.1", "192.168.10.10",
	  PROTO_UDPLITE, 2000, 53, "", 0, 0, 0, 1 },
	{ "v4 TCP, data offset 4", "10.1.1.1", "192.168.10.5", IPPROTO_TCP, 40000, 80, "",
	  0, 4, 0, 0 },
	{ "v4 TCP to no flow", "172.16.0.1", "192.168.10.5", IPPROTO_TCP, 40000, 81, "",
	  0, 0, 0, 0 },
};

static uint32_t edge_ext(uint8_t *p, char c, uint8_t next)
{
	memset(p, 0, 512);
	p[0] = next;
	switch (c) {
	case 'A':
		p[1] = 1;
		return 12;
	case BIG:
		p[1] = 63;
		return 512;
	case 'f':
		p[3] = 1;	/* M */
		return 8;
	}
	return 8;
}

static uint8_t ext_type(char c)
{
	return c == 'H' ? IPPROTO_HOPOPTS : c == 'R' ? IPPROTO_ROUTING :
	       c == 'A' ? IPPROTO_AH : c == 'F' || c == 'f' ? IPPROTO_FRAGMENT :
	       IPPROTO_DSTOPTS;
}

static uint32_t edge_l4(uint8_t *p, const struct edge *e)
{
	memset(p, 0, 40);
	wr16(p, e->sport);
	wr16(p + 2, e->dport);
	if (e->proto == IPPROTO_TCP) {
		p[12] = (uint8_t)((e->doff ? e->doff : 5) << 4);
		return 20;
	}
	if (e->proto != IPPROTO_UDP)
		return 16;
	wr16(p + 4, e->sctp_in_udp ? 20 : 8);
	if (!e->sctp_in_udp)
		return 8;
	wr16(p + 8, 5000);
	wr16(p + 10, 38412);
	return 20;
}

static uint32_t edge_packet(const struct edge *e, uint8_t *p)
{
	uint8_t a[16];
	uint32_t off, i, n = (uint32_t)strlen(e->ext);

	memset(p, 0, 40);
	if (!strchr(e->dst, ':')) {
		p[0] = 0x45;
		p[6] = 0x40;	/* DF */
		p[8] = 64;
		p[9] = e->proto;
		ck_assert_int_eq(inet_pton(AF_INET, e->src, p + 12), 1);
		ck_assert_int_eq(inet_pton(AF_INET, e->dst, p + 16), 1);
		off = 20 + edge_l4(p + 20, e);
		wr16(p + 2, off);
		return off;
	}
	p[0] = 0x60;
	p[7] = 64;
	p[6] = n ? ext_type(e->ext[0]) : e->proto;
	ck_assert_int_eq(inet_pton(AF_INET6, e->src, a), 1);
	memcpy(p + 8, a, 16);
	ck_assert_int_eq(inet_pton(AF_INET6, e->dst, a), 1);
	memcpy(p + 24, a, 16);
	for (off = 40, i = 0; i < n; i++)
		off += edge_ext(p + off, e->ext[i], i + 1 < n ? ext_type(e->ext[i + 1]) : e->proto);
	off += edge_l4(p + off, e);
	wr16(p + 4, off - 40);
	return off;
}

/* Packets by hand: marked or not as said, and as the queue path marks. */
START_TEST(test_edges)
{
	static uint8_t pkt[PKT_MAX], fr[FRAME_MAX];
	struct tally t = { 0 };
	struct world w;
	unsigned int i;

	sets_init();
	if (!world_load(&w))
		return;
	world_publish(&w, &sets[SET_MIXED], 0);
	world_publish(&w, &sets[SET_MIXED], 1);
	for (i = 0; i < N(edges); i++) {
		const struct edge *e = &edges[i];
		uint32_t len = edge_packet(e, pkt), mark = 0;
		int ret;

		ck_assert_int_eq(prog_run(&w, fr, frame_of(fr, pkt, len, e->tags), &mark,
					  &ret), 0);
		ck_assert_msg((mark != 0) == e->mark, "%s: mark %u", e->name, mark);
		check_one(&w, &t, e->name, pkt, len, e->tags);
	}
	tally_assert("edges", &t);
	world_close(&w);
}
END_TEST

/* ---------------------------------------------------------------- fp_image_build() */

static const struct fastpath_table no_tab[1];
static uint32_t zeros[FP_FLOWS_MAX + 1];

static struct fastpath_set set_of(const struct dset *s)
{
	return (struct fastpath_set){ s->f, (uint32_t)s->n, zeros, no_tab, 1, NULL };
}

/* Ranks (prio, then name), words, flags and the ports' bitsets. */
START_TEST(test_image)
{
	static const char *const order[] = { "dns", "web", "tie-a", "tie-b", "sctp", "src6",
					     "ping", "v6-all", "from-ten" };
	char why[WHY_MAX] = "";
	struct fastpath_set fs;
	struct fp_image img;
	uint32_t r, b;

	sets_init();
	fs = set_of(&sets[SET_MIXED]);
	ck_assert_int_eq(fp_image_build(&fs, &img, why), 0);
	ck_assert_uint_eq(img.nflows, N(order));
	ck_assert_uint_eq(img.hdr.nwords, 1);
	for (r = 0; r < N(order); r++)
		ck_assert_str_eq(sets[SET_MIXED].f[img.rank[r].flow].name, order[r]);
	ck_assert_uint_eq(img.hdr.flags, 0);	/* source lists and ports */
	b = img.port[FP_DIM_DST * 65536 + 9899];
	ck_assert(b & FP_PORT_ENCAP);
	/* port 53: dns (rank 0), src6 (1-1023) and the flows without a dport list */
	ck_assert_uint_eq(img.bits[img.port[FP_DIM_DST * 65536 + 53]].w[0],
			  1u << 0 | 1u << 2 | 1u << 3 | 1u << 5 | 1u << 7 | 1u << 8);
	fp_image_free(&img);

	fs = set_of(&sets[SET_ENCAP]);
	ck_assert_int_eq(fp_image_build(&fs, &img, why), 0);
	ck_assert_uint_eq(img.hdr.flags, FP_SLOT_SRC_ANY | FP_SLOT_SPORT_ANY);
	fp_image_free(&img);

	fs = set_of(&sets[SET_GEN]);
	ck_assert_int_eq(fp_image_build(&fs, &img, why), 0);
	ck_assert_uint_eq(img.hdr.nwords, (GEN_FLOWS + 63) / 64);
	fp_image_free(&img);

	fs = set_of(&sets[SET_EMPTY]);
	ck_assert_int_eq(fp_image_build(&fs, &img, why), 0);
	ck_assert_uint_eq(img.hdr.nwords, 1);
	ck_assert_uint_eq(img.nflows, 0);
	fp_image_free(&img);
}
END_TEST

/* More flows or tables than the maps hold, and more distinct sets of
 * flows (ports each in a random few of 2048 flows): E2BIG. */
START_TEST(test_image_too_big)
{
	struct flow *f = calloc(FP_FLOWS_MAX + 1, sizeof(*f));
	char why[WHY_MAX] = "";
	struct fastpath_set fs = { f, FP_FLOWS_MAX + 1, zeros, no_tab, 1, NULL };
	struct fp_image img;
	uint64_t x = 1;
	uint32_t i, k;

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fp_image_build(&fs, &img, why), -1);
	ck_assert_int_eq(errno, E2BIG);
	ck_assert_ptr_nonnull(strstr(why, "at most 2048"));
	fs = (struct fastpath_set){ f, 1, zeros, no_tab, FP_TABLES_MAX + 1, NULL };
	ck_assert_int_eq(fp_image_build(&fs, &img, why), -1);
	ck_assert_int_eq(errno, E2BIG);
	for (i = 0; i < FP_FLOWS_MAX; i++) {
		snprintf(f[i].name, sizeof(f[i].name), "f%04u", i);
		for (k = 0; k < FLOW_PORT_MAX; k++) {
			uint16_t p = (uint16_t)(1 + below(&x, 32768));

			f[i].dport[f[i].ndport++] = (struct flow_ports){ p, p };
		}
	}
	fs = (struct fastpath_set){ f, FP_FLOWS_MAX, zeros, no_tab, 1, NULL };
	ck_assert_int_eq(fp_image_build(&fs, &img, why), -1);
	ck_assert_int_eq(errno, E2BIG);
	ck_assert_ptr_nonnull(strstr(why, "more than the fast path's maps hold"));
	/* Half of them fit. */
	fs.nflows = FP_FLOWS_MAX / 8;
	ck_assert_msg(fp_image_build(&fs, &img, why) == 0, "%s", why);
	fp_image_free(&img);
	free(f);
}
END_TEST

Suite *make_fastpath_suite(void)
{
	Suite *s = suite_create("fastpath");
	TCase *tc = tcase_create("fastpath");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_image);
	tcase_add_test(tc, test_image_too_big);
	tcase_add_test(tc, test_edges);
	tcase_add_test(tc, test_corpus);
	tcase_add_test(tc, test_random);
	suite_add_tcase(s, tc);
	return s;
}
