/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fpbuild.c: the image of a flow set for the fast path (see fpbuild.h).
 *
 * Bit r of every bitset is the flow of rank r (highest prio, then name):
 * the BPF program takes the lowest bit of the AND of five bitsets.
 *
 * Addresses: fp_addr is an LPM trie, which gives the longest prefix that
 * holds the address.  So each prefix P that some flow names gets the
 * flows of every prefix that holds P, as well as the flows without a list;
 * then the longest prefix of an address carries every flow with a prefix
 * that holds the address.  Two prefixes are always there: ::/0 and
 * ::ffff:0:0/96, so that an IPv4 address (in its mapped form) always
 * stops at a prefix of the IPv4 part, where only IPv4 prefixes count, and
 * any other address at one where only IPv6 prefixes count (flows/flow.h).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "nfqlb/fpbuild.h"

#define PORTS 65536

/* The distinct bitsets, found again by an open-addressing hash. */
struct store {
	struct fp_bits *bits;
	uint32_t n, nwords;
	uint32_t *ht;		/* index + 1; 0: empty */
	uint32_t htcap;		/* a power of 2 */
};

/* A prefix one flow names in one dimension. */
struct named {
	uint8_t addr[16];
	uint8_t len;
	uint8_t v4;		/* an IPv4 prefix (family AF_INET) */
	uint32_t rank;
};

static uint64_t bits_hash(const uint64_t *w, uint32_t nwords)
{
	uint64_t h = 0x9e3779b97f4a7c15ULL;
	uint32_t i;

	for (i = 0; i < nwords; i++)
		h = hash_mix64(h ^ w[i]);
	return h;
}

/* The index of bitset w in the store, added when new; -1 when full. */
static int64_t store_add(struct store *s, const uint64_t *w)
{
	uint32_t i = (uint32_t)bits_hash(w, s->nwords) & (s->htcap - 1);
	size_t size = s->nwords * sizeof(uint64_t);

	for (; s->ht[i]; i = (i + 1) & (s->htcap - 1))
		if (memcmp(s->bits[s->ht[i] - 1].w, w, size) == 0)
			return s->ht[i] - 1;
	if (s->n == FP_BITS_MAX) {
		errno = E2BIG;
		return -1;
	}
	memset(&s->bits[s->n], 0, sizeof(s->bits[0]));
	memcpy(s->bits[s->n].w, w, size);
	s->ht[i] = ++s->n;
	return s->n - 1;
}

static void set_bit(uint64_t *w, uint32_t r)
{
	w[r / 64] |= 1ULL << (r % 64);
}

static int by_rank(const void *a, const void *b, void *flows)
{
	const struct flow *x = &((const struct flow *)flows)[*(const uint32_t *)a];
	const struct flow *y = &((const struct flow *)flows)[*(const uint32_t *)b];

	if (x->prio != y->prio)
		return x->prio > y->prio ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* order[r]: the flow of rank r. */
static uint32_t *rank_flows(const struct fastpath_set *set)
{
	uint32_t *order = malloc((set->nflows + 1) * sizeof(*order)), i;

	if (!order)
		return NULL;
	for (i = 0; i < set->nflows; i++)
		order[i] = i;
	qsort_r(order, set->nflows, sizeof(*order), by_rank, (void *)set->flows);
	return order;
}

static void to_bytes(const uint32_t *w, uint8_t *b)
{
	int i;

	for (i = 0; i < 4; i++) {
		b[4 * i] = (uint8_t)(w[i] >> 24);
		b[4 * i + 1] = (uint8_t)(w[i] >> 16);
		b[4 * i + 2] = (uint8_t)(w[i] >> 8);
		b[4 * i + 3] = (uint8_t)w[i];
	}
}

static void mask(uint8_t *b, unsigned int len)
{
	unsigned int i;

	for (i = 0; i < 16; i++) {
		if (len >= 8 * (i + 1))
			continue;
		b[i] &= len > 8 * i ? (uint8_t)(0xff << (8 * (i + 1) - len)) : 0;
	}
}

/* Inside ::ffff:0:0/96, where IPv4 addresses are. */
static bool mapped(const uint8_t *b, unsigned int len)
{
	static const uint8_t pre[12] = { [10] = 0xff, [11] = 0xff };

	return len >= 96 && memcmp(b, pre, sizeof(pre)) == 0;
}

static int by_prefix(const void *a, const void *b)
{
	const struct named *x = a, *y = b;

	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return memcmp(x->addr, y->addr, 16);
}

/* The named prefixes of a dimension, sorted; *any: ranks with no list. */
static struct named *collect(const struct fastpath_set *set, const uint32_t *order,
			     enum fp_dim dim, size_t *n, uint64_t *any)
{
	struct named *v = malloc(((size_t)set->nflows * FLOW_CIDR_MAX + 1) * sizeof(*v));
	uint32_t r, i;

	*n = 0;
	if (!v)
		return NULL;
	errno = 0;
	for (r = 0; r < set->nflows; r++) {
		const struct flow *f = &set->flows[order[r]];
		const struct flow_cidr *c = dim == FP_DIM_DST ? f->dst : f->src;
		uint16_t nc = dim == FP_DIM_DST ? f->ndst : f->nsrc;

		if (nc == 0)
			set_bit(any, r);
		for (i = 0; i < nc && i < FLOW_CIDR_MAX; i++) {
			struct named *e = &v[(*n)++];

			to_bytes(c[i].w, e->addr);
			e->len = c[i].len > 128 ? 128 : c[i].len;
			mask(e->addr, e->len);
			e->v4 = c[i].family == AF_INET;
			e->rank = r;
		}
	}
	qsort(v, *n, sizeof(*v), by_prefix);
	return v;
}

/* The flows of the prefixes that hold p (of length len), into w. */
static void holders(const struct named *v, size_t n, const uint8_t *p,
		    unsigned int len, uint64_t *w)
{
	bool v4 = mapped(p, len);
	struct named key;
	unsigned int l;
	size_t lo, hi, mid;

	for (l = 0; l <= len; l++) {
		memcpy(key.addr, p, 16);
		mask(key.addr, l);
		key.len = (uint8_t)l;
		for (lo = 0, hi = n; lo < hi;) {
			mid = (lo + hi) / 2;
			if (by_prefix(&v[mid], &key) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (; lo < n && by_prefix(&v[lo], &key) == 0; lo++)
			if (v[lo].v4 == v4)
				set_bit(w, v[lo].rank);
	}
}

static int add_prefix(struct fp_image *img, struct store *s, enum fp_dim dim,
		      const uint8_t *p, unsigned int len, const struct named *v, size_t n,
		      const uint64_t *any)
{
	struct fp_prefix *e;
	uint64_t w[FP_WORDS];
	int64_t b;

	if (img->npfx == FP_PREFIXES_MAX / 2) {
		errno = E2BIG;
		return -1;
	}
	memcpy(w, any, sizeof(w));
	holders(v, n, p, len, w);
	if ((b = store_add(s, w)) < 0)
		return -1;
	e = &img->pfx[img->npfx++];
	e->dim = (uint8_t)dim;
	e->len = (uint8_t)len;
	memcpy(e->addr, p, 16);
	e->bits = (uint32_t)b;
	return 0;
}

/* fp_addr's entries of a dimension. */
static int build_addr(const struct fastpath_set *set, const uint32_t *order,
		      enum fp_dim dim, struct fp_image *img, struct store *s)
{
	static const uint8_t v4any[16] = { [10] = 0xff, [11] = 0xff };
	static const uint8_t zero[16];
	uint64_t any[FP_WORDS] = { 0 };
	struct named *v;
	size_t n, i;
	int r = -1;

	v = collect(set, order, dim, &n, any);
	if (!v)
		return -1;
	if (add_prefix(img, s, dim, zero, 0, v, n, any) < 0 ||
	    add_prefix(img, s, dim, v4any, 96, v, n, any) < 0)
		goto out;
	for (i = 0; i < n; i++) {
		if (i > 0 && by_prefix(&v[i - 1], &v[i]) == 0)
			continue;
		if ((v[i].len == 0 && !mapped(v[i].addr, 0)) ||
		    (v[i].len == 96 && mapped(v[i].addr, 96)))
			continue;	/* one of the two above */
		if (add_prefix(img, s, dim, v[i].addr, v[i].len, v, n, any) < 0)
			goto out;
	}
	r = 0;
out:
	free(v);
	return r;
}

/* A port range of a flow opens (+1) or closes (-1) at port. */
struct edge {
	uint32_t port;
	uint32_t rank;
	int32_t step;
};

static int by_port(const void *a, const void *b)
{
	const struct edge *x = a, *y = b;

	return x->port < y->port ? -1 : x->port > y->port;
}

static struct edge *edges(const struct fastpath_set *set, const uint32_t *order,
			  enum fp_dim dim, size_t *n, uint64_t *any)
{
	struct edge *e = malloc(((size_t)set->nflows * FLOW_PORT_MAX * 2 + 1) * sizeof(*e));
	uint32_t r, i;

	*n = 0;
	if (!e)
		return NULL;
	for (r = 0; r < set->nflows; r++) {
		const struct flow *f = &set->flows[order[r]];
		const struct flow_ports *p = dim == FP_DIM_DST ? f->dport : f->sport;
		uint16_t np = dim == FP_DIM_DST ? f->ndport : f->nsport;

		if (np == 0)
			set_bit(any, r);
		for (i = 0; i < np && i < FLOW_PORT_MAX; i++) {
			e[(*n)++] = (struct edge){ p[i].lo, r, 1 };
			e[(*n)++] = (struct edge){ (uint32_t)p[i].hi + 1, r, -1 };
		}
	}
	qsort(e, *n, sizeof(*e), by_port);
	return e;
}

/* fp_port of a dimension: each port's bitset, found by sweeping the
 * ranges' edges with a count of open ranges per flow. */
static int build_ports(const struct fastpath_set *set, const uint32_t *order,
		       enum fp_dim dim, struct fp_image *img, struct store *s)
{
	uint32_t *open = calloc(set->nflows + 1, sizeof(*open)), *out, p, r;
	uint64_t w[FP_WORDS] = { 0 };
	size_t n = 0, k = 0;
	struct edge *e = edges(set, order, dim, &n, w);
	int64_t b = -1;
	int ret = -1;

	if (!open || !e)
		goto out;
	out = img->port + (size_t)dim * PORTS;
	for (p = 0; p < PORTS; p++) {
		bool moved = p == 0;

		for (; k < n && e[k].port == p; k++, moved = true) {
			r = e[k].rank;
			open[r] += (uint32_t)e[k].step;
			if (open[r])
				set_bit(w, r);
			else
				w[r / 64] &= ~(1ULL << (r % 64));
		}
		if (moved && (b = store_add(s, w)) < 0)
			goto out;
		out[p] = (uint32_t)b;
	}
	ret = 0;
out:
	free(open);
	free(e);
	return ret;
}

static uint32_t proto_bit(enum fp_proto c)
{
	return c == FP_PROTO_TCP ? FLOW_P_TCP : c == FP_PROTO_UDP ? FLOW_P_UDP :
	       c == FP_PROTO_SCTP ? FLOW_P_SCTP : 0;
}

/* The header's bitsets: per protocol class, and every flow; the flags. */
static int build_hdr(const struct fastpath_set *set, const uint32_t *order,
		     struct fp_image *img, struct store *s)
{
	uint64_t w[FP_WORDS];
	uint32_t r, c;
	int64_t b;

	img->hdr.flags = FP_SLOT_SRC_ANY | FP_SLOT_SPORT_ANY;
	for (c = 0; c < FP_PROTO_MAX; c++) {
		memset(w, 0, sizeof(w));
		for (r = 0; r < set->nflows; r++) {
			uint32_t protos = set->flows[order[r]].protos;

			if (protos == 0 || (protos & proto_bit(c)))
				set_bit(w, r);
		}
		if ((b = store_add(s, w)) < 0)
			return -1;
		img->hdr.proto[c] = (uint32_t)b;
	}
	memset(w, 0, sizeof(w));
	for (r = 0; r < set->nflows; r++) {
		set_bit(w, r);
		if (set->flows[order[r]].nsrc)
			img->hdr.flags &= ~FP_SLOT_SRC_ANY;
		if (set->flows[order[r]].nsport)
			img->hdr.flags &= ~FP_SLOT_SPORT_ANY;
	}
	if ((b = store_add(s, w)) < 0)
		return -1;
	img->hdr.all = (uint32_t)b;
	return 0;
}

static int build(const struct fastpath_set *set, const uint32_t *order,
		 struct fp_image *img, struct store *s)
{
	uint32_t r;

	if (build_hdr(set, order, img, s) < 0 ||
	    build_addr(set, order, FP_DIM_DST, img, s) < 0 ||
	    build_addr(set, order, FP_DIM_SRC, img, s) < 0 ||
	    build_ports(set, order, FP_DIM_DST, img, s) < 0 ||
	    build_ports(set, order, FP_DIM_SRC, img, s) < 0)
		return -1;
	for (r = 0; r < set->nflows; r++) {
		const struct flow *f = &set->flows[order[r]];

		img->rank[r] = (struct fp_flow){ set->flow_table[order[r]], order[r] };
		if (f->udp_encap)
			img->port[FP_DIM_DST * PORTS + f->udp_encap] |= FP_PORT_ENCAP;
	}
	return 0;
}

int fp_image_build(const struct fastpath_set *set, struct fp_image *img, char *why)
{
	struct store s = { .htcap = 2 * FP_BITS_MAX };
	uint32_t *order = NULL;
	int r = -1;

	*img = (struct fp_image){ .nflows = set->nflows };
	if (set->nflows > FP_FLOWS_MAX || set->ntab > FP_TABLES_MAX)
		return why_fail(E2BIG, why, "%u flows and %u tables: the fast path takes "
				"at most %u of each", set->nflows, set->ntab, FP_FLOWS_MAX);
	s.nwords = set->nflows ? (set->nflows + 63) / 64 : 1;
	img->hdr.nwords = s.nwords;
	s.bits = img->bits = malloc(FP_BITS_MAX * sizeof(*s.bits));
	s.ht = calloc(s.htcap, sizeof(*s.ht));
	img->pfx = malloc(FP_PREFIXES_MAX / 2 * sizeof(*img->pfx));
	img->port = malloc(2 * PORTS * sizeof(*img->port));
	img->rank = malloc((set->nflows + 1) * sizeof(*img->rank));
	order = rank_flows(set);
	if (!s.bits || !s.ht || !img->pfx || !img->port || !img->rank || !order) {
		why_fail(ENOMEM, why, "%s", strerror(ENOMEM));
		goto out;
	}
	if (build(set, order, img, &s) < 0) {
		if (errno == ENOMEM)
			why_fail(ENOMEM, why, "%s", strerror(ENOMEM));
		else
			why_fail(E2BIG, why, "the flows need more than the fast path's maps "
				 "hold (%u distinct sets of flows, %u prefixes)", s.n, img->npfx);
		goto out;
	}
	img->nbits = s.n;
	r = 0;
out:
	free(order);
	free(s.ht);
	if (r < 0)
		fp_image_free(img);
	return r;
}

void fp_image_free(struct fp_image *img)
{
	free(img->bits);
	free(img->pfx);
	free(img->port);
	free(img->rank);
	*img = (struct fp_image){ 0 };
}
