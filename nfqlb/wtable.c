/* SPDX-License-Identifier: GPL-2.0-or-later */
/* wtable.c: a table as one queue thread holds and follows it (see
 * wtable.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nfqlb/log.h"
#include "nfqlb/verify.h"
#include "nfqlb/wtable.h"

bool wtable_debug_verify;

const char *wtable_who(uint32_t queue)
{
	static __thread char buf[24];

	if (queue == SHM_QUEUE_FASTPATH)
		return "fastpath";
	snprintf(buf, sizeof(buf), "queue %u", queue);
	return buf;
}

/* NFQLB_DEBUG_VERIFY: an adopted table that is not its own Maglev build is
 * a bug in the shared-memory protocol; stop hard, so no test can miss it. */
static void verify_adopted(struct wtable *t)
{
	char why[WHY_MAX] = "";
	int r = verify_view(&t->view, t->shm->seed, why);

	if (r == 0) {
		t->verified++;
		return;
	}
	lb_log("%s: debug verify: %s", wtable_who(t->queue), r < 0 ? strerror(errno) : why);
	if (r > 0)
		abort();
}

static void count_active(struct wtable *t)
{
	uint32_t i;

	t->active = 0;
	for (i = 0; i < t->view.n; i++)
		t->active += t->view.targets[i].active;
}

void wtable_log_adopted(const struct wtable *t)
{
	unsigned long long g = (unsigned long long)t->view.generation;

	lb_log("%s: table \"%s\" generation %llu: %u active target%s",
	       wtable_who(t->queue), t->name, g, t->active, t->active == 1 ? "" : "s");
	if (!t->active)
		lb_log("%s: WARNING: table \"%s\" generation %llu has no active target: "
		       "its packets get the no-target verdict (%s)", wtable_who(t->queue), t->name, g,
		       t->no_target);
}

/* The spare view has the object's size and its own scratch space:
 * nothing is allocated. */
void wtable_refresh(struct wtable *t)
{
	struct shm_view v;
	char why[WHY_MAX];
	uint64_t g;

	/* A lost handle (the object was truncated) reads zeros: following
	 * reports it once and reattaches. */
	if (!t->shm || shm_lost(t->shm))
		return;
	g = shm_generation(t->shm);
	if (g == t->view.generation || g == t->bad_gen)
		return;
	if (shm_read(t->shm, &t->spare, why) < 0) {
		if (errno == EAGAIN || errno == EIO)
			return;
		t->bad_gen = g;
		lb_log("%s: table \"%s\" generation %llu is invalid (%s); keeping generation %llu",
		       wtable_who(t->queue), t->name, (unsigned long long)g, why,
		       (unsigned long long)t->view.generation);
		return;
	}
	v = t->view;
	t->view = t->spare;
	t->spare = v;
	count_active(t);
	if (wtable_debug_verify)
		verify_adopted(t);
	wtable_log_adopted(t);
}

int wtable_attach(struct wtable *t, struct shm *s, char *why)
{
	struct shm_worker *w = shm_worker_claim(s, getpid(), t->queue);
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
	t->shm = s;
	t->w = w;
	t->view = v;
	t->spare = spare;
	count_active(t);
	return 0;
fail:
	shm_view_free(&v);
	shm_view_free(&spare);
	shm_worker_release(s, w);
	return -1;
}

int wtable_open(struct wtable *t, char *why)
{
	struct shm *s = shm_attach(t->name, true, why);
	int err;

	if (!s)
		return -1;
	if (wtable_attach(t, s, why) == 0)
		return 0;
	err = errno;
	shm_detach(s);
	errno = err;
	return -1;
}

void wtable_detach(struct wtable *t)
{
	if (!t->shm)
		return;
	if (t->w)
		shm_worker_release(t->shm, t->w);
	shm_view_free(&t->view);
	shm_view_free(&t->spare);
	shm_detach(t->shm);
	t->w = NULL;
	t->shm = NULL;
	t->active = 0;
}

/* Log a change in what the name holds, once per change. */
static void log_follow(struct wtable *t, enum wtable_follow f, const char *why)
{
	const char *keep = t->shm ? "keeping the last table" : "its packets get the no-target verdict";

	if (f == t->follow)
		return;
	t->follow = f;
	if (f == FOLLOW_GONE)
		lb_log("%s: table \"%s\" %s; %s", wtable_who(t->queue), t->name,
		       t->shm ? "was deleted" : "does not exist", keep);
	else if (f == FOLLOW_DAMAGED)
		lb_log("%s: table \"%s\" was damaged in place (%s); %s",
		       wtable_who(t->queue), t->name, why, keep);
	else if (f == FOLLOW_UNUSABLE)
		lb_log("%s: table \"%s\" is unusable (%s); %s", wtable_who(t->queue), t->name, why, keep);
}

/* The name holds another object now (or this one was damaged, or none was
 * open): open and validate what it holds, and only then drop the old
 * object.  Runs between batches, never per packet. */
static void reattach(struct wtable *t, enum wtable_follow fail)
{
	struct wtable next = *t;
	char why[WHY_MAX] = "";
	bool had = t->shm != NULL;

	next.shm = NULL;
	next.w = NULL;
	if (wtable_open(&next, why) == 0) {
		wtable_detach(t);
		*t = next;
		t->bad_gen = 0;
		t->follow = FOLLOW_SAME;
		if (had)
			lb_log("%s: table \"%s\" was replaced; using the new object",
			       wtable_who(t->queue), t->name);
		wtable_log_adopted(t);
		return;
	}
	log_follow(t, errno == ENOENT ? FOLLOW_GONE : fail, why);
}

void wtable_follow(struct wtable *t, bool attach)
{
	char why[WHY_MAX] = "";
	int same;

	if (!t->shm) {
		if (attach)
			reattach(t, FOLLOW_UNUSABLE);
		return;
	}
	same = shm_same_object(t->shm, why);
	if (same == 1 && shm_check_size(t->shm, why) == 0) {
		t->follow = FOLLOW_SAME;
		return;
	}
	if (same == 1)
		reattach(t, FOLLOW_DAMAGED);
	else if (same == 0)
		reattach(t, FOLLOW_UNUSABLE);
	else if (errno == ENOENT)
		log_follow(t, FOLLOW_GONE, why);
	else
		log_follow(t, FOLLOW_UNUSABLE, why);
}
