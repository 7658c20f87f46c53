/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * micro: the micro benchmarks of `make bench`.
 *
 *   micro build M N REPEATS   median and minimum time of maglev_build() for
 *                             N targets in a table of M entries, in ms
 *   micro classify PACKETS REPEATS
 *                             ns per packet of classify + hash + lookup over
 *                             a realistic mix (median of REPEATS passes)
 *   micro mix PACKETS         one pass, for valgrind --tool=callgrind
 *                             --toggle-collect=run_mix (instructions/packet)
 *   micro flows N PACKETS REPEATS
 *                             ns per packet of classify + flow match + hash
 *                             + lookup over the mix with N flows of mixed
 *                             prefixes and port ranges (the worker's
 *                             lb_flows_match + lb_flows_lookup), and of
 *                             classify + hash + lookup without flows in the
 *                             same passes (base_ns, ratio); the match alone;
 *                             the flow set's build time and memory
 *   micro bpf N REPEAT REPEATS
 *                             ns per packet of the fast path's BPF program
 *                             (bpf/fastpath.bpf.c, published through
 *                             nfqlb/fastpath.h) with the flows of `micro
 *                             flows N` (N = 1: the one flow of lb --shm
 *                             --bpf, the two VIPs), run by the kernel on
 *                             the mix in Ethernet frames: BPF_PROG_TEST_RUN
 *                             runs each packet REPEAT times and reports the
 *                             mean; the median of REPEATS passes over the
 *                             pool.  Needs root (CAP_BPF)
 *   micro flows-worst REPEATS the build time and memory of the largest flow
 *                             set: FLOW_MAX flows, every list full, no two
 *                             pieces with one set of flows
 *   micro trace PACKETS REPEATS
 *                             the cost of `nfqlb trace` to the worker: ns
 *                             per batch of the check of an unarmed ring
 *                             (alone, and as classify + hash + lookup with
 *                             and without it), and ns per packet of a
 *                             record written while armed
 *   micro tracemix PACKETS    one pass of run_mix_traced() (the check of an
 *                             unarmed ring per batch), for callgrind
 *                             --toggle-collect=run_mix_traced
 *
 * The mix: IPv4 and IPv6, TCP and UDP, IPv6 extension headers, ICMP and
 * ICMPv6 errors that quote a flow, IPv6 fragments and ICMP echo, in the
 * proportions of mix_table below, shuffled, with random addresses and ports.
 * Output is "key value" lines.  Exit 0 ok, 1 failure, 2 usage.
 */
#include <malloc.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>

#include "flows/match.h"
#include "maglev/hash.h"
#include "maglev/maglev.h"
#include "nfqlb/fastpath.h"
#include "nfqlb/lb.h"
#include "nfqlb/pkt.h"
#include "shm/why.h"
#include "nfqlb/tracerec.h"
#include "shm/trace.h"

#define POOL 4096		/* distinct packets, cycled through */
#define PKT_MAX 160
#define MIX_M 65537
#define MIX_N 100

struct pkt {
	uint8_t b[PKT_MAX];
	size_t len;
};

enum shape { V4_TCP, V4_UDP, V6_TCP, V6_UDP, V6_EXT_TCP, V4_ICMP_ERR,
	     V6_ICMP_ERR, V6_FRAG, V4_ECHO };

/* Shares of the mix, in percent. */
static const struct { enum shape s; unsigned int pct; const char *what; } mix_table[] = {
	{ V4_TCP, 40, "IPv4 TCP" }, { V4_UDP, 20, "IPv4 UDP" },
	{ V6_TCP, 15, "IPv6 TCP" }, { V6_UDP, 10, "IPv6 UDP" },
	{ V6_EXT_TCP, 5, "IPv6 hop-by-hop + destination options + TCP" },
	{ V4_ICMP_ERR, 3, "ICMP fragmentation needed quoting TCP" },
	{ V6_ICMP_ERR, 3, "ICMPv6 packet too big quoting TCP" },
	{ V6_FRAG, 2, "IPv6 fragment" }, { V4_ECHO, 2, "ICMP echo" },
};

static uint64_t rng = 0x243f6a8885a308d3ULL;

static uint32_t rnd(void)
{
	rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
	return (uint32_t)(rng >> 32);
}

static void put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v);
}

/* An IPv4 header at p carrying proto, total length tot. */
static size_t ip4(uint8_t *p, uint8_t proto, size_t tot)
{
	memset(p, 0, 20);
	p[0] = 0x45;
	put16(p + 2, (uint32_t)tot);
	p[8] = 64;
	p[9] = proto;
	put32(p + 12, 0x0a000000 | (rnd() & 0xffffff));
	put32(p + 16, 0x0ac8ff01);
	return 20;
}

static size_t ip6(uint8_t *p, uint8_t next, size_t plen)
{
	int i;

	memset(p, 0, 40);
	p[0] = 0x60;
	put16(p + 4, (uint32_t)plen);
	p[6] = next;
	p[7] = 64;
	for (i = 0; i < 4; i++) {
		put32(p + 8 + 4 * i, i == 0 ? 0xfd000000 : rnd());
		put32(p + 24 + 4 * i, i == 0 ? 0xfd00ff00 : i == 3 ? 1 : 0);
	}
	return 40;
}

/* TCP (20 bytes, data offset 5) or UDP (8 bytes) with random ports. */
static size_t l4(uint8_t *p, uint8_t proto)
{
	size_t n = proto == 6 ? 20 : 8;

	memset(p, 0, n);
	put16(p, 1024 + rnd() % 60000);
	put16(p + 2, 80);
	if (proto == 6)
		p[12] = 5 << 4;
	return n;
}

/* Hop-by-hop (8 bytes) then destination options (16 bytes), then TCP. */
static size_t v6_ext(uint8_t *p)
{
	size_t off = ip6(p, 0, 8 + 16 + 20);

	memset(p + off, 0, 24);
	p[off] = 60;			/* next: destination options */
	p[off + 8] = 6;			/* next: TCP */
	p[off + 9] = 1;			/* 16 bytes */
	return off + 24 + l4(p + off + 24, 6);
}

/* An ICMP error quoting the target's packet back to a client: the quoted
 * IP header plus 8 bytes of TCP, as routers send. */
static size_t icmp4_err(uint8_t *p)
{
	size_t off = ip4(p, 1, 20 + 8 + 20 + 8);

	memset(p + off, 0, 8);
	p[off] = 3;	/* destination unreachable */
	p[off + 1] = 4;	/* fragmentation needed */
	ip4(p + off + 8, 6, 1500);
	l4(p + off + 28, 6);
	return off + 8 + 20 + 8;
}

static size_t icmp6_err(uint8_t *p)
{
	size_t off = ip6(p, 58, 8 + 40 + 20);

	memset(p + off, 0, 8);
	p[off] = 2;	/* packet too big */
	put32(p + off + 4, 1280);
	ip6(p + off + 8, 6, 1440);
	return off + 8 + 40 + l4(p + off + 48, 6);
}

static size_t v6_frag(uint8_t *p)
{
	size_t off = ip6(p, 44, 8 + 64);

	memset(p + off, 0, 8);
	p[off] = 17;
	put16(p + off + 2, 185 << 3);	/* offset 1480, a later fragment */
	put32(p + off + 4, rnd());
	return off + 8 + 64;
}

static size_t v4_echo(uint8_t *p)
{
	size_t off = ip4(p, 1, 20 + 8);

	memset(p + off, 0, 8);
	p[off] = 8;
	put16(p + off + 4, rnd() & 0xffff);
	return off + 8;
}

static size_t make(uint8_t *p, enum shape s)
{
	switch (s) {
	case V4_TCP: return ip4(p, 6, 40) + l4(p + 20, 6);
	case V4_UDP: return ip4(p, 17, 28) + l4(p + 20, 17);
	case V6_TCP: return ip6(p, 6, 20) + l4(p + 40, 6);
	case V6_UDP: return ip6(p, 17, 8) + l4(p + 40, 17);
	case V6_EXT_TCP: return v6_ext(p);
	case V4_ICMP_ERR: return icmp4_err(p);
	case V6_ICMP_ERR: return icmp6_err(p);
	case V6_FRAG: return v6_frag(p);
	case V4_ECHO: return v4_echo(p);
	}
	return 0;
}

static struct pkt *make_pool(void)
{
	struct pkt *pool = calloc(POOL, sizeof(*pool)), t;
	size_t i, k = 0, j, n;

	if (!pool)
		return NULL;
	for (i = 0; i < sizeof(mix_table) / sizeof(mix_table[0]); i++)
		for (n = 0; n < POOL * mix_table[i].pct / 100 && k < POOL; n++, k++)
			pool[k].len = make(pool[k].b, mix_table[i].s);
	for (; k < POOL; k++)
		pool[k].len = make(pool[k].b, V4_TCP);
	for (i = POOL - 1; i > 0; i--) {	/* Fisher-Yates */
		j = rnd() % (i + 1);
		t = pool[i];
		pool[i] = pool[j];
		pool[j] = t;
	}
	return pool;
}

static uint32_t *make_table(uint32_t m, uint32_t n)
{
	struct maglev_target *t = calloc(n, sizeof(*t));
	uint32_t *table = calloc(m, sizeof(*table)), i;

	if (!t || !table)
		goto fail;
	for (i = 0; i < n; i++)
		t[i] = (struct maglev_target){ 1000 + i * 7, 1 };
	if (maglev_build(table, m, 0, t, n) < 0)
		goto fail;
	free(t);
	return table;
fail:
	free(t);
	free(table);
	return NULL;
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* The worker's per-packet work, lb_lookup_batch(), in its batches. */
uint64_t run_mix(const struct queue_pkt *qp, const struct shm_view *v, uint64_t count);

uint64_t run_mix(const struct queue_pkt *qp, const struct shm_view *v, uint64_t count)
{
	struct lb_result res[QUEUE_BATCH];
	uint64_t done, sum = 0;
	unsigned int i;

	for (done = 0; done < count; done += QUEUE_BATCH) {
		lb_lookup_batch(v, HASH_5TUPLE, 0, &qp[done % POOL], QUEUE_BATCH, res);
		for (i = 0; i < QUEUE_BATCH; i++)
			sum += res[i].slot;
	}
	return sum;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int bench_classify(uint64_t count, unsigned int reps, bool once)
{
	struct queue_pkt *qp = calloc(POOL, sizeof(*qp));
	struct shm_view v = { .m = MIX_M, .lookup = make_table(MIX_M, MIX_N) };
	struct pkt *pool = make_pool();
	double *ns = calloc(reps, sizeof(*ns)), t;
	volatile uint64_t sink = 0;
	unsigned int r, i;

	if (!pool || !v.lookup || !ns || !qp)
		return 1;
	count -= count % QUEUE_BATCH;
	for (i = 0; i < POOL; i++)
		qp[i] = (struct queue_pkt){ i, (uint32_t)pool[i].len, pool[i].b };
	sink += run_mix(qp, &v, POOL);	/* warm the caches */
	for (r = 0; r < reps; r++) {
		t = now_ns();
		sink += run_mix(qp, &v, count);
		ns[r] = (now_ns() - t) / (double)count;
	}
	qsort(ns, reps, sizeof(*ns), cmp_double);
	printf("packets %llu\n", (unsigned long long)count);
	if (!once)
		printf("ns_per_packet %.1f\nns_min %.1f\n", ns[reps / 2], ns[0]);
	free(qp);
	free(pool);
	free(v.lookup);
	free(ns);
	return 0;
}

static int bench_build(uint32_t m, uint32_t n, unsigned int reps)
{
	struct maglev_target *t = calloc(n, sizeof(*t));
	uint32_t *table = calloc(m, sizeof(*table)), i;
	double *ms = calloc(reps, sizeof(*ms)), t0;
	unsigned int r;

	if (!t || !table || !ms)
		return 1;
	for (i = 0; i < n; i++)
		t[i] = (struct maglev_target){ rnd() | 1, 1 };
	for (r = 0; r < reps; r++) {
		t0 = now_ns();
		if (maglev_build(table, m, r, t, n) < 0)
			return 1;
		ms[r] = (now_ns() - t0) / 1e6;
	}
	qsort(ms, reps, sizeof(*ms), cmp_double);
	printf("M %u\nN %u\nms_median %.3f\nms_min %.3f\n", m, n, ms[reps / 2], ms[0]);
	free(t);
	free(table);
	free(ms);
	return 0;
}

/* ---------------------------------------------------------------- flows */

#define FLOW_TABLES 4	/* tables the benchmark's flows share */

/* The worker's flow set (the match, each flow's table, the tables) and
 * the pool as the queue hands it over. */
struct flow_bench {
	struct lb_flows lf;
	struct flow_match *m;
	uint32_t *flow_table;		/* flow -> table */
	struct lb_table tab[FLOW_TABLES];
	uint32_t *lookup[FLOW_TABLES];
	struct queue_pkt *qp;
};

static uint32_t head_mask(unsigned int word, unsigned int bits)
{
	int b = (int)bits - 32 * (int)word;

	return b <= 0 ? 0 : b >= 32 ? 0xffffffffu : ~(0xffffffffu >> b);
}

/* A prefix that keeps the first `keep` bits of base, random bits after,
 * and a random length from keep to 128. */
static void near_cidr(struct flow_cidr *c, const uint32_t *base, unsigned int keep)
{
	unsigned int i, len = keep + rnd() % (129 - keep);

	memset(c, 0, sizeof(*c));
	c->family = keep >= 96 ? AF_INET : AF_INET6;
	c->len = (uint8_t)len;
	for (i = 0; i < 4; i++)
		c->w[i] = ((base[i] & head_mask(i, keep)) | (rnd() & ~head_mask(i, keep))) &
			  head_mask(i, len);
}

static void bench_ports(struct flow_ports *p)
{
	static const uint16_t known[] = { 80, 443, 53, 8080, 22, 5060 };
	uint32_t lo = rnd() % 65536, w = rnd() % 2000;

	if (rnd() % 2) {
		p->lo = p->hi = known[rnd() % (sizeof(known) / sizeof(known[0]))];
		return;
	}
	p->lo = (uint16_t)lo;
	p->hi = (uint16_t)(lo + w > 65535 ? 65535 : lo + w);
}

/* Flows around the mix's addresses (micro's ip4() and ip6()). */
static void bench_flow(struct flow *f, size_t i)
{
	static const uint32_t vip4[4] = { 0, 0, 0xffff, 0x0ac8ff01 };
	static const uint32_t vip6[4] = { 0xfd00ff00, 0, 0, 1 };
	static const uint32_t cli4[4] = { 0, 0, 0xffff, 0x0a000000 };
	static const uint32_t cli6[4] = { 0xfd000000, 0, 0, 0 };
	static const uint32_t protos[] = { FLOW_P_TCP, FLOW_P_UDP, FLOW_P_TCP | FLOW_P_UDP,
					   0, FLOW_P_TCP | FLOW_P_ICMP, FLOW_P_SCTP };
	unsigned int k;
	bool v6;

	memset(f, 0, sizeof(*f));
	snprintf(f->name, sizeof(f->name), "flow-%zu", i);
	snprintf(f->table, sizeof(f->table), "table-%zu", i % FLOW_TABLES);
	f->prio = (int32_t)(rnd() % 201) - 100;
	f->protos = protos[rnd() % (sizeof(protos) / sizeof(protos[0]))];
	for (k = 1 + rnd() % 4; k; k--) {
		v6 = rnd() % 2;
		near_cidr(&f->dst[f->ndst++], v6 ? vip6 : vip4, v6 ? 16 : 104);
	}
	for (k = rnd() % 5 ? 0 : 1 + rnd() % 2; k; k--) {
		v6 = rnd() % 2;
		near_cidr(&f->src[f->nsrc++], v6 ? cli6 : cli4, v6 ? 8 : 104);
	}
	for (k = rnd() % 4; k; k--)
		bench_ports(&f->dport[f->ndport++]);
	if (rnd() % 20 == 0)
		bench_ports(&f->sport[f->nsport++]);
}

/* n flows: n - 1 random ones, and a last resort for the VIPs. */
static struct flow *make_flows(size_t n)
{
	struct flow *f = calloc(n ? n : 1, sizeof(*f)), *last;
	size_t i;

	if (!f || n == 0)
		return f;
	for (i = 0; i + 1 < n; i++)
		bench_flow(&f[i], i);
	last = &f[n - 1];
	snprintf(last->name, sizeof(last->name), "zz-default");
	snprintf(last->table, sizeof(last->table), "table-0");
	last->prio = FLOW_PRIO_MIN;
	last->dst[0] = (struct flow_cidr){ { 0, 0, 0xffff, 0x0ac8ff01 }, 128, AF_INET, { 0 } };
	last->dst[1] = (struct flow_cidr){ { 0xfd00ff00, 0, 0, 1 }, 128, AF_INET6, { 0 } };
	last->ndst = 2;
	return f;
}

static enum flow_l4 l4_of(enum pkt_kind kind)
{
	return kind == PKT_L4 || kind == PKT_ICMP_ERROR ? FLOW_L4_PORTS :
	       kind == PKT_ICMP_ECHO ? FLOW_L4_ANY : FLOW_L4_NONE;
}

/* What the worker does per batch with flows, with its own code: classify
 * all and match all (lb_flows_match), hash all with their table's seed and
 * look up all (lb_flows_lookup). */
uint64_t run_flows(const struct flow_bench *b, uint64_t count);

uint64_t run_flows(const struct flow_bench *b, uint64_t count)
{
	struct lb_result res[QUEUE_BATCH];
	uint64_t done, sum = 0;
	unsigned int i;

	for (done = 0; done < count; done += QUEUE_BATCH) {
		lb_flows_match(&b->lf, &b->qp[done % POOL], QUEUE_BATCH, res);
		lb_flows_lookup(&b->lf, res, QUEUE_BATCH);
		for (i = 0; i < QUEUE_BATCH; i++)
			sum += res[i].slot;
	}
	return sum;
}

/* run_mix() with the worker's per-batch trace check. */
uint64_t run_mix_traced(const struct queue_pkt *qp, const struct shm_view *v,
			uint64_t count, struct trace *t);

uint64_t run_mix_traced(const struct queue_pkt *qp, const struct shm_view *v,
			uint64_t count, struct trace *t)
{
	struct lb_result res[QUEUE_BATCH];
	uint64_t done, sum = 0;
	unsigned int i;

	for (done = 0; done < count; done += QUEUE_BATCH) {
		sum += trace_batch_armed(t);
		lb_lookup_batch(v, HASH_5TUPLE, 0, &qp[done % POOL], QUEUE_BATCH, res);
		for (i = 0; i < QUEUE_BATCH; i++)
			sum += res[i].slot;
	}
	return sum;
}

/* The match alone, on keys classified beforehand. */
static uint64_t run_match(const struct flow_match *m, const struct pkt_key *key,
			  const enum flow_l4 *l4, uint64_t count)
{
	uint64_t done, sum = 0;

	for (done = 0; done < count; done++)
		sum += (uint64_t)flow_match_lookup(m, &key[done % POOL], l4[done % POOL]);
	return sum;
}

static size_t heap_bytes(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

/* Build f reps times: the median time in ms; the set's bytes in *bytes. */
static double build_flows(const struct flow *f, size_t n, unsigned int reps,
			  size_t *bytes)
{
	double *ms = calloc(reps, sizeof(*ms)), t, med;
	char why[WHY_MAX] = "";
	struct flow_match *m;
	size_t before;
	unsigned int r;

	for (r = 0; ms && r < reps; r++) {
		before = heap_bytes();
		t = now_ns();
		if (!(m = flow_match_build(f, n, why))) {
			fprintf(stderr, "micro: flows: %s\n", why);
			free(ms);
			return -1;
		}
		ms[r] = (now_ns() - t) / 1e6;
		*bytes = heap_bytes() - before;
		flow_match_free(m);
	}
	if (!ms)
		return -1;
	qsort(ms, reps, sizeof(*ms), cmp_double);
	med = ms[reps / 2];
	free(ms);
	return med;
}

/* Median ns per packet with flows (run_flows), and without (run_mix)
 * in *base, the two back to back in each pass. */
static double time_runs(const struct flow_bench *b, uint64_t count, unsigned int reps,
			double *base)
{
	double *ns = calloc(2 * (size_t)reps, sizeof(*ns)), t, med;
	struct shm_view v = { .m = MIX_M, .lookup = b->lookup[0] };
	volatile uint64_t sink = 0;
	unsigned int r;

	if (!ns)
		return -1;
	sink += run_flows(b, POOL) + run_mix(b->qp, &v, POOL);	/* warm the caches */
	for (r = 0; r < reps; r++) {
		t = now_ns();
		sink += run_mix(b->qp, &v, count);
		ns[reps + r] = (now_ns() - t) / (double)count;
		t = now_ns();
		sink += run_flows(b, count);
		ns[r] = (now_ns() - t) / (double)count;
	}
	qsort(ns, reps, sizeof(*ns), cmp_double);
	qsort(ns + reps, reps, sizeof(*ns), cmp_double);
	med = ns[reps / 2];
	*base = ns[reps + reps / 2];
	free(ns);
	return med;
}

/* Matched share and match-only ns/packet over the pool's keys. */
static double time_match(const struct pkt *pool, const struct flow_match *m,
			 uint64_t count, double *matched)
{
	static struct pkt_key key[POOL];
	static enum flow_l4 l4[POOL];
	volatile uint64_t sink = 0;
	unsigned int i, hits = 0;
	double t;

	for (i = 0; i < POOL; i++) {
		l4[i] = l4_of(pkt_classify(pool[i].b, pool[i].len, &key[i]));
		hits += flow_match_lookup(m, &key[i], l4[i]) >= 0;
	}
	*matched = 100.0 * hits / POOL;
	sink += run_match(m, key, l4, POOL);
	t = now_ns();
	sink += run_match(m, key, l4, count);
	return (now_ns() - t) / (double)count;
}

static int flows_report(const struct flow *f, size_t n, const struct flow_bench *b,
			const struct pkt *pool, uint64_t count, unsigned int reps)
{
	double build, ns, base = 0, match, matched;
	size_t bytes = 0;

	build = build_flows(f, n, reps, &bytes);
	ns = time_runs(b, count, reps, &base);
	match = time_match(pool, b->m, count, &matched);
	if (build < 0 || ns < 0)
		return 1;
	printf("flows %zu\npackets %llu\nmatched_pct %.1f\nns_per_packet %.1f\n"
	       "base_ns %.1f\nratio %.2f\nmatch_ns %.1f\nbuild_ms %.3f\nmatch_bytes %zu\n",
	       n, (unsigned long long)count, matched, ns, base, ns / base, match, build, bytes);
	return 0;
}

static int bench_flows(size_t n, uint64_t count, unsigned int reps)
{
	struct flow *f = make_flows(n);
	struct pkt *pool = make_pool();
	struct flow_bench b = { .flow_table = calloc(n ? n : 1, sizeof(uint32_t)),
				.qp = calloc(POOL, sizeof(*b.qp)) };
	char why[WHY_MAX] = "";
	unsigned int i;
	int rc = 1;

	count -= count % QUEUE_BATCH;
	for (i = 0; i < FLOW_TABLES; i++) {
		b.lookup[i] = make_table(MIX_M, MIX_N);
		b.tab[i] = (struct lb_table){ b.lookup[i], MIX_M, i, HASH_5TUPLE };
	}
	for (i = 0; b.flow_table && i < n; i++)
		b.flow_table[i] = i % FLOW_TABLES;
	for (i = 0; pool && b.qp && i < POOL; i++)
		b.qp[i] = (struct queue_pkt){ i, (uint32_t)pool[i].len, pool[i].b };
	if (f && pool && b.flow_table && b.qp && b.lookup[FLOW_TABLES - 1] && reps > 0 &&
	    count > 0 && (b.m = flow_match_build(f, n, why))) {
		b.lf = (struct lb_flows){ b.m, b.flow_table, b.tab };
		rc = flows_report(f, n, &b, pool, count, reps);
	} else {
		fprintf(stderr, "micro: flows: %s\n", why[0] ? why : "cannot set up");
	}
	flow_match_free(b.m);
	for (i = 0; i < FLOW_TABLES; i++)
		free(b.lookup[i]);
	free(b.flow_table);
	free(b.qp);
	free(pool);
	free(f);
	return rc;
}

/* ---------------------------------------------------------------- bpf */

#define FRAME_MAX (PKT_MAX + 14)

/* The fast path with flows f[0..n) published, their tables M=MIX_M with
 * MIX_N targets (as `micro flows`); NULL when it cannot be set up. */
static struct fastpath *bpf_setup(const struct flow *f, uint32_t n, uint32_t **lookup,
				  struct shm_target *targets)
{
	static char log[65536];
	struct fastpath_table tab[FLOW_TABLES];
	uint32_t *flow_table = calloc(n, sizeof(*flow_table)), i, ntab = n < FLOW_TABLES ? n : FLOW_TABLES;
	char why[WHY_MAX] = "";
	struct fastpath *fp = flow_table ? fastpath_load(log, sizeof(log), why) : NULL;
	struct fastpath_set set = { f, n, flow_table, tab, ntab, NULL };

	for (i = 0; i < MIX_N; i++)
		targets[i] = (struct shm_target){ 1000 + i * 7, 1, 1, 0 };
	for (i = 0; flow_table && i < n; i++)
		flow_table[i] = i % FLOW_TABLES;
	for (i = 0; i < ntab; i++)
		tab[i] = (struct fastpath_table){ lookup[i], targets, MIX_M, MIX_N, i, HASH_5TUPLE,
						  i + 1, 1 };
	if (fp && fastpath_publish(fp, &set, why) < 0) {
		fastpath_close(fp);
		fp = NULL;
	}
	if (!fp)
		fprintf(stderr, "micro: bpf: %s\n", why[0] ? why : "cannot set up");
	free(flow_table);
	return fp;
}

/* The packet in an Ethernet frame; returns the frame's length. */
static uint32_t bpf_frame(uint8_t *fr, const struct pkt *p)
{
	uint16_t type = p->b[0] >> 4 == 6 ? ETH_P_IPV6 : ETH_P_IP;

	memset(fr, 0, 12);
	fr[0] = fr[6] = 0x02;
	fr[11] = 1;
	fr[12] = (uint8_t)(type >> 8);
	fr[13] = (uint8_t)type;
	memcpy(fr + 14, p->b, p->len);
	return (uint32_t)(14 + p->len);
}

/* One pass over the pool, each packet run `repeat` times by the kernel:
 * the mean ns per run; the packets marked into *marked.  -1 on failure. */
static double bpf_pass(int prog, const struct pkt *pool, uint32_t repeat, unsigned int *marked)
{
	static uint8_t fr[FRAME_MAX];
	struct __sk_buff in, out;
	double sum = 0;
	unsigned int i;

	*marked = 0;
	for (i = 0; i < POOL; i++) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = fr,
			    .data_size_in = bpf_frame(fr, &pool[i]), .ctx_in = &in,
			    .ctx_size_in = sizeof(in), .ctx_out = &out,
			    .ctx_size_out = sizeof(out), .repeat = repeat);
		memset(&in, 0, sizeof(in));
		memset(&out, 0, sizeof(out));
		if (bpf_prog_test_run_opts(prog, &o) < 0) {
			perror("micro: bpf: BPF_PROG_TEST_RUN");
			return -1;
		}
		sum += o.duration;
		*marked += out.mark != 0;
	}
	return sum / POOL;
}

static int bpf_report(struct fastpath *fp, const struct pkt *pool, uint32_t n,
		      uint32_t repeat, unsigned int reps)
{
	double *ns = calloc(reps, sizeof(*ns));
	unsigned int r, marked = 0;

	if (!ns || bpf_pass(fastpath_prog_fd(fp), pool, 1, &marked) < 0)	/* warm up */
		return 1;
	for (r = 0; r < reps; r++)
		if ((ns[r] = bpf_pass(fastpath_prog_fd(fp), pool, repeat, &marked)) < 0)
			return 1;
	qsort(ns, reps, sizeof(*ns), cmp_double);
	printf("flows %u\npackets %u\nrepeat %u\nmarked_pct %.1f\nns_per_packet %.1f\n"
	       "ns_min %.1f\n", n, POOL, repeat, 100.0 * marked / POOL, ns[reps / 2], ns[0]);
	free(ns);
	return 0;
}

static int bench_bpf(uint32_t n, uint32_t repeat, unsigned int reps)
{
	static struct shm_target targets[MIX_N];
	struct flow *f = n ? make_flows(n) : NULL;
	struct pkt *pool = make_pool();
	uint32_t *lookup[FLOW_TABLES];
	struct fastpath *fp = NULL;
	unsigned int i;
	int rc = 1;

	for (i = 0; i < FLOW_TABLES; i++)
		lookup[i] = make_table(MIX_M, MIX_N);
	if (f && pool && lookup[FLOW_TABLES - 1] && repeat > 0 && reps > 0)
		fp = bpf_setup(f, n, lookup, targets);
	if (fp)
		rc = bpf_report(fp, pool, n, repeat, reps);
	fastpath_close(fp);
	for (i = 0; i < FLOW_TABLES; i++)
		free(lookup[i]);
	free(pool);
	free(f);
	return rc;
}

/*
 * The most memory a flow set can take: FLOW_MAX flows with full lists
 * whose pieces all have a set of flows of their own.  64 flows cut each
 * dimension into 2048 blocks; each other flow has one piece in 32 blocks
 * of 32 different ones of those 64, so no two pieces share a set.
 */
static void worst_flow(struct flow *f, uint32_t i)
{
	uint32_t j, t, sub;

	memset(f, 0, sizeof(*f));
	snprintf(f->name, sizeof(f->name), "w%u", i);
	snprintf(f->table, sizeof(f->table), "table-0");
	for (j = 0; j < 32; j++) {
		t = i < 64 ? i * 32 + j : j * 64 + (i - 64) % 64;
		sub = i < 64 ? 0 : 1 + (i - 64) / 64;
		f->dst[j] = (struct flow_cidr){ { 0x20010db8, t << 16 | sub, 0, 0 },
						 (uint8_t)(i < 64 ? 48 : 64), AF_INET6, { 0 } };
		f->src[j] = (struct flow_cidr){ { 0, 0, 0xffff, t << 20 | sub << 8 },
						 (uint8_t)(96 + (i < 64 ? 12 : 24)), AF_INET, { 0 } };
		f->dport[j].lo = (uint16_t)(t * 32 + (i < 64 ? 0 : sub));
		f->dport[j].hi = (uint16_t)(t * 32 + (i < 64 ? 31 : sub));
		f->sport[j] = f->dport[j];
	}
	f->ndst = f->nsrc = f->ndport = f->nsport = 32;
}

static int bench_flows_worst(unsigned int reps)
{
	struct flow *f = calloc(FLOW_MAX, sizeof(*f));
	size_t bytes = 0;
	double ms;
	uint32_t i;

	if (!f || reps == 0)
		return 1;
	for (i = 0; i < FLOW_MAX; i++)
		worst_flow(&f[i], i);
	ms = build_flows(f, FLOW_MAX, reps, &bytes);
	free(f);
	if (ms < 0)
		return 1;
	printf("flows %d\nbuild_ms %.3f\nmatch_bytes %zu\n", FLOW_MAX, ms, bytes);
	return 0;
}

/* ns per check of an unarmed ring, the check alone in a loop. */
static double check_ns(struct trace *t, uint64_t n)
{
	volatile uint64_t sink = 0;
	double t0 = now_ns();
	uint64_t i;

	for (i = 0; i < n; i++) {
		sink += trace_batch_armed(t);
		__asm__ volatile("" ::: "memory");
	}
	return (now_ns() - t0) / (double)n;
}

/* ns per packet of a record written while armed (classified again, the
 * clock read, the slot taken and filled). */
static double put_ns(struct trace *t, const struct queue_pkt *qp, uint64_t n)
{
	struct tracerec d = { .queue = 0, .kind = PKT_L4, .verdict = 1, .target = 7,
			      .mark = 7 };
	double t0 = now_ns();
	uint64_t i;

	for (i = 0; i < n; i++)
		tracerec_put(t, &qp[i % POOL], &d);
	return (now_ns() - t0) / (double)n;
}

/* Median ns per packet of reps passes, with the trace check or without. */
static double mix_ns(const struct queue_pkt *qp, const struct shm_view *v, uint64_t count,
		     unsigned int reps, struct trace *t, double *ns)
{
	volatile uint64_t sink = 0;
	unsigned int r;
	double t0;

	for (r = 0; r < reps; r++) {
		t0 = now_ns();
		sink += t ? run_mix_traced(qp, v, count, t) : run_mix(qp, v, count);
		ns[r] = (now_ns() - t0) / (double)count;
	}
	qsort(ns, reps, sizeof(*ns), cmp_double);
	return ns[reps / 2];
}

/* One pass with the check of an unarmed ring, for callgrind. */
static int trace_mix(uint64_t count)
{
	struct queue_pkt *qp = calloc(POOL, sizeof(*qp));
	struct shm_view v = { .m = MIX_M, .lookup = make_table(MIX_M, MIX_N) };
	struct pkt *pool = make_pool();
	struct trace *t = trace_create(getpid(), TRACE_SERVES_TABLE, "micro", TRACE_RECORDS,
				       NULL);
	volatile uint64_t sink = 0;
	unsigned int i;

	if (!pool || !v.lookup || !qp || !t)
		return 1;
	count -= count % QUEUE_BATCH;
	for (i = 0; i < POOL; i++)
		qp[i] = (struct queue_pkt){ i, (uint32_t)pool[i].len, pool[i].b };
	sink += run_mix_traced(qp, &v, count, t);
	printf("packets %llu\n", (unsigned long long)count);
	trace_destroy(t);
	free(qp);
	free(pool);
	free(v.lookup);
	return 0;
}

static int bench_trace(uint64_t count, unsigned int reps)
{
	struct queue_pkt *qp = calloc(POOL, sizeof(*qp));
	struct shm_view v = { .m = MIX_M, .lookup = make_table(MIX_M, MIX_N) };
	struct pkt *pool = make_pool();
	double *ns = calloc(reps, sizeof(*ns)), plain, traced;
	char why[WHY_MAX] = "";
	struct trace *t = trace_create(getpid(), TRACE_SERVES_TABLE, "micro", TRACE_RECORDS, why);
	unsigned int i;

	if (!pool || !v.lookup || !ns || !qp || !t) {
		fprintf(stderr, "micro: trace: %s\n", why);
		return 1;
	}
	count -= count % QUEUE_BATCH;
	for (i = 0; i < POOL; i++)
		qp[i] = (struct queue_pkt){ i, (uint32_t)pool[i].len, pool[i].b };
	printf("unarmed_check_ns %.2f\n", check_ns(t, 100000000));
	plain = mix_ns(qp, &v, count, reps, NULL, ns);
	traced = mix_ns(qp, &v, count, reps, t, ns);
	printf("mix_ns_per_packet %.2f\nmix_unarmed_ns_per_packet %.2f\n"
	       "unarmed_ns_per_batch %.1f\n", plain, traced, (traced - plain) * QUEUE_BATCH);
	__atomic_store_n(&t->hdr->lease, UINT64_MAX, __ATOMIC_RELAXED);
	printf("armed_put_ns_per_packet %.1f\n", put_ns(t, qp, 1000000));
	trace_destroy(t);
	free(qp);
	free(pool);
	free(v.lookup);
	free(ns);
	return 0;
}

/* The mix, and what the classifier makes of it: a check on the builders. */
static int describe(void)
{
	unsigned int kinds[PKT_KIND_MAX] = { 0 };
	struct pkt *pool = make_pool();
	struct pkt_key key;
	size_t i;

	if (!pool)
		return 1;
	for (i = 0; i < sizeof(mix_table) / sizeof(mix_table[0]); i++)
		printf("mix %u%% %s\n", mix_table[i].pct, mix_table[i].what);
	for (i = 0; i < POOL; i++)
		kinds[pkt_classify(pool[i].b, pool[i].len, &key)]++;
	for (i = 0; i < PKT_KIND_MAX; i++)
		printf("kind %s %u\n", pkt_kind_name((enum pkt_kind)i), kinds[i]);
	free(pool);
	return kinds[PKT_MALFORMED] ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && strcmp(argv[1], "build") == 0)
		return bench_build((uint32_t)atol(argv[2]), (uint32_t)atol(argv[3]),
				   (unsigned int)atoi(argv[4]));
	if (argc == 4 && strcmp(argv[1], "classify") == 0)
		return bench_classify((uint64_t)atoll(argv[2]), (unsigned int)atoi(argv[3]),
				      false);
	if (argc == 3 && strcmp(argv[1], "mix") == 0)
		return bench_classify((uint64_t)atoll(argv[2]), 1, true);
	if (argc == 5 && strcmp(argv[1], "flows") == 0)
		return bench_flows((size_t)atol(argv[2]), (uint64_t)atoll(argv[3]),
				   (unsigned int)atoi(argv[4]));
	if (argc == 5 && strcmp(argv[1], "bpf") == 0)
		return bench_bpf((uint32_t)atol(argv[2]), (uint32_t)atol(argv[3]),
				 (unsigned int)atoi(argv[4]));
	if (argc == 3 && strcmp(argv[1], "flows-worst") == 0)
		return bench_flows_worst((unsigned int)atoi(argv[2]));
	if (argc == 3 && strcmp(argv[1], "tracemix") == 0)
		return trace_mix((uint64_t)atoll(argv[2]));
	if (argc == 4 && strcmp(argv[1], "trace") == 0)
		return bench_trace((uint64_t)atoll(argv[2]), (unsigned int)atoi(argv[3]));
	if (argc == 2 && strcmp(argv[1], "describe") == 0)
		return describe();
	fprintf(stderr, "usage: micro build M N REPEATS | classify PACKETS REPEATS | mix PACKETS"
		" | flows N PACKETS REPEATS | bpf N REPEAT REPEATS | flows-worst REPEATS | trace PACKETS REPEATS"
		" | tracemix PACKETS | describe\n");
	return 2;
}
