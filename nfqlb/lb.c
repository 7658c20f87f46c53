/* SPDX-License-Identifier: GPL-2.0-or-later */
/* lb.c: the per-packet decision (see lb.h). */
#include "nfqlb/lb.h"

/*
 * The per-packet path, in three passes over the batch so that the CPU
 * overlaps the packets' independent work (each hash is a chain of
 * multiplications): classify all, hash all, then look up all.  No locks,
 * atomics or system calls.
 */
static inline __attribute__((always_inline)) void
hash_all(const struct pkt_key *key, unsigned int n, enum hash_mode mode,
	 uint32_t seed, uint32_t m, struct lb_result *res)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		res[i].slot = hash_reduce(hash_flow(key[i].w, mode, seed), m);
}

void lb_lookup_batch(const struct shm_view *v, enum hash_mode mode, uint32_t seed,
		     const struct queue_pkt *pkts, unsigned int n,
		     struct lb_result *res)
{
	struct pkt_key key[QUEUE_BATCH];
	struct pkt_meta meta;
	unsigned int i;

	/* A first fragment is hashed with its ports, as its datagram; in
	 * hash mode 5tuple the worker then keeps its decision for the
	 * later ones (frag.h). */
	for (i = 0; i < n; i++)
		res[i].kind = (uint8_t)pkt_classify_meta(pkts[i].data, pkts[i].len,
							 &key[i], &meta);
	/* A constant mode lets the compiler drop the per-word tests. */
	switch (mode) {
	case HASH_ADDR:
		hash_all(key, n, HASH_ADDR, seed, v->m, res);
		break;
	case HASH_SRC:
		hash_all(key, n, HASH_SRC, seed, v->m, res);
		break;
	case HASH_SCTP:
		hash_all(key, n, HASH_SCTP, seed, v->m, res);
		break;
	default:
		hash_all(key, n, HASH_5TUPLE, seed, v->m, res);
		break;
	}
	for (i = 0; i < n; i++)
		res[i].slot = res[i].kind == PKT_MALFORMED ? SHM_NO_SLOT :
			      v->lookup[res[i].slot];
}
