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
#include "nfqlb/tracerec.h"
#include "nfqlb/worker.h"

int worker_stopping;	/* atomic */
int worker_failed;	/* atomic */

/* The generic counters this worker counts kinds and verdicts in: its set
 * in the table, or in the flow set (enum shm_cnt for both). */
static inline uint64_t *counters(struct worker *wk)
{
	return wk->conf->flows ? wk->fl.fw->cnt + FLOWSET_C_KINDS : wk->table.w->cnt;
}

/* The name of a decision's flow; NULL for none (or one table).  A later
 * fragment's decision may come from an older flow set: its flow is
 * named only while its index still holds a flow. */
static const char *flow_name(const struct worker *wk, const struct frag_decision *d)
{
	if (!wk->conf->flows || d->flow < 0 || (uint32_t)d->flow >= wk->fl.fv.n)
		return NULL;
	return wk->fl.fv.flows[d->flow].name;
}

/* Batch a verdict; while a trace is armed, also write it there (p and r
 * are NULL for a held fragment released later: not traced). */
static void emit(struct worker *wk, uint32_t id, const struct queue_pkt *p,
		 const struct lb_result *r, const struct frag_decision *d, bool traced)
{
	queue_verdict(wk->q, id, d->verdict, d->mark);
	if (traced && p)
		tracerec_put(wk->trace, p, &(struct tracerec){
			.queue = wk->queue, .kind = r->kind, .verdict = d->verdict,
			.mark = d->mark, .target = d->slot == SHM_NO_SLOT ? 0 : d->mark,
			.flow = flow_name(wk, d),
			.key = &r->key });
}

/* What to do with a classified packet: the verdict, and the flow and
 * target slot it is counted for. */
static struct frag_decision decision(const struct worker *wk, const struct lb_result *r)
{
	const struct lb_verdict *nt = &wk->conf->no_target, *nf = &wk->conf->no_flow;
	const struct shm_target *targets = wk->table.view.targets;

	if (r->kind == PKT_MALFORMED)
		return (struct frag_decision){ NF_DROP, 0, -1, SHM_NO_SLOT };
	if (wk->conf->flows) {
		if (r->flow < 0)
			return (struct frag_decision){ nf->verdict, nf->mark, -1, SHM_NO_SLOT };
		targets = wk->fl.gen.tab[r->table].view.targets;
	}
	if (r->slot == SHM_NO_SLOT)
		return (struct frag_decision){ nt->verdict, nt->mark, r->flow, SHM_NO_SLOT };
	return (struct frag_decision){ NF_ACCEPT, targets[r->slot].id, r->flow, r->slot };
}

/* Flows: count a decided packet for its flow and in its table.  A held
 * fragment's flow may have moved since its first fragment was decided:
 * then it is counted as far as it still fits. */
static void count_flow(struct worker *wk, uint8_t kind, const struct frag_decision *d)
{
	struct wflows *f = &wk->fl;
	struct shm_worker *w;

	if (d->flow < 0) {
		shm_count(&f->fw->cnt[FLOWSET_C_NO_FLOW], 1);
		return;
	}
	if ((uint32_t)d->flow >= f->fv.n)
		return;
	shm_count(&f->fw->flow[f->fv.slot[d->flow]][FLOWSET_F_PACKETS], 1);
	if (d->slot == SHM_NO_SLOT)
		shm_count(&f->fw->flow[f->fv.slot[d->flow]][FLOWSET_F_NO_TARGET], 1);
	w = f->gen.tab[f->gen.flow_table[d->flow]].w;
	if (!w)
		return;
	shm_count(&w->cnt[kind], 1);
	shm_count(&w->cnt[d->verdict == NF_DROP ? SHM_CNT_DROP : SHM_CNT_ACCEPT], 1);
	if (d->slot == SHM_NO_SLOT)
		shm_count(&w->cnt[SHM_CNT_NO_TARGET], 1);
	else if (d->slot < f->gen.tab[f->gen.flow_table[d->flow]].view.n)
		shm_count(&w->target[d->slot], 1);
}

/* Count a decided packet and batch its verdict. */
static void apply(struct worker *wk, uint32_t id, const struct queue_pkt *p,
		  const struct lb_result *r, uint8_t kind, const struct frag_decision *d,
		  bool traced)
{
	uint64_t *cnt = counters(wk);

	shm_count(&cnt[d->verdict == NF_DROP ? SHM_CNT_DROP : SHM_CNT_ACCEPT], 1);
	if (kind != PKT_MALFORMED && d->slot == SHM_NO_SLOT && (d->flow >= 0 || !wk->conf->flows))
		shm_count(&cnt[SHM_CNT_NO_TARGET], 1);
	if (kind != PKT_MALFORMED && wk->conf->flows)
		count_flow(wk, kind, d);
	else if (d->slot != SHM_NO_SLOT && d->slot < wk->table.view.n)
		shm_count(&wk->table.w->target[d->slot], 1);
	emit(wk, id, p, r, d, traced);
}

/* ---- fragments with state (frag.h): a datagram's later fragments take
 * its first fragment's decision, which hashed its ports ---- */

static uint64_t now_ms(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
	return (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000;
}

/* Held fragments that wait no more: released, or dropped at the timeout. */
static unsigned int frag_drain(struct worker *wk)
{
	static const struct frag_decision drop = { NF_DROP, 0, -1, SHM_NO_SLOT };
	struct frag_out o;
	unsigned int n = 0;

	for (; frag_pop(wk->frag, &o); n++) {
		if (!o.timed_out) {
			apply(wk, o.id, NULL, NULL, PKT_FRAGMENT, &o.d, false);
			continue;
		}
		shm_count(&counters(wk)[SHM_CNT_DROP], 1);
		emit(wk, o.id, NULL, NULL, &drop, false);
	}
	return n;
}

/* The tracker's counts since the last call into the shared counters. */
static void frag_count(struct worker *wk)
{
	struct frag_stats st, *c = &wk->frag_counted;
	uint64_t *cnt = counters(wk);

	frag_stats(wk->frag, &st);
	shm_count(&cnt[SHM_CNT_FRAG_TRACKED], st.tracked - c->tracked);
	shm_count(&cnt[SHM_CNT_FRAG_HELD], st.held - c->held);
	shm_count(&cnt[SHM_CNT_FRAG_RELEASED], st.released - c->released);
	shm_count(&cnt[SHM_CNT_FRAG_TIMEOUT], st.timed_out - c->timed_out);
	shm_count(&cnt[SHM_CNT_FRAG_DROPPED], st.dropped - c->dropped);
	*c = st;
}

/* A fragment: decided with its datagram, held, or dropped for want of room. */
static void frag_one(struct worker *wk, const struct queue_pkt *p,
		     const struct lb_result *r, uint64_t now, bool traced)
{
	static const struct frag_decision drop = { NF_DROP, 0, -1, SHM_NO_SLOT };
	struct frag_decision d = decision(wk, r);

	switch (frag_decide(wk->frag, &r->key, &r->meta, p->id, &d, now)) {
	case FRAG_DECIDED:
		apply(wk, p->id, p, r, r->kind, &d, traced);
		frag_drain(wk);
		return;
	case FRAG_HELD:
		/* Never full: the queue holds as many as the tracker. */
		queue_hold(wk->q, p->id);
		return;
	case FRAG_FULL:
		shm_count(&counters(wk)[SHM_CNT_DROP], 1);
		emit(wk, p->id, p, r, &drop, traced);
		return;
	}
}

/* Between batches: held fragments whose first did not come are dropped. */
static void frag_housekeeping(struct worker *wk, uint64_t now)
{
	frag_expire(wk->frag, now);
	if (frag_drain(wk))
		queue_flush(wk->q);
	frag_count(wk);
}

/* Whether fragments go through the tracker: with flows always (a later
 * fragment has no ports to match), with one table unless its hash leaves
 * the ports out anyway. */
static bool tracking(const struct worker *wk)
{
	enum hash_mode m;

	if (!wk->frag)
		return false;
	if (wk->conf->flows)
		return true;
	m = wk->table.shm->mode;
	return m != HASH_ADDR && m != HASH_SRC;
}

/* Every packet of a decided batch. */
static void decide_all(struct worker *wk, const struct queue_pkt *pkts,
		       const struct lb_result *res, unsigned int n)
{
	/* Unarmed: one load and one branch per batch (shm/trace.h). */
	bool traced = trace_batch_armed(wk->trace), track = tracking(wk);
	uint64_t *cnt = counters(wk), now = 0;
	struct frag_decision d;
	unsigned int i;

	for (i = 0; i < n; i++) {
		shm_count(&cnt[res[i].kind], 1);
		if (track && res[i].kind == PKT_FRAGMENT) {
			now = now ? now : now_ms();
			frag_one(wk, &pkts[i], &res[i], now, traced);
			continue;
		}
		d = decision(wk, &res[i]);
		apply(wk, pkts[i].id, &pkts[i], &res[i], res[i].kind, &d, traced);
	}
}

static void handle_batch(struct worker *wk, const struct queue_pkt *pkts, unsigned int n)
{
	struct lb_result res[QUEUE_BATCH];
	struct wtable *t = &wk->table;

	wtable_refresh(t);
	lb_lookup_batch(&t->view, t->shm->mode, t->shm->seed, pkts, n, res);
	decide_all(wk, pkts, res, n);
}

static void handle_flows(struct worker *wk, const struct queue_pkt *pkts, unsigned int n)
{
	struct lb_result res[QUEUE_BATCH];

	wflows_refresh_set(&wk->fl);
	lb_flows_match(&wk->fl.lf, pkts, n, res);
	wflows_refresh_used(&wk->fl, res, n);
	lb_flows_lookup(&wk->fl.lf, res, n);
	decide_all(wk, pkts, res, n);
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
	if (wk->frag)
		frag_housekeeping(wk, ms);
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
