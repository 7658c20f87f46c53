/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_shed.c: the shedding programs (bpf/shed.bpf.c), run by the kernel on
 * made-up Ethernet frames (BPF_PROG_TEST_RUN), the XDP and the tc program
 * alike; attaching them in a network namespace of the test's own; and the
 * --shed options of `nfqlb lb`.
 *
 * Loading a program needs root (CAP_BPF): without it those tests skip,
 * except under CI=true, where a skip is a failure. */
#include <arpa/inet.h>
#include <errno.h>
#include <net/ethernet.h>
#include <net/if_arp.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <linux/bpf.h>

#include "nfqlb/shed.h"
#include "test/unit/cli_run.h"
#include "test/unit/suites.h"

#define HALF 2147483648u
#define TC_DROP 2u
#define TC_NEXT 0xffffffffu	/* -1 */

/* ---------------------------------------------------------------- frames */

enum kind { IP4, IP6, ARP, LLDP };

struct frame {
	enum kind kind;
	const char *dst;	/* IPv4 or IPv6 destination (ARP: target) */
	uint8_t proto;		/* upper layer: IPPROTO_TCP, _UDP, _ICMP... */
	uint8_t flags;		/* TCP flags */
	bool vlan;		/* one 802.1Q tag */
	unsigned int ext;	/* IPv6: destination options headers before it */
	bool later_frag;	/* a fragment after the first */
	bool ip_opts;		/* IPv4: 4 bytes of options (IHL 6) */
	unsigned int cut;	/* cut the frame to this length (0: whole) */
};

static uint8_t *put_l4(uint8_t *p, const struct frame *f)
{
	struct tcphdr *th = (struct tcphdr *)p;

	memset(p, 0, 20);
	if (f->proto == IPPROTO_TCP) {
		th->th_sport = htons(40000);
		th->th_dport = htons(80);
		th->th_off = 5;
		th->th_flags = f->flags;
	}
	return p + 20;	/* a TCP header, or a UDP or ICMP header and payload */
}

static uint8_t *put_ip4(uint8_t *p, const struct frame *f)
{
	struct ip *ip = (struct ip *)p;
	unsigned int hl = f->ip_opts ? 24 : 20;

	memset(p, 0, hl);
	ip->ip_v = 4;
	ip->ip_hl = hl / 4;
	ip->ip_len = htons((uint16_t)(hl + 20));
	ip->ip_ttl = 64;
	ip->ip_p = f->proto;
	ip->ip_off = htons(f->later_frag ? 100 : 0);
	inet_pton(AF_INET, "10.200.0.2", &ip->ip_src);
	ck_assert_int_eq(inet_pton(AF_INET, f->dst, &ip->ip_dst), 1);
	if (f->ip_opts)
		p[20] = 1;	/* NOP options */
	return put_l4(p + hl, f);
}

static uint8_t *put_ip6(uint8_t *p, const struct frame *f)
{
	struct ip6_hdr *ip6 = (struct ip6_hdr *)p;
	uint8_t *q = p + sizeof(*ip6);
	uint8_t *next = &ip6->ip6_nxt;
	unsigned int i;

	memset(ip6, 0, sizeof(*ip6));
	ip6->ip6_vfc = 0x60;
	ip6->ip6_hlim = 64;
	inet_pton(AF_INET6, "fd00:200::2", &ip6->ip6_src);
	ck_assert_int_eq(inet_pton(AF_INET6, f->dst, &ip6->ip6_dst), 1);
	for (i = 0; i < f->ext; i++) {	/* 16-byte destination options */
		*next = IPPROTO_DSTOPTS;
		memset(q, 0, 16);
		q[1] = 1;
		next = q;
		q += 16;
	}
	if (f->later_frag) {
		*next = IPPROTO_FRAGMENT;
		memset(q, 0, 8);
		q[3] = 0x80;	/* offset 16 */
		next = q;
		q += 8;
	}
	*next = f->proto;
	q = put_l4(q, f);
	ip6->ip6_plen = htons((uint16_t)(q - p - sizeof(*ip6)));
	return q;
}

static uint8_t *put_arp(uint8_t *p, const struct frame *f)
{
	struct arphdr *a = (struct arphdr *)p;

	a->ar_hrd = htons(ARPHRD_ETHER);
	a->ar_pro = htons(ETHERTYPE_IP);
	a->ar_hln = 6;
	a->ar_pln = 4;
	a->ar_op = htons(ARPOP_REQUEST);
	memset(p + 8, 0, 20);
	ck_assert_int_eq(inet_pton(AF_INET, f->dst, p + 24), 1);
	return p + 28;
}

/* Room for a frame 2 bytes past an 8-byte boundary, so that its IP
 * header is aligned, as the kernel's NET_IP_ALIGN has it. */
struct frame_buf {
	uint8_t pad[2];
	uint8_t data[256];
} __attribute__((aligned(8)));

/* The frame f in buf; returns its length. */
static unsigned int build(uint8_t *buf, const struct frame *f)
{
	static const uint16_t types[] = { ETHERTYPE_IP, ETHERTYPE_IPV6, ETHERTYPE_ARP, 0x88cc };
	uint8_t *p = buf + 12, *end;

	memset(buf, 0, 12);
	buf[0] = 0x02;	/* destination and source MAC: locally administered */
	buf[6] = 0x02;
	buf[11] = 1;
	if (f->vlan) {
		*(uint16_t *)p = htons(ETHERTYPE_VLAN);
		*(uint16_t *)(p + 2) = htons(7);
		p += 4;
	}
	*(uint16_t *)p = htons(types[f->kind]);
	p += 2;
	if (f->kind == IP4)
		end = put_ip4(p, f);
	else if (f->kind == IP6)
		end = put_ip6(p, f);
	else if (f->kind == ARP)
		end = put_arp(p, f);
	else
		end = memset(p, 0, 46) + 46;
	if (f->cut)
		return f->cut;
	return (unsigned int)(end - buf);
}

/* ---------------------------------------------------------------- the programs */

/* Root, or a skip (a failure under CI=true).  Returns whether to go on. */
static bool need_root(void)
{
	const char *ci = getenv("CI");

	if (geteuid() == 0)
		return true;
	ck_assert_msg(!ci || strcmp(ci, "true") != 0,
		      "loading BPF programs needs root, and CI=true counts a skip as a failure");
	fprintf(stderr, "test_shed: skipped: loading BPF programs needs root\n");
	return false;
}

static void add(struct shed *s, const char *cidr)
{
	char a[64], *slash;
	uint8_t addr[16];
	int family;

	snprintf(a, sizeof(a), "%s", cidr);
	slash = strchr(a, '/');
	*slash = '\0';
	family = strchr(a, ':') ? AF_INET6 : AF_INET;
	ck_assert_int_eq(inet_pton(family, a, addr), 1);
	ck_assert_int_eq(shed_add_prefix(s, family, addr, (unsigned int)atoi(slash + 1)), 0);
}

/* The programs, syn_only or not, with the test's VIPs: 10.9.0.0/24,
 * 10.11.0.0/16 (given with host bits), 10.12.0.7/32, fd00:9::/64. */
static struct shed *load(bool syn_only)
{
	char why[WHY_MAX] = "", log[4096];
	struct shed *s = shed_load(syn_only, log, sizeof(log), why);

	ck_assert_msg(s, "shed_load: %s\n%s", why, log);
	add(s, "10.9.0.0/24");
	add(s, "10.11.0.99/16");
	add(s, "10.12.0.7/32");
	add(s, "fd00:9::/64");
	return s;
}

/* Run one program on the frame; returns its verdict. */
static uint32_t run(struct shed *s, bool tc, const uint8_t *frame, unsigned int len,
		    unsigned int repeat)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = len,
		    .repeat = (int)repeat);

	ck_assert_msg(bpf_prog_test_run_opts(shed_prog_fd(s, tc), &o) == 0,
		      "BPF_PROG_TEST_RUN: %s", strerror(errno));
	return o.retval;
}

/* Run the tc program on the frame in an skb with this mark. */
static uint32_t run_marked(struct shed *s, const uint8_t *frame, unsigned int len,
			   uint32_t mark)
{
	struct __sk_buff ctx = { .mark = mark };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = len,
		    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx));

	ck_assert_msg(bpf_prog_test_run_opts(shed_prog_fd(s, true), &o) == 0,
		      "BPF_PROG_TEST_RUN: %s", strerror(errno));
	return o.retval;
}

static uint64_t dropped(struct shed *s)
{
	uint64_t n = 0;

	ck_assert_int_eq(shed_dropped(s, &n), 0);
	return n;
}

struct shed_case {
	const char *name;
	bool syn_only;
	uint32_t share;
	struct frame f;
	bool drop;
};

#define SYN TH_SYN
#define ACK TH_ACK
#define TCP IPPROTO_TCP
#define UDP IPPROTO_UDP
#define ALL SHED_ALL

/* A frame to a destination, by protocol; more fields may follow. */
#define V4(d, p, ...) { .kind = IP4, .dst = (d), .proto = (p), __VA_ARGS__ }
#define V6(d, p, ...) { .kind = IP6, .dst = (d), .proto = (p), __VA_ARGS__ }

static const struct shed_case cases[] = {
	{ "v4 UDP to a VIP", 0, ALL, V4("10.9.0.5", UDP), 1 },
	{ "v4 TCP ACK to a VIP", 0, ALL, V4("10.9.0.5", TCP, .flags = ACK), 1 },
	{ "v4 to a VIP, VLAN-tagged", 0, ALL, V4("10.9.0.200", UDP, .vlan = 1), 1 },
	{ "v4 to a VIP given with host bits", 0, ALL, V4("10.11.200.1", UDP), 1 },
	{ "v4 to a /32 VIP", 0, ALL, V4("10.12.0.7", UDP), 1 },
	{ "v6 UDP to a VIP", 0, ALL, V6("fd00:9::1234", UDP), 1 },
	{ "v6 TCP ACK to a VIP", 0, ALL, V6("fd00:9::1", TCP, .flags = ACK), 1 },
	{ "v4 to another address", 0, ALL, V4("10.8.0.1", UDP), 0 },
	{ "v4 next to a VIP prefix", 0, ALL, V4("10.9.1.5", UDP), 0 },
	{ "v4 next to a /32 VIP", 0, ALL, V4("10.12.0.8", UDP), 0 },
	{ "v6 to another address", 0, ALL, V6("fd00:9:0:1::1", UDP), 0 },
	{ "ARP for a VIP", 0, ALL, { .kind = ARP, .dst = "10.9.0.5" }, 0 },
	{ "LLDP", 0, ALL, { .kind = LLDP, .dst = "10.9.0.5" }, 0 },
	{ "v4 to a VIP, header cut short", 0, ALL, V4("10.9.0.5", UDP, .cut = 30), 0 },
	{ "v6 to a VIP, header cut short", 0, ALL, V6("fd00:9::1", UDP, .cut = 50), 0 },
	{ "share 0: v4 to a VIP", 0, 0, V4("10.9.0.5", UDP), 0 },
	{ "share 0: v6 to a VIP", 0, 0, V6("fd00:9::1", UDP), 0 },
	{ "SYN-only: v4 SYN to a VIP", 1, ALL, V4("10.9.0.5", TCP, .flags = SYN), 1 },
	{ "SYN-only: v4 SYN with IP options", 1, ALL,
	  V4("10.9.0.5", TCP, .flags = SYN, .ip_opts = 1), 1 },
	{ "SYN-only: v4 ACK with IP options", 1, ALL,
	  V4("10.9.0.5", TCP, .flags = ACK, .ip_opts = 1), 0 },
	{ "SYN-only: v4 SYN-ACK to a VIP", 1, ALL, V4("10.9.0.5", TCP, .flags = SYN | ACK), 0 },
	{ "SYN-only: v4 ACK to a VIP", 1, ALL, V4("10.9.0.5", TCP, .flags = ACK), 0 },
	{ "SYN-only: v4 UDP to a VIP", 1, ALL, V4("10.9.0.5", UDP), 1 },
	{ "SYN-only: v4 ICMP to a VIP", 1, ALL, V4("10.9.0.5", IPPROTO_ICMP), 1 },
	{ "SYN-only: v4 SYN to another address", 1, ALL, V4("10.8.0.1", TCP, .flags = SYN), 0 },
	{ "SYN-only: v4 later TCP fragment", 1, ALL,
	  V4("10.9.0.5", TCP, .flags = SYN, .later_frag = 1), 0 },
	{ "SYN-only: v4 later UDP fragment", 1, ALL,
	  V4("10.9.0.5", UDP, .later_frag = 1), 1 },
	{ "SYN-only: v4 SYN with its TCP header cut", 1, ALL,
	  V4("10.9.0.5", TCP, .flags = SYN, .cut = 14 + 20 + 10), 0 },
	{ "SYN-only: v6 SYN to a VIP", 1, ALL, V6("fd00:9::1", TCP, .flags = SYN), 1 },
	{ "SYN-only: v6 ACK to a VIP", 1, ALL, V6("fd00:9::1", TCP, .flags = ACK), 0 },
	{ "SYN-only: v6 UDP to a VIP", 1, ALL, V6("fd00:9::1", UDP), 1 },
	{ "SYN-only: v6 SYN after 4 extension headers", 1, ALL,
	  V6("fd00:9::1", TCP, .flags = SYN, .ext = 4), 1 },
	{ "SYN-only: v6 ACK after 4 extension headers", 1, ALL,
	  V6("fd00:9::1", TCP, .flags = ACK, .ext = 4), 0 },
	{ "SYN-only: v6 UDP after 4 extension headers", 1, ALL,
	  V6("fd00:9::1", UDP, .ext = 4), 1 },
	{ "SYN-only: v6 SYN after 5 extension headers", 1, ALL,
	  V6("fd00:9::1", TCP, .flags = SYN, .ext = 5), 0 },
	{ "SYN-only: v6 later TCP fragment", 1, ALL,
	  V6("fd00:9::1", TCP, .flags = SYN, .later_frag = 1), 0 },
	{ "SYN-only: v6 later UDP fragment", 1, ALL,
	  V6("fd00:9::1", UDP, .later_frag = 1), 1 },
	{ "SYN-only: v6 SYN to another address", 1, ALL, V6("fd00:8::1", TCP, .flags = SYN), 0 },
	{ "SYN-only, share 0: v4 SYN to a VIP", 1, 0, V4("10.9.0.5", TCP, .flags = SYN), 0 },
};

#define NCASES ((int)(sizeof(cases) / sizeof(cases[0])))

/* Case _i / 2, on the XDP program (even _i) or the tc one (odd). */
START_TEST(test_verdict)
{
	const struct shed_case *c = &cases[_i / 2];
	bool tc = _i % 2;
	uint32_t want = tc ? (c->drop ? TC_DROP : TC_NEXT) : (c->drop ? XDP_DROP : XDP_PASS);
	struct frame_buf b;
	uint8_t *frame = b.data;
	unsigned int len = build(frame, &c->f);
	struct shed *s;
	uint32_t got;

	if (!need_root())
		return;
	/* The kernel runs a tc program only on a frame with a whole IP
	 * header (EINVAL): cut headers are for the XDP program. */
	if (tc && c->f.cut && c->f.cut < ETH_HLEN + (c->f.kind == IP4 ? 20 : 40))
		return;
	s = load(c->syn_only);
	ck_assert_int_eq(shed_set(s, c->share), 0);
	got = run(s, tc, frame, len, 1);
	ck_assert_msg(got == want, "%s (%s): verdict %d, want %d", c->name, tc ? "tc" : "xdp",
		      (int)got, (int)want);
	ck_assert_uint_eq(dropped(s), c->drop);
	shed_close(s);
}
END_TEST

/* At half the share, about half of the VIP packets go, counted. */
START_TEST(test_half)
{
	struct frame f = { .kind = IP4, .dst = "10.9.0.5", .proto = UDP };
	struct frame_buf b;
	uint8_t *frame = b.data;
	unsigned int len = build(frame, &f);
	struct shed *s;
	uint64_t n;

	if (!need_root())
		return;
	s = load(false);
	ck_assert_int_eq(shed_set(s, HALF), 0);
	run(s, _i, frame, len, 4000);
	n = dropped(s);
	ck_assert_msg(n > 1600 && n < 2400, "%llu of 4000 dropped at half",
		      (unsigned long long)n);
	shed_close(s);
}
END_TEST

/* At tc ingress a packet the fast path marked passes, whatever the share;
 * the same packet unmarked is shed. */
START_TEST(test_marked)
{
	struct frame f = { .kind = _i ? IP6 : IP4, .dst = _i ? "fd00:9::1" : "10.9.0.5",
			   .proto = UDP };
	struct frame_buf b;
	uint8_t *frame = b.data;
	unsigned int len = build(frame, &f);
	struct shed *s;

	if (!need_root())
		return;
	s = load(false);
	ck_assert_int_eq(shed_set(s, SHED_ALL), 0);
	ck_assert_uint_eq(run_marked(s, frame, len, 7), TC_NEXT);
	ck_assert_uint_eq(run_marked(s, frame, len, 0xffffffffu), TC_NEXT);
	ck_assert_uint_eq(dropped(s), 0);
	ck_assert_uint_eq(run_marked(s, frame, len, 0), TC_DROP);
	ck_assert_uint_eq(dropped(s), 1);
	shed_close(s);
}
END_TEST

START_TEST(test_bad_prefix)
{
	uint8_t a[16] = { 10 };
	struct shed *s;

	if (!need_root())
		return;
	s = load(false);
	ck_assert_int_eq(shed_add_prefix(s, AF_INET, a, 33), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(shed_add_prefix(s, AF_INET6, a, 129), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(shed_add_prefix(s, AF_UNIX, a, 8), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(shed_add_prefix(s, AF_INET, a, 0), 0);	/* everything */
	shed_close(s);
}
END_TEST

/* In a namespace of its own: lo has no driver XDP, so auto falls back to
 * tc ingress and xdp fails; a missing interface is ENODEV. */
START_TEST(test_attach)
{
	char why[WHY_MAX] = "";
	struct shed *s;
	bool tc = false;

	if (!need_root())
		return;
	ck_assert_msg(unshare(CLONE_NEWNET) == 0, "unshare: %s", strerror(errno));
	s = load(false);
	ck_assert_int_eq(shed_attach(s, "nosuch0", SHED_AUTO, &tc, why), -1);
	ck_assert_int_eq(errno, ENODEV);
	ck_assert_ptr_nonnull(strstr(why, "no interface \"nosuch0\""));
	ck_assert_int_eq(shed_attach(s, "lo", SHED_XDP, &tc, why), -1);
	ck_assert_ptr_nonnull(strstr(why, "cannot attach XDP in driver mode"));
	ck_assert_msg(shed_attach(s, "lo", SHED_AUTO, &tc, why) == 0, "attach: %s", why);
	ck_assert(tc);
	shed_close(s);
}
END_TEST

/* ---------------------------------------------------------------- options */

struct bad_case {
	const char *args[8];
	const char *what;
};

static const struct bad_case bad_cases[] = {
	{ { "--shed", "lo", NULL }, "--shed needs --vip" },
	{ { "--vip", "10.0.0.1", NULL }, "--vip needs --shed" },
	{ { "--syn-only", NULL }, "--syn-only needs --shed" },
	{ { "--shed", "lo", "--vip", "10.0.0.256", NULL }, "bad vip '10.0.0.256'" },
	{ { "--shed", "lo", "--vip", "10.0.0.0/33", NULL }, "bad vip" },
	{ { "--shed", "lo", "--vip", "fd00::/129", NULL }, "bad vip" },
	{ { "--shed", "lo", "--vip", "10.0.0.1,", NULL }, "bad vip" },
	{ { "--shed", "lo", "--vip", "10.0.0.1,,fd00::1", NULL }, "bad vip" },
	{ { "--shed", "lo", "--vip", "10.0.0.1/", NULL }, "bad vip" },
	{ { "--shed", "lo", "--vip", "", NULL }, "bad vip" },
};

START_TEST(test_bad_options)
{
	const struct bad_case *c = &bad_cases[_i];

	cli_want_error(cli_run("lb", c->args), 2, "lb", c->what);
}
END_TEST

Suite *make_shed_suite(void)
{
	Suite *s = suite_create("shed");
	TCase *tc = tcase_create("shed");

	tcase_add_loop_test(tc, test_verdict, 0, 2 * NCASES);
	tcase_add_loop_test(tc, test_half, 0, 2);
	tcase_add_test(tc, test_bad_prefix);
	tcase_add_loop_test(tc, test_marked, 0, 2);
	tcase_add_test(tc, test_attach);
	tcase_add_loop_test(tc, test_bad_options, 0,
			    (int)(sizeof(bad_cases) / sizeof(bad_cases[0])));
	suite_add_tcase(s, tc);
	return s;
}
