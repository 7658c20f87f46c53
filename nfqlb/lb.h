/* lb.h: the NFQUEUE worker's counters, shared with `nfqlb stats`. */
#ifndef NFQLB_LB_H
#define NFQLB_LB_H

#include "nfqlb/pkt.h"
#include "nfqlb/queue.h"
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

#define LB_WHY_MAX 96

/* What the worker found for one packet. */
struct lb_result {
	uint8_t kind;		/* enum pkt_kind */
	uint32_t slot;		/* target slot, or SHM_NO_SLOT (and for PKT_MALFORMED) */
};

/**
 * lb_lookup_batch - classify, hash and look up a batch of packets
 * @v: the table
 * @mode: the table's hash mode
 * @seed: the table's seed
 * @pkts: the packets
 * @n: how many, at most QUEUE_BATCH
 * @res: n results, written
 *
 * The worker's whole per-packet decision; pure, so the micro benchmark
 * measures exactly this.
 */
void lb_lookup_batch(const struct shm_view *v, enum hash_mode mode, uint32_t seed,
		     const struct queue_pkt *pkts, unsigned int n,
		     struct lb_result *res);

/**
 * lb_parse_cpus - parse the CPU list of `nfqlb lb --cpu`
 * @s: CPU numbers and ranges, comma-separated: "1", "0,1", "0-3", "0,2-3"
 * @cpu: written with the CPUs in list order (a range ascending)
 * @max: room in @cpu: the number of queue threads
 * @why: filled with a one-line reason on failure (LB_WHY_MAX bytes)
 *
 * A CPU may appear more than once.  Every CPU must be in this process's
 * affinity mask.
 * Returns the number of CPUs, or -1 with errno EINVAL (bad syntax, a CPU
 * not available) or E2BIG (more than @max CPUs).
 */
int lb_parse_cpus(const char *s, int *cpu, unsigned int max, char *why);

#endif
