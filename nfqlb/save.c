/* SPDX-License-Identifier: GPL-2.0-or-later */
/* save.c: `nfqlb save`, the tables' state as text (format: savefile.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nfqlb/cli.h"
#include "nfqlb/savefile.h"
#include "nfqlb/table.h"

static const struct opt save_opts[] = {
	{ "shm", "NAME...", "a table to save; repeat it for several "
			    "(default $NFQLB_SHM or nfqlb)" },
	{ NULL, NULL, NULL },
};

/* The tables to save, checked: every --shm in order, else the default. */
static int save_names(const struct cmd *cmd, const struct optval *ov,
		      const char **names, int *k)
{
	const char *rule;
	int i, j;

	*k = 0;
	if (!opt_get(cmd, ov, "shm"))
		return table_name(cmd, ov, &names[(*k)++]);
	for (i = 0; (names[i] = opt_nth(cmd, ov, "shm", i)); i++) {
		if ((rule = shm_name_why(names[i])))
			return usage_error(cmd, "bad table name \"%s\": %s", names[i], rule);
		for (j = 0; j < i; j++)
			if (strcmp(names[j], names[i]) == 0)
				return usage_error(cmd, "table \"%s\" is given twice",
						   names[i]);
	}
	*k = i;
	return NFQLB_OK;
}

static int load_one(const struct cmd *cmd, const char *name,
		    struct savefile_table *t)
{
	char why[WHY_MAX] = "";
	struct shm *s = table_open(cmd, name, false);
	int r = NFQLB_OK;

	if (!s)
		return NFQLB_FAIL;
	if (savefile_load(s, t, why) < 0)
		r = cmd_error(cmd, "table \"%s\": %s", name, why);
	shm_detach(s);
	return r;
}

/* Everything is read before anything is printed: a missing table gives an
 * error and no partial save. */
static int do_save(const struct cmd *cmd, const struct optval *ov, int argc,
		   char **argv)
{
	const char *names[OPT_REPEAT_MAX + 1];
	struct savefile_table *t;
	int i, k, r;

	if (opt_operands(cmd, ov, argc, argv, 0))
		return NFQLB_USAGE;
	if ((r = save_names(cmd, ov, names, &k)))
		return r;
	t = calloc((size_t)k, sizeof(*t));
	if (!t)
		return cmd_error(cmd, "%s", strerror(errno));
	for (i = 0; i < k && r == NFQLB_OK; i++)
		r = load_one(cmd, names[i], &t[i]);
	if (r == NFQLB_OK) {
		savefile_print_header(stdout);
		for (i = 0; i < k; i++)
			savefile_print_table(stdout, &t[i]);
	}
	for (i = 0; i < k; i++)
		savefile_table_free(&t[i]);
	free(t);
	return r;
}

const struct cmd cmd_save = {
	"save", do_save, "print the tables' state as text, for restore", NULL,
	save_opts,
};
