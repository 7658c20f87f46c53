/* SPDX-License-Identifier: GPL-2.0-or-later */
/* queue.h: one NFQUEUE, read in batches, with batched verdicts (libmnl). */
#ifndef NFQLB_QUEUE_H
#define NFQLB_QUEUE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define QUEUE_BATCH 64		/* packets read per wake-up, verdicts per send */
#define QUEUE_SEND_TRIES 3	/* sends of one message on EINTR, EAGAIN, ENOBUFS, ENOMEM */
/* Packets without payload sent round the hook again, over the queue's life;
 * later ones go to the caller with len 0.  The kernel's default queue
 * length (NFQNL_QMAX_DEFAULT): the most that can wait before our copy
 * range applies. */
#define QUEUE_NOPAYLOAD_MAX 1024

struct msghdr;

struct queue;

struct queue_conf {
	uint16_t num;		/* queue number */
	uint32_t qlength;	/* most packets the kernel holds for us */
	uint32_t copy;		/* bytes of each packet to copy */
	bool fail_open;		/* the kernel accepts packets when the queue is full */
	int timeout_ms;		/* queue_recv() gives up after this long */
	uint32_t hold_max;	/* packets queue_hold() may keep at once (0: none) */
};

/* What the queue did besides the plain path; every field only grows. */
struct queue_stats {
	uint64_t errors;	/* messages the kernel rejected (NLMSG_ERROR) */
	int last_error;		/* the last of them */
	uint64_t retries;	/* sends tried again after EINTR, EAGAIN, ENOBUFS, ENOMEM */
	uint64_t fallbacks;	/* messages that failed and went out one verdict at a time */
	uint64_t lost;		/* verdicts not sent even alone: NF_REPEAT later */
	int last_send_error;	/* errno of the last failed send */
	uint64_t truncated;	/* messages cut short (MSG_TRUNC or a short netlink
				 * message): their packets are dropped */
	uint64_t unreadable;	/* packet messages without a readable id: from then
				 * on no batch verdicts */
	uint64_t no_payload;	/* packets without payload sent round the hook again */
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
 * Binds and configures in one message, so the queue spends as little time
 * as possible bound but without a copy mode (the kernel drops what it would
 * queue then).  Uses NFQA_CFG_F_GSO, NETLINK_NO_ENOBUFS and a large receive
 * buffer.  Returns the queue, or NULL with errno set (EBUSY: another
 * process holds it; EPERM: needs CAP_NET_ADMIN).
 */
struct queue *queue_open(const struct queue_conf *conf, char *why);

/**
 * queue_open_fd - a queue around a socket the caller made, for tests
 * @fd: a datagram socket (one end of a socketpair); the queue owns it
 * @conf: the configuration (num names the queue in verdicts; timeout_ms
 *        applies to fd; the others are not used)
 *
 * Nothing is sent: packet messages are read from fd and verdict messages
 * written to it, as with the kernel.  Returns the queue, or NULL with
 * errno ENOMEM.
 */
struct queue *queue_open_fd(int fd, const struct queue_conf *conf);

/* How the queue sends a message: sendmsg() unless a test replaces it. */
typedef ssize_t queue_send_fn(int fd, const struct msghdr *msg, int flags);

/**
 * queue_set_send - replace the send function, for tests that fail sends
 * @q: the queue
 * @fn: called for every message the queue sends, with the queue's socket
 */
void queue_set_send(struct queue *q, queue_send_fn *fn);

/**
 * queue_recv - wait for packets and read up to max of them
 * @q: the queue
 * @pkts: written
 * @max: at most QUEUE_BATCH
 *
 * Blocks until one packet arrives, then takes what is already waiting.
 * The caller must add a verdict for every packet returned before the next
 * queue_flush(): a batch verdict answers every earlier packet still queued.
 * Packets the caller gets no say on get their verdict here: without
 * payload, NF_REPEAT (see QUEUE_NOPAYLOAD_MAX); in a message cut short
 * (MSG_TRUNC), NF_DROP, since it would be cut again; beyond max, NF_REPEAT.
 * Returns the number of packets (0 if only control messages came), or -1
 * with errno EINTR (a signal), EAGAIN (timeout) or another socket error.
 */
int queue_recv(struct queue *q, struct queue_pkt *pkts, unsigned int max);

/**
 * queue_verdict - add a verdict to the batch
 * @q: the queue
 * @id: the packet id
 * @verdict: NF_ACCEPT, NF_DROP or NF_REPEAT
 * @mark: the fwmark to set, or 0 to leave the mark alone
 *
 * Verdicts go out at the next queue_flush(), or at once (one message per
 * verdict) when QUEUE_BATCH are waiting.  A held packet (queue_hold()) is
 * held no more.
 */
void queue_verdict(struct queue *q, uint32_t id, uint32_t verdict, uint32_t mark);

/**
 * queue_hold - keep a packet queued without a verdict, for now
 * @q: the queue
 * @id: a packet id from queue_recv() that got no verdict
 *
 * Instead of a verdict before the next queue_flush(): the packet waits in
 * the kernel's queue until queue_verdict() gives it one, later.  Until
 * then no batch verdict covers its id (verdicts for later packets go out
 * one per message), and lost verdicts are not sent round the hook again
 * while it is held below them.  The caller must give every held packet a
 * verdict in the end, or the kernel holds it until the queue closes.
 * Returns 0 (also when @id is already held), or -1 with errno ENOSPC when
 * conf.hold_max packets are held.
 */
int queue_hold(struct queue *q, uint32_t id);

/**
 * queue_held - packets held now (queue_hold())
 * @q: the queue
 */
uint32_t queue_held(const struct queue *q);

/**
 * queue_flush - send the waiting verdicts in one sendmsg()
 * @q: the queue
 *
 * Verdicts go out in packet id order.  A run of the same verdict and mark
 * goes out as one batch verdict (it answers every packet up to its id that
 * is still queued, so no run covers a packet without its own verdict).  A
 * send failing with EINTR, EAGAIN, ENOBUFS or ENOMEM is tried again, up to
 * QUEUE_SEND_TRIES; a message that still fails goes out one verdict per
 * message.  A verdict that fails even alone is lost: its packet stays
 * queued, and the next flush first sends it round the hook again with a
 * batch NF_REPEAT that covers only such packets.  Without anything to send
 * there is no system call.
 * Returns 0 once every verdict was sent, or -1 with errno of the last
 * failed send when a verdict (or the NF_REPEAT of lost ones) was not.
 */
int queue_flush(struct queue *q);

/**
 * queue_stats - what the queue counted (see struct queue_stats)
 * @q: the queue
 * @st: written
 */
void queue_stats(const struct queue *q, struct queue_stats *st);

/**
 * queue_close - unbind and free
 * @q: the queue, or NULL
 */
void queue_close(struct queue *q);

#endif
