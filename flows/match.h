/* SPDX-License-Identifier: GPL-2.0-or-later */
/* match.h: a flow set compiled for matching packets.  Pure: no I/O, no
 * printing; allocates only in flow_match_build().
 *
 * Order: the highest prio wins, ties go to the name that sorts first
 * (strcmp), so the result never depends on the order of the flows given.
 * The cost of a lookup grows slowly with the number of flows (goal: with
 * 1,000 flows of mixed prefixes and port ranges, classify + match + hash +
 * lookup in at most 100 ns; see test/bench/micro.c). */
#ifndef NFQLB_MATCH_H
#define NFQLB_MATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flows/flow.h"
#include "nfqlb/pkt.h"

/* What the packet's key carries in w[8]. */
enum flow_l4 {
	FLOW_L4_PORTS,	/* source << 16 | destination port: port lists apply */
	FLOW_L4_NONE,	/* no ports: a flow with a port list does not match */
	FLOW_L4_ANY,	/* ICMP echo: port lists do not apply */
};

struct flow_match;

/**
 * flow_match_build - compile flows for matching
 * @f: the flows (valid: as flowset_check_flow() accepts them)
 * @n: how many, 0..FLOW_MAX
 * @why: filled with the reason on failure (WHY_MAX bytes)
 *
 * Returns the compiled set, or NULL with errno ENOMEM, or EINVAL (n too
 * large, two flows with one name, a field out of range).
 */
struct flow_match *flow_match_build(const struct flow *f, size_t n, char *why);

/**
 * flow_match_lookup - the flow a packet belongs to
 * @m: the compiled set
 * @key: the packet's key (nfqlb/pkt.h); w[9] is its protocol (for ICMP
 *       errors, the quoted packet's), w[0..7] its addresses
 * @l4: what w[8] carries
 *
 * Returns the index of the winning flow in the array given to
 * flow_match_build(), or -1 when no flow matches.
 */
int flow_match_lookup(const struct flow_match *m, const struct pkt_key *key,
		      enum flow_l4 l4);

/**
 * flow_match_encap - whether some flow takes SCTP over UDP on a port
 * @m: the compiled set
 * @port: a UDP destination port
 */
bool flow_match_encap(const struct flow_match *m, uint16_t port);

/**
 * flow_match_free - free a compiled set
 * @m: the set, or NULL
 */
void flow_match_free(struct flow_match *m);

#endif
