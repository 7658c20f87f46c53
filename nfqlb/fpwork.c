/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fpwork.c: the fast path's thread (see fpwork.h).
 *
 * It follows the table or flow set with the queue threads' own code
 * (wtable.c, wflows.c), so a deleted, replaced or invalid table is handled
 * as they handle it, and mirrors what it holds whenever that changes.  A
 * change reaches the program within FP_POLL_MS plus the time to write a
 * slot; until then the program marks with the generation before, as a
 * queue thread does until its next batch.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nfqlb/fpwork.h"
#include "nfqlb/log.h"
#include "nfqlb/worker.h"
#include "shm/counters.h"

#define FP_POLL_MS 2		/* how often the thread looks for changes */
#define FP_FOLLOW_MS 500	/* and whether the names still hold their objects */
#define FP_FOLD_MS 1000		/* how often the program's counts are added */
#define FP_LOG_SIZE (256 * 1024)
#define FP_ALIVE_MS 1000	/* a clsact filter marks this long after a renewal, */
#define FP_RENEW_MS 100		/* renewed this often */

/* What a table's counter set already has of the program's counts. */
struct fpfold {
	uint64_t ident;
	uint32_t n;
	bool seen;
	uint64_t *last;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* An object's identity: its device and inode, never 0. */
static uint64_t ident_of(const struct shm *s)
{
	return s ? ((uint64_t)s->dev << 40 ^ (uint64_t)s->ino) | 1ULL << 63 : 0;
}

/* Table i as the queue threads decide with it. */
static void table_at(const struct fpwork *w, unsigned int i, struct fastpath_table *ft)
{
	const struct wtable *t = w->conf->flows ? &w->fl.gen.tab[i] : &w->table;
	const struct lb_table *lt = w->conf->flows ? &w->fl.gen.lt[i] : NULL;

	*ft = (struct fastpath_table){ 0 };
	if (!t->shm || (lt && !lt->lookup))
		return;
	*ft = (struct fastpath_table){
		.lookup = t->view.lookup, .targets = t->view.targets,
		.m = t->view.m, .n = t->view.n, .seed = t->shm->seed, .mode = t->shm->mode,
		.ident = ident_of(t->shm), .generation = t->view.generation,
	};
}

static unsigned int ntables(const struct fpwork *w)
{
	return w->conf->flows ? w->fl.gen.ntab : 1;
}

/* A digest of everything a publish mirrors. */
static uint64_t signature(const struct fpwork *w)
{
	uint64_t h = hash_mix64(w->conf->flows ? w->fl.fv.generation ^
				(uint64_t)(uintptr_t)w->fl.gen.tab : 0);
	struct fastpath_table ft;
	unsigned int i;

	h = hash_mix64(h ^ ntables(w));
	for (i = 0; i < ntables(w); i++) {
		table_at(w, i, &ft);
		h = hash_mix64(h ^ ft.ident);
		h = hash_mix64(h ^ ft.generation ^ (uint64_t)(uintptr_t)ft.lookup);
	}
	return h;
}

/* fastpath_flow_counts()'s callback: a flow's packets into its row. */
static void add_flow(void *arg, uint16_t slot, uint64_t n)
{
	struct fpwork *w = arg;

	if (w->fl.fw && slot < FLOW_MAX)
		shm_count(&w->fl.fw->flow[slot][FLOWSET_F_PACKETS], n);
}

static int publish(struct fpwork *w, char *why)
{
	static const uint32_t zero;
	unsigned int i, n = ntables(w);
	struct fastpath_table *tab = calloc(n + 1, sizeof(*tab));
	struct fastpath_set set;
	int r;

	if (!tab)
		return why_fail(errno, why, "%s", strerror(errno));
	for (i = 0; i < n; i++)
		table_at(w, i, &tab[i]);
	if (w->conf->flows)
		set = (struct fastpath_set){ w->fl.fv.flows, w->fl.fv.n, w->fl.gen.flow_table,
					     tab, n, w->fl.fv.slot };
	else
		set = (struct fastpath_set){ &w->conf->bpf_flow, 1, &zero, tab, 1, NULL };
	/* The publish starts the slot it rewrites from 0: its flows' counts
	 * first. */
	if (w->conf->flows)
		fastpath_flow_counts(w->fp, add_flow, w);
	r = fastpath_publish(w->fp, &set, why);
	free(tab);
	w->publishes += r == 0;
	return r;
}

/* Publish when something changed; a failure is logged once and tried
 * again at the next change or second. */
static void mirror(struct fpwork *w, bool retry)
{
	char why[WHY_MAX] = "";
	uint64_t sig = signature(w);

	if (sig == w->sig && !(w->failed && retry))
		return;
	w->sig = sig;
	if (publish(w, why) == 0) {
		if (w->failed)
			lb_log("fastpath: marking again");
		w->failed = false;
		return;
	}
	if (!w->failed)
		lb_log("fastpath: %s; every packet goes to the queue path until this is "
		       "mended", why);
	w->failed = true;
}

static struct fpfold *fold_of(struct fpwork *w, uint64_t ident, uint32_t n)
{
	struct fpfold *f;
	unsigned int i;

	for (i = 0; i < w->nfold; i++)
		if (w->fold[i].ident == ident && w->fold[i].n == n)
			return &w->fold[i];
	f = realloc(w->fold, (w->nfold + 1) * sizeof(*f));
	if (!f)
		return NULL;
	w->fold = f;
	f = &f[w->nfold];
	*f = (struct fpfold){ ident, n, false, calloc(n + 1, sizeof(uint64_t)) };
	if (!f->last)
		return NULL;
	w->nfold++;
	return f;
}

/* Add what the program marked for table t since the last time to its
 * counter set; returns how many packets that was. */
static uint64_t fold_table(struct fpwork *w, struct wtable *t, uint64_t *cur)
{
	uint64_t ident = ident_of(t->shm), d, sum = 0;
	uint32_t s, n = t->view.n;
	struct fpfold *f;

	if (!t->shm || !t->w || fastpath_target_counts(w->fp, ident, cur, n) < 0)
		return 0;
	if (!(f = fold_of(w, ident, n)))
		return 0;
	f->seen = true;
	for (s = 0; s < n; s++) {
		/* Counters start again from 0 when the table's range moved. */
		d = cur[s] >= f->last[s] ? cur[s] - f->last[s] : cur[s];
		f->last[s] = cur[s];
		if (d)
			shm_count(&t->w->target[s], d);
		sum += d;
	}
	shm_count(&t->w->cnt[SHM_CNT_L4], sum);
	shm_count(&t->w->cnt[SHM_CNT_ACCEPT], sum);
	return sum;
}

static void fold(struct fpwork *w)
{
	uint64_t sum = 0;
	unsigned int i, k;

	if (!w->cur && !(w->cur = malloc((SHM_N_MAX + 1) * sizeof(*w->cur))))
		return;
	for (i = 0; i < w->nfold; i++)
		w->fold[i].seen = false;
	for (i = 0; i < ntables(w); i++)
		sum += fold_table(w, w->conf->flows ? &w->fl.gen.tab[i] : &w->table, w->cur);
	if (w->conf->flows)
		fastpath_flow_counts(w->fp, add_flow, w);
	if (w->conf->flows && w->fl.fw && sum) {
		shm_count(&w->fl.fw->cnt[FLOWSET_C_KINDS + SHM_CNT_L4], sum);
		shm_count(&w->fl.fw->cnt[FLOWSET_C_KINDS + SHM_CNT_ACCEPT], sum);
	}
	w->marked += sum;
	for (i = k = 0; i < w->nfold; i++) {
		if (w->fold[i].seen)
			w->fold[k++] = w->fold[i];
		else
			free(w->fold[i].last);
	}
	w->nfold = k;
}

static void housekeeping(struct fpwork *w, bool follow)
{
	if (w->conf->flows) {
		wflows_refresh_set(&w->fl);
		wflows_housekeeping(&w->fl, follow);
	} else {
		wtable_refresh(&w->table);
		if (follow)
			wtable_follow(&w->table, false);
	}
}

/* Whether the next housekeeping may let go of a table the program marks
 * with: a new generation of the flow set may drop tables, and a look at the
 * names may replace objects. */
static bool change_due(const struct fpwork *w, bool follow)
{
	uint64_t g;

	if (follow)
		return true;
	if (!w->conf->flows || !w->fl.fs)
		return false;
	g = flowset_generation(w->fl.fs);
	return g != w->fl.fv.generation && g != w->fl.bad_gen;
}

static void *fp_main(void *arg)
{
	struct timespec poll = { 0, FP_POLL_MS * 1000000L };
	uint64_t ms, next_follow = 0, next_fold = 0, next_renew = 0;
	struct fpwork *w = arg;
	bool second, follow;

	while (!__atomic_load_n(&worker_stopping, __ATOMIC_RELAXED)) {
		nanosleep(&poll, NULL);
		ms = now_ms();
		follow = ms >= next_follow;
		/* A table the housekeeping lets go takes its counter set with
		 * it: add what the program marked for it first.  What it marks
		 * from here to the flip (the few milliseconds of the publish)
		 * is not counted. */
		if (change_due(w, follow))
			fold(w);
		housekeeping(w, follow);
		if (follow)
			next_follow = ms + FP_FOLLOW_MS;
		if (ms >= next_renew) {
			next_renew = ms + FP_RENEW_MS;
			fastpath_keepalive(w->fp, FP_ALIVE_MS);
		}
		second = ms >= next_fold;
		mirror(w, second);
		if (second) {
			next_fold = ms + FP_FOLD_MS;
			fold(w);
		}
	}
	fold(w);
	return NULL;
}

static int open_state(const struct cmd *cmd, struct fpwork *w, const struct lb_conf *c)
{
	char why[WHY_MAX] = "";

	if (c->flows) {
		w->fl.name = c->flows;
		w->fl.queue = SHM_QUEUE_FASTPATH;
		w->fl.no_target = c->no_target.text;
		if (wflows_open(&w->fl, why) == 0)
			return NFQLB_OK;
		return cmd_error(cmd, "fastpath: flow set \"%s\": %s", c->flows, why);
	}
	snprintf(w->table.name, sizeof(w->table.name), "%s", c->name);
	w->table.queue = SHM_QUEUE_FASTPATH;
	w->table.no_target = c->no_target.text;
	if (wtable_open(&w->table, why) == 0)
		return NFQLB_OK;
	return cmd_error(cmd, "fastpath: table \"%s\": %s", c->name, why);
}

static int load(const struct cmd *cmd, struct fpwork *w)
{
	char why[WHY_MAX] = "", *log = malloc(FP_LOG_SIZE);

	w->fp = fastpath_load(log, log ? FP_LOG_SIZE : 0, why);
	if (!w->fp) {
		cmd_error(cmd, "--bpf: %s", why);
		if (log && *log)
			fprintf(stderr, "%s%s", log, log[strlen(log) - 1] == '\n' ? "" : "\n");
	}
	free(log);
	return w->fp ? NFQLB_OK : NFQLB_FAIL;
}

int fpwork_start(const struct cmd *cmd, struct fpwork *w, const struct lb_conf *c)
{
	char why[WHY_MAX] = "";
	unsigned int i;
	bool tcx;
	int r;

	w->conf = c;
	/* A name that names nothing fails before the slow part, the load. */
	for (i = 0; i < c->nbpf; i++)
		if (!if_nametoindex(c->bpf_if[i]))
			return cmd_error(cmd, "--bpf: %s: no interface \"%s\" here", c->bpf_if[i],
					 c->bpf_if[i]);
	if ((r = load(cmd, w)) || (r = open_state(cmd, w, c)))
		return r;
	if (getenv("NFQLB_BPF_CLSACT") && *getenv("NFQLB_BPF_CLSACT"))
		fastpath_prefer_clsact(w->fp);
	housekeeping(w, false);
	w->sig = signature(w);
	if (publish(w, why) < 0)
		return cmd_error(cmd, "--bpf: %s", why);
	for (i = 0; i < c->nbpf; i++) {
		if (fastpath_attach(w->fp, c->bpf_if[i], &tcx, why) < 0)
			return cmd_error(cmd, "--bpf: %s: %s", c->bpf_if[i], why);
		lb_log("fastpath: marking at tc ingress of %s (%s)", c->bpf_if[i],
		       tcx ? "tcx" : "clsact");
	}
	if ((errno = pthread_create(&w->thread, NULL, fp_main, w)))
		return cmd_error(cmd, "fastpath: thread: %s", strerror(errno));
	w->started = true;
	return NFQLB_OK;
}

void fpwork_stop(struct fpwork *w)
{
	uint64_t c[FP_C_MAX];
	unsigned int i;

	if (w->started) {
		__atomic_store_n(&worker_stopping, 1, __ATOMIC_RELAXED);
		pthread_join(w->thread, NULL);
	}
	if (w->fp && fastpath_counts(w->fp, c) == 0 && w->started)
		lb_log("fastpath: %llu packets marked; passed to the queue: %llu no flow, "
		       "%llu no target, %llu fragments, %llu ICMP, %llu other, %llu malformed, "
		       "%llu SCTP over UDP, %llu during a change; %llu publishes",
		       (unsigned long long)c[FP_C_MARKED], (unsigned long long)c[FP_C_NO_FLOW],
		       (unsigned long long)c[FP_C_NO_TARGET], (unsigned long long)c[FP_C_FRAGMENT],
		       (unsigned long long)c[FP_C_ICMP], (unsigned long long)c[FP_C_L3],
		       (unsigned long long)c[FP_C_MALFORMED], (unsigned long long)c[FP_C_ENCAP],
		       (unsigned long long)(c[FP_C_BUSY] + c[FP_C_OFF]),
		       (unsigned long long)w->publishes);
	fastpath_close(w->fp);
	w->fp = NULL;
	wtable_detach(&w->table);
	wflows_close(&w->fl);
	for (i = 0; i < w->nfold; i++)
		free(w->fold[i].last);
	free(w->fold);
	w->fold = NULL;
	free(w->cur);
	w->cur = NULL;
	w->nfold = 0;
}
