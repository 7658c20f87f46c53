/* SPDX-License-Identifier: GPL-2.0-or-later */
/* tracerec.h: the worker's side of `nfqlb trace`: one decision, written to
 * the process's trace ring (shm/trace.h) while a reader has it armed. */
#ifndef NFQLB_TRACEREC_H
#define NFQLB_TRACEREC_H

#include <stdint.h>

#include "nfqlb/pkt.h"
#include "nfqlb/queue.h"
#include "shm/trace.h"

/* One decision, as the worker made it. */
struct tracerec {
	uint16_t queue;
	uint8_t kind;		/* enum pkt_kind */
	uint32_t verdict;	/* NF_ACCEPT or NF_DROP */
	uint32_t target;	/* the target's id, or 0 when none was found */
	uint32_t mark;		/* the mark the verdict sets, or 0 */
	const char *flow;	/* the flow's name, or NULL (one table) */
	const struct pkt_key *key;	/* the key decided on, or NULL: the
					 * packet is classified again */
};

/**
 * tracerec_put - write a decision to the ring, with the time
 * @t: the worker's ring (trace_batch_armed() said yes this batch)
 * @p: the packet
 * @d: the decision
 */
void tracerec_put(struct trace *t, const struct queue_pkt *p, const struct tracerec *d);

#endif
