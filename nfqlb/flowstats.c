/* SPDX-License-Identifier: GPL-2.0-or-later */
/* flowstats.c: `nfqlb stats --flows NAME`: per flow, the packets it
 * matched and those that found no target, with its table's per-target
 * counts; and the packets no flow matched. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flows/flowset.h"
#include "nfqlb/cli.h"
#include "nfqlb/json.h"
#include "nfqlb/table.h"

/* What is printed: the flows, their counts, the set's counters. */
struct fsnap {
	struct flowset *fs;
	struct flowset_view v;
	uint64_t (*flow)[FLOWSET_F_MAX];
	uint64_t cnt[FLOWSET_C_MAX];
};

/* A table's targets and counts, for one flow's line. */
struct tsnap {
	struct shm *s;
	struct shm_view v;
	uint64_t *target;
	uint64_t *fast;		/* of target, the fast path's (lb --bpf) */
	uint64_t cnt[SHM_CNT_MAX];
};

static int tsnap_load(const char *name, struct tsnap *t, char *why)
{
	memset(t, 0, sizeof(*t));
	t->s = shm_attach(name, false, why);
	if (!t->s)
		return -1;
	t->target = calloc(t->s->n, sizeof(*t->target));
	t->fast = calloc(t->s->n, sizeof(*t->fast));
	if (t->target && t->fast && shm_view_init(&t->v, t->s->m, t->s->n) == 0 &&
	    shm_read(t->s, &t->v, why) == 0) {
		shm_counts(t->s, t->target, t->cnt);
		shm_fast_counts(t->s, t->target, t->fast);
		return 0;
	}
	if (!why[0])
		snprintf(why, WHY_MAX, "%s", strerror(errno));
	return -1;
}

static void tsnap_free(struct tsnap *t)
{
	free(t->target);
	free(t->fast);
	shm_view_free(&t->v);
	shm_detach(t->s);
}

static void targets_json(const struct tsnap *t)
{
	const char *sep = "";
	uint32_t i;

	printf(",\"targets\":[");
	for (i = 0; i < t->v.n; i++) {
		if (!t->v.targets[i].id)
			continue;
		printf("%s{\"id\":%u,\"active\":%s,\"packets\":%llu,\"fast\":%llu}", sep,
		       t->v.targets[i].id, t->v.targets[i].active ? "true" : "false",
		       (unsigned long long)t->target[i], (unsigned long long)t->fast[i]);
		sep = ",";
	}
	printf("]");
}

static void targets_text(const struct tsnap *t)
{
	uint32_t i;

	printf("  %12s %9s %14s %14s\n", "id", "state", "packets", "fast");
	for (i = 0; i < t->v.n; i++)
		if (t->v.targets[i].id)
			printf("  %12u %9s %14llu %14llu\n", t->v.targets[i].id,
			       t->v.targets[i].active ? "active" : "inactive",
			       (unsigned long long)t->target[i], (unsigned long long)t->fast[i]);
}

static void flow_line(const struct fsnap *sn, uint32_t i, bool json)
{
	const struct flow *f = &sn->v.flows[i];
	const uint64_t *c = sn->flow[sn->v.slot[i]];
	char why[WHY_MAX] = "";
	struct tsnap t;
	int ok = tsnap_load(f->table, &t, why);

	if (json) {
		printf("%s{\"name\":\"%s\",\"table\":", i ? "," : "", f->name);
		json_str(f->table);
		printf(",\"prio\":%d,\"packets\":%llu,\"no_target\":%llu", f->prio,
		       (unsigned long long)c[FLOWSET_F_PACKETS],
		       (unsigned long long)c[FLOWSET_F_NO_TARGET]);
		if (ok == 0) {
			targets_json(&t);
		} else {
			printf(",\"targets\":null,\"table_error\":");
			json_str(why);
		}
		printf("}");
	} else {
		printf("flow %s: table %s, prio %d: packets %llu, no target %llu\n", f->name,
		       f->table, f->prio, (unsigned long long)c[FLOWSET_F_PACKETS],
		       (unsigned long long)c[FLOWSET_F_NO_TARGET]);
		if (ok == 0)
			targets_text(&t);
		else
			printf("  table %s: %s\n", f->table, why);
	}
	tsnap_free(&t);
}

/* Counters first..end-1 as JSON members or " name count" pairs, their
 * names without skip bytes. */
static void print_counts(const uint64_t *cnt, unsigned int first, unsigned int end,
			 size_t skip, bool json)
{
	unsigned int i;

	for (i = first; i < end; i++)
		printf(json ? "%s\"%s\":%llu" : "%s%s %llu", json ? (i > first ? "," : "") : " ",
		       shm_cnt_name(i) + skip, (unsigned long long)cnt[i]);
}

static void json_head(const struct fsnap *sn, const char *name)
{
	const uint64_t *k = sn->cnt + FLOWSET_C_KINDS;

	printf("{\"flow_set\":");
	json_str(name);
	printf(",\"generation\":%llu,\"no_flow\":%llu,\"accepted\":%llu,\"dropped\":%llu,"
	       "\"kinds\":{", (unsigned long long)sn->v.generation,
	       (unsigned long long)sn->cnt[FLOWSET_C_NO_FLOW],
	       (unsigned long long)k[SHM_CNT_ACCEPT], (unsigned long long)k[SHM_CNT_DROP]);
}

static void print_snap(const struct fsnap *sn, const char *name, bool json)
{
	const uint64_t *k = sn->cnt + FLOWSET_C_KINDS;
	uint32_t i;

	if (json)
		json_head(sn, name);
	else
		printf("flow set %s: generation %llu\nno flow: %llu\nverdicts: accepted %llu, "
		       "dropped %llu\nkinds:", name, (unsigned long long)sn->v.generation,
		       (unsigned long long)sn->cnt[FLOWSET_C_NO_FLOW],
		       (unsigned long long)k[SHM_CNT_ACCEPT], (unsigned long long)k[SHM_CNT_DROP]);
	print_counts(k, 0, SHM_CNT_KINDS, 0, json);
	printf(json ? "},\"fragments\":{" : "\nfragments:");
	print_counts(k, SHM_CNT_FRAG_FIRST, SHM_CNT_FRAG_END, strlen(SHM_CNT_FRAG_PREFIX), json);
	printf(json ? "},\"flows\":[" : "\n");
	for (i = 0; i < sn->v.n; i++)
		flow_line(sn, i, json);
	if (json)
		printf("]}\n");
}

int flowstats_cmd(const struct cmd *cmd, const struct optval *ov, int argc, char **argv)
{
	const char *name = flowset_name(opt_get(cmd, ov, "flows"));
	struct fsnap sn = { 0 };
	char why[WHY_MAX] = "";
	int r;

	if ((r = opt_operands(cmd, ov, argc, argv, 0)))
		return r;
	if (opt_get(cmd, ov, "shm") || opt_get(cmd, ov, "prometheus"))
		return usage_error(cmd, "--flows excludes --%s",
				   opt_get(cmd, ov, "shm") ? "shm" : "prometheus");
	sn.fs = flow_open(cmd, name, false, false);
	if (!sn.fs)
		return NFQLB_FAIL;
	sn.flow = calloc(FLOW_MAX, sizeof(*sn.flow));
	r = NFQLB_FAIL;
	if (sn.flow && flowset_view_init(&sn.v) == 0 &&
	    flowset_read(sn.fs, &sn.v, why) == 0) {
		flowset_counts(sn.fs, sn.flow, sn.cnt);
		print_snap(&sn, name, opt_get(cmd, ov, "json") != NULL);
		r = NFQLB_OK;
	} else
		cmd_error(cmd, "flow set \"%s\": %s", name, why[0] ? why : strerror(errno));
	flowset_view_free(&sn.v);
	free(sn.flow);
	flowset_detach(sn.fs);
	return r;
}
