/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fastpath.bpf.c: the fast path of `nfqlb lb --bpf` (see nfqlb/fastpath.h),
 * at tc ingress.
 *
 * For the common packet, TCP, UDP, SCTP or UDP-Lite with its ports and not
 * fragmented, it does what the queue path does (nfqlb/lb.c): the same key
 * (nfqlb/pkt.h), the same flow (the highest ranked flow that matches, see
 * bpf/fastpath_maps.h), the same hash (maglev/hash.h, compiled here too),
 * the same table, and sets skb->mark to the target's id.  Every other
 * packet leaves unmarked, for the NFQUEUE rule and the full classifier:
 * fragments, ICMP, other protocols, an IPv6 chain of more than FP_EXT_MAX
 * extension headers, a header cut short or malformed, SCTP over UDP, no
 * flow, a table without target, and packets that arrive while the slot
 * they were decided from was being rewritten, or after the loader's
 * deadline (a clsact filter left by a dead worker).  The program never
 * drops.
 *
 * Bytes are read with bpf_skb_load_bytes(), so headers outside the linear
 * part are read too.  Like the queue path, it looks at no more than the
 * first FP_COPY_RANGE bytes of the IP packet, and at no byte past the
 * IPv4 total length or the IPv6 payload length.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <stdbool.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "bpf/fastpath_maps.h"
#include "maglev/hash.h"

/* tcx (and clsact direct-action) verdict: go on, as if not here. */
#define TCX_NEXT (-1)

#define IP4_FRAG 0x3fff		/* MF and the fragment offset */
#define IP6_FRAG 0xfff9		/* the fragment offset and M */
#define NEXTHDR_HOP 0
#define NEXTHDR_ROUTING 43
#define NEXTHDR_FRAGMENT 44
#define NEXTHDR_AUTH 51
#define NEXTHDR_DEST 60
#define PROTO_ICMPV6 58
#define PROTO_UDPLITE 136

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fp_ctl);
} fp_ctl SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct fp_slot);
} fp_slot SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, FP_PREFIXES_MAX);
	__type(key, struct fp_addr_key);
	__type(value, __u32);
} fp_addr SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4 * 65536);
	__type(key, __u32);
	__type(value, __u32);
} fp_port SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * FP_BITS_MAX);
	__type(key, __u32);
	__type(value, struct fp_bits);
} fp_bits SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * FP_FLOWS_MAX);
	__type(key, __u32);
	__type(value, struct fp_flow);
} fp_flow SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * FP_TABLES_MAX);
	__type(key, __u32);
	__type(value, struct fp_table);
} fp_tab SEC(".maps");

/* Each table's lookup entries, an array of m cells; BPF_F_INNER_MAP lets
 * the inner maps differ in size. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 2 * FP_TABLES_MAX);
	__type(key, __u32);
	__array(values, struct {
		__uint(type, BPF_MAP_TYPE_ARRAY);
		__uint(map_flags, BPF_F_INNER_MAP);
		__uint(max_entries, 1);
		__type(key, __u32);
		__type(value, __u64);	/* struct fp_cell */
	});
} fp_cells SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2 * FP_FLOWS_MAX);
	__type(key, __u32);
	__type(value, __u64);
} fp_fcnt SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FP_C_MAX);
	__type(key, __u32);
	__type(value, __u64);
} fp_kind SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FP_TCNT_MAX / FP_TCNT_LANES);
	__type(key, __u32);
	__type(value, struct fp_tcnt);
} fp_tcnt SEC(".maps");

/* What the parser found: the key, in nfqlb/pkt.h's form, and its class. */
struct fp_pkt {
	__u32 w[HASH_FLOW_WORDS];
	__u8 addr[2][16];	/* source, destination: 128-bit form, network order */
	__u32 cls;		/* enum fp_proto */
	__u32 mark;		/* fp_decide(): the target's mark, */
	__u32 cnt;		/* its counter, */
	__u32 fcnt;		/* and its flow's (fp_fcnt) */
};

static __always_inline int count(__u32 c)
{
	__u64 *n = bpf_map_lookup_elem(&fp_kind, &c);

	if (n)
		*n += 1;
	return TCX_NEXT;
}

/* n bytes at off: straight from the linear part when they are there (no
 * helper call), else through bpf_skb_load_bytes(). */
static __always_inline int load(struct __sk_buff *skb, __u32 off, void *to, __u32 n)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	__u8 *p;

	if (off < 1024) {
		p = data + (off & 1023);
		if ((void *)(p + n) <= end) {
			__builtin_memcpy(to, p, n);
			return 0;
		}
	}
	return bpf_skb_load_bytes(skb, off, to, n);
}

static __always_inline __u32 rd32(const __u8 *p)
{
	return (__u32)p[0] << 24 | (__u32)p[1] << 16 | (__u32)p[2] << 8 | p[3];
}

static __always_inline int proto_class(__u8 proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return FP_PROTO_TCP;
	case IPPROTO_UDP:
		return FP_PROTO_UDP;
	case IPPROTO_SCTP:
		return FP_PROTO_SCTP;
	case PROTO_UDPLITE:
		return FP_PROTO_UDPLITE;
	}
	return -1;
}

/* The ports at off, of left bytes of transport header; -1 (a count) when
 * the packet is not one to mark. */
static __always_inline int ports(struct __sk_buff *skb, __u32 off, __u32 left,
				 __u8 proto, struct fp_pkt *k)
{
	__u8 h[16];
	int cls = proto_class(proto);

	if (cls < 0)
		return proto == IPPROTO_ICMP || proto == PROTO_ICMPV6 ? FP_C_ICMP : FP_C_L3;
	if (left < 4)
		return FP_C_L3;	/* the queue path's PKT_L3: ports not there */
	if (load(skb, off, h, 4))
		return FP_C_MALFORMED;
	/* As pkt.c: a TCP header shorter than its minimum is not trusted. */
	if (proto == IPPROTO_TCP && left >= 13) {
		if (load(skb, off + 12, h + 12, 1))
			return FP_C_MALFORMED;
		if (h[12] >> 4 < 5)
			return FP_C_MALFORMED;
	}
	k->w[8] = rd32(h);
	k->w[9] = proto;
	k->cls = (__u32)cls;
	return -1;
}

/* The IP packet's length as the queue path sees it: at most FP_COPY_RANGE. */
static __always_inline __u32 captured(struct __sk_buff *skb, __u32 l3)
{
	__u32 len = skb->len > l3 ? skb->len - l3 : 0;

	return len < FP_COPY_RANGE ? len : FP_COPY_RANGE;
}

static __always_inline int parse4(struct __sk_buff *skb, __u32 l3, struct fp_pkt *k)
{
	__u32 len = captured(skb, l3), hlen, tot, end;
	__u8 h[20];

	if (len < 20 || load(skb, l3, h, 20))
		return FP_C_MALFORMED;
	if (h[0] >> 4 != 4)
		return FP_C_MALFORMED;
	hlen = (h[0] & 0x0f) * 4u;
	tot = (__u32)h[2] << 8 | h[3];
	if (hlen < 20 || hlen > len || (tot != 0 && tot < hlen))
		return FP_C_MALFORMED;
	if (((__u32)h[6] << 8 | h[7]) & IP4_FRAG)
		return FP_C_FRAGMENT;
	end = tot != 0 && tot < len ? tot : len;
	k->w[2] = 0xffff;
	k->w[3] = rd32(h + 12);
	k->w[6] = 0xffff;
	k->w[7] = rd32(h + 16);
	k->addr[0][10] = k->addr[0][11] = 0xff;
	k->addr[1][10] = k->addr[1][11] = 0xff;
	__builtin_memcpy(&k->addr[0][12], h + 12, 4);
	__builtin_memcpy(&k->addr[1][12], h + 16, 4);
	return ports(skb, l3 + hlen, end - hlen, h[9], k);
}

static __always_inline bool is_ext(__u8 nh)
{
	return nh == NEXTHDR_HOP || nh == NEXTHDR_ROUTING || nh == NEXTHDR_DEST ||
	       nh == NEXTHDR_FRAGMENT || nh == NEXTHDR_AUTH;
}

/* Walk up to FP_EXT_MAX extension headers from *off (relative to the IP
 * header) with *nh; -1 when the transport header is reached. */
static __always_inline int walk6(struct __sk_buff *skb, __u32 l3, __u32 end, bool whole,
				 __u32 *off, __u8 *nh)
{
	__u8 h[4];
	__u32 n;
	int i;

	for (i = 0; i < FP_EXT_MAX; i++) {
		if (!is_ext(*nh))
			return -1;
		if (*off > end)
			return FP_C_MALFORMED;
		n = end - *off;		/* left */
		if (n < (*nh == NEXTHDR_FRAGMENT ? 8u : 2u))
			return whole ? FP_C_MALFORMED : FP_C_L3;
		if (*nh == NEXTHDR_FRAGMENT ? load(skb, l3 + *off, h, 4) :
					      load(skb, l3 + *off, h, 2))
			return FP_C_MALFORMED;
		if (*nh == NEXTHDR_FRAGMENT) {
			/* An atomic fragment (RFC 8200 4.5) is no fragment. */
			if (((__u32)h[2] << 8 | h[3]) & IP6_FRAG)
				return FP_C_FRAGMENT;
			n = 8;
		} else {
			__u32 want = *nh == NEXTHDR_AUTH ? (h[1] + 2u) * 4u : (h[1] + 1u) * 8u;

			if (want > n)
				return whole ? FP_C_MALFORMED : FP_C_L3;
			n = want;
		}
		*nh = h[0];
		*off += n;
	}
	return is_ext(*nh) ? FP_C_L3 : -1;
}

static __always_inline int parse6(struct __sk_buff *skb, __u32 l3, struct fp_pkt *k)
{
	__u32 len = captured(skb, l3), plen, end, off = 40;
	__u8 h[40], nh;
	bool whole;
	int i, r;

	if (len < 40 || load(skb, l3, h, 40))
		return FP_C_MALFORMED;
	if (h[0] >> 4 != 6)
		return FP_C_MALFORMED;
	for (i = 0; i < 4; i++) {
		k->w[i] = rd32(h + 8 + 4 * i);
		k->w[4 + i] = rd32(h + 24 + 4 * i);
	}
	__builtin_memcpy(k->addr[0], h + 8, 16);
	__builtin_memcpy(k->addr[1], h + 24, 16);
	plen = (__u32)h[4] << 8 | h[5];
	whole = plen != 0 && 40 + plen <= len;
	end = whole ? 40 + plen : len;
	nh = h[6];
	r = walk6(skb, l3, end, whole, &off, &nh);
	if (r >= 0)
		return r;
	if (off > end || off > FP_COPY_RANGE)
		return FP_C_MALFORMED;
	return ports(skb, l3 + off, end - off, nh, k);
}

/* The key of the frame; -1 when it is one to mark, else the count of why
 * not.  The frame starts at its Ethernet header (tc ingress). */
__noinline int fp_parse(struct __sk_buff *skb, struct fp_pkt *k)
{
	__u32 l3 = ETH_HLEN;
	__be16 proto;
	__u8 tag[4];
	int i;

	if (!k || load(skb, 12, &proto, 2))
		return FP_C_MALFORMED;
#pragma unroll
	for (i = 0; i < 2; i++) {
		if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD))
			break;
		if (load(skb, l3, tag, 4))
			return FP_C_MALFORMED;
		__builtin_memcpy(&proto, tag + 2, 2);
		l3 += 4;
	}
	if (proto == bpf_htons(ETH_P_IP))
		return parse4(skb, l3, k);
	if (proto == bpf_htons(ETH_P_IPV6))
		return parse6(skb, l3, k);
	return FP_C_MAX;	/* not IP: not ours, not counted */
}

static __always_inline const struct fp_bits *bits(__u32 slot, __u32 i)
{
	__u32 key = slot * FP_BITS_MAX + (i & (FP_BITS_MAX - 1));

	if (i >= FP_BITS_MAX)
		return NULL;
	return bpf_map_lookup_elem(&fp_bits, &key);
}

/* The bitset index of an address dimension. */
static __always_inline const struct fp_bits *addr_bits(__u32 slot, __u32 dim,
							  const __u8 *addr)
{
	struct fp_addr_key key = { .prefixlen = 16 + 128, .slot = (__u8)slot,
				   .dim = (__u8)dim };
	__u32 *i;

	__builtin_memcpy(key.addr, addr, 16);
	i = bpf_map_lookup_elem(&fp_addr, &key);
	return i ? bits(slot, *i) : NULL;
}

static __always_inline const __u32 *port_entry(__u32 slot, __u32 dim, __u32 port)
{
	__u32 key = (slot * 2 + dim) * 65536 + (port & 0xffff);

	return bpf_map_lookup_elem(&fp_port, &key);
}

/* The index of the lowest bit set in x, not 0. */
static __always_inline __u32 ctz64(__u64 x)
{
	__u32 n = 0;

	if (!(x & 0xffffffffULL)) { n += 32; x >>= 32; }
	if (!(x & 0xffffULL)) { n += 16; x >>= 16; }
	if (!(x & 0xffULL)) { n += 8; x >>= 8; }
	if (!(x & 0xfULL)) { n += 4; x >>= 4; }
	if (!(x & 0x3ULL)) { n += 2; x >>= 2; }
	if (!(x & 0x1ULL))
		n += 1;
	return n;
}

struct fp_sets {
	const struct fp_bits *b[5];
};

/* The rank of the winning flow, or -1. */
static __always_inline int winner(const struct fp_sets *s, __u32 nwords)
{
	__u64 x;
	int i;

	for (i = 0; i < FP_WORDS; i++) {
		if ((__u32)i >= nwords)
			break;
		x = s->b[0]->w[i] & s->b[1]->w[i] & s->b[2]->w[i] & s->b[3]->w[i] &
		    s->b[4]->w[i];
		if (x)
			return i * 64 + (int)ctz64(x);
	}
	return -1;
}

/* The flow's rank for the packet: -1 and *why when there is none. */
static __always_inline int match(__u32 slot, const struct fp_slot *sl,
				 const struct fp_pkt *k, int *why)
{
	const __u32 *dp, *sp;
	struct fp_sets s;
	int r;

	*why = FP_C_NO_FLOW;
	dp = port_entry(slot, FP_DIM_DST, k->w[8] & 0xffff);
	if (!dp)
		return -1;
	if ((*dp & FP_PORT_ENCAP) && k->w[9] == IPPROTO_UDP) {
		*why = FP_C_ENCAP;
		return -1;
	}
	s.b[0] = addr_bits(slot, FP_DIM_DST, k->addr[1]);
	s.b[1] = sl->flags & FP_SLOT_SRC_ANY ? bits(slot, sl->all) :
		 addr_bits(slot, FP_DIM_SRC, k->addr[0]);
	s.b[2] = bits(slot, sl->proto[k->cls & (FP_PROTO_MAX - 1)]);
	s.b[3] = bits(slot, *dp & ~FP_PORT_ENCAP);
	if (sl->flags & FP_SLOT_SPORT_ANY) {
		s.b[4] = bits(slot, sl->all);
	} else {
		sp = port_entry(slot, FP_DIM_SRC, k->w[8] >> 16);
		s.b[4] = sp ? bits(slot, *sp) : NULL;
	}
	if (!s.b[0] || !s.b[1] || !s.b[2] || !s.b[3] || !s.b[4])
		return -1;
	r = winner(&s, sl->nwords);
	return r < FP_FLOWS_MAX ? r : -1;
}

/* The cell of the flow's table for the packet; NULL when none. */
static __always_inline const struct fp_cell *lookup(__u32 slot, __u32 rank,
						    const struct fp_pkt *k)
{
	const struct fp_table *t;
	const struct fp_flow *f;
	const struct fp_cell *c;
	__u32 key = slot * FP_FLOWS_MAX + rank, e;
	void *cells;

	f = bpf_map_lookup_elem(&fp_flow, &key);
	if (!f || f->table >= FP_TABLES_MAX)
		return NULL;
	key = slot * FP_TABLES_MAX + f->table;
	t = bpf_map_lookup_elem(&fp_tab, &key);
	if (!t || t->m == 0)
		return NULL;
	cells = bpf_map_lookup_elem(&fp_cells, &key);
	if (!cells)
		return NULL;
	e = hash_reduce(hash_flow(k->w, (enum hash_mode)t->mode, t->seed), t->m);
	c = bpf_map_lookup_elem(cells, &e);
	return c && c->mark ? c : NULL;
}

/* The decision for a parsed packet: -1 with k->mark and k->cnt set, or
 * the count of why it is not marked.  A function of its own, which the
 * verifier checks once, whatever path the parser took. */
__noinline int fp_decide(struct fp_pkt *k)
{
	const struct fp_cell *c;
	const struct fp_slot *sl;
	struct fp_cell cell;
	struct fp_ctl *ctl;
	__u32 zero = 0, slot, seq;
	int r, rank;

	if (!k)
		return FP_C_MALFORMED;
	ctl = bpf_map_lookup_elem(&fp_ctl, &zero);
	if (!ctl)
		return FP_C_OFF;
	slot = *(volatile __u32 *)&ctl->active;
	seq = *(volatile __u32 *)&ctl->seq;
	/* The clock only for a clsact filter: it costs tens of ns here. */
	if (slot > 1 || (ctl->deadline != ~0ULL && bpf_ktime_get_ns() > ctl->deadline))
		return FP_C_OFF;
	sl = bpf_map_lookup_elem(&fp_slot, &slot);
	if (!sl)
		return FP_C_OFF;
	rank = match(slot, sl, k, &r);
	if (rank < 0)
		return r;
	c = lookup(slot, (__u32)rank, k);
	if (!c)
		return FP_C_NO_TARGET;
	cell = *c;	/* (also gives BTF struct fp_cell in full) */
	/* The slot was rewritten while this run read it: let the queue decide. */
	if (*(volatile __u32 *)&ctl->seq != seq)
		return FP_C_BUSY;
	k->mark = cell.mark;
	k->cnt = cell.cnt;
	k->fcnt = slot * FP_FLOWS_MAX + (__u32)rank;
	return -1;
}

SEC("tc")
int fastpath(struct __sk_buff *skb)
{
	struct fp_pkt k = {};
	struct fp_tcnt *t;
	__u64 *n;
	__u32 e;
	int r;

	r = fp_parse(skb, &k);
	if (r == FP_C_MAX)
		return TCX_NEXT;
	if (r < 0)
		r = fp_decide(&k);
	if (r >= 0)
		return count((__u32)r);
	skb->mark = k.mark;
	n = bpf_map_lookup_elem(&fp_fcnt, &k.fcnt);
	if (n)
		*n += 1;
	e = k.cnt / FP_TCNT_LANES;
	t = bpf_map_lookup_elem(&fp_tcnt, &e);
	if (t)
		t->n[k.cnt % FP_TCNT_LANES] += 1;
	return count(FP_C_MARKED);
}

char LICENSE[] SEC("license") = "GPL";
