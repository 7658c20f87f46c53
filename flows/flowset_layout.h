/* SPDX-License-Identifier: GPL-2.0-or-later */
/* flowset_layout.h: the layout of a flow set object.  Internal to
 * flowset.c; the unit tests and the fuzzer include it to damage objects on
 * purpose.
 *
 * One fixed-size struct flowset_obj.  A buffer holds n flows sorted by
 * name (strcmp), and each flow's counter slot.  used[] and base[] lie
 * outside the buffers: only writers read them, under the lock. */
#ifndef NFQLB_FLOWSET_LAYOUT_H
#define NFQLB_FLOWSET_LAYOUT_H

#include <stdint.h>

#include "flows/flowset.h"

#define FLOWSET_MAGIC 0x4651464eU	/* "NFQF" in little-endian memory */
#define FLOWSET_VERSION 1

/* Begins as struct shm_hdr does (see shm/object.h). */
struct flowset_hdr {
	uint32_t magic;
	uint32_t version;
	uint32_t hdr_size;	/* sizeof(struct flowset_hdr) */
	uint32_t flow_size;	/* sizeof(struct flow) */
	uint32_t flows_max;	/* FLOW_MAX */
	uint32_t workers;	/* SHM_WORKERS */
	uint32_t cnt_max;	/* FLOWSET_C_MAX */
	uint32_t fcnt_max;	/* FLOWSET_F_MAX */
	uint64_t size;		/* sizeof(struct flowset_obj) */
	uint64_t generation;	/* atomic; the published buffer is generation & 1 */
	uint32_t seq[2];	/* atomic; odd while a writer fills that buffer */
	uint32_t retired;	/* never set: a flow set is not replaced */
	uint32_t pad[17];
};

struct flowset_buf {
	uint32_t n;
	uint32_t pad[15];
	uint16_t slot[FLOW_MAX];
	struct flow flows[FLOW_MAX];
};

/* A worker's counter set on cache lines of its own. */
struct flowset_set {
	struct flowset_worker w;
} __attribute__((aligned(64)));

struct flowset_obj {
	struct flowset_hdr hdr;
	struct flowset_buf buf[2];
	uint8_t used[FLOW_MAX];			/* 1: the slot has had a flow */
	uint64_t base[FLOW_MAX][FLOWSET_F_MAX];	/* counts before its current flow */
	struct flowset_set sets[SHM_WORKERS];
};

#endif
