/* SPDX-License-Identifier: GPL-2.0-or-later */
/* health.c: `nfqlb health`: its options, the probe loop and the signals.
 *
 * One thread runs every probe: nonblocking sockets and pidfds in one poll()
 * set, so a slow target only ever delays itself.  Each target is probed
 * every interval, from the start; a probe that outlives its timeout fails
 * and is stopped.  The results go to healthtab.c, which writes the tables.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "nfqlb/cli.h"
#include "nfqlb/healthtab.h"

#define WAKE_MAX_MS	1000	/* poll() never sleeps longer */
#define REAP_RETRY_MS	5	/* while a killed command is not reaped */
#define KILL_WAIT_MS	200	/* at exit, for each killed command to be reaped */

static const struct opt health_opts[] = {
	{ "config", "FILE",
	  "the checks, one per line:\n"
	  "                             TABLE ID CHECK TARGET [OPTION=VALUE]...\n"
	  "                             with CHECK TARGET one of\n"
	  "                               tcp ADDR:PORT         connects\n"
	  "                               http http://ADDR[:PORT][/PATH] [status=CODE]\n"
	  "                                                     GET gets CODE (default 200)\n"
	  "                               udp ADDR:PORT [payload=TEXT]\n"
	  "                                                     TEXT (default ping) gets a\n"
	  "                                                     datagram back\n"
	  "                               exec \"COMMAND\"        /bin/sh -c COMMAND exits 0\n"
	  "                             and OPTIONs interval=S (default 2), timeout=S\n"
	  "                             (default 1, at most the interval), rise=N (default\n"
	  "                             2), fall=N (default 3).  ADDR is IPv4 or [IPv6];\n"
	  "                             S are seconds, 0.01..86400, at most 3 decimals.  A\n"
	  "                             target goes down after `fall` failures in a row,\n"
	  "                             up after `rise` successes in a row, and starts as\n"
	  "                             the table has it.  \"...\" quotes, with \\\" and \\\\;\n"
	  "                             a # that begins a word begins a comment" },
	{ "all-down", "MODE", "when every target of a table fails: keep (default:\n"
	  "                             the last one stays active) or deactivate" },
	{ "dry-run", NULL, "check FILE and the tables, print the checks, exit" },
	{ NULL, NULL, NULL },
};

bool health_step(struct health_state *s, bool ok, uint32_t rise, uint32_t fall)
{
	if (ok == s->up) {
		s->count = 0;
		return false;
	}
	if (++s->count < (s->up ? fall : rise))
		return false;
	s->up = !s->up;
	s->count = 0;
	return true;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Stop a probe that outlived its timeout; start the probes that are due. */
static void tick_one(struct htarget *t, int64_t now)
{
	const struct health_check *c = t->c;
	enum probe_result r;

	if (probe_busy(&t->p) && t->p.phase != PHASE_REAP && now >= t->deadline) {
		char why[WHY_MAX];

		snprintf(why, sizeof(why), "timeout after %u.%03u s", c->timeout_ms / 1000,
			 c->timeout_ms % 1000);
		probe_abort(&t->p, why);
		healthtab_result(t, false);
	}
	if (now < t->due)
		return;
	/* A command killed at its timeout takes a moment to die: the next
	 * probe waits for it, a timeout at most. */
	if (probe_busy(&t->p) && now - t->deadline < c->timeout_ms) {
		t->due = now + REAP_RETRY_MS;
		return;
	}
	t->due += c->interval_ms;
	if (t->due <= now)
		t->due = now + c->interval_ms;
	if (probe_busy(&t->p)) {
		snprintf(t->p.why, sizeof(t->p.why), "the command killed at its timeout "
			 "is still not gone");
		healthtab_result(t, false);
		return;
	}
	t->deadline = now + c->timeout_ms;
	r = probe_start(&t->p, c);
	if (r != PROBE_RUNNING)
		healthtab_result(t, r == PROBE_OK);
}

/* How long poll() may sleep: until the next start or deadline. */
static int wake_in(const struct hset *h, int64_t now)
{
	int64_t next = now + WAKE_MAX_MS;
	size_t i;

	for (i = 0; i < h->ntargets; i++) {
		const struct htarget *t = &h->targets[i];

		if (t->due < next)
			next = t->due;
		if (probe_busy(&t->p) && t->p.phase != PHASE_REAP && t->deadline < next)
			next = t->deadline;
	}
	return next <= now ? 0 : (int)(next - now);
}

/* pfd[0] is the signalfd; then one entry per busy probe, map[] its target. */
static nfds_t poll_set(const struct hset *h, struct pollfd *pfd, size_t *map)
{
	nfds_t n = 1;
	size_t i;

	for (i = 0; i < h->ntargets; i++) {
		const struct probe *p = &h->targets[i].p;

		if (!probe_busy(p))
			continue;
		pfd[n] = (struct pollfd){ p->fd, probe_events(p), 0 };
		map[n++] = i;
	}
	return n;
}

static void step(struct htarget *t, short revents)
{
	bool reaping = t->p.phase == PHASE_REAP;
	enum probe_result r = probe_step(&t->p, revents);

	/* A killed command's result was counted when it was killed. */
	if (r != PROBE_RUNNING && !reaping)
		healthtab_result(t, r == PROBE_OK);
}

/* Returns the signal that stopped the loop, or -1 after a failed poll(). */
static int loop(struct hset *h, int sfd, struct pollfd *pfd, size_t *map)
{
	struct signalfd_siginfo si;
	size_t i;
	nfds_t n;

	for (;;) {
		for (i = 0; i < h->ntargets; i++)
			tick_one(&h->targets[i], now_ms());
		healthtab_apply(h);
		n = poll_set(h, pfd, map);
		pfd[0] = (struct pollfd){ sfd, POLLIN, 0 };
		if (poll(pfd, n, wake_in(h, now_ms())) < 0 && errno != EINTR)
			return -1;
		if (pfd[0].revents && read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
			return (int)si.ssi_signo;
		for (i = 1; i < n; i++)
			step(&h->targets[map[i]], pfd[i].revents);
		healthtab_apply(h);
	}
}

static void log_start(const struct hset *h, const char *path)
{
	size_t i;

	healthtab_log("checking %zu target%s in %zu table%s from %s; when every target "
		      "of a table fails: %s", h->ntargets, h->ntargets == 1 ? "" : "s",
		      h->ntables, h->ntables == 1 ? "" : "s", path,
		      h->keep_last ? "keep the last one active" : "deactivate them all");
	for (i = 0; i < h->ntargets; i++) {
		const struct htarget *t = &h->targets[i];
		char d[96];

		healthtab_describe(t->c, d, sizeof(d));
		healthtab_log("table %s id %u (%s): starts %s", t->tb->name, t->c->id, d,
			      t->st.up ? "up (active in the table)" : "down (not active)");
	}
}

/* Probe until SIGTERM or SIGINT; kill the commands still running. */
static int run(const struct cmd *cmd, struct hset *h, const char *path)
{
	struct pollfd *pfd = calloc(h->ntargets + 1, sizeof(*pfd));
	size_t *map = calloc(h->ntargets + 1, sizeof(*map)), i;
	sigset_t set, old;
	int sfd = -1, sig = -1;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, &old);
	if (pfd && map)
		sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd >= 0) {
		log_start(h, path);
		sig = loop(h, sfd, pfd, map);
		if (sig < 0)
			cmd_error(cmd, "poll: %s", strerror(errno));
		else
			healthtab_log("stopping on %s", strsignal(sig));
	} else {
		cmd_error(cmd, "%s", strerror(errno));
	}
	for (i = 0; i < h->ntargets; i++)
		probe_kill(&h->targets[i].p, KILL_WAIT_MS);
	if (sfd >= 0)
		close(sfd);
	sigprocmask(SIG_SETMASK, &old, NULL);
	free(pfd);
	free(map);
	return sig < 0 ? NFQLB_FAIL : NFQLB_OK;
}

/* A payload or a command, quoted as the file quotes it. */
static void print_quoted(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			putchar('\\');
		putchar(*s);
	}
	putchar('"');
}

/* The check as the file would write it. */
static void print_target(const struct health_check *c)
{
	char d[96];

	if (c->kind == HEALTH_EXEC || c->kind == HEALTH_UDP) {
		printf("%s ", healthconf_kind_name(c->kind));
		if (c->kind == HEALTH_UDP)
			printf("%s payload=", c->host);
		print_quoted(c->text);
		return;
	}
	healthtab_describe(c, d, sizeof(d));
	printf("%s", d);
	if (c->kind == HEALTH_HTTP)
		printf(" status=%u", c->status);
}

/* --dry-run: each check with every option spelt out, and its start. */
static void print_checks(const struct hset *h)
{
	size_t i;

	for (i = 0; i < h->ntargets; i++) {
		const struct htarget *t = &h->targets[i];
		const struct health_check *c = t->c;

		printf("%s %u ", c->table, c->id);
		print_target(c);
		printf(" interval=%u.%03u timeout=%u.%03u rise=%u fall=%u # line %u, "
		       "starts %s\n", c->interval_ms / 1000,
		       c->interval_ms % 1000, c->timeout_ms / 1000, c->timeout_ms % 1000,
		       c->rise, c->fall, c->line, t->st.up ? "up" : "down");
	}
}

static int all_down_mode(const struct cmd *cmd, const struct optval *ov, bool *keep)
{
	const char *v = opt_get(cmd, ov, "all-down");

	*keep = true;
	if (!v || strcmp(v, "keep") == 0)
		return NFQLB_OK;
	if (strcmp(v, "deactivate") == 0) {
		*keep = false;
		return NFQLB_OK;
	}
	return usage_error(cmd, "bad --all-down '%s': want keep or deactivate", v);
}

static int do_health(const struct cmd *cmd, const struct optval *ov, int argc,
		     char **argv)
{
	const char *path = opt_get(cmd, ov, "config");
	struct healthconf conf = { NULL, 0 };
	char why[WHY_MAX] = "";
	struct hset h;
	bool keep;
	int r;

	if (opt_operands(cmd, ov, argc, argv, 0))
		return NFQLB_USAGE;
	if (!path)
		return usage_error(cmd, "no --config FILE given");
	if ((r = all_down_mode(cmd, ov, &keep)))
		return r;
	if (healthconf_load(path, &conf, why) < 0) {
		r = errno == EINVAL ? usage_error(cmd, "%s", why) : cmd_error(cmd, "%s", why);
		healthconf_free(&conf);
		return r;
	}
	if (healthtab_open(&h, &conf, keep, why) < 0)
		r = cmd_error(cmd, "%s", why);
	else if (opt_get(cmd, ov, "dry-run"))
		print_checks(&h);
	else
		r = run(cmd, &h, path);
	healthtab_close(&h);
	healthconf_free(&conf);
	return r;
}

const struct cmd cmd_health = {
	"health", do_health, "probe targets; activate and deactivate them", NULL,
	health_opts,
};
