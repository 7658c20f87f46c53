/* shedctl.h: the shedding controller of `nfqlb lb --shed`, run by the
 * main thread every SHED_TICK_NS: it reads the queues' drops and backlog
 * and sets the share the shedding program (shed.h) drops. */
#ifndef NFQLB_SHEDCTL_H
#define NFQLB_SHEDCTL_H

#include <stdbool.h>
#include <stdint.h>

#include "nfqlb/lbconf.h"
#include "nfqlb/shed.h"

#define SHED_TICK_NS 10000000	/* the controller runs every 10 ms */

/* The controller's state; zero it before the first tick. */
struct shedder {
	struct shed *shed;
	uint32_t share;		/* of 2^32 */
	uint64_t drops;		/* our queues' drops at the last tick */
	uint32_t ids;		/* the sum of their last packet ids then */
	double sum;		/* of the shares since the last log line, in % */
	unsigned int ticks;	/* since the last log line */
	bool shedding;		/* as of the last log line */
};

/**
 * shedctl_tick - one step of the controller
 * @sh: its state, with sh->shed open
 * @c: the worker's configuration (its queues and qlength)
 *
 * Logs the average share every 10 s while shedding, and once when it stops.
 */
void shedctl_tick(struct shedder *sh, const struct lb_conf *c);

#endif
