/* SPDX-License-Identifier: GPL-2.0-or-later */
/* lb.h: the worker's decision for a batch of packets: classify, hash and
 * look up.  Pure: no I/O, no state, so tests and benchmarks run exactly it. */
#ifndef NFQLB_LB_H
#define NFQLB_LB_H

#include "nfqlb/pkt.h"
#include "nfqlb/queue.h"
#include "shm/shm.h"

/* What the worker found for one packet. */
struct lb_result {
	uint8_t kind;		/* enum pkt_kind */
	uint32_t slot;		/* target slot, or SHM_NO_SLOT (and for PKT_MALFORMED) */
};

/**
 * lb_lookup_batch - classify, hash and look up a batch of packets
 * @v: the table
 * @mode: the table's hash mode
 * @seed: the table's seed
 * @pkts: the packets
 * @n: how many, at most QUEUE_BATCH
 * @res: n results, written
 *
 * The worker's whole per-packet decision; pure, so the micro benchmark
 * measures exactly this.
 */
void lb_lookup_batch(const struct shm_view *v, enum hash_mode mode, uint32_t seed,
		     const struct queue_pkt *pkts, unsigned int n,
		     struct lb_result *res);

#endif
