/* SPDX-License-Identifier: GPL-2.0-or-later */
/* shed_maps.h: what the shedding programs (bpf/shed.bpf.c) and their
 * loader (nfqlb/shed.c) share: the layout of the maps' keys and values.
 * Included by BPF C and by user space alike, so it uses only <linux/types.h>. */
#ifndef NFQLB_BPF_SHED_MAPS_H
#define NFQLB_BPF_SHED_MAPS_H

#include <linux/types.h>

/* The share in shed_share that drops every packet the programs may shed;
 * any other value s drops with probability s / 2^32. */
#define SHED_SHARE_ALL 0xffffffffu

/* Room for prefixes in each of shed_vip4 and shed_vip6. */
#define SHED_VIPS_MAX 4096

/* A key of the IPv4 VIP trie: the first `prefixlen` bits of addr. */
struct shed_key4 {
	__u32 prefixlen;
	__u8 addr[4];
};

/* A key of the IPv6 VIP trie. */
struct shed_key6 {
	__u32 prefixlen;
	__u8 addr[16];
};

#endif
