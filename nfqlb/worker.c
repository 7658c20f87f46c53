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
#include "nfqlb/verify.h"
#include "nfqlb/worker.h"

int worker_stopping;	/* atomic */
int worker_failed;	/* atomic */
bool worker_debug_verify;

/* Batch a packet's verdict; while a trace is armed, also write it there.
 * traced is a constant in each of handle_batch()'s loops. */
static inline __attribute__((always_inline)) void
verdict(struct worker *wk, const struct queue_pkt *p, const struct lb_result *r,
	uint32_t v, uint32_t mark, bool traced)
{
	queue_verdict(wk->q, p->id, v, mark);
	if (traced)
		tracerec_put(wk->trace, p, &(struct tracerec){
			.queue = wk->queue, .kind = r->kind, .verdict = v, .mark = mark,
			.target = r->slot == SHM_NO_SLOT ? 0 : wk->view.targets[r->slot].id });
}

/* Count one packet and batch its verdict. */
static inline __attribute__((always_inline)) void
decide(struct worker *wk, const struct queue_pkt *p, const struct lb_result *r,
       bool traced)
{
	struct shm_worker *w = wk->w;

	shm_count(&w->cnt[r->kind], 1);
	if (r->kind == PKT_MALFORMED) {
		shm_count(&w->cnt[SHM_CNT_DROP], 1);
		verdict(wk, p, r, NF_DROP, 0, traced);
		return;
	}
	if (r->slot == SHM_NO_SLOT) {
		shm_count(&w->cnt[SHM_CNT_NO_TARGET], 1);
		shm_count(&w->cnt[wk->conf->no_target == NF_DROP ?
				  SHM_CNT_DROP : SHM_CNT_ACCEPT], 1);
		verdict(wk, p, r, wk->conf->no_target, 0, traced);
		return;
	}
	shm_count(&w->target[r->slot], 1);
	shm_count(&w->cnt[SHM_CNT_ACCEPT], 1);
	verdict(wk, p, r, NF_ACCEPT, wk->view.targets[r->slot].id, traced);
}

/* ---- fragments with state (frag.h), in hash mode 5tuple only: in the
 * other modes a datagram's fragments hash alike without it ---- */

static uint64_t now_ms(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
	return (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000;
}

/* Count and batch the verdict of a fragment decided through the tracker. */
static void frag_apply(struct worker *wk, uint32_t id, const struct frag_decision *d)
{
	struct shm_worker *w = wk->w;

	/* The slot of an earlier table may be out of this one's range. */
	if (d->slot != SHM_NO_SLOT && d->slot < wk->view.n)
		shm_count(&w->target[d->slot], 1);
	else if (d->slot == SHM_NO_SLOT)
		shm_count(&w->cnt[SHM_CNT_NO_TARGET], 1);
	shm_count(&w->cnt[d->verdict == NF_DROP ? SHM_CNT_DROP : SHM_CNT_ACCEPT], 1);
	queue_verdict(wk->q, id, d->verdict, d->mark);
}

/* Held fragments that wait no more: released, or dropped at the timeout. */
static unsigned int frag_drain(struct worker *wk)
{
	struct frag_out o;
	unsigned int n = 0;

	for (; frag_pop(wk->frag, &o); n++) {
		if (!o.timed_out) {
			frag_apply(wk, o.id, &o.d);
			continue;
		}
		shm_count(&wk->w->cnt[SHM_CNT_DROP], 1);
		queue_verdict(wk->q, o.id, NF_DROP, 0);
	}
	return n;
}

/* The tracker's counts since the last call into the shared counters. */
static void frag_count(struct worker *wk)
{
	struct frag_stats st, *c = &wk->frag_counted;
	uint64_t *cnt = wk->w->cnt;

	frag_stats(wk->frag, &st);
	shm_count(&cnt[SHM_CNT_FRAG_TRACKED], st.tracked - c->tracked);
	shm_count(&cnt[SHM_CNT_FRAG_HELD], st.held - c->held);
	shm_count(&cnt[SHM_CNT_FRAG_RELEASED], st.released - c->released);
	shm_count(&cnt[SHM_CNT_FRAG_TIMEOUT], st.timed_out - c->timed_out);
	shm_count(&cnt[SHM_CNT_FRAG_DROPPED], st.dropped - c->dropped);
	*c = st;
}

/* A fragment: decided with its datagram, held, or dropped for want of room. */
static void frag_decide_one(struct worker *wk, const struct queue_pkt *p,
			    const struct lb_result *r, uint64_t now)
{
	struct frag_decision d = { wk->conf->no_target, 0, -1, r->slot };
	struct pkt_meta meta;
	struct pkt_key key;

	shm_count(&wk->w->cnt[r->kind], 1);
	if (r->slot != SHM_NO_SLOT)
		d = (struct frag_decision){ NF_ACCEPT, wk->view.targets[r->slot].id, -1, r->slot };
	pkt_classify_meta(p->data, p->len, &key, &meta);
	switch (frag_decide(wk->frag, &key, &meta, p->id, &d, now)) {
	case FRAG_DECIDED:
		frag_apply(wk, p->id, &d);
		frag_drain(wk);
		return;
	case FRAG_HELD:
		/* Never full: the queue holds as many as the tracker. */
		queue_hold(wk->q, p->id);
		return;
	case FRAG_FULL:
		shm_count(&wk->w->cnt[SHM_CNT_DROP], 1);
		queue_verdict(wk->q, p->id, NF_DROP, 0);
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

static void handle_batch(struct worker *wk, const struct queue_pkt *pkts, unsigned int n)
{
	struct lb_result res[QUEUE_BATCH];
	bool track = wk->frag && wk->shm->mode == HASH_5TUPLE, armed;
	uint64_t now = 0;
	unsigned int i;

	lb_lookup_batch(&wk->view, wk->shm->mode, wk->shm->seed, pkts, n, res);
	/* Unarmed: one load and one branch per batch (shm/trace.h). */
	armed = trace_batch_armed(wk->trace);
	for (i = 0; i < n; i++) {
		if (track && res[i].kind == PKT_FRAGMENT) {
			now = now ? now : now_ms();
			frag_decide_one(wk, &pkts[i], &res[i], now);
		} else
			decide(wk, &pkts[i], &res[i], armed);
	}
}

/* NFQLB_DEBUG_VERIFY: an adopted table that is not its own Maglev build is
 * a bug in the shared-memory protocol; stop hard, so no test can miss it. */
static void verify_adopted(struct worker *wk)
{
	char why[WHY_MAX] = "";
	int r = verify_view(&wk->view, wk->shm->seed, why);

	if (r == 0) {
		wk->verified++;
		return;
	}
	lb_log("queue %u: debug verify: %s", wk->queue, r < 0 ? strerror(errno) : why);
	if (r > 0)
		abort();
}

/* One line per table generation adopted; a loud one for an empty table. */
static void log_adopted(const struct worker *wk)
{
	unsigned long long g = (unsigned long long)wk->view.generation;
	uint32_t i, active = 0;

	for (i = 0; i < wk->view.n; i++)
		active += wk->view.targets[i].active;
	lb_log("queue %u: table \"%s\" generation %llu: %u active target%s",
	       wk->queue, wk->conf->name, g, active, active == 1 ? "" : "s");
	if (!active)
		lb_log("queue %u: WARNING: table \"%s\" generation %llu has no active target: "
		       "every packet gets the no-target verdict (%s)", wk->queue,
		       wk->conf->name, g, wk->conf->no_target == NF_DROP ? "drop" : "accept");
}

/* Between batches: adopt a newly published generation of the same object,
 * if it is valid.  Called before a batch is decided, so that a packet that
 * arrives after a change is decided with it even when the worker was
 * waiting, and after a batch's verdicts are sent (and after a receive
 * timeout), so that under load the next batch does not wait for the copy.
 * The spare view has the object's size and its own scratch space:
 * nothing is allocated. */
static void refresh(struct worker *wk)
{
	uint64_t g = shm_generation(wk->shm);
	char why[WHY_MAX];
	struct shm_view t;

	/* A lost handle (the object was truncated) reads zeros: housekeeping
	 * reports it once and reattaches. */
	if (g == wk->view.generation || g == wk->bad_gen || shm_lost(wk->shm))
		return;
	if (shm_read(wk->shm, &wk->spare, why) < 0) {
		if (errno == EAGAIN || errno == EIO)
			return;
		wk->bad_gen = g;
		lb_log("queue %u: table generation %llu is invalid (%s); keeping generation %llu",
		       wk->queue, (unsigned long long)g, why,
		       (unsigned long long)wk->view.generation);
		return;
	}
	t = wk->view;
	wk->view = wk->spare;
	wk->spare = t;
	if (worker_debug_verify)
		verify_adopted(wk);
	log_adopted(wk);
}

static void read_proc(struct worker *wk)
{
	struct procq_row row;

	if (procq_find(wk->queue, &row) < 0)
		return;
	__atomic_store_n(&wk->w->q_total, row.waiting, __ATOMIC_RELAXED);
	__atomic_store_n(&wk->w->q_dropped, row.dropped, __ATOMIC_RELAXED);
	__atomic_store_n(&wk->w->u_dropped, row.udropped, __ATOMIC_RELAXED);
}

int worker_attach(struct worker *wk, struct shm *s, char *why)
{
	struct shm_worker *w = shm_worker_claim(s, getpid(), wk->queue);
	struct shm_view v = { 0 }, spare = { 0 };

	if (!w && errno == EBUSY)
		snprintf(why, WHY_MAX, "all %u counter sets are in use", SHM_WORKERS);
	else if (!w)
		snprintf(why, WHY_MAX, "counter set: %s", strerror(errno));
	if (!w)
		return -1;
	if (shm_view_init(&v, s->m, s->n) < 0 || shm_view_init(&spare, s->m, s->n) < 0) {
		snprintf(why, WHY_MAX, "%s", strerror(errno));
		goto fail;
	}
	if (shm_read(s, &v, why) < 0)
		goto fail;
	wk->shm = s;
	wk->w = w;
	wk->view = v;
	wk->spare = spare;
	return 0;
fail:
	shm_view_free(&v);
	shm_view_free(&spare);
	shm_worker_release(s, w);
	return -1;
}

void worker_detach(struct worker *wk)
{
	if (wk->w)
		shm_worker_release(wk->shm, wk->w);
	shm_view_free(&wk->view);
	shm_view_free(&wk->spare);
	shm_detach(wk->shm);
	wk->w = NULL;
	wk->shm = NULL;
}

/* Log a change in what the name holds, once per change. */
static void log_follow(struct worker *wk, enum worker_follow f, const char *why)
{
	const char *name = wk->conf->name;

	if (f == wk->follow)
		return;
	wk->follow = f;
	if (f == FOLLOW_GONE)
		lb_log("queue %u: table \"%s\" was deleted; keeping the last table", wk->queue, name);
	else if (f == FOLLOW_DAMAGED)
		lb_log("queue %u: table \"%s\" was damaged in place (%s); keeping the last table",
		       wk->queue, name, why);
	else if (f == FOLLOW_UNUSABLE)
		lb_log("queue %u: table \"%s\" was replaced by an unusable object (%s); keeping the last table",
		       wk->queue, name, why);
}

/* The name holds another object now (or this one was damaged): open and
 * validate what it holds, with views and a counter set of its own, and
 * only then drop the old object.  Runs between batches, never per packet. */
static void reattach(struct worker *wk, enum worker_follow fail)
{
	char why[WHY_MAX] = "";
	struct worker next = *wk;
	struct shm *s = shm_attach(wk->conf->name, true, why);
	int err;

	if (s && worker_attach(&next, s, why) == 0) {
		worker_detach(wk);
		*wk = next;
		wk->bad_gen = 0;
		wk->follow = FOLLOW_SAME;
		lb_log("queue %u: table \"%s\" was replaced; using the new object",
		       wk->queue, wk->conf->name);
		log_adopted(wk);
		return;
	}
	err = errno;
	shm_detach(s);
	log_follow(wk, err == ENOENT ? FOLLOW_GONE : fail, why);
}

/* Every FOLLOW_MS: does the name still hold the object in use, intact? */
static void follow_name(struct worker *wk)
{
	char why[WHY_MAX] = "";
	int same = shm_same_object(wk->shm, why);

	if (same == 1 && shm_check_size(wk->shm, why) == 0) {
		wk->follow = FOLLOW_SAME;
		return;
	}
	if (same == 1)
		reattach(wk, FOLLOW_DAMAGED);
	else if (same == 0)
		reattach(wk, FOLLOW_UNUSABLE);
	else if (errno == ENOENT)
		log_follow(wk, FOLLOW_GONE, why);
	else
		log_follow(wk, FOLLOW_UNUSABLE, why);
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
	uint64_t ms;

	refresh(wk);
	clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
	ms = (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000;
	if (wk->frag)
		frag_housekeeping(wk, ms);
	if (ms >= wk->next_follow) {
		wk->next_follow = ms + FOLLOW_MS;
		follow_name(wk);
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
		if (n > 0) {
			refresh(wk);
			handle_batch(wk, pkts, (unsigned int)n);
		}
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
	if (worker_debug_verify)
		lb_log("queue %u: debug verify: %llu tables checked, each equal to its own build",
		       wk->queue, (unsigned long long)wk->verified);
	return NULL;
}
