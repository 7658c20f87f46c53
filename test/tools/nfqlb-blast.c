/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * nfqlb-blast: traffic for the benchmarks (test/bench/).
 *
 *   send  ADDR PORT   UDP datagrams with sendmmsg() over FLOWS flows, each
 *                     packet to the next flow, as fast as possible or at -r PPS
 *   sink  PORT        count UDP datagrams with recvmmsg(); -e echoes them
 *   rr    ADDR PORT   UDP request/response round trips: p50, p99 in us
 *   conn  ADDR PORT   short TCP connections per second, -P at a time:
 *                     connect, "hello\n", read a line, close with RST
 *
 * Every mode is bounded by -d SECONDS (and rr by -n COUNT); sink also stops
 * on SIGINT or SIGTERM.  Results go to stdout as "key value" lines, so that
 * scripts can pick them with awk.  Exit 0 ok, 1 failure, 2 usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PROG		"nfqlb-blast"
#include "test/tools/tools.h"

#define BATCH_MAX	256
#define FLOWS_MAX	4096
#define SIZE_MAX_UDP	1472
#define RR_MAX		1000000
#define CONN_MAX	1024
#define LINE_MAX_CONN	64

struct opts {
	const char *mode;
	unsigned long flows, size, rate, batch, count, par;
	unsigned long sport;		/* send -c -S: flow f from port sport + f */
	unsigned long sndbuf;		/* send -i -w: the socket's send buffer */
	double secs;
	bool echo, per_flow;
	const char *ifname;		/* send -i: a packet socket on this interface */
	uint8_t mac[6];			/* send -M: the next hop's MAC address */
	struct sockaddr_storage dst;
	socklen_t dlen;
	uint16_t port;
};

static volatile sig_atomic_t stop;

static void usage(FILE *f)
{
	fprintf(f,
		"usage: " PROG " send [-f FLOWS] [-c [-S SPORT] | -i IFNAME -M MAC [-w BYTES]]\n"
		"                   [-s SIZE] [-r PPS] [-b BATCH] [-d SECONDS] ADDR PORT\n"
		"       " PROG " sink [-e] [-d SECONDS] PORT\n"
		"       " PROG " rr   [-n COUNT] [-s SIZE] [-d SECONDS] ADDR PORT\n"
		"       " PROG " conn [-P PARALLEL] [-d SECONDS] ADDR PORT\n"
		"  -f FLOWS    flows: destination ports PORT..PORT+FLOWS-1, one after\n"
		"              the other (default 256)\n"
		"  -c          send: one connected socket per flow (source ports), a\n"
		"              batch from each in turn\n"
		"  -S SPORT    send -c: flow f from source port SPORT+f (default: any)\n"
		"  -i IFNAME   send: ready-made IPv4 frames on a packet socket, each\n"
		"              from the next source port (needs -M and root)\n"
		"  -M MAC      send -i: the next hop's MAC address\n"
		"  -w BYTES    send -i: the packet socket's send buffer (SO_SNDBUFFORCE).\n"
		"              A frame holds its share of it until the receiver frees\n"
		"              it, so with the default buffer a slow receiver throttles\n"
		"              the sender, as no flood from the wire is throttled\n"
		"  -s SIZE     UDP payload bytes (default 36: 64-byte IPv4 packets)\n"
		"  -r PPS      send at most PPS datagrams per second (default: no limit)\n"
		"  -b BATCH    datagrams per sendmmsg() (default 32)\n"
		"  -d SECONDS  run this long (default 5; sink: until a signal, at most 3600)\n"
		"  -e          sink: send each datagram back\n"
		"  -n COUNT    rr: round trips (default 10000)\n"
		"  -P PARALLEL conn: connections in flight (default 8)\n"
		"Prints \"key value\" lines.  Exit 0 ok, 1 failure, 2 usage.\n");
}

static double parse_secs(const char *s)
{
	double v;
	char *end;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v > 0 && v <= 3600))
		usage_error("argument \"%s\" is wrong: SECONDS must be >0..3600", s);
	return v;
}

static void parse_opts(int argc, char **argv, struct opts *o)
{
	int c;

	*o = (struct opts){ .flows = 256, .size = 36, .batch = 32,
			    .count = 10000, .par = 8 };
	if (argc < 2)
		usage_error("missing mode");
	o->mode = argv[1];
	optind = 2;
	while ((c = getopt(argc, argv, "f:s:r:b:d:en:P:ci:M:S:w:h")) != -1) {
		switch (c) {
		case 'f': o->flows = parse_num(optarg, "FLOWS", 1, FLOWS_MAX); break;
		case 's': o->size = parse_num(optarg, "SIZE", 16, SIZE_MAX_UDP); break;
		case 'r': o->rate = parse_num(optarg, "PPS", 1, 100000000); break;
		case 'b': o->batch = parse_num(optarg, "BATCH", 1, BATCH_MAX); break;
		case 'd': o->secs = parse_secs(optarg); break;
		case 'e': o->echo = true; break;
		case 'c': o->per_flow = true; break;
		case 'S': o->sport = parse_num(optarg, "SPORT", 1, 65535); break;
		case 'i': o->ifname = optarg; break;
		case 'M': parse_mac(optarg, o->mac); break;
		case 'w': o->sndbuf = parse_num(optarg, "BYTES", 4096, 1UL << 30); break;
		case 'n': o->count = parse_num(optarg, "COUNT", 1, RR_MAX); break;
		case 'P': o->par = parse_num(optarg, "PARALLEL", 1, CONN_MAX); break;
		case 'h': usage(stdout); exit(EXIT_OK);
		default: usage(stderr); exit(EXIT_USAGE);
		}
	}
	if (o->secs == 0)
		o->secs = strcmp(o->mode, "sink") == 0 ? 3600 : 5;
	if (strcmp(o->mode, "sink") == 0) {
		if (argc - optind != 1)
			usage_error("sink expects PORT");
		o->port = (uint16_t)parse_num(argv[optind], "PORT", 1, 65535);
		return;
	}
	if (argc - optind != 2)
		usage_error("%s expects ADDR PORT", o->mode);
	parse_dst(argv[optind], argv[optind + 1], &o->dst, &o->dlen);
	if (o->ifname && (o->dst.ss_family != AF_INET || o->per_flow))
		usage_error("-i sends IPv4 only, and does not go with -c");
	if (o->sport && (!o->per_flow || o->sport + o->flows - 1 > 65535))
		usage_error("-S goes with -c, and SPORT + FLOWS - 1 must be a port");
	if (o->sndbuf && !o->ifname)
		usage_error("-w goes with -i");
	if (o->ifname && !(o->mac[0] | o->mac[1] | o->mac[2] | o->mac[3] | o->mac[4] | o->mac[5]))
		usage_error("-i needs -M MAC");
	if (!o->per_flow && !o->ifname &&
	    strtoul(argv[optind + 1], NULL, 10) + o->flows - 1 > 65535)
		usage_error("ports %s..+%lu go past 65535", argv[optind + 1], o->flows - 1);
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void sleep_ns(int64_t ns)
{
	struct timespec ts = { ns / 1000000000, ns % 1000000000 };

	if (ns > 0)
		nanosleep(&ts, NULL);
}

/* A UDP socket connected to the destination, from source port sport
 * (0: any). */
static int udp_connected(const struct opts *o, unsigned long sport)
{
	int fd = socket(o->dst.ss_family, SOCK_DGRAM, 0), on = 1;
	struct sockaddr_storage src;

	if (fd < 0)
		die("socket");
	if (sport) {
		memset(&src, 0, sizeof(src));
		src.ss_family = o->dst.ss_family;
		if (src.ss_family == AF_INET)
			((struct sockaddr_in *)&src)->sin_port = htons((uint16_t)sport);
		else
			((struct sockaddr_in6 *)&src)->sin6_port = htons((uint16_t)sport);
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
		if (bind(fd, (const struct sockaddr *)&src, o->dlen) < 0)
			die("bind to port %lu", sport);
	}
	if (connect(fd, (const struct sockaddr *)&o->dst, o->dlen) < 0)
		die("connect");
	return fd;
}

/* ------------------------------------------------------------------ send */

/* How many datagrams may go out now: the rest of a batch, or what the rate
 * allows by this time (sleeping a little when ahead). */
static unsigned int send_quota(const struct opts *o, int64_t t0, uint64_t sent)
{
	int64_t t = now_ns() - t0;
	uint64_t due;

	if (!o->rate)
		return (unsigned int)o->batch;
	due = (uint64_t)((double)o->rate * (double)t / 1e9);
	if (due > sent)
		return due - sent < o->batch ? (unsigned int)(due - sent) :
		       (unsigned int)o->batch;
	sleep_ns(20000);
	return 0;
}

static void send_report(const struct opts *o, uint64_t sent, uint64_t errs,
			int64_t ns)
{
	double s = (double)ns / 1e9;

	printf("flows %lu\nsize %lu\nsent %llu\nerrors %llu\nseconds %.3f\npps %.0f\n",
	       o->flows, o->size, (unsigned long long)sent,
	       (unsigned long long)errs, s, (double)sent / s);
}

/* The destination of flow f: the address, port PORT + f. */
static struct sockaddr_storage *flow_addrs(const struct opts *o)
{
	struct sockaddr_storage *d = calloc(o->flows, sizeof(*d));
	unsigned long f;
	uint16_t port;

	if (!d)
		die("calloc");
	port = sockaddr_port(&o->dst);
	for (f = 0; f < o->flows; f++) {
		d[f] = o->dst;
		if (o->dst.ss_family == AF_INET6)
			((struct sockaddr_in6 *)&d[f])->sin6_port = htons((uint16_t)(port + f));
		else
			((struct sockaddr_in *)&d[f])->sin_port = htons((uint16_t)(port + f));
	}
	return d;
}

static uint16_t ip_csum(const uint8_t *h, size_t len)
{
	uint32_t sum = 0;
	size_t i;

	for (i = 0; i < len; i += 2)
		sum += (uint32_t)(h[i] << 8 | h[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Our address towards dst, as the kernel would pick it. */
static struct in_addr source_for(const struct opts *o)
{
	struct sockaddr_in me;
	socklen_t len = sizeof(me);
	int fd = udp_connected(o, 0);

	if (getsockname(fd, (struct sockaddr *)&me, &len) < 0)
		die("getsockname");
	close(fd);
	return me.sin_addr;
}

/* One Ethernet + IPv4 + UDP frame per flow, flow f from source port base + f. */
static uint8_t *make_frames(const struct opts *o, const uint8_t *src_mac, size_t *flen)
{
	const struct sockaddr_in *d = (const struct sockaddr_in *)&o->dst;
	struct in_addr src = source_for(o);
	uint16_t base = (uint16_t)(1024 + (unsigned int)getpid() % 50000);
	size_t n = 14 + 20 + 8 + o->size;
	uint8_t *fr = calloc(o->flows, n), *p;
	unsigned long f;

	if (!fr)
		die("calloc");
	for (f = 0; f < o->flows; f++) {
		p = fr + f * n;
		memcpy(p, o->mac, 6);
		memcpy(p + 6, src_mac, 6);
		p[12] = 0x08;					/* IPv4 */
		p += 14;
		p[0] = 0x45;
		p[2] = (uint8_t)((n - 14) >> 8);
		p[3] = (uint8_t)(n - 14);
		p[8] = 64;
		p[9] = IPPROTO_UDP;
		memcpy(p + 12, &src, 4);
		memcpy(p + 16, &d->sin_addr, 4);
		p[10] = (uint8_t)(ip_csum(p, 20) >> 8);
		p[11] = (uint8_t)ip_csum(p, 20);
		p[20] = (uint8_t)((base + f) >> 8);
		p[21] = (uint8_t)(base + f);
		memcpy(p + 22, &d->sin_port, 2);
		p[24] = (uint8_t)((8 + o->size) >> 8);
		p[25] = (uint8_t)(8 + o->size);		/* checksum 0: none */
	}
	*flen = n;
	return fr;
}

/* A packet socket on o->ifname that skips the qdisc; its MAC into mac. */
static int packet_socket(const struct opts *o, uint8_t *mac)
{
	struct sockaddr_ll ll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IP) };
	int fd = socket(AF_PACKET, SOCK_RAW, 0), on = 1, buf = (int)o->sndbuf;
	struct ifreq ifr;

	if (fd < 0)
		die("packet socket");
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", o->ifname);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0)
		die("interface %s", o->ifname);
	memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	ll.sll_ifindex = (int)if_nametoindex(o->ifname);
	if (bind(fd, (struct sockaddr *)&ll, sizeof(ll)) < 0)
		die("bind to %s", o->ifname);
	setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &on, sizeof(on));
	if (buf && setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof(buf)) < 0)
		die("SO_SNDBUFFORCE %d", buf);
	return fd;
}

/* What run_send() sends from: see there. */
struct sender {
	int *fds;
	struct sockaddr_storage *dst;	/* UDP, interleaved */
	struct iovec *frame;		/* -i: one frame per flow */
	struct iovec payload;
};

static void sender_open(const struct opts *o, struct sender *sd)
{
	static char payload[SIZE_MAX_UDP];
	unsigned long i, nfd = o->per_flow ? o->flows : 1;
	uint8_t mac[6], *fr;
	size_t flen;

	sd->payload = (struct iovec){ payload, o->size };
	sd->fds = calloc(nfd, sizeof(*sd->fds));
	sd->frame = calloc(o->flows, sizeof(*sd->frame));
	if (!sd->fds || !sd->frame)
		die("calloc");
	if (o->ifname) {
		sd->fds[0] = packet_socket(o, mac);
		fr = make_frames(o, mac, &flen);
		for (i = 0; i < o->flows; i++)
			sd->frame[i] = (struct iovec){ fr + i * flen, flen };
		return;
	}
	sd->dst = flow_addrs(o);
	for (i = 0; i < nfd; i++)
		sd->fds[i] = o->per_flow ? udp_connected(o, o->sport ? o->sport + i : 0) :
					   socket(o->dst.ss_family, SOCK_DGRAM, 0);
	if (sd->fds[0] < 0)
		die("socket");
}

static void sender_close(const struct opts *o, struct sender *sd)
{
	unsigned long i, nfd = o->per_flow && !o->ifname ? o->flows : 1;

	for (i = 0; i < nfd; i++)
		if (sd->fds[i] >= 0)
			close(sd->fds[i]);
	if (o->ifname)
		free(sd->frame[0].iov_base);	/* every frame is in one buffer */
	free(sd->frame);
	free(sd->dst);
	free(sd->fds);
}

/* The next q datagrams, from the sent-th on. */
static void fill_batch(const struct opts *o, struct sender *sd, struct mmsghdr *msgs,
		       unsigned int q, uint64_t sent)
{
	unsigned int i;
	size_t f;

	for (i = 0; i < q; i++) {
		f = (size_t)((sent + i) % o->flows);
		msgs[i].msg_hdr = (struct msghdr){ .msg_iov = &sd->payload, .msg_iovlen = 1 };
		if (o->ifname)
			msgs[i].msg_hdr.msg_iov = &sd->frame[f];
		else if (!o->per_flow) {
			msgs[i].msg_hdr.msg_name = &sd->dst[f];
			msgs[i].msg_hdr.msg_namelen = o->dlen;
		}
	}
}

/*
 * Three ways to send, every packet of a batch to the next flow but in -c:
 *   default  one unconnected UDP socket; flows are destination ports
 *            PORT..PORT+FLOWS-1 (a route lookup per packet: the slowest)
 *   -c       one connected UDP socket per flow (source ports), a batch
 *            from each in turn: runs of BATCH packets of one flow
 *   -i       ready-made frames on a packet socket, flows are source ports:
 *            the fastest, the kernel's stack is skipped
 */
static int run_send(const struct opts *o)
{
	static struct mmsghdr msgs[BATCH_MAX];
	struct sender sd = { 0 };
	uint64_t sent = 0, errs = 0;
	unsigned long f = 0;
	int64_t t0, end;
	unsigned int q;
	int r;

	sender_open(o, &sd);
	t0 = now_ns();
	end = t0 + (int64_t)(o->secs * 1e9);
	while (now_ns() < end) {
		if (!(q = send_quota(o, t0, sent)))
			continue;
		fill_batch(o, &sd, msgs, q, sent);
		r = sendmmsg(sd.fds[o->per_flow ? f : 0], msgs, q, 0);
		if (r < 0)
			errs++;
		else
			sent += (uint64_t)r;
		f = f + 1 == o->flows ? 0 : f + 1;
	}
	send_report(o, sent, errs, now_ns() - t0);
	sender_close(o, &sd);
	return EXIT_OK;
}

/* ------------------------------------------------------------------ sink */

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int udp_bound(uint16_t port)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons(port),
				  .sin6_addr = IN6ADDR_ANY_INIT };
	struct timeval tv = { 0, 200000 };
	int fd = socket(AF_INET6, SOCK_DGRAM, 0), off = 0;

	if (fd < 0)
		die("socket");
	setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		die("bind port %u", port);
	return fd;
}

static void echo_back(int fd, struct mmsghdr *msgs, int n)
{
	int i;

	for (i = 0; i < n; i++)
		msgs[i].msg_hdr.msg_iov->iov_len = msgs[i].msg_len;
	sendmmsg(fd, msgs, (unsigned int)n, 0);
}

static int run_sink(const struct opts *o)
{
	static char bufs[BATCH_MAX][2048];
	static struct sockaddr_in6 from[BATCH_MAX];
	static struct mmsghdr msgs[BATCH_MAX];
	static struct iovec iov[BATCH_MAX];
	struct sigaction sa = { .sa_handler = on_signal };
	int64_t end = now_ns() + (int64_t)(o->secs * 1e9);
	int fd = udp_bound(o->port), i, n;
	uint64_t got = 0;

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	while (!stop && now_ns() < end) {
		for (i = 0; i < BATCH_MAX; i++) {
			iov[i] = (struct iovec){ bufs[i], sizeof(bufs[i]) };
			msgs[i].msg_hdr = (struct msghdr){ .msg_name = &from[i],
				.msg_namelen = sizeof(from[i]), .msg_iov = &iov[i],
				.msg_iovlen = 1 };
		}
		n = recvmmsg(fd, msgs, BATCH_MAX, MSG_WAITFORONE, NULL);
		if (n <= 0)
			continue;
		got += (uint64_t)n;
		if (o->echo)
			echo_back(fd, msgs, n);
	}
	printf("received %llu\n", (unsigned long long)got);
	return EXIT_OK;
}

/* -------------------------------------------------------------------- rr */

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* One round trip in ns, or -1 when the answer did not come within 100 ms. */
static int64_t round_trip(int fd, char *buf, size_t size, uint32_t seq)
{
	struct pollfd p = { fd, POLLIN, 0 };
	int64_t t0 = now_ns(), deadline = t0 + 100000000;
	uint32_t back;
	ssize_t n;

	memcpy(buf, &seq, sizeof(seq));
	if (send(fd, buf, size, 0) < 0)
		return -1;
	while (now_ns() < deadline) {
		if (poll(&p, 1, 100) <= 0)
			continue;
		n = recv(fd, buf, size, 0);
		if (n < (ssize_t)sizeof(back))
			continue;
		memcpy(&back, buf, sizeof(back));
		if (back == seq)
			return now_ns() - t0;
	}
	return -1;
}

static int run_rr(const struct opts *o)
{
	static char buf[SIZE_MAX_UDP];
	int64_t *rtt = calloc(o->count, sizeof(*rtt)), end, t;
	unsigned long n = 0, lost = 0, i;
	int fd = udp_connected(o, 0);

	if (!rtt)
		die("calloc");
	end = now_ns() + (int64_t)(o->secs * 1e9);
	for (i = 0; i < 100 && round_trip(fd, buf, o->size, (uint32_t)i) >= 0; i++)
		;	/* warm up: caches, ARP, conntrack */
	for (i = 0; n < o->count && now_ns() < end; i++) {
		t = round_trip(fd, buf, o->size, (uint32_t)(i + 1000));
		if (t < 0)
			lost++;
		else
			rtt[n++] = t;
	}
	if (!n) {
		fprintf(stderr, PROG ": rr: no answer\n");
		free(rtt);
		return EXIT_FAIL;
	}
	qsort(rtt, n, sizeof(*rtt), cmp_i64);
	printf("count %lu\nlost %lu\nmin_us %.1f\np50_us %.1f\np99_us %.1f\n", n, lost,
	       rtt[0] / 1e3, rtt[n / 2] / 1e3, rtt[n * 99 / 100] / 1e3);
	free(rtt);
	return EXIT_OK;
}

/* ------------------------------------------------------------------ conn */

struct conn {
	int fd;
	size_t got;
	char line[LINE_MAX_CONN];
};

struct conn_run {
	const struct opts *o;
	int ep;
	uint64_t done, failed;
};

static void conn_start(struct conn_run *r, struct conn *c)
{
	struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = c };

	c->got = 0;
	c->fd = socket(r->o->dst.ss_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (c->fd < 0)
		die("socket");
	if (connect(c->fd, (const struct sockaddr *)&r->o->dst, r->o->dlen) < 0 &&
	    errno != EINPROGRESS)
		die("connect");
	if (epoll_ctl(r->ep, EPOLL_CTL_ADD, c->fd, &ev) < 0)
		die("epoll_ctl");
}

/* Close with RST (linger 0): no TIME_WAIT, so ports never run out. */
static void conn_end(struct conn_run *r, struct conn *c, bool ok)
{
	struct linger l = { 1, 0 };

	setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	close(c->fd);
	if (ok)
		r->done++;
	else
		r->failed++;
	conn_start(r, c);
}

static void conn_event(struct conn_run *r, struct conn *c, uint32_t events)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
	int err = 0;
	socklen_t len = sizeof(err);
	ssize_t n;

	if (events & (EPOLLERR | EPOLLHUP)) {
		conn_end(r, c, false);
		return;
	}
	if (events & EPOLLOUT) {
		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err || write(c->fd, "hello\n", 6) != 6 ||
		    epoll_ctl(r->ep, EPOLL_CTL_MOD, c->fd, &ev) < 0)
			conn_end(r, c, false);
		return;
	}
	n = read(c->fd, c->line + c->got, sizeof(c->line) - 1 - c->got);
	if (n <= 0) {
		conn_end(r, c, false);
		return;
	}
	c->got += (size_t)n;
	if (memchr(c->line, '\n', c->got) || c->got == sizeof(c->line) - 1)
		conn_end(r, c, true);
}

static int run_conn(const struct opts *o)
{
	struct conn_run r = { o, epoll_create1(0), 0, 0 };
	struct conn *c = calloc(o->par, sizeof(*c));
	struct epoll_event ev[64];
	int64_t t0 = now_ns(), end = t0 + (int64_t)(o->secs * 1e9);
	unsigned long i;
	int n, k;

	if (!c || r.ep < 0)
		die("setup");
	for (i = 0; i < o->par; i++)
		conn_start(&r, &c[i]);
	while (now_ns() < end) {
		n = epoll_wait(r.ep, ev, 64, 100);
		for (k = 0; k < n; k++)
			conn_event(&r, ev[k].data.ptr, ev[k].events);
	}
	printf("connections %llu\nfailed %llu\nseconds %.3f\nrate %.0f\n",
	       (unsigned long long)r.done, (unsigned long long)r.failed,
	       (double)(now_ns() - t0) / 1e9, (double)r.done / ((double)(now_ns() - t0) / 1e9));
	return r.done ? EXIT_OK : EXIT_FAIL;
}

int main(int argc, char **argv)
{
	struct opts o;

	if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		usage(stdout);
		return EXIT_OK;
	}
	parse_opts(argc, argv, &o);
	signal(SIGPIPE, SIG_IGN);
	if (strcmp(o.mode, "send") == 0)
		return run_send(&o);
	if (strcmp(o.mode, "sink") == 0)
		return run_sink(&o);
	if (strcmp(o.mode, "rr") == 0)
		return run_rr(&o);
	if (strcmp(o.mode, "conn") == 0)
		return run_conn(&o);
	usage_error("unknown mode \"%s\"", o.mode);
}
