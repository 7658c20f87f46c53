/* SPDX-License-Identifier: GPL-2.0-or-later */
/* shed.h: load shedding before the kernel's receive path (XDP or tc).
 *
 * Under a flood, the kernel spends about as much CPU receiving a packet up
 * to the NFQUEUE (IP, conntrack, the queue message) as the worker and the
 * forwarding path spend after the verdict, and a packet dropped because the
 * queue is full has cost all of the first part.  When that work runs on the
 * worker's CPU, it leaves the worker too little CPU.  Shedding drops a
 * chosen share of the packets addressed to the served VIPs in a BPF
 * program (bpf/shed.bpf.c), in the driver (XDP) or at tc ingress, before
 * IP, conntrack and the rules, so the kernel only receives what the worker
 * can handle.  Only packets to a VIP prefix are ever shed: ARP, other
 * protocols and traffic for other addresses (routing, BFD, health checks,
 * SSH) always pass.  In SYN-only mode (the rules queue only each
 * connection's first packet), only TCP SYNs without ACK and packets that
 * are not TCP are shed; a packet whose TCP flags cannot be read (an IPv4
 * fragment after the first, an IPv6 packet with more than 4 extension
 * headers) passes.
 *
 * The programs are built from C with clang and embedded in nfqlb (a libbpf
 * skeleton).  The program is attached through a BPF link owned by this
 * process: it goes away when the process exits, however it exits.
 *
 * No printing, no exiting: functions return -1 and set errno, and fill
 * `why` (WHY_MAX bytes) with a one-line reason.
 */
#ifndef NFQLB_SHED_H
#define NFQLB_SHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shm/why.h"


struct shed;

/* Where the program runs: XDP in the driver, else tc ingress (auto). */
enum shed_mode {
	SHED_AUTO = 0,
	SHED_XDP,
	SHED_TC,
};

/* The share that sheds every packet it may (shed_set). */
#define SHED_ALL UINT32_MAX

/**
 * shed_load - load the shedding programs into the kernel, attached nowhere
 * @syn_only: shed only TCP SYNs (without ACK) and packets that are not TCP
 * @log: filled with the kernel verifier's log, NUL-terminated, when the
 *       kernel refuses a program (its last part if it is longer); may be NULL
 * @log_size: the size of @log
 * @why: filled with the reason on failure
 *
 * The share is 0 and the VIP prefixes are empty: nothing is shed.
 * Returns the handle, or NULL with errno EPERM (needs CAP_BPF, or
 * CAP_SYS_ADMIN), EACCES or EINVAL (the verifier refused a program: see
 * @log), ENOSPC (the same, with a log longer than @log_size), ENOMEM, or
 * another error of bpf().
 */
struct shed *shed_load(bool syn_only, char *log, size_t log_size, char *why);

/**
 * shed_attach - attach the loaded program to an interface
 * @s: the handle, attached nowhere yet
 * @ifname: the interface that receives the load balancer's traffic
 * @mode: where the program runs: XDP in the driver (SHED_XDP), tc ingress
 *        through tcx (SHED_TC, Linux 6.6 and later), or the first of these
 *        that works (SHED_AUTO)
 * @tc: set to true when the program runs at tc ingress
 * @why: filled with the reason on failure
 *
 * Returns 0, or -1 with errno ENODEV (no such interface), EPERM (needs
 * CAP_BPF and CAP_NET_ADMIN), EBUSY (another XDP program is attached),
 * EOPNOTSUPP (no driver XDP) or another error of bpf().
 */
int shed_attach(struct shed *s, const char *ifname, enum shed_mode mode, bool *tc,
		char *why);

/**
 * shed_add_prefix - let the program shed packets addressed to a prefix
 * @s: the handle
 * @family: AF_INET or AF_INET6
 * @addr: the address, 4 or 16 bytes in network order; bits past @len are
 *        ignored
 * @len: the prefix length, up to 32 or 128
 *
 * Adding a prefix that is there already changes nothing.
 * Returns 0, or -1 with errno EINVAL (bad family or length), ENOSPC (the
 * family's 4096 prefixes are taken) or another error of bpf().
 */
int shed_add_prefix(struct shed *s, int family, const void *addr, unsigned int len);

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
 * @share: packets are dropped with probability share / 2^32 (0: none;
 *         SHED_ALL: every one the program may shed)
 *
 * Returns 0, or -1 with errno from bpf().
 */
int shed_set(struct shed *s, uint32_t share);

/**
 * shed_dropped - the packets the program has dropped since shed_load
 * @s: the handle
 * @n: written with the count, summed over the CPUs
 *
 * Returns 0, or -1 with errno ENOMEM or from bpf().
 */
int shed_dropped(const struct shed *s, uint64_t *n);

/**
 * shed_prog_fd - the file descriptor of one of the loaded programs
 * @s: the handle
 * @tc: the tc ingress program (else the XDP one)
 *
 * For running the program on a test frame (BPF_PROG_TEST_RUN): the XDP
 * program returns XDP_DROP or XDP_PASS, the tc one 2 (drop) or -1 (next).
 * Returns the descriptor, which belongs to the handle.
 */
int shed_prog_fd(const struct shed *s, bool tc);

/**
 * shed_close - detach the program, unload it and free the handle
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
