/* SPDX-License-Identifier: GPL-2.0-or-later */
/* procq.h: the kernel's NFQUEUE table, /proc/net/netfilter/nfnetlink_queue,
 * as seen from this process's network namespace.  The one reader of it,
 * and of the netlink sockets behind it. */
#ifndef NFQLB_PROCQ_H
#define NFQLB_PROCQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One queue's row. */
struct procq_row {
	uint32_t num;			/* queue number */
	uint32_t portid;		/* netlink port id of the bound socket */
	uint64_t waiting;		/* packets waiting for a verdict */
	uint64_t dropped;		/* dropped by the kernel: queue full */
	uint64_t udropped;		/* dropped by the kernel: socket full */
	uint32_t last_id;		/* the last packet id it gave out */
};

/**
 * procq_find - the row of one queue
 * @queue: the queue number
 * @row: written when found
 *
 * Returns 0 when the queue is bound (by anyone), or -1 with errno ENOENT
 * (not bound) or from fopen().
 */
int procq_find(uint16_t queue, struct procq_row *row);

/**
 * procq_sum - the rows of queues first..last, summed
 * @first: first queue
 * @last: last queue
 * @waiting: the fullest queue's backlog
 * @drops: the sum of their drops (queue full and socket full)
 * @ids: the sum of their last packet ids (modulo 2^32): packets taken
 *
 * Everything is 0 when the table cannot be read.
 */
void procq_sum(uint16_t first, uint16_t last, uint64_t *waiting, uint64_t *drops,
	       uint32_t *ids);

/**
 * procq_holder - the process that holds a queue's netlink socket
 * @portid: the netlink port id of the socket (struct procq_row)
 * @comm: written with the process's name, or "" (size bytes)
 * @size: size of comm, or 0
 *
 * Finds the socket's inode in /proc/net/netlink (this network namespace),
 * then the process with that socket among /proc/PID/fd: it needs the
 * right to read other processes' descriptors (root).  Returns the PID, or
 * -1 when it cannot tell.
 */
int procq_holder(uint32_t portid, char *comm, size_t size);

#endif
