/* SPDX-License-Identifier: GPL-2.0-or-later */
/* lookup.c: `nfqlb lookup`: where would the worker send this packet?  It
 * builds the packet's bytes and runs the worker's own decision (lb.c) on
 * them, against the published flow set or table. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "flows/flowset.h"
#include "nfqlb/cli.h"
#include "nfqlb/json.h"
#include "nfqlb/lb.h"
#include "nfqlb/table.h"

#define PKT_MAX 128

static const struct opt lookup_opts[] = {
	OPT_SHM,
	{ "flows", "NAME", "look up in this flow set (instead of one table, --shm)" },
	{ "src", "ADDR", "the packet's source address (required)" },
	{ "dst", "ADDR", "the packet's destination address (required)" },
	{ "proto", "P", "tcp, udp, sctp, icmp (an echo request) or a protocol number (required)" },
	{ "sport", "N", "source port; for icmp, the echo id (default 0)" },
	{ "dport", "N", "destination port (default 0)" },
	{ "json", NULL, "print one JSON object" },
	{ NULL, NULL, NULL },
};

/* The packet asked about. */
struct probe {
	int family;
	uint8_t src[16], dst[16];
	uint8_t proto;
	uint16_t sport, dport;
};

/* What was found: the decision and where it came from. */
struct found {
	struct lb_result r;
	const char *flow, *table;
	uint64_t hash;
	uint32_t m, target;
	bool usable;		/* the table could be opened */
};

static int parse_proto(const char *s, uint8_t *proto)
{
	static const struct { const char *name; uint8_t num; } names[] = {
		{ "tcp", IPPROTO_TCP }, { "udp", IPPROTO_UDP },
		{ "sctp", IPPROTO_SCTP }, { "icmp", IPPROTO_ICMP },
	};
	uint32_t v;
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(s, names[i].name) == 0) {
			*proto = names[i].num;
			return 0;
		}
	if (opt_u32(s, 0, 255, &v) < 0)
		return -1;
	*proto = (uint8_t)v;
	return 0;
}

static int parse_addrs(const struct cmd *cmd, const struct optval *ov, struct probe *p)
{
	const char *src = opt_get(cmd, ov, "src"), *dst = opt_get(cmd, ov, "dst");

	if (!src || !dst)
		return usage_error(cmd, "--src and --dst are required");
	p->family = strchr(src, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(p->family, src, p->src) != 1)
		return usage_error(cmd, "bad src '%s': want an IPv4 or IPv6 address", src);
	if ((strchr(dst, ':') ? AF_INET6 : AF_INET) != p->family)
		return usage_error(cmd, "--src and --dst must be of one family");
	if (inet_pton(p->family, dst, p->dst) != 1)
		return usage_error(cmd, "bad dst '%s': want an IPv4 or IPv6 address", dst);
	return NFQLB_OK;
}

static int parse_probe(const struct cmd *cmd, const struct optval *ov, struct probe *p)
{
	const char *v = opt_get(cmd, ov, "proto");
	uint32_t port = 0;
	int r;

	if ((r = parse_addrs(cmd, ov, p)))
		return r;
	if (!v)
		return usage_error(cmd, "--proto is required");
	if (parse_proto(v, &p->proto) < 0)
		return usage_error(cmd, "bad proto '%s': want tcp, udp, sctp, icmp or 0..255", v);
	if (p->proto == IPPROTO_ICMP && p->family == AF_INET6)
		p->proto = IPPROTO_ICMPV6;
	if ((v = opt_get(cmd, ov, "sport")) && opt_u32(v, 0, 65535, &port) < 0)
		return usage_error(cmd, "bad sport '%s': want 0..65535", v);
	p->sport = (uint16_t)port;
	port = 0;
	if ((v = opt_get(cmd, ov, "dport")) && opt_u32(v, 0, 65535, &port) < 0)
		return usage_error(cmd, "bad dport '%s': want 0..65535", v);
	p->dport = (uint16_t)port;
	return NFQLB_OK;
}

static void put16(uint8_t *b, uint16_t v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

/* The transport header at b; returns its length. */
static size_t build_l4(const struct probe *p, uint8_t *b)
{
	switch (p->proto) {
	case IPPROTO_TCP:
		put16(b, p->sport);
		put16(b + 2, p->dport);
		b[12] = 5 << 4;
		b[13] = 0x02;	/* SYN */
		return 20;
	case IPPROTO_UDP:
		put16(b, p->sport);
		put16(b + 2, p->dport);
		put16(b + 4, 8);
		return 8;
	case IPPROTO_SCTP:
		put16(b, p->sport);
		put16(b + 2, p->dport);
		return 12;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		b[0] = p->proto == IPPROTO_ICMP ? 8 : 128;	/* echo request */
		put16(b + 4, p->sport);
		return 8;
	}
	return 0;
}

/* The packet's bytes, as the worker would see them; returns the length. */
static size_t build_packet(const struct probe *p, uint8_t *b)
{
	size_t hl = p->family == AF_INET ? 20 : 40, l4;

	memset(b, 0, PKT_MAX);
	l4 = build_l4(p, b + hl);
	if (p->family == AF_INET) {
		b[0] = 0x45;
		put16(b + 2, (uint16_t)(hl + l4));
		b[8] = 64;
		b[9] = p->proto;
		memcpy(b + 12, p->src, 4);
		memcpy(b + 16, p->dst, 4);
	} else {
		b[0] = 0x60;
		put16(b + 4, (uint16_t)l4);
		b[6] = p->proto;
		b[7] = 64;
		memcpy(b + 8, p->src, 16);
		memcpy(b + 24, p->dst, 16);
	}
	return hl + l4;
}

/* A table's view, for one lookup; shm NULL when it cannot be opened. */
struct ltable {
	struct shm *s;
	struct shm_view v;
	char why[WHY_MAX];
};

static int ltable_open(struct ltable *t, const char *name)
{
	memset(t, 0, sizeof(*t));
	t->s = shm_attach(name, false, t->why);
	if (!t->s)
		return -1;
	if (shm_view_init(&t->v, t->s->m, t->s->n) == 0 && shm_read(t->s, &t->v, t->why) == 0)
		return 0;
	if (!t->why[0])
		snprintf(t->why, sizeof(t->why), "%s", strerror(errno));
	shm_view_free(&t->v);
	shm_detach(t->s);
	t->s = NULL;
	return -1;
}

static void ltable_close(struct ltable *t)
{
	shm_view_free(&t->v);
	shm_detach(t->s);
}

/* The hash, entry and target of a result against an open table. */
static void fill_found(struct found *f, const struct ltable *t)
{
	f->usable = true;
	f->m = t->s->m;
	f->hash = hash_flow(f->r.key.w, t->s->mode, t->s->seed);
	f->target = f->r.slot == SHM_NO_SLOT ? 0 : t->v.targets[f->r.slot].id;
}

static int lookup_table(const struct cmd *cmd, const char *name,
			const struct queue_pkt *pkt, struct found *f)
{
	struct ltable t;

	if (ltable_open(&t, name) < 0)
		return cmd_error(cmd, "table \"%s\": %s", name, t.why);
	lb_lookup_batch(&t.v, t.s->mode, t.s->seed, pkt, 1, &f->r);
	f->table = name;
	fill_found(f, &t);
	ltable_close(&t);
	return NFQLB_OK;
}

/* Match the flow, then look up in its table only. */
static int lookup_flows(const struct cmd *cmd, const char *name,
			const struct queue_pkt *pkt, struct found *f,
			struct flowset_view *fv)
{
	struct lb_table lt = { NULL, 1, 0, HASH_5TUPLE };
	char why[WHY_MAX] = "";
	struct flowset *fs = flow_open(cmd, name, false, false);
	struct flow_match *m = NULL;
	uint32_t *zero = NULL;
	struct ltable t = { 0 };
	int r = NFQLB_FAIL;

	if (!fs)
		return NFQLB_FAIL;
	if (flowset_view_init(fv) < 0 || flowset_read(fs, fv, why) < 0 ||
	    !(m = flow_match_build(fv->flows, fv->n, why)) ||
	    !(zero = calloc(fv->n ? fv->n : 1, sizeof(*zero)))) {
		cmd_error(cmd, "flow set \"%s\": %s", name, why[0] ? why : strerror(errno));
		goto out;
	}
	lb_flows_match(&(struct lb_flows){ m, zero, &lt }, pkt, 1, &f->r);
	r = NFQLB_OK;
	f->r.slot = SHM_NO_SLOT;
	if (f->r.flow < 0)
		goto out;
	f->flow = fv->flows[f->r.flow].name;
	f->table = fv->flows[f->r.flow].table;
	if (ltable_open(&t, f->table) < 0)
		goto out;
	lt = (struct lb_table){ t.v.lookup, t.s->m, t.s->seed, t.s->mode };
	lb_flows_lookup(&(struct lb_flows){ m, zero, &lt }, &f->r, 1);
	fill_found(f, &t);
	ltable_close(&t);
out:
	free(zero);
	flow_match_free(m);
	flowset_detach(fs);
	return r;
}

static void print_text(const struct found *f, bool flows)
{
	if (flows && f->r.flow < 0) {
		printf("no flow: the packet gets the no-flow verdict (lb --no-flow)\n");
		return;
	}
	if (flows)
		printf("flow %s\n", f->flow);
	if (!f->usable) {
		printf("table %s: cannot be opened: the packet gets the no-target verdict\n",
		       f->table);
		return;
	}
	printf("table %s\nhash 0x%016llx\nentry %u of %u\n", f->table,
	       (unsigned long long)f->hash, f->r.entry, f->m);
	if (f->r.slot == SHM_NO_SLOT)
		printf("target none: the packet gets the no-target verdict (lb --no-target)\n");
	else
		printf("target %u (fwmark 0x%x)\n", f->target, f->target);
}

static void print_json(const struct found *f, bool flows)
{
	printf("{\"kind\":\"%s\"", pkt_kind_name((enum pkt_kind)f->r.kind));
	if (flows && f->r.flow >= 0)
		printf(",\"flow\":\"%s\"", f->flow);
	else if (flows)
		printf(",\"flow\":null");
	if (f->table) {
		printf(",\"table\":");
		json_str(f->table);
	}
	if (f->usable)
		printf(",\"hash\":\"0x%016llx\",\"entry\":%u,\"m\":%u", (unsigned long long)f->hash,
		       f->r.entry, f->m);
	if (f->usable && f->r.slot != SHM_NO_SLOT)
		printf(",\"target\":%u,\"fwmark\":%u}\n", f->target, f->target);
	else
		printf(",\"target\":null,\"fwmark\":null,\"verdict\":\"%s\"}\n",
		       flows && f->r.flow < 0 ? "no-flow" : "no-target");
}

static int do_lookup(const struct cmd *cmd, const struct optval *ov, int argc,
		     char **argv)
{
	const char *flows = opt_get(cmd, ov, "flows"), *name = NULL;
	struct flowset_view fv = { 0 };
	uint8_t bytes[PKT_MAX];
	struct found f = { 0 };
	struct queue_pkt pkt;
	struct probe p = { 0 };
	int r;

	if ((r = opt_operands(cmd, ov, argc, argv, 0)) || (r = parse_probe(cmd, ov, &p)))
		return r;
	if (flows && opt_get(cmd, ov, "shm"))
		return usage_error(cmd, "--flows and --shm exclude each other");
	if (!flows && table_name(cmd, ov, &name))
		return NFQLB_USAGE;
	pkt = (struct queue_pkt){ 0, (uint32_t)build_packet(&p, bytes), bytes };
	if (flows)
		r = lookup_flows(cmd, flowset_name(flows), &pkt, &f, &fv);
	else
		r = lookup_table(cmd, name, &pkt, &f);
	if (r == NFQLB_OK && opt_get(cmd, ov, "json"))
		print_json(&f, flows != NULL);
	else if (r == NFQLB_OK)
		print_text(&f, flows != NULL);
	flowset_view_free(&fv);
	return r;
}

const struct cmd cmd_lookup = {
	"lookup", do_lookup, "print where the worker sends a packet: flow, hash, entry, target",
	NULL, lookup_opts,
};
