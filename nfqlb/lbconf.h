/* SPDX-License-Identifier: GPL-2.0-or-later */
/* lbconf.h: the configuration of `nfqlb lb`, from its options. */
#ifndef NFQLB_LBCONF_H
#define NFQLB_LBCONF_H

#include <stdbool.h>
#include <stdint.h>

#include "flows/flow.h"
#include "nfqlb/opt.h"
#include "nfqlb/shed.h"
#include "shm/shm.h"

#define QUEUE_MAX SHM_WORKERS	/* queue threads of one worker */
#define LB_VIPS_MAX 64		/* prefixes given with --vip, in all */
#define LB_BPF_IFS 16		/* interfaces of --bpf */
#define LB_IFNAME 16		/* IF_NAMESIZE */

/* A prefix of --vip. */
struct lb_vip {
	int family;		/* AF_INET or AF_INET6 */
	uint8_t addr[16];	/* network order; IPv4 in the first 4 bytes */
	unsigned int len;
};

/* A verdict of --no-target and --no-flow: NF_DROP, or NF_ACCEPT with a
 * mark (0: unmarked). */
struct lb_verdict {
	uint32_t verdict;
	uint32_t mark;
	char text[24];		/* as given: "drop", "accept" or "mark=X" */
};

struct lb_conf {
	const char *name;	/* --shm: the table; NULL with --flows */
	const char *flows;	/* --flows: the flow set; NULL with --shm */
	uint16_t qfirst, qlast;
	uint32_t qlength;
	struct lb_verdict no_target;	/* a flow's table has no active target */
	struct lb_verdict no_flow;	/* --flows: a packet matched no flow */
	bool fail_open;
	uint32_t rt_priority;	/* SCHED_FIFO priority; 0: the normal scheduler */
	unsigned int ncpu;	/* CPUs in --cpu; 0 leaves the threads unpinned */
	int cpu[QUEUE_MAX];
	const char *shed;	/* --shed: the interface, or NULL */
	enum shed_mode shed_mode;
	struct lb_vip vip[LB_VIPS_MAX];	/* --vip: the packets --shed may drop */
	unsigned int nvip;
	bool syn_only;		/* --syn-only: the rules queue only first packets */
	uint32_t frag_timeout;	/* --frag-timeout, ms */
	uint32_t frag_max;	/* --frag-max: per queue thread */
	char bpf_if[LB_BPF_IFS][LB_IFNAME];	/* --bpf: the interfaces */
	unsigned int nbpf;
	struct flow bpf_flow;	/* --bpf with --shm: what the fast path marks
				 * (--vip, --proto, --port), as a flow */
};

/* The options of `nfqlb lb`. */
extern const struct opt lb_opts[];

/**
 * lb_conf_parse - check the options of `nfqlb lb` and fill the configuration
 * @cmd: the command (for the error messages)
 * @ov: the parsed options
 * @argc: the number of arguments (there must be no operands)
 * @argv: the arguments, to name an unexpected one
 * @c: written
 *
 * Prints a one-line usage error on failure.
 * Returns NFQLB_OK, or NFQLB_USAGE.
 */
int lb_conf_parse(const struct cmd *cmd, const struct optval *ov, int argc,
		  char **argv, struct lb_conf *c);

/**
 * lb_parse_cpus - parse the CPU list of `nfqlb lb --cpu`
 * @s: CPU numbers and ranges, comma-separated: "1", "0,1", "0-3", "0,2-3"
 * @cpu: written with the CPUs in list order (a range ascending)
 * @max: room in @cpu: the number of queue threads
 * @why: filled with a one-line reason on failure (WHY_MAX bytes)
 *
 * A CPU may appear more than once.  Every CPU must be in this process's
 * affinity mask.
 * Returns the number of CPUs, or -1 with errno EINVAL (bad syntax, a CPU
 * not available) or E2BIG (more than @max CPUs).
 */
int lb_parse_cpus(const char *s, int *cpu, unsigned int max, char *why);

/**
 * lb_verdict_parse - parse a verdict of --no-target or --no-flow
 * @s: "drop", "accept" or "mark=X" (X: 1..0xffffffff, decimal or 0x hex)
 * @v: written
 *
 * Returns 0, or -1 with errno EINVAL.
 */
int lb_verdict_parse(const char *s, struct lb_verdict *v);

#endif
