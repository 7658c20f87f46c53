/* SPDX-License-Identifier: GPL-2.0-or-later */
/* savefile.h: the text format of `nfqlb save` and `nfqlb restore`.
 *
 * Line-oriented, like iptables-save, so that two saves compare with diff:
 *
 *   # nfqlb save format 1
 *   table NAME m=997 n=32 hash=5tuple seed=0
 *   target 101 weight=1
 *   target 102 weight=3
 *   end
 *
 * One block per table: a `table` line with the name and all four
 * parameters (any order, each once), its active targets, and `end`.  The
 * `end` is required, so a file cut short is an error and not a smaller
 * set of targets.  A `target` line's weight may be left out (1).  Ids take
 * the syntax of `nfqlb activate` (decimal or 0x-hex, no leading 0);
 * numbers may be decimal or 0x-hex.  Lines that are empty or begin with
 * `#` (after blanks) are skipped; fields are separated by spaces or tabs;
 * a line has at most SAVEFILE_LINE_MAX bytes.
 * The keyword `flows` is reserved for the flow tables to come; this
 * version refuses it.  save writes every number in decimal, targets by
 * ascending id, and no date, so the same state always gives the same text.
 */
#ifndef NFQLB_SAVEFILE_H
#define NFQLB_SAVEFILE_H

#include <stdint.h>
#include <stdio.h>

#include "shm/shm.h"

#define SAVEFILE_FORMAT 1
#define SAVEFILE_LINE_MAX 1024	/* longest line restore reads, newline excluded */

struct savefile_target {
	uint32_t id;
	uint32_t weight;
	unsigned long line;	/* where it was given; 0 when loaded */
};

/* One table: its parameters and its active targets. */
struct savefile_table {
	char name[SHM_NAME_MAX + 1];
	struct shm_params p;
	struct savefile_target *targets;	/* by ascending id */
	uint32_t k;				/* number of targets, at most p.n */
	unsigned long line;	/* of its `table` line; 0 when loaded */
};

struct savefile {
	struct savefile_table *tables;	/* in input order, names unique */
	size_t k;
};

/**
 * savefile_parse - read and validate a whole input
 * @in: the input
 * @sf: written; free it with savefile_free(), also after a failure
 * @line: set to the line an error is on (from 1), or 0 for a read error
 * @why: filled with the reason on failure
 *
 * Checks everything a table can be checked for without the objects: the
 * syntax, names (shm_name_why()), M prime in 2..SHM_M_MAX, N in
 * 1..SHM_N_MAX and at most M, the hash mode, the seed, ids, weights
 * (1..MAGLEV_WEIGHT_MAX), an id or a table given twice, more than N
 * targets, and a target that would get no lookup entry.
 * Returns 0, or -1 with errno EINVAL (bad input), ENOMEM, or a read error.
 */
int savefile_parse(FILE *in, struct savefile *sf, unsigned long *line, char *why);

/**
 * savefile_free - free what savefile_parse() allocated
 * @sf: the parsed input; left empty
 */
void savefile_free(struct savefile *sf);

/**
 * savefile_load - a table's parameters and active targets, from its object
 * @s: the handle
 * @t: written; free it with savefile_table_free(), also after a failure
 * @why: filled with the reason on failure
 *
 * Reads the published table once (shm_read()).  Returns 0, or -1 with
 * errno from shm_read() or ENOMEM.
 */
int savefile_load(const struct shm *s, struct savefile_table *t, char *why);

/**
 * savefile_table_free - free a table's targets
 * @t: the table; left with no targets
 */
void savefile_table_free(struct savefile_table *t);

/**
 * savefile_print_header - print the comment that opens a save
 * @out: the stream
 */
void savefile_print_header(FILE *out);

/**
 * savefile_print_table - print one table's block
 * @out: the stream
 * @t: the table
 */
void savefile_print_table(FILE *out, const struct savefile_table *t);

#endif
