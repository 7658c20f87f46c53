/* SPDX-License-Identifier: GPL-2.0-or-later */
/* lb.c: the per-packet decision (see lb.h). */
#include <netinet/in.h>

#include "nfqlb/lb.h"

/*
 * The per-packet path, in passes over the batch so that the CPU overlaps
 * the packets' independent work (each hash is a chain of
 * multiplications): classify all, hash all, then look up all.  No locks,
 * atomics or system calls.
 */
static inline __attribute__((always_inline)) void
hash_all(struct lb_result *res, unsigned int n, enum hash_mode mode,
	 uint32_t seed, uint32_t m)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		res[i].entry = hash_reduce(hash_flow(res[i].key.w, mode, seed), m);
}

void lb_lookup_batch(const struct shm_view *v, enum hash_mode mode, uint32_t seed,
		     const struct queue_pkt *pkts, unsigned int n,
		     struct lb_result *res)
{
	unsigned int i;

	/* A first fragment is hashed with its ports, as its datagram; the
	 * worker then keeps its decision for the later ones (frag.h). */
	for (i = 0; i < n; i++) {
		res[i].kind = (uint8_t)pkt_classify_meta(pkts[i].data, pkts[i].len,
							 &res[i].key, &res[i].meta);
		res[i].flow = 0;
		res[i].table = 0;
	}
	/* A constant mode lets the compiler drop the per-word tests. */
	switch (mode) {
	case HASH_ADDR:
		hash_all(res, n, HASH_ADDR, seed, v->m);
		break;
	case HASH_SRC:
		hash_all(res, n, HASH_SRC, seed, v->m);
		break;
	case HASH_SCTP:
		hash_all(res, n, HASH_SCTP, seed, v->m);
		break;
	default:
		hash_all(res, n, HASH_5TUPLE, seed, v->m);
		break;
	}
	for (i = 0; i < n; i++)
		res[i].slot = res[i].kind == PKT_MALFORMED ? SHM_NO_SLOT :
			      v->lookup[res[i].entry];
}

static inline bool has_ports(uint32_t proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP ||
	       proto == IPPROTO_SCTP || proto == IPPROTO_UDPLITE;
}

enum flow_l4 lb_l4(const struct lb_result *r)
{
	uint32_t proto = r->key.w[9];

	if (r->kind == PKT_ICMP_ECHO)
		return FLOW_L4_ANY;
	if (r->kind == PKT_L4 || r->kind == PKT_ICMP_ERROR ||
	    (r->kind == PKT_FRAGMENT && r->meta.frag == PKT_FRAG_FIRST))
		return has_ports(proto) ? FLOW_L4_PORTS :
		       proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6 ? FLOW_L4_ANY :
		       FLOW_L4_NONE;
	return FLOW_L4_NONE;
}

/* SCTP over UDP to a port a flow names: the key of the SCTP inside.  Not
 * for an ICMP error, whose key is not that of the header at l4_off. */
static inline void encap(const struct lb_flows *f, const struct queue_pkt *p,
			 struct lb_result *r)
{
	if (r->key.w[9] == IPPROTO_UDP && r->meta.l4_off &&
	    (r->kind == PKT_L4 || r->kind == PKT_FRAGMENT) &&
	    flow_match_encap(f->match, (uint16_t)r->key.w[8]))
		r->meta.udp_encap = pkt_udp_encap(p->data, &r->meta, &r->key);
}

void lb_flows_match(const struct lb_flows *f, const struct queue_pkt *pkts,
		    unsigned int n, struct lb_result *res)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		struct lb_result *r = &res[i];

		r->kind = (uint8_t)pkt_classify_meta(pkts[i].data, pkts[i].len,
						     &r->key, &r->meta);
		r->flow = -1;
		r->table = 0;
		if (r->kind == PKT_MALFORMED)
			continue;
		encap(f, &pkts[i], r);
		r->flow = flow_match_lookup(f->match, &r->key, lb_l4(r));
		if (r->flow >= 0)
			r->table = f->flow_table[r->flow];
	}
}

/* hash_flow() with the mode made constant, as in lb_lookup_batch(): each
 * table has its own mode, but one mode usually serves all, so the branch
 * predicts well and the per-word tests go. */
static inline __attribute__((always_inline)) uint64_t
hash_by(const uint32_t *w, enum hash_mode mode, uint32_t seed)
{
	switch (mode) {
	case HASH_ADDR:
		return hash_flow(w, HASH_ADDR, seed);
	case HASH_SRC:
		return hash_flow(w, HASH_SRC, seed);
	case HASH_SCTP:
		return hash_flow(w, HASH_SCTP, seed);
	default:
		return hash_flow(w, HASH_5TUPLE, seed);
	}
}

void lb_flows_lookup(const struct lb_flows *f, struct lb_result *res, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		struct lb_result *r = &res[i];
		const struct lb_table *t = &f->tab[r->table];

		r->slot = SHM_NO_SLOT;
		if (r->flow < 0 || !t->lookup)
			continue;
		r->entry = hash_reduce(hash_by(r->key.w, t->mode, t->seed), t->m);
		r->slot = t->lookup[r->entry];
	}
}
