/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_queue.c: the NFQUEUE socket without a kernel: a queue around one end
 * of a socketpair, packet messages written to the other end, and the
 * verdict messages read back there and played against a model of the
 * kernel's queue (a batch verdict answers every queued id up to its own). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

#include "nfqlb/queue.h"
#include "test/unit/suites.h"

#define QNUM 7
#define BATCH NFQNL_MSG_VERDICT_BATCH
#define SINGLE NFQNL_MSG_VERDICT
#define MAXSENT 256
#define HOLD_MAX 16

static int peer = -1;
static struct queue *q;

static void setup(void)
{
	struct queue_conf c = { .num = QNUM, .timeout_ms = 50, .hold_max = HOLD_MAX };
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), 0);
	q = queue_open_fd(sv[0], &c);
	ck_assert_ptr_nonnull(q);
	peer = sv[1];
}

static void teardown(void)
{
	queue_close(q);
	close(peer);
}

/* ---- packet messages, as the kernel writes them ---- */

static const uint8_t ip4[20] = { 0x45, 0, 0, 20, 0, 0, 0, 0, 64, 17, 0, 0,
				 10, 0, 0, 1, 10, 1, 0, 1 };

static struct nlmsghdr *put_packet(char *buf, uint32_t id, const void *payload, size_t len)
{
	struct nlmsghdr *nlh = nfq_nlmsg_put(buf, NFQNL_MSG_PACKET, QNUM);
	struct nfqnl_msg_packet_hdr ph = { htonl(id), htons(0x0800), NF_INET_PRE_ROUTING };

	mnl_attr_put(nlh, NFQA_PACKET_HDR, sizeof(ph), &ph);
	if (payload)
		mnl_attr_put(nlh, NFQA_PAYLOAD, len, payload);
	return nlh;
}

static void send_bytes(const void *buf, size_t len)
{
	ck_assert_int_eq(send(peer, buf, len, 0), (ssize_t)len);
}

/* One datagram with one packet message; payload NULL: none. */
static void feed(uint32_t id, const void *payload, size_t len)
{
	static char buf[8192] __attribute__((aligned(8)));
	struct nlmsghdr *nlh = put_packet(buf, id, payload, len);

	send_bytes(buf, nlh->nlmsg_len);
}

/* ---- verdict messages, as the kernel reads them ---- */

struct sent {
	uint16_t type;		/* SINGLE or BATCH */
	uint32_t id, verdict, mark;
	bool has_mark;
	unsigned int dgram;	/* which datagram (sendmsg) carried it */
};

static struct sent sent[MAXSENT];

static void read_verdict(const struct nlmsghdr *nlh, struct sent *s)
{
	const struct nfgenmsg *g = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;

	ck_assert_uint_eq(nlh->nlmsg_type >> 8, NFNL_SUBSYS_QUEUE);
	ck_assert_uint_eq(ntohs(g->res_id), QNUM);
	s->type = nlh->nlmsg_type & 0xff;
	ck_assert(s->type == SINGLE || s->type == BATCH);
	s->has_mark = false;
	s->id = 0xdeadbeef;
	mnl_attr_for_each(a, nlh, sizeof(*g)) {
		if (mnl_attr_get_type(a) == NFQA_VERDICT_HDR) {
			const struct nfqnl_msg_verdict_hdr *v = mnl_attr_get_payload(a);

			s->verdict = ntohl(v->verdict);
			s->id = ntohl(v->id);
		} else if (mnl_attr_get_type(a) == NFQA_MARK) {
			s->mark = ntohl(mnl_attr_get_u32(a));
			s->has_mark = true;
		}
	}
	ck_assert_uint_ne(s->id, 0xdeadbeef);
}

/* Every verdict message waiting at the peer; returns how many, and the
 * number of datagrams in *dgrams if not NULL. */
static unsigned int read_sent(unsigned int *dgrams)
{
	static char buf[16384] __attribute__((aligned(8)));
	unsigned int n = 0, d = 0;
	ssize_t len;

	while ((len = recv(peer, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
		int left = (int)len;

		for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
			ck_assert_uint_lt(n, MAXSENT);
			read_verdict(nlh, &sent[n]);
			sent[n++].dgram = d;
		}
		ck_assert_int_eq(left, 0);
		d++;
	}
	ck_assert(len < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
	if (dgrams)
		*dgrams = d;
	return n;
}

/* ---- the kernel's queue ---- */

struct entry {
	uint32_t id;
	bool queued;
	uint32_t verdict, mark;
};

struct model {
	struct entry e[MAXSENT];	/* in id order, as the kernel queues */
	unsigned int n;
	unsigned int enoent;		/* verdicts that found nothing */
};

static bool after(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) > 0;
}

static void model_add(struct model *m, uint32_t id)
{
	m->e[m->n++] = (struct entry){ id, true, 0, 0 };
}

static void take(struct entry *e, const struct sent *s)
{
	e->queued = false;
	e->verdict = s->verdict;
	if (s->has_mark)
		e->mark = s->mark;
}

static void model_apply(struct model *m, unsigned int nsent)
{
	unsigned int i, j, taken;

	for (i = 0; i < nsent; i++) {
		taken = 0;
		for (j = 0; j < m->n; j++) {
			struct entry *e = &m->e[j];

			if (!e->queued)
				continue;
			if (sent[i].type == SINGLE && e->id == sent[i].id) {
				take(e, &sent[i]);
				taken++;
				break;
			}
			if (sent[i].type == BATCH) {
				if (after(e->id, sent[i].id))
					break;
				take(e, &sent[i]);
				taken++;
			}
		}
		if (taken == 0)
			m->enoent++;
	}
}

static void expect(const struct model *m, uint32_t id, uint32_t verdict, uint32_t mark)
{
	unsigned int j;

	for (j = 0; j < m->n; j++)
		if (m->e[j].id == id) {
			ck_assert_msg(!m->e[j].queued, "id %u left without a verdict", id);
			ck_assert_msg(m->e[j].verdict == verdict && m->e[j].mark == mark,
				      "id %u: verdict %u mark %u, want %u mark %u", id,
				      m->e[j].verdict, m->e[j].mark, verdict, mark);
			return;
		}
	ck_abort_msg("id %u is not in the model", id);
}

/* ---- run lengths: verdicts added, messages expected ---- */

struct step {
	uint32_t id, verdict, mark;
};

struct run_case {
	const char *name;
	struct step add[8];
	unsigned int nadd;
	struct { uint16_t type; uint32_t id; } want[8];
	unsigned int nwant;
};

#define A NF_ACCEPT
#define D NF_DROP
static const struct run_case runs[] = {
	{ "runs split by mark and verdict",
	  { { 1, A, 7 }, { 2, A, 7 }, { 3, A, 7 }, { 4, A, 8 }, { 5, D, 0 }, { 6, D, 0 } }, 6,
	  { { BATCH, 3 }, { SINGLE, 4 }, { BATCH, 6 } }, 3 },
	{ "one verdict", { { 9, A, 7 } }, 1, { { SINGLE, 9 } }, 1 },
	{ "added out of order", { { 3, A, 7 }, { 1, A, 7 }, { 2, A, 7 } }, 3,
	  { { BATCH, 3 } }, 1 },
	{ "alternating marks",
	  { { 1, A, 7 }, { 2, A, 8 }, { 3, A, 7 }, { 4, A, 8 } }, 4,
	  { { SINGLE, 1 }, { SINGLE, 2 }, { SINGLE, 3 }, { SINGLE, 4 } }, 4 },
	{ "an id the kernel never queued", { { 10, A, 7 }, { 12, A, 7 } }, 2,
	  { { BATCH, 12 } }, 1 },
	{ "ids wrapping", { { 0xfffffffe, A, 7 }, { 0xffffffff, A, 7 }, { 0, A, 7 }, { 1, A, 7 } }, 4,
	  { { BATCH, 1 } }, 1 },
	{ "mark 0 and mark 7 differ", { { 1, A, 0 }, { 2, A, 7 }, { 3, A, 7 } }, 3,
	  { { SINGLE, 1 }, { BATCH, 3 } }, 2 },
};

/* Batching: one sendmsg per flush, runs as the table says, and the
 * kernel's queue ends with each packet's own verdict and mark. */
START_TEST(flush_runs)
{
	const struct run_case *c = &runs[_i];
	struct model m = { .n = 0 };
	unsigned int i, n, dgrams;

	/* The kernel queues in id order: the sorted ids. */
	for (i = 0; i < c->nadd; i++)
		model_add(&m, c->add[i].id);
	for (i = 1; i < m.n; i++)
		for (n = i; n > 0 && after(m.e[n - 1].id, m.e[n].id); n--) {
			struct entry t = m.e[n];

			m.e[n] = m.e[n - 1];
			m.e[n - 1] = t;
		}
	for (i = 0; i < c->nadd; i++)
		queue_verdict(q, c->add[i].id, c->add[i].verdict, c->add[i].mark);
	ck_assert_int_eq(queue_flush(q), 0);
	n = read_sent(&dgrams);
	ck_assert_msg(n == c->nwant, "%s: %u messages, want %u", c->name, n, c->nwant);
	ck_assert_uint_eq(dgrams, 1);
	for (i = 0; i < n; i++) {
		ck_assert_msg(sent[i].type == c->want[i].type && sent[i].id == c->want[i].id,
			      "%s: message %u: type %u id %u, want type %u id %u", c->name, i,
			      sent[i].type, sent[i].id, c->want[i].type, c->want[i].id);
	}
	model_apply(&m, n);
	ck_assert_uint_eq(m.enoent, 0);
	for (i = 0; i < c->nadd; i++)
		expect(&m, c->add[i].id, c->add[i].verdict, c->add[i].mark);
}
END_TEST

/* ---- sends that fail ---- */

static unsigned int calls;	/* sends tried */
static unsigned int fail_first;	/* fail this many sends */
static int fail_errno;
static bool fail_multi;		/* fail every message holding several verdicts */
static bool fail_all;

static unsigned int msgs_in(const struct msghdr *m)
{
	const struct nlmsghdr *nlh = m->msg_iov[0].iov_base;
	int left = (int)m->msg_iov[0].iov_len;
	unsigned int n = 0;

	for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left))
		n++;
	return n;
}

static ssize_t fake_send(int fd, const struct msghdr *m, int flags)
{
	calls++;
	if (fail_all || calls <= fail_first || (fail_multi && msgs_in(m) > 1)) {
		errno = fail_errno;
		return -1;
	}
	return sendmsg(fd, m, flags);
}

static void fail_sends(unsigned int first, bool multi, bool all, int err)
{
	calls = 0;
	fail_first = first;
	fail_multi = multi;
	fail_all = all;
	fail_errno = err;
	queue_set_send(q, fake_send);
}

static void add_run(struct model *m, uint32_t from, uint32_t to, uint32_t mark)
{
	uint32_t id;

	for (id = from; id <= to; id++) {
		model_add(m, id);
		queue_verdict(q, id, NF_ACCEPT, mark);
	}
}

/* A send failing once with ENOBUFS is tried again: the batch goes out. */
START_TEST(send_retried)
{
	struct queue_stats st;
	struct model m = { .n = 0 };
	unsigned int n;

	fail_sends(1, false, false, ENOBUFS);
	add_run(&m, 1, 3, 7);
	ck_assert_int_eq(queue_flush(q), 0);
	ck_assert_uint_eq(calls, 2);
	n = read_sent(NULL);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(sent[0].type, BATCH);
	model_apply(&m, n);
	expect(&m, 1, NF_ACCEPT, 7);
	expect(&m, 3, NF_ACCEPT, 7);
	queue_stats(q, &st);
	ck_assert_uint_eq(st.retries, 1);
	ck_assert_uint_eq(st.fallbacks, 0);
	ck_assert_uint_eq(st.lost, 0);
}
END_TEST

/* A message that keeps failing goes out one verdict per message: no batch
 * verdict, every packet its own mark. */
START_TEST(send_falls_back)
{
	struct queue_stats st;
	struct model m = { .n = 0 };
	unsigned int i, n, dgrams;

	fail_sends(0, true, false, EAGAIN);
	add_run(&m, 1, 2, 7);
	add_run(&m, 3, 3, 8);
	add_run(&m, 4, 5, 7);
	ck_assert_int_eq(queue_flush(q), 0);
	n = read_sent(&dgrams);
	ck_assert_uint_eq(n, 5);
	ck_assert_uint_eq(dgrams, 5);
	for (i = 0; i < n; i++)
		ck_assert_uint_eq(sent[i].type, SINGLE);
	model_apply(&m, n);
	ck_assert_uint_eq(m.enoent, 0);
	expect(&m, 1, NF_ACCEPT, 7);
	expect(&m, 2, NF_ACCEPT, 7);
	expect(&m, 3, NF_ACCEPT, 8);
	expect(&m, 5, NF_ACCEPT, 7);
	queue_stats(q, &st);
	ck_assert_uint_eq(st.fallbacks, 1);
	ck_assert_uint_eq(st.retries, QUEUE_SEND_TRIES - 1);
	ck_assert_uint_eq(st.lost, 0);
}
END_TEST

/* The defect this guards against: verdicts for 1..3 (mark 7) are lost, then
 * 4..6 (mark 8) go out; a batch verdict for 6 would answer 1..3 with mark
 * 8.  Instead 1..3 go round the hook (NF_REPEAT, no mark) first. */
START_TEST(lost_verdicts_repeat)
{
	struct queue_stats st;
	struct model m = { .n = 0 };
	unsigned int n;

	fail_sends(0, false, true, ENOBUFS);
	add_run(&m, 1, 3, 7);
	errno = 0;
	ck_assert_int_eq(queue_flush(q), -1);
	ck_assert_int_eq(errno, ENOBUFS);
	ck_assert_uint_eq(read_sent(NULL), 0);
	queue_stats(q, &st);
	ck_assert_uint_eq(st.lost, 3);
	ck_assert_uint_eq(st.fallbacks, 1);
	ck_assert_uint_eq(st.last_send_error, ENOBUFS);

	fail_sends(0, false, false, 0);
	add_run(&m, 4, 6, 8);
	ck_assert_int_eq(queue_flush(q), 0);
	n = read_sent(NULL);
	model_apply(&m, n);
	expect(&m, 1, NF_REPEAT, 0);
	expect(&m, 3, NF_REPEAT, 0);
	expect(&m, 4, NF_ACCEPT, 8);
	expect(&m, 6, NF_ACCEPT, 8);
	ck_assert_uint_eq(m.enoent, 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(sent[0].type, BATCH);
	ck_assert_uint_eq(sent[0].id, 3);
	ck_assert(!sent[0].has_mark);
}
END_TEST

/* An error that does not pass is not tried again; the lost packets go
 * round the hook at the next flush even with nothing else to send, and
 * a flush with nothing to send makes no system call. */
START_TEST(lost_then_idle_flush)
{
	struct queue_stats st;
	struct model m = { .n = 0 };
	unsigned int n;

	fail_sends(0, false, true, ECONNREFUSED);
	add_run(&m, 1, 1, 7);
	add_run(&m, 2, 2, 8);
	ck_assert_int_eq(queue_flush(q), -1);
	ck_assert_int_eq(errno, ECONNREFUSED);
	queue_stats(q, &st);
	ck_assert_uint_eq(st.retries, 0);
	ck_assert_uint_eq(st.lost, 2);
	/* The message, two verdicts alone, the NF_REPEAT: one try each. */
	ck_assert_uint_eq(calls, 4);

	fail_sends(0, false, false, 0);
	ck_assert_int_eq(queue_flush(q), 0);
	n = read_sent(NULL);
	ck_assert_uint_eq(n, 1);
	model_apply(&m, n);
	expect(&m, 1, NF_REPEAT, 0);
	expect(&m, 2, NF_REPEAT, 0);
	calls = 0;
	ck_assert_int_eq(queue_flush(q), 0);
	ck_assert_uint_eq(calls, 0);
	ck_assert_uint_eq(read_sent(NULL), 0);
}
END_TEST

/* ---- receiving ---- */

START_TEST(recv_packets)
{
	struct queue_pkt p[QUEUE_BATCH];
	uint32_t id;

	for (id = 100; id < 105; id++)
		feed(id, ip4, sizeof(ip4));
	ck_assert_int_eq(queue_recv(q, p, QUEUE_BATCH), 5);
	for (id = 0; id < 5; id++) {
		ck_assert_uint_eq(p[id].id, 100 + id);
		ck_assert_uint_eq(p[id].len, sizeof(ip4));
		ck_assert_mem_eq(p[id].data, ip4, sizeof(ip4));
	}
	errno = 0;
	ck_assert_int_eq(queue_recv(q, p, QUEUE_BATCH), -1);
	ck_assert_int_eq(errno, EAGAIN);
}
END_TEST

/* A datagram longer than the receive buffer (MSG_TRUNC) is counted and not
 * parsed as whole: its packet is dropped; the next one is read as usual. */
START_TEST(recv_truncated)
{
	static uint8_t big[6000];
	struct queue_pkt p[QUEUE_BATCH];
	struct queue_stats st;
	struct model m = { .n = 0 };
	unsigned int n;

	memcpy(big, ip4, sizeof(ip4));
	feed(9, big, sizeof(big));
	feed(10, ip4, sizeof(ip4));
	ck_assert_int_eq(queue_recv(q, p, QUEUE_BATCH), 1);
	ck_assert_uint_eq(p[0].id, 10);
	queue_stats(q, &st);
	ck_assert_uint_eq(st.truncated, 1);
	ck_assert_uint_eq(st.unreadable, 0);
	model_add(&m, 9);
	model_add(&m, 10);
	queue_verdict(q, 10, NF_ACCEPT, 7);
	ck_assert_int_eq(queue_flush(q), 0);
	n = read_sent(NULL);
	model_apply(&m, n);
	ck_assert_uint_eq(m.enoent, 0);
	expect(&m, 9, NF_DROP, 0);
	expect(&m, 10, NF_ACCEPT, 7);
}
END_TEST

/* A netlink message longer than its datagram: the same as a cut one. */
START_TEST(recv_short_message)
{
	char buf[256] __attribute__((aligned(8)));
	struct queue_pkt p[QUEUE_BATCH];
	struct queue_stats st;
	struct nlmsghdr *nlh = put_packet(buf, 33, ip4, sizeof(ip4));
	unsigned int n;

	send_bytes(buf, nlh->nlmsg_len - 8);
	ck_assert_int_eq(queue_recv(q, p, QUEUE_BATCH), 0);
	queue_stats(q, &st);
	ck_assert_uint_eq(st.truncated, 1);
	ck_assert_int_eq(queue_flush(q), 0);
	n = read_sent(NULL);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(sent[0].type, SINGLE);
	ck_assert_uint_eq(sent[0].id, 33);
	ck_assert_uint_eq(sent[0].verdict, NF_DROP);
}
END_TEST

/* A packet message cut before its id: it may still be queued, so no batch
 * verdict goes out from then on. */
START_TEST(recv_unreadable)
{
	char buf[256] __attribute__((aligned(8)));
	struct queue_pkt p[QUEUE_BATCH];
	struct queue_stats st;
	unsigned int i, n;

	put_packet(buf, 40, ip4, sizeof(ip4));
	send_bytes(buf, 24);	/* header, nfgenmsg, half an attribute */
	ck_assert_int_eq(queue_recv(q, p, QUEUE_BATCH), 0);
	queue_stats(q, &st);
	ck_assert_uint_eq(st.truncated, 1);
	ck_assert_uint_eq(st.unreadable, 1);
	for (i = 41; i < 45; i++)
		queue_verdict(q, i, NF_ACCEPT, 7);
	ck_assert_int_eq(queue_flush(q), 0);
	n = read_sent(NULL);
	ck_assert_uint_eq(n, 4);
	for (i = 0; i < n; i++)
		ck_assert_uint_eq(sent[i].type, SINGLE);
}
END_TEST

/* A packet without payload goes round the hook again, unmarked; the ones
 * around it keep their own marks. */
START_TEST(recv_no_payload)
{
	struct queue_pkt p[QUEUE_BATCH];
	struct queue_stats st;
	struct model m = { .n = 0 };
	unsigned int n;

	feed(21, ip4, sizeof(ip4));
	feed(22, NULL, 0);
	feed(23, ip4, sizeof(ip4));
	ck_assert_int_eq(queue_recv(q, p, QUEUE_BATCH), 2);
	ck_assert_uint_eq(p[0].id, 21);
	ck_assert_uint_eq(p[1].id, 23);
	queue_stats(q, &st);
	ck_assert_uint_eq(st.no_payload, 1);
	model_add(&m, 21);
	model_add(&m, 22);
	model_add(&m, 23);
	queue_verdict(q, 21, NF_ACCEPT, 5);
	queue_verdict(q, 23, NF_ACCEPT, 5);
	ck_assert_int_eq(queue_flush(q), 0);
	n = read_sent(NULL);
	model_apply(&m, n);
	ck_assert_uint_eq(m.enoent, 0);
	expect(&m, 21, NF_ACCEPT, 5);
	expect(&m, 22, NF_REPEAT, 0);
	expect(&m, 23, NF_ACCEPT, 5);
}
END_TEST

/* Only QUEUE_NOPAYLOAD_MAX packets without payload go round again: a
 * packet that never has any cannot loop for ever. */
START_TEST(recv_no_payload_bounded)
{
	struct queue_pkt p[QUEUE_BATCH];
	struct queue_stats st;
	unsigned int i, j;

	for (i = 0; i < QUEUE_NOPAYLOAD_MAX; i += 32) {
		for (j = 0; j < 32; j++)
			feed(i + j + 1, NULL, 0);
		ck_assert_int_eq(queue_recv(q, p, QUEUE_BATCH), 0);
		ck_assert_int_eq(queue_flush(q), 0);
		ck_assert_uint_eq(read_sent(NULL), 1);	/* one batch NF_REPEAT */
		ck_assert_uint_eq(sent[0].verdict, NF_REPEAT);
	}
	feed(QUEUE_NOPAYLOAD_MAX + 1, NULL, 0);
	ck_assert_int_eq(queue_recv(q, p, QUEUE_BATCH), 1);
	ck_assert_uint_eq(p[0].len, 0);
	queue_stats(q, &st);
	ck_assert_uint_eq(st.no_payload, QUEUE_NOPAYLOAD_MAX);
}
END_TEST

/* More packets than the caller asked for: the rest go round again. */
START_TEST(recv_beyond_max)
{
	char buf[1024] __attribute__((aligned(8)));
	struct queue_pkt p[QUEUE_BATCH];
	struct model m = { .n = 0 };
	struct nlmsghdr *nlh;
	size_t off = 0;
	uint32_t id;
	unsigned int n;

	for (id = 31; id <= 33; id++) {
		nlh = put_packet(buf + off, id, ip4, sizeof(ip4));
		off += MNL_ALIGN(nlh->nlmsg_len);
		model_add(&m, id);
	}
	send_bytes(buf, off);
	ck_assert_int_eq(queue_recv(q, p, 2), 2);
	queue_verdict(q, p[0].id, NF_ACCEPT, 7);
	queue_verdict(q, p[1].id, NF_ACCEPT, 7);
	ck_assert_int_eq(queue_flush(q), 0);
	n = read_sent(NULL);
	model_apply(&m, n);
	ck_assert_uint_eq(m.enoent, 0);
	expect(&m, 31, NF_ACCEPT, 7);
	expect(&m, 32, NF_ACCEPT, 7);
	expect(&m, 33, NF_REPEAT, 0);
}
END_TEST

/* The kernel's error reports are counted, with the last error. */
START_TEST(recv_kernel_error)
{
	char buf[256] __attribute__((aligned(8)));
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nlmsgerr *e = mnl_nlmsg_put_extra_header(nlh, sizeof(*e));
	struct queue_pkt p[QUEUE_BATCH];
	struct queue_stats st;

	nlh->nlmsg_type = NLMSG_ERROR;
	e->error = -ENOENT;
	send_bytes(buf, nlh->nlmsg_len);
	ck_assert_int_eq(queue_recv(q, p, QUEUE_BATCH), 0);
	queue_stats(q, &st);
	ck_assert_uint_eq(st.errors, 1);
	ck_assert_int_eq(st.last_error, ENOENT);
}
END_TEST


/* ---- held packets ---- */

/* Flush and play what was sent against the model; no verdict may find
 * nothing to answer. */
static void flush_apply(struct model *m)
{
	unsigned int n;

	ck_assert_int_eq(queue_flush(q), 0);
	n = read_sent(NULL);
	model_apply(m, n);
	ck_assert_uint_eq(m->enoent, 0);
}

static void assert_queued(const struct model *m, uint32_t id)
{
	unsigned int j;

	for (j = 0; j < m->n; j++)
		if (m->e[j].id == id) {
			ck_assert_msg(m->e[j].queued, "id %u was answered while it should wait", id);
			return;
		}
	ck_abort_msg("id %u is not in the model", id);
}

/* A held packet in the middle of a run: the run is batched only below it,
 * the rest go alone, and it gets its own verdict later. */
START_TEST(hold_survives_batch)
{
	struct model m = { .n = 0 };
	uint32_t id;
	unsigned int n;

	for (id = 1; id <= 6; id++)
		model_add(&m, id);
	ck_assert_int_eq(queue_hold(q, 3), 0);
	for (id = 1; id <= 6; id++)
		if (id != 3)
			queue_verdict(q, id, NF_ACCEPT, 7);
	ck_assert_int_eq(queue_flush(q), 0);
	n = read_sent(NULL);
	ck_assert_uint_eq(n, 4);
	ck_assert(sent[0].type == BATCH && sent[0].id == 2);
	for (id = 1; id < 4; id++)
		ck_assert(sent[id].type == SINGLE);
	model_apply(&m, n);
	ck_assert_uint_eq(m.enoent, 0);
	assert_queued(&m, 3);
	expect(&m, 6, NF_ACCEPT, 7);
	ck_assert_uint_eq(queue_held(q), 1);
	queue_verdict(q, 3, NF_ACCEPT, 9);
	ck_assert_uint_eq(queue_held(q), 0);
	flush_apply(&m);
	expect(&m, 3, NF_ACCEPT, 9);
	expect(&m, 2, NF_ACCEPT, 7);
}
END_TEST

/* Verdicts for 1 and 3 are lost while 2 is held: their NF_REPEAT would
 * answer 2 too, so it waits until 2 has its verdict, which goes first. */
START_TEST(hold_survives_sweep)
{
	struct model m = { .n = 0 };
	uint32_t id;

	for (id = 1; id <= 5; id++)
		model_add(&m, id);
	ck_assert_int_eq(queue_hold(q, 2), 0);
	fail_sends(0, false, true, ENOBUFS);
	queue_verdict(q, 1, NF_ACCEPT, 7);
	queue_verdict(q, 3, NF_ACCEPT, 7);
	ck_assert_int_eq(queue_flush(q), -1);
	ck_assert_uint_eq(read_sent(NULL), 0);
	fail_sends(0, false, false, 0);
	queue_verdict(q, 4, NF_ACCEPT, 8);
	queue_verdict(q, 5, NF_ACCEPT, 8);
	flush_apply(&m);
	assert_queued(&m, 1);
	assert_queued(&m, 2);
	assert_queued(&m, 3);
	expect(&m, 5, NF_ACCEPT, 8);
	ck_assert_int_eq(queue_flush(q), 0);	/* still held: no sweep */
	ck_assert_uint_eq(read_sent(NULL), 0);
	queue_verdict(q, 2, NF_DROP, 0);
	flush_apply(&m);
	expect(&m, 1, NF_REPEAT, 0);
	expect(&m, 2, NF_DROP, 0);
	expect(&m, 3, NF_REPEAT, 0);
}
END_TEST

/* Held ids compare with wrap, as the kernel's do. */
START_TEST(hold_wraps)
{
	struct model m = { .n = 0 };
	static const uint32_t ids[] = { 0xfffffffe, 0xffffffff, 0, 1 };
	unsigned int i;

	for (i = 0; i < 4; i++)
		model_add(&m, ids[i]);
	ck_assert_int_eq(queue_hold(q, 0xffffffff), 0);
	queue_verdict(q, 1, NF_ACCEPT, 7);
	queue_verdict(q, 0, NF_ACCEPT, 7);
	queue_verdict(q, 0xfffffffe, NF_ACCEPT, 7);
	flush_apply(&m);
	assert_queued(&m, 0xffffffff);
	queue_verdict(q, 0xffffffff, NF_ACCEPT, 5);
	flush_apply(&m);
	expect(&m, 0xffffffff, NF_ACCEPT, 5);
	expect(&m, 0, NF_ACCEPT, 7);
}
END_TEST

/* At most hold_max held; holding twice holds once; a verdict unholds. */
START_TEST(hold_bounded)
{
	uint32_t id;

	for (id = 1; id <= HOLD_MAX; id++)
		ck_assert_int_eq(queue_hold(q, id * 2), 0);
	ck_assert_int_eq(queue_hold(q, 4), 0);
	errno = 0;
	ck_assert_int_eq(queue_hold(q, 1), -1);
	ck_assert_int_eq(errno, ENOSPC);
	ck_assert_uint_eq(queue_held(q), HOLD_MAX);
	queue_verdict(q, 4, NF_ACCEPT, 0);
	queue_verdict(q, 3, NF_ACCEPT, 0);	/* not held: nothing changes */
	ck_assert_uint_eq(queue_held(q), HOLD_MAX - 1);
	ck_assert_int_eq(queue_hold(q, 1), 0);
}
END_TEST

/* 200 packets in batches of 20; every 7th is held and gets its verdict
 * 1..3 batches later; marks in runs of 4: every packet ends with its
 * own verdict and mark. */
START_TEST(hold_many)
{
	static uint32_t later[200];
	struct model m = { .n = 0 };
	unsigned int b, nlater = 0, i;
	uint32_t id;

	for (b = 0; b < 10; b++) {
		for (id = b * 20 + 1; id <= b * 20 + 20; id++) {
			model_add(&m, id);
			if (id % 7 == 0) {
				ck_assert_int_eq(queue_hold(q, id), 0);
				later[nlater++] = id;
			} else
				queue_verdict(q, id, NF_ACCEPT, id / 4);
		}
		for (i = 0; i < nlater; i++)
			if (later[i] && later[i] + 20 * (1 + later[i] % 3) <= b * 20 + 20) {
				queue_verdict(q, later[i], NF_ACCEPT, 1000 + later[i]);
				later[i] = 0;
			}
		flush_apply(&m);
	}
	for (i = 0; i < nlater; i++)
		if (later[i])
			queue_verdict(q, later[i], NF_ACCEPT, 1000 + later[i]);
	flush_apply(&m);
	ck_assert_uint_eq(queue_held(q), 0);
	for (id = 1; id <= 200; id++)
		expect(&m, id, NF_ACCEPT, id % 7 == 0 ? 1000 + id : id / 4);
}
END_TEST

Suite *make_queue_suite(void)
{
	Suite *s = suite_create("queue");
	TCase *tc = tcase_create("queue");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, flush_runs, 0, (int)(sizeof(runs) / sizeof(runs[0])));
	tcase_add_test(tc, send_retried);
	tcase_add_test(tc, send_falls_back);
	tcase_add_test(tc, lost_verdicts_repeat);
	tcase_add_test(tc, lost_then_idle_flush);
	tcase_add_test(tc, recv_packets);
	tcase_add_test(tc, recv_truncated);
	tcase_add_test(tc, recv_short_message);
	tcase_add_test(tc, recv_unreadable);
	tcase_add_test(tc, recv_no_payload);
	tcase_add_test(tc, recv_no_payload_bounded);
	tcase_add_test(tc, recv_beyond_max);
	tcase_add_test(tc, recv_kernel_error);
	tcase_add_test(tc, hold_survives_batch);
	tcase_add_test(tc, hold_survives_sweep);
	tcase_add_test(tc, hold_wraps);
	tcase_add_test(tc, hold_bounded);
	tcase_add_test(tc, hold_many);
	suite_add_tcase(s, tc);
	return s;
}
