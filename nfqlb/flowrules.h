/* SPDX-License-Identifier: GPL-2.0-or-later */
/* flowrules.h: the iptables matches that select what a flow set can match,
 * for `nfqlb rules --flows` (see rules.h), and the ICMP errors a service
 * must have queued with it.
 *
 * A match spec is the part of an iptables rule between "-A CHAIN" and
 * "-j TARGET", e.g. "-d 10.0.0.1/32 -p tcp -m tcp --dport 80".  The specs
 * of a flow set select a superset of what its flows match: the worker
 * decides the rest (source prefixes and ports are not in them, so a
 * packet that they select and no flow matches gets `lb --no-flow`).
 *
 * Never prints; errors come back as -1, errno and a one-line reason.
 */
#ifndef NFQLB_FLOWRULES_H
#define NFQLB_FLOWRULES_H

#include <stddef.h>

#include "flows/flow.h"

/* Ports one -m multiport takes; a range counts as two. */
#define FLOWRULES_MULTIPORT_MAX 15

/* flowrules_build() flags. */
enum flowrules_flag {
	FLOWRULES_NO_ERRORS = 1u << 0,	/* leave the ICMP errors out (NAT: conntrack has them) */
};

/* The match specs of a flow set, for one family. */
struct flowrules {
	char **spec;		/* n specs, without duplicates */
	size_t n;
	size_t flows;		/* flows with at least one prefix of the family */
};

/**
 * flowrules_icmp_errors - the ICMP error types queued with a service
 * @family: AF_INET or AF_INET6
 *
 * Returns a NULL-terminated list of match specs, one per type: for IPv4
 * destination-unreachable (fragmentation needed is one of its codes),
 * time-exceeded and parameter-problem; for IPv6 destination-unreachable,
 * packet-too-big, time-exceeded and parameter-problem.  The worker takes
 * such an error to the flow and target of the packet it quotes.
 */
const char *const *flowrules_icmp_errors(int family);

/**
 * flowrules_icmp_proto - the -p name of ICMP in a family
 * @family: AF_INET ("icmp") or AF_INET6 ("ipv6-icmp")
 */
const char *flowrules_icmp_proto(int family);

/**
 * flowrules_build - the match specs that select what flows can match
 * @f: the flows
 * @n: how many
 * @family: AF_INET or AF_INET6: only prefixes of this family are used
 * @flags: enum flowrules_flag bits
 * @r: written; release with flowrules_free() after success (on failure
 *     nothing is left to release)
 * @why: filled with a one-line reason on failure (WHY_MAX bytes)
 *
 * Per flow and destination prefix of the family: with no protocol and no
 * port list, the prefix alone; else one spec per protocol (no protocols
 * with a port list stands for tcp, udp, sctp and icmp, as the match
 * reads it), its destination ports as --dport for one port or range and
 * as -m multiport --dports, FLOWRULES_MULTIPORT_MAX ports per spec, for
 * more; SCTP over UDP (udp_encap) adds its UDP port; icmp is echo-request
 * and echo-reply.  Then, for every prefix of the family, the ICMP errors
 * addressed to it (flowrules_icmp_errors()), prefixes sorted, unless
 * flags has FLOWRULES_NO_ERRORS.  A spec
 * that another flow already gave is left out.
 *
 * A flow without destination prefixes (matching every address) cannot be
 * expressed: selecting a protocol on every address would queue the load
 * balancer's own traffic too.  Returns 0, or -1 with errno EINVAL (a flow
 * has no --dst; why names it) or ENOMEM.
 */
int flowrules_build(const struct flow *f, size_t n, int family, unsigned flags,
		    struct flowrules *r, char *why);

/**
 * flowrules_free - release what flowrules_build() made (r may be zeroed)
 */
void flowrules_free(struct flowrules *r);

#endif
