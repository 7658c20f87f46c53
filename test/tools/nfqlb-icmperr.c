/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * nfqlb-icmperr: for the function tests, make a UDP flow to a VIP and then
 * send the ICMP error a router on the way back would send about it.
 *
 * It exchanges one datagram with nfqlb-echo at ADDR PORT from a fresh
 * socket (so a new source port, or the one -P names), which names the
 * target that served the flow.  Then, from a raw socket, it sends to ADDR an IPv4 "fragmentation
 * needed" (type 3 code 4) or IPv6 "packet too big" (type 2) message that
 * quotes the target's answer: source ADDR:PORT, destination this host's
 * address and port, as a router that could not forward that answer would.
 * The load balancer must take the error to the same target as the flow.
 *
 * Prints "NAME LOCAL_PORT".  Exit 0 ok, 1 failure, 2 usage.
 */
#include <getopt.h>
#include <netinet/icmp6.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <netinet/ip_icmp.h>
#include <netinet/udp.h>
#include <unistd.h>

#define PROG		"nfqlb-icmperr"
#include "test/tools/tools.h"

#define NAME_LEN	64
#define QUOTED_DATA	6	/* bytes of UDP payload the quoted header claims */

struct opts {
	unsigned long timeout_ms;
	unsigned long mtu;
	unsigned long sport;		/* -P: the flow's source port, 0 any */
	struct sockaddr_storage dst;
	socklen_t dlen;
};

/* The error message: ICMP header, quoted IP header, quoted UDP header. */
union msg {
	struct {
		struct icmphdr icmp;
		struct iphdr ip;
		struct udphdr udp;
	} v4;
	struct {
		struct icmp6_hdr icmp;
		struct ip6_hdr ip;
		struct udphdr udp;
	} v6;
};

/* The headers follow each other with no padding, as on the wire. */
_Static_assert(sizeof(((union msg *)0)->v4) == 8 + 20 + 8, "v4 layout");
_Static_assert(sizeof(((union msg *)0)->v6) == 8 + 40 + 8, "v6 layout");

static void usage(FILE *f)
{
	fprintf(f, "usage: " PROG " [-t TIMEOUT_MS] [-m MTU] [-P SPORT] ADDR PORT\n"
		"  -t TIMEOUT_MS  bound on the wait for the answer (default 1000)\n"
		"  -P SPORT       the flow's source port (default: any)\n"
		"  -m MTU         the MTU the error reports (default 1200 for\n"
		"                 IPv4, 1280 for IPv6)\n"
		"One UDP exchange with ADDR PORT, then an ICMP fragmentation-needed\n"
		"(IPv4) or packet-too-big (IPv6) error to ADDR about its answer.\n"
		"Prints \"NAME LOCAL_PORT\".  Exit 0 ok, 1 failure, 2 usage.\n");
}

static void parse_opts(int argc, char **argv, struct opts *o)
{
	int c;

	memset(o, 0, sizeof(*o));
	o->timeout_ms = 1000;
	while ((c = getopt(argc, argv, "t:m:P:h")) != -1) {
		switch (c) {
		case 't': o->timeout_ms = parse_num(optarg, "TIMEOUT_MS", 1,
						     600000); break;
		case 'm': o->mtu = parse_num(optarg, "MTU", 68, 65535); break;
		case 'P': o->sport = parse_num(optarg, "SPORT", 1, 65535); break;
		case 'h': usage(stdout); exit(EXIT_OK);
		default: usage(stderr); exit(EXIT_USAGE);
		}
	}
	if (argc - optind != 2)
		usage_error("expected ADDR PORT");
	parse_dst(argv[optind], argv[optind + 1], &o->dst, &o->dlen);
	if (!o->mtu)
		o->mtu = o->dst.ss_family == AF_INET ? 1200 : 1280;
}

/* -P: bind fd to the wildcard address and the port o->sport. */
static int bind_port(int fd, const struct opts *o)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	ss.ss_family = o->dst.ss_family;
	if (ss.ss_family == AF_INET)
		((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)o->sport);
	else
		((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)o->sport);
	return bind(fd, (const struct sockaddr *)&ss, o->dlen);
}

/*
 * One datagram to the VIP and its answer, the target's name, into name.
 * Leaves the flow's local address in *local.  Returns the socket.
 */
static int exchange(const struct opts *o, char *name,
		    struct sockaddr_storage *local)
{
	struct pollfd p = { .events = POLLIN };
	socklen_t llen = sizeof(*local);
	ssize_t n;

	p.fd = socket(o->dst.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (p.fd < 0)
		die("socket");
	if (o->sport && bind_port(p.fd, o) < 0)
		die("bind to port %lu", o->sport);
	if (connect(p.fd, (const struct sockaddr *)&o->dst, o->dlen) < 0)
		die("connect");
	if (getsockname(p.fd, (struct sockaddr *)local, &llen) < 0)
		die("getsockname");
	if (send(p.fd, "hello\n", 6, 0) != 6)
		die("send");
	if (poll(&p, 1, (int)o->timeout_ms) <= 0) {
		errno = errno ? errno : ETIMEDOUT;
		die("no answer from the VIP");
	}
	n = recv(p.fd, name, NAME_LEN - 1, 0);
	if (n <= 0)
		die("recv");
	name[n] = '\0';
	name[strcspn(name, "\n")] = '\0';
	return p.fd;
}

/* The Internet checksum (RFC 1071) of len bytes. */
static uint16_t inet_csum(const void *data, size_t len)
{
	const uint8_t *b = data;
	uint32_t sum = 0;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)b[i] << 8 | b[i + 1];
	if (len & 1)
		sum += (uint32_t)b[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

/* The quoted UDP header: the answer from the VIP's port to ours. */
static void quote_udp(struct udphdr *u, uint16_t vip_port, uint16_t our_port)
{
	u->source = vip_port;
	u->dest = our_port;
	u->len = htons(sizeof(*u) + QUOTED_DATA);
	u->check = 0;
}

static size_t build_v4(union msg *m, const struct opts *o,
		       const struct sockaddr_in *vip,
		       const struct sockaddr_in *us)
{
	m->v4.icmp.type = ICMP_DEST_UNREACH;
	m->v4.icmp.code = ICMP_FRAG_NEEDED;
	m->v4.icmp.un.frag.mtu = htons((uint16_t)o->mtu);
	m->v4.ip.version = 4;
	m->v4.ip.ihl = 5;
	m->v4.ip.tot_len = htons(sizeof(m->v4.ip) + sizeof(m->v4.udp) +
				 QUOTED_DATA);
	m->v4.ip.frag_off = htons(IP_DF);
	m->v4.ip.ttl = 64;
	m->v4.ip.protocol = IPPROTO_UDP;
	m->v4.ip.saddr = vip->sin_addr.s_addr;
	m->v4.ip.daddr = us->sin_addr.s_addr;
	m->v4.ip.check = inet_csum(&m->v4.ip, sizeof(m->v4.ip));
	quote_udp(&m->v4.udp, vip->sin_port, us->sin_port);
	m->v4.icmp.checksum = inet_csum(&m->v4, sizeof(m->v4));
	return sizeof(m->v4);
}

/* The kernel fills in an ICMPv6 raw socket's checksum. */
static size_t build_v6(union msg *m, const struct opts *o,
		       const struct sockaddr_in6 *vip,
		       const struct sockaddr_in6 *us)
{
	m->v6.icmp.icmp6_type = ICMP6_PACKET_TOO_BIG;
	m->v6.icmp.icmp6_code = 0;
	m->v6.icmp.icmp6_mtu = htonl((uint32_t)o->mtu);
	m->v6.ip.ip6_flow = htonl(6u << 28);
	m->v6.ip.ip6_plen = htons(sizeof(m->v6.udp) + QUOTED_DATA);
	m->v6.ip.ip6_nxt = IPPROTO_UDP;
	m->v6.ip.ip6_hlim = 64;
	m->v6.ip.ip6_src = vip->sin6_addr;
	m->v6.ip.ip6_dst = us->sin6_addr;
	quote_udp(&m->v6.udp, vip->sin6_port, us->sin6_port);
	return sizeof(m->v6);
}

static void send_error(const struct opts *o, const struct sockaddr_storage *us)
{
	struct sockaddr_storage to = o->dst;
	union msg m;
	size_t len;
	int fd;

	/* A raw IPv6 socket reads the port field as a protocol: zero it. */
	if (to.ss_family == AF_INET)
		((struct sockaddr_in *)&to)->sin_port = 0;
	else
		((struct sockaddr_in6 *)&to)->sin6_port = 0;
	memset(&m, 0, sizeof(m));
	if (o->dst.ss_family == AF_INET) {
		fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP);
		len = build_v4(&m, o, (const struct sockaddr_in *)&o->dst,
			       (const struct sockaddr_in *)us);
	} else {
		fd = socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMPV6);
		len = build_v6(&m, o, (const struct sockaddr_in6 *)&o->dst,
			       (const struct sockaddr_in6 *)us);
	}
	if (fd < 0)
		die("raw socket");
	if (sendto(fd, &m, len, 0, (const struct sockaddr *)&to,
		   o->dlen) != (ssize_t)len) {
		if (o->dst.ss_family == AF_INET6)
			die("sendto (ICMPv6)");
		die("sendto (ICMP)");
	}
	close(fd);
}

int main(int argc, char **argv)
{
	struct sockaddr_storage us;
	char name[NAME_LEN];
	struct opts o;
	int fd;

	parse_opts(argc, argv, &o);
	fd = exchange(&o, name, &us);
	send_error(&o, &us);
	close(fd);
	printf("%s %u\n", name, sockaddr_port(&us));
	return EXIT_OK;
}
