/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fpbuild.h: a flow set turned into what one slot of the fast path's maps
 * holds (bpf/fastpath_maps.h).  Pure: no I/O; allocates.  nfqlb/fastpath.c
 * writes the image into the maps. */
#ifndef NFQLB_FPBUILD_H
#define NFQLB_FPBUILD_H

#include <stdint.h>

#include "nfqlb/fastpath.h"

/* An entry of fp_addr, without its slot. */
struct fp_prefix {
	uint8_t dim;		/* enum fp_dim */
	uint8_t len;		/* 0..128 */
	uint8_t addr[16];
	uint32_t bits;		/* bitset index */
};

struct fp_image {
	struct fp_slot hdr;
	struct fp_bits *bits;		/* nbits distinct bitsets */
	uint32_t nbits;
	struct fp_prefix *pfx;
	uint32_t npfx;
	uint32_t *port;			/* 2 * 65536: fp_port of the slot, by dim */
	struct fp_flow *rank;		/* nflows, by rank */
	uint32_t nflows;
};

/**
 * fp_image_build - build the image of a flow set
 * @set: the flows (their tables only by index)
 * @img: written; free with fp_image_free()
 * @why: filled with the reason on failure
 *
 * Returns 0, or -1 with errno ENOMEM, or E2BIG (more than FP_FLOWS_MAX
 * flows, FP_BITS_MAX distinct bitsets or FP_PREFIXES_MAX / 2 prefixes).
 */
int fp_image_build(const struct fastpath_set *set, struct fp_image *img, char *why);

/**
 * fp_image_free - free an image's memory
 * @img: the image (zeroed)
 */
void fp_image_free(struct fp_image *img);

#endif
