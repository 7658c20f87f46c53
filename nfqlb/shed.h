/* shed.h: load shedding before the kernel's receive path (XDP).
 *
 * Under a flood, the kernel spends about as much CPU receiving a packet up
 * to the NFQUEUE (IP, conntrack, the queue message) as the worker and the
 * forwarding path spend after the verdict, and a packet dropped because the
 * queue is full has cost all of the first part.  When that work runs on the
 * worker's CPU, it leaves the worker too little CPU.  Shedding drops a
 * chosen share of the IPv4 and IPv6 packets arriving on one interface in an
 * XDP program, before any of that work, so the kernel only receives what
 * the worker can handle.  ARP and other protocols always pass.
 *
 * The program is attached through a BPF link owned by this process: it
 * goes away when the process exits, however it exits.
 *
 * No printing, no exiting: functions return -1 and set errno, and fill
 * `why` (SHED_WHY_MAX bytes) with a one-line reason.
 */
#ifndef NFQLB_SHED_H
#define NFQLB_SHED_H

#include <stdbool.h>
#include <stdint.h>

#define SHED_WHY_MAX 128

struct shed;

/**
 * shed_open - attach the shedding program to an interface, shedding nothing
 * @ifname: the interface that receives the load balancer's traffic
 * @generic: set to true when only the generic (skb) XDP mode was available
 * @why: filled with the reason on failure
 *
 * Tries the driver's XDP mode first, then the generic mode.
 * Returns the handle, or NULL with errno ENODEV (no such interface), EPERM
 * (needs CAP_BPF and CAP_NET_ADMIN), EBUSY (another XDP program is
 * attached) or another error of the bpf() system call.
 */
struct shed *shed_open(const char *ifname, bool *generic, char *why);

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

/**
 * shed_next - the next share, from the queue's state since the last call
 * @share: the current share
 * @waiting: packets waiting in the queue now
 * @dropped: packets the queue dropped since the last call
 * @qlength: the queue's length
 *
 * Increases the share while the queue drops packets or is more than half
 * full, lowers it while the queue is less than an eighth full: the kernel
 * then admits about what the worker handles.  Never more than 31/32.  Pure.
 * Returns the new share.
 */
uint32_t shed_next(uint32_t share, uint64_t waiting, uint64_t dropped,
		   uint32_t qlength);

#endif
