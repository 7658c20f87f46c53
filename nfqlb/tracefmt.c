/* SPDX-License-Identifier: GPL-2.0-or-later */
/* tracefmt.c: a decision as text or JSON (see tracefmt.h). */
#include <arpa/inet.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "nfqlb/pkt.h"
#include "nfqlb/json.h"
#include "nfqlb/tracefmt.h"

static bool is_v4(const uint32_t *w)
{
	return w[0] == 0 && w[1] == 0 && w[2] == 0xffff;
}

char *tracefmt_addr(const uint32_t *w, char *buf, size_t len)
{
	uint32_t net[4];
	int i;

	for (i = 0; i < 4; i++)
		net[i] = htonl(w[i]);
	if (is_v4(w))
		inet_ntop(AF_INET, &net[3], buf, (socklen_t)len);
	else
		inet_ntop(AF_INET6, net, buf, (socklen_t)len);
	return buf;
}

static const char *proto_name(uint32_t p, char *buf, size_t len)
{
	switch (p) {
	case 1: return "icmp";
	case 6: return "tcp";
	case 17: return "udp";
	case 58: return "icmpv6";
	case 132: return "sctp";
	}
	snprintf(buf, len, "%u", p);
	return buf;
}

/* ADDR:PORT, [ADDR6]:PORT, or ADDR alone when port is -1. */
static void endpoint(FILE *f, const uint32_t *w, long port)
{
	char a[INET6_ADDRSTRLEN];

	tracefmt_addr(w, a, sizeof(a));
	if (port < 0)
		fputs(a, f);
	else if (is_v4(w))
		fprintf(f, "%s:%ld", a, port);
	else
		fprintf(f, "[%s]:%ld", a, port);
}

/* Whether w[8] holds ports: L4, ICMP errors and first fragments. */
static bool has_ports(const struct trace_rec *r)
{
	return r->kind == PKT_L4 || r->kind == PKT_ICMP_ERROR ||
	       (r->kind == PKT_FRAGMENT && r->key[8] != 0);
}

void tracefmt_text(FILE *f, const struct trace_rec *r)
{
	time_t sec = (time_t)(r->ns / 1000000000u);
	bool ports = has_ports(r);
	char t[16] = "", p[12];
	struct tm tm;

	if (localtime_r(&sec, &tm))
		strftime(t, sizeof(t), "%H:%M:%S", &tm);
	fprintf(f, "%s.%06u queue %u %s ", t, (unsigned int)(r->ns % 1000000000u / 1000),
		r->queue, proto_name(r->key[9], p, sizeof(p)));
	endpoint(f, &r->key[0], ports ? (long)(r->key[8] >> 16) : -1);
	fputs(" > ", f);
	endpoint(f, &r->key[4], ports ? (long)(r->key[8] & 0xffff) : -1);
	if (r->kind == PKT_ICMP_ECHO)
		fprintf(f, " id %u", r->key[8] >> 16);
	fprintf(f, " %s", pkt_kind_name((enum pkt_kind)r->kind));
	if (r->flow[0])
		fprintf(f, " flow %s", r->flow);
	if (r->target)
		fprintf(f, " target %u", r->target);
	else
		fputs(" target -", f);
	fputs(r->verdict == TRACE_DROP ? " drop" : " accept", f);
	if (r->mark)
		fprintf(f, " mark %u", r->mark);
	fputc('\n', f);
}

static void json_time(FILE *f, uint64_t ns)
{
	time_t sec = (time_t)(ns / 1000000000u);
	char t[32] = "";
	struct tm tm;

	if (gmtime_r(&sec, &tm))
		strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(f, "{\"time\":\"%s.%09uZ\",\"ns\":%llu", t,
		(unsigned int)(ns % 1000000000u), (unsigned long long)ns);
}

void tracefmt_json(FILE *f, const struct trace_rec *r, int32_t pid)
{
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN], p[12];

	json_time(f, r->ns);
	fprintf(f, ",\"pid\":%d,\"queue\":%u,\"kind\":\"%s\",\"proto\":\"%s\","
		"\"protocol\":%u,\"src\":\"%s\",\"dst\":\"%s\",\"sport\":%u,\"dport\":%u,"
		"\"flow\":", (int)pid, r->queue, pkt_kind_name((enum pkt_kind)r->kind),
		proto_name(r->key[9], p, sizeof(p)), r->key[9],
		tracefmt_addr(&r->key[0], src, sizeof(src)),
		tracefmt_addr(&r->key[4], dst, sizeof(dst)),
		r->key[8] >> 16, r->key[8] & 0xffff);
	if (r->flow[0])
		json_fstr(f, r->flow);
	else
		fputs("null", f);
	if (r->target)
		fprintf(f, ",\"target\":%u", r->target);
	else
		fputs(",\"target\":null", f);
	fprintf(f, ",\"verdict\":\"%s\",\"mark\":%u}\n",
		r->verdict == TRACE_DROP ? "drop" : "accept", r->mark);
}
