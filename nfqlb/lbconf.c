/* SPDX-License-Identifier: GPL-2.0-or-later */
/* lbconf.c: the options of `nfqlb lb` (see lbconf.h). */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <net/if.h>

#include "flows/flowset.h"
#include "flows/flowtext.h"
#include "nfqlb/cli.h"
#include "nfqlb/frag.h"
#include "nfqlb/lbconf.h"
#include "nfqlb/table.h"

#define QLENGTH_DEFAULT 4096
#define RT_PRIORITY_MAX 99

const struct opt lb_opts[] = {
	OPT_SHM,
	{ "queue", "N|A:B", "queue number, or a range with one thread each (default 0)" },
	{ "qlength", "L", "most packets the kernel holds per queue (default 4096)" },
	{ "flows", "NAME", "serve every flow of this flow set (instead of one table, --shm)" },
	{ "no-target", "drop|accept|mark=X", "verdict when no target is active (default drop)" },
	{ "no-flow", "accept|drop|mark=X", "with --flows: verdict for packets no flow matches "
	  "(default accept, unmarked)" },
	{ "fail-open", NULL, "let the kernel accept packets unmarked when a queue is full" },
	{ "cpu", "LIST", "pin the queue threads, in order, to these CPUs (e.g. 1 or 0,1 or 0-3)" },
	{ "rt-priority", "P", "run the queue threads SCHED_FIFO at priority P (default 0: normal)" },
	{ "shed", "IFNAME", "under overload, drop packets arriving on IFNAME early (XDP or tc)" },
	{ "shed-mode", "MODE", "auto, xdp or tc: where the shedding program runs (default auto)" },
	{ "vip", "CIDR[,CIDR]...", "with --shed or --bpf --shm (required): the VIP prefixes they act on" },
	{ "syn-only", NULL, "with --shed, for rules --syn-only: shed only TCP SYNs and non-TCP" },
	{ "frag-timeout", "MS", "hash 5tuple: how long fragments wait for their first (default 200)" },
	{ "frag-max", "N", "hash 5tuple: datagrams tracked and fragments held per queue (default 4096)" },
	{ "bpf", "IFNAME[,IFNAME]...", "the fast path: mark packets arriving on these interfaces "
	  "in the kernel (tc BPF)" },
	{ "proto", "LIST", "with --bpf --shm: only tcp, udp, sctp (comma-separated; default all)" },
	{ "port", "PORTS", "with --bpf --shm: only these destination ports (80,443,8000-8099)" },
	{ NULL, NULL, NULL },
};


static int parse_queues(const char *v, struct lb_conf *c)
{
	uint32_t a, b;
	char *colon, buf[32];

	if (!v)
		return 0;
	if (strlen(v) >= sizeof(buf))
		return -1;
	strcpy(buf, v);
	colon = strchr(buf, ':');
	if (colon)
		*colon = '\0';
	if (opt_u32(buf, 0, 65535, &a) < 0 ||
	    opt_u32(colon ? colon + 1 : buf, 0, 65535, &b) < 0 ||
	    b < a || b - a >= QUEUE_MAX)
		return -1;
	c->qfirst = (uint16_t)a;
	c->qlast = (uint16_t)b;
	return 0;
}

/* A CPU number or range "N" / "N-M" of len bytes at s, appended to cpu.
 * Returns 0, -1 for bad syntax, -2 when cpu[] is full. */
static int parse_cpu_range(const char *s, size_t len, int *cpu, unsigned int max,
			   unsigned int *n)
{
	uint32_t a, b;
	char buf[32], *dash;

	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	dash = strchr(buf, '-');
	if (dash)
		*dash = '\0';
	if (opt_u32(buf, 0, CPU_SETSIZE - 1, &a) < 0 ||
	    opt_u32(dash ? dash + 1 : buf, 0, CPU_SETSIZE - 1, &b) < 0 || b < a)
		return -1;
	for (; a <= b; a++) {
		if (*n == max)
			return -2;
		cpu[(*n)++] = (int)a;
	}
	return 0;
}

/* Every CPU in cpu[] is in this process's affinity mask. */
static int cpus_allowed(const int *cpu, unsigned int n, char *why)
{
	cpu_set_t allowed;
	unsigned int i;

	if (sched_getaffinity(0, sizeof(allowed), &allowed) < 0)
		CPU_ZERO(&allowed);
	for (i = 0; i < n; i++)
		if (!CPU_ISSET(cpu[i], &allowed)) {
			snprintf(why, WHY_MAX, "CPU %d is not available to this process",
				 cpu[i]);
			errno = EINVAL;
			return -1;
		}
	return 0;
}

int lb_parse_cpus(const char *s, int *cpu, unsigned int max, char *why)
{
	unsigned int n = 0;
	const char *end;
	int r;

	for (;; s = end + 1) {
		end = strchrnul(s, ',');
		r = parse_cpu_range(s, (size_t)(end - s), cpu, max, &n);
		if (r == -2) {
			snprintf(why, WHY_MAX, "more CPUs than queues (%u)", max);
			errno = E2BIG;
			return -1;
		}
		if (r < 0) {
			snprintf(why, WHY_MAX, "want CPU numbers and ranges like 0,2-3");
			errno = EINVAL;
			return -1;
		}
		if (*end == '\0')
			break;
	}
	return cpus_allowed(cpu, n, why) < 0 ? -1 : (int)n;
}

static int parse_sched(const struct cmd *cmd, const struct optval *ov,
		       struct lb_conf *c)
{
	const char *v = opt_get(cmd, ov, "rt-priority");
	char why[WHY_MAX];
	int n;

	if (v && opt_u32(v, 0, RT_PRIORITY_MAX, &c->rt_priority) < 0)
		return usage_error(cmd, "bad rt-priority '%s': want 0..%u", v, RT_PRIORITY_MAX);
	v = opt_get(cmd, ov, "cpu");
	if (!v)
		return NFQLB_OK;
	n = lb_parse_cpus(v, c->cpu, (unsigned int)(c->qlast - c->qfirst) + 1, why);
	if (n < 0)
		return usage_error(cmd, "bad cpu list '%s': %s", v, why);
	c->ncpu = (unsigned int)n;
	return NFQLB_OK;
}

/* One prefix "ADDR[/LEN]" of len bytes at s, appended to c->vip; 0 or -1. */
static int parse_vip_one(const char *s, size_t len, struct lb_conf *c)
{
	struct lb_vip *p = &c->vip[c->nvip];
	char buf[INET6_ADDRSTRLEN + 8], *slash;

	if (len == 0 || len >= sizeof(buf) || c->nvip == LB_VIPS_MAX)
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	p->family = strchr(buf, ':') ? AF_INET6 : AF_INET;
	p->len = p->family == AF_INET ? 32 : 128;
	if (inet_pton(p->family, buf, p->addr) != 1 ||
	    (slash && opt_u32(slash + 1, 0, p->len, &p->len) < 0))
		return -1;
	c->nvip++;
	return 0;
}

/* Every --vip, each a comma-separated list of prefixes. */
static int parse_vips(const struct cmd *cmd, const struct optval *ov, struct lb_conf *c)
{
	const char *v, *s, *end;
	int n;

	for (n = 0; (v = opt_nth(cmd, ov, "vip", n)); n++)
		for (s = v;; s = end + 1) {
			end = strchrnul(s, ',');
			if (parse_vip_one(s, (size_t)(end - s), c) < 0)
				return usage_error(cmd, "bad vip '%s': want ADDR[/LEN][,...], "
						   "at most %u in all", v, LB_VIPS_MAX);
			if (*end == '\0')
				break;
		}
	return NFQLB_OK;
}

/* --shed, and the options that go with it. */
static int parse_shed(const struct cmd *cmd, const struct optval *ov, struct lb_conf *c)
{
	const char *v = opt_get(cmd, ov, "shed-mode");

	c->shed = opt_get(cmd, ov, "shed");
	c->syn_only = opt_get(cmd, ov, "syn-only") != NULL;
	if (c->shed && (!*c->shed || strlen(c->shed) >= IF_NAMESIZE))
		return usage_error(cmd, "bad shed interface '%s'", c->shed);
	if (!c->shed && (v || c->syn_only || (opt_get(cmd, ov, "vip") && !c->nbpf)))
		return usage_error(cmd, "--%s needs --shed",
				   v ? "shed-mode" : c->syn_only ? "syn-only" : "vip");
	if (v && shed_mode_parse(v) < 0)
		return usage_error(cmd, "bad shed-mode '%s': want auto, xdp or tc", v);
	c->shed_mode = v ? (enum shed_mode)shed_mode_parse(v) : SHED_AUTO;
	if (c->nbpf && c->shed && c->shed_mode == SHED_XDP)
		return usage_error(cmd, "--bpf needs --shed-mode tc: XDP would shed before the "
				   "fast path marks");
	if (c->nbpf)
		c->shed_mode = SHED_TC;
	if (!c->shed)
		return NFQLB_OK;
	if (!opt_get(cmd, ov, "vip"))
		return usage_error(cmd, "--shed needs --vip: the prefixes it may shed");
	return parse_vips(cmd, ov, c);
}

int lb_verdict_parse(const char *s, struct lb_verdict *v)
{
	uint32_t mark;

	*v = (struct lb_verdict){ NF_ACCEPT, 0, "" };
	if (strcmp(s, "drop") == 0)
		v->verdict = NF_DROP;
	else if (strncmp(s, "mark=", 5) == 0) {
		if (opt_u32(s + 5, 1, UINT32_MAX, &mark) < 0) {
			errno = EINVAL;
			return -1;
		}
		v->mark = mark;
	} else if (strcmp(s, "accept") != 0) {
		errno = EINVAL;
		return -1;
	}
	if (v->mark)
		snprintf(v->text, sizeof(v->text), "mark=0x%x", v->mark);
	else
		snprintf(v->text, sizeof(v->text), "%s",
			 v->verdict == NF_DROP ? "drop" : "accept");
	return 0;
}

/* --shm or --flows, and the verdicts that go with them. */
static int parse_serve(const struct cmd *cmd, const struct optval *ov, struct lb_conf *c)
{
	const char *v = opt_get(cmd, ov, "no-target");

	lb_verdict_parse("drop", &c->no_target);
	lb_verdict_parse("accept", &c->no_flow);
	if (v && lb_verdict_parse(v, &c->no_target) < 0)
		return usage_error(cmd, "bad no-target '%s': want drop, accept or mark=X", v);
	v = opt_get(cmd, ov, "no-flow");
	if (v && !opt_get(cmd, ov, "flows"))
		return usage_error(cmd, "--no-flow needs --flows");
	if (v && lb_verdict_parse(v, &c->no_flow) < 0)
		return usage_error(cmd, "bad no-flow '%s': want accept, drop or mark=X", v);
	v = opt_get(cmd, ov, "flows");
	if (!v)
		return table_name(cmd, ov, &c->name) ? NFQLB_USAGE : NFQLB_OK;
	if (opt_get(cmd, ov, "shm"))
		return usage_error(cmd, "--flows and --shm exclude each other: a flow names its table");
	c->flows = flowset_name(v);
	if (shm_name_why(c->flows))
		return usage_error(cmd, "bad flow set name '%s': %s", c->flows,
				   shm_name_why(c->flows));
	return NFQLB_OK;
}

/* --frag-timeout and --frag-max. */
static int parse_frag(const struct cmd *cmd, const struct optval *ov, struct lb_conf *c)
{
	const char *v = opt_get(cmd, ov, "frag-timeout");

	c->frag_timeout = FRAG_TIMEOUT_DEFAULT;
	c->frag_max = FRAG_MAX_DEFAULT;
	if (v && opt_u32(v, 1, FRAG_TIMEOUT_LIMIT, &c->frag_timeout) < 0)
		return usage_error(cmd, "bad frag-timeout '%s': want 1..%u ms", v,
				   FRAG_TIMEOUT_LIMIT);
	v = opt_get(cmd, ov, "frag-max");
	if (v && opt_u32(v, 1, FRAG_MAX_LIMIT, &c->frag_max) < 0)
		return usage_error(cmd, "bad frag-max '%s': want 1..%u", v, FRAG_MAX_LIMIT);
	return NFQLB_OK;
}

/* --bpf's interfaces, comma-separated. */
static int parse_bpf_ifs(const struct cmd *cmd, const char *v, struct lb_conf *c)
{
	const char *s = v, *end;
	size_t n;

	for (; *s; s = *end ? end + 1 : end) {
		end = strchr(s, ',');
		if (!end)
			end = s + strlen(s);
		n = (size_t)(end - s);
		if (n == 0 || n >= LB_IFNAME || c->nbpf == LB_BPF_IFS)
			return usage_error(cmd, "bad bpf '%s': want at most %d interface names, "
					   "comma-separated", v, LB_BPF_IFS);
		memcpy(c->bpf_if[c->nbpf], s, n);
		c->bpf_if[c->nbpf++][n] = '\0';
	}
	return c->nbpf ? NFQLB_OK : usage_error(cmd, "bad bpf '': want an interface name");
}

/* --shm --bpf: what the fast path may mark, as one flow of the table. */
static int parse_bpf_flow(const struct cmd *cmd, const struct optval *ov, struct lb_conf *c)
{
	struct flow *f = &c->bpf_flow;
	char why[WHY_MAX];
	const char *v;

	snprintf(f->name, sizeof(f->name), "shm");
	snprintf(f->table, sizeof(f->table), "%s", c->name);
	v = opt_get(cmd, ov, "vip");
	if (!v)
		return usage_error(cmd, "--bpf with --shm needs --vip: the prefixes the fast "
				   "path marks");
	if (flowtext_cidrs(v, f->dst, &f->ndst, why) < 0)
		return usage_error(cmd, "bad vip '%s': %s", v, why);
	v = opt_get(cmd, ov, "proto");
	if (v && (flowtext_protos(v, &f->protos, why) < 0 || (f->protos & FLOW_P_ICMP)))
		return usage_error(cmd, "bad proto '%s': want tcp, udp or sctp, comma-separated", v);
	v = opt_get(cmd, ov, "port");
	if (v && flowtext_ports(v, f->dport, &f->ndport, why) < 0)
		return usage_error(cmd, "bad port '%s': %s", v, why);
	return NFQLB_OK;
}

/* --bpf, and with --shm the flow it marks. */
static int parse_bpf(const struct cmd *cmd, const struct optval *ov, struct lb_conf *c)
{
	const char *v = opt_get(cmd, ov, "bpf");
	int r;

	if (!v) {
		if (opt_get(cmd, ov, "proto") || opt_get(cmd, ov, "port"))
			return usage_error(cmd, "--%s needs --bpf",
					   opt_get(cmd, ov, "proto") ? "proto" : "port");
		return NFQLB_OK;
	}
	if ((r = parse_bpf_ifs(cmd, v, c)))
		return r;
	if (c->flows) {
		if (opt_get(cmd, ov, "proto") || opt_get(cmd, ov, "port") ||
		    (opt_get(cmd, ov, "vip") && !opt_get(cmd, ov, "shed")))
			return usage_error(cmd, "with --flows, --bpf marks what the flows match: "
					   "--vip, --proto and --port are for --shm");
		return NFQLB_OK;
	}
	return parse_bpf_flow(cmd, ov, c);
}

int lb_conf_parse(const struct cmd *cmd, const struct optval *ov, int argc,
		  char **argv, struct lb_conf *c)
{
	const char *v;
	int r;

	*c = (struct lb_conf){ .qlength = QLENGTH_DEFAULT,
			       .fail_open = opt_get(cmd, ov, "fail-open") != NULL };
	if (opt_operands(cmd, ov, argc, argv, 0))
		return NFQLB_USAGE;
	if ((r = parse_serve(cmd, ov, c)))
		return r;
	v = opt_get(cmd, ov, "queue");
	if (parse_queues(v, c) < 0)
		return usage_error(cmd, "bad queue '%s': want N or A:B within 0..65535, at most %u queues",
				   v, QUEUE_MAX);
	v = opt_get(cmd, ov, "qlength");
	if (v && opt_u32(v, 1, 1u << 24, &c->qlength) < 0)
		return usage_error(cmd, "bad qlength '%s': want 1..16777216", v);
	if ((r = parse_bpf(cmd, ov, c)) || (r = parse_shed(cmd, ov, c)) ||
	    (r = parse_frag(cmd, ov, c)))
		return r;
	return parse_sched(cmd, ov, c);
}
