/* SPDX-License-Identifier: GPL-2.0-or-later */
/* metrics.c: `nfqlb metrics`, an HTTP server (libmicrohttpd) of the
 * Prometheus exposition of some tables, and `nfqlb stats --prometheus`. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "nfqlb/log.h"
#include "nfqlb/metrics.h"
#include "nfqlb/prom.h"
#include "nfqlb/table.h"

#define METRICS_PATH "/metrics"
#define METRICS_CONNECTIONS 32	/* clients served at once */
#define METRICS_TIMEOUT 30	/* seconds an idle connection is kept */

static const struct opt metrics_opts[] = {
	{ "listen", "ADDR:PORT", "serve on ADDR:PORT: an IPv4 address, or [IPv6]:PORT" },
	{ "shm", "NAME...", "a table to export (repeat for more; default $NFQLB_SHM "
			    "or nfqlb)" },
	{ NULL, NULL, NULL },
};

int metrics_stats(const struct cmd *cmd, const char *name)
{
	char why[WHY_MAX] = "";
	struct prom_table t;
	struct shm *s;
	int r;

	s = table_open(cmd, name, false);
	if (!s)
		return NFQLB_FAIL;
	r = prom_read(&t, name, s, why);
	shm_detach(s);
	if (r == 0)
		prom_write(stdout, &t, 1);	/* nfqlb_run() checks stdout */
	prom_free(&t);
	if (r < 0)
		return cmd_error(cmd, "table \"%s\": %s", name, why);
	return NFQLB_OK;
}

/* ------------------------------------------------------------ options */

/* Parse "A.B.C.D:PORT" or "[IPv6]:PORT".  Returns 0, or -1. */
static int parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	const char *colon = strrchr(s, ':');
	char host[INET6_ADDRSTRLEN + 2];
	size_t hl = colon ? (size_t)(colon - s) : 0;
	uint32_t port;

	memset(ss, 0, sizeof(*ss));
	if (!colon || hl >= sizeof(host) || opt_u32(colon + 1, 1, 65535, &port) < 0)
		return -1;
	memcpy(host, s, hl);
	host[hl] = '\0';
	if (hl > 2 && host[0] == '[' && host[hl - 1] == ']') {
		host[hl - 1] = '\0';
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*a6);
		return inet_pton(AF_INET6, host + 1, &a6->sin6_addr) == 1 ? 0 : -1;
	}
	a4->sin_family = AF_INET;
	a4->sin_port = htons((uint16_t)port);
	*len = sizeof(*a4);
	return inet_pton(AF_INET, host, &a4->sin_addr) == 1 ? 0 : -1;
}

/* What the server exports, and what it last said of each table. */
struct scraper {
	const char *names[OPT_REPEAT_MAX];
	size_t k;
	signed char was_up[OPT_REPEAT_MAX];	/* -1 before the first scrape */
};

/* The tables: every --shm, else the default one, checked and distinct. */
static int parse_names(const struct cmd *cmd, const struct optval *ov,
		       struct scraper *sc)
{
	const char *name, *rule;
	size_t i;
	int r;

	if (!opt_get(cmd, ov, "shm")) {
		if ((r = table_name(cmd, ov, &name)))
			return r;
		sc->names[sc->k++] = name;
	}
	while ((name = opt_nth(cmd, ov, "shm", (int)sc->k))) {
		if ((rule = shm_name_why(name)))
			return usage_error(cmd, "bad table name \"%s\": %s", name, rule);
		for (i = 0; i < sc->k; i++)
			if (strcmp(sc->names[i], name) == 0)
				return usage_error(cmd, "table \"%s\" given twice", name);
		sc->names[sc->k++] = name;
	}
	memset(sc->was_up, -1, sizeof(sc->was_up));
	return NFQLB_OK;
}

/* ------------------------------------------------------------ serving */

static void metrics_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void metrics_log(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline("metrics", fmt, ap);
	va_end(ap);
}

/* Say when a table goes down or comes back, not at every scrape. */
static void note_state(struct scraper *sc, size_t i, bool up, const char *why)
{
	if (sc->was_up[i] == up)
		return;
	if (!up)
		metrics_log("table \"%s\": %s (nfqlb_table_up 0)", sc->names[i], why);
	else if (sc->was_up[i] == 0)
		metrics_log("table \"%s\" is readable again", sc->names[i]);
	sc->was_up[i] = up;
}

/* One scrape: every table attached, read and detached.  Returns the
 * exposition (malloc'd, *len bytes), or NULL with errno. */
static char *scrape(struct scraper *sc, size_t *len)
{
	struct prom_table *t = calloc(sc->k, sizeof(*t));
	char why[WHY_MAX], *buf = NULL;
	FILE *f = open_memstream(&buf, len);
	size_t i;
	int r = -1;

	if (t && f) {
		for (i = 0; i < sc->k; i++) {
			if (prom_load(&t[i], sc->names[i], why) < 0 && errno == ENOENT)
				snprintf(why, sizeof(why), "does not exist");
			note_state(sc, i, t[i].up, why);
		}
		r = prom_write(f, t, sc->k);
	}
	for (i = 0; t && i < sc->k; i++)
		prom_free(&t[i]);
	free(t);
	if (f && fclose(f) != 0)
		r = -1;
	if (r == 0)
		return buf;
	free(buf);
	return NULL;
}

/* A reply with a constant body. */
static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned int status,
				  const char *body)
{
	struct MHD_Response *res;
	enum MHD_Result r;

	res = MHD_create_response_from_buffer_with_free_callback(strlen(body),
								 (void *)body, NULL);
	if (!res)
		return MHD_NO;
	MHD_add_response_header(res, MHD_HTTP_HEADER_CONTENT_TYPE,
				"text/plain; charset=utf-8");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(res, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	r = MHD_queue_response(c, status, res);
	MHD_destroy_response(res);
	return r;
}

static enum MHD_Result reply_metrics(struct MHD_Connection *c, struct scraper *sc)
{
	struct MHD_Response *res;
	enum MHD_Result r;
	size_t len;
	char *body = scrape(sc, &len);

	if (!body) {
		metrics_log("scrape failed: %s", strerror(errno));
		return reply_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "scrape failed\n");
	}
	res = MHD_create_response_from_buffer_with_free_callback(len, body, free);
	if (!res) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(res, MHD_HTTP_HEADER_CONTENT_TYPE, PROM_CONTENT_TYPE);
	r = MHD_queue_response(c, MHD_HTTP_OK, res);
	MHD_destroy_response(res);
	return r;
}

/* libmicrohttpd's request handler; it runs on the server's one thread. */
static enum MHD_Result answer(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version,
			      const char *upload, size_t *upload_size, void **req)
{
	(void)version;
	(void)upload;
	(void)upload_size;
	(void)req;
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
	    strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return reply_text(c, MHD_HTTP_METHOD_NOT_ALLOWED,
				  "method not allowed: use GET\n");
	if (strcmp(url, METRICS_PATH) != 0)
		return reply_text(c, MHD_HTTP_NOT_FOUND, "not found: the metrics are at "
				  METRICS_PATH "\n");
	return reply_metrics(c, cls);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

/* libmicrohttpd's own messages, which end in a newline. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	fprintf(stderr, "nfqlb: metrics: ");
	vfprintf(stderr, fmt, ap);
}

/* A listening TCP socket on the address.  Returns it, or -1 with errno. */
static int listen_on(const struct sockaddr_storage *ss, socklen_t len)
{
	int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0), on = 1, err;

	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == 0 &&
	    (ss->ss_family != AF_INET6 ||
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) == 0) &&
	    bind(fd, (const struct sockaddr *)ss, len) == 0 && listen(fd, 64) == 0)
		return fd;
	err = errno;
	close(fd);
	errno = err;
	return -1;
}

static struct MHD_Daemon *start_server(int fd, int family, struct scraper *sc)
{
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO |
			     MHD_USE_ERROR_LOG;

	if (family == AF_INET6)
		flags |= MHD_USE_IPv6;
	return MHD_start_daemon(flags, 0, NULL, NULL, answer, sc,
				MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
				MHD_OPTION_LISTEN_SOCKET, fd,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned int)METRICS_CONNECTIONS,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)METRICS_TIMEOUT,
				MHD_OPTION_END);
}

/* Serve until SIGINT or SIGTERM, which the caller has blocked. */
static int serve(const struct cmd *cmd, const char *addr,
		 const struct sockaddr_storage *ss, socklen_t len, struct scraper *sc,
		 const sigset_t *set)
{
	struct MHD_Daemon *d;
	int fd, sig;

	fd = listen_on(ss, len);
	if (fd < 0)
		return cmd_error(cmd, "cannot listen on %s: %s", addr, strerror(errno));
	d = start_server(fd, ss->ss_family, sc);
	if (!d) {
		close(fd);
		return cmd_error(cmd, "cannot start the HTTP server on %s", addr);
	}
	metrics_log("serving %zu table%s on http://%s" METRICS_PATH, sc->k,
		    sc->k == 1 ? "" : "s", addr);
	while (sigwait(set, &sig) != 0)
		;
	MHD_stop_daemon(d);	/* closes fd */
	return NFQLB_OK;
}

static int do_metrics(const struct cmd *cmd, const struct optval *ov, int argc,
		      char **argv)
{
	const char *addr = opt_get(cmd, ov, "listen");
	struct sockaddr_storage ss;
	struct scraper sc = { .k = 0 };
	sigset_t set, old;
	socklen_t len;
	int r;

	if (opt_operands(cmd, ov, argc, argv, 0))
		return NFQLB_USAGE;
	if (!addr)
		return usage_error(cmd, "--listen ADDR:PORT is required");
	if (parse_listen(addr, &ss, &len) < 0)
		return usage_error(cmd, "bad --listen '%s': want IPV4:PORT or [IPV6]:PORT, "
				   "port 1..65535", addr);
	if ((r = parse_names(cmd, ov, &sc)))
		return r;
	/* Blocked before the server's thread starts, so it inherits the mask
	 * and the signals reach sigwait(). */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	r = serve(cmd, addr, &ss, len, &sc, &set);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return r;
}

const struct cmd cmd_metrics = {
	"metrics", do_metrics, "serve the tables' counters to Prometheus over HTTP",
	NULL, metrics_opts,
};
