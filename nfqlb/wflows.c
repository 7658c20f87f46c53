/* SPDX-License-Identifier: GPL-2.0-or-later */
/* wflows.c: a flow set as one queue thread holds and follows it (see
 * wflows.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nfqlb/log.h"
#include "nfqlb/wflows.h"

static void gen_free(struct wflows_gen *b)
{
	unsigned int i;

	for (i = 0; i < b->ntab; i++)
		wtable_detach(&b->tab[i]);
	free(b->tab);
	free(b->lt);
	free(b->flow_table);
	free(b->seen);
	flow_match_free(b->match);
	*b = (struct wflows_gen){ 0 };
}

/* The tables of the flows, each name once, none opened yet. */
static int gen_tables(struct wflows_gen *b, const struct flowset_view *v,
			 const struct wflows *f)
{
	size_t k = v->n ? v->n : 1;
	uint32_t i, j;

	b->tab = calloc(k, sizeof(*b->tab));
	b->lt = calloc(k, sizeof(*b->lt));
	b->flow_table = calloc(k, sizeof(*b->flow_table));
	b->seen = calloc(k, sizeof(*b->seen));
	if (!b->tab || !b->lt || !b->flow_table || !b->seen)
		return -1;
	for (i = 0; i < v->n; i++) {
		for (j = 0; j < b->ntab && strcmp(b->tab[j].name, v->flows[i].table); j++)
			;
		if (j == b->ntab) {
			snprintf(b->tab[j].name, sizeof(b->tab[j].name), "%s", v->flows[i].table);
			b->tab[j].queue = f->queue;
			b->tab[j].no_target = f->no_target;
			b->ntab++;
		}
		b->flow_table[i] = j;
	}
	return 0;
}

static int gen_make(struct wflows_gen *b, const struct flowset_view *v,
		       const struct wflows *f, char *why)
{
	*b = (struct wflows_gen){ 0 };
	b->match = flow_match_build(v->flows, v->n, why);
	if (!b->match)
		return -1;
	if (gen_tables(b, v, f) == 0)
		return 0;
	snprintf(why, WHY_MAX, "%s", strerror(errno));
	gen_free(b);
	return -1;
}

static void sync_lt(struct wflows *f, unsigned int j)
{
	const struct wtable *t = &f->gen.tab[j];

	if (!t->shm) {
		f->gen.lt[j] = (struct lb_table){ NULL, 1, 0, HASH_5TUPLE };
		return;
	}
	f->gen.lt[j] = (struct lb_table){ t->view.lookup, t->shm->m, t->shm->seed, t->shm->mode };
}

/* Tables the old generation had open move over as they are (handle,
 * counter set, views); the others are opened now. */
static void gen_open(struct wflows_gen *b, struct wflows *f)
{
	unsigned int i, j;

	for (j = 0; j < b->ntab; j++) {
		for (i = 0; i < f->gen.ntab && strcmp(f->gen.tab[i].name, b->tab[j].name); i++)
			;
		if (i < f->gen.ntab && f->gen.tab[i].shm) {
			b->tab[j] = f->gen.tab[i];
			f->gen.tab[i].shm = NULL;
			f->gen.tab[i].w = NULL;
			continue;
		}
		b->tab[j].follow = FOLLOW_SAME;
		wtable_follow(&b->tab[j], true);
	}
}

/* Swap the built generation in; the old one is freed. */
static void gen_adopt(struct wflows_gen *b, struct wflows *f)
{
	struct wflows_gen old = f->gen;
	unsigned int j;

	gen_open(b, f);
	gen_free(&old);
	f->gen = *b;
	f->batch = 0;
	for (j = 0; j < f->gen.ntab; j++)
		sync_lt(f, j);
	f->lf = (struct lb_flows){ f->gen.match, f->gen.flow_table, f->gen.lt };
	*b = (struct wflows_gen){ 0 };
}

static void log_generation(const struct wflows *f)
{
	lb_log("%s: flow set \"%s\" generation %llu: %u flow%s, %u table%s",
	       wtable_who(f->queue), f->name, (unsigned long long)f->fv.generation, f->fv.n,
	       f->fv.n == 1 ? "" : "s", f->gen.ntab, f->gen.ntab == 1 ? "" : "s");
	if (!f->fv.n)
		lb_log("%s: WARNING: flow set \"%s\" has no flow: every packet gets "
		       "the no-flow verdict", wtable_who(f->queue), f->name);
}

/* Read and build the published generation into next (a view of its own). */
static int load(struct wflows *f, struct flowset_view *next, struct wflows_gen *b, char *why)
{
	if (flowset_read(f->fs, next, why) < 0)
		return -1;
	return gen_make(b, next, f, why);
}

int wflows_open(struct wflows *f, char *why)
{
	struct wflows_gen b;

	f->fs = flowset_attach(f->name, true, true, why);
	if (!f->fs)
		return -1;
	f->fw = flowset_worker_claim(f->fs, getpid(), f->queue);
	if (!f->fw) {
		snprintf(why, WHY_MAX, errno == EBUSY ? "all counter sets are in use" :
			 "counter set: %s", strerror(errno));
		return -1;
	}
	if (flowset_view_init(&f->fv) < 0) {
		snprintf(why, WHY_MAX, "%s", strerror(errno));
		return -1;
	}
	if (load(f, &f->fv, &b, why) < 0)
		return -1;
	gen_adopt(&b, f);
	return 0;
}

void wflows_close(struct wflows *f)
{
	gen_free(&f->gen);
	flowset_view_free(&f->fv);
	if (f->fs && f->fw)
		flowset_worker_release(f->fs, f->fw);
	flowset_detach(f->fs);
	f->fs = NULL;
	f->fw = NULL;
}

void wflows_refresh_set(struct wflows *f)
{
	uint64_t g = flowset_generation(f->fs);
	struct flowset_view next;
	char why[WHY_MAX] = "";
	struct wflows_gen b;

	if (g == f->fv.generation || g == f->bad_gen)
		return;
	if (flowset_view_init(&next) < 0)
		return;
	if (load(f, &next, &b, why) < 0) {
		if (errno != EAGAIN && errno != EIO) {
			f->bad_gen = g;
			lb_log("%s: flow set \"%s\" generation %llu is unusable (%s); "
			       "keeping generation %llu", wtable_who(f->queue), f->name,
			       (unsigned long long)g, why,
			       (unsigned long long)f->fv.generation);
		}
		flowset_view_free(&next);
		return;
	}
	gen_adopt(&b, f);
	flowset_view_free(&f->fv);
	f->fv = next;
	log_generation(f);
}

void wflows_refresh_used(struct wflows *f, const struct lb_result *res, unsigned int n)
{
	unsigned int i, j;

	f->batch++;
	for (i = 0; i < n; i++) {
		if (res[i].flow < 0)
			continue;
		j = res[i].table;
		if (f->gen.seen[j] == f->batch)
			continue;
		f->gen.seen[j] = f->batch;
		wtable_refresh(&f->gen.tab[j]);
		sync_lt(f, j);
	}
}

/* Does the name still hold the flow set in use?  A new object under it is
 * opened whole before the old one goes. */
static void follow_set(struct wflows *f)
{
	char why[WHY_MAX] = "";
	struct wflows next = { .name = f->name, .queue = f->queue, .no_target = f->no_target };
	int same = flowset_same_object(f->fs, why);
	enum wtable_follow now = same < 0 && errno == ENOENT ? FOLLOW_GONE : FOLLOW_UNUSABLE;

	if (same == 1) {
		f->follow = FOLLOW_SAME;
		return;
	}
	if (same == 0 && wflows_open(&next, why) == 0) {
		wflows_close(f);
		*f = next;
		lb_log("%s: flow set \"%s\" was replaced; using the new object",
		       wtable_who(f->queue), f->name);
		log_generation(f);
		return;
	}
	wflows_close(&next);
	if (f->follow == now)
		return;
	f->follow = now;
	lb_log("%s: flow set \"%s\" %s (%s); keeping the flows in use", wtable_who(f->queue),
	       f->name, f->follow == FOLLOW_GONE ? "was deleted" : "is unusable", why);
}

void wflows_housekeeping(struct wflows *f, bool follow)
{
	unsigned int j;

	if (follow)
		follow_set(f);
	wflows_refresh_set(f);
	for (j = 0; j < f->gen.ntab; j++) {
		wtable_refresh(&f->gen.tab[j]);
		if (follow)
			wtable_follow(&f->gen.tab[j], true);
		sync_lt(f, j);
	}
}

void wflows_log_start(const struct wflows *f)
{
	uint32_t i;

	log_generation(f);
	for (i = 0; i < f->fv.n; i++)
		lb_log("flow \"%s\": prio %d, table \"%s\"", f->fv.flows[i].name,
		       f->fv.flows[i].prio, f->fv.flows[i].table);
}
