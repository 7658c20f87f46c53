/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * nfqlb-echo: a TCP and UDP server for the function tests.  It answers every
 * chunk read on a TCP connection, and every UDP datagram, with "NAME\n", so a
 * client learns which target the load balancer picked.
 *
 * One thread and one epoll set serve any number of connections.  SIGTERM and
 * SIGINT arrive through a signalfd in the same set, so shutdown is clean.
 *
 * -a may be given several times, for instance a DSR target's IPv4 and IPv6
 * VIPs held on lo: bound to the VIP, UDP answers leave with the VIP as their
 * source, as the client's connected socket requires.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* accept4, signalfd */
#endif
#include <getopt.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#define PROG		"nfqlb-echo"
#include "test/tools/tools.h"

#define NAME_MAX_LEN	63
#define OUT_MAX		4096	/* a connection owing more than this is closed */
#define MAX_ADDRS	8

enum family { FAM_BOTH, FAM_4, FAM_6 };

struct opts {
	enum family fam;
	unsigned short port;
	const char *name;
	const char *addrs[MAX_ADDRS];
	int naddrs;
};

enum kind { K_SIGNAL, K_LISTEN, K_UDP, K_CONN };

/* Every epoll entry points to one of these. */
struct ent {
	struct ent *prev, *next;	/* every entry, so that exit frees them all */
	enum kind kind;
	int fd;
	size_t outlen;		/* K_CONN: bytes waiting in out[] */
	char out[];
};

static struct ent *ents;
static const char *reply;
static size_t reply_len;
static unsigned long nconns;

static void usage(FILE *f)
{
	fprintf(f, "usage: " PROG " [-4|-6] -p PORT -n NAME [-a ADDR]...\n"
		"  -4       IPv4 only\n"
		"  -6       IPv6 only (default: both, one dual-stack socket)\n"
		"  -p PORT  TCP and UDP port to serve\n"
		"  -n NAME  the name sent back, one line per read or datagram\n"
		"  -a ADDR  bind to ADDR instead of the wildcard address; up to %d "
		"times\n", MAX_ADDRS);
}

static void parse_name(const char *s)
{
	static char buf[NAME_MAX_LEN + 2];
	size_t n = strlen(s);

	if (n == 0 || n > NAME_MAX_LEN || strpbrk(s, " \t\r\n"))
		usage_error("argument \"%s\" is wrong: NAME must be 1..%d "
			    "characters without blanks", s, NAME_MAX_LEN);
	snprintf(buf, sizeof(buf), "%s\n", s);
	reply = buf;
	reply_len = n + 1;
}

static void parse_opts(int argc, char **argv, struct opts *o)
{
	int c;

	memset(o, 0, sizeof(*o));
	while ((c = getopt(argc, argv, "46p:n:a:h")) != -1) {
		switch (c) {
		case '4': o->fam = FAM_4; break;
		case '6': o->fam = FAM_6; break;
		case 'p': o->port = (unsigned short)parse_num(optarg, "PORT", 1,
								65535); break;
		case 'n': o->name = optarg; break;
		case 'a':
			if (o->naddrs == MAX_ADDRS)
				usage_error("more than %d -a ADDR", MAX_ADDRS);
			o->addrs[o->naddrs++] = optarg;
			break;
		case 'h': usage(stdout); exit(EXIT_OK);
		default: usage(stderr); exit(EXIT_USAGE);
		}
	}
	if (optind < argc)
		usage_error("unexpected argument \"%s\"", argv[optind]);
	if (!o->port)
		usage_error("missing -p PORT");
	if (!o->name)
		usage_error("missing -n NAME");
	parse_name(o->name);
}

static struct ent *ent_new(enum kind kind, int fd, size_t extra)
{
	struct ent *e = calloc(1, sizeof(*e) + extra);

	if (!e)
		return NULL;
	e->kind = kind;
	e->fd = fd;
	e->next = ents;
	if (ents)
		ents->prev = e;
	ents = e;
	return e;
}

/* Close an entry's socket (which also takes it out of the epoll set). */
static void ent_free(struct ent *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		ents = e->next;
	if (e->next)
		e->next->prev = e->prev;
	if (e->fd >= 0)
		close(e->fd);
	free(e);
}

static int ep_add(int ep, struct ent *e, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = e };

	return epoll_ctl(ep, EPOLL_CTL_ADD, e->fd, &ev);
}

static void ep_watch(int ep, enum kind kind, int fd)
{
	struct ent *e = ent_new(kind, fd, 0);

	if (!e || ep_add(ep, e, EPOLLIN) < 0)
		die("epoll_ctl");
}

/*
 * Fill *ss for the requested family: an explicit address decides the family
 * itself; without one, "both" is a v6 wildcard socket that also takes v4.
 */
static int make_addr(const struct opts *o, const char *addr,
		     struct sockaddr_storage *ss, socklen_t *len, int *v6only)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	*v6only = o->fam == FAM_6;
	if (o->fam == FAM_4 || (addr && o->fam != FAM_6 &&
				inet_pton(AF_INET, addr, &s4->sin_addr) == 1)) {
		if (addr && inet_pton(AF_INET, addr, &s4->sin_addr) != 1)
			usage_error("argument \"%s\" is wrong: not an IPv4 "
				    "address", addr);
		s4->sin_family = AF_INET;
		s4->sin_port = htons(o->port);
		*len = sizeof(*s4);
		return AF_INET;
	}
	if (addr && inet_pton(AF_INET6, addr, &s6->sin6_addr) != 1)
		usage_error("argument \"%s\" is wrong: not an IP%s address",
			    addr, o->fam == FAM_6 ? "v6" : "");
	s6->sin6_family = AF_INET6;
	s6->sin6_port = htons(o->port);
	*len = sizeof(*s6);
	return AF_INET6;
}

static int open_sock(const struct opts *o, const char *addr, int type)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int v6only, on = 1;
	int af = make_addr(o, addr, &ss, &len, &v6only);
	int fd = socket(af, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		die("socket");
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0)
		die("setsockopt SO_REUSEADDR");
	if (af == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only)) < 0)
		die("setsockopt IPV6_V6ONLY");
	if (bind(fd, (struct sockaddr *)&ss, len) < 0)
		die("bind %s port %u/%s", addr ? addr : "*", o->port,
		    type == SOCK_STREAM ? "tcp" : "udp");
	if (type == SOCK_STREAM && listen(fd, 1024) < 0)
		die("listen");
	return fd;
}

static int open_signalfd(void)
{
	sigset_t set;
	int fd;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		die("sigprocmask");
	fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		die("signalfd");
	signal(SIGPIPE, SIG_IGN);
	return fd;
}

static void conn_close(struct ent *c)
{
	ent_free(c);
	nconns--;
}

/* Send what is owed; watch for EPOLLOUT only while something is left. */
static int conn_flush(int ep, struct ent *c)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
	ssize_t n;

	while (c->outlen) {
		n = send(c->fd, c->out, c->outlen, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
		if (n < 0)
			break;
		memmove(c->out, c->out + n, c->outlen - (size_t)n);
		c->outlen -= (size_t)n;
	}
	if (c->outlen)
		ev.events |= EPOLLOUT;
	return epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* One reply per successful read, whatever the chunk holds. */
static void conn_event(int ep, struct ent *c, uint32_t events)
{
	char buf[4096];
	ssize_t n;
	int reads = 0;

	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		/* Bounded, so one busy client cannot starve the others. */
		while (reads++ < 16) {
			n = recv(c->fd, buf, sizeof(buf), 0);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				break;
			if (n <= 0 || c->outlen + reply_len > OUT_MAX) {
				conn_close(c);
				return;
			}
			memcpy(c->out + c->outlen, reply, reply_len);
			c->outlen += reply_len;
		}
	}
	if (conn_flush(ep, c) < 0)
		conn_close(c);
}

static void accept_all(int ep, int lfd)
{
	struct ent *c;
	int fd, i;

	for (i = 0; i < 64; i++) {
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR && errno != ECONNABORTED)
				fprintf(stderr, PROG ": accept: %s\n",
					strerror(errno));
			return;
		}
		c = ent_new(K_CONN, fd, OUT_MAX);
		if (!c || ep_add(ep, c, EPOLLIN) < 0) {
			fprintf(stderr, PROG ": cannot track a connection: %s\n",
				strerror(errno));
			if (c)
				ent_free(c);
			else
				close(fd);
			continue;
		}
		nconns++;
	}
}

static void udp_event(int fd)
{
	struct sockaddr_storage peer;
	socklen_t plen;
	char buf[2048];
	int i;

	for (i = 0; i < 64; i++) {
		plen = sizeof(peer);
		if (recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&peer,
			     &plen) < 0)
			return;
		/* A full socket buffer just loses the answer, as UDP may. */
		(void)sendto(fd, reply, reply_len, MSG_DONTWAIT,
			     (struct sockaddr *)&peer, plen);
	}
}

static void open_all(int ep, const struct opts *o)
{
	int i;

	ep_watch(ep, K_SIGNAL, open_signalfd());
	if (!o->naddrs) {
		ep_watch(ep, K_LISTEN, open_sock(o, NULL, SOCK_STREAM));
		ep_watch(ep, K_UDP, open_sock(o, NULL, SOCK_DGRAM));
	}
	for (i = 0; i < o->naddrs; i++) {
		ep_watch(ep, K_LISTEN, open_sock(o, o->addrs[i], SOCK_STREAM));
		ep_watch(ep, K_UDP, open_sock(o, o->addrs[i], SOCK_DGRAM));
	}
}

static int serve(int ep)
{
	struct epoll_event evs[64];
	struct ent *e;
	int n, i;

	for (;;) {
		n = epoll_wait(ep, evs, 64, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("epoll_wait");
		for (i = 0; i < n; i++) {
			e = evs[i].data.ptr;
			switch (e->kind) {
			case K_SIGNAL: return EXIT_OK;
			case K_LISTEN: accept_all(ep, e->fd); break;
			case K_UDP: udp_event(e->fd); break;
			case K_CONN: conn_event(ep, e, evs[i].events); break;
			}
		}
	}
}

int main(int argc, char **argv)
{
	struct opts o;
	int ep, rc;

	parse_opts(argc, argv, &o);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		die("epoll_create1");
	open_all(ep, &o);
	rc = serve(ep);
	while (ents)
		ent_free(ents);
	close(ep);
	return rc;
}
