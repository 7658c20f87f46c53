/* shed.h: load shedding before the kernel's receive path (XDP or tc).
 *
 * Under a flood, the kernel spends about as much CPU receiving a packet up
 * to the NFQUEUE (IP, conntrack, the queue message) as the worker and the
 * forwarding path spend after the verdict, and a packet dropped because the
 * queue is full has cost all of the first part.  When that work runs on the
 * worker's CPU, it leaves the worker too little CPU.  Shedding drops a
 * chosen share of the IPv4 and IPv6 packets arriving on one interface in a
 * BPF program, in the driver (XDP) or at tc ingress, before IP, conntrack
 * and the rules, so the kernel only receives what the worker can handle.
 * ARP and other protocols always pass.
 *
 * The program is attached through a BPF link owned by this process: it
 * goes away when the process exits, however it exits.
 *
 * No printing, no exiting: functions return -1 and set errno, and fill
 * `why` (WHY_MAX bytes) with a one-line reason.
 */
#ifndef NFQLB_SHED_H
#define NFQLB_SHED_H

#include <stdbool.h>
#include <stdint.h>

#include "shm/why.h"


struct shed;

/* Where the program runs: XDP in the driver, else tc ingress (auto). */
enum shed_mode {
	SHED_AUTO = 0,
	SHED_XDP,
	SHED_TC,
};

/**
 * shed_open - attach the shedding program to an interface, shedding nothing
 * @ifname: the interface that receives the load balancer's traffic
 * @mode: where the program runs: XDP in the driver (SHED_XDP), tc ingress
 *        through tcx (SHED_TC, Linux 6.6 and later), or the first of these
 *        that works (SHED_AUTO)
 * @tc: set to true when the program runs at tc ingress
 * @why: filled with the reason on failure
 *
 * Returns the handle, or NULL with errno ENODEV (no such interface), EPERM
 * (needs CAP_BPF and CAP_NET_ADMIN), EBUSY (another XDP program is
 * attached), EOPNOTSUPP (no driver XDP) or another error of bpf().
 */
struct shed *shed_open(const char *ifname, enum shed_mode mode, bool *tc,
		       char *why);

/**
 * shed_mode_parse - the mode named "auto", "xdp" or "tc"
 * @name: the name
 *
 * Returns the mode, or -1 for another name.
 */
int shed_mode_parse(const char *name);

/**
 * shed_set - set the share of packets to drop
 * @s: the handle
 * @share: packets are dropped with probability share / 2^32 (0: none)
 *
 * Returns 0, or -1 with errno from bpf().
 */
int shed_set(struct shed *s, uint32_t share);

/**
 * shed_close - detach the program and free the handle
 * @s: the handle, or NULL
 */
void shed_close(struct shed *s);

/* What the controller sees of the queues between two calls. */
struct shed_sample {
	uint64_t waiting;	/* packets in the fullest queue now */
	uint64_t queued;	/* packets the queues took since the last sample */
	uint64_t dropped;	/* packets they dropped (full, or socket full) since */
	uint32_t qlength;	/* the queues' length */
};

/**
 * shed_next - the next share, from what the queues did since the last call
 * @share: the current share, of 2^32
 * @s: the sample
 *
 * When the queues dropped packets, they took only queued / (queued +
 * dropped) of what reached them: let through that share of what passes
 * now, a little less to drain the backlog.  While a queue is more than
 * half full, shed a little more; while it is less than an eighth full,
 * shed an eighth less.  The kernel then admits about what the worker
 * handles.  Never more than 31/32.  Pure.
 * Returns the new share.
 */
uint32_t shed_next(uint32_t share, const struct shed_sample *s);

#endif
