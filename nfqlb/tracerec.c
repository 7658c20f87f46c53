/* SPDX-License-Identifier: GPL-2.0-or-later */
/* tracerec.c: a decision into the trace ring (see tracerec.h). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <linux/netfilter.h>

#include "flows/flow.h"
#include "nfqlb/pkt.h"
#include "nfqlb/tracerec.h"

_Static_assert(TRACE_FLOW_LEN == FLOW_NAME_MAX + 1, "a record holds a flow name");
_Static_assert(sizeof(((struct trace_rec *)0)->key) == sizeof(struct pkt_key),
	       "a record holds a packet's key");

void tracerec_put(struct trace *t, const struct queue_pkt *p, const struct tracerec *d)
{
	struct trace_rec r = { .queue = d->queue, .kind = d->kind, .target = d->target,
			       .mark = d->mark };
	struct pkt_key key;
	struct timespec ts;

	r.verdict = d->verdict == NF_DROP ? TRACE_DROP : TRACE_ACCEPT;
	clock_gettime(CLOCK_REALTIME, &ts);
	r.ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	if (!d->key)
		pkt_classify(p->data, p->len, &key);
	memcpy(r.key, d->key ? d->key->w : key.w, sizeof(r.key));
	if (d->flow)
		snprintf(r.flow, sizeof(r.flow), "%s", d->flow);
	trace_put(t, &r);
}
