/* table.h: helpers the table commands share with the worker. */
#ifndef NFQLB_TABLE_H
#define NFQLB_TABLE_H

#include <stdbool.h>

#include "nfqlb/opt.h"
#include "shm/shm.h"

/**
 * table_open - attach a state object, printing a one-line error on failure
 * @cmd: the command, for the message
 * @name: the object's name
 * @writable: open for writing
 *
 * Returns the handle, or NULL after printing why.
 */
struct shm *table_open(const struct cmd *cmd, const char *name, bool writable);

#endif
