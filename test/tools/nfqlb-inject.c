/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * nfqlb-inject: craft IPv4/IPv6 packets, good and malformed, and send them as
 * Ethernet frames on one interface through an AF_PACKET socket, so that no
 * layer of the sending kernel fixes their headers.  The function tests use it
 * from the client namespace to find out which bad packets the load balancer's
 * kernel lets through to NFQUEUE, and what nfqlb does with those.
 *
 * Each copy of a kind gets its own source port (SPORT + i, or SPORT for
 * every copy with -F) and IP id (0x4000 + SPORT + i), so the fragments of
 * different copies never meet in a reassembly queue.  The whole run is
 * bounded by COUNT and by TIME_S seconds.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netpacket/packet.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PROG		"nfqlb-inject"
#include "test/tools/tools.h"

#define ETH_HLEN	14
#define FRAME_LEN	1514
#define FRAMES_MAX	4	/* frames one copy of a kind may need */
#define IP4_HLEN	20
#define IP6_HLEN	40
#define UDP_HLEN	8
#define TCP_HLEN	20
#define ICMP_HLEN	8
#define SCTP_HLEN	12	/* common header: ports, verification tag, CRC32c */
#define SCTP_INIT_LEN	20	/* an INIT chunk without parameters */
#define SCTP_DATA_HLEN	16	/* a DATA chunk's header */
#define SCTP_UDP_PORT	9899	/* SCTP over UDP (RFC 6951) */
#define P_HOPOPTS	0
#define P_ICMP		1
#define P_TCP		6
#define P_UDP		17
#define P_SCTP		132
#define P_FRAG		44
#define P_ICMP6		58
#define P_DSTOPTS	60
#define TCP_SYN		0x02
#define IP4_MF		0x2000
#define EXT_MANY	20	/* destination options headers in ext-many */
#define COUNT_MAX	10000000UL

static const uint8_t hello[] = "hello\n";
#define HELLO_LEN	(sizeof(hello) - 1)

/* Where and what to send; one copy's ports and id. */
struct ctx {
	int fam;		/* 4 or 6 */
	uint8_t smac[6], dmac[6];
	uint8_t src[16], dst[16];	/* IPv4 in the first 4 bytes */
	uint16_t sport, dport;
	uint16_t udp_port;	/* sctp-udp's UDP ports (-U) */
	uint32_t id;
	unsigned long copy;	/* which copy, from 0 */
};

struct frame {
	uint8_t b[FRAME_LEN];
	size_t len;
};

/* Builds one copy into f[]; returns the number of frames. */
typedef unsigned int (*build_fn)(const struct ctx *c, struct frame *f);

struct kind {
	const char *name;
	int fam;		/* 4, 6 or 0 for both */
	build_fn build;
	const char *help;
};

struct opts {
	const char *ifname, *mac, *src, *dst, *kind;
	unsigned long count, time_s;
	uint16_t sport, dport;
	uint16_t udp_port;	/* -U: sctp-udp's UDP port */
	bool fixed;		/* -F: every copy from SPORT */
};

/* ------------------------------------------------------------ bytes */

static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void wr32(uint8_t *p, uint32_t v)
{
	wr16(p, (uint16_t)(v >> 16));
	wr16(p + 2, (uint16_t)v);
}

static uint32_t sum_bytes(uint32_t sum, const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* The transport checksum over the pseudo header and data[0..len). */
static uint16_t l4_csum(const struct ctx *c, const uint8_t *src,
			const uint8_t *dst, uint8_t proto, const uint8_t *data,
			size_t len)
{
	size_t alen = c->fam == 4 ? 4 : 16;
	uint32_t sum = 0;

	sum = sum_bytes(sum, src, alen);
	sum = sum_bytes(sum, dst, alen);
	sum += proto + (uint32_t)len;
	return fold(sum_bytes(sum, data, len));
}

/* ------------------------------------------------------------ transport */

/* A UDP datagram carrying "hello\n" from sport to dport. */
static size_t udp_dgram(const struct ctx *c, const uint8_t *src,
			const uint8_t *dst, uint16_t sport, uint16_t dport,
			uint8_t *p)
{
	size_t len = UDP_HLEN + HELLO_LEN;

	wr16(p, sport);
	wr16(p + 2, dport);
	wr16(p + 4, (uint16_t)len);
	wr16(p + 6, 0);
	memcpy(p + UDP_HLEN, hello, HELLO_LEN);
	wr16(p + 6, l4_csum(c, src, dst, P_UDP, p, len));
	return len;
}

/* A TCP SYN whose data offset field says doff words. */
static size_t tcp_syn(const struct ctx *c, unsigned int doff, uint8_t *p)
{
	memset(p, 0, TCP_HLEN);
	wr16(p, c->sport);
	wr16(p + 2, c->dport);
	wr32(p + 4, c->id * 7919u);
	p[12] = (uint8_t)(doff << 4);
	p[13] = TCP_SYN;
	wr16(p + 14, 65535);
	wr16(p + 16, l4_csum(c, c->src, c->dst, P_TCP, p, TCP_HLEN));
	return TCP_HLEN;
}

/* CRC32c (Castagnoli, reflected), the SCTP checksum (RFC 9260, appendix A),
 * bit by bit: a test tool sends few packets. */
static uint32_t crc32c(const uint8_t *p, size_t len)
{
	uint32_t crc = 0xffffffffu;
	size_t i;
	int b;

	for (i = 0; i < len; i++) {
		crc ^= p[i];
		for (b = 0; b < 8; b++)
			crc = crc >> 1 ^ (0x82f63b78u & (0u - (crc & 1)));
	}
	return ~crc;
}

/* The SCTP common header from sport to dport with `tag`, in front of the
 * chunk[s] already at p + SCTP_HLEN; the CRC32c goes in least significant
 * byte first, as SCTP stores it. */
static size_t sctp_packet(uint16_t sport, uint16_t dport, uint32_t tag,
			  uint8_t *p, size_t chunks)
{
	uint32_t crc;

	wr16(p, sport);
	wr16(p + 2, dport);
	wr32(p + 4, tag);
	wr32(p + 8, 0);
	crc = crc32c(p, SCTP_HLEN + chunks);
	p[8] = (uint8_t)crc;
	p[9] = (uint8_t)(crc >> 8);
	p[10] = (uint8_t)(crc >> 16);
	p[11] = (uint8_t)(crc >> 24);
	return SCTP_HLEN + chunks;
}

/* An SCTP INIT (verification tag 0) from sport to dport. */
static size_t sctp_init(const struct ctx *c, uint8_t *p)
{
	uint8_t *ch = p + SCTP_HLEN;

	memset(ch, 0, SCTP_INIT_LEN);
	ch[0] = 1;				/* INIT */
	wr16(ch + 2, SCTP_INIT_LEN);
	wr32(ch + 4, 0x10000 + c->id);		/* initiate tag */
	wr32(ch + 8, 65536);			/* a_rwnd */
	wr16(ch + 12, 1);			/* outbound streams */
	wr16(ch + 14, 1);			/* inbound streams */
	wr32(ch + 16, c->id);			/* initial TSN */
	return sctp_packet(c->sport, c->dport, 0, p, SCTP_INIT_LEN);
}

/* An SCTP DATA chunk "hello\n" (padded to 4 bytes) of an association whose
 * tag depends on the ports only, as every path of one association shares. */
static size_t sctp_data(const struct ctx *c, uint8_t *p)
{
	uint8_t *ch = p + SCTP_HLEN;
	size_t len = SCTP_DATA_HLEN + HELLO_LEN, padded = (len + 3) & ~(size_t)3;

	memset(ch, 0, padded);
	ch[0] = 0;				/* DATA */
	ch[1] = 0x03;				/* one whole message */
	wr16(ch + 2, (uint16_t)len);
	wr32(ch + 4, c->id);			/* TSN */
	memcpy(ch + SCTP_DATA_HLEN, hello, HELLO_LEN);
	return sctp_packet(c->sport, c->dport, (uint32_t)c->sport << 16 | c->dport,
			   p, padded);
}

/* ------------------------------------------------------------ IP */

static void ip4_csum(uint8_t *p, size_t hlen)
{
	wr16(p + 10, 0);
	wr16(p + 10, fold(sum_bytes(0, p, hlen)));
}

/* A correct IPv4 header (IHL 5) followed by plen bytes of payload. */
static size_t ip4_packet(const struct ctx *c, uint8_t *p, uint8_t proto,
			 uint16_t frag, const uint8_t *pl, size_t plen)
{
	memset(p, 0, IP4_HLEN);
	p[0] = 0x45;
	wr16(p + 2, (uint16_t)(IP4_HLEN + plen));
	wr16(p + 4, (uint16_t)c->id);
	wr16(p + 6, frag);
	p[8] = 64;
	p[9] = proto;
	memcpy(p + 12, c->src, 4);
	memcpy(p + 16, c->dst, 4);
	memcpy(p + IP4_HLEN, pl, plen);
	ip4_csum(p, IP4_HLEN);
	return IP4_HLEN + plen;
}

/* A correct IPv6 header followed by plen bytes of payload. */
static size_t ip6_packet(const struct ctx *c, uint8_t *p, uint8_t nh,
			 const uint8_t *pl, size_t plen)
{
	memset(p, 0, IP6_HLEN);
	p[0] = 0x60;
	wr16(p + 4, (uint16_t)plen);
	p[6] = nh;
	p[7] = 64;
	memcpy(p + 8, c->src, 16);
	memcpy(p + 24, c->dst, 16);
	memcpy(p + IP6_HLEN, pl, plen);
	return IP6_HLEN + plen;
}

static size_t ip_packet(const struct ctx *c, uint8_t *p, uint8_t proto,
			const uint8_t *pl, size_t plen)
{
	if (c->fam == 4)
		return ip4_packet(c, p, proto, 0, pl, plen);
	return ip6_packet(c, p, proto, pl, plen);
}

/* The frame's IP packet starts after the Ethernet header. */
static uint8_t *eth(const struct ctx *c, struct frame *f)
{
	memcpy(f->b, c->dmac, 6);
	memcpy(f->b + 6, c->smac, 6);
	wr16(f->b + 12, c->fam == 4 ? 0x0800 : 0x86dd);
	return f->b + ETH_HLEN;
}

static unsigned int one(struct frame *f, size_t iplen)
{
	f->len = ETH_HLEN + iplen;
	return 1;
}

/* ------------------------------------------------------------ good kinds */

static unsigned int k_udp(const struct ctx *c, struct frame *f)
{
	uint8_t l4[64];
	size_t n = udp_dgram(c, c->src, c->dst, c->sport, c->dport, l4);

	return one(f, ip_packet(c, eth(c, f), P_UDP, l4, n));
}

static unsigned int k_echo(const struct ctx *c, struct frame *f)
{
	uint8_t m[ICMP_HLEN + HELLO_LEN];
	uint8_t proto = c->fam == 4 ? P_ICMP : P_ICMP6;

	memset(m, 0, sizeof(m));
	m[0] = c->fam == 4 ? 8 : 128;	/* echo request */
	wr16(m + 4, c->sport);
	wr16(m + 6, 1);
	memcpy(m + ICMP_HLEN, hello, HELLO_LEN);
	if (c->fam == 4)
		wr16(m + 2, fold(sum_bytes(0, m, sizeof(m))));
	else
		wr16(m + 2, l4_csum(c, c->src, c->dst, proto, m, sizeof(m)));
	return one(f, ip_packet(c, eth(c, f), proto, m, sizeof(m)));
}

static unsigned int k_sctp_init(const struct ctx *c, struct frame *f)
{
	uint8_t l4[64];

	return one(f, ip_packet(c, eth(c, f), P_SCTP, l4, sctp_init(c, l4)));
}

static unsigned int k_sctp_data(const struct ctx *c, struct frame *f)
{
	uint8_t l4[64];

	return one(f, ip_packet(c, eth(c, f), P_SCTP, l4, sctp_data(c, l4)));
}

/* An SCTP INIT over UDP, from and to UDP port -U (default SCTP_UDP_PORT,
 * RFC 6951); the UDP checksum is left 0 (IPv4) or computed (IPv6, where 0 is not allowed). */
static unsigned int k_sctp_udp(const struct ctx *c, struct frame *f)
{
	uint8_t l4[UDP_HLEN + 64];
	size_t len = UDP_HLEN + sctp_init(c, l4 + UDP_HLEN);

	wr16(l4, c->udp_port);
	wr16(l4 + 2, c->udp_port);
	wr16(l4 + 4, (uint16_t)len);
	wr16(l4 + 6, 0);
	if (c->fam == 6)
		wr16(l4 + 6, l4_csum(c, c->src, c->dst, P_UDP, l4, len));
	return one(f, ip_packet(c, eth(c, f), P_UDP, l4, len));
}

/* ------------------------------------------------------------ bad headers */

/* Only the first 12 (IPv4) or 24 (IPv6) bytes of the IP header. */
static unsigned int k_ip_short(const struct ctx *c, struct frame *f)
{
	k_udp(c, f);
	f->len = ETH_HLEN + (c->fam == 4 ? 12 : 24);
	return 1;
}

/* A good IPv4 UDP frame whose version/IHL byte says vihl instead. */
static unsigned int udp_ihl(const struct ctx *c, struct frame *f, uint8_t vihl)
{
	uint8_t *p = eth(c, f);

	k_udp(c, f);
	p[0] = vihl;
	ip4_csum(p, IP4_HLEN);
	return 1;
}

/* IHL 15 (60 bytes) in a 34-byte packet. */
static unsigned int k_ihl_long(const struct ctx *c, struct frame *f)
{
	return udp_ihl(c, f, 0x4f);
}

/* IHL 3: a header shorter than the minimum. */
static unsigned int k_ihl_short(const struct ctx *c, struct frame *f)
{
	return udp_ihl(c, f, 0x43);
}

/* A length field 100 bytes longer than the packet. */
static unsigned int k_len_long(const struct ctx *c, struct frame *f)
{
	uint8_t *p = eth(c, f);

	k_udp(c, f);
	if (c->fam == 4) {
		wr16(p + 2, (uint16_t)(f->len - ETH_HLEN + 100));
		ip4_csum(p, IP4_HLEN);
	} else {
		wr16(p + 4, (uint16_t)(f->len - ETH_HLEN - IP6_HLEN + 100));
	}
	return 1;
}

/* IPv4 total length 16, less than the header itself. */
static unsigned int k_len_short(const struct ctx *c, struct frame *f)
{
	uint8_t *p = eth(c, f);

	k_udp(c, f);
	wr16(p + 2, 16);
	ip4_csum(p, IP4_HLEN);
	return 1;
}

/* A TCP SYN whose IP length field covers only 8 bytes of its TCP header. */
static unsigned int k_len_trim(const struct ctx *c, struct frame *f)
{
	uint8_t l4[TCP_HLEN], *p = eth(c, f);

	tcp_syn(c, 5, l4);
	one(f, ip_packet(c, p, P_TCP, l4, TCP_HLEN));
	if (c->fam == 4) {
		wr16(p + 2, IP4_HLEN + 8);
		ip4_csum(p, IP4_HLEN);
	} else {
		wr16(p + 4, 8);
	}
	return 1;
}

static unsigned int k_csum(const struct ctx *c, struct frame *f)
{
	uint8_t *p = eth(c, f);

	k_udp(c, f);
	p[10] ^= 0x55;
	return 1;
}

static unsigned int k_tcp_doff(const struct ctx *c, struct frame *f)
{
	uint8_t l4[TCP_HLEN];

	tcp_syn(c, 2, l4);
	return one(f, ip_packet(c, eth(c, f), P_TCP, l4, TCP_HLEN));
}

/* ------------------------------------------------------------ IPv6 chains */

/* A destination options header of 8 * (hdrlen + 1) bytes: padding only. */
static size_t dstopts(uint8_t *h, uint8_t nh, uint8_t hdrlen, size_t room)
{
	size_t n = 8u * (hdrlen + 1u);

	memset(h, 0, room < n ? room : n);
	h[0] = nh;
	h[1] = hdrlen;
	h[2] = 1;		/* PadN covering the rest */
	h[3] = (uint8_t)((room < n ? room : n) - 4);
	return n;
}

/* An options header of type nh that claims 48 bytes, of which 16 are in a
 * packet whose payload length is right. */
static unsigned int opts_past(const struct ctx *c, struct frame *f, uint8_t nh)
{
	uint8_t pl[16];

	dstopts(pl, P_UDP, 5, sizeof(pl));
	return one(f, ip6_packet(c, eth(c, f), nh, pl, sizeof(pl)));
}

/* A destination options header running past the end of the packet. */
static unsigned int k_ext_past(const struct ctx *c, struct frame *f)
{
	return opts_past(c, f, P_DSTOPTS);
}

/* The same past the end, but as a hop-by-hop header. */
static unsigned int k_hbh_past(const struct ctx *c, struct frame *f)
{
	return opts_past(c, f, P_HOPOPTS);
}

/* EXT_MANY destination options headers, then a UDP datagram. */
static unsigned int k_ext_many(const struct ctx *c, struct frame *f)
{
	uint8_t pl[EXT_MANY * 8 + 64];
	size_t off = 0;
	int i;

	for (i = 0; i < EXT_MANY; i++)
		off += dstopts(pl + off, i + 1 < EXT_MANY ? P_DSTOPTS : P_UDP, 0, 8);
	off += udp_dgram(c, c->src, c->dst, c->sport, c->dport, pl + off);
	return one(f, ip6_packet(c, eth(c, f), P_DSTOPTS, pl, off));
}

/* ------------------------------------------------------------ fragments */

/* One fragment of the datagram d: bytes [from, from + len). */
static void frag(const struct ctx *c, struct frame *f, uint8_t proto,
		 const uint8_t *d, size_t from, size_t len, bool more)
{
	uint8_t pl[8 + 256], *p = eth(c, f);

	if (c->fam == 4) {
		one(f, ip4_packet(c, p, proto, (uint16_t)(from / 8 | (more ? IP4_MF : 0)),
				  d + from, len));
		return;
	}
	pl[0] = proto;
	pl[1] = 0;
	wr16(pl + 2, (uint16_t)(from | (more ? 1 : 0)));
	wr32(pl + 4, c->id);
	memcpy(pl + 8, d + from, len);
	one(f, ip6_packet(c, p, P_FRAG, pl, 8 + len));
}

/* A TCP SYN in two fragments, the first holding only 8 bytes of it. */
static unsigned int k_frag_tiny(const struct ctx *c, struct frame *f)
{
	uint8_t d[TCP_HLEN];

	tcp_syn(c, 5, d);
	frag(c, &f[0], P_TCP, d, 0, 8, true);
	frag(c, &f[1], P_TCP, d, 8, TCP_HLEN - 8, false);
	return 2;
}

/* A UDP datagram in two fragments that overlap by 8 bytes. */
static unsigned int k_frag_overlap(const struct ctx *c, struct frame *f)
{
	uint8_t d[UDP_HLEN + 24];

	memset(d, 'x', sizeof(d));
	udp_dgram(c, c->src, c->dst, c->sport, c->dport, d);
	wr16(d + 4, sizeof(d));
	frag(c, &f[0], P_UDP, d, 0, 16, true);
	frag(c, &f[1], P_UDP, d, 8, sizeof(d) - 8, false);
	return 2;
}

#define LONG_PAYLOAD	40	/* a UDP datagram of 48 bytes: 3 fragments of 16 */
#define THIRD		((UDP_HLEN + LONG_PAYLOAD) / 3)

/* A UDP datagram of UDP_HLEN + LONG_PAYLOAD bytes, checksummed. */
static size_t udp_long(const struct ctx *c, uint8_t *d)
{
	size_t len = UDP_HLEN + LONG_PAYLOAD;

	memset(d, 0, UDP_HLEN);
	memset(d + UDP_HLEN, 'a' + (int)(c->copy % 26), LONG_PAYLOAD);
	wr16(d, c->sport);
	wr16(d + 2, c->dport);
	wr16(d + 4, (uint16_t)len);
	wr16(d + 6, l4_csum(c, c->src, c->dst, P_UDP, d, len));
	return len;
}

/* The long datagram in 3 fragments, f[0] first unless reversed. */
static unsigned int udp_frag3(const struct ctx *c, struct frame *f, bool rev)
{
	uint8_t d[UDP_HLEN + LONG_PAYLOAD];
	unsigned int i;

	udp_long(c, d);
	for (i = 0; i < 3; i++)
		frag(c, &f[rev ? 2 - i : i], P_UDP, d, i * THIRD, THIRD, i < 2);
	return 3;
}

/* Copy i of one flow: even copies whole, odd ones in 3 fragments, every
 * second of those last fragment first. */
static unsigned int k_udp_mix(const struct ctx *c, struct frame *f)
{
	uint8_t d[UDP_HLEN + LONG_PAYLOAD];

	if (c->copy % 2 == 0)
		return one(f, ip_packet(c, eth(c, f), P_UDP, d, udp_long(c, d)));
	return udp_frag3(c, f, c->copy % 4 == 3);
}

/* The 2nd and 3rd of the 3 fragments: a first fragment that never comes. */
static unsigned int k_frag_orphan(const struct ctx *c, struct frame *f)
{
	struct frame all[3];

	udp_frag3(c, all, false);
	f[0] = all[1];
	f[1] = all[2];
	return 2;
}

/* ------------------------------------------------------------ ICMP errors */

/* An ICMP "fragmentation needed" / ICMPv6 "packet too big" about the flow
 * back from dst to src, quoting only qlen bytes of that packet. */
static unsigned int icmp_err(const struct ctx *c, struct frame *f, size_t qlen)
{
	uint8_t m[ICMP_HLEN + IP6_HLEN + 64], in[IP6_HLEN + 64], l4[64];
	struct ctx r = *c;
	size_t n;

	memcpy(r.src, c->dst, 16);
	memcpy(r.dst, c->src, 16);
	n = udp_dgram(&r, r.src, r.dst, c->dport, c->sport, l4);
	n = ip_packet(&r, in, P_UDP, l4, n);
	memset(m, 0, ICMP_HLEN);
	m[0] = c->fam == 4 ? 3 : 2;
	m[1] = c->fam == 4 ? 4 : 0;
	wr16(m + 6, 1400);
	memcpy(m + ICMP_HLEN, in, qlen < n ? qlen : n);
	n = ICMP_HLEN + (qlen < n ? qlen : n);
	if (c->fam == 4)
		wr16(m + 2, fold(sum_bytes(0, m, n)));
	else
		wr16(m + 2, l4_csum(c, c->src, c->dst, P_ICMP6, m, n));
	return one(f, ip_packet(c, eth(c, f), c->fam == 4 ? P_ICMP : P_ICMP6, m, n));
}

/* The quoted IP header cut at 12 (IPv4) or 24 (IPv6) bytes. */
static unsigned int k_icmp_trunc(const struct ctx *c, struct frame *f)
{
	return icmp_err(c, f, c->fam == 4 ? 12 : 24);
}

/* A whole quoted IP header, but only 2 bytes of its UDP header. */
static unsigned int k_icmp_noports(const struct ctx *c, struct frame *f)
{
	return icmp_err(c, f, (c->fam == 4 ? IP4_HLEN : IP6_HLEN) + 2);
}

/* ------------------------------------------------------------ the table */

static const struct kind kinds[] = {
	{ "udp", 0, k_udp, "a good UDP datagram \"hello\\n\" to ADDR:PORT" },
	{ "echo", 0, k_echo, "a good ICMP/ICMPv6 echo request, id SPORT" },
	{ "sctp-init", 0, k_sctp_init, "an SCTP INIT to ADDR:PORT, with its CRC32c" },
	{ "sctp-data", 0, k_sctp_data, "an SCTP DATA chunk \"hello\\n\" to ADDR:PORT" },
	{ "sctp-udp", 0, k_sctp_udp, "an SCTP INIT to PORT over UDP -U (RFC 6951)" },
	{ "ip-short", 0, k_ip_short, "IP header cut at 12 (IPv4) / 24 (IPv6) bytes" },
	{ "ihl-long", 4, k_ihl_long, "IHL 15 (60 bytes) in a 34-byte packet" },
	{ "ihl-short", 4, k_ihl_short, "IHL 3" },
	{ "len-long", 0, k_len_long, "IP length field 100 bytes past the packet" },
	{ "len-short", 4, k_len_short, "IPv4 total length 16, below the header" },
	{ "len-trim", 0, k_len_trim, "IP length covering 8 of 20 bytes of a TCP SYN" },
	{ "csum", 4, k_csum, "IPv4 header checksum wrong" },
	{ "tcp-doff", 0, k_tcp_doff, "TCP SYN with data offset 2" },
	{ "ext-past", 6, k_ext_past, "destination options header running past the packet" },
	{ "hbh-past", 6, k_hbh_past, "hop-by-hop header running past the packet" },
	{ "ext-many", 6, k_ext_many, "20 destination options headers, then UDP" },
	{ "frag-tiny", 0, k_frag_tiny, "TCP SYN in 2 fragments, the first 8 bytes" },
	{ "frag-overlap", 0, k_frag_overlap, "UDP in 2 fragments overlapping by 8 bytes" },
	{ "udp-mix", 0, k_udp_mix, "48-byte UDP: even copies whole, odd ones in 3 fragments, "
	  "copies 3, 7, 11... last fragment first" },
	{ "frag-orphan", 0, k_frag_orphan, "the 2nd and 3rd of 3 UDP fragments, no first" },
	{ "icmp-trunc", 0, k_icmp_trunc, "ICMP error quoting 12/24 bytes of IP header" },
	{ "icmp-noports", 0, k_icmp_noports, "ICMP error quoting an IP header + 2 bytes" },
};

#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

static const struct kind *find_kind(const char *name)
{
	size_t i;

	for (i = 0; i < NKINDS; i++)
		if (strcmp(kinds[i].name, name) == 0)
			return &kinds[i];
	return NULL;
}

/* ------------------------------------------------------------ options */

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: " PROG " -i IFACE -m MAC -s SRC -d DST [-c COUNT] "
		"[-p PORT] [-P SPORT] [-U UDPPORT] [-F] [-T SECONDS] KIND\n"
		"  -i IFACE    send on this interface (AF_PACKET)\n"
		"  -m MAC      destination MAC address\n"
		"  -s SRC      source address (IPv4 or IPv6, as DST)\n"
		"  -d DST      destination address\n"
		"  -c COUNT    copies to send (default 1)\n"
		"  -p PORT     destination port (default 80)\n"
		"  -P SPORT    source port of the first copy (default 30000)\n"
		"  -U UDPPORT  sctp-udp's UDP source and destination port (default 9899)\n"
		"  -F          every copy from SPORT (one flow)\n"
		"  -T SECONDS  stop after this long whatever COUNT (default 30)\n"
		"Prints \"sent N\" (frames).  Exit 0 ok, 1 failure, 2 usage.\nKINDS\n");
	for (i = 0; i < NKINDS; i++)
		fprintf(f, "  %-13s %s%s\n", kinds[i].name, kinds[i].help,
			kinds[i].fam == 4 ? " (IPv4 only)" :
			kinds[i].fam == 6 ? " (IPv6 only)" : "");
}

static void parse_opts(int argc, char **argv, struct opts *o)
{
	int c;

	*o = (struct opts){ .count = 1, .time_s = 30, .sport = 30000, .dport = 80,
			    .udp_port = SCTP_UDP_PORT };
	while ((c = getopt(argc, argv, "i:m:s:d:c:p:P:U:FT:h")) != -1) {
		switch (c) {
		case 'i': o->ifname = optarg; break;
		case 'm': o->mac = optarg; break;
		case 's': o->src = optarg; break;
		case 'd': o->dst = optarg; break;
		case 'c': o->count = parse_num(optarg, "COUNT", 1, COUNT_MAX); break;
		case 'p': o->dport = (uint16_t)parse_num(optarg, "PORT", 1, 65535); break;
		case 'P': o->sport = (uint16_t)parse_num(optarg, "SPORT", 1, 65535); break;
		case 'U': o->udp_port = (uint16_t)parse_num(optarg, "UDPPORT", 1, 65535); break;
		case 'F': o->fixed = true; break;
		case 'T': o->time_s = parse_num(optarg, "SECONDS", 1, 3600); break;
		case 'h': usage(stdout); exit(EXIT_OK);
		default: usage(stderr); exit(EXIT_USAGE);
		}
	}
	if (!o->ifname || !o->mac || !o->src || !o->dst)
		usage_error("-i, -m, -s and -d are required");
	if (optind + 1 != argc)
		usage_error("expected one KIND");
	o->kind = argv[optind];
}

static void parse_addrs(const struct opts *o, struct ctx *c)
{
	if (inet_pton(AF_INET, o->src, c->src) == 1 &&
	    inet_pton(AF_INET, o->dst, c->dst) == 1)
		c->fam = 4;
	else if (inet_pton(AF_INET6, o->src, c->src) == 1 &&
		 inet_pton(AF_INET6, o->dst, c->dst) == 1)
		c->fam = 6;
	else
		usage_error("arguments \"%s\" \"%s\" are wrong: want two IPv4 "
			    "or two IPv6 addresses", o->src, o->dst);
}

/* ------------------------------------------------------------ sending */

static int open_iface(const char *ifname, struct ctx *c, struct sockaddr_ll *ll)
{
	struct ifreq ifr;
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);

	if (fd < 0)
		die("AF_PACKET socket");
	memset(&ifr, 0, sizeof(ifr));
	if (strlen(ifname) >= sizeof(ifr.ifr_name))
		usage_error("argument \"%s\" is wrong: name too long", ifname);
	strcpy(ifr.ifr_name, ifname);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0)
		die("interface %s", ifname);
	memcpy(c->smac, ifr.ifr_hwaddr.sa_data, 6);
	memset(ll, 0, sizeof(*ll));
	ll->sll_family = AF_PACKET;
	ll->sll_ifindex = (int)if_nametoindex(ifname);
	ll->sll_halen = 6;
	memcpy(ll->sll_addr, c->dmac, 6);
	return fd;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Send one frame; a full device queue is waited out briefly. */
static int send_frame(int fd, const struct frame *f, const struct sockaddr_ll *ll)
{
	int tries;

	for (tries = 0; tries < 1000; tries++) {
		if (sendto(fd, f->b, f->len, 0, (const struct sockaddr *)ll,
			   sizeof(*ll)) == (ssize_t)f->len)
			return 0;
		if (errno != ENOBUFS && errno != EAGAIN && errno != EINTR)
			return -1;
		usleep(100);
	}
	return -1;
}

static unsigned long run(const struct opts *o, const struct kind *k, struct ctx *c)
{
	struct frame f[FRAMES_MAX];
	struct sockaddr_ll ll;
	double deadline = now_s() + (double)o->time_s;
	unsigned long i, sent = 0;
	unsigned int j, n;
	int fd = open_iface(o->ifname, c, &ll);

	for (i = 0; i < o->count; i++) {
		if ((i & 1023) == 0 && now_s() > deadline)
			break;
		c->sport = (uint16_t)(o->fixed ? o->sport : o->sport + i);
		c->id = (uint32_t)(0x4000 + o->sport + i);
		c->copy = i;
		n = k->build(c, f);
		for (j = 0; j < n; j++, sent++)
			if (send_frame(fd, &f[j], &ll) < 0)
				die("send on %s", o->ifname);
	}
	close(fd);
	return sent;
}

int main(int argc, char **argv)
{
	const struct kind *k;
	struct ctx c;
	struct opts o;

	parse_opts(argc, argv, &o);
	memset(&c, 0, sizeof(c));
	k = find_kind(o.kind);
	if (!k)
		usage_error("argument \"%s\" is wrong: no such kind", o.kind);
	parse_mac(o.mac, c.dmac);
	parse_addrs(&o, &c);
	if (k->fam && k->fam != c.fam)
		usage_error("kind %s is IPv%d only", k->name, k->fam);
	c.dport = o.dport;
	c.udp_port = o.udp_port;
	printf("sent %lu\n", run(&o, k, &c));
	return EXIT_OK;
}
