/* SPDX-License-Identifier: GPL-2.0-or-later */
/* tracecmd.c: `nfqlb trace`, the live workers' decisions as they happen:
 * it finds the trace rings (shm/trace.h) of the workers serving a table or
 * a flow set, keeps them armed, and prints the decisions that match. */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "flows/flow.h"
#include "flows/flowset.h"
#include "flows/flowtext.h"
#include "nfqlb/cli.h"
#include "nfqlb/json.h"
#include "nfqlb/table.h"
#include "nfqlb/tracefmt.h"
#include "shm/trace.h"

#define FOLLOW_MAX 64		/* rings one trace follows */
#define LIST_MAX 256		/* rings `trace --list` shows */
#define SCAN_MS 1000		/* how often new and dead workers are looked for */
#define IDLE_NS 2000000		/* the wait when no ring had anything */
#define DRAIN_MAX 4096		/* records read from one ring per round */

static const struct opt trace_opts[] = {
	OPT_SHM,
	{ "flows", "NAME", "the workers of this flow set (default $NFQLB_FLOWS or nfqlb-flows)" },
	{ "flow", "NAME", "only the decisions of this flow" },
	{ "src", "CIDR", "only packets from this prefix" },
	{ "dst", "CIDR", "only packets to this prefix" },
	{ "count", "N", "exit after N decisions (default: at SIGINT or SIGTERM)" },
	{ "json", NULL, "print one JSON object per line" },
	{ "list", NULL, "list the live workers' trace rings and exit" },
	{ NULL, NULL, NULL },
};

/* The packets to print. */
struct filter {
	const char *flow;	/* or NULL */
	struct flow_cidr src, dst;	/* len 0 and family 0: anything */
};

/* One worker's ring, followed. */
struct follow {
	struct trace *t;
	uint64_t pos, lost;
	int32_t pid;
};

struct tracer {
	const struct cmd *cmd;
	enum trace_serves serves;
	const char *name;	/* the table or flow set */
	struct filter f;
	bool json;
	uint64_t count;		/* 0: until a signal */
	uint64_t printed;
	struct follow r[FOLLOW_MAX];
	unsigned int n;
};

static volatile sig_atomic_t stop;

static void on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

/* One prefix "ADDR[/LEN]" (canonical, as a flow's) into c. */
static int parse_cidr(const char *s, struct flow_cidr *c, char *why)
{
	struct flow_cidr all[FLOW_CIDR_MAX];
	uint16_t n = 0;

	if (flowtext_cidrs(s, all, &n, why) < 0)
		return -1;
	if (n != 1) {
		snprintf(why, WHY_MAX, "want one prefix");
		return -1;
	}
	*c = all[0];
	return 0;
}

/* Whether the key's address w (four words) lies in c; an IPv6 prefix
 * never takes an IPv4 address. */
static bool cidr_match(const struct flow_cidr *c, const uint32_t *w)
{
	bool v4 = w[0] == 0 && w[1] == 0 && w[2] == 0xffff;
	unsigned int i, bits;
	uint32_t mask;

	if (!c->family)
		return true;
	if ((c->family == AF_INET) != v4)
		return false;
	for (i = 0; i < 4; i++) {
		bits = c->len > 32 * i ? c->len - 32 * i : 0;
		mask = bits >= 32 ? UINT32_MAX : bits ? ~(UINT32_MAX >> bits) : 0;
		if ((w[i] & mask) != (c->w[i] & mask))
			return false;
	}
	return true;
}

static bool matches(const struct filter *f, const struct trace_rec *r)
{
	return (!f->flow || strcmp(f->flow, r->flow) == 0) &&
	       cidr_match(&f->src, &r->key[0]) && cidr_match(&f->dst, &r->key[4]);
}

static const char *serves_word(enum trace_serves s)
{
	return s == TRACE_SERVES_FLOWS ? "flow set" : "table";
}

/* --src and --dst. */
static int parse_filter(const struct cmd *cmd, const struct optval *ov, struct filter *f)
{
	char why[WHY_MAX] = "";
	const char *v;

	f->flow = opt_get(cmd, ov, "flow");
	if ((v = opt_get(cmd, ov, "src")) && parse_cidr(v, &f->src, why) < 0)
		return usage_error(cmd, "bad src '%.80s': %s", v, why);
	if ((v = opt_get(cmd, ov, "dst")) && parse_cidr(v, &f->dst, why) < 0)
		return usage_error(cmd, "bad dst '%.80s': %s", v, why);
	return NFQLB_OK;
}

/* What the trace follows: --flows (also implied by --flow), else --shm. */
static int parse_serves(const struct cmd *cmd, const struct optval *ov, struct tracer *tr)
{
	const char *flows = opt_get(cmd, ov, "flows"), *rule;

	if (flows && opt_get(cmd, ov, "shm"))
		return usage_error(cmd, "--shm and --flows exclude each other");
	if (opt_get(cmd, ov, "flow") && opt_get(cmd, ov, "shm"))
		return usage_error(cmd, "--flow needs --flows: a worker serving one table has no flows");
	if (!flows && !opt_get(cmd, ov, "flow")) {
		tr->serves = TRACE_SERVES_TABLE;
		return table_name(cmd, ov, &tr->name);
	}
	tr->serves = TRACE_SERVES_FLOWS;
	tr->name = flowset_name(flows);
	rule = shm_name_why(tr->name);
	if (rule)
		return usage_error(cmd, "bad flow set name \"%s\": %s", tr->name, rule);
	return NFQLB_OK;
}

static int parse_conf(const struct cmd *cmd, const struct optval *ov, struct tracer *tr)
{
	const char *v = opt_get(cmd, ov, "count");
	uint32_t n = 0;
	int r;

	if (v && opt_u32(v, 1, UINT32_MAX, &n) < 0)
		return usage_error(cmd, "bad count '%s': want 1..4294967295", v);
	tr->count = n;
	tr->json = opt_get(cmd, ov, "json") != NULL;
	if ((r = parse_filter(cmd, ov, &tr->f)))
		return r;
	return parse_serves(cmd, ov, tr);
}

static bool following(const struct tracer *tr, const char *name, int32_t pid)
{
	unsigned int i;

	for (i = 0; i < tr->n; i++)
		if (strcmp(tr->r[i].t->name, name) == 0 && tr->r[i].pid == pid)
			return true;
	return false;
}

/* Open, arm and follow (from now on) each live ring serving what the
 * trace asks for and not followed yet.  Returns the rings followed. */
static unsigned int attach(struct tracer *tr)
{
	static struct trace_info info[LIST_MAX];
	int i, n = trace_list(info, LIST_MAX);
	char why[WHY_MAX];
	struct trace *t;

	for (i = 0; i < n && i < LIST_MAX && tr->n < FOLLOW_MAX; i++) {
		if (info[i].serves != tr->serves || strcmp(info[i].serves_name, tr->name) != 0 ||
		    following(tr, info[i].name, info[i].pid))
			continue;
		t = trace_open(info[i].name, why);
		if (!t)
			continue;	/* gone meanwhile */
		trace_arm(t, trace_now_ms());
		tr->r[tr->n++] = (struct follow){ t, trace_written(t), 0, info[i].pid };
	}
	return tr->n;
}

/* Stop following the rings of workers that exited. */
static void drop_dead(struct tracer *tr)
{
	unsigned int i = 0;

	while (i < tr->n) {
		if (trace_alive(tr->r[i].t) != 0) {
			i++;
			continue;
		}
		cmd_warning(tr->cmd, "worker PID %d exited", (int)tr->r[i].pid);
		trace_close(tr->r[i].t);
		tr->r[i] = tr->r[--tr->n];
	}
}

/* Say what each ring lost since the last report, in one line. */
static void report_lost(struct tracer *tr)
{
	struct follow *fo;
	unsigned int i;

	for (i = 0; i < tr->n; i++) {
		fo = &tr->r[i];
		if (!fo->lost)
			continue;
		cmd_warning(tr->cmd, "worker PID %d: %llu decisions lost (the trace fell behind)",
			    (int)fo->pid, (unsigned long long)fo->lost);
		fo->lost = 0;
	}
}

/* Renew the leases; report losses at the same pace, not per record. */
static void renew(struct tracer *tr, uint64_t now)
{
	unsigned int i;

	for (i = 0; i < tr->n; i++)
		trace_arm(tr->r[i].t, now);
	report_lost(tr);
}

/* Print what one ring holds past its cursor, up to DRAIN_MAX records.
 * Returns the records read. */
static unsigned int drain_one(struct tracer *tr, struct follow *fo)
{
	struct trace_rec rec;
	unsigned int got = 0;

	while (got < DRAIN_MAX && (!tr->count || tr->printed < tr->count) &&
	       trace_read(fo->t, &fo->pos, &rec, &fo->lost) == 1) {
		got++;
		if (!matches(&tr->f, &rec))
			continue;
		if (tr->json)
			tracefmt_json(stdout, &rec, fo->pid);
		else
			tracefmt_text(stdout, &rec);
		tr->printed++;
	}
	return got;
}

static bool done(const struct tracer *tr)
{
	return stop || (tr->count && tr->printed >= tr->count);
}

/* Until a signal, --count decisions, or an output error. */
static void follow_loop(struct tracer *tr)
{
	uint64_t now, renew_at = 0, scan_at = trace_now_ms() + SCAN_MS;
	struct timespec idle = { 0, IDLE_NS };
	unsigned int i, got;

	while (!done(tr)) {
		now = trace_now_ms();
		if (now >= renew_at) {
			renew(tr, now);
			renew_at = now + TRACE_RENEW_MS;
		}
		if (now >= scan_at) {
			drop_dead(tr);
			attach(tr);
			scan_at = now + SCAN_MS;
		}
		for (i = got = 0; i < tr->n && !done(tr); i++)
			got += drain_one(tr, &tr->r[i]);
		if (got && (fflush(stdout) == EOF || ferror(stdout)))
			return;		/* nfqlb_run() reports the write error */
		if (!got)
			nanosleep(&idle, NULL);
	}
}

static int run(struct tracer *tr)
{
	struct sigaction sa = { .sa_handler = on_stop }, old_int, old_term;
	unsigned int i;

	if (!attach(tr))
		return cmd_error(tr->cmd, "no running worker serves %s \"%s\"",
				 serves_word(tr->serves), tr->name);
	stop = 0;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	follow_loop(tr);
	report_lost(tr);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	for (i = 0; i < tr->n; i++)
		trace_close(tr->r[i].t);
	return NFQLB_OK;
}

static void list_text(const struct trace_info *in, int n, uint64_t now)
{
	int i;

	printf("%-8s %-8s %-6s %-12s %s\n", "PID", "SERVES", "ARMED", "WRITTEN", "NAME");
	for (i = 0; i < n; i++)
		printf("%-8d %-8s %-6s %-12llu %s\n", (int)in[i].pid,
		       in[i].serves == TRACE_SERVES_FLOWS ? "flows" : "table",
		       in[i].lease > now ? "yes" : "no",
		       (unsigned long long)in[i].written, in[i].serves_name);
}

static void list_json(const struct trace_info *in, int n, uint64_t now)
{
	int i;

	printf("{\"workers\":[");
	for (i = 0; i < n; i++) {
		printf("%s{\"pid\":%d,\"serves\":\"%s\",\"name\":", i ? "," : "",
		       (int)in[i].pid, in[i].serves == TRACE_SERVES_FLOWS ? "flows" : "table");
		json_fstr(stdout, in[i].serves_name);
		printf(",\"armed\":%s,\"written\":%llu}", in[i].lease > now ? "true" : "false",
		       (unsigned long long)in[i].written);
	}
	printf("]}\n");
}

/* --list: every live ring, or those serving --shm / --flows when given. */
static int list(const struct tracer *tr, bool all)
{
	static struct trace_info info[LIST_MAX];
	int i, k = 0, n = trace_list(info, LIST_MAX);

	if (n < 0)
		return cmd_error(tr->cmd, "%s: %s", SHM_DIR, strerror(errno));
	for (i = 0; i < n && i < LIST_MAX; i++)
		if (all || (info[i].serves == tr->serves &&
			    strcmp(info[i].serves_name, tr->name) == 0))
			info[k++] = info[i];
	if (tr->json)
		list_json(info, k, trace_now_ms());
	else
		list_text(info, k, trace_now_ms());
	return NFQLB_OK;
}

static int do_trace(const struct cmd *cmd, const struct optval *ov, int argc,
		    char **argv)
{
	static struct tracer tr;
	static const char *const not_list[] = { "flow", "src", "dst", "count" };
	bool all;
	size_t i;
	int r;

	memset(&tr, 0, sizeof(tr));
	tr.cmd = cmd;
	if ((r = opt_operands(cmd, ov, argc, argv, 0)) || (r = parse_conf(cmd, ov, &tr)))
		return r;
	if (!opt_get(cmd, ov, "list"))
		return run(&tr);
	for (i = 0; i < sizeof(not_list) / sizeof(not_list[0]); i++)
		if (opt_get(cmd, ov, not_list[i]))
			return usage_error(cmd, "--list takes no --%s", not_list[i]);
	all = !opt_get(cmd, ov, "shm") && !opt_get(cmd, ov, "flows");
	return list(&tr, all);
}

const struct cmd cmd_trace = {
	"trace", do_trace, "print the live workers' decisions as they happen", NULL,
	trace_opts,
};
