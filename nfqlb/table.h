/* SPDX-License-Identifier: GPL-2.0-or-later */
/* table.h: helpers the table commands share with the worker. */
#ifndef NFQLB_TABLE_H
#define NFQLB_TABLE_H

#include <stdbool.h>

#include "nfqlb/opt.h"
#include "shm/shm.h"

/**
 * table_name - the table a command names, checked
 * @cmd: the command, for the message
 * @ov: its options: --shm, else $NFQLB_SHM, else the default (opt_shm_name())
 * @name: written
 *
 * Returns NFQLB_OK, or NFQLB_USAGE after a message naming the rule the name
 * breaks (empty, too long, contains '/', "." or ".."); an empty
 * $NFQLB_SHM is such an error, not the default.
 */
int table_name(const struct cmd *cmd, const struct optval *ov, const char **name);

/**
 * table_open - attach a state object, printing a one-line error on failure
 * @cmd: the command, for the message
 * @name: the object's name, checked by table_name()
 * @writable: open for writing
 *
 * Returns the handle, or NULL after printing why.
 */
struct shm *table_open(const struct cmd *cmd, const char *name, bool writable);

struct flowset;

/**
 * flow_open - attach a flow set, printing a one-line error on failure
 * @cmd: the command, for the message
 * @name: the flow set's name
 * @writable: open for writing
 * @create: create it empty when missing
 *
 * Returns the handle, or NULL after printing why (a missing set: "flow set
 * NAME does not exist").
 */
struct flowset *flow_open(const struct cmd *cmd, const char *name, bool writable,
			  bool create);

/**
 * flowstats_cmd - `nfqlb stats --flows NAME [--json]` (flowstats.c)
 * @cmd: the stats command
 * @ov: its options
 * @argc: argument count
 * @argv: arguments
 *
 * Returns an enum nfqlb_exit.
 */
int flowstats_cmd(const struct cmd *cmd, const struct optval *ov, int argc, char **argv);

#endif
