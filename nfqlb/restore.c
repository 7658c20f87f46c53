/* SPDX-License-Identifier: GPL-2.0-or-later */
/* restore.c: `nfqlb restore`, which makes tables what a save says
 * (format: savefile.h).
 *
 * Three phases: the whole input is parsed and checked; every table it
 * names is opened and compared with it; then each table that differs gets
 * one change.  An error in the first two changes nothing.  In the third,
 * tables earlier in the input may already be restored when a later one
 * fails: each table is atomic, the whole input is not.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nfqlb/cli.h"
#include "nfqlb/savefile.h"
#include "nfqlb/table.h"

static const struct opt restore_opts[] = {
	{ "dry-run", NULL, "print what would change, and change nothing" },
	{ NULL, NULL, NULL },
};

enum step {
	STEP_UNCHANGED,	/* same parameters, same targets */
	STEP_UPDATE,	/* same parameters: one update of the targets */
	STEP_CREATE,	/* no such table */
	STEP_REPLACE,	/* other parameters: a new object under the name */
};

struct plan {
	const struct savefile_table *want;
	struct savefile_table have;	/* the table now (empty for STEP_CREATE) */
	struct shm *s;			/* the table now, or NULL */
	enum step step;
};

static int read_input(const struct cmd *cmd, const char *file,
		      struct savefile *sf)
{
	const char *label = file ? file : "stdin";
	char why[WHY_MAX] = "";
	unsigned long line;
	FILE *in = stdin;
	int r;

	if (!file && isatty(STDIN_FILENO))
		return usage_error(cmd, "reads a save on standard input: give a FILE, "
				   "or pipe 'nfqlb save' into it");
	if (file && !(in = fopen(file, "r")))
		return cmd_error(cmd, "%s: %s", file, strerror(errno));
	r = savefile_parse(in, sf, &line, why);
	if (in != stdin)
		fclose(in);
	if (r == 0)
		return NFQLB_OK;
	if (line)
		return cmd_error(cmd, "%s:%lu: %s; nothing changed", label, line, why);
	return cmd_error(cmd, "%s: %s; nothing changed", label, why);
}

static bool same_params(const struct shm_params *a, const struct shm_params *b)
{
	return a->m == b->m && a->n == b->n && a->mode == b->mode && a->seed == b->seed;
}

static bool same_targets(const struct savefile_table *a,
			 const struct savefile_table *b)
{
	uint32_t i;

	if (a->k != b->k)
		return false;
	for (i = 0; i < a->k; i++)
		if (a->targets[i].id != b->targets[i].id ||
		    a->targets[i].weight != b->targets[i].weight)
			return false;
	return true;
}

/* Open the table and decide its step.  A missing table is no error. */
static int plan_one(const struct cmd *cmd, struct plan *pl, bool writable)
{
	const char *name = pl->want->name;
	char why[WHY_MAX] = "";

	pl->s = shm_attach(name, writable, why);
	if (!pl->s && errno == ENOENT) {
		pl->step = STEP_CREATE;
		return NFQLB_OK;
	}
	if (!pl->s && errno == EACCES)
		return cmd_error(cmd, "table \"%s\": permission denied; nothing changed", name);
	if (!pl->s || savefile_load(pl->s, &pl->have, why) < 0)
		return cmd_error(cmd, "table \"%s\": %s; nothing changed", name, why);
	if (!same_params(&pl->have.p, &pl->want->p))
		pl->step = STEP_REPLACE;
	else if (same_targets(&pl->have, pl->want))
		pl->step = STEP_UNCHANGED;
	else
		pl->step = STEP_UPDATE;
	return NFQLB_OK;
}

/* The targets' changes, as --dry-run prints them: both lists are by id. */
static void print_diff(const struct savefile_table *have,
		       const struct savefile_table *want)
{
	const struct savefile_target *h = have->targets, *w = want->targets;
	const struct savefile_target *hend = h + have->k, *wend = w + want->k;

	while (h < hend || w < wend) {
		if (w == wend || (h < hend && h->id < w->id)) {
			printf("  deactivate %u\n", (h++)->id);
		} else if (h == hend || w->id < h->id) {
			printf("  activate %u weight=%u\n", w->id, w->weight);
			w++;
		} else {
			if (h->weight != w->weight)
				printf("  weight %u %u -> %u\n", w->id, h->weight, w->weight);
			h++;
			w++;
		}
	}
}

/* "m 997 -> 65537, hash 5tuple -> addr": the parameters that change. */
static void print_replace(const struct shm_params *a, const struct shm_params *b)
{
	const char *sep = "";

	printf(" (");
	if (a->m != b->m) {
		printf("%sm %u -> %u", sep, a->m, b->m);
		sep = ", ";
	}
	if (a->n != b->n) {
		printf("%sn %u -> %u", sep, a->n, b->n);
		sep = ", ";
	}
	if (a->mode != b->mode) {
		printf("%shash %s -> %s", sep, hash_mode_name(a->mode),
		       hash_mode_name(b->mode));
		sep = ", ";
	}
	if (a->seed != b->seed)
		printf("%sseed %u -> %u", sep, a->seed, b->seed);
	printf(")");
}

static void print_plan(const struct plan *pl)
{
	static const char *const verb[] = { "unchanged", "update", "create", "replace" };
	const struct shm_params *p = &pl->want->p;

	printf("table %s: %s", pl->want->name, verb[pl->step]);
	if (pl->step == STEP_CREATE)
		printf(" (m=%u n=%u hash=%s seed=%u)", p->m, p->n, hash_mode_name(p->mode),
		       p->seed);
	if (pl->step == STEP_REPLACE)
		print_replace(&pl->have.p, p);
	printf("\n");
	print_diff(&pl->have, pl->want);
}

/* One update that makes the table's active targets t's. */
/* A table's targets as the shm module takes them; NULL (ENOMEM) on failure. */
static struct maglev_target *targets_of(const struct savefile_table *t, char *why)
{
	struct maglev_target *mt = malloc(sizeof(*mt) * (t->k ? t->k : 1));
	uint32_t i;

	if (!mt) {
		why_fail(ENOMEM, why, "%s", strerror(ENOMEM));
		return NULL;
	}
	for (i = 0; i < t->k; i++)
		mt[i] = (struct maglev_target){ t->targets[i].id, t->targets[i].weight };
	return mt;
}

static int set_targets(struct shm *s, const struct savefile_table *t, char *why)
{
	struct maglev_target *mt = targets_of(t, why);
	uint32_t bad = 0;
	int r;

	if (!mt)
		return -1;
	r = shm_set_targets(s, mt, t->k, &bad, why);
	free(mt);
	return r;
}

/*
 * A missing table, or one of other parameters (force): the shm module
 * builds the new one complete, targets included, under a private name and
 * gives it the name in one step, refusing a name taken meanwhile or, with
 * force, replacing what the name holds then (locked meanwhile, retired
 * after, so a worker using it follows the name to the new one).
 */
static int install_table(const struct savefile_table *t, bool force, char *why)
{
	struct maglev_target *mt = targets_of(t, why);
	int r;

	if (!mt)
		return -1;
	r = shm_create_targets(t->name, &t->p, mt, t->k, force, why);
	if (r < 0 && errno == EEXIST)
		why_fail(EEXIST, why, "it was created meanwhile: run restore again");
	free(mt);
	return r;
}

static int apply_one(const struct plan *pl, char *why)
{
	switch (pl->step) {
	case STEP_UPDATE:
		return set_targets(pl->s, pl->want, why);
	case STEP_CREATE:
		return install_table(pl->want, false, why);
	case STEP_REPLACE:
		return install_table(pl->want, true, why);
	default:
		return 0;
	}
}

/* Plan every table, then print the plans or apply them. */
static int run(const struct cmd *cmd, const struct savefile *sf, struct plan *pl,
	       bool dry)
{
	char why[WHY_MAX] = "";
	size_t i;
	int r;

	for (i = 0; i < sf->k; i++) {
		pl[i].want = &sf->tables[i];
		if ((r = plan_one(cmd, &pl[i], !dry)))
			return r;
	}
	for (i = 0; dry && i < sf->k; i++)
		print_plan(&pl[i]);
	for (i = 0; !dry && i < sf->k; i++)
		if (apply_one(&pl[i], why) < 0)
			return cmd_error(cmd, "table \"%s\": %s; %s", pl[i].want->name, why,
					 i ? "the tables before it in the input were restored, "
					 "it and those after it were not" : "nothing changed");
	return NFQLB_OK;
}

static int do_restore(const struct cmd *cmd, const struct optval *ov, int argc,
		      char **argv)
{
	const char *file = argc > ov->first ? argv[ov->first] : NULL;
	struct savefile sf = { NULL, 0 };
	struct plan *pl;
	size_t i;
	int r;

	if (opt_operands(cmd, ov, argc, argv, 1))
		return NFQLB_USAGE;
	if (file && strcmp(file, "-") == 0)
		file = NULL;
	r = read_input(cmd, file, &sf);
	pl = calloc(sf.k ? sf.k : 1, sizeof(*pl));
	if (!r && !pl)
		r = cmd_error(cmd, "%s; nothing changed", strerror(errno));
	if (!r)
		r = run(cmd, &sf, pl, opt_get(cmd, ov, "dry-run") != NULL);
	for (i = 0; pl && i < sf.k; i++) {
		savefile_table_free(&pl[i].have);
		shm_detach(pl[i].s);
	}
	free(pl);
	savefile_free(&sf);
	return r;
}

const struct cmd cmd_restore = {
	"restore", do_restore, "make the tables what a save says (one update each)",
	"[FILE]", restore_opts,
};
