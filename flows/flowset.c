/* SPDX-License-Identifier: GPL-2.0-or-later */
/* flowset.c: the flow set, a shared-memory object published as a table is
 * (see flowset.h).  The object's life, the publish protocol, the SIGBUS
 * guard and the counter sets' ownership are the shm module's (shm/object.h);
 * this file holds the layout, the validation and the edits.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "flows/flowset.h"
#include "flows/flowset_layout.h"
#include "flows/flowtext.h"
#include "shm/object.h"

#define SAME_AT(f) (offsetof(struct flowset_hdr, f) == offsetof(struct shm_hdr, f))
_Static_assert(sizeof(struct flowset_hdr) == sizeof(struct shm_hdr), "header size");
_Static_assert(SAME_AT(magic) && SAME_AT(version) && SAME_AT(hdr_size) && SAME_AT(size) &&
	       SAME_AT(generation) && SAME_AT(seq) && SAME_AT(retired),
	       "a flow set's header begins as a table's (shm/object.h)");
_Static_assert(offsetof(struct flowset_worker, pid) == offsetof(struct shm_set_head, pid) &&
	       offsetof(struct flowset_worker, queue) == offsetof(struct shm_set_head, queue) &&
	       offsetof(struct flowset_worker, pidns) == offsetof(struct shm_set_head, pidns),
	       "a flow set's counter set begins with the common head");
_Static_assert(FLOW_MAX <= 65536, "slots fit uint16_t");

struct flowset {
	struct shm *s;
};

static const struct shm_sets sets_layout = {
	offsetof(struct flowset_obj, sets), sizeof(struct flowset_set),
};

static struct flowset_obj *obj(const struct flowset *fs)
{
	return (struct flowset_obj *)fs->s->hdr;
}

const char *flowset_name(const char *opt)
{
	const char *env;

	if (opt)
		return opt;
	env = getenv(FLOWSET_ENV);
	return env ? env : FLOWSET_NAME_DEFAULT;
}

/* ---- validation ---- */

static bool terminated(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

/* Why a prefix is invalid, or NULL. */
static const char *cidr_why(const struct flow_cidr *c)
{
	unsigned int i;

	if (c->len > 128 || (c->family != AF_INET && c->family != AF_INET6))
		return "a prefix of unknown family or length";
	if (c->family == AF_INET && (c->len < 96 || c->w[0] || c->w[1] || c->w[2] != 0xffff))
		return "an IPv4 prefix outside ::ffff:0:0/96";
	for (i = 0; i < 4; i++) {
		unsigned int keep = c->len > 32 * i ? c->len - 32 * i : 0;

		if (keep < 32 && c->w[i] & (UINT32_MAX >> keep))
			return "a prefix with bits set past its length";
	}
	return NULL;
}

/* Why a flow's lists are invalid, or NULL. */
static const char *lists_why(const struct flow *f)
{
	const char *r = NULL;
	unsigned int i;

	if (f->ndst > FLOW_CIDR_MAX || f->nsrc > FLOW_CIDR_MAX ||
	    f->ndport > FLOW_PORT_MAX || f->nsport > FLOW_PORT_MAX)
		return "a list is too long";
	for (i = 0; i < f->ndst && !r; i++)
		r = cidr_why(&f->dst[i]);
	for (i = 0; i < f->nsrc && !r; i++)
		r = cidr_why(&f->src[i]);
	for (i = 0; i < f->ndport && !r; i++)
		if (f->dport[i].lo == 0 || f->dport[i].lo > f->dport[i].hi)
			r = "a --dport range that is not within 1..65535, low end first";
	for (i = 0; i < f->nsport && !r; i++)
		if (f->sport[i].lo == 0 || f->sport[i].lo > f->sport[i].hi)
			r = "a --sport range that is not within 1..65535, low end first";
	return r;
}

int flowset_check_flow(const struct flow *f, char *why)
{
	const char *rule;

	if (!terminated(f->name, sizeof(f->name)))
		return why_fail(EINVAL, why, "a flow name is not terminated");
	if ((rule = flowtext_name_why(f->name)))
		return why_fail(EINVAL, why, "bad flow name \"%.64s\": %s", f->name, rule);
	if (!terminated(f->table, sizeof(f->table)) || (rule = shm_name_why(f->table)))
		return why_fail(EINVAL, why, "flow \"%s\": bad table name: %s", f->name,
				rule ? rule : "not terminated");
	if (f->prio < FLOW_PRIO_MIN || f->prio > FLOW_PRIO_MAX)
		return why_fail(EINVAL, why, "flow \"%s\": prio %d out of range", f->name,
				f->prio);
	if (f->protos & ~(uint32_t)FLOW_P_ALL)
		return why_fail(EINVAL, why, "flow \"%s\": unknown protocol bits 0x%x",
				f->name, f->protos);
	if (f->udp_encap && f->protos && !(f->protos & FLOW_P_SCTP))
		return why_fail(EINVAL, why, "flow \"%s\": --udp-encap needs sctp among the "
				"protocols", f->name);
	if ((rule = lists_why(f)))
		return why_fail(EINVAL, why, "flow \"%s\": %s", f->name, rule);
	return 0;
}

/* A published copy: every flow valid, names in order (so unique), slots
 * in range and unique. */
static int view_check(const struct flowset_view *v, char *why)
{
	uint8_t seen[FLOW_MAX] = { 0 };
	char reason[WHY_MAX];
	uint32_t i;

	if (v->n > FLOW_MAX)
		return why_fail(EBADMSG, why, "corrupt flow set: %u flows (at most %u)",
				v->n, FLOW_MAX);
	for (i = 0; i < v->n; i++) {
		if (flowset_check_flow(&v->flows[i], reason) < 0)
			return why_fail(EBADMSG, why, "corrupt flow set: %s", reason);
		if (i && strcmp(v->flows[i - 1].name, v->flows[i].name) >= 0)
			return why_fail(EBADMSG, why, "corrupt flow set: flow \"%s\" is %s",
					v->flows[i].name,
					strcmp(v->flows[i - 1].name, v->flows[i].name) ?
					"out of name order" : "there twice");
		if (v->slot[i] >= FLOW_MAX || seen[v->slot[i]]++)
			return why_fail(EBADMSG, why, "corrupt flow set: flow \"%s\" has a bad "
					"or shared counter slot %u", v->flows[i].name, v->slot[i]);
	}
	return 0;
}

/* ---- the object ---- */

static int hdr_check(const struct flowset_hdr *h, uint64_t fsize, char *why)
{
	if (fsize < sizeof(*h))
		return why_fail(EBADMSG, why, "object is truncated (%llu bytes)",
				(unsigned long long)fsize);
	if (h->magic != FLOWSET_MAGIC)
		return why_fail(EBADMSG, why, "not an nfqlb flow set (bad magic 0x%08x)",
				h->magic);
	if (h->version != FLOWSET_VERSION)
		return why_fail(EPROTONOSUPPORT, why, "flow set layout version %u is not "
				"supported (this nfqlb reads %u)", h->version, FLOWSET_VERSION);
	if (h->hdr_size != sizeof(*h) || h->flow_size != sizeof(struct flow) ||
	    h->flows_max != FLOW_MAX || h->workers != SHM_WORKERS ||
	    h->cnt_max != FLOWSET_C_MAX || h->fcnt_max != FLOWSET_F_MAX)
		return why_fail(EBADMSG, why, "corrupt header (flow size %u, flows %u, "
				"workers %u)", h->flow_size, h->flows_max, h->workers);
	if (h->size != sizeof(struct flowset_obj) || fsize != h->size)
		return why_fail(EBADMSG, why, "size %llu does not match the header "
				"(expected %llu)", (unsigned long long)fsize,
				(unsigned long long)sizeof(struct flowset_obj));
	return 0;
}

static int attach_fd(struct shm *s, char *why)
{
	struct flowset_hdr h = { 0 };
	uint64_t fsize;

	if (shm_object_head(s, &h, sizeof(h), &fsize, why) < 0 ||
	    hdr_check(&h, fsize, why) < 0)
		return -1;
	return shm_object_map(s, h.size, why);
}

static void init_content(struct flowset_obj *o)
{
	unsigned int i;

	/* ftruncate() zeroed everything: an empty set in both buffers. */
	for (i = 0; i < SHM_WORKERS; i++)
		o->sets[i].w.queue = UINT32_MAX;
	o->hdr.version = FLOWSET_VERSION;
	o->hdr.hdr_size = sizeof(o->hdr);
	o->hdr.flow_size = sizeof(struct flow);
	o->hdr.flows_max = FLOW_MAX;
	o->hdr.workers = SHM_WORKERS;
	o->hdr.cnt_max = FLOWSET_C_MAX;
	o->hdr.fcnt_max = FLOWSET_F_MAX;
	o->hdr.size = sizeof(*o);
	/* The magic goes last: until then a reader sees "not a flow set". */
	__atomic_store_n(&o->hdr.magic, FLOWSET_MAGIC, __ATOMIC_RELEASE);
}

/* An empty set, built under a private name, takes the name only if it is
 * free.  Returns 0, or -1 with errno (EEXIST: somebody was faster). */
static int create_empty(const char *name, char *why)
{
	struct shm *s = calloc(1, sizeof(*s));
	int ret = -1, err;

	if (!s)
		return why_fail(errno, why, "%s", strerror(errno));
	s->fd = -1;
	if (shm_object_tmp(s, sizeof(struct flowset_obj), why) == 0) {
		init_content((struct flowset_obj *)s->hdr);
		if (shm_lost(s))
			why_fail(EIO, why, "the object was truncated while being made");
		else
			ret = shm_object_place(s, name, false, why);
		if (ret < 0)
			shm_unlink(s->name);
	}
	err = errno;
	shm_detach(s);
	errno = err;
	return ret;
}

/* A name deleted between create and attach is created again, a few times. */
#define ATTACH_TRIES 5

struct flowset *flowset_attach(const char *name, bool writable, bool create,
			       char *why)
{
	struct flowset *fs = calloc(1, sizeof(*fs));
	int i, err;

	if (!fs) {
		why_fail(errno, why, "%s", strerror(errno));
		return NULL;
	}
	for (i = 0; i < ATTACH_TRIES; i++) {
		fs->s = shm_object_attach(name, writable, attach_fd, why);
		if (fs->s)
			return fs;
		if (errno != ENOENT || !create ||
		    (create_empty(name, why) < 0 && errno != EEXIST))
			break;
	}
	err = errno;
	free(fs);
	errno = err;
	return NULL;
}

void flowset_detach(struct flowset *fs)
{
	if (!fs)
		return;
	shm_detach(fs->s);
	free(fs);
}

uint64_t flowset_generation(const struct flowset *fs)
{
	return shm_generation(fs->s);
}

int flowset_same_object(const struct flowset *fs, char *why)
{
	return shm_same_object(fs->s, why);
}

/* ---- the publish protocol ---- */

int flowset_view_init(struct flowset_view *v)
{
	memset(v, 0, sizeof(*v));
	v->flows = malloc(sizeof(*v->flows) * FLOW_MAX);
	v->slot = malloc(sizeof(*v->slot) * FLOW_MAX);
	if (v->flows && v->slot)
		return 0;
	flowset_view_free(v);
	errno = ENOMEM;
	return -1;
}

void flowset_view_free(struct flowset_view *v)
{
	free(v->flows);
	free(v->slot);
	v->flows = NULL;
	v->slot = NULL;
	v->n = 0;
}

static void buf_copy(const struct shm *s, unsigned int b, void *arg)
{
	const struct flowset_buf *buf = &((const struct flowset_obj *)s->hdr)->buf[b];
	struct flowset_view *v = arg;
	uint32_t n = __atomic_load_n(&buf->n, __ATOMIC_RELAXED);

	/* A count out of range is damage the check reports: copy nothing. */
	v->n = n;
	if (n > FLOW_MAX)
		return;
	memcpy(v->flows, buf->flows, sizeof(*v->flows) * n);
	memcpy(v->slot, buf->slot, sizeof(*v->slot) * n);
}

static int buf_check(void *arg, char *why)
{
	return view_check(arg, why);
}

static void buf_write(struct shm *s, unsigned int b, const void *arg)
{
	struct flowset_buf *buf = &((struct flowset_obj *)s->hdr)->buf[b];
	const struct flowset_view *v = arg;

	buf->n = v->n;
	memcpy(buf->flows, v->flows, sizeof(*v->flows) * v->n);
	memcpy(buf->slot, v->slot, sizeof(*v->slot) * v->n);
}

static const struct shm_buffers flowset_buffers = {
	buf_copy, buf_check, buf_write, "flow set",
};

int flowset_read(const struct flowset *fs, struct flowset_view *v, char *why)
{
	if (shm_object_read(fs->s, &flowset_buffers, v, &v->generation, why) == 0)
		return 0;
	v->n = 0;	/* a damaged count must not reach the caller's loops */
	return -1;
}

/* ---- the edits ---- */

/* The counts slot i has now, every set summed. */
static uint64_t slot_total(const struct flowset *fs, uint32_t i, unsigned int c)
{
	uint64_t sum = 0;
	unsigned int k;

	for (k = 0; k < SHM_WORKERS; k++)
		sum += __atomic_load_n(&obj(fs)->sets[k].w.flow[i][c], __ATOMIC_RELAXED);
	return sum;
}

/* A slot for a new flow: one never used, else a free one whose counts so
 * far become its base. */
static uint16_t new_slot(struct flowset *fs, const struct flowset_view *v)
{
	struct flowset_obj *o = obj(fs);
	uint8_t busy[FLOW_MAX] = { 0 };
	uint32_t i, pick = FLOW_MAX;
	unsigned int c;

	for (i = 0; i < v->n; i++)
		busy[v->slot[i]] = 1;
	for (i = 0; i < FLOW_MAX && pick == FLOW_MAX; i++)
		if (!busy[i] && !o->used[i])
			pick = i;
	for (i = 0; i < FLOW_MAX && pick == FLOW_MAX; i++)
		if (!busy[i]) {
			pick = i;
			for (c = 0; c < FLOWSET_F_MAX; c++)
				o->base[i][c] = slot_total(fs, i, c);
		}
	o->used[pick] = 1;
	return (uint16_t)pick;
}

/* Where name is, or where it would go: the first flow not below it. */
static uint32_t find(const struct flowset_view *v, const char *name, bool *found)
{
	uint32_t lo = 0, hi = v->n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (strcmp(v->flows[mid].name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < v->n && strcmp(v->flows[lo].name, name) == 0;
	return lo;
}

typedef int (*edit_fn)(struct flowset *fs, struct flowset_view *v, const void *arg,
		       char *why);

/* Lock, copy the current set, edit it, and publish it if it changed. */
static int update(struct flowset *fs, edit_fn fn, const void *arg, char *why)
{
	struct shm *s = fs->s;
	struct flowset_view v;
	int ret, err;

	if (!s->writable)
		return why_fail(EBADF, why, "the flow set is open read-only");
	if (flowset_view_init(&v) < 0)
		return why_fail(errno, why, "%s", strerror(errno));
	if (shm_lock(s, why) < 0) {
		err = errno;
		flowset_view_free(&v);
		if (err == ESTALE)
			return why_fail(ESTALE, why, "the flow set was replaced or deleted "
					"meanwhile");
		errno = err;
		return -1;
	}
	ret = flowset_read(fs, &v, why);
	if (ret == 0)
		ret = fn(fs, &v, arg, why);
	if (ret > 0) {
		shm_object_publish(s, &flowset_buffers, &v);
		if (shm_lost(s))
			ret = why_fail(EIO, why, "the object was truncated while being written");
	}
	err = errno;
	shm_unlock(s);
	flowset_view_free(&v);
	errno = err;
	return ret < 0 ? -1 : 0;
}

/* The flow as stored: every byte past the used parts zero, so that "the
 * same flow" is the same bytes. */
static void normalise(const struct flow *f, struct flow *out)
{
	memset(out, 0, sizeof(*out));
	strcpy(out->name, f->name);
	strcpy(out->table, f->table);
	out->prio = f->prio;
	out->protos = f->protos;
	out->udp_encap = f->udp_encap;
	out->ndst = f->ndst;
	out->nsrc = f->nsrc;
	out->ndport = f->ndport;
	out->nsport = f->nsport;
	memcpy(out->dst, f->dst, sizeof(*f->dst) * f->ndst);
	memcpy(out->src, f->src, sizeof(*f->src) * f->nsrc);
	memcpy(out->dport, f->dport, sizeof(*f->dport) * f->ndport);
	memcpy(out->sport, f->sport, sizeof(*f->sport) * f->nsport);
}

static int do_set(struct flowset *fs, struct flowset_view *v, const void *arg,
		  char *why)
{
	const struct flow *f = arg;
	bool found;
	uint32_t i = find(v, f->name, &found);
	uint16_t slot;

	if (found) {
		if (memcmp(&v->flows[i], f, sizeof(*f)) == 0)
			return 0;
		v->flows[i] = *f;
		return 1;
	}
	if (v->n == FLOW_MAX)
		return why_fail(ENOSPC, why, "the flow set holds %u flows, the most it can",
				FLOW_MAX);
	slot = new_slot(fs, v);
	memmove(&v->flows[i + 1], &v->flows[i], sizeof(*v->flows) * (v->n - i));
	memmove(&v->slot[i + 1], &v->slot[i], sizeof(*v->slot) * (v->n - i));
	v->slot[i] = slot;
	v->flows[i] = *f;
	v->n++;
	return 1;
}

int flowset_set(struct flowset *fs, const struct flow *f, char *why)
{
	struct flow *norm;
	int ret;

	if (flowset_check_flow(f, why) < 0)
		return -1;
	norm = malloc(sizeof(*norm));
	if (!norm)
		return why_fail(ENOMEM, why, "%s", strerror(ENOMEM));
	normalise(f, norm);
	ret = update(fs, do_set, norm, why);
	free(norm);
	return ret;
}

struct delete_edit {
	char *const *names;
	size_t k;
	const char **bad;
};

static int do_delete(struct flowset *fs, struct flowset_view *v, const void *arg,
		     char *why)
{
	const struct delete_edit *e = arg;
	uint8_t gone[FLOW_MAX] = { 0 };
	uint32_t i, to = 0;
	bool found;
	size_t j;

	(void)fs;
	for (j = 0; j < e->k; j++) {
		i = find(v, e->names[j], &found);
		if (!found) {
			if (e->bad)
				*e->bad = e->names[j];
			return why_fail(ENOENT, why, "flow \"%.64s\" does not exist",
					e->names[j]);
		}
		gone[i] = 1;
	}
	for (i = 0; i < v->n; i++)
		if (!gone[i]) {
			v->flows[to] = v->flows[i];
			v->slot[to++] = v->slot[i];
		}
	v->n = to;
	return e->k > 0;
}

int flowset_delete(struct flowset *fs, char *const *names, size_t k,
		   const char **bad, char *why)
{
	struct delete_edit e = { names, k, bad };

	return update(fs, do_delete, &e, why);
}

/* ---- counters ---- */

struct flowset_worker *flowset_worker_claim(struct flowset *fs, int32_t pid,
					    uint32_t queue)
{
	struct flowset_set *set = shm_sets_claim(fs->s, &sets_layout, pid, queue);

	return set ? &set->w : NULL;
}

void flowset_worker_release(struct flowset *fs, struct flowset_worker *w)
{
	shm_sets_release(fs->s, &sets_layout, w);
}

void flowset_counts(const struct flowset *fs, uint64_t (*flow)[FLOWSET_F_MAX],
		    uint64_t *cnt)
{
	const struct flowset_obj *o = obj(fs);
	unsigned int k, c;
	uint32_t i;

	for (c = 0; c < FLOWSET_C_MAX; c++) {
		cnt[c] = 0;
		for (k = 0; k < SHM_WORKERS; k++)
			cnt[c] += __atomic_load_n(&o->sets[k].w.cnt[c], __ATOMIC_RELAXED);
	}
	for (i = 0; i < FLOW_MAX; i++)
		for (c = 0; c < FLOWSET_F_MAX; c++) {
			uint64_t sum = slot_total(fs, i, c), base = o->base[i][c];

			flow[i][c] = sum > base ? sum - base : 0;
		}
}
