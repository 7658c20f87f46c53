/* SPDX-License-Identifier: GPL-2.0-or-later */
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
#include <getopt.h>
#include <unistd.h>

#define PROG		"nfqlb-flows"
#include "test/tools/tools.h"

#define NAME_LEN	64

struct opts {
	unsigned long count, timeout_ms;
	unsigned short sport;
	struct sockaddr_storage dst;
	socklen_t dlen;
};

static void usage(FILE *f)
{
	fprintf(f, "usage: " PROG " -P SPORT -c COUNT [-t TIMEOUT_MS] ADDR PORT\n"
		"  -P SPORT       source port of the first flow\n"
		"  -c COUNT       flows, from ports SPORT..SPORT+COUNT-1\n"
		"  -t TIMEOUT_MS  bound on every wait (default 1000)\n"
		"Prints \"SPORT NAME\" per flow, NAME \"-\" when it failed.\n"
		"Exit 0 all answered, 1 some failed, 2 usage.\n");
}

static void parse_opts(int argc, char **argv, struct opts *o)
{
	int c;

	*o = (struct opts){ .timeout_ms = 1000 };
	while ((c = getopt(argc, argv, "P:c:t:h")) != -1) {
		switch (c) {
		case 'P': o->sport = (unsigned short)parse_num(optarg, "SPORT", 1,
								65535); break;
		case 'c': o->count = parse_num(optarg, "COUNT", 1, 10000); break;
		case 't': o->timeout_ms = parse_num(optarg, "TIMEOUT_MS", 1,
						     60000); break;
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
	parse_dst(argv[optind], argv[optind + 1], &o->dst, &o->dlen);
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
	size_t got = 0;
	ssize_t n;

	if (wait_fd(fd, POLLOUT, deadline) < 0 || connect_result(fd) < 0 ||
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
