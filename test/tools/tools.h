/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tools.h: what the test tools share.  Each tool is built from its one .c
 * file, so everything here is static inline.  Define PROG (the tool's name,
 * a string literal) before including: every message starts with it.
 *
 * The tools print their errors as "PROG: <what>" and exit with the codes
 * below: 0 ok, 1 failure, 2 usage.
 */
#ifndef NFQLB_TOOLS_H
#define NFQLB_TOOLS_H

#ifndef PROG
#error "define PROG before including tools.h"
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

/*
 * usage_error() - print "PROG: <fmt, ...> (try -h)" on stderr and exit
 * with EXIT_USAGE.
 */
static inline void __attribute__((noreturn, format(printf, 1, 2)))
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

/*
 * die() - print "PROG: <fmt, ...>: <strerror(errno)>" on stderr and exit
 * with EXIT_FAIL.  errno is the one at the call.
 */
static inline void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list ap;
	int e = errno;

	fprintf(stderr, PROG ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s\n", strerror(e));
	exit(EXIT_FAIL);
}

/*
 * parse_ulong() - read s as a whole decimal number in min..max.
 * Returns 0 with the number in *v, or -1 when s is empty, signed, has
 * anything after the digits, overflows or is out of range (*v untouched).
 */
static inline int parse_ulong(const char *s, unsigned long min,
			      unsigned long max, unsigned long *v)
{
	unsigned long n;
	char *end;

	errno = 0;
	n = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || n < min || n > max)
		return -1;
	*v = n;
	return 0;
}

/*
 * parse_num() - the option argument s as a number in min..max; anything
 * else is a usage error naming what the argument is ("PORT", "COUNT", ...).
 */
static inline unsigned long parse_num(const char *s, const char *what,
				      unsigned long min, unsigned long max)
{
	unsigned long v;

	if (parse_ulong(s, min, max, &v) < 0)
		usage_error("argument \"%s\" is wrong: %s must be %lu..%lu",
			    s, what, min, max);
	return v;
}

/*
 * parse_dst() - the address of ADDR PORT arguments, IPv4 or IPv6, into *ss
 * (zeroed first) and its length into *len.  A bad address or port is a
 * usage error.
 */
static inline void parse_dst(const char *addr, const char *port,
			     struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	uint16_t p = (uint16_t)parse_num(port, "PORT", 1, 65535);

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(p);
		*len = sizeof(*s4);
	} else if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(p);
		*len = sizeof(*s6);
	} else {
		usage_error("argument \"%s\" is wrong: not an IPv4 or IPv6 "
			    "address", addr);
	}
}

/* parse_mac() - "aa:bb:cc:dd:ee:ff" into mac[6]; anything else is a usage error. */
static inline void parse_mac(const char *s, uint8_t *mac)
{
	unsigned int b[6], i;
	char end;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
		   &end) != 6)
		usage_error("argument \"%s\" is wrong: want a MAC address", s);
	for (i = 0; i < 6; i++) {
		if (b[i] > 255)
			usage_error("argument \"%s\" is wrong: want a MAC address", s);
		mac[i] = (uint8_t)b[i];
	}
}

/* sockaddr_port() - the port of an IPv4 or IPv6 address, host order. */
static inline uint16_t sockaddr_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
}

/* now_ms() - CLOCK_MONOTONIC in milliseconds. */
static inline int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ms_left() - milliseconds from now until deadline (now_ms() time), >= 0. */
static inline int ms_left(int64_t deadline)
{
	int64_t left = deadline - now_ms();

	return left < 0 ? 0 : (int)left;
}

/*
 * wait_fd() - wait until fd has one of events (POLLIN, POLLOUT) or the
 * deadline (now_ms() time) passes; EINTR restarts the wait.
 * Returns 0 when fd is ready, -1 with errno ETIMEDOUT on the deadline or
 * poll()'s errno.
 */
static inline int wait_fd(int fd, short events, int64_t deadline)
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
 * connect_result() - how the non-blocking connect() on fd ended, once fd
 * is writable.  Returns 0 when it connected, -1 with errno the reason
 * (ECONNREFUSED, ETIMEDOUT, ...) when it failed.
 */
static inline int connect_result(int fd)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		return -1;
	errno = err;
	return err ? -1 : 0;
}

#endif
