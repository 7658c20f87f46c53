/* SPDX-License-Identifier: GPL-2.0-or-later */
/* queue.c: NFQUEUE over libmnl: batched reads with recvmmsg(), batched
 * verdicts in one sendmsg(). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

#include "nfqlb/queue.h"
#include "shm/why.h"

#define RCVBUF (8 << 20)
#define DGRAM_MAX 4096		/* one queued packet: attributes + copy range */
#define VERDICT_MAX 64		/* bytes of one verdict message with a mark */
#define PACKET_TYPE ((NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET)
/* Where a queue message's attributes start. */
#define NFQ_HDRLEN (MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct nfgenmsg)))

/* A verdict waiting for queue_flush(). */
struct verdict {
	uint32_t id, verdict, mark;
};

struct queue {
	struct mnl_socket *nl;	/* NULL for queue_open_fd() */
	int fd;
	queue_send_fn *send;
	struct queue_conf conf;
	unsigned int nstash;	/* datagrams received while configuring */
	unsigned int stash_len[QUEUE_BATCH];
	bool stash_cut[QUEUE_BATCH];
	unsigned int nv;	/* verdicts waiting */
	struct verdict v[QUEUE_BATCH];
	bool sweep;		/* verdicts were lost: NF_REPEAT up to sweep_id */
	uint32_t sweep_id;
	bool no_batch;		/* a packet may be queued that we cannot name */
	uint32_t *held;		/* ids held without a verdict, oldest first */
	uint32_t nheld;
	struct queue_stats st;
	struct mmsghdr msgs[QUEUE_BATCH];
	struct iovec iov[QUEUE_BATCH];
	char buf[QUEUE_BATCH][DGRAM_MAX] __attribute__((aligned(8)));
};

/* Bind, copy mode, flags and length in one message: the kernel applies them
 * in one go, so the queue is bound without a copy mode (when the kernel
 * drops what it would queue) for as short a time as it can be. */
static size_t build_config(char *buf, const struct queue_conf *c, uint32_t seq)
{
	uint32_t flags = NFQA_CFG_F_GSO | (c->fail_open ? NFQA_CFG_F_FAIL_OPEN : 0);
	uint32_t mask = NFQA_CFG_F_GSO | NFQA_CFG_F_FAIL_OPEN;
	struct nlmsghdr *nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, c->num);

	nlh->nlmsg_flags |= NLM_F_ACK;
	nlh->nlmsg_seq = seq;
	nfq_nlmsg_cfg_put_cmd(nlh, AF_UNSPEC, NFQNL_CFG_CMD_BIND);
	nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, (int)c->copy);
	mnl_attr_put_u32(nlh, NFQA_CFG_QUEUE_MAXLEN, htonl(c->qlength));
	mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(flags));
	mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(mask));
	return nlh->nlmsg_len;
}

/* A packet message, whole or cut short. */
static bool is_packet(const char *buf, ssize_t len)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;

	return len >= (ssize_t)sizeof(*nlh) && nlh->nlmsg_type == PACKET_TYPE;
}

/* One datagram; *cut says whether it was longer than DGRAM_MAX. */
static ssize_t recv_dgram(int fd, char *buf, bool *cut)
{
	struct iovec iov = { buf, DGRAM_MAX };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n = recvmsg(fd, &m, 0);

	*cut = n >= 0 && (m.msg_flags & MSG_TRUNC);
	return n;
}

static void requeue(struct queue *q, const char *buf, size_t len, bool cut);

/* Wait for the ack.  Packets that arrive meanwhile are kept for the first
 * queue_recv(), so none is left without a verdict. */
static int read_ack(struct queue *q, uint32_t seq, char *why)
{
	unsigned int portid = mnl_socket_get_portid(q->nl);
	char ack[DGRAM_MAX] __attribute__((aligned(8)));
	int tries = 0, r;
	bool cut;
	ssize_t n;

	while (tries++ < 1000) {
		char *dst = q->nstash < QUEUE_BATCH ? q->buf[q->nstash] : ack;

		n = recv_dgram(q->fd, dst, &cut);
		if (n < 0) {
			snprintf(why, WHY_MAX, "waiting for the kernel: %s", strerror(errno));
			return -1;
		}
		if (is_packet(dst, n)) {
			if (dst == ack)
				requeue(q, ack, (size_t)n, cut);
			else {
				q->stash_cut[q->nstash] = cut;
				q->stash_len[q->nstash++] = (unsigned int)n;
			}
			continue;
		}
		r = mnl_cb_run(dst, (size_t)n, seq, portid, NULL, NULL);
		if (r < 0) {
			snprintf(why, WHY_MAX, "%s", strerror(errno));
			return -1;
		}
		if (r == MNL_CB_STOP)	/* the ack */
			return 0;
	}
	snprintf(why, WHY_MAX, "the kernel did not acknowledge the configuration");
	errno = ETIMEDOUT;
	return -1;
}

static void set_timeout(int fd, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

static int socket_setup(struct queue *q, char *why)
{
	int on = 1, size = RCVBUF;

	q->nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!q->nl || mnl_socket_bind(q->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		snprintf(why, WHY_MAX, "netlink socket: %s", strerror(errno));
		return -1;
	}
	q->fd = mnl_socket_get_fd(q->nl);
	/* Drops show in /proc and in `nfqlb stats`; ENOBUFS would only stop us. */
	mnl_socket_setsockopt(q->nl, NETLINK_NO_ENOBUFS, &on, sizeof(on));
	if (setsockopt(q->fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(q->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	set_timeout(q->fd, q->conf.timeout_ms);
	return 0;
}

static ssize_t send_plain(int fd, const struct msghdr *msg, int flags)
{
	return sendmsg(fd, msg, flags);
}

static struct queue *queue_new(const struct queue_conf *conf)
{
	struct queue *q = calloc(1, sizeof(*q));

	if (!q)
		return NULL;
	if (conf->hold_max &&
	    !(q->held = calloc(conf->hold_max, sizeof(*q->held)))) {
		free(q);
		return NULL;
	}
	q->fd = -1;
	q->send = send_plain;
	q->conf = *conf;
	return q;
}

struct queue *queue_open(const struct queue_conf *conf, char *why)
{
	uint32_t seq = (uint32_t)time(NULL);
	struct queue *q = queue_new(conf);
	char cfg[1024] __attribute__((aligned(8))) = { 0 };	/* the kernel reads struct padding too */
	size_t len;
	int err;

	if (!q) {
		snprintf(why, WHY_MAX, "%s", strerror(errno));
		return NULL;
	}
	if (socket_setup(q, why) < 0)
		goto fail;
	len = build_config(cfg, conf, seq);
	if (mnl_socket_sendto(q->nl, cfg, len) < 0) {
		snprintf(why, WHY_MAX, "configure: %s", strerror(errno));
		goto fail;
	}
	if (read_ack(q, seq, why) < 0)
		goto fail;
	return q;
fail:
	err = errno;
	queue_close(q);
	errno = err;
	return NULL;
}

struct queue *queue_open_fd(int fd, const struct queue_conf *conf)
{
	struct queue *q = queue_new(conf);

	if (!q)
		return NULL;
	q->fd = fd;
	set_timeout(fd, conf->timeout_ms);
	return q;
}

void queue_set_send(struct queue *q, queue_send_fn *fn)
{
	q->send = fn;
}

static void note_error(struct queue *q, const struct nlmsghdr *nlh)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e)) || e->error == 0)
		return;
	q->st.errors++;
	q->st.last_error = -e->error;
}

/* The packet id and payload from len bytes of a packet message's
 * attributes; -1 without a packet header among them. */
static int read_attrs(const char *at, int len, struct queue_pkt *p)
{
	const struct nfqnl_msg_packet_hdr *ph = NULL;
	const struct nlattr *a = (const struct nlattr *)at;

	p->data = NULL;
	p->len = 0;
	for (; mnl_attr_ok(a, (int)(at + len - (const char *)a)); a = mnl_attr_next(a)) {
		uint16_t type = mnl_attr_get_type(a);

		if (type == NFQA_PACKET_HDR &&
		    mnl_attr_get_payload_len(a) >= sizeof(*ph))
			ph = mnl_attr_get_payload(a);
		else if (type == NFQA_PAYLOAD) {
			p->data = mnl_attr_get_payload(a);
			p->len = mnl_attr_get_payload_len(a);
		}
	}
	if (!ph)
		return -1;
	p->id = ntohl(ph->packet_id);
	return 0;
}

/* A packet we cannot name may be queued: a batch verdict could answer it
 * with another packet's verdict and mark, so send none from now on. */
static void unreadable(struct queue *q)
{
	q->st.unreadable++;
	q->no_batch = true;
}

/* One whole packet message: to the caller, or answered here. */
static unsigned int take_packet(struct queue *q, const struct nlmsghdr *nlh,
				struct queue_pkt *pkts, unsigned int n, unsigned int max)
{
	struct queue_pkt p;

	if (nlh->nlmsg_len < NFQ_HDRLEN ||
	    read_attrs((const char *)nlh + NFQ_HDRLEN,
		       (int)(nlh->nlmsg_len - NFQ_HDRLEN), &p) < 0) {
		unreadable(q);
		return n;
	}
	/* Queued without a copy mode: round the hook again, to be queued
	 * with payload (bounded, in case one never has any). */
	if (p.len == 0 && q->st.no_payload < QUEUE_NOPAYLOAD_MAX) {
		q->st.no_payload++;
		queue_verdict(q, p.id, NF_REPEAT, 0);
		return n;
	}
	if (n == max) {
		queue_verdict(q, p.id, NF_REPEAT, 0);
		return n;
	}
	pkts[n] = p;
	return n + 1;
}

/* A message cut short (left bytes of it arrived): its packet, if we can
 * name it, is dropped, since its payload cannot be trusted and a second
 * round would be cut again. */
static void take_cut(struct queue *q, const struct nlmsghdr *nlh, int left)
{
	struct queue_pkt p;

	q->st.truncated++;
	if (left < (int)sizeof(*nlh)) {
		unreadable(q);
		return;
	}
	if (nlh->nlmsg_type != PACKET_TYPE)
		return;
	if (left >= (int)NFQ_HDRLEN &&
	    read_attrs((const char *)nlh + NFQ_HDRLEN, left - (int)NFQ_HDRLEN, &p) == 0)
		queue_verdict(q, p.id, NF_DROP, 0);
	else
		unreadable(q);
}

static unsigned int parse_dgram(struct queue *q, const char *buf, size_t len, bool cut,
				struct queue_pkt *pkts, unsigned int n, unsigned int max)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
	int left = (int)len;

	for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
		if (nlh->nlmsg_type == NLMSG_ERROR)
			note_error(q, nlh);
		else if (nlh->nlmsg_type == PACKET_TYPE)
			n = take_packet(q, nlh, pkts, n, max);
	}
	/* Not parsed as if whole: a cut datagram, or a message longer than
	 * the bytes that came. */
	if (cut || left >= (int)sizeof(*nlh))
		take_cut(q, nlh, left);
	return n;
}

static int take_stash(struct queue *q, struct queue_pkt *pkts, unsigned int max)
{
	unsigned int i, n = 0;

	for (i = 0; i < q->nstash; i++)
		n = parse_dgram(q, q->buf[i], q->stash_len[i], q->stash_cut[i], pkts, n, max);
	q->nstash = 0;
	return (int)n;
}

static int flush(struct queue *q, bool batch);

/* More packets than the stash holds: send them round the hook again
 * (NF_REPEAT) rather than leave them without a verdict. */
static void requeue(struct queue *q, const char *buf, size_t len, bool cut)
{
	struct queue_pkt pkts[QUEUE_BATCH];
	unsigned int i, n = parse_dgram(q, buf, len, cut, pkts, 0, QUEUE_BATCH);

	for (i = 0; i < n; i++)
		queue_verdict(q, pkts[i].id, NF_REPEAT, 0);
	flush(q, false);
}

int queue_recv(struct queue *q, struct queue_pkt *pkts, unsigned int max)
{
	unsigned int i, n = 0;
	int got;

	if (max > QUEUE_BATCH)
		max = QUEUE_BATCH;
	if (q->nstash)
		return take_stash(q, pkts, max);
	for (i = 0; i < max; i++) {
		q->iov[i] = (struct iovec){ q->buf[i], DGRAM_MAX };
		q->msgs[i].msg_hdr = (struct msghdr){ .msg_iov = &q->iov[i],
						      .msg_iovlen = 1 };
	}
	got = recvmmsg(q->fd, q->msgs, max, MSG_WAITFORONE, NULL);
	if (got < 0)
		return -1;
	for (i = 0; i < (unsigned int)got; i++)
		n = parse_dgram(q, q->buf[i], q->msgs[i].msg_len,
				q->msgs[i].msg_hdr.msg_flags & MSG_TRUNC, pkts, n, max);
	return (int)n;
}

/* Packet ids wrap; the kernel compares them the same way. */
static bool id_after(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) > 0;
}

/* Where id is, or belongs, in the held ids (in id order). */
static uint32_t held_pos(const struct queue *q, uint32_t id)
{
	uint32_t lo = 0, hi = q->nheld;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (id_after(id, q->held[mid]))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int queue_hold(struct queue *q, uint32_t id)
{
	uint32_t i = held_pos(q, id);

	if (i < q->nheld && q->held[i] == id)
		return 0;
	if (q->nheld == q->conf.hold_max) {
		errno = ENOSPC;
		return -1;
	}
	memmove(&q->held[i + 1], &q->held[i], (q->nheld - i) * sizeof(*q->held));
	q->held[i] = id;
	q->nheld++;
	return 0;
}

static void unhold(struct queue *q, uint32_t id)
{
	uint32_t i = held_pos(q, id);

	if (i == q->nheld || q->held[i] != id)
		return;
	q->nheld--;
	memmove(&q->held[i], &q->held[i + 1], (q->nheld - i) * sizeof(*q->held));
}

uint32_t queue_held(const struct queue *q)
{
	return q->nheld;
}

/* A batch verdict up to id covers no held packet. */
static bool below_held(const struct queue *q, uint32_t id)
{
	return q->nheld == 0 || id_after(q->held[0], id);
}

void queue_verdict(struct queue *q, uint32_t id, uint32_t verdict, uint32_t mark)
{
	if (q->nheld)
		unhold(q, id);
	/* The caller may still hold packets below these ids: no batches. */
	if (q->nv == QUEUE_BATCH)
		flush(q, false);
	q->v[q->nv++] = (struct verdict){ id, verdict, mark };
}

/* In id order, as the kernel queues them; usually they already are. */
static void sort_verdicts(struct verdict *v, unsigned int n)
{
	unsigned int i, j;

	for (i = 1; i < n; i++) {
		struct verdict x = v[i];

		for (j = i; j > 0 && id_after(v[j - 1].id, x.id); j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
}

static size_t put_verdict(struct queue *q, char *buf, uint16_t type,
			  const struct verdict *v)
{
	struct nlmsghdr *nlh = nfq_nlmsg_put(buf, type, q->conf.num);

	nfq_nlmsg_verdict_put(nlh, (int)v->id, (int)v->verdict);
	if (v->mark)
		nfq_nlmsg_verdict_put_mark(nlh, v->mark);
	return nlh->nlmsg_len;
}

/* How many verdicts from v[i] on one batch verdict may answer: the run of
 * the same verdict and mark.  "Every id up to the run's last" names the
 * run's packets and ones the kernel no longer holds: every packet we were
 * given is answered in id order (gaps are packets the kernel never
 * queued), lost ones go round the hook before (build_message()),
 * unreadable ones turn batches off, and held ones stop runs (the run
 * ends below the oldest). */
static unsigned int run_length(const struct queue *q, unsigned int i)
{
	unsigned int n = 1;

	while (i + n < q->nv && q->v[i + n].verdict == q->v[i].verdict &&
	       q->v[i + n].mark == q->v[i].mark && below_held(q, q->v[i + n].id))
		n++;
	return n;
}

static size_t build_message(struct queue *q, char *buf, bool batch, bool sweep)
{
	const struct verdict again = { q->sweep_id, NF_REPEAT, 0 };
	unsigned int i = 0, n;
	size_t off = 0;

	if (sweep) {
		for (; i < q->nv && !id_after(q->v[i].id, q->sweep_id); i++)
			off += put_verdict(q, buf + off, NFQNL_MSG_VERDICT, &q->v[i]);
		off += put_verdict(q, buf + off, NFQNL_MSG_VERDICT_BATCH, &again);
	}
	for (; i < q->nv; i += n) {
		n = batch ? run_length(q, i) : 1;
		off += put_verdict(q, buf + off, n > 1 ? NFQNL_MSG_VERDICT_BATCH :
				   NFQNL_MSG_VERDICT, &q->v[i + n - 1]);
	}
	return off;
}

static bool passing(int err)
{
	return err == EINTR || err == EAGAIN || err == ENOBUFS || err == ENOMEM;
}

/* One message, tried again while the error may pass. */
static int send_msg(struct queue *q, const char *buf, size_t len)
{
	struct iovec iov = { (void *)buf, len };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	unsigned int tries = 0;
	ssize_t r;

	for (;;) {
		r = q->send(q->fd, &m, 0);
		if (r == (ssize_t)len)
			return 0;
		if (r >= 0)
			errno = EMSGSIZE;
		if (++tries == QUEUE_SEND_TRIES || !passing(errno))
			break;
		q->st.retries++;
	}
	q->st.last_send_error = errno;
	return -1;
}

static int send_one(struct queue *q, uint16_t type, const struct verdict *v)
{
	char buf[VERDICT_MAX] __attribute__((aligned(8)));

	return send_msg(q, buf, put_verdict(q, buf, type, v));
}

/* Its packet stays queued: the next flush sends it round the hook again. */
static void lose(struct queue *q, uint32_t id)
{
	q->st.lost++;
	if (!q->sweep || id_after(id, q->sweep_id))
		q->sweep_id = id;
	q->sweep = true;
}

/* The message failed: each verdict alone (none can answer another
 * packet), then lost ones round the hook again. */
static void send_each(struct queue *q)
{
	unsigned int i;

	q->st.fallbacks++;
	for (i = 0; i < q->nv; i++)
		if (send_one(q, NFQNL_MSG_VERDICT, &q->v[i]) < 0)
			lose(q, q->v[i].id);
	if (q->sweep && q->nstash == 0 && below_held(q, q->sweep_id) &&
	    send_one(q, NFQNL_MSG_VERDICT_BATCH,
		     &(struct verdict){ q->sweep_id, NF_REPEAT, 0 }) == 0)
		q->sweep = false;
}

static int flush(struct queue *q, bool batch)
{
	char buf[(QUEUE_BATCH + 1) * VERDICT_MAX] __attribute__((aligned(8)));
	/* The NF_REPEAT of lost verdicts waits while a held packet lies
	 * below it: it would send that one round the hook too. */
	bool sweep = q->sweep && q->nstash == 0 && below_held(q, q->sweep_id);
	uint64_t lost = q->st.lost;
	size_t len;

	if (q->nv == 0 && !sweep)
		return 0;
	sort_verdicts(q->v, q->nv);
	len = build_message(q, buf, batch && !q->no_batch && q->nstash == 0, sweep);
	if (send_msg(q, buf, len) == 0) {
		if (sweep)
			q->sweep = false;
	} else
		send_each(q);
	q->nv = 0;
	if (q->st.lost == lost && !(sweep && q->sweep))
		return 0;
	errno = q->st.last_send_error;
	return -1;
}

int queue_flush(struct queue *q)
{
	return flush(q, true);
}

void queue_stats(const struct queue *q, struct queue_stats *st)
{
	*st = q->st;
}

void queue_close(struct queue *q)
{
	if (!q)
		return;
	if (q->nl)
		mnl_socket_close(q->nl);
	else if (q->fd >= 0)
		close(q->fd);
	free(q->held);
	free(q);
}
