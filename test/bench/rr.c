/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * rr: TCP request/response for the benchmarks (test/bench/), in the manner
 * of netpipe and of the LVS performance tests.
 *
 *   serve [-p PORT]    answer each connection: after a 4-byte message size
 *                      N (network order), read N bytes and send N back,
 *                      until the peer closes; 128 connections at a time
 *   sweep ADDR PORT    for N = MIN, 2 MIN, ... MAX: one connection, up to
 *                      -t SECONDS or -n COUNT round trips of N bytes each
 *                      way; one line per size: "size N count C p50_us X
 *                      p99_us Y mbps Z", where Z = 8 N / (p50 / 2) (each
 *                      direction moves N bytes in half a round trip)
 *   conn ADDR PORT     -P clients, client i bound to source address -b
 *                      BASE + i, start together and until -d SECONDS each
 *                      open a connection, exchange one byte each way and
 *                      close with RST (no TIME_WAIT); prints "clients P
 *                      conns C rate R p50_us X p99_us Y" (connect to the
 *                      answer, per connection)
 *
 * Every wait is bounded (5 s per read or write); results go to stdout as
 * "key value" pairs.  Exit 0 ok, 1 failure, 2 usage.
 */
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/time.h>
#include <unistd.h>

#define PROG		"rr"
#include "test/tools/tools.h"

#define RR_MAX		(1u << 20)	/* largest message, bytes */
#define RR_IO_SECS	5		/* bound on one blocked read or write */
#define RR_WARMUP	2		/* round trips not timed, per size */
#define CLIENTS_MAX	64
#define SERVE_THREADS	(2 * CLIENTS_MAX)	/* connections served at once */
#define SAMPLES_MAX	(1u << 18)	/* per conn client */

struct opts {
	const char *mode;
	const char *addr, *port;
	const char *src;		/* -b: source address (base for conn) */
	unsigned long min, max;		/* sweep sizes */
	unsigned long count;		/* sweep: round trips per size, at most */
	double secs;			/* sweep: per size; conn: the run */
	unsigned long clients;
	unsigned long listen_port;
};

static void usage(void)
{
	printf("usage: " PROG " serve [-p PORT]\n"
	       "       " PROG " sweep [-m MIN] [-M MAX] [-t SECONDS] [-n COUNT] [-b SRC] ADDR PORT\n"
	       "       " PROG " conn [-P CLIENTS] [-d SECONDS] [-b SRC] ADDR PORT\n"
	       "  -p PORT     serve: the TCP port (default 7100)\n"
	       "  -m, -M      sweep: smallest and largest message, bytes (1, %u)\n"
	       "  -t SECONDS  sweep: time per size at most (default 0.2)\n"
	       "  -n COUNT    sweep: round trips per size at most (default 2000)\n"
	       "  -P CLIENTS  conn: clients, 1..%d (default 1)\n"
	       "  -d SECONDS  conn: the run (default 2)\n"
	       "  -b SRC      source address (IPv4); conn: client i uses SRC + i\n",
	       RR_MAX, CLIENTS_MAX);
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static double parse_secs(const char *s)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || v <= 0 || v > 600)
		usage_error("argument \"%s\" is wrong: SECONDS must be in (0, 600]", s);
	return v;
}

/* ------------------------------------------------------------------ I/O */

/* io_all() - read (or write) exactly len bytes; -1 on error, EOF or timeout. */
static int io_all(int fd, void *buf, size_t len, bool wr)
{
	char *p = buf;
	ssize_t n;

	while (len) {
		n = wr ? send(fd, p, len, MSG_NOSIGNAL) : recv(fd, p, len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = ECONNRESET;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* sock_tune() - no Nagle (a message's last segment must not wait for an
 * ACK) and bounded blocking. */
static void sock_tune(int fd)
{
	struct timeval tv = { .tv_sec = RR_IO_SECS };
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* ------------------------------------------------------------------ serve */

static void *serve_conn(void *arg)
{
	int fd = (int)(intptr_t)arg;
	uint32_t n;
	char *buf;

	sock_tune(fd);
	if (io_all(fd, &n, sizeof(n), false) < 0)
		goto out;
	n = ntohl(n);
	if (n == 0 || n > RR_MAX)
		goto out;
	buf = malloc(n);
	if (!buf)
		goto out;
	while (io_all(fd, buf, n, false) == 0 && io_all(fd, buf, n, true) == 0)
		;
	free(buf);
out:
	close(fd);
	return NULL;
}

/* serve_loop() - one of the server's threads: accept, serve, again.  A
 * pool made beforehand, so that no connection waits for a thread to be
 * made (which would be the server's cost, not the path's). */
static void *serve_loop(void *arg)
{
	int s = (int)(intptr_t)arg, fd;

	for (;;) {
		fd = accept(s, NULL, NULL);
		if (fd >= 0)
			serve_conn((void *)(intptr_t)fd);
		else if (errno != EINTR && errno != ECONNABORTED && errno != EMFILE)
			die("accept");
	}
	return NULL;
}

static int run_serve(const struct opts *o)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6,
				  .sin6_port = htons((uint16_t)o->listen_port) };
	pthread_attr_t attr;
	pthread_t t;
	int s, i, one = 1;

	s = socket(AF_INET6, SOCK_STREAM, 0);
	if (s < 0)
		die("socket");
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 1024) < 0)
		die("port %lu", o->listen_port);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	for (i = 1; i < SERVE_THREADS; i++)
		if (pthread_create(&t, &attr, serve_loop, (void *)(intptr_t)s))
			die("thread");
	serve_loop((void *)(intptr_t)s);
	return EXIT_FAIL;
}

/* ------------------------------------------------------------------ client */

/* dial() - a tuned connection from src (NULL: any) to dst, whose
 * messages are n bytes.  Returns the socket or -1 with errno set. */
static int dial(const struct sockaddr_storage *dst, socklen_t len,
		const struct sockaddr_in *src, uint32_t n)
{
	uint32_t hdr = htonl(n);
	int fd;

	fd = socket(dst->ss_family, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	sock_tune(fd);
	if ((src && bind(fd, (const struct sockaddr *)src, sizeof(*src)) < 0) ||
	    connect(fd, (const struct sockaddr *)dst, len) < 0 ||
	    io_all(fd, &hdr, sizeof(hdr), true) < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* close_rst() - close with RST, so that no TIME_WAIT piles up. */
static void close_rst(int fd)
{
	struct linger l = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	close(fd);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/* pct() - the p-th percentile (0..100) of n sorted samples, in us. */
static double pct(const uint32_t *v, size_t n, unsigned int p)
{
	size_t i = n * p / 100;

	if (!n)
		return 0;
	return v[i < n ? i : n - 1] / 1000.0;
}

static void parse_src(const char *s, uint32_t add, struct sockaddr_in *src)
{
	memset(src, 0, sizeof(*src));
	src->sin_family = AF_INET;
	if (inet_pton(AF_INET, s, &src->sin_addr) != 1)
		usage_error("argument \"%s\" is wrong: not an IPv4 address", s);
	src->sin_addr.s_addr = htonl(ntohl(src->sin_addr.s_addr) + add);
}

/* ------------------------------------------------------------------ sweep */

/* sweep_size() - the round trips of one size into t[], their count. */
static size_t sweep_size(const struct opts *o, const struct sockaddr_storage *dst,
			 socklen_t len, const struct sockaddr_in *src,
			 uint32_t n, char *buf, uint32_t *t)
{
	int64_t end, t0;
	size_t i, c = 0;
	int fd;

	fd = dial(dst, len, src, n);
	if (fd < 0)
		die("connect for size %u", n);
	end = now_ns() + (int64_t)(o->secs * 1e9);
	for (i = 0; c < o->count && (i < RR_WARMUP || now_ns() < end); i++) {
		t0 = now_ns();
		if (io_all(fd, buf, n, true) < 0 || io_all(fd, buf, n, false) < 0)
			die("round trip of size %u", n);
		if (i >= RR_WARMUP)
			t[c++] = (uint32_t)(now_ns() - t0);
	}
	close(fd);
	return c;
}

static int run_sweep(const struct opts *o)
{
	struct sockaddr_storage dst;
	struct sockaddr_in src;
	uint32_t *t;
	socklen_t len;
	unsigned long n;
	size_t c;
	char *buf;
	double p50;

	parse_dst(o->addr, o->port, &dst, &len);
	if (o->src)
		parse_src(o->src, 0, &src);
	buf = calloc(1, o->max);
	t = calloc(o->count, sizeof(*t));
	if (!buf || !t)
		die("memory");
	for (n = o->min; n <= o->max; n *= 2) {
		c = sweep_size(o, &dst, len, o->src ? &src : NULL, (uint32_t)n, buf, t);
		qsort(t, c, sizeof(*t), cmp_u32);
		p50 = pct(t, c, 50);
		printf("size %lu count %zu p50_us %.1f p99_us %.1f mbps %.2f\n",
		       n, c, p50, pct(t, c, 99), p50 > 0 ? 16.0 * n / p50 : 0);
		fflush(stdout);
	}
	free(buf);
	free(t);
	return EXIT_OK;
}

/* ------------------------------------------------------------------ conn */

struct client {
	pthread_t th;
	const struct opts *o;
	struct sockaddr_storage dst;
	socklen_t len;
	struct sockaddr_in src;
	pthread_barrier_t *start;
	uint32_t *t;
	size_t n;
	int err;
};

static int64_t conn_end;

/* conn_one() - one connection: connect, a byte each way, RST. */
static int conn_one(struct client *c)
{
	char b = 'x';
	int fd;

	fd = dial(&c->dst, c->len, c->o->src ? &c->src : NULL, 1);
	if (fd < 0)
		return -1;
	if (io_all(fd, &b, 1, true) < 0 || io_all(fd, &b, 1, false) < 0) {
		close(fd);
		return -1;
	}
	close_rst(fd);
	return 0;
}

static void *conn_client(void *arg)
{
	struct client *c = arg;
	int64_t t0;

	if (pthread_barrier_wait(c->start) == PTHREAD_BARRIER_SERIAL_THREAD)
		__atomic_store_n(&conn_end, now_ns() + (int64_t)(c->o->secs * 1e9),
				 __ATOMIC_RELEASE);
	while (!__atomic_load_n(&conn_end, __ATOMIC_ACQUIRE))
		;
	for (t0 = now_ns(); t0 < __atomic_load_n(&conn_end, __ATOMIC_ACQUIRE) &&
	     c->n < SAMPLES_MAX; t0 = now_ns()) {
		if (conn_one(c) < 0) {
			c->err = errno;
			break;
		}
		c->t[c->n++] = (uint32_t)(now_ns() - t0);
	}
	return NULL;
}

/* conn_report() - all clients' samples, sorted, and the summary line. */
static int conn_report(struct client *cl, unsigned long p, double secs)
{
	size_t total = 0, k = 0, i;
	uint32_t *all;

	for (i = 0; i < p; i++)
		total += cl[i].n;
	all = calloc(total ? total : 1, sizeof(*all));
	if (!all)
		die("memory");
	for (i = 0; i < p; i++) {
		memcpy(all + k, cl[i].t, cl[i].n * sizeof(*all));
		k += cl[i].n;
	}
	qsort(all, total, sizeof(*all), cmp_u32);
	printf("clients %lu conns %zu rate %.0f p50_us %.1f p99_us %.1f\n", p, total,
	       total / secs, pct(all, total, 50), pct(all, total, 99));
	free(all);
	return EXIT_OK;
}

static int run_conn(const struct opts *o)
{
	struct client cl[CLIENTS_MAX] = { 0 };
	pthread_barrier_t start;
	unsigned long i;

	pthread_barrier_init(&start, NULL, (unsigned int)o->clients);
	for (i = 0; i < o->clients; i++) {
		cl[i].o = o;
		cl[i].start = &start;
		parse_dst(o->addr, o->port, &cl[i].dst, &cl[i].len);
		if (o->src)
			parse_src(o->src, (uint32_t)i, &cl[i].src);
		cl[i].t = calloc(SAMPLES_MAX, sizeof(uint32_t));
		if (!cl[i].t)
			die("memory");
	}
	for (i = 0; i < o->clients; i++)
		if (pthread_create(&cl[i].th, NULL, conn_client, &cl[i]))
			die("thread");
	for (i = 0; i < o->clients; i++)
		pthread_join(cl[i].th, NULL);
	for (i = 0; i < o->clients; i++) {
		if (cl[i].err) {
			errno = cl[i].err;
			die("client %lu", i);
		}
	}
	return conn_report(cl, o->clients, o->secs);
}

/* ------------------------------------------------------------------ main */

static void parse_opts(int argc, char **argv, struct opts *o)
{
	int c;

	while ((c = getopt(argc, argv, "p:m:M:t:n:P:d:b:h")) != -1) {
		switch (c) {
		case 'p': o->listen_port = parse_num(optarg, "PORT", 1, 65535); break;
		case 'm': o->min = parse_num(optarg, "MIN", 1, RR_MAX); break;
		case 'M': o->max = parse_num(optarg, "MAX", 1, RR_MAX); break;
		case 't': case 'd': o->secs = parse_secs(optarg); break;
		case 'n': o->count = parse_num(optarg, "COUNT", 1, 10000000); break;
		case 'P': o->clients = parse_num(optarg, "CLIENTS", 1, CLIENTS_MAX); break;
		case 'b': o->src = optarg; break;
		case 'h': usage(); exit(EXIT_OK);
		default: usage_error("unknown option");
		}
	}
	if (o->min > o->max)
		usage_error("MIN is above MAX");
}

int main(int argc, char **argv)
{
	struct opts o = { .min = 1, .max = RR_MAX, .count = 2000, .clients = 1,
			  .listen_port = 7100 };
	char **arg;
	int nargs;

	if (argc < 2)
		usage_error("no mode");
	o.mode = argv[1];
	o.secs = strcmp(o.mode, "conn") ? 0.2 : 2;
	parse_opts(argc - 1, argv + 1, &o);
	arg = argv + 1 + optind;
	nargs = argc - 1 - optind;
	signal(SIGPIPE, SIG_IGN);
	if (!strcmp(o.mode, "serve")) {
		if (nargs)
			usage_error("serve takes no arguments");
		return run_serve(&o);
	}
	if (strcmp(o.mode, "sweep") && strcmp(o.mode, "conn"))
		usage_error("unknown mode \"%s\"", o.mode);
	if (nargs != 2)
		usage_error("%s wants ADDR PORT", o.mode);
	o.addr = arg[0];
	o.port = arg[1];
	return strcmp(o.mode, "sweep") ? run_conn(&o) : run_sweep(&o);
}
