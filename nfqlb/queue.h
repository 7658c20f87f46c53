/* queue.h: one NFQUEUE, read in batches, with batched verdicts (libmnl). */
#ifndef NFQLB_QUEUE_H
#define NFQLB_QUEUE_H

#include <stdbool.h>
#include <stdint.h>

#define QUEUE_BATCH 64		/* packets read per wake-up, verdicts per send */

struct queue;

struct queue_conf {
	uint16_t num;		/* queue number */
	uint32_t qlength;	/* most packets the kernel holds for us */
	uint32_t copy;		/* bytes of each packet to copy */
	bool fail_open;		/* the kernel accepts packets when the queue is full */
	int timeout_ms;		/* queue_recv() gives up after this long */
};

struct queue_pkt {
	uint32_t id;		/* the kernel's packet id */
	uint32_t len;		/* bytes at data (at most conf.copy) */
	const uint8_t *data;	/* from the IP header on; valid until the next recv */
};

/**
 * queue_open - bind a queue and configure it
 * @conf: the configuration
 * @why: filled with a reason on failure (WHY_MAX bytes)
 *
 * Uses NFQA_CFG_F_GSO, NETLINK_NO_ENOBUFS and a large receive buffer.
 * Returns the queue, or NULL with errno set (EBUSY: another process holds it;
 * EPERM: needs CAP_NET_ADMIN).
 */
struct queue *queue_open(const struct queue_conf *conf, char *why);

/**
 * queue_recv - wait for packets and read up to max of them
 * @q: the queue
 * @pkts: written
 * @max: at most QUEUE_BATCH
 *
 * Blocks until one packet arrives, then takes what is already waiting.
 * Returns the number of packets (0 if only control messages came), or -1
 * with errno EINTR (a signal), EAGAIN (timeout) or another socket error.
 */
int queue_recv(struct queue *q, struct queue_pkt *pkts, unsigned int max);

/**
 * queue_verdict - add a verdict to the batch
 * @q: the queue
 * @id: the packet id
 * @verdict: NF_ACCEPT or NF_DROP
 * @mark: the fwmark to set, or 0 to leave the mark alone
 *
 * Verdicts go out in the order they were added, at the next queue_flush().
 */
void queue_verdict(struct queue *q, uint32_t id, uint32_t verdict, uint32_t mark);

/**
 * queue_flush - send the batched verdicts in one sendmsg()
 * @q: the queue
 *
 * Returns 0, or -1 with errno from sendmsg().
 */
int queue_flush(struct queue *q);

/**
 * queue_errors - errors the kernel reported for our messages, and the last one
 * @q: the queue
 * @last: set to the last error number
 */
uint64_t queue_errors(const struct queue *q, int *last);

/**
 * queue_close - unbind and free
 * @q: the queue, or NULL
 */
void queue_close(struct queue *q);

#endif
