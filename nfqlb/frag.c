/* SPDX-License-Identifier: GPL-2.0-or-later */
/* frag.c: the fragment tracker (see frag.h).
 *
 * Two preallocated pools linked by index: entries (one per datagram, in a
 * hash table and in a list ordered by expiry) and held slots (one per held
 * packet, on its entry's list while it waits, then on the output list until
 * frag_pop() takes it).  Every timeout is the same length, so an entry
 * refreshed "now" belongs at the list's young end: the list stays ordered
 * without sorting, and expiry only looks at its old end.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "maglev/hash.h"
#include "nfqlb/frag.h"

#define NIL UINT32_MAX
#define KEY_WORDS HASH_FLOW_WORDS	/* 8 address words, protocol, id */

struct entry {
	uint32_t key[KEY_WORDS];
	struct frag_decision d;
	uint64_t expires;
	uint32_t hnext;		/* hash chain; the free list */
	uint32_t older, newer;	/* the expiry list */
	uint32_t held, held_tail;	/* held slots, in arrival order */
	bool known;		/* d is the first fragment's decision */
};

struct held {
	uint32_t next;		/* entry's list, output list or free list */
	struct frag_out out;
};

struct frag {
	uint32_t max, timeout, seed, mask;
	uint32_t *bucket;	/* mask + 1 chain heads */
	struct entry *e;
	struct held *h;
	uint32_t free_e, free_h;
	uint32_t oldest, youngest;	/* the expiry list */
	uint32_t out, out_tail;	/* slots frag_pop() gives */
	uint32_t nheld;		/* slots on entries' lists */
	struct frag_stats st;
};

struct frag *frag_new(uint32_t max, uint32_t timeout_ms, uint32_t seed)
{
	struct frag *t;
	uint32_t i, nb = 1;

	if (max == 0 || max > FRAG_MAX_LIMIT) {
		errno = EINVAL;
		return NULL;
	}
	while (nb < max)
		nb <<= 1;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	*t = (struct frag){ max, timeout_ms, seed, nb - 1, .oldest = NIL,
			    .youngest = NIL, .out = NIL, .out_tail = NIL };
	t->bucket = malloc(nb * sizeof(*t->bucket));
	t->e = calloc(max, sizeof(*t->e));
	t->h = calloc(max, sizeof(*t->h));
	if (!t->bucket || !t->e || !t->h) {
		frag_free(t);
		errno = ENOMEM;
		return NULL;
	}
	memset(t->bucket, 0xff, nb * sizeof(*t->bucket));
	for (i = 0; i < max; i++) {
		t->e[i].hnext = i + 1 < max ? i + 1 : NIL;
		t->h[i].next = i + 1 < max ? i + 1 : NIL;
	}
	return t;
}

void frag_free(struct frag *t)
{
	if (!t)
		return;
	free(t->bucket);
	free(t->e);
	free(t->h);
	free(t);
}

/* The datagram's name: addresses, IPv4's protocol, the id. */
static void make_key(const struct pkt_key *key, const struct pkt_meta *meta,
		     uint32_t *k)
{
	memcpy(k, key->w, 8 * sizeof(*k));
	k[8] = meta->v6 ? 0 : meta->udp_encap ? IPPROTO_UDP : key->w[9];
	k[9] = meta->frag_id;
}

static uint32_t *head_of(struct frag *t, const uint32_t *k)
{
	return &t->bucket[hash_flow(k, HASH_5TUPLE, t->seed) & t->mask];
}

static uint32_t find(struct frag *t, const uint32_t *k)
{
	uint32_t i;

	for (i = *head_of(t, k); i != NIL; i = t->e[i].hnext)
		if (memcmp(t->e[i].key, k, sizeof(t->e[i].key)) == 0)
			return i;
	return NIL;
}

static void unlink_age(struct frag *t, uint32_t i)
{
	struct entry *e = &t->e[i];

	if (e->older != NIL)
		t->e[e->older].newer = e->newer;
	else
		t->oldest = e->newer;
	if (e->newer != NIL)
		t->e[e->newer].older = e->older;
	else
		t->youngest = e->older;
}

/* At the young end of the expiry list, expiring timeout from now. */
static void link_young(struct frag *t, uint32_t i, uint64_t now)
{
	struct entry *e = &t->e[i];

	e->expires = now + t->timeout;
	e->older = t->youngest;
	e->newer = NIL;
	if (t->youngest != NIL)
		t->e[t->youngest].newer = i;
	else
		t->oldest = i;
	t->youngest = i;
}

static void refresh(struct frag *t, uint32_t i, uint64_t now)
{
	unlink_age(t, i);
	link_young(t, i, now);
}

/* A new entry for k, expiring timeout from now; NIL when none is free. */
static uint32_t add(struct frag *t, const uint32_t *k, uint64_t now)
{
	uint32_t *head = head_of(t, k), i = t->free_e;
	struct entry *e;

	if (i == NIL)
		return NIL;
	e = &t->e[i];
	t->free_e = e->hnext;
	memcpy(e->key, k, sizeof(e->key));
	e->known = false;
	e->held = e->held_tail = NIL;
	e->hnext = *head;
	*head = i;
	link_young(t, i, now);
	return i;
}

static void drop_entry(struct frag *t, uint32_t i)
{
	uint32_t *p = head_of(t, t->e[i].key);

	while (*p != i)
		p = &t->e[*p].hnext;
	*p = t->e[i].hnext;
	unlink_age(t, i);
	t->e[i].hnext = t->free_e;
	t->free_e = i;
}

/* The entry's held slots to the output list, each with d or timed out. */
static uint64_t release(struct frag *t, struct entry *e, bool timed_out)
{
	uint64_t n = 0;
	uint32_t s;

	for (s = e->held; s != NIL; s = t->h[s].next, n++) {
		t->h[s].out.timed_out = timed_out;
		t->h[s].out.d = e->d;
	}
	if (n == 0)
		return 0;
	if (t->out_tail != NIL)
		t->h[t->out_tail].next = e->held;
	else
		t->out = e->held;
	t->out_tail = e->held_tail;
	e->held = e->held_tail = NIL;
	t->nheld -= (uint32_t)n;
	return n;
}

static enum frag_result first(struct frag *t, const uint32_t *k,
			      struct frag_decision *d, uint64_t now)
{
	uint32_t i = find(t, k);
	struct entry *e;

	if (i == NIL && (i = add(t, k, now)) == NIL) {
		t->st.dropped++;
		return FRAG_FULL;
	}
	e = &t->e[i];
	if (e->known)
		*d = e->d;
	e->d = *d;
	e->known = true;
	refresh(t, i, now);
	t->st.released += release(t, e, false);
	t->st.tracked++;
	return FRAG_DECIDED;
}

/* Hold packet id on entry i; false when no slot is free. */
static bool hold(struct frag *t, uint32_t i, uint32_t id)
{
	struct entry *e = &t->e[i];
	uint32_t s = t->free_h;

	if (s == NIL)
		return false;
	t->free_h = t->h[s].next;
	t->h[s].next = NIL;
	t->h[s].out.id = id;
	if (e->held_tail != NIL)
		t->h[e->held_tail].next = s;
	else
		e->held = s;
	e->held_tail = s;
	t->nheld++;
	return true;
}

static enum frag_result later(struct frag *t, const uint32_t *k, uint32_t id,
			      struct frag_decision *d, uint64_t now)
{
	uint32_t i = find(t, k);
	bool fresh = i == NIL;

	if (i != NIL && t->e[i].known) {
		*d = t->e[i].d;
		refresh(t, i, now);
		t->st.tracked++;
		return FRAG_DECIDED;
	}
	/* A new entry for a held packet is not refreshed by the next held
	 * ones: the first held waits timeout at most. */
	if (fresh && (i = add(t, k, now)) == NIL)
		goto full;
	if (!hold(t, i, id)) {
		if (fresh)
			drop_entry(t, i);
		goto full;
	}
	t->st.held++;
	return FRAG_HELD;
full:
	t->st.dropped++;
	return FRAG_FULL;
}

enum frag_result frag_decide(struct frag *t, const struct pkt_key *key,
			     const struct pkt_meta *meta, uint32_t id,
			     struct frag_decision *d, uint64_t now_ms)
{
	uint32_t k[KEY_WORDS];

	if (meta->frag == PKT_FRAG_NONE)
		return FRAG_DECIDED;
	make_key(key, meta, k);
	if (meta->frag == PKT_FRAG_FIRST)
		return first(t, k, d, now_ms);
	return later(t, k, id, d, now_ms);
}

void frag_expire(struct frag *t, uint64_t now_ms)
{
	uint32_t i;

	while ((i = t->oldest) != NIL && t->e[i].expires <= now_ms) {
		t->st.timed_out += release(t, &t->e[i], true);
		drop_entry(t, i);
	}
}

bool frag_pop(struct frag *t, struct frag_out *o)
{
	uint32_t s = t->out;

	if (s == NIL)
		return false;
	*o = t->h[s].out;
	t->out = t->h[s].next;
	if (t->out == NIL)
		t->out_tail = NIL;
	t->h[s].next = t->free_h;
	t->free_h = s;
	return true;
}

void frag_stats(const struct frag *t, struct frag_stats *st)
{
	*st = t->st;
}

uint32_t frag_held(const struct frag *t)
{
	return t->nheld;
}
