/* lb.h: the NFQUEUE worker's counters, shared with `nfqlb stats`. */
#ifndef NFQLB_LB_H
#define NFQLB_LB_H

#include "nfqlb/pkt.h"
#include "shm/shm.h"

/* Indexes into struct shm_worker.cnt.  0..PKT_KIND_MAX-1 count packets per
 * enum pkt_kind. */
enum lb_cnt {
	LB_CNT_NO_TARGET = PKT_KIND_MAX,	/* found an empty table */
	LB_CNT_ACCEPT,				/* verdicts: accepted */
	LB_CNT_DROP,				/* verdicts: dropped */
	LB_CNT_MAX
};

_Static_assert(LB_CNT_MAX <= SHM_CNT_MAX, "counters fit the shared state");

#endif
