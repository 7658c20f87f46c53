/* SPDX-License-Identifier: GPL-2.0-or-later */
/* prom.c: the Prometheus text exposition of shared tables (see prom.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nfqlb/prom.h"

static uint64_t load64(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static int cmp_target(const void *a, const void *b)
{
	uint32_t x = ((const struct prom_target *)a)->id;
	uint32_t y = ((const struct prom_target *)b)->id;

	return (x > y) - (x < y);
}

static int cmp_queue(const void *a, const void *b)
{
	uint32_t x = ((const struct prom_queue *)a)->queue;
	uint32_t y = ((const struct prom_queue *)b)->queue;

	return (x > y) - (x < y);
}

/* t->targets: every slot that has an id, with its packets, by id. */
static int read_targets(struct prom_table *t, const struct shm_view *v,
			const uint64_t *packets)
{
	const struct shm_target *s;
	uint32_t i;

	t->targets = calloc(v->n ? v->n : 1, sizeof(*t->targets));
	if (!t->targets)
		return -1;
	for (i = 0; i < v->n; i++) {
		s = &v->targets[i];
		if (!s->id)
			continue;
		t->targets[t->ntargets++] = (struct prom_target){
			s->id, s->active != 0, s->weight, s->entries, packets[i] };
		t->nactive += s->active != 0;
	}
	qsort(t->targets, t->ntargets, sizeof(*t->targets), cmp_target);
	return 0;
}

/* The entry for queue number q, added if new. */
static struct prom_queue *queue_entry(struct prom_table *t, uint32_t q)
{
	unsigned int i;

	for (i = 0; i < t->nqueues; i++)
		if (t->queues[i].queue == q)
			return &t->queues[i];
	t->queues[t->nqueues] = (struct prom_queue){ .queue = q };
	return &t->queues[t->nqueues++];
}

/* t->queues: the counter sets that ever served a queue, summed by queue.
 * The fast path's set (lb --bpf) serves none: its packets are in the
 * per-target and per-kind families, not in the per-queue ones. */
static int read_queues(struct prom_table *t, const struct shm *s)
{
	const struct shm_worker *w;
	struct prom_queue *q;
	struct shm_owner o;
	unsigned int i, k;
	uint32_t num;

	for (i = 0; i < SHM_WORKERS; i++) {
		w = shm_worker_at(s, i);
		num = __atomic_load_n(&w->queue, __ATOMIC_RELAXED);
		if (num == UINT32_MAX || num == SHM_QUEUE_FASTPATH)
			continue;
		if (shm_worker_owner(s, i, &o) < 0)
			return -1;
		q = queue_entry(t, num);
		q->running |= o.running;
		for (k = 0; k < SHM_CNT_KINDS; k++)
			q->packets += load64(&w->cnt[k]);
		q->waiting += load64(&w->q_total);
		q->queue_dropped += load64(&w->q_dropped);
		q->user_dropped += load64(&w->u_dropped);
	}
	qsort(t->queues, t->nqueues, sizeof(*t->queues), cmp_queue);
	return 0;
}

/* Copy the published table and the counters; -1 with why filled. */
static int read_all(struct prom_table *t, const struct shm *s,
		    struct shm_view *v, uint64_t *packets, char *why)
{
	if (shm_read(s, v, why) < 0)
		return -1;
	shm_counts(s, packets, t->cnt);
	if (read_targets(t, v, packets) < 0)
		return why_fail(errno, why, "%s", strerror(errno));
	if (read_queues(t, s) < 0)
		return why_fail(errno, why, "counter sets: %s", strerror(errno));
	/* A truncated object reads as zeros: that would be a counter reset. */
	if (shm_lost(s))
		return why_fail(EIO, why, "the object was truncated while being read");
	t->m = v->m;
	t->n = v->n;
	t->generation = v->generation;
	return 0;
}

int prom_read(struct prom_table *t, const char *name, const struct shm *s,
	      char *why)
{
	uint64_t *packets = calloc(s->n, sizeof(*packets));
	struct shm_view v;
	int r = -1, err;

	memset(t, 0, sizeof(*t));
	t->name = name;
	if (!packets || shm_view_init(&v, s->m, s->n) < 0) {
		free(packets);
		return why_fail(ENOMEM, why, "%s", strerror(ENOMEM));
	}
	r = read_all(t, s, &v, packets, why);
	err = errno;
	t->up = r == 0;
	shm_view_free(&v);
	free(packets);
	errno = err;
	return r;
}

int prom_load(struct prom_table *t, const char *name, char *why)
{
	struct shm *s;
	int r, err;

	memset(t, 0, sizeof(*t));
	t->name = name;
	if (why)
		why[0] = '\0';
	s = shm_attach(name, false, why);
	if (!s) {
		err = errno;
		if (why && !why[0])
			why_fail(err, why, "%s", strerror(err));
		errno = err;
		return -1;
	}
	r = prom_read(t, name, s, why);
	err = errno;
	shm_detach(s);
	errno = err;
	return r;
}

void prom_free(struct prom_table *t)
{
	free(t->targets);
	t->targets = NULL;
	t->ntargets = 0;
}

void prom_escape(FILE *f, const char *s)
{
	for (; *s; s++)
		switch (*s) {
		case '\\':
			fputs("\\\\", f);
			break;
		case '"':
			fputs("\\\"", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		default:
			fputc(*s, f);
		}
}

/* ------------------------------------------------------------ samples */

struct family;
typedef void (*sampler)(FILE *f, const struct family *fam,
			const struct prom_table *t);

/* A metric family.  Its samples come from sampler, which may use one of
 * the value functions for the common shapes (one per table, per target,
 * per queue). */
struct family {
	const char *name;
	const char *type;
	const char *help;
	sampler samples;
	uint64_t (*table_value)(const struct prom_table *t);
	uint64_t (*target_value)(const struct prom_target *x);
	uint64_t (*queue_value)(const struct prom_queue *q);
	bool active_only;	/* per target: only the active ones */
};

/* `name{table="T"`: the caller adds labels, then end_sample(). */
static void begin_sample(FILE *f, const char *name, const struct prom_table *t)
{
	fprintf(f, "%s{table=\"", name);
	prom_escape(f, t->name);
	fputc('"', f);
}

static void end_sample(FILE *f, uint64_t value)
{
	fprintf(f, "} %llu\n", (unsigned long long)value);
}

static void label_u32(FILE *f, const char *key, uint32_t value)
{
	fprintf(f, ",%s=\"%u\"", key, value);
}

static void label_str(FILE *f, const char *key, const char *value)
{
	fprintf(f, ",%s=\"", key);
	prom_escape(f, value);
	fputc('"', f);
}

static void per_table(FILE *f, const struct family *fam, const struct prom_table *t)
{
	begin_sample(f, fam->name, t);
	end_sample(f, fam->table_value(t));
}

static void per_target(FILE *f, const struct family *fam, const struct prom_table *t)
{
	uint32_t i;

	for (i = 0; i < t->ntargets; i++) {
		if (fam->active_only && !t->targets[i].active)
			continue;
		begin_sample(f, fam->name, t);
		label_u32(f, "target", t->targets[i].id);
		end_sample(f, fam->target_value(&t->targets[i]));
	}
}

static void per_queue(FILE *f, const struct family *fam, const struct prom_table *t)
{
	unsigned int i;

	for (i = 0; i < t->nqueues; i++) {
		begin_sample(f, fam->name, t);
		label_u32(f, "queue", t->queues[i].queue);
		end_sample(f, fam->queue_value(&t->queues[i]));
	}
}

static void per_kind(FILE *f, const struct family *fam, const struct prom_table *t)
{
	unsigned int k;

	for (k = 0; k < SHM_CNT_KINDS; k++) {
		begin_sample(f, fam->name, t);
		label_str(f, "kind", shm_cnt_name((enum shm_cnt)k));
		end_sample(f, t->cnt[k]);
	}
}

static void per_verdict(FILE *f, const struct family *fam, const struct prom_table *t)
{
	begin_sample(f, fam->name, t);
	label_str(f, "verdict", "accept");
	end_sample(f, t->cnt[SHM_CNT_ACCEPT]);
	begin_sample(f, fam->name, t);
	label_str(f, "verdict", "drop");
	end_sample(f, t->cnt[SHM_CNT_DROP]);
}

static void per_frag_event(FILE *f, const struct family *fam, const struct prom_table *t)
{
	unsigned int k;

	for (k = SHM_CNT_FRAG_FIRST; k < SHM_CNT_FRAG_END; k++) {
		begin_sample(f, fam->name, t);
		label_str(f, "event", shm_cnt_name((enum shm_cnt)k) +
			  strlen(SHM_CNT_FRAG_PREFIX));
		end_sample(f, t->cnt[k]);
	}
}

static void per_drop_reason(FILE *f, const struct family *fam,
			    const struct prom_table *t)
{
	unsigned int i;

	for (i = 0; i < t->nqueues; i++) {
		begin_sample(f, fam->name, t);
		label_u32(f, "queue", t->queues[i].queue);
		label_str(f, "reason", "queue_full");
		end_sample(f, t->queues[i].queue_dropped);
		begin_sample(f, fam->name, t);
		label_u32(f, "queue", t->queues[i].queue);
		label_str(f, "reason", "socket_full");
		end_sample(f, t->queues[i].user_dropped);
	}
}

static uint64_t t_up(const struct prom_table *t) { return t->up; }
static uint64_t t_generation(const struct prom_table *t) { return t->generation; }
static uint64_t t_size(const struct prom_table *t) { return t->m; }
static uint64_t t_max_targets(const struct prom_table *t) { return t->n; }
static uint64_t t_active(const struct prom_table *t) { return t->nactive; }
static uint64_t t_no_target(const struct prom_table *t)
{
	return t->cnt[SHM_CNT_NO_TARGET];
}

static uint64_t x_active(const struct prom_target *x) { return x->active; }
static uint64_t x_weight(const struct prom_target *x) { return x->weight; }
static uint64_t x_entries(const struct prom_target *x) { return x->entries; }
static uint64_t x_packets(const struct prom_target *x) { return x->packets; }

static uint64_t q_packets(const struct prom_queue *q) { return q->packets; }
static uint64_t q_waiting(const struct prom_queue *q) { return q->waiting; }
static uint64_t q_running(const struct prom_queue *q) { return q->running; }

#define TABLE(name, type, help, fn) { name, type, help, per_table, fn, NULL, NULL, false }
#define TARGET(name, type, help, fn, act) { name, type, help, per_target, NULL, fn, NULL, act }
#define QUEUE(name, type, help, fn) { name, type, help, per_queue, NULL, NULL, fn, false }
#define OTHER(name, type, help, fn) { name, type, help, fn, NULL, NULL, NULL, false }

/* The first family is the only one a table that is down shows. */
static const struct family families[] = {
	TABLE("nfqlb_table_up", "gauge",
	      "Whether the table could be read (1) or not (0).", t_up),
	TABLE("nfqlb_table_generation", "gauge",
	      "Generation of the published table; every update adds one.", t_generation),
	TABLE("nfqlb_table_size", "gauge", "Lookup entries of the table (M).", t_size),
	TABLE("nfqlb_table_max_targets", "gauge",
	      "Most active targets the table holds (N).", t_max_targets),
	TABLE("nfqlb_table_active_targets", "gauge", "Active targets.", t_active),
	TARGET("nfqlb_target_active", "gauge",
	       "Whether a target that owns a slot is active (1) or not (0).",
	       x_active, false),
	TARGET("nfqlb_target_weight", "gauge", "Weight of an active target.",
	       x_weight, true),
	TARGET("nfqlb_target_entries", "gauge",
	       "Lookup entries an active target owns.", x_entries, true),
	TARGET("nfqlb_target_packets_total", "counter",
	       "Packets given to a target since its slot got its id.", x_packets, false),
	OTHER("nfqlb_packets_total", "counter",
	      "Packets the workers classified, by kind of packet.", per_kind),
	TABLE("nfqlb_no_target_packets_total", "counter",
	      "Packets that found no active target.", t_no_target),
	OTHER("nfqlb_verdicts_total", "counter", "Verdicts the workers gave.",
	      per_verdict),
	OTHER("nfqlb_fragments_total", "counter",
	      "Fragments the workers' trackers saw (hash mode 5tuple), by event.",
	      per_frag_event),
	QUEUE("nfqlb_queue_packets_total", "counter",
	      "Packets the workers of a queue classified.", q_packets),
	QUEUE("nfqlb_queue_waiting_packets", "gauge",
	      "Packets waiting in the kernel's queue, at the workers' last look.",
	      q_waiting),
	OTHER("nfqlb_queue_dropped_total", "counter",
	      "Packets the kernel dropped before a worker saw them, by reason.",
	      per_drop_reason),
	QUEUE("nfqlb_worker_up", "gauge",
	      "Whether a worker serves the queue (1) or not (0).", q_running),
};

#define NFAMILIES (sizeof(families) / sizeof(families[0]))

int prom_write(FILE *f, const struct prom_table *t, size_t k)
{
	const struct family *fam;
	size_t i, j;

	for (i = 0; i < NFAMILIES; i++) {
		fam = &families[i];
		fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", fam->name, fam->help,
			fam->name, fam->type);
		for (j = 0; j < k; j++)
			if (t[j].up || i == 0)
				fam->samples(f, fam, &t[j]);
	}
	if (ferror(f)) {
		errno = EIO;
		return -1;
	}
	return 0;
}
