/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_save.c: the save format (parse, print), shm_set_targets(), and the
 * save and restore commands. */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "maglev/maglev.h"
#include "nfqlb/savefile.h"
#include "shm/shm.h"
#include "test/unit/cli_run.h"
#include "test/unit/suites.h"

static char name_a[64], name_b[64];
static char why[WHY_MAX];

static void setup(void)
{
	snprintf(name_a, sizeof(name_a), "nfqlb-save-%d-a", (int)getpid());
	snprintf(name_b, sizeof(name_b), "nfqlb-save-%d-b", (int)getpid());
}

static void teardown(void)
{
	char path[80];

	snprintf(path, sizeof(path), "/%s", name_a);
	shm_unlink(path);
	snprintf(path, sizeof(path), "/%s", name_b);
	shm_unlink(path);
}

/* Parse text; returns savefile_parse()'s result, *line its error line. */
static int parse(const char *text, struct savefile *sf, unsigned long *line)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	int r;

	ck_assert_ptr_nonnull(f);
	why[0] = '\0';
	r = savefile_parse(f, sf, line, why);
	fclose(f);
	return r;
}

START_TEST(test_parse_good)
{
	static const char text[] =
		"# a comment\n"
		"\n"
		"table one m=997 n=32 hash=5tuple seed=0\n"
		"target 0x10 weight=3\n"
		"  target 7\n"
		"\t# indented comment\n"
		"target 4294967295 weight=100\n"
		"end\n"
		"table two seed=0x20 hash=src n=2 m=7\r\n"
		"target 5 weight=1000\n"
		"end\n";
	char longest[SAVEFILE_LINE_MAX + 3];
	struct savefile sf;
	unsigned long line = 99;
	const struct savefile_table *t;

	ck_assert_int_eq(parse(text, &sf, &line), 0);
	ck_assert_uint_eq(sf.k, 2);
	t = &sf.tables[0];
	ck_assert_str_eq(t->name, "one");
	ck_assert_uint_eq(t->p.m, 997);
	ck_assert_uint_eq(t->p.n, 32);
	ck_assert_int_eq(t->p.mode, HASH_5TUPLE);
	ck_assert_uint_eq(t->line, 3);
	ck_assert_uint_eq(t->k, 3);
	/* by id, whatever the input order */
	ck_assert_uint_eq(t->targets[0].id, 7);
	ck_assert_uint_eq(t->targets[0].weight, 1);
	ck_assert_uint_eq(t->targets[0].line, 5);
	ck_assert_uint_eq(t->targets[1].id, 16);
	ck_assert_uint_eq(t->targets[1].weight, 3);
	ck_assert_uint_eq(t->targets[2].id, 4294967295u);
	ck_assert_uint_eq(t->targets[2].weight, 100);
	t = &sf.tables[1];
	ck_assert_str_eq(t->name, "two");
	ck_assert_uint_eq(t->p.m, 7);
	ck_assert_uint_eq(t->p.n, 2);
	ck_assert_uint_eq(t->p.seed, 32);
	ck_assert_int_eq(t->p.mode, HASH_SRC);
	ck_assert_uint_eq(t->k, 1);
	ck_assert_uint_eq(t->targets[0].weight, 1000);
	savefile_free(&sf);
	ck_assert_int_eq(parse("", &sf, &line), 0);
	ck_assert_uint_eq(sf.k, 0);
	savefile_free(&sf);
	/* The longest line is SAVEFILE_LINE_MAX bytes; one more is refused. */
	memset(longest, ' ', sizeof(longest));
	longest[0] = '#';
	strcpy(longest + SAVEFILE_LINE_MAX, "\n");
	ck_assert_int_eq(parse(longest, &sf, &line), 0);
	savefile_free(&sf);
	strcpy(longest + SAVEFILE_LINE_MAX, " \n");
	ck_assert_int_eq(parse(longest, &sf, &line), -1);
	ck_assert_uint_eq(line, 1);
	ck_assert_str_eq(why, "line longer than 1024 bytes");
	savefile_free(&sf);
}
END_TEST

/* Printed, then parsed again: the same tables, the same text. */
START_TEST(test_print_parse)
{
	static const char text[] =
		"# nfqlb save format 1\n"
		"table x m=11 n=3 hash=addr seed=4294967295\n"
		"target 1 weight=2\n"
		"target 9 weight=1\n"
		"end\n"
		"table y m=2 n=1 hash=src seed=0\n"
		"end\n"
		"table z m=997 n=32 hash=sctp seed=7\n"
		"target 3 weight=1\n"
		"end\n";
	struct savefile sf;
	unsigned long line;
	char *out = NULL;
	size_t len = 0, i;
	FILE *f;

	ck_assert_int_eq(parse(text, &sf, &line), 0);
	f = open_memstream(&out, &len);
	ck_assert_ptr_nonnull(f);
	savefile_print_header(f);
	for (i = 0; i < sf.k; i++)
		savefile_print_table(f, &sf.tables[i]);
	fclose(f);
	ck_assert_str_eq(out, text);
	free(out);
	savefile_free(&sf);
}
END_TEST

struct bad_case {
	const char *text;
	unsigned long line;	/* the line the error names */
	const char *what;	/* in the reason */
};

#define T1 "table t m=7 n=4 hash=5tuple seed=0\n"

static const struct bad_case bad_cases[] = {
	{ "# ok\nbogus 1\n", 2, "unknown keyword 'bogus'" },
	{ "target 1\n", 1, "'target' outside a table" },
	{ "end\n", 1, "'end' outside a table" },
	{ "\n" T1 "target 1\n", 2, "has no 'end'" },
	{ T1 T1, 2, "before the 'end' of the table on line 1" },
	{ "table\n", 1, "needs a name" },
	{ "table a/b m=7 n=4 hash=5tuple seed=0\nend\n", 1, "must not contain '/'" },
	{ "table .. m=7 n=4 hash=5tuple seed=0\nend\n", 1, "must not be" },
	{ "table t m=1000 n=4 hash=5tuple seed=0\nend\n", 1, "nearest primes are 997 and 1009" },
	{ "table t m=1 n=1 hash=5tuple seed=0\nend\n", 1, "out of range" },
	{ "table t m=1000033 n=4 hash=5tuple seed=0\nend\n", 1, "out of range" },
	{ "table t m=x n=4 hash=5tuple seed=0\nend\n", 1, "bad m 'x'" },
	{ "table t m=7 n=8 hash=5tuple seed=0\nend\n", 1, "n 8 is larger than m 7" },
	{ "table t m=7 n=0 hash=5tuple seed=0\nend\n", 1, "bad n '0'" },
	{ "table t m=7 n=4 hash=crc seed=0\nend\n", 1, "bad hash 'crc'" },
	{ "table t m=7 n=4 hash=addr seed=4294967296\nend\n", 1, "bad seed" },
	{ "table t m=7 n=4 hash=addr seed=-1\nend\n", 1, "bad seed" },
	{ "table t m=7 n=4 hash=addr\nend\n", 1, "missing seed=" },
	{ "table t m=7 m=7 n=4 hash=addr seed=0\nend\n", 1, "m= given twice" },
	{ "table t m=7 n=4 hash=addr seed=0 q=1\nend\n", 1, "unknown field 'q=1'" },
	{ "table t m=7 n=4 hash=addr seed=0 junk\nend\n", 1, "unknown field 'junk'" },
	{ T1 "target 010\nend\n", 2, "a leading 0 is refused" },
	{ T1 "target 0\nend\n", 2, "bad target id '0'" },
	{ T1 "target 4294967296\nend\n", 2, "bad target id" },
	{ T1 "target 1 weight=0\nend\n", 2, "bad field 'weight=0'" },
	{ T1 "target 1 weight=1001\nend\n", 2, "bad field 'weight=1001'" },
	{ T1 "target 1 wt=3\nend\n", 2, "bad field 'wt=3'" },
	{ T1 "target 1 weight=1 x\nend\n", 2, "want 'target ID [weight=W]'" },
	{ T1 "target\nend\n", 2, "want 'target ID [weight=W]'" },
	{ T1 "target 1\ntarget 2\ntarget 0x1\nend\n", 4, "target 1 is given twice (first on line 2)" },
	{ T1 "end\n" T1 "end\n", 3, "table \"t\" is given twice (first on line 1)" },
	{ T1 "target 1\ntarget 2\ntarget 3\ntarget 4\ntarget 5\nend\n", 6, "more than n=4 targets" },
	/* next to weight 1000, weight 1 gets none of 7 entries */
	{ T1 "target 1 weight=1000\ntarget 2 weight=1\nend\n", 3, "target 2 (weight 1) would get none" },
	{ T1 "end x\n", 2, "'end' takes no fields" },
	{ "flows x\n", 1, "'flows' is not supported" },
	{ "table t m=7 n=4 hash=5tuple seed=0 a b c d\n", 1, "too many fields" },
	{ T1 "target 1\0junk\nend\n", 2, "NUL byte" },
};

/* The NUL case's length is past its first NUL. */
static size_t case_len(const struct bad_case *c)
{
	return strstr(c->what, "NUL") ? strlen(c->text) + 1 + strlen(c->text + strlen(c->text) + 1)
				       : strlen(c->text);
}

START_TEST(test_parse_bad)
{
	const struct bad_case *c = &bad_cases[_i];
	FILE *f = fmemopen((void *)c->text, case_len(c), "r");
	struct savefile sf;
	unsigned long line = 0;

	ck_assert_ptr_nonnull(f);
	why[0] = '\0';
	ck_assert_int_eq(savefile_parse(f, &sf, &line, why), -1);
	ck_assert_int_eq(errno, EINVAL);
	fclose(f);
	ck_assert_msg(strstr(why, c->what), "case %d: why '%s' lacks '%s'", _i, why, c->what);
	ck_assert_msg(line == c->line, "case %d: line %lu, want %lu (%s)", _i, line,
		      c->line, why);
	savefile_free(&sf);
}
END_TEST

static struct shm *make(const char *name, uint32_t m, uint32_t n)
{
	struct shm_params p = { m, n, 0, HASH_5TUPLE };
	struct shm *s;

	ck_assert_int_eq(shm_create(name, &p, false), 0);
	s = shm_attach(name, true, why);
	ck_assert_ptr_nonnull(s);
	return s;
}

/* The slot that holds id, active or not, or -1. */
static int slot_of(const struct shm_view *v, uint32_t id)
{
	uint32_t i;

	for (i = 0; i < v->n; i++)
		if (v->targets[i].id == id)
			return (int)i;
	return -1;
}

static void read_view(const struct shm *s, struct shm_view *v)
{
	ck_assert_int_eq(shm_view_init(v, s->m, s->n), 0);
	ck_assert_int_eq(shm_read(s, v, why), 0);
}

/* shm_set_targets() with the ids and weights in two arrays. */
static int set_pairs(struct shm *s, const uint32_t *ids, const uint32_t *weights,
		     size_t k, uint32_t *bad, char *why_buf)
{
	struct maglev_target t[8];
	size_t i;

	ck_assert_uint_le(k, 8);
	for (i = 0; i < k; i++)
		t[i] = (struct maglev_target){ ids[i], weights[i] };
	return shm_set_targets(s, t, k, bad, why_buf);
}

START_TEST(test_set_targets)
{
	static const uint32_t ids1[] = { 3, 1, 2 }, w1[] = { 1, 1, 1 };
	static const uint32_t ids2[] = { 4, 2 }, w2[] = { 1, 5 };
	struct shm *s = make(name_a, 97, 4);
	struct shm_view v;
	uint32_t bad = 0;
	int slot2;

	ck_assert_int_eq(set_pairs(s, ids1, w1, 3, &bad, why), 0);
	ck_assert_uint_eq(shm_generation(s), 1);
	/* The same set again publishes nothing. */
	ck_assert_int_eq(set_pairs(s, ids1, w1, 3, &bad, why), 0);
	ck_assert_uint_eq(shm_generation(s), 1);
	ck_assert_int_eq(set_pairs(s, ids1 + 1, w1, 2, &bad, why), 0);
	ck_assert_uint_eq(shm_generation(s), 2);
	read_view(s, &v);
	slot2 = slot_of(&v, 2);
	ck_assert_int_ge(slot2, 0);
	shm_view_free(&v);
	/* 1 goes, 2 keeps its slot with a new weight, 4 is new: one update. */
	ck_assert_int_eq(set_pairs(s, ids2, w2, 2, &bad, why), 0);
	ck_assert_uint_eq(shm_generation(s), 3);
	read_view(s, &v);
	ck_assert_int_eq(slot_of(&v, 2), slot2);
	ck_assert_uint_eq(v.targets[slot2].active, 1);
	ck_assert_uint_eq(v.targets[slot2].weight, 5);
	ck_assert_int_ge(slot_of(&v, 4), 0);
	ck_assert_uint_eq(v.targets[slot_of(&v, 4)].active, 1);
	ck_assert_uint_eq(v.targets[slot_of(&v, 1)].active, 0);
	ck_assert_uint_eq(v.targets[slot_of(&v, 3)].active, 0);
	shm_view_free(&v);
	/* An empty set deactivates everything. */
	ck_assert_int_eq(set_pairs(s, NULL, NULL, 0, &bad, why), 0);
	ck_assert_uint_eq(shm_generation(s), 4);
	read_view(s, &v);
	ck_assert_uint_eq(v.lookup[0], SHM_NO_SLOT);
	shm_view_free(&v);
	shm_detach(s);
}
END_TEST

/* New ids reuse inactive slots once no slot is left unused; the table
 * holds exactly the wanted set. */
START_TEST(test_set_targets_reuse)
{
	static const uint32_t a[] = { 1, 2 }, b[] = { 3, 4 }, w[] = { 1, 2 };
	struct shm *s = make(name_a, 7, 2);
	struct shm_view v;
	uint32_t bad = 0, i, seen = 0;

	ck_assert_int_eq(set_pairs(s, a, w, 2, &bad, why), 0);
	ck_assert_int_eq(set_pairs(s, b, w, 2, &bad, why), 0);
	ck_assert_uint_eq(shm_generation(s), 2);
	read_view(s, &v);
	for (i = 0; i < v.n; i++) {
		ck_assert_uint_eq(v.targets[i].active, 1);
		seen |= 1u << v.targets[i].id;
	}
	ck_assert_uint_eq(seen, 1u << 3 | 1u << 4);
	shm_view_free(&v);
	shm_detach(s);
}
END_TEST

START_TEST(test_set_targets_refused)
{
	static const uint32_t ids[] = { 1, 2, 3 }, zero[] = { 1, 0 }, dup[] = { 5, 5 };
	static const uint32_t w[] = { 1, 1, 1 }, wbad[] = { 1, 1001 }, wzero[] = { 1000, 1 };
	struct shm *s = make(name_a, 7, 2);
	uint32_t bad = 0;

	ck_assert_int_eq(set_pairs(s, ids, w, 3, &bad, why), -1);
	ck_assert_int_eq(errno, ENOSPC);
	ck_assert_int_eq(set_pairs(s, zero, w, 2, &bad, why), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_uint_eq(bad, 0);
	ck_assert_int_eq(set_pairs(s, dup, w, 2, &bad, why), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_uint_eq(bad, 5);
	ck_assert_int_eq(set_pairs(s, ids, wbad, 2, &bad, why), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_uint_eq(bad, 2);
	/* Weight 1 next to 1000 gets none of 7 entries. */
	ck_assert_int_eq(set_pairs(s, ids, wzero, 2, &bad, why), -1);
	ck_assert_int_eq(errno, ERANGE);
	ck_assert_uint_eq(bad, 2);
	ck_assert_uint_eq(shm_generation(s), 0);
	shm_detach(s);
}
END_TEST

static uint64_t generation_of(const char *name)
{
	struct shm *s = shm_attach(name, false, why);
	uint64_t g;

	ck_assert_ptr_nonnull(s);
	g = shm_generation(s);
	shm_detach(s);
	return g;
}

/* The commands: restore into nothing, save, restore again (no generation
 * moves), then an error on one line changes nothing. */
START_TEST(test_commands)
{
	char text[512], bad[600];
	const char *save_args[] = { "--shm", name_a, "--shm", name_b, NULL };
	const char *none[] = { NULL }, *dry[] = { "--dry-run", NULL };

	snprintf(text, sizeof(text), "# nfqlb save format 1\n"
		 "table %s m=997 n=32 hash=5tuple seed=0\n"
		 "target 2 weight=3\ntarget 5 weight=1\nend\n"
		 "table %s m=7 n=2 hash=addr seed=9\nend\n", name_a, name_b);
	ck_assert_int_eq(cli_run_in(text, "restore", none), 0);
	ck_assert_str_eq(cli_err, "");
	ck_assert_int_eq(cli_run("save", save_args), 0);
	ck_assert_str_eq(cli_out, text);
	ck_assert_uint_eq(generation_of(name_a), 1);
	ck_assert_uint_eq(generation_of(name_b), 0);
	ck_assert_int_eq(cli_run_in(text, "restore", none), 0);
	ck_assert_uint_eq(generation_of(name_a), 1);
	ck_assert_int_eq(cli_run_in(text, "restore", dry), 0);
	ck_assert_ptr_nonnull(strstr(cli_out, ": unchanged\n"));
	snprintf(bad, sizeof(bad), "table %s m=997 n=32 hash=5tuple seed=0\n"
		 "target 9\nend\ntable %s m=7 n=2 hash=addr seed=9\ntarget x\nend\n",
		 name_a, name_b);
	cli_want_error(cli_run_in(bad, "restore", none), 1, "restore",
		       "stdin:5: bad target id 'x'");
	ck_assert_ptr_nonnull(strstr(cli_err, "nothing changed"));
	ck_assert_uint_eq(generation_of(name_a), 1);
	ck_assert_int_eq(cli_run("save", save_args), 0);
	ck_assert_str_eq(cli_out, text);
}
END_TEST

/* Other parameters: a new object under the name, with its targets; the
 * old one retired, so a worker using it follows the name; nothing left
 * under another name. */
START_TEST(test_replace)
{
	static const uint32_t ids[] = { 1, 2 }, w[] = { 1, 1 };
	const char *none[] = { NULL };
	struct shm *old = make(name_a, 997, 32), *s;
	char text[256], tmp[64];
	struct shm_view v;
	uint32_t bad;
	glob_t g;

	ck_assert_int_eq(set_pairs(old, ids, w, 2, &bad, why), 0);
	snprintf(text, sizeof(text), "table %s m=7 n=2 hash=5tuple seed=0\n"
		 "target 2 weight=2\ntarget 3\nend\n", name_a);
	ck_assert_int_eq(cli_run_in(text, "restore", none), 0);
	ck_assert(shm_retired(old));
	shm_detach(old);
	s = shm_attach(name_a, false, why);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(s->m, 7);
	ck_assert_uint_eq(shm_generation(s), 1);	/* built in one update */
	read_view(s, &v);
	ck_assert_int_ge(slot_of(&v, 2), 0);
	ck_assert_int_ge(slot_of(&v, 3), 0);
	ck_assert_int_eq(slot_of(&v, 1), -1);
	ck_assert_uint_eq(v.targets[slot_of(&v, 2)].weight, 2);
	shm_view_free(&v);
	shm_detach(s);
	/* The object was built under the shm module's private name,
	 * /.nfqlb-new-PID-N: none of this process's is left. */
	snprintf(tmp, sizeof(tmp), "/dev/shm/.nfqlb-new-%d-*", (int)getpid());
	ck_assert_int_eq(glob(tmp, 0, NULL, &g), GLOB_NOMATCH);
}
END_TEST

START_TEST(test_command_errors)
{
	const char *missing[] = { "--shm", name_a, NULL };
	const char *twice[] = { "--shm", name_a, "--shm", name_a, NULL };
	const char *badname[] = { "--shm", name_a, "--shm", "a/b", NULL };
	const char *two[] = { "a", "b", NULL }, *nofile[] = { "/nonexistent/x", NULL };

	cli_want_error(cli_run("save", missing), 1, "save", "does not exist");
	ck_assert_str_eq(cli_out, "");
	cli_want_error(cli_run("save", twice), 2, "save", "given twice");
	cli_want_error(cli_run("save", badname), 2, "save", "must not contain '/'");
	cli_want_error(cli_run("restore", two), 2, "restore", "unexpected argument 'b'");
	cli_want_error(cli_run("restore", nofile), 1, "restore", "/nonexistent/x: No such file");
}
END_TEST

Suite *make_save_suite(void)
{
	Suite *s = suite_create("save");
	TCase *tc = tcase_create("format");

	tcase_add_test(tc, test_parse_good);
	tcase_add_test(tc, test_print_parse);
	tcase_add_loop_test(tc, test_parse_bad, 0,
			    (int)(sizeof(bad_cases) / sizeof(bad_cases[0])));
	suite_add_tcase(s, tc);
	tc = tcase_create("tables");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_set_targets);
	tcase_add_test(tc, test_set_targets_reuse);
	tcase_add_test(tc, test_set_targets_refused);
	tcase_add_test(tc, test_commands);
	tcase_add_test(tc, test_replace);
	tcase_add_test(tc, test_command_errors);
	suite_add_tcase(s, tc);
	return s;
}
