/*
 * nfqlb-conn: a client for the function tests.  It talks to nfqlb-echo
 * through the load balancer and counts which target answered.
 *
 * Default mode: COUNT short exchanges one after another, each from a new
 * socket (so a new source port): connect, send "hello\n", read the name line,
 * close.  With -k SECONDS: COUNT connections held open together, each asked
 * every 100 ms, to show that existing connections survive table changes.
 *
 * Every wait is bounded by the timeout, and the whole run by COUNT and time.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

#define PROG		"nfqlb-conn"
#define NAME_LEN	64
#define ROUND_MS	100	/* -k: one "hello" per connection this often */
#define MAX_REPORTS	3	/* troubles told on stderr before going quiet */

struct opts {
	unsigned long count;
	bool udp;
	unsigned long timeout_ms;
	unsigned long rate;		/* exchanges per second, 0 = no limit */
	unsigned long keep_s;		/* 0 = sequential mode */
	struct sockaddr_storage dst;
	socklen_t dlen;
};

struct name_count {
	char name[NAME_LEN];
	unsigned long count;
};

struct tally {
	struct name_count *v;
	size_t n, cap;
	unsigned long failed, moved;
	unsigned reports;
};

/* One connection of -k mode. */
struct kconn {
	int fd;
	bool alive, waiting, moved;
	char first[NAME_LEN];
	char buf[NAME_LEN];
	size_t blen;
};

static void usage(FILE *f)
{
	fprintf(f, "usage: " PROG " -c COUNT [-u] [-t TIMEOUT_MS] [-r RATE] "
		"[-k SECONDS] ADDR PORT\n"
		"  -c COUNT       exchanges (or, with -k, open connections)\n"
		"  -u             UDP instead of TCP, a new socket per exchange\n"
		"  -t TIMEOUT_MS  bound on every wait (default 1000)\n"
		"  -r RATE        at most RATE exchanges per second\n"
		"  -k SECONDS     hold COUNT connections open for SECONDS, asking\n"
		"                 each every 100 ms; reports failed and moved\n"
		"Prints \"NAME COUNT\" per answering target, sorted by name, and\n"
		"\"failed N\" when any failed.  Exit 0 all good, 1 some failed, "
		"2 usage.\n");
}

static void __attribute__((noreturn, format(printf, 1, 2)))
usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, PROG ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (try -h)\n");
	exit(EXIT_USAGE);
}

static unsigned long parse_num(const char *s, const char *what,
			       unsigned long min, unsigned long max)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v < min || v > max)
		usage_error("argument \"%s\" is wrong: %s must be %lu..%lu",
			    s, what, min, max);
	return v;
}

static void parse_dst(const char *addr, const char *port, struct opts *o)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)&o->dst;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&o->dst;
	uint16_t p = (uint16_t)parse_num(port, "PORT", 1, 65535);

	memset(&o->dst, 0, sizeof(o->dst));
	if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(p);
		o->dlen = sizeof(*s4);
	} else if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(p);
		o->dlen = sizeof(*s6);
	} else {
		usage_error("argument \"%s\" is wrong: not an IPv4 or IPv6 "
			    "address", addr);
	}
}

static void parse_opts(int argc, char **argv, struct opts *o)
{
	int c;

	memset(o, 0, sizeof(*o));
	o->timeout_ms = 1000;
	while ((c = getopt(argc, argv, "c:ut:r:k:h")) != -1) {
		switch (c) {
		case 'c': o->count = parse_num(optarg, "COUNT", 1, 1000000); break;
		case 'u': o->udp = true; break;
		case 't': o->timeout_ms = parse_num(optarg, "TIMEOUT_MS", 1,
						     600000); break;
		case 'r': o->rate = parse_num(optarg, "RATE", 1, 1000000); break;
		case 'k': o->keep_s = parse_num(optarg, "SECONDS", 1, 3600); break;
		case 'h': usage(stdout); exit(EXIT_OK);
		default: usage(stderr); exit(EXIT_USAGE);
		}
	}
	if (!o->count)
		usage_error("missing -c COUNT");
	if (argc - optind != 2)
		usage_error("expected ADDR PORT");
	if (o->keep_s && o->rate)
		usage_error("-r RATE does not go with -k");
	if (o->keep_s && o->count > 10000)
		usage_error("argument \"%lu\" is wrong: COUNT with -k must be "
			    "1..10000", o->count);
	parse_dst(argv[optind], argv[optind + 1], o);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_until_us(int64_t t_us)
{
	struct timespec ts, now;
	int64_t left;

	clock_gettime(CLOCK_MONOTONIC, &now);
	left = t_us - ((int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000);
	if (left <= 0)
		return;
	ts.tv_sec = left / 1000000;
	ts.tv_nsec = (left % 1000000) * 1000;
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int ms_left(int64_t deadline)
{
	int64_t left = deadline - now_ms();

	return left < 0 ? 0 : (int)left;
}

static void __attribute__((format(printf, 2, 3)))
report(struct tally *t, const char *fmt, ...)
{
	va_list ap;

	t->reports++;
	if (t->reports == MAX_REPORTS + 1)
		fprintf(stderr, PROG ": more trouble, not shown\n");
	if (t->reports > MAX_REPORTS)
		return;
	fprintf(stderr, PROG ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
}

static int tally_add(struct tally *t, const char *name)
{
	struct name_count *nv;
	size_t i;

	for (i = 0; i < t->n; i++)
		if (strcmp(t->v[i].name, name) == 0) {
			t->v[i].count++;
			return 0;
		}
	if (t->n == t->cap) {
		nv = realloc(t->v, (t->cap ? t->cap * 2 : 8) * sizeof(*nv));
		if (!nv)
			return -1;
		t->v = nv;
		t->cap = t->cap ? t->cap * 2 : 8;
	}
	snprintf(t->v[t->n].name, NAME_LEN, "%s", name);
	t->v[t->n++].count = 1;
	return 0;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(((const struct name_count *)a)->name,
		      ((const struct name_count *)b)->name);
}

static void tally_print(struct tally *t, bool keep)
{
	size_t i;

	qsort(t->v, t->n, sizeof(*t->v), cmp_name);
	for (i = 0; i < t->n; i++)
		printf("%s %lu\n", t->v[i].name, t->v[i].count);
	if (t->failed || keep)
		printf("failed %lu\n", t->failed);
	if (keep)
		printf("moved %lu\n", t->moved);
	fflush(stdout);
}

/* A non-blocking socket with its connect() started. */
static int start_connect(const struct opts *o)
{
	int type = o->udp ? SOCK_DGRAM : SOCK_STREAM;
	int fd = socket(o->dst.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (connect(fd, (const struct sockaddr *)&o->dst, o->dlen) < 0 &&
	    errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The result of a finished non-blocking connect(), as 0 or -1 and errno. */
static int connect_result(int fd)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		return -1;
	errno = err;
	return err ? -1 : 0;
}

static int wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	int r;

	do
		r = poll(&p, 1, ms_left(deadline));
	while (r < 0 && errno == EINTR);
	if (r == 0)
		errno = ETIMEDOUT;
	return r > 0 ? 0 : -1;
}

/*
 * Take what the socket holds into buf.  Returns 1 once a whole line is in
 * (the newline replaced by NUL), 0 when more is needed, -1 on error or EOF.
 */
static int read_line(int fd, bool udp, char *buf, size_t *blen)
{
	char *nl;
	ssize_t n;

	n = recv(fd, buf + *blen, NAME_LEN - 1 - *blen, 0);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return 0;
	if (n == 0)
		errno = ECONNRESET;
	if (n <= 0)
		return -1;
	*blen += (size_t)n;
	buf[*blen] = '\0';
	nl = strchr(buf, '\n');
	if (nl)
		*nl = '\0';
	else if (udp || *blen == NAME_LEN - 1)
		buf[*blen] = '\0';	/* no newline: take what came */
	else
		return 0;
	return 1;
}

static const char hello[] = "hello\n";

/* One short exchange; the answering name lands in name. */
static int exchange(const struct opts *o, char *name, const char **step)
{
	int64_t deadline = now_ms() + (int64_t)o->timeout_ms;
	size_t blen = 0;
	int fd, r = -1, e;

	*step = "connect";
	fd = start_connect(o);
	if (fd < 0)
		return -1;
	if (!o->udp && (wait_fd(fd, POLLOUT, deadline) < 0 || connect_result(fd) < 0))
		goto out;
	*step = "send";
	if (send(fd, hello, sizeof(hello) - 1, MSG_NOSIGNAL) != sizeof(hello) - 1)
		goto out;
	*step = "answer";
	deadline = now_ms() + (int64_t)o->timeout_ms;
	while (r != 1) {
		if (wait_fd(fd, POLLIN, deadline) < 0)
			goto out;
		r = read_line(fd, o->udp, name, &blen);
		if (r < 0)
			goto out;
	}
	r = 0;
out:
	e = errno;
	close(fd);
	errno = e;
	return r == 0 ? 0 : -1;
}

static void run_sequential(const struct opts *o, struct tally *t)
{
	struct timespec ts;
	char name[NAME_LEN];
	const char *step;
	int64_t t0_us;
	unsigned long i;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	t0_us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
	for (i = 0; i < o->count; i++) {
		if (o->rate)
			sleep_until_us(t0_us + (int64_t)(i * 1000000 / o->rate));
		if (exchange(o, name, &step) == 0 && tally_add(t, name) == 0)
			continue;
		t->failed++;
		report(t, "exchange %lu: %s: %s", i + 1, step, strerror(errno));
	}
}

static void kconn_fail(struct tally *t, struct kconn *k, size_t i,
		       const char *step)
{
	report(t, "connection %zu: %s: %s", i + 1, step, strerror(errno));
	close(k->fd);
	k->fd = -1;
	k->alive = k->waiting = false;
	t->failed++;
}

/* Open all connections at once; those not up within the timeout fail. */
static void keep_open(const struct opts *o, struct tally *t, struct kconn *k,
		      struct pollfd *p)
{
	int64_t deadline = now_ms() + (int64_t)o->timeout_ms;
	size_t i, n = o->count, pending = 0;
	int r;

	for (i = 0; i < n; i++) {
		k[i].fd = start_connect(o);
		k[i].alive = k[i].fd >= 0;
		k[i].waiting = k[i].alive && !o->udp;	/* waiting to connect */
		pending += k[i].waiting;
		if (k[i].fd < 0) {
			report(t, "connection %zu: connect: %s", i + 1,
			       strerror(errno));
			t->failed++;
		}
	}
	while (pending) {
		for (i = 0; i < n; i++) {
			p[i].fd = k[i].waiting ? k[i].fd : -1;
			p[i].events = POLLOUT;
			p[i].revents = 0;
		}
		r = poll(p, n, ms_left(deadline));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		for (i = 0; i < n; i++) {
			if (!p[i].revents)
				continue;
			k[i].waiting = false;
			pending--;
			if (connect_result(k[i].fd) < 0)
				kconn_fail(t, &k[i], i, "connect");
		}
	}
	errno = ETIMEDOUT;
	for (i = 0; i < n; i++)
		if (k[i].waiting)
			kconn_fail(t, &k[i], i, "connect");
}

static void keep_answer(struct tally *t, struct kconn *k, size_t i)
{
	k->waiting = false;
	if (!k->first[0]) {
		snprintf(k->first, NAME_LEN, "%s", k->buf);
		if (tally_add(t, k->first) < 0)
			kconn_fail(t, k, i, "tally");
	} else if (!k->moved && strcmp(k->first, k->buf) != 0) {
		k->moved = true;
		t->moved++;
		report(t, "connection %zu moved from %s to %s", i + 1, k->first,
		       k->buf);
	}
	k->blen = 0;
}

/* Wait for every asked connection to answer, until the deadline. */
static void keep_collect(const struct opts *o, struct tally *t,
			 struct kconn *k, struct pollfd *p, int64_t deadline)
{
	size_t i, n = o->count, pending = 0;
	int r;

	for (i = 0; i < n; i++)
		pending += k[i].waiting;
	while (pending) {
		for (i = 0; i < n; i++) {
			p[i].fd = k[i].waiting ? k[i].fd : -1;
			p[i].events = POLLIN;
			p[i].revents = 0;
		}
		r = poll(p, n, ms_left(deadline));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		for (i = 0; i < n; i++) {
			if (!p[i].revents)
				continue;
			r = read_line(k[i].fd, o->udp, k[i].buf, &k[i].blen);
			if (r < 0)
				kconn_fail(t, &k[i], i, "answer");
			else if (r == 1)
				keep_answer(t, &k[i], i);
			pending -= r != 0;
		}
	}
	errno = ETIMEDOUT;
	for (i = 0; i < n; i++)
		if (k[i].waiting)
			kconn_fail(t, &k[i], i, "answer");
}

static void keep_round(const struct opts *o, struct tally *t, struct kconn *k,
		       struct pollfd *p)
{
	size_t i;

	for (i = 0; i < o->count; i++) {
		if (!k[i].alive)
			continue;
		k[i].blen = 0;
		k[i].waiting = true;
		if (send(k[i].fd, hello, sizeof(hello) - 1, MSG_NOSIGNAL) !=
		    sizeof(hello) - 1)
			kconn_fail(t, &k[i], i, "send");
	}
	keep_collect(o, t, k, p, now_ms() + (int64_t)o->timeout_ms);
}

static int run_keep(const struct opts *o, struct tally *t)
{
	struct kconn *k = calloc(o->count, sizeof(*k));
	struct pollfd *p = calloc(o->count, sizeof(*p));
	int64_t start, end, next;
	size_t i;

	if (!k || !p) {
		fprintf(stderr, PROG ": out of memory\n");
		free(k);
		free(p);
		return -1;
	}
	keep_open(o, t, k, p);
	start = now_ms();
	end = start + (int64_t)o->keep_s * 1000;
	/* A slow round delays the next instead of queueing missed ones. */
	for (next = start; next <= end; next += ROUND_MS) {
		if (next < now_ms())
			next = now_ms();
		sleep_until_us(next * 1000);
		keep_round(o, t, k, p);
	}
	for (i = 0; i < o->count; i++)
		if (k[i].fd >= 0)
			close(k[i].fd);
	free(k);
	free(p);
	return 0;
}

int main(int argc, char **argv)
{
	struct tally t = { 0 };
	struct opts o;

	parse_opts(argc, argv, &o);
	signal(SIGPIPE, SIG_IGN);
	if (o.keep_s) {
		if (run_keep(&o, &t) < 0)
			return EXIT_FAIL;
	} else {
		run_sequential(&o, &t);
	}
	tally_print(&t, o.keep_s != 0);
	free(t.v);
	return t.failed || t.moved ? EXIT_FAIL : EXIT_OK;
}
