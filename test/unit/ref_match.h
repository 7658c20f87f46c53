/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ref_match.h: a plain reference for flow_match_lookup() (flows/match.h),
 * straight from the rules of flows/flow.h: every flow tried in turn, the
 * highest prio winning, ties to the name that sorts first.  Slow on
 * purpose; for the tests (test_match.c) and the packet fuzzer
 * (test/fuzz/fuzz_pkt.c) to compare the compiled match against.
 *
 * ref_lookup(f, n, key, l4) returns what flow_match_lookup() must return
 * for the set compiled from f[0..n). */
#ifndef NFQLB_TEST_REF_MATCH_H
#define NFQLB_TEST_REF_MATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "flows/match.h"

static inline bool ref_cidr(const struct flow_cidr *c, const uint32_t *a)
{
	bool mapped = a[0] == 0 && a[1] == 0 && a[2] == 0xffff;
	int i, bits;
	uint32_t mask;

	if ((c->family == AF_INET6) == mapped)
		return false;
	for (i = 0; i < 4; i++) {
		bits = c->len - 32 * i;
		if (bits <= 0)
			break;
		mask = bits >= 32 ? 0xffffffffu : ~(0xffffffffu >> bits);
		if ((a[i] & mask) != (c->w[i] & mask))
			return false;
	}
	return true;
}

static inline bool ref_cidrs(const struct flow_cidr *c, uint16_t n, const uint32_t *a)
{
	uint16_t i;

	for (i = 0; i < n; i++)
		if (ref_cidr(&c[i], a))
			return true;
	return n == 0;
}

static inline bool ref_ports(const struct flow_ports *p, uint16_t n, uint32_t port)
{
	uint16_t i;

	for (i = 0; i < n; i++)
		if (p[i].lo <= port && port <= p[i].hi)
			return true;
	return n == 0;
}

static inline bool ref_proto(uint32_t protos, uint32_t proto)
{
	uint32_t bit = proto == 6 ? FLOW_P_TCP : proto == 17 ? FLOW_P_UDP :
		       proto == 132 ? FLOW_P_SCTP :
		       proto == 1 || proto == 58 ? FLOW_P_ICMP : 0;

	return protos == 0 || (protos & bit);
}

static inline bool ref_flow(const struct flow *f, const struct pkt_key *k, enum flow_l4 l4)
{
	if (!ref_proto(f->protos, k->w[9]) || !ref_cidrs(f->dst, f->ndst, k->w + 4) ||
	    !ref_cidrs(f->src, f->nsrc, k->w))
		return false;
	if (l4 == FLOW_L4_ANY)
		return true;
	if (l4 == FLOW_L4_NONE)
		return f->ndport == 0 && f->nsport == 0;
	return ref_ports(f->dport, f->ndport, k->w[8] & 0xffff) &&
	       ref_ports(f->sport, f->nsport, k->w[8] >> 16);
}

static inline int ref_lookup(const struct flow *f, size_t n, const struct pkt_key *k,
		      enum flow_l4 l4)
{
	int best = -1;
	size_t i;

	for (i = 0; i < n; i++) {
		if (!ref_flow(&f[i], k, l4))
			continue;
		if (best < 0 || f[i].prio > f[best].prio ||
		    (f[i].prio == f[best].prio && strcmp(f[i].name, f[best].name) < 0))
			best = (int)i;
	}
	return best;
}

#endif
