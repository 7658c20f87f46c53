/* SPDX-License-Identifier: GPL-2.0-or-later */
/* route.h: `nfqlb route`, the policy routing of direct server return.
 *
 * For a target ID, `nfqlb route add` installs, through libnl-route-3:
 *   - the rule "priority ROUTE_PRIO fwmark ID lookup T", and
 *   - the route "default via ADDR [dev DEV]" in table T,
 * both with the routing protocol ROUTE_PROTO, which is how `route show` and
 * `route del` know what nfqlb installed: they never touch a rule or route
 * with another protocol.
 */
#ifndef NFQLB_ROUTE_H
#define NFQLB_ROUTE_H

#include <stdint.h>

#include "nfqlb/opt.h"

/* The routing protocol of nfqlb's rules and routes: `ip` shows "proto 78". */
#define ROUTE_PROTO 78
/* The priority of nfqlb's fwmark rules: before the main table's (32766). */
#define ROUTE_PRIO 1000
/* Without --table, ID's table is ROUTE_TABLE_BASE + ID, above the kernel's
 * own tables (253 default, 254 main, 255 local) and the usual 1..252. */
#define ROUTE_TABLE_BASE 1000u

extern const struct cmd cmd_route;

/**
 * route_table_ok - whether a routing table number may be nfqlb's
 *
 * Returns false for 0 (unspecified) and 253..255 (default, main, local).
 */
bool route_table_ok(uint32_t table);

/**
 * route_default_table - the table of target ID without --table
 * @id: the target id
 * @table: written, ROUTE_TABLE_BASE + id
 *
 * Returns 0, or -1 when ROUTE_TABLE_BASE + id does not fit in 32 bits.
 */
int route_default_table(uint32_t id, uint32_t *table);

#endif
