/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * nfq-null: the do-nothing NFQUEUE consumer of the benchmark, the ceiling
 * for any NFQUEUE program on the machine.  It accepts every packet with one
 * fixed mark and looks at nothing but the packet id.
 *
 * It is written independently of nfqlb's queue code and takes every short
 * cut a real load balancer cannot: it copies no packet bytes
 * (NFQNL_COPY_META) and, by default, answers a whole batch with one
 * NFQNL_MSG_VERDICT_BATCH message ("accept every id up to N, mark M").
 * -p sends one verdict message per packet instead, as nfqlb must.
 *
 *   nfq-null [-q QUEUE] [-m MARK] [-l QLENGTH] [-p] [-C CPU] [-R PRIO]
 *
 * -C pins it to a CPU and -R runs it SCHED_FIFO at PRIO, as nfqlb lb
 * --cpu and --rt-priority do, so that the two compare on equal terms.
 * Runs until SIGINT or SIGTERM, then prints "packets N".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

#define BATCH 64
#define DGRAM 512
#define PKT_TYPE ((NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET)

struct null {
	struct mnl_socket *nl;
	uint16_t queue;
	uint32_t mark;
	int per_packet;
	unsigned long long packets;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void die(const char *what)
{
	fprintf(stderr, "nfq-null: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void config(struct null *z, uint32_t qlength)
{
	char buf[1024] = { 0 };
	struct nlmsghdr *nlh;
	size_t off;

	nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, z->queue);
	nlh->nlmsg_flags |= NLM_F_ACK;	/* errors are caught in serve() */
	nfq_nlmsg_cfg_put_cmd(nlh, AF_UNSPEC, NFQNL_CFG_CMD_BIND);
	off = nlh->nlmsg_len;
	nlh = nfq_nlmsg_put(buf + off, NFQNL_MSG_CONFIG, z->queue);
	nlh->nlmsg_flags |= NLM_F_ACK;
	nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_META, 0);
	mnl_attr_put_u32(nlh, NFQA_CFG_QUEUE_MAXLEN, htonl(qlength));
	mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(NFQA_CFG_F_GSO));
	mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(NFQA_CFG_F_GSO));
	off += nlh->nlmsg_len;
	if (mnl_socket_sendto(z->nl, buf, off) < 0)
		die("configure");
}

static void open_queue(struct null *z, uint32_t qlength)
{
	int on = 1, size = 8 << 20;
	struct timeval tv = { 0, 250000 };
	int fd;

	z->nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!z->nl || mnl_socket_bind(z->nl, 0, MNL_SOCKET_AUTOPID) < 0)
		die("netlink");
	fd = mnl_socket_get_fd(z->nl);
	mnl_socket_setsockopt(z->nl, NETLINK_NO_ENOBUFS, &on, sizeof(on));
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	config(z, qlength);
}

/* The packet id of a packet message, or 0 for anything else. */
static uint32_t packet_id(const char *buf, size_t len)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
	const struct nlattr *a;

	if (!mnl_nlmsg_ok(nlh, (int)len))
		return 0;
	if (nlh->nlmsg_type == NLMSG_ERROR) {
		const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

		errno = -e->error;
		if (errno)
			die("the kernel refused");
		return 0;
	}
	if (nlh->nlmsg_type != PKT_TYPE)
		return 0;
	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg))
		if (mnl_attr_get_type(a) == NFQA_PACKET_HDR) {
			const struct nfqnl_msg_packet_hdr *ph = mnl_attr_get_payload(a);

			return ntohl(ph->packet_id);
		}
	return 0;
}

static size_t put_verdict(struct null *z, char *buf, uint16_t type, uint32_t id)
{
	struct nlmsghdr *nlh = nfq_nlmsg_put(buf, type, z->queue);

	nfq_nlmsg_verdict_put(nlh, (int)id, NF_ACCEPT);
	nfq_nlmsg_verdict_put_mark(nlh, z->mark);
	return nlh->nlmsg_len;
}

static void answer(struct null *z, const uint32_t *ids, int n)
{
	static char out[BATCH * 64];
	size_t off = 0;
	int i;

	if (!z->per_packet)
		off = put_verdict(z, out, NFQNL_MSG_VERDICT_BATCH, ids[n - 1]);
	for (i = 0; z->per_packet && i < n; i++)
		off += put_verdict(z, out + off, NFQNL_MSG_VERDICT, ids[i]);
	mnl_socket_sendto(z->nl, out, off);
}

static void serve(struct null *z)
{
	static char bufs[BATCH][DGRAM];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	uint32_t ids[BATCH];
	int i, n, k;

	while (!stop) {
		for (i = 0; i < BATCH; i++) {
			iov[i] = (struct iovec){ bufs[i], DGRAM };
			msgs[i].msg_hdr = (struct msghdr){ .msg_iov = &iov[i], .msg_iovlen = 1 };
		}
		n = recvmmsg(mnl_socket_get_fd(z->nl), msgs, BATCH, MSG_WAITFORONE, NULL);
		for (i = 0, k = 0; i < n; i++)
			if ((ids[k] = packet_id(bufs[i], msgs[i].msg_len)) != 0)
				k++;
		if (k) {
			z->packets += (unsigned long long)k;
			answer(z, ids, k);
		}
	}
}

static void realtime(const char *prio)
{
	struct sched_param sp = { .sched_priority = atoi(prio) };

	if (sched_setscheduler(0, SCHED_FIFO, &sp) < 0)
		die("SCHED_FIFO");
}

static void pin(const char *cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(atoi(cpu), &set);
	if (sched_setaffinity(0, sizeof(set), &set) < 0)
		die("cpu");
}

int main(int argc, char **argv)
{
	struct null z = { .mark = 1 };
	struct sigaction sa = { .sa_handler = on_signal };
	uint32_t qlength = 4096;
	int c;

	while ((c = getopt(argc, argv, "q:m:l:pC:R:")) != -1) {
		switch (c) {
		case 'q': z.queue = (uint16_t)atoi(optarg); break;
		case 'm': z.mark = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'l': qlength = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'p': z.per_packet = 1; break;
		case 'C': pin(optarg); break;
		case 'R': realtime(optarg); break;
		default:
			fprintf(stderr, "usage: nfq-null [-q QUEUE] [-m MARK] [-l QLENGTH] [-p] [-C CPU] [-R PRIO]\n");
			return 2;
		}
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	open_queue(&z, qlength);
	serve(&z);
	printf("packets %llu\n", z.packets);
	mnl_socket_close(z.nl);
	return 0;
}
