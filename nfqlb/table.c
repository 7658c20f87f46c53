/* SPDX-License-Identifier: GPL-2.0-or-later */
/* table.c: the commands that create, edit and print the shared table. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "maglev/maglev.h"
#include "nfqlb/cli.h"
#include "nfqlb/metrics.h"
#include "nfqlb/table.h"

static const struct opt shm_only_opts[] = {
	OPT_SHM,
	{ NULL, NULL, NULL },
};

static const struct opt delete_opts[] = {
	OPT_SHM,
	{ "force", NULL, "delete even an object that is not an nfqlb table" },
	{ NULL, NULL, NULL },
};

static const struct opt init_opts[] = {
	OPT_SHM,
	{ "M", "PRIME", "table size, a prime (default 997)" },
	{ "N", "MAX_TARGETS", "most active targets (default 32)" },
	{ "hash", "5tuple|addr|src|sctp", "what the flow hash covers (default 5tuple)" },
	{ "seed", "N", "hash seed, 0..4294967295 (default 0)" },
	{ "force", NULL, "replace an existing table, keeping its active targets" },
	{ "empty", NULL, "with --force: start with no active target" },
	{ NULL, NULL, NULL },
};

static const struct opt activate_opts[] = {
	OPT_SHM,
	{ "weight", "W", "weight 1..1000 (default 1; kept for active ids)" },
	{ NULL, NULL, NULL },
};

static const struct opt print_opts[] = {
	OPT_SHM,
	{ "json", NULL, "print one JSON object" },
	{ NULL, NULL, NULL },
};

static const struct opt stats_opts[] = {
	OPT_SHM,
	{ "flows", "NAME", "per flow of this flow set: packets, no-target packets, its table's targets" },
	{ "json", NULL, "print one JSON object" },
	{ "prometheus", NULL, "print the Prometheus text exposition format" },
	{ NULL, NULL, NULL },
};

int table_name(const struct cmd *cmd, const struct optval *ov, const char **name)
{
	const char *rule;

	*name = opt_shm_name(cmd, ov);
	if (!**name && !opt_get(cmd, ov, "shm"))
		return usage_error(cmd, "NFQLB_SHM is empty: unset it, or set it to a table name");
	rule = shm_name_why(*name);
	if (rule)
		return usage_error(cmd, "bad table name \"%s\": %s", *name, rule);
	return NFQLB_OK;
}

struct shm *table_open(const struct cmd *cmd, const char *name, bool writable)
{
	char why[WHY_MAX] = "";
	struct shm *s = shm_attach(name, writable, why);

	if (s)
		return s;
	if (errno == ENOENT)
		cmd_error(cmd, "table \"%s\" does not exist (create it with 'nfqlb init')",
			  name);
	else if (errno == EACCES)
		cmd_error(cmd, "table \"%s\": permission denied", name);
	else
		cmd_error(cmd, "table \"%s\": %s", name, why);
	return NULL;
}

static int bad_prime(const struct cmd *cmd, uint32_t m)
{
	uint32_t lo = maglev_prime_below(m), hi = maglev_prime_above(m);

	if (lo && hi <= SHM_M_MAX)
		return usage_error(cmd, "M %u is not prime; the nearest primes are %u and %u",
				   m, lo, hi);
	if (lo)
		return usage_error(cmd, "M %u is not prime; the nearest prime below is %u",
				   m, lo);
	return usage_error(cmd, "M %u is not prime; the smallest prime is 2", m);
}

static int init_params(const struct cmd *cmd, const struct optval *ov,
		       struct shm_params *p)
{
	const char *v;
	int mode;

	*p = (struct shm_params){ 997, 32, 0, HASH_5TUPLE };
	v = opt_get(cmd, ov, "M");
	if (v && opt_u32(v, 0, UINT32_MAX, &p->m) < 0)
		return usage_error(cmd, "bad M '%s': want a prime 2..%u", v, SHM_M_MAX);
	if (p->m < 2 || p->m > SHM_M_MAX)
		return usage_error(cmd, "M %u is out of range 2..%u", p->m, SHM_M_MAX);
	if (!maglev_is_prime(p->m))
		return bad_prime(cmd, p->m);
	v = opt_get(cmd, ov, "N");
	if (v && opt_u32(v, 1, SHM_N_MAX, &p->n) < 0)
		return usage_error(cmd, "bad N '%s': want 1..%u", v, SHM_N_MAX);
	if (p->n > p->m)
		return usage_error(cmd, "N %u is larger than M %u", p->n, p->m);
	v = opt_get(cmd, ov, "hash");
	if (v && (mode = hash_mode_parse(v)) < 0)
		return usage_error(cmd, "bad hash mode '%s': want " HASH_MODE_LIST, v);
	if (v)
		p->mode = (enum hash_mode)mode;
	v = opt_get(cmd, ov, "seed");
	if (v && opt_u32(v, 0, UINT32_MAX, &p->seed) < 0)
		return usage_error(cmd, "bad seed '%s': want 0..4294967295", v);
	return NFQLB_OK;
}

/* init --force: the new table keeps the old one's active targets. */
static int init_replace(const struct cmd *cmd, const char *name,
			const struct shm_params *p)
{
	char why[WHY_MAX] = "", lost[WHY_MAX] = "";
	size_t kept;

	if (shm_replace(name, p, &kept, lost, why) < 0) {
		if (errno == EACCES)
			return cmd_error(cmd, "table \"%s\": permission denied", name);
		if (errno == ENOSPC || errno == ERANGE)
			return cmd_error(cmd, "table \"%s\": %s; nothing changed "
					 "(--empty starts from no target)", name, why);
		return cmd_error(cmd, "table \"%s\": %s; nothing changed", name, why);
	}
	if (lost[0])
		fprintf(stderr, "nfqlb: %s: warning: the targets of the old table \"%s\" "
			"could not be kept (%s); the new table has no active target\n",
			cmd->name, name, lost);
	return NFQLB_OK;
}

static int do_init(const struct cmd *cmd, const struct optval *ov, int argc,
		   char **argv)
{
	bool force = opt_get(cmd, ov, "force") != NULL;
	struct shm_params p;
	const char *name;
	int r;

	if ((r = opt_operands(cmd, ov, argc, argv, 0)) || (r = table_name(cmd, ov, &name)) ||
	    (r = init_params(cmd, ov, &p)))
		return r;
	if (force && !opt_get(cmd, ov, "empty"))
		return init_replace(cmd, name, &p);
	if (shm_create(name, &p, force) == 0)
		return NFQLB_OK;
	if (errno == EEXIST)
		return cmd_error(cmd, "table \"%s\" already exists (use --force to replace it)",
				 name);
	if (errno == EACCES)
		return cmd_error(cmd, "table \"%s\": permission denied", name);
	return cmd_error(cmd, "table \"%s\": %s", name, strerror(errno));
}

/* The one line for a name that cannot be opened or removed (errno). */
static int name_error(const struct cmd *cmd, const char *name)
{
	if (errno == ENOENT)
		return cmd_error(cmd, "table \"%s\" does not exist", name);
	if (errno == EACCES)
		return cmd_error(cmd, "table \"%s\": permission denied", name);
	return cmd_error(cmd, "table \"%s\": %s", name, strerror(errno));
}

/* A typo in --shm must not delete another program's object. */
static int delete_check(const struct cmd *cmd, const char *name)
{
	int r = shm_is_nfqlb(name);

	if (r == 1)
		return NFQLB_OK;
	if (r == 0)
		return cmd_error(cmd, "\"%s\" is not an nfqlb table (no nfqlb magic): not "
				 "deleting it (--force deletes it anyway)", name);
	return name_error(cmd, name);
}

/* The queue of a worker that uses the table (SHM_QUEUE_FASTPATH: its
 * fast path), or -1 when none does; a queue comes before the fast path. */
static long table_user(const char *name)
{
	struct shm *s = shm_attach(name, false, NULL);
	struct shm_owner o;
	long queue = -1;
	unsigned int i;

	for (i = 0; s && i < SHM_WORKERS && (queue < 0 || queue == SHM_QUEUE_FASTPATH); i++)
		if (shm_worker_owner(s, i, &o) == 0 && o.running)
			queue = shm_worker_at(s, i)->queue;
	shm_detach(s);
	return queue;
}

static int do_delete(const struct cmd *cmd, const struct optval *ov, int argc,
		     char **argv)
{
	const char *name;
	long queue;
	int r;

	if ((r = opt_operands(cmd, ov, argc, argv, 0)) || (r = table_name(cmd, ov, &name)))
		return r;
	if (!opt_get(cmd, ov, "force") && (r = delete_check(cmd, name)))
		return r;
	queue = table_user(name);
	if (shm_remove(name) == 0) {
		if (queue == SHM_QUEUE_FASTPATH)
			cmd_warning(cmd, "table \"%s\" was in use by a worker (its fast path)",
				    name);
		else if (queue >= 0)
			cmd_warning(cmd, "table \"%s\" was in use by a worker (queue %ld)",
				    name, queue);
		return NFQLB_OK;
	}
	return name_error(cmd, name);
}

/* Parse the ID... arguments.  Returns 0, or an exit code after a message. */
static int parse_ids(const struct cmd *cmd, const struct optval *ov, int argc,
		     char **argv, uint32_t **ids, size_t *k)
{
	int i;

	*k = 0;
	if (argc == ov->first)
		return usage_error(cmd, "no target id given");
	*ids = malloc(sizeof(**ids) * (size_t)(argc - ov->first));
	if (!*ids)
		return cmd_error(cmd, "%s", strerror(errno));
	for (i = ov->first; i < argc; i++)
		if (opt_id(argv[i], &(*ids)[(*k)++]) < 0) {
			free(*ids);
			return usage_error(cmd, "bad target id '%s': %s", argv[i],
					   opt_id_why(argv[i]));
		}
	return NFQLB_OK;
}

/* Active targets in the published table, or -1 when it cannot be read. */
static long active_count(const struct shm *s)
{
	char why[WHY_MAX];
	struct shm_view v;
	long n = -1;
	uint32_t i;

	if (shm_view_init(&v, s->m, s->n) < 0)
		return -1;
	if (shm_read(s, &v, why) == 0)
		for (n = 0, i = 0; i < v.n; i++)
			n += v.targets[i].active;
	shm_view_free(&v);
	return n;
}

/* A replacement (init --force, restore) between opening the table and
 * locking it makes the update fail with ESTALE: open the name again and
 * apply it to what the name holds now, a few times at most. */
#define EDIT_TRIES 3

/* One try: open the table and apply the update.  *s is left open, or NULL. */
static int edit_once(const struct cmd *cmd, const char *name, const uint32_t *ids,
		     size_t k, uint32_t weight, struct shm **s, char *why)
{
	uint32_t bad = 0;

	*s = table_open(cmd, name, true);
	if (!*s)
		return NFQLB_FAIL;
	if (cmd == &cmd_activate)
		return shm_activate(*s, ids, k, weight, &bad, why);
	return shm_deactivate(*s, ids, k, &bad, why);
}

static int edit_ids(const struct cmd *cmd, const struct optval *ov, int argc,
		    char **argv, uint32_t weight)
{
	char why[WHY_MAX] = "";
	uint32_t *ids = NULL;
	struct shm *s = NULL;
	const char *name;
	int r, tries = 0;
	size_t k;

	if ((r = table_name(cmd, ov, &name)) ||
	    (r = parse_ids(cmd, ov, argc, argv, &ids, &k)))
		return r;
	do {
		shm_detach(s);
		r = edit_once(cmd, name, ids, k, weight, &s, why);
	} while (r < 0 && errno == ESTALE && ++tries < EDIT_TRIES);
	if (r < 0)
		r = cmd_error(cmd, "%s; nothing changed", why);
	else if (s && cmd == &cmd_deactivate && active_count(s) == 0)
		cmd_warning(cmd, "no target is active now: the workers give every "
			    "packet the no-target verdict");
	shm_detach(s);
	free(ids);
	return r;
}

static int do_activate(const struct cmd *cmd, const struct optval *ov, int argc,
		       char **argv)
{
	const char *v = opt_get(cmd, ov, "weight");
	uint32_t weight = 0;

	if (v && opt_u32(v, 1, MAGLEV_WEIGHT_MAX, &weight) < 0)
		return usage_error(cmd, "bad weight '%s': want 1..%u", v,
				   MAGLEV_WEIGHT_MAX);
	return edit_ids(cmd, ov, argc, argv, weight);
}

static int do_deactivate(const struct cmd *cmd, const struct optval *ov,
			 int argc, char **argv)
{
	return edit_ids(cmd, ov, argc, argv, 0);
}

/* What show and stats print: a validated copy of the table, and counters. */
struct snap {
	struct shm *s;
	struct shm_view v;
	uint64_t *target;	/* n packet counters, one per slot */
	uint64_t *fast;		/* of them, those of the fast path (lb --bpf) */
	uint64_t cnt[SHM_CNT_MAX];
	uint32_t *order;	/* the slots of the active targets, by id */
	uint32_t nactive;
	struct shm_owner owner[SHM_WORKERS];	/* of each counter set */
};

typedef void (*snap_printer)(const struct snap *sn);

static void snap_free(struct snap *sn)
{
	free(sn->target);
	free(sn->fast);
	free(sn->order);
	shm_view_free(&sn->v);
	shm_detach(sn->s);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* sn->order: the active slots sorted by id, through keys id << 32 | slot. */
static int snap_order(struct snap *sn)
{
	const struct shm_view *v = &sn->v;
	uint64_t *key = malloc(sizeof(*key) * v->n);
	uint32_t i, k = 0;

	sn->order = malloc(sizeof(*sn->order) * v->n);
	if (!key || !sn->order) {
		free(key);
		return -1;
	}
	for (i = 0; i < v->n; i++)
		if (v->targets[i].active)
			key[k++] = (uint64_t)v->targets[i].id << 32 | i;
	qsort(key, k, sizeof(*key), cmp_u64);
	for (i = 0; i < k; i++)
		sn->order[i] = (uint32_t)key[i];
	sn->nactive = k;
	free(key);
	return 0;
}

/* Who owns each counter set.  Returns 0, or -1 with the reason in why. */
static int load_owners(struct snap *sn, char *why)
{
	unsigned int i;

	for (i = 0; i < SHM_WORKERS; i++)
		if (shm_worker_owner(sn->s, i, &sn->owner[i]) < 0) {
			snprintf(why, WHY_MAX, "counter set %u: %s", i, strerror(errno));
			return -1;
		}
	return 0;
}

/* Open a table read-only and copy its current, validated content. */
static int snap_load(const struct cmd *cmd, const char *name, struct snap *sn)
{
	char why[WHY_MAX] = "";

	memset(sn, 0, sizeof(*sn));
	sn->s = table_open(cmd, name, false);
	if (!sn->s)
		return NFQLB_FAIL;
	sn->target = calloc(sn->s->n, sizeof(*sn->target));
	sn->fast = calloc(sn->s->n, sizeof(*sn->fast));
	if (sn->target && sn->fast && shm_view_init(&sn->v, sn->s->m, sn->s->n) == 0 &&
	    shm_read(sn->s, &sn->v, why) == 0 && snap_order(sn) == 0 &&
	    load_owners(sn, why) == 0) {
		shm_counts(sn->s, sn->target, sn->cnt);
		shm_fast_counts(sn->s, sn->target, sn->fast);
		return NFQLB_OK;
	}
	if (!why[0])	/* out of memory: shm_read() fills why */
		snprintf(why, sizeof(why), "%s", strerror(errno));
	snap_free(sn);
	return cmd_error(cmd, "table \"%s\": %s", name, why);
}

/* show and stats: no arguments; one printer for text, one for --json. */
static int print_cmd(const struct cmd *cmd, const struct optval *ov, int argc,
		     char **argv, snap_printer text, snap_printer json)
{
	const char *name;
	struct snap sn;
	int r;

	if ((r = opt_operands(cmd, ov, argc, argv, 0)) || (r = table_name(cmd, ov, &name)) ||
	    (r = snap_load(cmd, name, &sn)))
		return r;
	if (opt_get(cmd, ov, "json"))
		json(&sn);
	else
		text(&sn);
	snap_free(&sn);
	return NFQLB_OK;
}

static void show_json(const struct snap *sn)
{
	const struct shm_view *v = &sn->v;
	const struct shm *s = sn->s;
	const struct shm_target *t;
	uint32_t i;

	printf("{\"M\":%u,\"N\":%u,\"hash\":\"%s\",\"seed\":%u,\"generation\":%llu,"
	       "\"targets\":[", s->m, s->n, hash_mode_name(s->mode), s->seed,
	       (unsigned long long)v->generation);
	for (i = 0; i < sn->nactive; i++) {
		t = &v->targets[sn->order[i]];
		printf("%s{\"id\":%u,\"weight\":%u,\"entries\":%u}", i ? "," : "",
		       t->id, t->weight, t->entries);
	}
	printf("],\"lookup\":[");
	for (i = 0; i < v->m; i++)
		printf("%s%u", i ? "," : "", v->lookup[i] == SHM_NO_SLOT ? 0 :
		       v->targets[v->lookup[i]].id);
	printf("]}\n");
}

static void show_text(const struct snap *sn)
{
	const struct shm_view *v = &sn->v;
	const struct shm *s = sn->s;
	const struct shm_target *t;
	uint32_t i;

	printf("table %s: M %u, N %u, hash %s, seed %u, generation %llu\n",
	       s->name + 1, s->m, s->n, hash_mode_name(s->mode), s->seed,
	       (unsigned long long)v->generation);
	printf("%12s %7s %8s %8s\n", "id", "weight", "entries", "share");
	for (i = 0; i < sn->nactive; i++) {
		t = &v->targets[sn->order[i]];
		printf("%12u %7u %8u %7.2f%%\n", t->id, t->weight, t->entries,
		       100.0 * t->entries / s->m);
	}
	if (!sn->nactive)
		printf("(no active targets)\n");
}

static int do_show(const struct cmd *cmd, const struct optval *ov, int argc,
		   char **argv)
{
	return print_cmd(cmd, ov, argc, argv, show_text, show_json);
}

static uint64_t load64(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

/* Packets a counter set has classified: the sum over packet kinds. */
static uint64_t set_packets(const struct shm_worker *w)
{
	uint64_t sum = 0;
	unsigned int k;

	for (k = 0; k < SHM_CNT_KINDS; k++)
		sum += load64(&w->cnt[k]);
	return sum;
}

/* A set's queue: SHM_QUEUE_FASTPATH for the fast path's, UINT32_MAX for
 * one never used. */
static uint32_t set_queue(const struct shm_worker *w)
{
	return __atomic_load_n(&w->queue, __ATOMIC_RELAXED);
}

/* The sets of NFQUEUE workers (fast false) or of fast paths (true), as
 * members of a JSON array: a fast path has no queue and no queue figures. */
static void stats_json_sets(const struct snap *sn, bool fast)
{
	const char *sep = "";
	unsigned int i;

	for (i = 0; i < SHM_WORKERS; i++) {
		const struct shm_worker *w = shm_worker_at(sn->s, i);
		const struct shm_owner *o = &sn->owner[i];
		uint32_t q = set_queue(w);

		if (q == UINT32_MAX || (q == SHM_QUEUE_FASTPATH) != fast)
			continue;
		printf("%s{", sep);
		if (!fast)
			printf("\"queue\":%u,", q);
		printf("\"running\":%s,\"packets\":%llu,", o->running ? "true" : "false",
		       (unsigned long long)set_packets(w));
		if (!fast)
			printf("\"waiting\":%llu,\"queue_dropped\":%llu,\"user_dropped\":%llu,",
			       (unsigned long long)load64(&w->q_total),
			       (unsigned long long)load64(&w->q_dropped),
			       (unsigned long long)load64(&w->u_dropped));
		printf("\"pid\":%d,\"other_pidns\":%s}", o->pid,
		       o->other_pidns ? "true" : "false");
		sep = ",";
	}
}

static void stats_json_queues(const struct snap *sn)
{
	printf("],\"queues\":[");
	stats_json_sets(sn, false);
	printf("],\"fastpath\":[");
	stats_json_sets(sn, true);
	printf("]}\n");
}

static void stats_json(const struct snap *sn)
{
	const uint64_t *target = sn->target, *cnt = sn->cnt;
	const struct shm_view *v = &sn->v;
	const char *sep = "";
	uint32_t i;

	printf("{\"generation\":%llu,\"no_target\":%llu,\"accepted\":%llu,"
	       "\"dropped\":%llu,\"kinds\":{", (unsigned long long)v->generation,
	       (unsigned long long)cnt[SHM_CNT_NO_TARGET],
	       (unsigned long long)cnt[SHM_CNT_ACCEPT],
	       (unsigned long long)cnt[SHM_CNT_DROP]);
	for (i = 0; i < SHM_CNT_KINDS; i++)
		printf("%s\"%s\":%llu", i ? "," : "", shm_cnt_name(i),
		       (unsigned long long)cnt[i]);
	printf("},\"fragments\":{");
	for (i = SHM_CNT_FRAG_FIRST; i < SHM_CNT_FRAG_END; i++)
		printf("%s\"%s\":%llu", i > SHM_CNT_FRAG_FIRST ? "," : "",
		       shm_cnt_name(i) + strlen(SHM_CNT_FRAG_PREFIX),
		       (unsigned long long)cnt[i]);
	printf("},\"targets\":[");
	for (i = 0; i < v->n; i++) {
		if (!v->targets[i].id)
			continue;
		printf("%s{\"id\":%u,\"active\":%s,\"packets\":%llu,\"fast\":%llu}", sep,
		       v->targets[i].id, v->targets[i].active ? "true" : "false",
		       (unsigned long long)target[i], (unsigned long long)sn->fast[i]);
		sep = ",";
	}
	stats_json_queues(sn);
}

static void stats_text_queues(const struct snap *sn)
{
	bool other = false;
	char pid[16];
	unsigned int i;

	printf("%8s %8s %9s %14s %8s %14s %13s\n", "queue", "worker", "pid",
	       "packets", "waiting", "queue-dropped", "user-dropped");
	for (i = 0; i < SHM_WORKERS; i++) {
		const struct shm_worker *w = shm_worker_at(sn->s, i);
		const struct shm_owner *o = &sn->owner[i];
		uint32_t q = set_queue(w);

		if (q == UINT32_MAX)
			continue;
		snprintf(pid, sizeof(pid), "%d%s", o->pid, o->other_pidns ? "*" : "");
		other |= o->other_pidns;
		if (q == SHM_QUEUE_FASTPATH)
			printf("%8s", "fastpath");
		else
			printf("%8u", q);
		printf(" %8s %9s %14llu", o->running ? "running" : "gone", pid,
		       (unsigned long long)set_packets(w));
		if (q == SHM_QUEUE_FASTPATH)
			printf(" %8s %14s %13s\n", "-", "-", "-");
		else
			printf(" %8llu %14llu %13llu\n", (unsigned long long)load64(&w->q_total),
			       (unsigned long long)load64(&w->q_dropped),
			       (unsigned long long)load64(&w->u_dropped));
	}
	if (other)
		printf("* a PID in another PID namespace\n");
}

static void stats_text(const struct snap *sn)
{
	const uint64_t *target = sn->target, *cnt = sn->cnt;
	const struct shm_view *v = &sn->v;
	uint32_t i;

	printf("table %s: generation %llu\n", sn->s->name + 1,
	       (unsigned long long)v->generation);
	printf("%12s %9s %14s %14s\n", "id", "state", "packets", "fast");
	for (i = 0; i < v->n; i++)
		if (v->targets[i].id)
			printf("%12u %9s %14llu %14llu\n", v->targets[i].id,
			       v->targets[i].active ? "active" : "inactive",
			       (unsigned long long)target[i], (unsigned long long)sn->fast[i]);
	printf("no target: %llu\nverdicts: accepted %llu, dropped %llu\nkinds:",
	       (unsigned long long)cnt[SHM_CNT_NO_TARGET],
	       (unsigned long long)cnt[SHM_CNT_ACCEPT],
	       (unsigned long long)cnt[SHM_CNT_DROP]);
	for (i = 0; i < SHM_CNT_KINDS; i++)
		printf(" %s %llu", shm_cnt_name(i), (unsigned long long)cnt[i]);
	printf("\nfragments:");
	for (i = SHM_CNT_FRAG_FIRST; i < SHM_CNT_FRAG_END; i++)
		printf(" %s %llu", shm_cnt_name(i) + strlen(SHM_CNT_FRAG_PREFIX),
		       (unsigned long long)cnt[i]);
	printf("\n");
	stats_text_queues(sn);
}

static int do_stats(const struct cmd *cmd, const struct optval *ov, int argc,
		    char **argv)
{
	const char *name;
	int r;

	if (opt_get(cmd, ov, "flows"))
		return flowstats_cmd(cmd, ov, argc, argv);
	if (!opt_get(cmd, ov, "prometheus"))
		return print_cmd(cmd, ov, argc, argv, stats_text, stats_json);
	if (opt_get(cmd, ov, "json"))
		return usage_error(cmd, "--json and --prometheus exclude each other");
	if ((r = opt_operands(cmd, ov, argc, argv, 0)) || (r = table_name(cmd, ov, &name)))
		return r;
	return metrics_stats(cmd, name);
}

const struct cmd cmd_init = {
	"init", do_init, "create the shared table", NULL, init_opts,
};
const struct cmd cmd_delete = {
	"delete", do_delete, "delete the shared table", NULL, delete_opts,
};
const struct cmd cmd_activate = {
	"activate", do_activate, "activate targets (as one update)", "ID...",
	activate_opts,
};
const struct cmd cmd_deactivate = {
	"deactivate", do_deactivate, "deactivate targets (as one update)", "ID...",
	shm_only_opts,
};
const struct cmd cmd_show = {
	"show", do_show, "print the table and its targets", NULL, print_opts,
};
const struct cmd cmd_stats = {
	"stats", do_stats, "print packet counters per target and per queue", NULL,
	stats_opts,
};
