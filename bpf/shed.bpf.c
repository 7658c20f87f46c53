/* SPDX-License-Identifier: GPL-2.0-or-later */
/* shed.bpf.c: the shedding programs of `nfqlb lb --shed` (see nfqlb/shed.h).
 *
 * Two programs share one decision: shed_xdp runs in the driver's XDP,
 * shed_tc at tc ingress (tcx).  While shed_share holds a share s > 0, a
 * packet addressed to a prefix in shed_vip4 or shed_vip6 is dropped with
 * probability s / 2^32 (every one at SHED_SHARE_ALL).  Everything else
 * passes untouched: ARP, other protocols, packets for other addresses
 * (routing, BFD, health checks, SSH to the host).
 *
 * With shed_syn_only set (the rules queue only each connection's first
 * packet), a VIP packet is shed only when it is a TCP SYN without ACK or
 * not TCP at all: established TCP never reaches the queue, so dropping
 * it would relieve nothing.  A packet that might be established TCP but
 * whose flags cannot be read passes: an IPv4 fragment after the first, an
 * IPv6 packet with more than SHED_EXT_MAX extension headers before the
 * upper-layer header, or one cut short.
 *
 * shed_tc passes every packet that has a mark already: the fast path of
 * `lb --bpf` (bpf/fastpath.bpf.c), attached before it on the same
 * interface, decided that packet, which never reaches the queue, so
 * shedding it would relieve nothing.  shed_xdp runs before tc and sees no
 * mark: with the fast path, shedding runs at tc ingress.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <stdbool.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "bpf/shed_maps.h"

/* tcx verdicts (Linux 6.6), which older uapi headers lack. */
#define TCX_NEXT (-1)
#define TCX_DROP 2

#define IP_MF_OFFSET 0x1fff	/* the fragment offset bits of iphdr.frag_off */
#define IP6_FRAG_OFFSET 0xfff8	/* of the IPv6 fragment header's frag_off */
#define SHED_EXT_MAX 4		/* IPv6 extension headers looked through */

/* Set before loading: the rules queue only SYNs and non-TCP packets. */
const volatile __u32 shed_syn_only = 0;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} shed_share SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} shed_dropped SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, SHED_VIPS_MAX);
	__type(key, struct shed_key4);
	__type(value, __u8);
} shed_vip4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, SHED_VIPS_MAX);
	__type(key, struct shed_key6);
	__type(value, __u8);
} shed_vip6 SEC(".maps");

struct vlan_tag {
	__be16 tci;
	__be16 proto;
};

struct frag6 {
	__u8 nexthdr;
	__u8 reserved;
	__be16 frag_off;
	__be32 id;
};

/* A TCP header at p: a SYN without ACK?  Not if it is cut short. */
static __always_inline bool tcp_syn(void *p, void *end)
{
	struct tcphdr *th = p;

	if ((void *)(th + 1) > end)
		return false;
	return th->syn && !th->ack;
}

static __always_inline bool is_ext6(__u8 next)
{
	return next == IPPROTO_HOPOPTS || next == IPPROTO_ROUTING ||
	       next == IPPROTO_DSTOPTS || next == IPPROTO_FRAGMENT ||
	       next == IPPROTO_AH;
}

/* SYN-only mode, IPv6: follow the chain of extension headers from `next`
 * at p to the upper-layer header, and shed a TCP SYN or anything not TCP. */
static __always_inline bool syn_or_not_tcp6(__u8 next, void *p, void *end)
{
	struct ipv6_opt_hdr *h;
	struct frag6 *f;
	int i;

#pragma unroll
	for (i = 0; i < SHED_EXT_MAX; i++) {
		if (next == IPPROTO_TCP)
			return tcp_syn(p, end);
		if (!is_ext6(next))
			return true;
		if (next == IPPROTO_FRAGMENT) {
			f = p;
			if ((void *)(f + 1) > end)
				return false;
			/* A later fragment carries no upper-layer header. */
			if (f->frag_off & bpf_htons(IP6_FRAG_OFFSET))
				return f->nexthdr != IPPROTO_TCP && !is_ext6(f->nexthdr);
			next = f->nexthdr;
			p = f + 1;
			continue;
		}
		h = p;
		if ((void *)(h + 1) > end)
			return false;
		/* AH counts its length in 4-octet units, less 2; the others in
		 * 8-octet units, less 1. */
		p += next == IPPROTO_AH ? (h->hdrlen + 2) * 4 : (h->hdrlen + 1) * 8;
		next = h->nexthdr;
	}
	if (next == IPPROTO_TCP)
		return tcp_syn(p, end);
	return !is_ext6(next);
}

static __always_inline bool shed4(void *p, void *end)
{
	struct shed_key4 key = { .prefixlen = 32 };
	struct iphdr *ip = p;

	if ((void *)(ip + 1) > end || ip->ihl < 5)
		return false;
	__builtin_memcpy(key.addr, &ip->daddr, sizeof(key.addr));
	if (!bpf_map_lookup_elem(&shed_vip4, &key))
		return false;
	if (!shed_syn_only || ip->protocol != IPPROTO_TCP)
		return true;
	if (ip->frag_off & bpf_htons(IP_MF_OFFSET))
		return false;
	return tcp_syn(p + ip->ihl * 4, end);
}

static __always_inline bool shed6(void *p, void *end)
{
	struct shed_key6 key = { .prefixlen = 128 };
	struct ipv6hdr *ip6 = p;

	if ((void *)(ip6 + 1) > end)
		return false;
	__builtin_memcpy(key.addr, &ip6->daddr, sizeof(key.addr));
	if (!bpf_map_lookup_elem(&shed_vip6, &key))
		return false;
	if (!shed_syn_only)
		return true;
	return syn_or_not_tcp6(ip6->nexthdr, ip6 + 1, end);
}

/* Is the Ethernet frame in [data, end) one that shedding may drop? */
static __always_inline bool sheddable(void *data, void *end)
{
	struct ethhdr *eth = data;
	struct vlan_tag *vlan;
	void *p = eth + 1;
	__be16 proto;

	if (p > end)
		return false;
	proto = eth->h_proto;
	if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD)) {
		vlan = p;
		if ((void *)(vlan + 1) > end)
			return false;
		proto = vlan->proto;
		p = vlan + 1;
	}
	if (proto == bpf_htons(ETH_P_IP))
		return shed4(p, end);
	if (proto == bpf_htons(ETH_P_IPV6))
		return shed6(p, end);
	return false;
}

/* The decision both programs share: drop this frame now?  Counts drops. */
static __always_inline bool shed_now(void *data, void *end)
{
	__u32 zero = 0, *share = bpf_map_lookup_elem(&shed_share, &zero);
	__u64 *dropped;

	if (!share || *share == 0 || !sheddable(data, end))
		return false;
	if (*share != SHED_SHARE_ALL && bpf_get_prandom_u32() >= *share)
		return false;
	dropped = bpf_map_lookup_elem(&shed_dropped, &zero);
	if (dropped)
		*dropped += 1;
	return true;
}

SEC("xdp")
int shed_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;

	return shed_now(data, end) ? XDP_DROP : XDP_PASS;
}

/* At tc ingress the frame starts at the Ethernet header too.  Headers
 * outside the linear part pass (none of a veth's or a usual NIC's).  A
 * marked packet passes: the fast path took it off the queue path. */
SEC("tc")
int shed_tc(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;

	if (skb->mark)
		return TCX_NEXT;
	return shed_now(data, end) ? TCX_DROP : TCX_NEXT;
}

char LICENSE[] SEC("license") = "GPL";
