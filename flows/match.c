/* SPDX-License-Identifier: GPL-2.0-or-later */
/* match.c: the compiled flow match (match.h).
 *
 * Flows are ranked (highest prio first, then by name) and each packet field
 * is looked up on its own: the protocol and the kind of L4 header in a small
 * table, each address by a branch-free binary search (from an index on
 * some of its bits) over the starts of its elementary intervals (the
 * pieces the flows' prefixes cut the 128-bit space into), each port in a
 * 65536-entry index.  Every piece maps to the
 * bitset of the flows it matches, bit r for rank r; the winner is the
 * lowest bit set in the AND of the bitsets, taken two words at a time.  A
 * dimension no flow restricts ANDs a set of all ones, and identical bitsets
 * of a dimension are stored once. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "flows/match.h"
#include "maglev/hash.h"
#include "shm/why.h"

typedef unsigned __int128 u128;

enum { C_TCP, C_UDP, C_SCTP, C_ICMP, C_OTHER, C_MAX };
#define L4_MAX 3
#define NPORTS 65536
#define DIMS 5			/* class, dst, src, dport, sport */

/* The IPv4-mapped block ::ffff:0:0/96, which IPv6 prefixes leave out. */
#define MAPPED_LO ((u128)0xffff << 32)
#define MAPPED_HI (MAPPED_LO | 0xffffffffu)

/* An address dimension; nb == 0 when no flow restricts it.  IPv4 keys
 * search the pieces of ::ffff:0:0/96 on 32 bits, the others the rest.
 * Both searches take a fixed number of steps (step, step / 2, ... 1) and
 * no branch, so that the CPU runs the searches of the next packets while
 * this one's wait on memory; the arrays go on past the last piece with
 * copies of it, so that no step leaves them. */
struct adim {
	uint32_t nb;		/* elementary intervals outside the IPv4 block */
	uint32_t nb4;		/* and inside */
	uint32_t step;		/* the first step of a search of start, from top6 */
	uint32_t step4;		/* and of start4, from top4 */
	u128 *start;		/* their starts, ascending, start[0] == 0 */
	uint32_t *start4;	/* the same, on the IPv4 address */
	uint32_t *top4;		/* [a >> 16]: the piece holding a & 0xffff0000 */
	u128 lo6, hi6;		/* the block top6 cuts into buckets */
	uint32_t sh6;		/* a bucket's size, log2 */
	uint32_t nb6;		/* buckets in the block; then below, above */
	uint32_t *top6;		/* [bucket]: the piece holding its lowest address */
	uint32_t *set;		/* the index of each one's bitset in sets */
	uint32_t *set4;
	uint64_t *sets;
	uint32_t *summ;		/* of each set: bit w for a non-zero word w */
};

/* A port dimension; idx == NULL when no flow restricts it. */
struct pdim {
	uint16_t *idx;		/* port -> the index of its bitset in sets */
	uint64_t *sets;
	uint32_t *summ;
};

struct flow_match {
	uint32_t nwords;	/* 64-bit words of a bitset, an even number */
	uint64_t *ones;		/* a bitset with every bit set */
	uint32_t *order;	/* rank -> index in the caller's array */
	uint64_t *cls;		/* [class][l4] bitsets */
	uint32_t cls_summ[C_MAX * L4_MAX];
	struct adim dst, src;
	struct pdim dport, sport;
	uint64_t encap[NPORTS / 64];
};

/* The result of sweeping a dimension. */
struct sweep {
	uint32_t nb;
	u128 *start;
	uint32_t *set;
	uint64_t *sets;
	uint32_t nsets, cap;
	uint64_t *hash;		/* of each set */
	uint32_t *table;	/* open addressing: set index + 1, 0 empty */
	uint32_t tmask;
};

/* A point where flow `rank` enters (delta 1) or leaves (-1) a dimension. */
struct event {
	u128 pos;
	uint32_t rank;
	int32_t delta;
};

/* What one dimension of every flow gives the sweep. */
struct events {
	struct event *ev;
	size_t n, cap;
	uint64_t *wild;		/* flows without a list in this dimension */
	bool used;		/* some flow has a list */
};

static unsigned int proto_class(uint32_t proto)
{
	switch (proto) {
	case 6: return C_TCP;
	case 17: return C_UDP;
	case 132: return C_SCTP;
	case 1: case 58: return C_ICMP;
	default: return C_OTHER;
	}
}

static u128 addr_of(const uint32_t *w)
{
	return (u128)w[0] << 96 | (u128)w[1] << 64 | (u128)w[2] << 32 | w[3];
}

static u128 host_bits(uint8_t len)
{
	return len >= 128 ? 0 : ~(u128)0 >> len;
}

/* ---------------------------------------------------------------- checks */

static int check_cidrs(const struct flow_cidr *c, uint16_t n, char *why)
{
	uint16_t i;
	u128 a;

	if (n > FLOW_CIDR_MAX)
		return why_fail(EINVAL, why, "more than %d prefixes", FLOW_CIDR_MAX);
	for (i = 0; i < n; i++) {
		a = addr_of(c[i].w);
		if (c[i].len > 128 || (a & host_bits(c[i].len)))
			return why_fail(EINVAL, why, "a prefix with bits past its length");
		if (c[i].family == AF_INET &&
		    (c[i].len < 96 || a < MAPPED_LO || a > MAPPED_HI))
			return why_fail(EINVAL, why, "an IPv4 prefix outside ::ffff:0:0/96");
		if (c[i].family != AF_INET && c[i].family != AF_INET6)
			return why_fail(EINVAL, why, "a prefix of unknown family %u",
					c[i].family);
	}
	return 0;
}

static int check_ports(const struct flow_ports *p, uint16_t n, char *why)
{
	uint16_t i;

	if (n > FLOW_PORT_MAX)
		return why_fail(EINVAL, why, "more than %d port ranges", FLOW_PORT_MAX);
	for (i = 0; i < n; i++)
		if (p[i].lo > p[i].hi)
			return why_fail(EINVAL, why, "a port range %u-%u", p[i].lo, p[i].hi);
	return 0;
}

static int check_flow(const struct flow *f, char *why)
{
	if (!memchr(f->name, 0, sizeof(f->name)) || !f->name[0])
		return why_fail(EINVAL, why, "a flow without a name");
	if (f->prio < FLOW_PRIO_MIN || f->prio > FLOW_PRIO_MAX)
		return why_fail(EINVAL, why, "%s: prio %d out of range", f->name, f->prio);
	if (f->protos & ~(uint32_t)FLOW_P_ALL)
		return why_fail(EINVAL, why, "%s: unknown protocols 0x%x", f->name,
				f->protos);
	if (check_cidrs(f->dst, f->ndst, why) < 0 ||
	    check_cidrs(f->src, f->nsrc, why) < 0 ||
	    check_ports(f->dport, f->ndport, why) < 0 ||
	    check_ports(f->sport, f->nsport, why) < 0)
		return -1;
	return 0;
}

/* ---------------------------------------------------------------- ranks */

struct rank {
	int32_t prio;
	uint32_t idx;
	const char *name;
};

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct rank *)a)->name, ((const struct rank *)b)->name);
}

static int by_rank(const void *a, const void *b)
{
	const struct rank *x = a, *y = b;

	if (x->prio != y->prio)
		return x->prio > y->prio ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* Fill order (rank -> index) and rank_of (index -> rank). */
static int rank_flows(const struct flow *f, size_t n, uint32_t *order,
		      uint32_t *rank_of, char *why)
{
	struct rank *r = calloc(n ? n : 1, sizeof(*r));
	size_t i;

	if (!r)
		return why_fail(ENOMEM, why, "out of memory");
	for (i = 0; i < n; i++)
		r[i] = (struct rank){ f[i].prio, (uint32_t)i, f[i].name };
	qsort(r, n, sizeof(*r), by_name);
	for (i = 1; i < n; i++)
		if (strcmp(r[i - 1].name, r[i].name) == 0) {
			why_fail(EINVAL, why, "two flows named %s", r[i].name);
			free(r);
			return -1;
		}
	qsort(r, n, sizeof(*r), by_rank);
	for (i = 0; i < n; i++) {
		order[i] = r[i].idx;
		rank_of[r[i].idx] = (uint32_t)i;
	}
	free(r);
	return 0;
}

/* ---------------------------------------------------------------- events */

static int push(struct events *e, u128 lo, u128 hi, uint32_t rank)
{
	struct event *ev;

	if (e->n + 2 > e->cap) {
		e->cap = e->cap ? 2 * e->cap : 256;
		ev = realloc(e->ev, e->cap * sizeof(*ev));
		if (!ev)
			return -1;
		e->ev = ev;
	}
	e->ev[e->n++] = (struct event){ lo, rank, 1 };
	if (hi != ~(u128)0)
		e->ev[e->n++] = (struct event){ hi + 1, rank, -1 };
	return 0;
}

/* A prefix's span; an IPv6 one without the IPv4-mapped block. */
static int push_cidr(struct events *e, const struct flow_cidr *c, uint32_t rank)
{
	u128 lo = addr_of(c->w), hi = lo | host_bits(c->len);

	if (c->family == AF_INET || hi < MAPPED_LO || lo > MAPPED_HI)
		return push(e, lo, hi, rank);
	if (lo >= MAPPED_LO && hi <= MAPPED_HI)
		return 0;
	/* Prefixes nest: this one holds the whole block. */
	if (lo < MAPPED_LO && push(e, lo, MAPPED_LO - 1, rank) < 0)
		return -1;
	if (hi > MAPPED_HI && push(e, MAPPED_HI + 1, hi, rank) < 0)
		return -1;
	return 0;
}

static void set_bit(uint64_t *s, uint32_t bit)
{
	s[bit / 64] |= 1ULL << (bit % 64);
}

enum dim { D_DST, D_SRC, D_DPORT, D_SPORT };

static int push_flow(struct events *e, enum dim d, const struct flow *f,
		     uint32_t rank)
{
	const struct flow_cidr *c = d == D_DST ? f->dst : f->src;
	const struct flow_ports *p = d == D_DPORT ? f->dport : f->sport;
	uint16_t i, n = d == D_DST ? f->ndst : d == D_SRC ? f->nsrc :
			d == D_DPORT ? f->ndport : f->nsport;

	if (n == 0)
		set_bit(e->wild, rank);
	e->used |= n > 0;
	for (i = 0; i < n; i++)
		if (d == D_DST || d == D_SRC ? push_cidr(e, &c[i], rank) < 0 :
		    push(e, p[i].lo, p[i].hi == 0xffff ? ~(u128)0 : p[i].hi, rank) < 0)
			return -1;
	return 0;
}

static int by_pos(const void *a, const void *b)
{
	const struct event *x = a, *y = b;

	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* ---------------------------------------------------------------- sweep */

static uint64_t zobrist(uint32_t rank)
{
	return hash_mix64((uint64_t)rank + 1);
}

/* The index of the set equal to cur (hash h), added when new. */
static int64_t intern(struct sweep *s, const uint64_t *cur, uint64_t h,
		      uint32_t nwords)
{
	size_t bytes = nwords * sizeof(uint64_t);
	uint32_t i = (uint32_t)h & s->tmask, k;
	void *p;

	for (; (k = s->table[i]); i = (i + 1) & s->tmask)
		if (s->hash[k - 1] == h && !memcmp(s->sets + (size_t)(k - 1) * nwords, cur, bytes))
			return k - 1;
	if (s->nsets == s->cap) {
		s->cap *= 2;
		if (!(p = realloc(s->sets, s->cap * bytes)))
			return -1;
		s->sets = p;
		if (!(p = realloc(s->hash, s->cap * sizeof(*s->hash))))
			return -1;
		s->hash = p;
	}
	memcpy(s->sets + (size_t)s->nsets * nwords, cur, bytes);
	s->hash[s->nsets] = h;
	s->table[i] = ++s->nsets;
	return s->nsets - 1;
}

static void sweep_free(struct sweep *s)
{
	free(s->start);
	free(s->set);
	free(s->sets);
	free(s->hash);
	free(s->table);
}

static int sweep_alloc(struct sweep *s, size_t ne, uint32_t nwords)
{
	uint32_t size = 64;

	while (size < 2 * (ne + 1))
		size *= 2;
	*s = (struct sweep){ .cap = 64, .tmask = size - 1 };
	s->start = malloc((ne + 1) * sizeof(*s->start));
	s->set = malloc((ne + 1) * sizeof(*s->set));
	s->sets = malloc(s->cap * nwords * sizeof(uint64_t));
	s->hash = malloc(s->cap * sizeof(*s->hash));
	s->table = calloc(size, sizeof(*s->table));
	return s->start && s->set && s->sets && s->hash && s->table ? 0 : -1;
}

/* Apply the events at one position to cur (hash *h, counts cnt). */
static size_t apply(const struct events *e, size_t i, uint64_t *cur,
		    uint16_t *cnt, uint64_t *h)
{
	u128 pos = e->ev[i].pos;
	uint32_t r;

	for (; i < e->n && e->ev[i].pos == pos; i++) {
		r = e->ev[i].rank;
		cnt[r] = (uint16_t)(cnt[r] + e->ev[i].delta);
		if ((cnt[r] != 0) != !!(cur[r / 64] & 1ULL << (r % 64))) {
			cur[r / 64] ^= 1ULL << (r % 64);
			*h ^= zobrist(r);
		}
	}
	return i;
}

/* Cut the dimension into elementary intervals, each with its set's index;
 * neighbours with one set merge. */
static int sweep_run(struct sweep *s, const struct events *e, uint64_t *cur,
		     uint16_t *cnt, uint32_t nwords)
{
	uint64_t h = 0;
	u128 pos = 0;
	size_t i = 0;
	int64_t k;
	uint32_t r;

	for (r = 0; r < nwords * 64; r++)
		if (cur[r / 64] & 1ULL << (r % 64)) {
			cnt[r] = 1;
			h ^= zobrist(r);
		}
	for (;;) {
		if (i < e->n && e->ev[i].pos == pos)
			i = apply(e, i, cur, cnt, &h);
		if ((k = intern(s, cur, h, nwords)) < 0)
			return -1;
		if (s->nb == 0 || s->set[s->nb - 1] != (uint32_t)k) {
			s->start[s->nb] = pos;
			s->set[s->nb++] = (uint32_t)k;
		}
		if (i == e->n)
			return 0;
		pos = e->ev[i].pos;
	}
}

static int sweep(struct sweep *s, struct events *e, uint32_t nwords)
{
	uint64_t *cur = calloc(nwords ? nwords : 1, sizeof(*cur));
	uint16_t *cnt = calloc(nwords * 64 + 1, sizeof(*cnt));
	int rc = -1;

	if (e->n)
		qsort(e->ev, e->n, sizeof(*e->ev), by_pos);
	if (cur && cnt && sweep_alloc(s, e->n, nwords) == 0) {
		memcpy(cur, e->wild, nwords * sizeof(*cur));
		rc = sweep_run(s, e, cur, cnt, nwords);
	}
	free(cur);
	free(cnt);
	if (rc == 0) {		/* give back what the growth left over */
		void *p = realloc(s->sets, (s->nsets ? s->nsets : 1) * nwords * sizeof(uint64_t));

		s->sets = p ? p : s->sets;
	}
	return rc;
}

/* ---------------------------------------------------------------- build */

/* Bit w of a set's summary: word w is not zero.  FLOW_MAX flows make at
 * most 32 words. */
static uint32_t summary(const uint64_t *set, uint32_t nwords)
{
	uint32_t w, sum = 0;

	for (w = 0; w < nwords; w++)
		sum |= (uint32_t)(set[w] != 0) << w;
	return sum;
}

static uint32_t *summarize(const struct sweep *s, uint32_t nwords)
{
	uint32_t *summ = malloc((s->nsets ? s->nsets : 1) * sizeof(*summ)), i;

	for (i = 0; summ && i < s->nsets; i++)
		summ[i] = summary(s->sets + (size_t)i * nwords, nwords);
	return summ;
}

/* The piece of the nb starting at start that holds x. */
static uint32_t piece_in(const u128 *start, uint32_t nb, u128 x)
{
	uint32_t lo = 0, hi = nb, mid;

	while (hi - lo > 1) {
		mid = lo + (hi - lo) / 2;
		if (start[mid] <= x)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

static uint32_t piece_of(const struct sweep *s, u128 x)
{
	return piece_in(s->start, s->nb, x);
}

static void put6(struct adim *d, u128 start, uint32_t set)
{
	d->start[d->nb] = start;
	d->set[d->nb++] = set;
}

/* An index on the first 16 bits, so that a search of the IPv4 pieces only
 * looks at those of one /16: the piece holding a lies in top4[a >> 16] ..
 * top4[(a >> 16) + 1].  Returns the most pieces past the first of one. */
static uint32_t top4_build(struct adim *d)
{
	uint32_t h, k = 0, span = 0;

	for (h = 0; h < NPORTS; h++) {
		while (k + 1 < d->nb4 && d->start4[k + 1] <= h << 16)
			k++;
		d->top4[h] = k;
	}
	d->top4[NPORTS] = d->nb4 - 1;
	for (h = 0; h < NPORTS; h++)
		if (d->top4[h + 1] - d->top4[h] > span)
			span = d->top4[h + 1] - d->top4[h];
	return span;
}

/* The first step of a search that may move span pieces on: the smallest
 * power of two p with p + p / 2 + ... + 1 >= span. */
static uint32_t first_step(uint32_t span)
{
	uint32_t p = 1;

	if (span == 0)
		return 0;
	while (2 * p - 1 < span)
		p *= 2;
	return p;
}

/* Grow the array *a of n elements to n + 2 * step, with copies of its
 * last, which a search can reach but never passes. */
static int pad(void **a, size_t size, uint32_t n, uint32_t step)
{
	char *p = realloc(*a, (n + 2 * (size_t)step) * size);
	uint32_t i;

	if (!p)
		return -1;
	for (i = n; i < n + 2 * step; i++)
		memcpy(p + i * size, p + (n - 1) * size, size);
	*a = p;
	return 0;
}

static uint32_t clz128(u128 x)
{
	uint64_t hi = (uint64_t)(x >> 64);

	if (hi)
		return (uint32_t)__builtin_clzll(hi);
	return (uint64_t)x ? 64 + (uint32_t)__builtin_clzll((uint64_t)x) : 128;
}

/* The block of top6: the common prefix of the starts other than 0 and the
 * end of the IPv4 block, cut into 2^k buckets (16 to 2^16, about 8 for
 * each piece); the prefix is cut short where it leaves fewer than k bits. */
static void top6_block(struct adim *d)
{
	uint32_t i, first = 0, last = 0, bits = 4, plen;

	for (i = 1; i < d->nb; i++)
		if (d->start[i] != MAPPED_HI + 1) {
			first = first ? first : i;
			last = i;
		}
	while (bits < 16 && (1u << bits) < 8 * d->nb)
		bits++;
	plen = first ? clz128(d->start[first] ^ d->start[last]) : 0;
	plen = plen > 128 - bits ? 128 - bits : plen;
	d->lo6 = first ? d->start[first] & ~host_bits((uint8_t)plen) : 0;
	d->hi6 = d->lo6 | host_bits((uint8_t)plen);
	d->sh6 = 128 - plen - bits;
	d->nb6 = 1u << bits;
}

/* The piece holding the lowest address of each bucket, of the block's
 * and then of those below and above it.  Returns the most pieces past the
 * first of one bucket. */
static uint32_t top6_fill(struct adim *d)
{
	uint32_t b, k = 0, span, next, *t = d->top6;

	for (b = 0; b < d->nb6; b++) {
		while (k + 1 < d->nb && d->start[k + 1] <= d->lo6 + ((u128)b << d->sh6))
			k++;
		t[b] = k;
	}
	t[d->nb6] = 0;
	t[d->nb6 + 1] = d->hi6 == ~(u128)0 ? d->nb - 1 : piece_in(d->start, d->nb, d->hi6 + 1);
	span = d->nb - 1 - t[d->nb6 + 1];
	next = d->lo6 ? piece_in(d->start, d->nb, d->lo6 - 1) : 0;
	span = next > span ? next : span;
	for (b = 0; b < d->nb6; b++) {
		next = b + 1 < d->nb6 ? t[b + 1] : piece_in(d->start, d->nb, d->hi6);
		span = next - t[b] > span ? next - t[b] : span;
	}
	return span;
}

/* An index of the IPv6 pieces like top4, on the bits after their common
 * prefix: a search from it looks at the pieces of one bucket. */
static int top6_build(struct adim *d)
{
	top6_block(d);
	d->top6 = malloc((d->nb6 + 2) * sizeof(*d->top6));
	if (!d->top6)
		return -1;
	d->step = first_step(top6_fill(d));
	return 0;
}

static int adim_pad(struct adim *d)
{
	if (top6_build(d) < 0)
		return -1;
	d->step4 = first_step(top4_build(d));
	if (pad((void **)&d->start4, sizeof(*d->start4), d->nb4, d->step4) < 0 ||
	    pad((void **)&d->set4, sizeof(*d->set4), d->nb4, d->step4) < 0 ||
	    pad((void **)&d->start, sizeof(*d->start), d->nb, d->step) < 0 ||
	    pad((void **)&d->set, sizeof(*d->set), d->nb, d->step) < 0)
		return -1;
	return 0;
}

/* Split the pieces into IPv4 ones and the rest: the IPv4 block becomes
 * part of a piece of the rest, one that IPv6 keys never reach. */
static int adim_build(struct adim *d, struct sweep *s, uint32_t nwords)
{
	uint32_t k0 = piece_of(s, MAPPED_LO), k1 = piece_of(s, MAPPED_HI);
	uint32_t k2 = piece_of(s, MAPPED_HI + 1), i;

	d->nb4 = k1 - k0 + 1;
	d->start4 = malloc(d->nb4 * sizeof(*d->start4));
	d->set4 = malloc(d->nb4 * sizeof(*d->set4));
	d->start = malloc((s->nb + 1) * sizeof(*d->start));
	d->set = malloc((s->nb + 1) * sizeof(*d->set));
	d->summ = summarize(s, nwords);
	d->top4 = malloc((NPORTS + 1) * sizeof(*d->top4));
	if (!d->start4 || !d->set4 || !d->start || !d->set || !d->summ || !d->top4)
		return -1;
	for (i = 0; i < d->nb4; i++) {
		d->start4[i] = i ? (uint32_t)s->start[k0 + i] : 0;
		d->set4[i] = s->set[k0 + i];
	}
	for (i = 0; i <= k0; i++)
		put6(d, s->start[i], s->set[i]);
	put6(d, MAPPED_HI + 1, s->set[k2]);
	for (i = k2 + 1; i < s->nb; i++)
		put6(d, s->start[i], s->set[i]);
	d->sets = s->sets;
	s->sets = NULL;
	return adim_pad(d);
}

static int pdim_build(struct pdim *d, struct sweep *s, uint32_t nwords)
{
	uint32_t k, p, end;

	d->idx = malloc(NPORTS * sizeof(*d->idx));
	d->summ = summarize(s, nwords);
	if (!d->idx || !d->summ)
		return -1;
	for (k = 0; k < s->nb; k++) {
		end = k + 1 < s->nb ? (uint32_t)s->start[k + 1] : NPORTS;
		for (p = (uint32_t)s->start[k]; p < end; p++)
			d->idx[p] = (uint16_t)s->set[k];
	}
	d->sets = s->sets;
	s->sets = NULL;
	return 0;
}

/* Compile one dimension of the flows into m. */
static int dim_build(struct flow_match *m, enum dim d, const struct flow *f,
		     size_t n, const uint32_t *rank_of)
{
	struct events e = { 0 };
	struct sweep s = { 0 };
	size_t i;
	int rc = -1;

	e.wild = calloc(m->nwords ? m->nwords : 1, sizeof(uint64_t));
	if (!e.wild)
		return -1;
	for (i = 0; i < n; i++)
		if (push_flow(&e, d, &f[i], rank_of[i]) < 0)
			goto out;
	rc = 0;
	if (!e.used)
		goto out;
	rc = sweep(&s, &e, m->nwords);
	if (rc == 0)
		rc = d == D_DST ? adim_build(&m->dst, &s, m->nwords) :
		     d == D_SRC ? adim_build(&m->src, &s, m->nwords) :
		     d == D_DPORT ? pdim_build(&m->dport, &s, m->nwords) :
		     pdim_build(&m->sport, &s, m->nwords);
out:
	sweep_free(&s);
	free(e.ev);
	free(e.wild);
	return rc;
}

static bool takes(const struct flow *f, unsigned int c, unsigned int l4)
{
	bool proto = f->protos == 0 || (c != C_OTHER && (f->protos & (1u << c)));

	return proto && (l4 != FLOW_L4_NONE || (f->ndport == 0 && f->nsport == 0));
}

static int cls_build(struct flow_match *m, const struct flow *f, size_t n,
		     const uint32_t *rank_of)
{
	unsigned int c, l4;
	size_t i;

	m->cls = calloc((size_t)C_MAX * L4_MAX * (m->nwords ? m->nwords : 1),
			sizeof(*m->cls));
	m->ones = malloc((m->nwords ? m->nwords : 1) * sizeof(*m->ones));
	if (!m->cls || !m->ones)
		return -1;
	memset(m->ones, 0xff, m->nwords * sizeof(*m->ones));
	for (c = 0; c < C_MAX; c++)
		for (l4 = 0; l4 < L4_MAX; l4++)
			for (i = 0; i < n; i++)
				if (takes(&f[i], c, l4))
					set_bit(m->cls + (c * L4_MAX + l4) * m->nwords,
						rank_of[i]);
	for (c = 0; c < C_MAX * L4_MAX; c++)
		m->cls_summ[c] = summary(m->cls + c * m->nwords, m->nwords);
	for (i = 0; i < n; i++)
		if (f[i].udp_encap)
			set_bit(m->encap, f[i].udp_encap);
	return 0;
}

static int compile(struct flow_match *m, const struct flow *f, size_t n,
		   char *why)
{
	uint32_t *rank_of = malloc((n ? n : 1) * sizeof(*rank_of));
	int rc = -1;

	if (!rank_of || !(m->order = malloc((n ? n : 1) * sizeof(*m->order)))) {
		why_fail(ENOMEM, why, "out of memory");
		goto out;
	}
	if (rank_flows(f, n, m->order, rank_of, why) < 0)
		goto out;
	if (cls_build(m, f, n, rank_of) < 0 ||
	    dim_build(m, D_DST, f, n, rank_of) < 0 ||
	    dim_build(m, D_SRC, f, n, rank_of) < 0 ||
	    dim_build(m, D_DPORT, f, n, rank_of) < 0 ||
	    dim_build(m, D_SPORT, f, n, rank_of) < 0) {
		why_fail(ENOMEM, why, "out of memory");
		goto out;
	}
	rc = 0;
out:
	free(rank_of);
	return rc;
}

struct flow_match *flow_match_build(const struct flow *f, size_t n, char *why)
{
	struct flow_match *m;
	size_t i;

	if (n > FLOW_MAX || (n && !f)) {
		why_fail(EINVAL, why, "%zu flows, at most %d", n, FLOW_MAX);
		return NULL;
	}
	for (i = 0; i < n; i++)
		if (check_flow(&f[i], why) < 0)
			return NULL;
	m = calloc(1, sizeof(*m));
	if (!m) {
		why_fail(ENOMEM, why, "out of memory");
		return NULL;
	}
	m->nwords = (uint32_t)(2 * ((n + 127) / 128));
	if (compile(m, f, n, why) < 0) {
		i = (size_t)errno;
		flow_match_free(m);
		errno = (int)i;
		return NULL;
	}
	return m;
}

/* ---------------------------------------------------------------- lookup */

/* Both searches: the last piece starting at or before x. */
static inline uint32_t search4(const struct adim *d, uint32_t x)
{
	uint32_t base = d->top4[x >> 16], step;

	for (step = d->step4; step; step >>= 1)
		base += d->start4[base + step] <= x ? step : 0;
	return base;
}

static inline uint32_t search6(const struct adim *d, u128 x)
{
	uint32_t b = (uint32_t)((x - d->lo6) >> d->sh6), base, step;

	b = x < d->lo6 ? d->nb6 : b;
	b = x > d->hi6 ? d->nb6 + 1 : b;
	base = d->top6[b];
	for (step = d->step; step; step >>= 1)
		base += d->start[base + step] <= x ? step : 0;
	return base;
}

static inline bool is_v4(const uint32_t *w)
{
	return (w[0] | w[1]) == 0 && w[2] == 0xffff;
}

static inline uint32_t adim_id(const struct adim *d, const uint32_t *w)
{
	if (is_v4(w))
		return d->set4[search4(d, w[3])];
	return d->set[search6(d, addr_of(w))];
}

/* Two words of a bitset; GCC and clang map it to SSE2 (NEON on arm). */
typedef uint64_t pair __attribute__((vector_size(16)));

/* The bitset of each dimension to AND (all ones when the dimension does
 * not apply), and the words where all of them have a bit. */
struct pick {
	const uint64_t *s[DIMS];
	uint32_t cand;
};

static inline void take(struct pick *p, unsigned int d, const uint64_t *sets,
			const uint32_t *summ, uint32_t id, uint32_t nw)
{
	p->s[d] = sets + (size_t)id * nw;
	p->cand &= summ[id];
}

/* The picks of the class, and of the ports when the key has them. */
static inline void pick_start(const struct flow_match *m, struct pick *p,
			      const struct pkt_key *key, enum flow_l4 l4)
{
	uint32_t c = proto_class(key->w[9]) * L4_MAX + l4, nw = m->nwords;

	*p = (struct pick){ .s = { m->cls + c * nw, m->ones, m->ones, m->ones, m->ones },
			    .cand = m->cls_summ[c] };
	if (l4 == FLOW_L4_PORTS && m->dport.idx)
		take(p, 1, m->dport.sets, m->dport.summ, m->dport.idx[key->w[8] & 0xffff], nw);
	if (l4 == FLOW_L4_PORTS && m->sport.idx)
		take(p, 2, m->sport.sets, m->sport.summ, m->sport.idx[key->w[8] >> 16], nw);
}

static inline pair load_pair(const uint64_t *s)
{
	pair v;

	memcpy(&v, s, sizeof(v));
	return v;
}

/* The lowest rank in the AND of the picks, as the caller's index: two
 * words at a time, only where the summaries say both may have a bit. */
static inline int pick_win(const struct flow_match *m, const struct pick *p)
{
	uint32_t c = (p->cand | p->cand >> 1) & 0x55555555u, w;
	pair v;

	for (; c; c &= c - 1) {
		w = (uint32_t)__builtin_ctz(c);
		v = load_pair(p->s[0] + w) & load_pair(p->s[1] + w) & load_pair(p->s[2] + w) &
		    load_pair(p->s[3] + w) & load_pair(p->s[4] + w);
		if (v[0])
			return (int)m->order[w * 64 + (uint32_t)__builtin_ctzll(v[0])];
		if (v[1])
			return (int)m->order[w * 64 + 64 + (uint32_t)__builtin_ctzll(v[1])];
	}
	return -1;
}

int flow_match_lookup(const struct flow_match *m, const struct pkt_key *key,
		      enum flow_l4 l4)
{
	uint32_t nw = m->nwords;
	struct pick p;

	if ((unsigned int)l4 >= L4_MAX)
		return -1;
	pick_start(m, &p, key, l4);
	if (m->dst.nb)
		take(&p, 3, m->dst.sets, m->dst.summ, adim_id(&m->dst, key->w + 4), nw);
	if (m->src.nb)
		take(&p, 4, m->src.sets, m->src.summ, adim_id(&m->src, key->w), nw);
	return pick_win(m, &p);
}

bool flow_match_encap(const struct flow_match *m, uint16_t port)
{
	return m->encap[port / 64] >> (port % 64) & 1;
}

static void adim_free(struct adim *d)
{
	free(d->start);
	free(d->start4);
	free(d->top4);
	free(d->top6);
	free(d->set);
	free(d->set4);
	free(d->sets);
	free(d->summ);
}

void flow_match_free(struct flow_match *m)
{
	if (!m)
		return;
	free(m->order);
	free(m->ones);
	free(m->cls);
	adim_free(&m->dst);
	adim_free(&m->src);
	free(m->dport.idx);
	free(m->dport.sets);
	free(m->dport.summ);
	free(m->sport.idx);
	free(m->sport.sets);
	free(m->sport.summ);
	free(m);
}
