/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * nfqlb-conn: a client for the tests and the lab.  It talks to nfqlb-echo
 * through the load balancer and records which target answered.
 *
 * Default mode: COUNT short exchanges one after another, each from a new
 * socket (so a new source port): connect, send "hello\n", read the name line,
 * close.
 *
 * Long-lived mode (-k SECONDS): COUNT connections, opened at RATE per second
 * (-r; default all at once), each sending "hello\n" every INTERVAL ms (-i)
 * and waiting for the answer.  A connection that fails (reset, end of file,
 * timeout, ...) is closed and stays closed; one answered by another target
 * than its first is "moved".  -o writes every event as a CSV timeline,
 * -s the number of live connections per target every 100 ms.  SIGUSR1 writes
 * a "mark" event (the lab sends it when it changes the table); SIGTERM and
 * SIGINT end the run early, with the summary; with -F, only after one more
 * exchange on every live connection (a test ends a run early once it has
 * seen what it needed, and each connection still proves it works).
 *
 * -P PORTS gives each exchange (with -k, each connection) its own source
 * port, from a list, and prints which target answered each: with ports
 * whose targets the reference model predicts, a test checks every flow
 * against the prediction instead of hoping random ports spread.
 *
 * Every wait is bounded by the timeout, and the whole run by COUNT and time.
 */
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <unistd.h>

#define PROG		"nfqlb-conn"
#include "test/tools/tools.h"

#define NAME_LEN	64
#define MAX_NAMES	64	/* distinct targets tracked in -s samples */
#define SAMPLE_MS	100	/* -s: one row this often */
#define MAX_REPORTS	3	/* troubles told on stderr before going quiet */

struct opts {
	unsigned long count;
	bool udp;
	bool final;			/* -F: one more exchange on SIGTERM */
	unsigned long timeout_ms;
	unsigned long rate;		/* per second, 0 = no limit */
	unsigned long keep_s;		/* 0 = sequential mode */
	unsigned long interval_ms;	/* -k: one message per connection */
	const char *csv;		/* -k: the event timeline */
	const char *samples;		/* -k: live connections per target */
	struct sockaddr_storage dst;
	socklen_t dlen;
	struct sockaddr_storage src;	/* -b: bind to this source address */
	socklen_t slen;			/* 0 without -b */
	uint16_t *sports;		/* -P: exchange i from port sports[i] */
	size_t nsports;
};

struct name_count {
	char name[NAME_LEN];
	unsigned long count;		/* connections (exchanges) it served first */
};

struct tally {
	struct name_count *v;
	size_t n, cap;
	unsigned long failed, moved, opened;
	unsigned reports;
	int *first;		/* -P: the first answer of each exchange, -1 none */
};

static void usage(FILE *f)
{
	fprintf(f, "usage: " PROG " -c COUNT [-u] [-t TIMEOUT_MS] [-r RATE] [-b SRC] "
		"[-P PORTS] ADDR PORT\n"
		"       " PROG " -c COUNT -k SECONDS [-u] [-t TIMEOUT_MS] [-r RATE]"
		" [-i MS]\n"
		"                  [-o CSV] [-s CSV] [-b SRC] [-P PORTS] [-F] ADDR PORT\n"
		"  -c COUNT       exchanges (or, with -k, connections); with -P,"
		" default\n"
		"                 the number of PORTS\n"
		"  -u             UDP instead of TCP\n"
		"  -b SRC         from this source address\n"
		"  -P PORTS       exchange (connection) i from the i-th source port"
		" of PORTS,\n"
		"                 a comma-separated list of ports and ranges"
		" (20000-20009);\n"
		"                 prints \"port P NAME\" for each (NAME - when"
		" unanswered)\n"
		"  -t TIMEOUT_MS  bound on every wait (default 1000)\n"
		"  -r RATE        at most RATE exchanges (with -k: new connections)"
		" per second\n"
		"  -k SECONDS     long-lived connections for SECONDS in all\n"
		"  -i MS          -k: one message per connection every MS "
		"(default 100)\n"
		"  -o CSV         -k: events as time,conn,port,target,event\n"
		"  -s CSV         -k: live connections per target every 100 ms\n"
		"  -F             -k: on SIGTERM or SIGINT, one more exchange on each"
		" live\n"
		"                 connection (a failure counts), then the summary\n"
		"Prints \"NAME COUNT\" per answering target (with -k: per first "
		"target),\n\"failed N\" when any failed, and with -k \"moved N\","
		" \"opened N\" and the\nfailures by kind.  Exit 0 all good, 1 some"
		" failed or moved, 2 usage.\n");
}

static void check_keep_opts(const struct opts *o)
{
	if (!o->keep_s) {
		if (o->csv || o->samples || o->interval_ms || o->final)
			usage_error("-i, -o, -s and -F go only with -k");
		return;
	}
	if (o->count > 10000)
		usage_error("argument \"%lu\" is wrong: COUNT with -k must be "
			    "1..10000", o->count);
	/* All connections must be opened well inside the run. */
	if (o->rate && (o->count - 1) * 1000 / o->rate >= o->keep_s * 1000)
		usage_error("-c %lu at -r %lu takes longer than -k %lu",
			    o->count, o->rate, o->keep_s);
}

/* The number of ports in -P's list, or 0 when it is not a valid list. */
static size_t count_ports(const char *list, uint16_t *out)
{
	unsigned long a, b;
	size_t n = 0;
	char *end;

	for (;;) {
		errno = 0;
		a = strtoul(list, &end, 10);
		b = a;
		if (end != list && *end == '-')
			b = strtoul(end + 1, &end, 10);
		if (errno || end == list || !a || a > b || b > 65535)
			return 0;
		for (; a <= b; a++, n++)
			if (out)
				out[n] = (uint16_t)a;
		if (!*end)
			return n;
		if (*end != ',')
			return 0;
		list = end + 1;
	}
}

/* -P PORTS: the source port of each exchange. */
static void parse_ports(const char *list, struct opts *o)
{
	o->nsports = count_ports(list, NULL);
	if (!o->nsports || o->nsports > 1000000)
		usage_error("argument \"%s\" is wrong: PORTS is a list like "
			    "20000,20005-20009", list);
	o->sports = calloc(o->nsports, sizeof(*o->sports));
	if (!o->sports)
		die("-P");
	count_ports(list, o->sports);
}

/* -b ADDR: the source address, any port. */
static void parse_src(const char *addr, struct opts *o)
{
	parse_dst(addr, "1", &o->src, &o->slen);
	if (o->src.ss_family == AF_INET)
		((struct sockaddr_in *)&o->src)->sin_port = 0;
	else
		((struct sockaddr_in6 *)&o->src)->sin6_port = 0;
}

static void parse_opts(int argc, char **argv, struct opts *o)
{
	int c;

	memset(o, 0, sizeof(*o));
	o->timeout_ms = 1000;
	while ((c = getopt(argc, argv, "c:ut:r:k:i:o:s:b:P:Fh")) != -1) {
		switch (c) {
		case 'c': o->count = parse_num(optarg, "COUNT", 1, 1000000); break;
		case 'u': o->udp = true; break;
		case 't': o->timeout_ms = parse_num(optarg, "TIMEOUT_MS", 1,
						     600000); break;
		case 'r': o->rate = parse_num(optarg, "RATE", 1, 1000000); break;
		case 'k': o->keep_s = parse_num(optarg, "SECONDS", 1, 3600); break;
		case 'i': o->interval_ms = parse_num(optarg, "MS", 1, 60000); break;
		case 'o': o->csv = optarg; break;
		case 's': o->samples = optarg; break;
		case 'b': parse_src(optarg, o); break;
		case 'P': parse_ports(optarg, o); break;
		case 'F': o->final = true; break;
		case 'h': usage(stdout); exit(EXIT_OK);
		default: usage(stderr); exit(EXIT_USAGE);
		}
	}
	if (!o->count)
		o->count = o->nsports;
	if (!o->count)
		usage_error("missing -c COUNT");
	if (o->nsports && o->count > o->nsports)
		usage_error("-c %lu but -P names %zu ports", o->count, o->nsports);
	if (argc - optind != 2)
		usage_error("expected ADDR PORT");
	check_keep_opts(o);
	if (!o->interval_ms)
		o->interval_ms = 100;
	parse_dst(argv[optind], argv[optind + 1], &o->dst, &o->dlen);
	if (o->slen && o->src.ss_family != o->dst.ss_family)
		usage_error("-b and ADDR are not of one family");
	if (o->nsports && !o->slen) {
		/* The wildcard address of ADDR's family, the port set later. */
		o->src.ss_family = o->dst.ss_family;
		o->slen = o->dlen;
	}
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

/* The index of NAME in the tally, added with a count of 0; -1 on ENOMEM. */
static int tally_find(struct tally *t, const char *name)
{
	struct name_count *nv;
	size_t i;

	for (i = 0; i < t->n; i++)
		if (strcmp(t->v[i].name, name) == 0)
			return (int)i;
	if (t->n == t->cap) {
		nv = realloc(t->v, (t->cap ? t->cap * 2 : 8) * sizeof(*nv));
		if (!nv)
			return -1;
		t->v = nv;
		t->cap = t->cap ? t->cap * 2 : 8;
	}
	snprintf(t->v[t->n].name, NAME_LEN, "%s", name);
	t->v[t->n].count = 0;
	return (int)t->n++;
}

static int tally_add(struct tally *t, const char *name)
{
	int i = tally_find(t, name);

	if (i >= 0)
		t->v[i].count++;
	return i;
}

/* Names in natural order, so t2 comes before t10. */
static int cmp_name(const void *a, const void *b)
{
	return strverscmp(((const struct name_count *)a)->name,
			  ((const struct name_count *)b)->name);
}

static void tally_print(struct tally *t)
{
	size_t i;

	if (t->n)	/* qsort() wants a valid array even for 0 elements */
		qsort(t->v, t->n, sizeof(*t->v), cmp_name);
	for (i = 0; i < t->n; i++)
		printf("%s %lu\n", t->v[i].name, t->v[i].count);
	if (t->failed)
		printf("failed %lu\n", t->failed);
	fflush(stdout);
}

/*
 * -P: "port P NAME" for each exchange, in order.  Call before
 * tally_print(), which sorts the names the indices point to.
 */
static void ports_print(const struct opts *o, const struct tally *t)
{
	unsigned long i;
	int f;

	for (i = 0; t->first && i < o->count; i++) {
		f = t->first[i];
		printf("port %u %s\n", o->sports[i], f >= 0 ? t->v[f].name : "-");
	}
}

/*
 * Bind fd for exchange i: to -b's address, and with -P to the i-th port
 * (SO_REUSEADDR: an earlier use of the port may linger in TIME_WAIT).
 */
static int bind_src(int fd, const struct opts *o, unsigned long i)
{
	struct sockaddr_storage src = o->src;
	int on = 1;

	if (!o->slen)
		return 0;
	if (o->nsports) {
		if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0)
			return -1;
		if (src.ss_family == AF_INET)
			((struct sockaddr_in *)&src)->sin_port = htons(o->sports[i]);
		else
			((struct sockaddr_in6 *)&src)->sin6_port = htons(o->sports[i]);
	}
	return bind(fd, (const struct sockaddr *)&src, o->slen);
}

/* A non-blocking socket for exchange i with its connect() started. */
static int start_connect(const struct opts *o, unsigned long i)
{
	int type = o->udp ? SOCK_DGRAM : SOCK_STREAM;
	int fd = socket(o->dst.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (bind_src(fd, o, i) < 0 ||
	    (connect(fd, (const struct sockaddr *)&o->dst, o->dlen) < 0 &&
	     errno != EINPROGRESS)) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Take what the socket holds into buf.  Returns 1 once a whole line is in
 * (the newline replaced by NUL), 0 when more is needed, -1 on error or EOF
 * (errno 0 for EOF).
 */
static int read_line(int fd, bool udp, char *buf, size_t *blen)
{
	char *nl;
	ssize_t n;

	n = recv(fd, buf + *blen, NAME_LEN - 1 - *blen, 0);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return 0;
	if (n == 0)
		errno = 0;
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

/* Short exchange i; the answering name lands in name. */
static int exchange(const struct opts *o, unsigned long i, char *name,
		    const char **step)
{
	int64_t deadline = now_ms() + (int64_t)o->timeout_ms;
	size_t blen = 0;
	int fd, r = -1, e;

	*step = "connect";
	fd = start_connect(o, i);
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
	e = errno ? errno : ECONNRESET;	/* EOF reads as a reset here */
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
	int idx;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	t0_us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
	for (i = 0; i < o->count; i++) {
		if (o->rate)
			sleep_until_us(t0_us + (int64_t)(i * 1000000 / o->rate));
		idx = exchange(o, i, name, &step) == 0 ? tally_add(t, name) : -1;
		if (t->first)
			t->first[i] = idx;
		if (idx >= 0)
			continue;
		t->failed++;
		report(t, "exchange %lu: %s: %s", i + 1, step, strerror(errno));
	}
}

/* ---------------------------------------------------------------- -k mode */

/* K_DONE: -F, the connection answered its last exchange. */
enum kstate { K_IDLE, K_CONNECTING, K_WAITING, K_READY, K_DONE, K_DEAD };

/* How a long-lived connection ended, by errno. */
enum fail_kind { F_RESET, F_EOF, F_TIMEOUT, F_REFUSED, F_UNREACH, F_ERROR,
		 F_MAX };

static const char *const fail_names[F_MAX] = {
	"reset", "eof", "timeout", "refused", "unreachable", "error",
};

struct kconn {
	int fd;
	enum kstate st;
	int target;		/* tally index of the last answer, -1 before */
	unsigned port;		/* local port */
	int64_t sent;		/* when the last message went out */
	int64_t due;		/* deadline (connecting, waiting) or next send */
	unsigned finals;	/* -F: answers still owed before K_DONE */
	char buf[NAME_LEN];
	size_t blen;
};

/* -s: live connections per target, one row per SAMPLE_MS. */
struct samples {
	int64_t *t;
	uint16_t *live;		/* n rows of MAX_NAMES */
	size_t n, cap;
	int64_t next;
};

struct run {
	const struct opts *o;
	struct tally *t;
	struct kconn *k;
	struct pollfd *p;
	size_t *pk;		/* the connection behind each pollfd */
	int64_t t0, end;
	size_t opened;		/* connections started so far */
	bool finishing;		/* -F: the last exchanges are under way */
	size_t pending;		/* -F: connections that owe an answer */
	unsigned long fails[F_MAX];
	unsigned marks;		/* SIGUSR1s written to the timeline */
	FILE *csv;
	struct samples s;
};

static volatile sig_atomic_t got_usr1, got_stop;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		got_usr1++;
	else
		got_stop = 1;
}

static void catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;	/* no SA_RESTART: poll() must wake */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
}

static void log_event(struct run *r, size_t i, const char *event)
{
	const struct kconn *k = i ? &r->k[i - 1] : NULL;
	int64_t ms = now_ms() - r->t0;

	if (!r->csv)
		return;
	fprintf(r->csv, "%lld.%03lld,%zu,", (long long)(ms / 1000),
		(long long)(ms % 1000), i);
	if (k && k->port)
		fprintf(r->csv, "%u", k->port);
	fprintf(r->csv, ",%s,%s\n",
		k && k->target >= 0 ? r->t->v[k->target].name : "", event);
}

static enum fail_kind fail_kind(int err)
{
	switch (err) {
	case 0: return F_EOF;
	case ECONNRESET: case EPIPE: return F_RESET;
	case ETIMEDOUT: return F_TIMEOUT;
	case ECONNREFUSED: return F_REFUSED;
	case EHOSTUNREACH: case ENETUNREACH: return F_UNREACH;
	default: return F_ERROR;
	}
}

/* Connection i (0-based) failed with err (0 for end of file). */
static void k_fail(struct run *r, size_t i, int err)
{
	struct kconn *k = &r->k[i];
	enum fail_kind f = fail_kind(err);

	report(r->t, "connection %zu: %s%s%s", i + 1, fail_names[f],
	       f == F_ERROR ? ": " : "", f == F_ERROR ? strerror(err) : "");
	log_event(r, i + 1, fail_names[f]);
	if (k->fd >= 0)
		close(k->fd);
	k->fd = -1;
	k->st = K_DEAD;
	r->fails[f]++;
	r->t->failed++;
	if (k->finals) {
		k->finals = 0;
		r->pending--;
	}
}

static unsigned local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return 0;
	return sockaddr_port(&ss);
}

static void k_send(struct run *r, size_t i, int64_t now)
{
	struct kconn *k = &r->k[i];

	if (send(k->fd, hello, sizeof(hello) - 1, MSG_NOSIGNAL) !=
	    sizeof(hello) - 1) {
		k_fail(r, i, errno);
		return;
	}
	k->blen = 0;
	k->sent = now;
	k->due = now + (int64_t)r->o->timeout_ms;
	k->st = K_WAITING;
}

static void k_open(struct run *r, size_t i, int64_t now)
{
	struct kconn *k = &r->k[i];

	k->fd = start_connect(r->o, i);
	if (k->fd < 0) {
		k_fail(r, i, errno);
		return;
	}
	k->port = local_port(k->fd);
	if (r->o->udp) {
		k_send(r, i, now);
		return;
	}
	k->st = K_CONNECTING;
	k->due = now + (int64_t)r->o->timeout_ms;
}

/* An answer is in k->buf: the first names the target, a later other moves. */
static void k_answer(struct run *r, size_t i, int64_t now)
{
	struct kconn *k = &r->k[i];
	int64_t next = k->sent + (int64_t)r->o->interval_ms;
	int idx;

	if (k->target < 0) {
		idx = tally_add(r->t, k->buf);
		if (idx < 0) {
			k_fail(r, i, ENOMEM);
			return;
		}
		k->target = idx;
		if (r->t->first)
			r->t->first[i] = idx;
		r->t->opened++;
		log_event(r, i + 1, "open");
	} else if (strcmp(r->t->v[k->target].name, k->buf) != 0) {
		report(r->t, "connection %zu moved from %s to %s", i + 1,
		       r->t->v[k->target].name, k->buf);
		idx = tally_find(r->t, k->buf);
		if (idx >= 0)
			k->target = idx;
		r->t->moved++;
		log_event(r, i + 1, "moved");
	}
	k->st = K_READY;
	k->due = next > now ? next : now;
	if (k->finals && --k->finals == 0) {
		k->st = K_DONE;
		k->due = INT64_MAX;
		r->pending--;
	} else if (k->finals) {
		k->due = now;	/* the last exchange: at once */
	}
}

/* Between messages a readable socket means the peer closed or reset it. */
static void k_idle_readable(struct run *r, size_t i)
{
	char buf[256];
	ssize_t n = recv(r->k[i].fd, buf, sizeof(buf), MSG_DONTWAIT);

	if (n == 0)
		k_fail(r, i, 0);
	else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
		 errno != EINTR)
		k_fail(r, i, errno);
}

static void k_event(struct run *r, size_t i, short revents, int64_t now)
{
	struct kconn *k = &r->k[i];
	int res;

	switch (k->st) {
	case K_CONNECTING:
		if (connect_result(k->fd) < 0)
			k_fail(r, i, errno);
		else
			k_send(r, i, now);
		break;
	case K_WAITING:
		res = read_line(k->fd, r->o->udp, k->buf, &k->blen);
		if (res < 0)
			k_fail(r, i, errno);
		else if (res == 1)
			k_answer(r, i, now);
		break;
	case K_READY:
		if (revents & (POLLIN | POLLHUP | POLLERR))
			k_idle_readable(r, i);
		break;
	default:
		break;
	}
}

/* Deadlines that passed and messages that are due. */
static void k_timers(struct run *r, int64_t now)
{
	size_t i;

	for (i = 0; i < r->opened; i++) {
		if (r->k[i].due > now)
			continue;
		switch (r->k[i].st) {
		case K_CONNECTING:
		case K_WAITING:
			k_fail(r, i, ETIMEDOUT);
			break;
		case K_READY:
			k_send(r, i, now);
			break;
		default:
			break;
		}
	}
}

static int64_t open_time(const struct run *r, size_t i)
{
	if (!r->o->rate)
		return r->t0;
	return r->t0 + (int64_t)(i * 1000 / r->o->rate);
}

static void k_open_due(struct run *r, int64_t now)
{
	while (r->opened < r->o->count && open_time(r, r->opened) <= now) {
		r->opened++;
		k_open(r, r->opened - 1, now);
	}
}

static void sample(struct run *r, int64_t now)
{
	struct samples *s = &r->s;
	uint16_t *row;
	size_t i;

	if (!s->t || now < s->next || s->n == s->cap)
		return;
	s->next += SAMPLE_MS;
	s->t[s->n] = now - r->t0;
	row = &s->live[s->n * MAX_NAMES];
	s->n++;
	for (i = 0; i < r->opened; i++) {
		if ((r->k[i].st == K_READY || r->k[i].st == K_WAITING) &&
		    r->k[i].target >= 0 && r->k[i].target < MAX_NAMES)
			row[r->k[i].target]++;
	}
}

/* The next moment something is due: poll() sleeps until then at most. */
static int64_t next_wake(const struct run *r)
{
	int64_t w = r->end;
	size_t i;

	if (r->opened < r->o->count && open_time(r, r->opened) < w)
		w = open_time(r, r->opened);
	if (r->s.t && r->s.next < w)
		w = r->s.next;
	for (i = 0; i < r->opened; i++)
		if (r->k[i].st != K_DEAD && r->k[i].due < w)
			w = r->k[i].due;
	return w;
}

static nfds_t k_pollset(struct run *r)
{
	static const short ev[] = {
		[K_CONNECTING] = POLLOUT, [K_WAITING] = POLLIN,
		[K_READY] = POLLIN,
	};
	nfds_t n = 0;
	size_t i;

	for (i = 0; i < r->opened; i++) {
		if (r->k[i].st == K_IDLE || r->k[i].st == K_DEAD ||
		    r->k[i].st == K_DONE)
			continue;
		r->p[n].fd = r->k[i].fd;
		r->p[n].events = ev[r->k[i].st];
		r->p[n].revents = 0;
		r->pk[n++] = i;
	}
	return n;
}

static void k_marks(struct run *r)
{
	while (r->marks != (unsigned)got_usr1) {
		r->marks++;
		log_event(r, 0, "mark");
	}
}

/*
 * -F on SIGTERM: every live connection owes one whole exchange from now
 * on (one waiting for an answer finishes that one first), within the
 * timeout.  Returns false when the run is to end now (no -F).
 */
static bool k_finish(struct run *r, int64_t now)
{
	size_t i;

	if (!r->o->final)
		return false;
	if (r->finishing)
		return true;
	r->finishing = true;
	r->end = now + 2 * (int64_t)r->o->timeout_ms;
	for (i = 0; i < r->opened; i++) {
		struct kconn *k = &r->k[i];

		if (k->st == K_READY) {
			k->finals = 1;
			k->due = now;
		} else if (k->st == K_WAITING || k->st == K_CONNECTING) {
			k->finals = k->st == K_WAITING ? 2 : 1;
		} else {
			continue;
		}
		r->pending++;
	}
	return true;
}

static void k_loop(struct run *r)
{
	int64_t now = now_ms();
	nfds_t n, j;
	int res;

	while (now < r->end) {
		if (got_stop && !k_finish(r, now))
			break;
		if (r->finishing && !r->pending)
			break;
		if (!r->finishing)
			k_open_due(r, now);
		sample(r, now);
		n = k_pollset(r);
		res = poll(r->p, n, ms_left(next_wake(r)));
		now = now_ms();
		k_marks(r);
		if (res < 0 && errno != EINTR) {
			perror(PROG ": poll");
			break;
		}
		for (j = 0; res > 0 && j < n; j++)
			if (r->p[j].revents)
				k_event(r, r->pk[j], r->p[j].revents, now);
		k_timers(r, now);
	}
}

/* The -s columns are the tally's names in natural order. */
static const struct tally *cmp_tally;

static int cmp_idx(const void *a, const void *b)
{
	return strverscmp(cmp_tally->v[*(const int *)a].name,
			  cmp_tally->v[*(const int *)b].name);
}

static int write_samples(const struct run *r)
{
	size_t n = r->t->n < MAX_NAMES ? r->t->n : MAX_NAMES, i, j;
	int order[MAX_NAMES];
	FILE *f = fopen(r->o->samples, "w");

	if (!f)
		return -1;
	for (j = 0; j < n; j++)
		order[j] = (int)j;
	cmp_tally = r->t;
	qsort(order, n, sizeof(order[0]), cmp_idx);
	fprintf(f, "time");
	for (j = 0; j < n; j++)
		fprintf(f, ",%s", r->t->v[order[j]].name);
	fprintf(f, "\n");
	for (i = 0; i < r->s.n; i++) {
		fprintf(f, "%.1f", (double)r->s.t[i] / 1000);
		for (j = 0; j < n; j++)
			fprintf(f, ",%u", r->s.live[i * MAX_NAMES + order[j]]);
		fprintf(f, "\n");
	}
	return fclose(f);
}

static int run_init(struct run *r, const struct opts *o, struct tally *t)
{
	size_t i;

	memset(r, 0, sizeof(*r));
	r->o = o;
	r->t = t;
	r->k = calloc(o->count, sizeof(*r->k));
	r->p = calloc(o->count, sizeof(*r->p));
	r->pk = calloc(o->count, sizeof(*r->pk));
	if (!r->k || !r->p || !r->pk)
		return -1;
	for (i = 0; i < o->count; i++) {
		r->k[i].fd = -1;
		r->k[i].target = -1;
	}
	if (o->samples) {
		r->s.cap = o->keep_s * 1000 / SAMPLE_MS + 2;
		r->s.t = calloc(r->s.cap, sizeof(*r->s.t));
		r->s.live = calloc(r->s.cap * MAX_NAMES, sizeof(*r->s.live));
		if (!r->s.t || !r->s.live)
			return -1;
	}
	if (o->csv && !(r->csv = fopen(o->csv, "w")))
		return -1;
	if (r->csv) {
		/* Line by line, so that others can follow the run. */
		setvbuf(r->csv, NULL, _IOLBF, 0);
		fprintf(r->csv, "time,conn,port,target,event\n");
	}
	return 0;
}

/* Close what is still open; each live connection ends with "close". */
static int run_finish(struct run *r)
{
	int rc = 0;
	size_t i;

	for (i = 0; r->k && i < r->o->count; i++) {
		if (r->k[i].fd < 0)
			continue;
		if (r->k[i].st != K_DEAD)
			log_event(r, i + 1, "close");
		close(r->k[i].fd);
	}
	if (r->csv && fclose(r->csv) != 0)
		rc = -1;
	if (r->o->samples && write_samples(r) < 0)
		rc = -1;
	free(r->k);
	free(r->p);
	free(r->pk);
	free(r->s.t);
	free(r->s.live);
	return rc;
}

static void print_keep(const struct run *r)
{
	int f;

	ports_print(r->o, r->t);
	tally_print(r->t);
	if (!r->t->failed)
		printf("failed 0\n");
	printf("moved %lu\n", r->t->moved);
	printf("opened %lu\n", r->t->opened);
	for (f = 0; f < F_MAX; f++)
		printf("%s %lu\n", fail_names[f], r->fails[f]);
	fflush(stdout);
}

static int run_keep(const struct opts *o, struct tally *t)
{
	struct run r;
	int rc = 0;

	if (run_init(&r, o, t) < 0) {
		fprintf(stderr, PROG ": %s: %s\n", o->csv ? o->csv : "setup",
			strerror(errno));
		rc = -1;
	} else {
		catch_signals();
		r.t0 = now_ms();
		r.s.next = r.t0;
		r.end = r.t0 + (int64_t)o->keep_s * 1000;
		k_loop(&r);
	}
	if (run_finish(&r) < 0 && rc == 0) {
		fprintf(stderr, PROG ": cannot write %s: %s\n",
			o->samples ? o->samples : o->csv, strerror(errno));
		rc = -1;
	}
	if (rc == 0)
		print_keep(&r);
	return rc;
}

/* -P: the first answers, all -1 (none yet). */
static int *first_init(unsigned long count)
{
	int *v = malloc(count * sizeof(*v));
	unsigned long i;

	for (i = 0; v && i < count; i++)
		v[i] = -1;
	return v;
}

int main(int argc, char **argv)
{
	struct tally t = { 0 };
	struct opts o;

	parse_opts(argc, argv, &o);
	signal(SIGPIPE, SIG_IGN);
	if (o.nsports && !(t.first = first_init(o.count)))
		die("-P");
	if (o.keep_s) {
		if (run_keep(&o, &t) < 0)
			return EXIT_FAIL;
	} else {
		run_sequential(&o, &t);
		ports_print(&o, &t);
		tally_print(&t);
	}
	free(t.v);
	free(t.first);
	free(o.sports);
	return t.failed || t.moved ? EXIT_FAIL : EXIT_OK;
}
