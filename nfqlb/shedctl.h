/* SPDX-License-Identifier: GPL-2.0-or-later */
/* shedctl.h: the shedding controller of `nfqlb lb --shed`: started before
 * the queue threads, run by the main thread every SHED_TICK_NS (it reads
 * the queues' drops and backlog and sets the share the shedding program,
 * shed.h, drops) and stopped when the worker stops.  It logs, and its
 * start prints its errors: it is part of the command. */
#ifndef NFQLB_SHEDCTL_H
#define NFQLB_SHEDCTL_H

#include <stdbool.h>
#include <stdint.h>

#include "nfqlb/lbconf.h"
#include "nfqlb/shed.h"

#define SHED_TICK_NS 10000000	/* the controller runs every 10 ms */

/* The controller's state; zero it before shedctl_start. */
struct shedder {
	struct shed *shed;
	uint32_t share;		/* of 2^32 */
	uint64_t drops;		/* our queues' drops at the last tick */
	uint32_t ids;		/* the sum of their last packet ids then */
	double sum;		/* of the shares since the last log line, in % */
	unsigned int ticks;	/* since the last log line */
	bool shedding;		/* since the last "started" log line */
	uint64_t dropped;	/* by the program, as of the last log line */
};

/**
 * shedctl_start - load the shedding program, give it c's VIPs, attach it
 * @cmd: the command (for the error messages)
 * @sh: the zeroed state; sh->shed is set on success
 * @c: the configuration: c->shed, c->shed_mode, c->vip, c->syn_only
 *
 * Logs where the program runs.  On failure prints "nfqlb: lb: shed on
 * IFNAME: <reason>", followed by the verifier's log when the kernel
 * refused the program.
 * Returns NFQLB_OK, or NFQLB_FAIL.
 */
int shedctl_start(const struct cmd *cmd, struct shedder *sh, const struct lb_conf *c);

/**
 * shedctl_tick - one step of the controller
 * @sh: its state, with sh->shed open
 * @c: the worker's configuration (its queues and qlength)
 *
 * Logs once when shedding starts, the average share and the packets
 * dropped every 10 s while shedding, and once when it stops.
 */
void shedctl_tick(struct shedder *sh, const struct lb_conf *c);

/**
 * shedctl_stop - log the packets dropped in all, detach and unload
 * @sh: the state; nothing happens when sh->shed is NULL
 * @c: the configuration
 */
void shedctl_stop(struct shedder *sh, const struct lb_conf *c);

#endif
