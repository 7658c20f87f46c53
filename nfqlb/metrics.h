/* SPDX-License-Identifier: GPL-2.0-or-later */
/* metrics.h: the Prometheus side of the command line: `nfqlb metrics`,
 * which serves /metrics over HTTP, and `nfqlb stats --prometheus`.  Both
 * only read the shared tables (see prom.h); neither talks to a worker. */
#ifndef NFQLB_METRICS_H
#define NFQLB_METRICS_H

#include "nfqlb/opt.h"

/* nfqlb metrics --listen ADDR:PORT [--shm NAME]... */
extern const struct cmd cmd_metrics;

/**
 * metrics_stats - print one table's exposition on stdout
 * @cmd: the command, for messages (stats)
 * @name: the table, checked by table_name()
 *
 * Returns NFQLB_OK, or NFQLB_FAIL after a one-line message (no such table,
 * permission denied, an invalid table, a write error).
 */
int metrics_stats(const struct cmd *cmd, const char *name);

#endif
