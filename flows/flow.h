/* SPDX-License-Identifier: GPL-2.0-or-later */
/* flow.h: a flow, the named rule that says which packets belong to a
 * service and which table (target set) balances them.  Plain data shared
 * by the flow set (flowset.h), the compiled match (match.h), the worker
 * and the CLI.  Pure: no I/O. */
#ifndef NFQLB_FLOW_H
#define NFQLB_FLOW_H

#include <stdint.h>

#include "shm/shm.h"

#define FLOW_NAME_MAX 63	/* bytes of a flow name, without the NUL */
#define FLOW_CIDR_MAX 32	/* prefixes of one --dst, and of one --src */
#define FLOW_PORT_MAX 32	/* ports or ranges of one --dport, and of one --sport */
#define FLOW_MAX 2048		/* flows in one flow set */
#define FLOW_PRIO_MIN (-1000000)
#define FLOW_PRIO_MAX 1000000

/* --proto: the protocols a flow takes; 0 takes every protocol. */
enum flow_proto {
	FLOW_P_TCP = 1u << 0,
	FLOW_P_UDP = 1u << 1,
	FLOW_P_SCTP = 1u << 2,
	FLOW_P_ICMP = 1u << 3,	/* ICMP and ICMPv6 echo request and reply */
	FLOW_P_ALL = (1u << 4) - 1,
};

/*
 * A prefix, on the 128-bit form of struct pkt_key (nfqlb/pkt.h): four
 * host-order words, most significant first; IPv4 as ::ffff:a.b.c.d.
 * family is AF_INET or AF_INET6.  An IPv4 /n has len 96 + n.  Bits past
 * len are 0.  An IPv6 prefix never matches an IPv4 packet (the
 * ::ffff:0:0/96 part of it is left out), so "::/0" means every IPv6
 * address and "0.0.0.0/0" every IPv4 address.
 */
struct flow_cidr {
	uint32_t w[4];
	uint8_t len;		/* 0..128 */
	uint8_t family;
	uint8_t pad[2];
};

/* A port range, lo <= hi; one port is lo == hi. */
struct flow_ports {
	uint16_t lo, hi;
};

/*
 * A flow.  A list with n == 0 (or protos == 0) matches everything.
 * Port lists only match packets that carry ports (TCP, UDP, SCTP, and
 * ICMP errors quoting them); an ICMP echo ignores them, so "--proto
 * tcp,icmp --dport 80" lets the service's address answer ping; any other
 * packet without ports does not match a flow that has a port list.
 */
struct flow {
	char name[FLOW_NAME_MAX + 1];
	char table[SHM_NAME_MAX + 1];
	int32_t prio;		/* FLOW_PRIO_MIN..FLOW_PRIO_MAX; highest wins */
	uint32_t protos;	/* enum flow_proto bits */
	uint16_t udp_encap;	/* SCTP over UDP on this port (RFC 6951); 0: none */
	uint16_t ndst, nsrc, ndport, nsport;
	uint16_t pad;
	struct flow_cidr dst[FLOW_CIDR_MAX];
	struct flow_cidr src[FLOW_CIDR_MAX];
	struct flow_ports dport[FLOW_PORT_MAX];
	struct flow_ports sport[FLOW_PORT_MAX];
};

#endif
