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

/* A verdict waiting for queue_flush(). */
struct verdict {
	uint32_t id, verdict, mark;
};

struct queue {
	struct mnl_socket *nl;
	struct queue_conf conf;
	unsigned int nstash;	/* datagrams received while configuring */
	unsigned int stash_len[QUEUE_BATCH];
	unsigned int nv;	/* verdicts waiting */
	struct verdict v[QUEUE_BATCH];
	uint32_t last_id;	/* the last packet id answered */
	bool answered;		/* last_id is valid */
	uint64_t errors;
	int last_error;
	struct mmsghdr msgs[QUEUE_BATCH];
	struct iovec iov[QUEUE_BATCH];
	char buf[QUEUE_BATCH][DGRAM_MAX];
};

static struct nlmsghdr *put_config(char *buf, uint16_t num, uint32_t seq)
{
	struct nlmsghdr *nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, num);

	nlh->nlmsg_flags |= NLM_F_ACK;
	nlh->nlmsg_seq = seq;
	return nlh;
}

/* Bind, copy mode, flags and length in one send: one ack each. */
static size_t build_config(char *buf, const struct queue_conf *c, uint32_t seq)
{
	uint32_t flags = NFQA_CFG_F_GSO | (c->fail_open ? NFQA_CFG_F_FAIL_OPEN : 0);
	uint32_t mask = NFQA_CFG_F_GSO | NFQA_CFG_F_FAIL_OPEN;
	struct nlmsghdr *nlh;
	size_t off = 0;

	nlh = put_config(buf, c->num, seq);
	nfq_nlmsg_cfg_put_cmd(nlh, AF_UNSPEC, NFQNL_CFG_CMD_BIND);
	off += nlh->nlmsg_len;
	nlh = put_config(buf + off, c->num, seq + 1);
	nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, (int)c->copy);
	mnl_attr_put_u32(nlh, NFQA_CFG_QUEUE_MAXLEN, htonl(c->qlength));
	mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(flags));
	mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(mask));
	off += nlh->nlmsg_len;
	return off;
}

static bool is_packet(const char *buf, size_t len)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;

	return mnl_nlmsg_ok(nlh, (int)len) &&
	       nlh->nlmsg_type == ((NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET);
}

static void requeue(struct queue *q, const char *buf, size_t len);

/* Wait for the two acks.  Packets that arrive meanwhile are kept for the
 * first queue_recv(), so none is left without a verdict. */
static int read_acks(struct queue *q, uint32_t seq, char *why)
{
	unsigned int portid = mnl_socket_get_portid(q->nl);
	int acks = 0, tries = 0;
	char ack[DGRAM_MAX];
	ssize_t n;

	while (acks < 2 && tries++ < 1000) {
		char *dst = q->nstash < QUEUE_BATCH ? q->buf[q->nstash] : ack;

		n = mnl_socket_recvfrom(q->nl, dst, DGRAM_MAX);
		if (n < 0) {
			snprintf(why, WHY_MAX, "waiting for the kernel: %s", strerror(errno));
			return -1;
		}
		if (is_packet(dst, (size_t)n)) {
			if (dst == ack)
				requeue(q, ack, (size_t)n);
			else
				q->stash_len[q->nstash++] = (unsigned int)n;
			continue;
		}
		if (mnl_cb_run(dst, (size_t)n, seq + (uint32_t)acks, portid, NULL, NULL) < 0) {
			snprintf(why, WHY_MAX, "%s", strerror(errno));
			return -1;
		}
		acks++;
	}
	if (acks == 2)
		return 0;
	snprintf(why, WHY_MAX, "the kernel did not acknowledge the configuration");
	errno = ETIMEDOUT;
	return -1;
}

static int socket_setup(struct queue *q, char *why)
{
	int on = 1, size = RCVBUF, fd;
	struct timeval tv = { q->conf.timeout_ms / 1000,
			      (q->conf.timeout_ms % 1000) * 1000 };

	q->nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!q->nl || mnl_socket_bind(q->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		snprintf(why, WHY_MAX, "netlink socket: %s", strerror(errno));
		return -1;
	}
	fd = mnl_socket_get_fd(q->nl);
	/* Drops show in /proc and in `nfqlb stats`; ENOBUFS would only stop us. */
	mnl_socket_setsockopt(q->nl, NETLINK_NO_ENOBUFS, &on, sizeof(on));
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return 0;
}

struct queue *queue_open(const struct queue_conf *conf, char *why)
{
	uint32_t seq = (uint32_t)time(NULL);
	struct queue *q = calloc(1, sizeof(*q));
	char cfg[1024] = { 0 };	/* the kernel reads struct padding too */
	size_t len;
	int err;

	if (!q) {
		snprintf(why, WHY_MAX, "%s", strerror(errno));
		return NULL;
	}
	q->conf = *conf;
	if (socket_setup(q, why) < 0)
		goto fail;
	len = build_config(cfg, conf, seq);
	if (mnl_socket_sendto(q->nl, cfg, len) < 0) {
		snprintf(why, WHY_MAX, "configure: %s", strerror(errno));
		goto fail;
	}
	if (read_acks(q, seq, why) < 0)
		goto fail;
	return q;
fail:
	err = errno;
	queue_close(q);
	errno = err;
	return NULL;
}

static void note_error(struct queue *q, const struct nlmsghdr *nlh)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e)) || e->error == 0)
		return;
	q->errors++;
	q->last_error = -e->error;
}

/* Take the packet id and payload of one packet message. */
static int parse_packet(const struct nlmsghdr *nlh, struct queue_pkt *p)
{
	const struct nfqnl_msg_packet_hdr *ph = NULL;
	const struct nlattr *a;

	p->data = NULL;
	p->len = 0;
	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg)) {
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

static unsigned int parse_dgram(struct queue *q, const char *buf, size_t len,
				struct queue_pkt *pkts, unsigned int n)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
	int left = (int)len;

	for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
		if (nlh->nlmsg_type == NLMSG_ERROR)
			note_error(q, nlh);
		else if (nlh->nlmsg_type == ((NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET) &&
			 n < QUEUE_BATCH && parse_packet(nlh, &pkts[n]) == 0)
			n++;
	}
	return n;
}

static int take_stash(struct queue *q, struct queue_pkt *pkts)
{
	unsigned int i, n = 0;

	for (i = 0; i < q->nstash; i++)
		n = parse_dgram(q, q->buf[i], q->stash_len[i], pkts, n);
	q->nstash = 0;
	return (int)n;
}

/* More packets than the stash holds: send them round the hook again
 * (NF_REPEAT) rather than leave them without a verdict. */
static void requeue(struct queue *q, const char *buf, size_t len)
{
	struct queue_pkt pkts[QUEUE_BATCH];
	unsigned int i, n = parse_dgram(q, buf, len, pkts, 0);

	for (i = 0; i < n; i++)
		queue_verdict(q, pkts[i].id, NF_REPEAT, 0);
	queue_flush(q);
}

int queue_recv(struct queue *q, struct queue_pkt *pkts, unsigned int max)
{
	unsigned int i, n = 0;
	int got;

	if (q->nstash)
		return take_stash(q, pkts);
	if (max > QUEUE_BATCH)
		max = QUEUE_BATCH;
	for (i = 0; i < max; i++) {
		q->iov[i] = (struct iovec){ q->buf[i], DGRAM_MAX };
		q->msgs[i].msg_hdr = (struct msghdr){ .msg_iov = &q->iov[i],
						      .msg_iovlen = 1 };
	}
	got = recvmmsg(mnl_socket_get_fd(q->nl), q->msgs, max, MSG_WAITFORONE, NULL);
	if (got < 0)
		return -1;
	for (i = 0; i < (unsigned int)got; i++)
		n = parse_dgram(q, q->buf[i], q->msgs[i].msg_len, pkts, n);
	return (int)n;
}

void queue_verdict(struct queue *q, uint32_t id, uint32_t verdict, uint32_t mark)
{
	if (q->nv == QUEUE_BATCH)
		queue_flush(q);
	q->v[q->nv++] = (struct verdict){ id, verdict, mark };
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

/* How many verdicts from v[i] on one batch verdict may answer: a run of
 * the same verdict and mark on consecutive ids that starts right after the
 * last id answered, so that "every id up to the run's last" names exactly
 * the run's packets. */
static unsigned int run_length(const struct queue *q, unsigned int i, uint32_t prev,
			       bool known)
{
	unsigned int n = 1;

	if (!known || q->v[i].id != prev + 1)
		return 1;
	while (i + n < q->nv && q->v[i + n].id == q->v[i + n - 1].id + 1 &&
	       q->v[i + n].verdict == q->v[i].verdict && q->v[i + n].mark == q->v[i].mark)
		n++;
	return n;
}

int queue_flush(struct queue *q)
{
	char buf[QUEUE_BATCH * VERDICT_MAX];
	unsigned int i, n;
	size_t off = 0;
	ssize_t r;

	if (q->nv == 0)
		return 0;
	for (i = 0; i < q->nv; i += n) {
		n = run_length(q, i, q->last_id, q->answered);
		off += put_verdict(q, buf + off, n > 1 ? NFQNL_MSG_VERDICT_BATCH :
				   NFQNL_MSG_VERDICT, &q->v[i + n - 1]);
		q->last_id = q->v[i + n - 1].id;
		q->answered = true;
	}
	q->nv = 0;
	r = mnl_socket_sendto(q->nl, buf, off);
	return r < 0 ? -1 : 0;
}

uint64_t queue_errors(const struct queue *q, int *last)
{
	*last = q->last_error;
	return q->errors;
}

void queue_close(struct queue *q)
{
	if (!q)
		return;
	if (q->nl)
		mnl_socket_close(q->nl);
	free(q);
}
