/* SPDX-License-Identifier: GPL-2.0-or-later */
/* pkt.h: the packet classifier, a pure function from bytes to a flow key.
 *
 * No I/O, no printing, no allocation.  It never reads outside data[0..len).
 */
#ifndef NFQLB_PKT_H
#define NFQLB_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "maglev/hash.h"

/*
 * Bytes of each packet the worker asks the kernel to copy.  Enough for an
 * IPv6 header with 200 bytes of extension headers plus an ICMPv6 error that
 * quotes an IPv4/IPv6 header and its ports; larger chains are classified on
 * what was captured (PKT_L3).
 */
#define PKT_COPY_RANGE 512
/* The most IPv6 extension headers the parser walks before giving up. */
#define PKT_EXT_MAX 8

/* What the classifier found; the worker counts packets per kind. */
enum pkt_kind {
	PKT_L4 = 0,	/* TCP, UDP or SCTP with ports: a full 5-tuple key */
	PKT_ICMP_ECHO,	/* ICMP/ICMPv6 echo request or reply: addresses + echo id */
	PKT_ICMP_ERROR,	/* ICMP error: the quoted packet's flow, reversed */
	PKT_FRAGMENT,	/* an IP fragment: addresses + protocol */
	PKT_L3,		/* other protocol, or L4 header not captured: addresses + protocol */
	PKT_MALFORMED,	/* cannot be trusted: no key */
	PKT_KIND_MAX
};

/*
 * A flow key: HASH_FLOW_WORDS 32-bit words, all in host byte order.
 *   w[0..3]  source address: IPv6 as four words, most significant first;
 *            IPv4 as the IPv4-mapped address ::ffff:a.b.c.d (0, 0, 0xffff, addr)
 *   w[4..7]  destination address, the same way
 *   w[8]     source port << 16 | destination port (ICMP echo: id << 16)
 *   w[9]     IP protocol number (for ICMP errors, that of the quoted packet)
 * Words that do not apply are 0.
 */
struct pkt_key {
	uint32_t w[HASH_FLOW_WORDS];
};

/**
 * pkt_classify - classify an IPv4 or IPv6 packet and extract its flow key
 * @data: the packet, starting at the IP header
 * @len: number of bytes captured at @data (may be less than the packet)
 * @key: written; all zero for PKT_MALFORMED
 *
 * ICMP errors (destination unreachable, time exceeded, parameter problem,
 * IPv6 packet too big) get the key of the quoted packet with source and
 * destination, and the ports, swapped: the key of the flow they are about.
 *
 * A packet cut short by the capture is keyed on what was captured: an IPv6
 * extension chain longer than PKT_EXT_MAX headers or running past the
 * capture gives PKT_L3 (w[9] is the next-header value the walk stopped at),
 * and so do fewer than 4 bytes of transport header.  A chain that runs past
 * the packet's own end (payload_len says it was all captured), an ICMP
 * error that does not quote a whole IP header of its own family, and a TCP
 * data offset below 5 give PKT_MALFORMED.
 *
 * Every fragment of a datagram gets the same key, without ports.  An IPv6
 * first fragment is walked to its transport header (w[9] is that
 * protocol, as for the whole datagram); a later one stops at the fragment
 * header (w[9] is its next header).
 *
 * Returns the kind of packet.  Never fails otherwise; does not set errno.
 */
enum pkt_kind pkt_classify(const uint8_t *data, size_t len, struct pkt_key *key);

/* Where a packet stands among the fragments of its datagram. */
enum pkt_frag {
	PKT_FRAG_NONE = 0,	/* not a fragment (an atomic fragment counts as none) */
	PKT_FRAG_FIRST,		/* offset 0, more to come: keyed with its ports */
	PKT_FRAG_LATER,		/* offset > 0: keyed on addresses + protocol */
};

/* What the classifier saw besides the key (pkt_classify_meta()). */
struct pkt_meta {
	uint32_t frag_id;	/* IPv4 identification or IPv6 fragment id
				 * (PKT_FRAG_FIRST and PKT_FRAG_LATER) */
	uint16_t l4_off;	/* where the transport header starts in data;
				 * 0 when none was located */
	uint16_t l4_len;	/* bytes of it captured */
	uint8_t frag;		/* enum pkt_frag */
	uint8_t v6;		/* an IPv6 packet */
	uint8_t udp_encap;	/* 0 from pkt_classify_meta(); set by the caller
				 * that re-keyed the packet with pkt_udp_encap():
				 * its IP protocol is UDP, its key's SCTP */
};

/**
 * pkt_classify_meta - pkt_classify(), and what else the worker needs
 * @data: the packet, starting at the IP header
 * @len: number of bytes captured at @data
 * @key: written, as by pkt_classify(), except that a first fragment
 *       (PKT_FRAGMENT with meta->frag PKT_FRAG_FIRST) is keyed with its
 *       ports when they were captured, as an unfragmented packet would be
 * @meta: written; all zero for PKT_MALFORMED
 *
 * A first fragment whose ports (or echo id) were not captured, or whose
 * IPv6 chain after the fragment header cannot be walked, is keyed as a
 * later fragment, with meta->frag still PKT_FRAG_FIRST.  An ICMP error
 * quoting a fragment is keyed as by pkt_classify().  meta->l4_off is set
 * when the IP layer was walked to the transport header: for PKT_L4, the
 * ICMP kinds, PKT_L3 of a protocol without ports or with its ports cut,
 * and first fragments; l4_off + l4_len never pass @len.
 *
 * pkt_classify() is this function with w[8] cleared for first fragments.
 *
 * Returns the kind of packet, as pkt_classify().
 */
enum pkt_kind pkt_classify_meta(const uint8_t *data, size_t len,
				struct pkt_key *key, struct pkt_meta *meta);

/**
 * pkt_udp_encap - re-key a UDP packet as the SCTP packet it carries
 * (SCTP over UDP, RFC 6951)
 * @data: the packet, as given to pkt_classify_meta()
 * @meta: its meta; l4_off locates the UDP header
 * @key: the packet's key (w[9] UDP); on success w[8] gets the inner SCTP
 *       ports and w[9] IPPROTO_SCTP
 *
 * Only for a packet of kind PKT_L4 or a first fragment: an ICMP error's
 * key is the quoted packet's, and the ICMP header at its l4_off may still
 * read as a UDP header with the key's ports.  The caller sets
 * meta->udp_encap when the packet was re-keyed (frag.h names a datagram by
 * its IP protocol).
 *
 * Returns true when the UDP payload holds an SCTP common header (12
 * bytes) within the capture; false (key unchanged) otherwise: also when
 * the header at l4_off does not carry the key's ports or its length field
 * leaves no room for the SCTP header.
 */
bool pkt_udp_encap(const uint8_t *data, const struct pkt_meta *meta,
		   struct pkt_key *key);

/**
 * pkt_kind_name - a short name for a packet kind ("l4", "icmp-echo", ...)
 * @kind: the kind
 *
 * Returns the name, or "unknown" for a value out of range.
 */
const char *pkt_kind_name(enum pkt_kind kind);

#endif
