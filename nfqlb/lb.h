/* SPDX-License-Identifier: GPL-2.0-or-later */
/* lb.h: the worker's decision for a batch of packets: classify, match a
 * flow, hash and look up.  Pure: no I/O, no state, so tests, `nfqlb
 * lookup` and the benchmarks run exactly what the worker runs. */
#ifndef NFQLB_LB_H
#define NFQLB_LB_H

#include "flows/match.h"
#include "nfqlb/pkt.h"
#include "nfqlb/queue.h"
#include "shm/shm.h"

/* What the worker found for one packet. */
struct lb_result {
	uint8_t kind;		/* enum pkt_kind */
	int32_t flow;		/* lb_flows_match(): the flow, or -1 for none */
	uint32_t table;		/* lb_flows_match(): the flow's table */
	uint32_t entry;		/* the lookup entry the hash chose */
	uint32_t slot;		/* target slot, or SHM_NO_SLOT (and for PKT_MALFORMED) */
	struct pkt_key key;
	struct pkt_meta meta;
};

/* A table as the decision sees it. */
struct lb_table {
	const uint32_t *lookup;		/* m entries; NULL: no usable table */
	uint32_t m;
	uint32_t seed;
	enum hash_mode mode;
};

/* A flow set as the decision sees it. */
struct lb_flows {
	const struct flow_match *match;
	const uint32_t *flow_table;	/* per flow: its index in tab */
	const struct lb_table *tab;
};

/**
 * lb_lookup_batch - classify, hash and look up a batch of packets (one table)
 * @v: the table
 * @mode: the table's hash mode
 * @seed: the table's seed
 * @pkts: the packets
 * @n: how many, at most QUEUE_BATCH
 * @res: n results, written (flow 0, table 0)
 *
 * The one-table worker's whole per-packet decision.
 */
void lb_lookup_batch(const struct shm_view *v, enum hash_mode mode, uint32_t seed,
		     const struct queue_pkt *pkts, unsigned int n,
		     struct lb_result *res);

/**
 * lb_l4 - what a classified packet's key carries in w[8], for matching
 * @r: a result with kind and key set
 */
enum flow_l4 lb_l4(const struct lb_result *r);

/**
 * lb_flows_match - classify a batch of packets and match their flows
 * @f: the flow set
 * @pkts: the packets
 * @n: how many, at most QUEUE_BATCH
 * @res: n results: kind, key, meta, flow and table written
 *
 * SCTP over UDP to a port some flow names (--udp-encap) is keyed and
 * matched as the SCTP packet it carries.  A later fragment is matched on
 * what it has (no ports): the worker decides those from the first one.
 */
void lb_flows_match(const struct lb_flows *f, const struct queue_pkt *pkts,
		    unsigned int n, struct lb_result *res);

/**
 * lb_flows_lookup - hash and look up results of lb_flows_match()
 * @f: the flow set
 * @res: n results: entry and slot written (SHM_NO_SLOT for no flow, a
 *       table not usable, or a malformed packet)
 * @n: how many
 */
void lb_flows_lookup(const struct lb_flows *f, struct lb_result *res, unsigned int n);

#endif
