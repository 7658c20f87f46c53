/* SPDX-License-Identifier: GPL-2.0-or-later */
/* healthtab.c: the health checker's tables and transitions (see healthtab.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nfqlb/healthtab.h"
#include "nfqlb/log.h"

void healthtab_log(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline("health", fmt, ap);
	va_end(ap);
}

void healthtab_describe(const struct health_check *c, char *buf, size_t size)
{
	const char *kind = healthconf_kind_name(c->kind);

	if (c->kind == HEALTH_HTTP)
		snprintf(buf, size, "http http://%s%s", c->host, c->text);
	else if (c->kind == HEALTH_EXEC)
		snprintf(buf, size, "exec \"%.40s%s\"", c->text,
			 c->textlen > 40 ? "..." : "");
	else
		snprintf(buf, size, "%s %s", kind, c->host);
}

/* The slot of id in v, or NULL. */
static const struct shm_target *slot_of(const struct shm_view *v, uint32_t id)
{
	uint32_t i;

	for (i = 0; i < v->n; i++)
		if (v->targets[i].id == id)
			return &v->targets[i];
	return NULL;
}

static bool is_active(const struct shm_view *v, uint32_t id)
{
	const struct shm_target *t = slot_of(v, id);

	return t && t->active;
}

static uint32_t count_active(const struct shm_view *v)
{
	uint32_t i, k = 0;

	for (i = 0; i < v->n; i++)
		k += v->targets[i].active != 0;
	return k;
}

/* Attach tb (again), with a view of its size. */
static int attach(struct htable *tb, char *why)
{
	shm_detach(tb->s);
	shm_view_free(&tb->v);
	tb->s = shm_attach(tb->name, true, why);
	if (!tb->s)
		return -1;
	if (shm_view_init(&tb->v, tb->s->m, tb->s->n) == 0)
		return 0;
	shm_detach(tb->s);
	tb->s = NULL;
	return why_fail(ENOMEM, why, "%s", strerror(ENOMEM));
}

/* Read tb's table into tb->v, following a replaced or damaged object:
 * by identity (rm + init marks nothing in the old object). */
static int refresh(struct htable *tb, char *why)
{
	int tries;

	if (!tb->s || shm_same_object(tb->s, why) != 1 || shm_lost(tb->s) ||
	    shm_check_size(tb->s, why) < 0)
		if (attach(tb, why) < 0)
			return -1;
	for (tries = 0; tries < 3; tries++) {
		if (shm_read(tb->s, &tb->v, why) == 0)
			return 0;
		if (errno != EAGAIN)
			return -1;
	}
	return -1;
}

static struct htable *find_table(struct hset *h, const char *name)
{
	size_t i;

	for (i = 0; i < h->ntables; i++)
		if (strcmp(h->tables[i].name, name) == 0)
			return &h->tables[i];
	return NULL;
}

static int open_tables(struct hset *h, const struct healthconf *conf, char *why)
{
	char reason[WHY_MAX];
	struct htable *tb;
	size_t i;

	for (i = 0; i < conf->n; i++) {
		if (find_table(h, conf->checks[i].table))
			continue;
		tb = &h->tables[h->ntables++];
		snprintf(tb->name, sizeof(tb->name), "%s", conf->checks[i].table);
		if (refresh(tb, reason) == 0)
			continue;
		if (errno == ENOENT)
			return why_fail(ENOENT, why, "table \"%s\" does not exist (create it "
					"with 'nfqlb init')", tb->name);
		if (errno == EACCES)
			return why_fail(EACCES, why, "table \"%s\": permission denied",
					tb->name);
		return why_fail(errno, why, "table \"%s\": %s", tb->name, reason);
	}
	return 0;
}

static void start_target(struct htarget *t, const struct health_check *c,
			 struct htable *tb)
{
	const struct shm_target *s = slot_of(&tb->v, c->id);

	t->c = c;
	t->tb = tb;
	t->st.up = s && s->active;
	t->weight = s && s->weight ? s->weight : 1;
	probe_init(&t->p);
}

int healthtab_open(struct hset *h, const struct healthconf *conf, bool keep_last,
		   char *why)
{
	size_t i;

	memset(h, 0, sizeof(*h));
	h->keep_last = keep_last;
	h->tables = calloc(conf->n, sizeof(*h->tables));
	h->targets = calloc(conf->n, sizeof(*h->targets));
	if (!h->tables || !h->targets)
		return why_fail(ENOMEM, why, "%s", strerror(ENOMEM));
	if (open_tables(h, conf, why) < 0)
		return -1;
	for (i = 0; i < conf->n; i++)
		start_target(&h->targets[i], &conf->checks[i],
			     find_table(h, conf->checks[i].table));
	h->ntargets = conf->n;
	return 0;
}

void healthtab_close(struct hset *h)
{
	size_t i;

	for (i = 0; h->tables && i < h->ntables; i++) {
		shm_detach(h->tables[i].s);
		shm_view_free(&h->tables[i].v);
	}
	free(h->tables);
	free(h->targets);
	memset(h, 0, sizeof(*h));
}

void healthtab_result(struct htarget *t, bool ok)
{
	if (!ok)
		snprintf(t->why, sizeof(t->why), "%s", t->p.why[0] ? t->p.why : "failed");
	if (health_step(&t->st, ok, t->c->rise, t->c->fall))
		t->pending = true;
	if (t->pending || t->held)
		t->tb->dirty = true;
}

/* One line about t: "table T id X (CHECK): STATE: OUTCOME". */
static void log_target(const struct htarget *t, const char *outcome)
{
	char d[96], state[WHY_MAX + 64];

	healthtab_describe(t->c, d, sizeof(d));
	if (t->st.up)
		snprintf(state, sizeof(state), "up after %u success%s", t->c->rise,
			 t->c->rise == 1 ? "" : "es");
	else if (t->held && !t->pending)
		snprintf(state, sizeof(state), "still down (%s)", t->why);
	else
		snprintf(state, sizeof(state), "down after %u failure%s (%s)", t->c->fall,
			 t->c->fall == 1 ? "" : "s", t->why);
	healthtab_log("table %s id %u (%s): %s: %s", t->tb->name, t->c->id, d, state,
		      outcome);
}

static void write_failed(struct htarget *t, const char *what, const char *why)
{
	char msg[WHY_MAX + 64];

	if (t->fail_logged)
		return;
	snprintf(msg, sizeof(msg), "%s failed: %s; trying again", what, why);
	log_target(t, msg);
	t->fail_logged = true;
}

static void activate(struct htable *tb, struct htarget *t)
{
	char why[WHY_MAX] = "", msg[64];
	uint32_t bad = 0;

	if (shm_activate(tb->s, &t->c->id, 1, t->weight, &bad, why) < 0) {
		write_failed(t, "activation", why);
		return;
	}
	snprintf(msg, sizeof(msg), "activated (weight %u)", t->weight);
	log_target(t, msg);
	t->pending = t->held = t->fail_logged = false;
}

/* Write the targets that came up.  Returns how many updates were made. */
static int apply_ups(struct hset *h, struct htable *tb)
{
	size_t i;
	int k = 0;

	for (i = 0; i < h->ntargets; i++) {
		struct htarget *t = &h->targets[i];

		if (t->tb != tb || !t->pending || !t->st.up)
			continue;
		if (is_active(&tb->v, t->c->id)) {
			log_target(t, t->held ? "active all along (it was kept active)" :
				   "already active");
			t->pending = t->held = t->fail_logged = false;
			continue;
		}
		activate(tb, t);
		k++;
	}
	return k;
}

/* The all-down rule: keep t active, and say so loudly once per episode. */
static void hold(struct htable *tb, struct htarget *t)
{
	if (!t->held)
		log_target(t, "NOT deactivated: it is the last active target of its table");
	t->held = true;
	t->pending = false;
	if (tb->alldown)
		return;
	tb->alldown = true;
	healthtab_log("WARNING: table %s: every active target fails its check; keeping "
		      "id %u active rather than none, since all failing at once is more "
		      "likely the checker's own network (--all-down deactivate changes "
		      "this)", tb->name, t->c->id);
}

static void deactivate(struct htable *tb, struct htarget **list, size_t k)
{
	uint32_t ids[HEALTHCONF_CHECKS_MAX], bad = 0;
	char why[WHY_MAX] = "";
	size_t i;

	for (i = 0; i < k; i++) {
		ids[i] = list[i]->c->id;
		list[i]->weight = slot_of(&tb->v, ids[i])->weight;
	}
	if (shm_deactivate(tb->s, ids, k, &bad, why) < 0) {
		for (i = 0; i < k; i++)
			write_failed(list[i], "deactivation", why);
		return;
	}
	for (i = 0; i < k; i++) {
		log_target(list[i], list[i]->held ?
			   "deactivated now that another target is active" : "deactivated");
		list[i]->pending = list[i]->held = list[i]->fail_logged = false;
	}
}

/* The down targets to deactivate, held ones last (so a held one stays
 * the one held).  Those already inactive need nothing. */
static size_t downs(struct hset *h, struct htable *tb, struct htarget **list)
{
	size_t i, k = 0;
	int held;

	for (held = 0; held < 2; held++)
		for (i = 0; i < h->ntargets; i++) {
			struct htarget *t = &h->targets[i];

			if (t->tb != tb || t->st.up || !(t->pending || t->held) ||
			    t->held != held)
				continue;
			if (is_active(&tb->v, t->c->id)) {
				list[k++] = t;
				continue;
			}
			if (t->pending)
				log_target(t, "already inactive");
			t->pending = t->held = t->fail_logged = false;
		}
	return k;
}

static void apply_downs(struct hset *h, struct htable *tb)
{
	struct htarget *list[HEALTHCONF_CHECKS_MAX];
	size_t i, k = downs(h, tb, list);

	if (k && h->keep_last && count_active(&tb->v) == k)
		hold(tb, list[--k]);
	if (k)
		deactivate(tb, list, k);
	tb->alldown = false;
	for (i = 0; i < h->ntargets; i++)
		if (h->targets[i].tb == tb && h->targets[i].held)
			tb->alldown = true;
}

static void apply_table(struct hset *h, struct htable *tb)
{
	char why[WHY_MAX] = "";

	tb->dirty = false;
	if (refresh(tb, why) < 0) {
		if (!tb->attach_logged)
			healthtab_log("table %s: %s; its transitions wait", tb->name, why);
		tb->attach_logged = true;
		return;
	}
	if (tb->attach_logged)
		healthtab_log("table %s: readable again", tb->name);
	tb->attach_logged = false;
	if (apply_ups(h, tb) && refresh(tb, why) < 0)
		return;
	apply_downs(h, tb);
}

void healthtab_apply(struct hset *h)
{
	size_t i;

	for (i = 0; i < h->ntables; i++)
		if (h->tables[i].dirty)
			apply_table(h, &h->tables[i]);
}
