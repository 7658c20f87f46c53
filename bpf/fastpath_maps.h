/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fastpath_maps.h: what the fast path's BPF program (bpf/fastpath.bpf.c)
 * and its loader (nfqlb/fastpath.c) share: the maps' keys and values.
 * Included by BPF C and by user space alike, so it uses only <linux/types.h>.
 *
 * Two slots.  Everything the program reads to decide, but the control
 * word, exists once per slot; the loader writes the slot the program does
 * not use, then flips fp_ctl to it.  A program run reads fp_ctl first and
 * again at its end: when the sequence number moved meanwhile (the loader
 * began rewriting the slot the run was reading), the run leaves the packet
 * unmarked and the queue path decides it.
 *
 * The flows of a slot are ranked (highest prio first, then name), and bit r
 * of a bitset stands for the flow of rank r; so the winner is the lowest bit
 * set in the AND of the packet's bitsets: destination, source, protocol,
 * destination port, source port.
 */
#ifndef NFQLB_BPF_FASTPATH_MAPS_H
#define NFQLB_BPF_FASTPATH_MAPS_H

#include <linux/types.h>

#define FP_FLOWS_MAX 2048		/* flows of a slot (FLOW_MAX) */
#define FP_WORDS (FP_FLOWS_MAX / 64)	/* 64-bit words of a bitset */
#define FP_TABLES_MAX 2048		/* tables of a slot */
#define FP_BITS_MAX 16384		/* distinct bitsets of a slot */
#define FP_PREFIXES_MAX 140000		/* fp_addr entries, both slots */
#define FP_TCNT_MAX 131072		/* per-target counters, all tables */
#define FP_TCNT_LANES 8			/* counters per fp_tcnt element */
#define FP_EXT_MAX 4			/* IPv6 extension headers walked */
#define FP_COPY_RANGE 512		/* PKT_COPY_RANGE: what the queue path sees */
#define FP_NO_SLOT 2			/* fp_ctl.active: no slot, mark nothing */

/* The program's one control word (fp_ctl[0]). */
struct fp_ctl {
	__u32 active;		/* 0 or 1; FP_NO_SLOT before the first publish */
	__u32 seq;		/* bumped before a slot is rewritten, and at the flip */
	__u64 deadline;		/* CLOCK_MONOTONIC ns after which the program
				 * marks nothing: the loader, attached by a
				 * clsact filter that outlives it, renews it
				 * while it lives; ~0 with tcx links */
};

/* Dimensions of fp_addr and fp_port. */
enum fp_dim {
	FP_DIM_DST = 0,
	FP_DIM_SRC = 1,
};

/* A key of fp_addr, an LPM trie: prefixlen counts the bits of slot, dim and
 * addr, so 16 + the address prefix's length. */
struct fp_addr_key {
	__u32 prefixlen;
	__u8 slot;
	__u8 dim;
	__u8 addr[16];		/* the 128-bit form of nfqlb/pkt.h, network order */
};

/* Protocol classes of fp_slot.proto (the protocols with ports). */
enum fp_proto {
	FP_PROTO_TCP = 0,
	FP_PROTO_UDP,
	FP_PROTO_SCTP,
	FP_PROTO_UDPLITE,
	FP_PROTO_MAX
};

#define FP_SLOT_SRC_ANY 0x1	/* no flow has a source list: skip fp_addr src */
#define FP_SLOT_SPORT_ANY 0x2	/* no flow has a source port list */
#define FP_PORT_ENCAP 0x80000000u	/* fp_port dst value: SCTP over UDP port */

/* A slot's header (fp_slot[slot]). */
struct fp_slot {
	__u32 nwords;		/* bitset words in use: ceil(flows / 64), >= 1 */
	__u32 flags;		/* FP_SLOT_* */
	__u32 proto[FP_PROTO_MAX];	/* bitset index per protocol class */
	__u32 all;		/* the bitset of every flow */
};

/* A bitset (fp_bits[slot * FP_BITS_MAX + i]). */
struct fp_bits {
	__u64 w[FP_WORDS];
};

/* The flow of a rank (fp_flow[slot * FP_FLOWS_MAX + rank]). */
struct fp_flow {
	__u32 table;		/* index in the slot's tables */
	__u32 flow;		/* the flow's index in its flow set */
};

/* A table (fp_tab[slot * FP_TABLES_MAX + t]); its lookup entries are the
 * inner map fp_cells[slot * FP_TABLES_MAX + t]. */
struct fp_table {
	__u32 m;		/* 0: not usable (no lookup entries) */
	__u32 seed;
	__u32 mode;		/* enum hash_mode */
	__u32 pad;
};

/* A lookup entry: the target's mark (0: no target), and its counter in
 * fp_tcnt. */
struct fp_cell {
	__u32 mark;
	__u32 cnt;
};

/* Eight per-target counters, one element of fp_tcnt: counter c is lane
 * c % 8 of element c / 8 (fewer elements: a per-CPU map is allocated
 * element by element).  A table's counters start at an element. */
struct fp_tcnt {
	__u64 n[FP_TCNT_LANES];
};

/* Packets marked per flow: fp_fcnt[slot * FP_FLOWS_MAX + rank], per CPU;
 * the loader zeroes a slot's before it rewrites the slot. */

/* The program's per-CPU packet counters (fp_kind). */
enum fp_count {
	FP_C_MARKED = 0,	/* marked for a target */
	FP_C_NO_FLOW,		/* passed: no flow matched */
	FP_C_NO_TARGET,		/* passed: the flow's table has no target, or none usable */
	FP_C_FRAGMENT,		/* passed: an IP fragment */
	FP_C_ICMP,		/* passed: ICMP or ICMPv6 */
	FP_C_L3,		/* passed: another protocol, or a long extension chain */
	FP_C_MALFORMED,		/* passed: cut short or cannot be trusted */
	FP_C_ENCAP,		/* passed: SCTP over UDP */
	FP_C_BUSY,		/* passed: the slot was rewritten during the run */
	FP_C_OFF,		/* passed: nothing published yet */
	FP_C_MAX
};

#endif
