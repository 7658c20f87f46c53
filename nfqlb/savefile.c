/* SPDX-License-Identifier: GPL-2.0-or-later */
/* savefile.c: the text format of save and restore: parse, load, print
 * (see savefile.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "maglev/maglev.h"
#include "nfqlb/opt.h"
#include "nfqlb/savefile.h"

#define FIELDS_MAX 8	/* more fields than any line has */

struct parser {
	struct savefile *sf;
	struct savefile_table *cur;	/* the open block, or NULL */
	size_t cap;			/* tables allocated */
	uint32_t tcap;			/* targets allocated in cur */
	unsigned long line;
};

/* Split a line into blank-separated fields.  Returns their number, or -1
 * when there are more than max. */
static int split(char *s, char **field, int max)
{
	int n = 0;

	for (;;) {
		s += strspn(s, " \t\r\n");
		if (!*s)
			return n;
		if (n == max)
			return -1;
		field[n++] = s;
		s += strcspn(s, " \t\r\n");
		if (*s)
			*s++ = '\0';
	}
}

static int bad_m(uint32_t m, char *why)
{
	uint32_t lo = maglev_prime_below(m), hi = maglev_prime_above(m);

	if (m < 2 || m > SHM_M_MAX)
		return why_fail(EINVAL, why, "m %u is out of range 2..%u", m, SHM_M_MAX);
	if (hi > SHM_M_MAX)
		return why_fail(EINVAL, why, "m %u is not prime; the nearest prime below is %u",
				m, lo);
	return why_fail(EINVAL, why, "m %u is not prime; the nearest primes are %u and %u",
			m, lo, hi);
}

/* The value of field i (m, n, hash, seed) of a table line, into p. */
static int field_value(unsigned int i, const char *v, struct shm_params *p,
		       char *why)
{
	int mode;

	switch (i) {
	case 0:
		if (opt_u32(v, 0, UINT32_MAX, &p->m) == 0)
			return 0;
		return why_fail(EINVAL, why, "bad m '%s': want a prime 2..%u", v, SHM_M_MAX);
	case 1:
		if (opt_u32(v, 1, SHM_N_MAX, &p->n) == 0)
			return 0;
		return why_fail(EINVAL, why, "bad n '%s': want 1..%u", v, SHM_N_MAX);
	case 2:
		if ((mode = hash_mode_parse(v)) < 0)
			return why_fail(EINVAL, why, "bad hash '%s': want " HASH_MODE_LIST, v);
		p->mode = (enum hash_mode)mode;
		return 0;
	default:
		if (opt_u32(v, 0, UINT32_MAX, &p->seed) == 0)
			return 0;
		return why_fail(EINVAL, why, "bad seed '%s': want 0..%u", v, UINT32_MAX);
	}
}

/* One key=value field of a table line into p; *seen gets its bit. */
static int table_field(const char *f, struct shm_params *p, unsigned int *seen,
		       char *why)
{
	static const char *const keys[] = { "m", "n", "hash", "seed" };
	const char *eq = strchr(f, '=');
	unsigned int i;

	for (i = 0; i < 4; i++)
		if (eq && strlen(keys[i]) == (size_t)(eq - f) &&
		    strncmp(f, keys[i], (size_t)(eq - f)) == 0)
			break;
	if (i == 4)
		return why_fail(EINVAL, why, "unknown field '%s' (want m=, n=, hash= and seed=)", f);
	if (*seen & 1u << i)
		return why_fail(EINVAL, why, "%s= given twice", keys[i]);
	*seen |= 1u << i;
	return field_value(i, eq + 1, p, why);
}

static int table_params(char **field, int n, struct shm_params *p, char *why)
{
	unsigned int seen = 0;
	int i;

	for (i = 0; i < n; i++)
		if (table_field(field[i], p, &seen, why) < 0)
			return -1;
	if (seen != 15)
		return why_fail(EINVAL, why, "missing %s= (a table line gives m=, n=, hash= "
				"and seed=)", !(seen & 1) ? "m" : !(seen & 2) ? "n" :
				!(seen & 4) ? "hash" : "seed");
	if (p->m < 2 || p->m > SHM_M_MAX || !maglev_is_prime(p->m))
		return bad_m(p->m, why);
	if (p->n > p->m)
		return why_fail(EINVAL, why, "n %u is larger than m %u", p->n, p->m);
	return 0;
}

static int open_table(struct parser *ps, char **field, int n, char *why)
{
	struct savefile *sf = ps->sf;
	struct savefile_table *t;
	const char *rule;
	size_t i;

	if (ps->cur)
		return why_fail(EINVAL, why, "'table' before the 'end' of the table on line %lu",
				ps->cur->line);
	if (n < 2)
		return why_fail(EINVAL, why, "'table' needs a name");
	if ((rule = shm_name_why(field[1])))
		return why_fail(EINVAL, why, "bad table name: %s", rule);
	for (i = 0; i < sf->k; i++)
		if (strcmp(sf->tables[i].name, field[1]) == 0)
			return why_fail(EINVAL, why, "table \"%s\" is given twice (first on line %lu)",
					field[1], sf->tables[i].line);
	if (sf->k == ps->cap) {
		t = realloc(sf->tables, sizeof(*t) * (ps->cap * 2 + 1));
		if (!t)
			return why_fail(ENOMEM, why, "%s", strerror(ENOMEM));
		sf->tables = t;
		ps->cap = ps->cap * 2 + 1;
	}
	t = &sf->tables[sf->k++];
	memset(t, 0, sizeof(*t));
	strcpy(t->name, field[1]);
	t->line = ps->line;
	ps->cur = t;
	ps->tcap = 0;
	return table_params(field + 2, n - 2, &t->p, why);
}

static int add_target(struct parser *ps, char **field, int n, char *why)
{
	struct savefile_table *t = ps->cur;
	struct savefile_target x = { 0, 1, ps->line }, *grown;

	if (!t)
		return why_fail(EINVAL, why, "'target' outside a table (a 'table' line comes first)");
	if (n < 2 || n > 3)
		return why_fail(EINVAL, why, "want 'target ID [weight=W]'");
	if (opt_id(field[1], &x.id) < 0)
		return why_fail(EINVAL, why, "bad target id '%s': %s", field[1],
				opt_id_why(field[1]));
	if (n == 3 && (strncmp(field[2], "weight=", 7) != 0 ||
		       opt_u32(field[2] + 7, 1, MAGLEV_WEIGHT_MAX, &x.weight) < 0))
		return why_fail(EINVAL, why, "bad field '%s': want weight=1..%u", field[2],
				MAGLEV_WEIGHT_MAX);
	if (t->k == t->p.n)
		return why_fail(EINVAL, why, "more than n=%u targets", t->p.n);
	if (t->k == ps->tcap) {
		grown = realloc(t->targets, sizeof(*grown) * (ps->tcap * 2 + 4));
		if (!grown)
			return why_fail(ENOMEM, why, "%s", strerror(ENOMEM));
		t->targets = grown;
		ps->tcap = ps->tcap * 2 + 4;
	}
	t->targets[t->k++] = x;
	return 0;
}

static int cmp_target(const void *a, const void *b)
{
	const struct savefile_target *x = a, *y = b;

	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return (x->line > y->line) - (x->line < y->line);
}

/* Each target's lookup entries in the table its block describes. */
static int count_entries(const struct savefile_table *t, uint32_t *count)
{
	struct maglev_target *mt = malloc(sizeof(*mt) * (t->k ? t->k : 1));
	uint32_t *lookup = malloc(sizeof(*lookup) * t->p.m), i;
	int ret = -1;

	if (mt && lookup) {
		for (i = 0; i < t->k; i++)
			mt[i] = (struct maglev_target){ t->targets[i].id, t->targets[i].weight };
		ret = maglev_build(lookup, t->p.m, t->p.seed, mt, t->k);
		for (i = 0; ret == 0 && i < t->p.m; i++)
			if (lookup[i] != MAGLEV_EMPTY)
				count[lookup[i]]++;
	}
	free(mt);
	free(lookup);
	return ret;
}

/* An active target without entries gets no packets, and nothing would
 * tell: shm_set_targets() refuses it, so refuse it before anything changes. */
static int check_entries(struct parser *ps, const struct savefile_table *t, char *why)
{
	uint32_t *count = calloc(t->k ? t->k : 1, sizeof(*count)), i, wmax = 0;
	int ret = 0;

	if (!count || count_entries(t, count) < 0) {
		free(count);
		return why_fail(ENOMEM, why, "%s", strerror(ENOMEM));
	}
	for (i = 0; i < t->k; i++)
		if (t->targets[i].weight > wmax)
			wmax = t->targets[i].weight;
	for (i = 0; i < t->k && ret == 0; i++)
		if (!count[i]) {
			ps->line = t->targets[i].line;
			ret = why_fail(EINVAL, why, "target %u (weight %u) would get none of the "
				       "m=%u entries next to weight %u: use a larger m or "
				       "smaller weights", t->targets[i].id,
				       t->targets[i].weight, t->p.m, wmax);
		}
	free(count);
	return ret;
}

static int close_table(struct parser *ps, int n, char *why)
{
	struct savefile_table *t = ps->cur;
	uint32_t i;

	if (!t)
		return why_fail(EINVAL, why, "'end' outside a table");
	if (n != 1)
		return why_fail(EINVAL, why, "'end' takes no fields");
	if (t->k)	/* no array yet for an empty block */
		qsort(t->targets, t->k, sizeof(*t->targets), cmp_target);
	for (i = 1; i < t->k; i++)
		if (t->targets[i].id == t->targets[i - 1].id) {
			ps->line = t->targets[i].line;
			return why_fail(EINVAL, why, "target %u is given twice (first on line %lu)",
					t->targets[i].id, t->targets[i - 1].line);
		}
	ps->cur = NULL;
	return check_entries(ps, t, why);
}

static int parse_line(struct parser *ps, char *s, char *why)
{
	char *field[FIELDS_MAX];
	int n = split(s, field, FIELDS_MAX);

	if (n < 0)
		return why_fail(EINVAL, why, "too many fields");
	if (n == 0 || field[0][0] == '#')
		return 0;
	if (strcmp(field[0], "table") == 0)
		return open_table(ps, field, n, why);
	if (strcmp(field[0], "target") == 0)
		return add_target(ps, field, n, why);
	if (strcmp(field[0], "end") == 0)
		return close_table(ps, n, why);
	if (strcmp(field[0], "flows") == 0)
		return why_fail(EINVAL, why, "'flows' is not supported by this nfqlb "
				"(format %d)", SAVEFILE_FORMAT);
	return why_fail(EINVAL, why, "unknown keyword '%s' (want table, target or end)",
			field[0]);
}

/* One line into buf (size bytes), without its newline.  Returns its
 * length, -1 at the end of the input, or -2 for a line too long: a bound,
 * so that `restore /dev/zero` fails instead of eating memory. */
static long read_line(FILE *in, char *buf, size_t size)
{
	size_t n = 0;
	int c;

	while ((c = getc(in)) != EOF && c != '\n') {
		if (n + 1 == size)
			return -2;
		buf[n++] = (char)c;
	}
	if (c == EOF && n == 0)
		return -1;
	buf[n] = '\0';
	return (long)n;
}

int savefile_parse(FILE *in, struct savefile *sf, unsigned long *line, char *why)
{
	struct parser ps = { sf, NULL, 0, 0, 0 };
	char buf[SAVEFILE_LINE_MAX + 1];
	long len;
	int ret = 0;

	memset(sf, 0, sizeof(*sf));
	while (ret == 0 && (len = read_line(in, buf, sizeof(buf))) != -1) {
		ps.line++;
		if (len == -2)
			ret = why_fail(EINVAL, why, "line longer than %d bytes", SAVEFILE_LINE_MAX);
		else if (strlen(buf) != (size_t)len)
			ret = why_fail(EINVAL, why, "a NUL byte in the line");
		else
			ret = parse_line(&ps, buf, why);
	}
	if (ret == 0 && ferror(in)) {
		ps.line = 0;
		ret = why_fail(errno ? errno : EIO, why, "read error: %s",
			       strerror(errno ? errno : EIO));
	} else if (ret == 0 && ps.cur) {
		ps.line = ps.cur->line;
		ret = why_fail(EINVAL, why, "the table has no 'end' (is the input cut short?)");
	}
	*line = ps.line;
	return ret;
}

void savefile_table_free(struct savefile_table *t)
{
	free(t->targets);
	t->targets = NULL;
	t->k = 0;
}

void savefile_free(struct savefile *sf)
{
	size_t i;

	for (i = 0; i < sf->k; i++)
		savefile_table_free(&sf->tables[i]);
	free(sf->tables);
	sf->tables = NULL;
	sf->k = 0;
}

int savefile_load(const struct shm *s, struct savefile_table *t, char *why)
{
	struct shm_view v;
	uint32_t i;
	int ret = -1;

	memset(t, 0, sizeof(*t));
	snprintf(t->name, sizeof(t->name), "%s", s->name + 1);
	t->p = (struct shm_params){ s->m, s->n, s->seed, s->mode };
	if (shm_view_init(&v, s->m, s->n) < 0)
		return why_fail(ENOMEM, why, "%s", strerror(ENOMEM));
	t->targets = malloc(sizeof(*t->targets) * s->n);
	if (!t->targets)
		why_fail(ENOMEM, why, "%s", strerror(ENOMEM));
	else if (shm_read(s, &v, why) == 0)
		ret = 0;
	for (i = 0; ret == 0 && i < v.n; i++)
		if (v.targets[i].active)
			t->targets[t->k++] = (struct savefile_target){ v.targets[i].id,
								       v.targets[i].weight, 0 };
	shm_view_free(&v);
	if (ret == 0)
		qsort(t->targets, t->k, sizeof(*t->targets), cmp_target);
	return ret;
}

void savefile_print_header(FILE *out)
{
	fprintf(out, "# nfqlb save format %d\n", SAVEFILE_FORMAT);
}

void savefile_print_table(FILE *out, const struct savefile_table *t)
{
	uint32_t i;

	fprintf(out, "table %s m=%u n=%u hash=%s seed=%u\n", t->name, t->p.m, t->p.n,
		hash_mode_name(t->p.mode), t->p.seed);
	for (i = 0; i < t->k; i++)
		fprintf(out, "target %u weight=%u\n", t->targets[i].id, t->targets[i].weight);
	fprintf(out, "end\n");
}
