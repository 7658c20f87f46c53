/* SPDX-License-Identifier: GPL-2.0-or-later */
/* worker.c: one queue thread of `nfqlb lb`: the packet loop, the table it
 * follows, and its housekeeping (see worker.h). */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/netfilter.h>

#include "nfqlb/lb.h"
#include "nfqlb/log.h"
#include "nfqlb/procq.h"
#include "nfqlb/worker.h"

int worker_stopping;	/* atomic */
int worker_failed;	/* atomic */

/* Send a verdict and count it in cnt (a set's generic counters). */
static void give(struct worker *wk, uint64_t *cnt, uint32_t id, uint32_t verdict,
		 uint32_t mark)
{
	if (cnt)
		shm_count(&cnt[verdict == NF_DROP ? SHM_CNT_DROP : SHM_CNT_ACCEPT], 1);
	queue_verdict(wk->q, id, verdict, mark);
}

/* One table: count one packet and batch its verdict. */
static void decide(struct worker *wk, const struct queue_pkt *p,
		   const struct lb_result *r)
{
	struct shm_worker *w = wk->table.w;
	const struct lb_verdict *nt = &wk->conf->no_target;

	shm_count(&w->cnt[r->kind], 1);
	if (r->kind == PKT_MALFORMED) {
		give(wk, w->cnt, p->id, NF_DROP, 0);
		return;
	}
	if (r->slot == SHM_NO_SLOT) {
		shm_count(&w->cnt[SHM_CNT_NO_TARGET], 1);
		give(wk, w->cnt, p->id, nt->verdict, nt->mark);
		return;
	}
	shm_count(&w->target[r->slot], 1);
	give(wk, w->cnt, p->id, NF_ACCEPT, wk->table.view.targets[r->slot].id);
}

static void handle_batch(struct worker *wk, const struct queue_pkt *pkts, unsigned int n)
{
	struct lb_result res[QUEUE_BATCH];
	struct wtable *t = &wk->table;
	unsigned int i;

	wtable_refresh(t);
	lb_lookup_batch(&t->view, t->shm->mode, t->shm->seed, pkts, n, res);
	for (i = 0; i < n; i++)
		decide(wk, &pkts[i], &res[i]);
}

/* Flows: the packet's flow had no usable target. */
static void decide_no_target(struct worker *wk, const struct queue_pkt *p,
			     const struct lb_result *r, uint64_t *fcnt)
{
	const struct lb_verdict *nt = &wk->conf->no_target;
	struct shm_worker *w = wk->fl.tab[r->table].w;

	shm_count(&wk->fl.fw->flow[wk->fl.fv.slot[r->flow]][FLOWSET_F_NO_TARGET], 1);
	shm_count(&fcnt[SHM_CNT_NO_TARGET], 1);
	if (w) {
		shm_count(&w->cnt[r->kind], 1);
		shm_count(&w->cnt[SHM_CNT_NO_TARGET], 1);
	}
	give(wk, w ? w->cnt : NULL, p->id, nt->verdict, nt->mark);
	shm_count(&fcnt[nt->verdict == NF_DROP ? SHM_CNT_DROP : SHM_CNT_ACCEPT], 1);
}

/* Flows: count one packet in the flow set and its table, and batch its
 * verdict. */
static void decide_flow(struct worker *wk, const struct queue_pkt *p,
			const struct lb_result *r)
{
	uint64_t *fcnt = &wk->fl.fw->cnt[FLOWSET_C_KINDS];
	const struct wtable *t;

	shm_count(&fcnt[r->kind], 1);
	if (r->kind == PKT_MALFORMED || r->flow < 0) {
		const struct lb_verdict *nf = &wk->conf->no_flow;
		uint32_t v = r->kind == PKT_MALFORMED ? NF_DROP : nf->verdict;

		if (r->kind != PKT_MALFORMED)
			shm_count(&wk->fl.fw->cnt[FLOWSET_C_NO_FLOW], 1);
		give(wk, fcnt, p->id, v, r->kind == PKT_MALFORMED ? 0 : nf->mark);
		return;
	}
	shm_count(&wk->fl.fw->flow[wk->fl.fv.slot[r->flow]][FLOWSET_F_PACKETS], 1);
	if (r->slot == SHM_NO_SLOT) {
		decide_no_target(wk, p, r, fcnt);
		return;
	}
	t = &wk->fl.tab[r->table];
	shm_count(&t->w->cnt[r->kind], 1);
	shm_count(&t->w->target[r->slot], 1);
	shm_count(&t->w->cnt[SHM_CNT_ACCEPT], 1);
	give(wk, fcnt, p->id, NF_ACCEPT, t->view.targets[r->slot].id);
}

static void handle_flows(struct worker *wk, const struct queue_pkt *pkts, unsigned int n)
{
	struct lb_result res[QUEUE_BATCH];
	unsigned int i;

	wflows_refresh_set(&wk->fl);
	lb_flows_match(&wk->fl.lf, pkts, n, res);
	wflows_refresh_used(&wk->fl, res, n);
	lb_flows_lookup(&wk->fl.lf, res, n);
	for (i = 0; i < n; i++)
		decide_flow(wk, &pkts[i], &res[i]);
}

static void read_proc(struct worker *wk)
{
	struct shm_worker *w = wk->table.w;
	struct procq_row row;

	if (!w || procq_find(wk->queue, &row) < 0)
		return;
	__atomic_store_n(&w->q_total, row.waiting, __ATOMIC_RELAXED);
	__atomic_store_n(&w->q_dropped, row.dropped, __ATOMIC_RELAXED);
	__atomic_store_n(&w->u_dropped, row.udropped, __ATOMIC_RELAXED);
}

int worker_attach(struct worker *wk, struct shm *s, char *why)
{
	struct wtable *t = &wk->table;

	snprintf(t->name, sizeof(t->name), "%s", wk->conf->name);
	t->queue = wk->queue;
	t->no_target = wk->conf->no_target.text;
	return wtable_attach(t, s, why);
}

int worker_attach_flows(struct worker *wk, char *why)
{
	wk->fl.name = wk->conf->flows;
	wk->fl.queue = wk->queue;
	wk->fl.no_target = wk->conf->no_target.text;
	if (wflows_open(&wk->fl, why) == 0)
		return 0;
	wflows_close(&wk->fl);
	return -1;
}

void worker_detach(struct worker *wk)
{
	wtable_detach(&wk->table);
	wflows_close(&wk->fl);
}

/* The name is checked every FOLLOW_MS: with a receive timeout on top, a
 * new object under it is in use within a second. */
#define FOLLOW_MS 500

#define SINCE(field) ((unsigned long long)(st.field - wk->logged.field))

/* What the queue counted since the last line (kernel rejections and the
 * verdict path's trouble); called at most once a second. */
static void log_queue(struct worker *wk)
{
	struct queue_stats st;

	queue_stats(wk->q, &st);
	if (SINCE(errors))
		lb_log("queue %u: the kernel rejected %llu messages (last: %s)", wk->queue,
		       SINCE(errors), strerror(st.last_error));
	if (SINCE(lost))
		lb_log("queue %u: verdicts: %llu verdicts lost (last: %s), their packets sent round the hook again",
		       wk->queue, SINCE(lost), strerror(st.last_send_error));
	if (SINCE(retries) || SINCE(fallbacks))
		lb_log("queue %u: verdicts: %llu sends tried again, %llu messages sent one verdict at a time",
		       wk->queue, SINCE(retries), SINCE(fallbacks));
	if (SINCE(truncated) || SINCE(unreadable))
		lb_log("queue %u: %llu messages cut short (their packets dropped), %llu packets without a readable id (batch verdicts off)",
		       wk->queue, SINCE(truncated), SINCE(unreadable));
	if (SINCE(no_payload))
		lb_log("queue %u: %llu packets without payload sent round the hook again",
		       wk->queue, SINCE(no_payload));
	wk->logged = st;
}

#undef SINCE

/* Between batches, after the last one's verdicts went out. */
static void housekeeping(struct worker *wk)
{
	struct timespec now;
	bool follow;
	uint64_t ms;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
	ms = (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000;
	follow = ms >= wk->next_follow;
	if (follow)
		wk->next_follow = ms + FOLLOW_MS;
	if (wk->conf->flows)
		wflows_housekeeping(&wk->fl, follow);
	else {
		wtable_refresh(&wk->table);
		if (follow)
			wtable_follow(&wk->table, false);
	}
	if (now.tv_sec < wk->next_house)
		return;
	wk->next_house = now.tv_sec + 1;
	read_proc(wk);
	log_queue(wk);
}

void worker_fatal(struct worker *wk, const char *what)
{
	lb_log("queue %u: %s: %s", wk->queue, what, strerror(errno));
	__atomic_store_n(&worker_failed, 1, __ATOMIC_RELAXED);
	kill(getpid(), SIGTERM);
}

void *worker_main(void *arg)
{
	struct queue_pkt pkts[QUEUE_BATCH];
	struct worker *wk = arg;
	int n;

	while (!__atomic_load_n(&worker_stopping, __ATOMIC_RELAXED)) {
		n = queue_recv(wk->q, pkts, QUEUE_BATCH);
		if (n < 0 && errno != EINTR && errno != EAGAIN) {
			worker_fatal(wk, "receive");
			break;
		}
		if (n > 0 && wk->conf->flows)
			handle_flows(wk, pkts, (unsigned int)n);
		else if (n > 0)
			handle_batch(wk, pkts, (unsigned int)n);
		/* Also after a timeout or 0 packets: the queue's own verdicts,
		 * or lost ones to send round again; no system call if none.
		 * What fails is counted in the queue's stats (log_queue()). */
		queue_flush(wk->q);
		/* A full batch means more is waiting: SCHED_FIFO does not share
		 * the CPU between threads of one priority unless they yield. */
		if (wk->rt && n == QUEUE_BATCH)
			sched_yield();
		housekeeping(wk);
	}
	if (wtable_debug_verify && !wk->conf->flows)
		lb_log("queue %u: debug verify: %llu tables checked, each equal to its own build",
		       wk->queue, (unsigned long long)wk->table.verified);
	return NULL;
}
