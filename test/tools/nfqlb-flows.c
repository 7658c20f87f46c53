/*
 * nfqlb-flows: COUNT short TCP exchanges with nfqlb-echo, each from a fixed
 * source port (SPORT, SPORT + 1, ...), printing which target answered each
 * port.  Run it twice and the same ports are the same flows, so a test can
 * tell whether the load balancer still sends each flow where it did.
 *
 * Each connection ends with a reset (SO_LINGER 0): the client keeps no
 * TIME_WAIT that would block the port, and conntrack on the way lets the
 * next SYN of the same flow open a new connection, chosen afresh.
 * Every wait is bounded by the timeout.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

#define PROG		"nfqlb-flows"
#define NAME_LEN	64

struct opts {
	unsigned long count, timeout_ms;
	unsigned short sport;
	struct sockaddr_storage dst;
	socklen_t dlen;
};

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

static void usage(FILE *f)
{
	fprintf(f, "usage: " PROG " -P SPORT -c COUNT [-t TIMEOUT_MS] ADDR PORT\n"
		"  -P SPORT       source port of the first flow\n"
		"  -c COUNT       flows, from ports SPORT..SPORT+COUNT-1\n"
		"  -t TIMEOUT_MS  bound on every wait (default 1000)\n"
		"Prints \"SPORT NAME\" per flow, NAME \"-\" when it failed.\n"
		"Exit 0 all answered, 1 some failed, 2 usage.\n");
}

static unsigned long num(const char *s, const char *what, unsigned long min,
			 unsigned long max)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v < min || v > max)
		usage_error("argument \"%s\" is wrong: %s must be %lu..%lu", s,
			    what, min, max);
	return v;
}

static void parse_dst(const char *addr, const char *port, struct opts *o)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)&o->dst;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&o->dst;
	uint16_t p = (uint16_t)num(port, "PORT", 1, 65535);

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
		usage_error("argument \"%s\" is wrong: not an IPv4 or IPv6 address",
			    addr);
	}
}

static void parse_opts(int argc, char **argv, struct opts *o)
{
	int c;

	*o = (struct opts){ .timeout_ms = 1000 };
	while ((c = getopt(argc, argv, "P:c:t:h")) != -1) {
		switch (c) {
		case 'P': o->sport = (unsigned short)num(optarg, "SPORT", 1, 65535); break;
		case 'c': o->count = num(optarg, "COUNT", 1, 10000); break;
		case 't': o->timeout_ms = num(optarg, "TIMEOUT_MS", 1, 60000); break;
		case 'h': usage(stdout); exit(EXIT_OK);
		default: usage(stderr); exit(EXIT_USAGE);
		}
	}
	if (!o->sport || !o->count)
		usage_error("-P SPORT and -c COUNT are required");
	if (o->sport + o->count - 1 > 65535)
		usage_error("SPORT + COUNT runs past port 65535");
	if (optind + 2 != argc)
		usage_error("expected ADDR PORT");
	parse_dst(argv[optind], argv[optind + 1], o);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	int64_t left;
	int r;

	do {
		left = deadline - now_ms();
		r = poll(&p, 1, left < 0 ? 0 : (int)left);
	} while (r < 0 && errno == EINTR);
	return r > 0 ? 0 : -1;
}

/* A non-blocking TCP socket bound to the source port, connect() started. */
static int open_flow(const struct opts *o, unsigned short sport)
{
	struct sockaddr_storage src;
	struct linger lg = { 1, 0 };
	int on = 1, fd;

	memset(&src, 0, sizeof(src));
	src.ss_family = o->dst.ss_family;
	if (src.ss_family == AF_INET)
		((struct sockaddr_in *)&src)->sin_port = htons(sport);
	else
		((struct sockaddr_in6 *)&src)->sin6_port = htons(sport);
	fd = socket(src.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	if (bind(fd, (struct sockaddr *)&src, o->dlen) < 0 ||
	    (connect(fd, (const struct sockaddr *)&o->dst, o->dlen) < 0 &&
	     errno != EINPROGRESS)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Send "hello\n" and read the answer line into name. */
static int ask(int fd, const struct opts *o, char *name)
{
	int64_t deadline = now_ms() + (int64_t)o->timeout_ms;
	socklen_t len = sizeof(int);
	size_t got = 0;
	int err = 0;
	ssize_t n;

	if (wait_fd(fd, POLLOUT, deadline) < 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err ||
	    send(fd, "hello\n", 6, MSG_NOSIGNAL) != 6)
		return -1;
	while (got < NAME_LEN - 1 && wait_fd(fd, POLLIN, deadline) == 0) {
		n = recv(fd, name + got, NAME_LEN - 1 - got, 0);
		if (n <= 0)
			return -1;
		got += (size_t)n;
		name[got] = '\0';
		if (strchr(name, '\n')) {
			*strchr(name, '\n') = '\0';
			return 0;
		}
	}
	return -1;
}

int main(int argc, char **argv)
{
	char name[NAME_LEN];
	unsigned long i, failed = 0;
	struct opts o;
	int fd;

	parse_opts(argc, argv, &o);
	for (i = 0; i < o.count; i++) {
		unsigned short sport = (unsigned short)(o.sport + i);

		fd = open_flow(&o, sport);
		if (fd < 0 || ask(fd, &o, name) < 0) {
			strcpy(name, "-");
			failed++;
		}
		if (fd >= 0)
			close(fd);
		printf("%u %s\n", sport, name);
	}
	return failed ? EXIT_FAIL : EXIT_OK;
}
