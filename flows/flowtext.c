/* SPDX-License-Identifier: GPL-2.0-or-later */
/* flowtext.c: a flow's fields to and from text (see flowtext.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "flows/flowtext.h"
#include "shm/why.h"

#define STR_(x) #x
#define STR(x) STR_(x)

static const char *const proto_names[] = { "tcp", "udp", "sctp", "icmp" };

#define NPROTOS (sizeof(proto_names) / sizeof(proto_names[0]))
_Static_assert(FLOW_P_ALL == (1u << NPROTOS) - 1, "a name for every protocol bit");

const char *flowtext_name_why(const char *name)
{
	size_t i, n = strlen(name);

	if (n == 0)
		return "a flow name must not be empty";
	if (n > FLOW_NAME_MAX)
		return "a flow name must not be longer than " STR(FLOW_NAME_MAX) " bytes";
	if (name[0] == '-')
		return "a flow name must not start with '-'";
	for (i = 0; i < n; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= 'A' && name[i] <= 'Z') ||
		      (name[i] >= '0' && name[i] <= '9') || strchr("._-", name[i])))
			return "a flow name takes only letters, digits, '.', '_' and '-'";
	return NULL;
}

const char *flowtext_proto_name(unsigned int i)
{
	return i < NPROTOS ? proto_names[i] : NULL;
}

/* Walks the comma-separated items of a list, each copied into item. */
struct items {
	const char *next;	/* the rest of the list, or NULL at its end */
	const char *list;	/* the whole list, for the reasons */
	char item[FLOWTEXT_ITEM];
};

/* The next item: 1, 0 at the end, -1 (why filled) for an empty or
 * overlong one. */
static int items_next(struct items *it, const char *what, char *why)
{
	const char *s = it->next;
	size_t n;

	if (!s)
		return 0;
	n = strcspn(s, ",");
	it->next = s[n] ? s + n + 1 : NULL;
	if (n == 0)
		return why_fail(EINVAL, why, "empty item in %s list '%.64s'", what, it->list);
	if (n >= sizeof(it->item))
		return why_fail(EINVAL, why, "bad %s '%.64s...': too long", what, s);
	memcpy(it->item, s, n);
	it->item[n] = '\0';
	return 1;
}

int flowtext_protos(const char *s, uint32_t *protos, char *why)
{
	struct items it = { s, s, "" };
	unsigned int i;
	int r;

	*protos = 0;
	while ((r = items_next(&it, "protocol", why)) > 0) {
		for (i = 0; i < NPROTOS && strcmp(it.item, proto_names[i]); i++)
			;
		if (i == NPROTOS)
			return why_fail(EINVAL, why, "unknown protocol '%s': want tcp, udp, "
					"sctp or icmp", it.item);
		*protos |= 1u << i;
	}
	return r;
}

/* A decimal number of at most 10 digits, no sign, no leading 0 unless it
 * is "0", within [min, max].  Returns 0 or -1. */
static int dec(const char *s, long long min, long long max, long long *out)
{
	long long v = 0;
	size_t i, n = strlen(s);

	if (n == 0 || n > 10 || (s[0] == '0' && n > 1))
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* The words of the 128-bit form (flow.h) of an address in network order. */
static void words(const unsigned char *a, int family, uint32_t *w)
{
	int i;

	if (family == AF_INET) {
		w[0] = w[1] = 0;
		w[2] = 0xffff;
		w[3] = (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3];
		return;
	}
	for (i = 0; i < 4; i++)
		w[i] = (uint32_t)a[4 * i] << 24 | (uint32_t)a[4 * i + 1] << 16 |
		       (uint32_t)a[4 * i + 2] << 8 | a[4 * i + 3];
}

/* Clear the bits of w past len; returns whether any was set. */
static bool mask(uint32_t *w, unsigned int len)
{
	bool set = false;
	unsigned int i;

	for (i = 0; i < 4; i++) {
		unsigned int keep = len > 32 * i ? len - 32 * i : 0;
		uint32_t m = keep >= 32 ? UINT32_MAX : keep ? ~(UINT32_MAX >> keep) : 0;

		set |= (w[i] & ~m) != 0;
		w[i] &= m;
	}
	return set;
}

static int cidr_parse(char *item, struct flow_cidr *c, char *why)
{
	unsigned char a[16];
	char *slash = strchr(item, '/'), shown[FLOWTEXT_ITEM];
	int family = strchr(item, ':') ? AF_INET6 : AF_INET;
	int max = family == AF_INET ? 32 : 128;
	long long len = max;

	if (slash)
		*slash = '\0';
	if (inet_pton(family, item, a) != 1)
		return why_fail(EINVAL, why, "bad prefix '%s': want an IPv4 or IPv6 address, "
				"maybe with /LEN", item);
	if (slash && dec(slash + 1, 0, max, &len) < 0)
		return why_fail(EINVAL, why, "bad prefix '%s/%s': the length must be 0..%d",
				item, slash + 1, max);
	*c = (struct flow_cidr){ .family = (uint8_t)family };
	c->len = (uint8_t)(len + (family == AF_INET ? 96 : 0));
	words(a, family, c->w);
	if (family == AF_INET6 && c->len >= 96 && !c->w[0] && !c->w[1] && c->w[2] == 0xffff)
		return why_fail(EINVAL, why, "'%s' is an IPv4-mapped IPv6 prefix, which never "
				"matches: write the IPv4 prefix", item);
	if (mask(c->w, c->len)) {
		flowtext_fmt_cidr(c, shown, sizeof(shown));
		return why_fail(EINVAL, why, "'%s/%s' has bits set past its length: only "
				"canonical prefixes are taken (did you mean %s?)", item,
				slash + 1, shown);
	}
	return 0;
}

int flowtext_cidrs(const char *s, struct flow_cidr *c, uint16_t *n, char *why)
{
	struct items it = { s, s, "" };
	int r;

	*n = 0;
	while ((r = items_next(&it, "prefix", why)) > 0) {
		if (*n == FLOW_CIDR_MAX)
			return why_fail(EINVAL, why, "more than " STR(FLOW_CIDR_MAX)
					" prefixes");
		if (cidr_parse(it.item, &c[*n], why) < 0)
			return -1;
		(*n)++;
	}
	return r;
}

static int port_parse(const char *s, uint16_t *port, char *why)
{
	long long v;

	if (dec(s, 1, 65535, &v) < 0)
		return why_fail(EINVAL, why, "bad port '%s': want 1..65535", s);
	*port = (uint16_t)v;
	return 0;
}

int flowtext_ports(const char *s, struct flow_ports *p, uint16_t *n, char *why)
{
	struct items it = { s, s, "" };
	char *dash;
	int r;

	*n = 0;
	while ((r = items_next(&it, "port", why)) > 0) {
		if (*n == FLOW_PORT_MAX)
			return why_fail(EINVAL, why, "more than " STR(FLOW_PORT_MAX)
					" ports or ranges");
		dash = strchr(it.item, '-');
		if (dash)
			*dash = '\0';
		if (port_parse(it.item, &p[*n].lo, why) < 0 ||
		    port_parse(dash ? dash + 1 : it.item, &p[*n].hi, why) < 0)
			return -1;
		if (p[*n].lo > p[*n].hi)
			return why_fail(EINVAL, why, "bad range '%u-%u': the low end is above "
					"the high end", p[*n].lo, p[*n].hi);
		(*n)++;
	}
	return r;
}

int flowtext_prio(const char *s, int32_t *prio, char *why)
{
	long long v;
	bool neg = s[0] == '-';

	if (dec(s + neg, 0, FLOW_PRIO_MAX, &v) < 0 || (neg && v == 0))
		return why_fail(EINVAL, why, "bad prio '%s': want " STR(FLOW_PRIO_MIN) ".."
				STR(FLOW_PRIO_MAX), s);
	*prio = (int32_t)(neg ? -v : v);
	return 0;
}

int flowtext_port(const char *s, uint16_t *port, char *why)
{
	return port_parse(s, port, why);
}

void flowtext_fmt_protos(uint32_t protos, char *buf, size_t len)
{
	size_t at = 0;
	unsigned int i;

	buf[0] = '\0';
	for (i = 0; i < NPROTOS; i++)
		if (protos & (1u << i) && at < len)
			at += (size_t)snprintf(buf + at, len - at, "%s%s", at ? "," : "",
					       proto_names[i]);
}

void flowtext_fmt_cidr(const struct flow_cidr *c, char *buf, size_t len)
{
	unsigned char a[16];
	char text[INET6_ADDRSTRLEN];
	int i, v4 = c->family == AF_INET;

	for (i = 0; i < 16; i++)
		a[i] = (unsigned char)(c->w[i / 4] >> (24 - 8 * (i % 4)));
	if (!inet_ntop(v4 ? AF_INET : AF_INET6, v4 ? a + 12 : a, text, sizeof(text)))
		snprintf(text, sizeof(text), "?");
	snprintf(buf, len, "%s/%d", text, v4 ? c->len - 96 : c->len);
}

void flowtext_fmt_cidrs(const struct flow_cidr *c, size_t n, char *buf, size_t len)
{
	char item[FLOWTEXT_ITEM];
	size_t i, at = 0;

	buf[0] = '\0';
	for (i = 0; i < n && at < len; i++) {
		flowtext_fmt_cidr(&c[i], item, sizeof(item));
		at += (size_t)snprintf(buf + at, len - at, "%s%s", i ? "," : "", item);
	}
}

void flowtext_fmt_port(const struct flow_ports *p, char *buf, size_t len)
{
	if (p->lo == p->hi)
		snprintf(buf, len, "%u", p->lo);
	else
		snprintf(buf, len, "%u-%u", p->lo, p->hi);
}

void flowtext_fmt_ports(const struct flow_ports *p, size_t n, char *buf, size_t len)
{
	char item[FLOWTEXT_ITEM];
	size_t i, at = 0;

	buf[0] = '\0';
	for (i = 0; i < n && at < len; i++) {
		flowtext_fmt_port(&p[i], item, sizeof(item));
		at += (size_t)snprintf(buf + at, len - at, "%s%s", i ? "," : "", item);
	}
}
