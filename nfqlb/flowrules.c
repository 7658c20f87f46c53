/* SPDX-License-Identifier: GPL-2.0-or-later */
/* flowrules.c: the iptables matches of a flow set (see flowrules.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "nfqlb/flowrules.h"
#include "shm/why.h"

#define SPEC_MAX 256	/* "-d PREFIX -p sctp -m multiport --dports" + 15 ports */
#define PREFIX_MAX (INET6_ADDRSTRLEN + 4)

static const char *const errors4[] = {
	"-p icmp -m icmp --icmp-type destination-unreachable",
	"-p icmp -m icmp --icmp-type time-exceeded",
	"-p icmp -m icmp --icmp-type parameter-problem",
	NULL,
};

static const char *const errors6[] = {
	"-p ipv6-icmp -m icmp6 --icmpv6-type destination-unreachable",
	"-p ipv6-icmp -m icmp6 --icmpv6-type packet-too-big",
	"-p ipv6-icmp -m icmp6 --icmpv6-type time-exceeded",
	"-p ipv6-icmp -m icmp6 --icmpv6-type parameter-problem",
	NULL,
};

static const char *const echo4[] = {
	"-p icmp -m icmp --icmp-type echo-request",
	"-p icmp -m icmp --icmp-type echo-reply",
	NULL,
};

static const char *const echo6[] = {
	"-p ipv6-icmp -m icmp6 --icmpv6-type echo-request",
	"-p ipv6-icmp -m icmp6 --icmpv6-type echo-reply",
	NULL,
};

/* The protocols that carry ports, in the order their specs come. */
static const struct {
	uint32_t bit;
	const char *name;
} port_protos[] = {
	{ FLOW_P_TCP, "tcp" },
	{ FLOW_P_UDP, "udp" },
	{ FLOW_P_SCTP, "sctp" },
};

const char *const *flowrules_icmp_errors(int family)
{
	return family == AF_INET ? errors4 : errors6;
}

const char *flowrules_icmp_proto(int family)
{
	return family == AF_INET ? "icmp" : "ipv6-icmp";
}

/* ------------------------------------------------------------ the list */

struct builder {
	struct flowrules *r;
	size_t cap;
	char (*prefix)[PREFIX_MAX];	/* every prefix of the family seen */
	size_t nprefix, prefix_cap;
};

static int grow(void **arr, size_t *cap, size_t want, size_t size)
{
	size_t ncap = *cap ? *cap * 2 : 64;
	void *a;

	if (want <= *cap)
		return 0;
	a = realloc(*arr, ncap * size);
	if (!a)
		return -1;
	*arr = a;
	*cap = ncap;
	return 0;
}

/* Append "-d PREFIX" and the spec built by fmt. */
static int add(struct builder *b, const char *prefix, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int add(struct builder *b, const char *prefix, const char *fmt, ...)
{
	struct flowrules *r = b->r;
	char buf[SPEC_MAX];
	int len = snprintf(buf, sizeof(buf), "-d %s", prefix);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf + len, sizeof(buf) - (size_t)len, fmt, ap);
	va_end(ap);
	if (grow((void **)&r->spec, &b->cap, r->n + 1, sizeof(*r->spec)) < 0)
		return -1;
	r->spec[r->n] = strdup(buf);
	if (!r->spec[r->n])
		return -1;
	r->n++;
	return 0;
}

static int add_list(struct builder *b, const char *prefix, const char *const *list)
{
	for (; *list; list++)
		if (add(b, prefix, " %s", *list) < 0)
			return -1;
	return 0;
}

/* ------------------------------------------------------------ one flow */

/* A prefix of struct flow_cidr's form in iptables' text, into buf. */
static void prefix_text(const struct flow_cidr *c, char *buf)
{
	unsigned char bytes[16];
	char addr[INET6_ADDRSTRLEN];
	int i;

	for (i = 0; i < 4; i++) {
		bytes[4 * i] = (unsigned char)(c->w[i] >> 24);
		bytes[4 * i + 1] = (unsigned char)(c->w[i] >> 16);
		bytes[4 * i + 2] = (unsigned char)(c->w[i] >> 8);
		bytes[4 * i + 3] = (unsigned char)c->w[i];
	}
	if (c->family == AF_INET) {
		inet_ntop(AF_INET, bytes + 12, addr, sizeof(addr));
		snprintf(buf, PREFIX_MAX, "%s/%u", addr, c->len >= 96 ? c->len - 96u : 0u);
	} else {
		inet_ntop(AF_INET6, bytes, addr, sizeof(addr));
		snprintf(buf, PREFIX_MAX, "%s/%u", addr, c->len);
	}
}

/* ",LO" or ",LO:HI" appended to buf at *len. */
static void port_text(const struct flow_ports *p, char *buf, size_t *len, bool first)
{
	*len += (size_t)snprintf(buf + *len, SPEC_MAX - *len, "%s%u", first ? "" : ",", p->lo);
	if (p->hi != p->lo)
		*len += (size_t)snprintf(buf + *len, SPEC_MAX - *len, ":%u", p->hi);
}

/* One protocol's specs: one port or range by --dport, more by multiport. */
static int add_ports(struct builder *b, const char *prefix, const char *proto,
		     const struct flow *f)
{
	char ports[SPEC_MAX];
	size_t i = 0, len, used;

	if (f->ndport == 0)
		return add(b, prefix, " -p %s", proto);
	if (f->ndport == 1) {
		len = 0;
		port_text(&f->dport[0], ports, &len, true);
		return add(b, prefix, " -p %s -m %s --dport %s", proto, proto, ports);
	}
	while (i < f->ndport) {
		for (len = 0, used = 0; i < f->ndport; i++) {
			size_t cost = f->dport[i].lo == f->dport[i].hi ? 1 : 2;

			if (used + cost > FLOWRULES_MULTIPORT_MAX)
				break;
			port_text(&f->dport[i], ports, &len, used == 0);
			used += cost;
		}
		if (add(b, prefix, " -p %s -m multiport --dports %s", proto, ports) < 0)
			return -1;
	}
	return 0;
}

static int remember_prefix(struct builder *b, const char *prefix)
{
	if (grow((void **)&b->prefix, &b->prefix_cap, b->nprefix + 1, sizeof(*b->prefix)) < 0)
		return -1;
	memcpy(b->prefix[b->nprefix++], prefix, PREFIX_MAX);
	return 0;
}

/* The specs of one flow and one of its prefixes. */
static int add_prefix(struct builder *b, const struct flow *f, int family,
		      const char *prefix)
{
	uint32_t protos = f->protos ? f->protos : FLOW_P_ALL;
	size_t i;

	if (remember_prefix(b, prefix) < 0)
		return -1;
	if (!f->protos && !f->ndport)
		return add(b, prefix, "%s", "");
	for (i = 0; i < sizeof(port_protos) / sizeof(port_protos[0]); i++)
		if ((protos & port_protos[i].bit) &&
		    add_ports(b, prefix, port_protos[i].name, f) < 0)
			return -1;
	if ((protos & FLOW_P_SCTP) && f->udp_encap &&
	    add(b, prefix, " -p udp -m udp --dport %u", f->udp_encap) < 0)
		return -1;
	if (protos & FLOW_P_ICMP)
		return add_list(b, prefix, family == AF_INET ? echo4 : echo6);
	return 0;
}

static int add_flow(struct builder *b, const struct flow *f, int family)
{
	char prefix[PREFIX_MAX];
	bool any = false;
	size_t i;

	for (i = 0; i < f->ndst; i++) {
		if (f->dst[i].family != family)
			continue;
		prefix_text(&f->dst[i], prefix);
		if (add_prefix(b, f, family, prefix) < 0)
			return -1;
		any = true;
	}
	b->r->flows += any;
	return 0;
}

/* ------------------------------------------------------------ the set */

static int cmp_prefix(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* The ICMP errors addressed to every prefix seen, each prefix once. */
static int add_errors(struct builder *b, int family)
{
	size_t i;

	if (b->nprefix == 0)
		return 0;
	qsort(b->prefix, b->nprefix, sizeof(*b->prefix), cmp_prefix);
	for (i = 0; i < b->nprefix; i++) {
		if (i && !strcmp(b->prefix[i], b->prefix[i - 1]))
			continue;
		if (add_list(b, b->prefix[i], flowrules_icmp_errors(family)) < 0)
			return -1;
	}
	return 0;
}

static int cmp_spec_at(const void *a, const void *b, void *arg)
{
	char **spec = arg;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int c = strcmp(spec[x], spec[y]);

	return c ? c : (x > y) - (x < y);
}

/* Drop every spec given before, keeping the first one's place. */
static int dedup(struct flowrules *r)
{
	size_t *idx, i, k = 0, first = 0;

	if (r->n == 0)
		return 0;
	idx = malloc(r->n * sizeof(*idx));
	if (!idx)
		return -1;
	for (i = 0; i < r->n; i++)
		idx[i] = i;
	/* Sorted by text, then by place: each run of equals starts with the
	 * first given, which stays. */
	qsort_r(idx, r->n, sizeof(*idx), cmp_spec_at, r->spec);
	for (i = 1; i < r->n; i++) {
		if (strcmp(r->spec[idx[i]], r->spec[idx[first]])) {
			first = i;
			continue;
		}
		free(r->spec[idx[i]]);
		r->spec[idx[i]] = NULL;
	}
	free(idx);
	for (i = 0; i < r->n; i++)
		if (r->spec[i])
			r->spec[k++] = r->spec[i];
	r->n = k;
	return 0;
}

static int check_dst(const struct flow *f, size_t n, char *why)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (f[i].ndst == 0) {
			snprintf(why, WHY_MAX, "flow '%s' has no --dst (give one;"
				 " 0.0.0.0/0 or ::/0 means every address)", f[i].name);
			errno = EINVAL;
			return -1;
		}
	return 0;
}

int flowrules_build(const struct flow *f, size_t n, int family, unsigned flags,
		    struct flowrules *r, char *why)
{
	struct builder b = { .r = r };
	size_t i;
	int ret = 0;

	memset(r, 0, sizeof(*r));
	if (check_dst(f, n, why) < 0)
		return -1;
	for (i = 0; ret == 0 && i < n; i++)
		ret = add_flow(&b, &f[i], family);
	if (ret == 0 && !(flags & FLOWRULES_NO_ERRORS))
		ret = add_errors(&b, family);
	if (ret == 0)
		ret = dedup(r);
	free(b.prefix);
	if (ret == 0)
		return 0;
	flowrules_free(r);
	snprintf(why, WHY_MAX, "%s", strerror(ENOMEM));
	errno = ENOMEM;
	return -1;
}

void flowrules_free(struct flowrules *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		free(r->spec[i]);
	free(r->spec);
	memset(r, 0, sizeof(*r));
}
