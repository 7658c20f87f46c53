/* SPDX-License-Identifier: GPL-2.0-or-later */
/* rules.h: `nfqlb rules`, which prints iptables-restore input for one VIP.
 *
 * The command never runs iptables: it reads the firewall's current rules
 * (iptables-save output) on stdin, and the operator reviews its output and
 * pipes it into `iptables-restore --noflush` (IPv4) or `ip6tables-restore
 * --noflush` (IPv6).  Each VIP gets its own user chains, named
 * NFQLB-<8 hex digits> (+ "-RAW" in the raw table, "-NAT" in the nat table),
 * from rules_chain(), so the rules of several VIPs never meet.  The output
 * replaces what stdin shows of them (see iptsave.h), so applying twice
 * equals applying once, and --delete removes them whatever mode made them.
 */
#ifndef NFQLB_RULES_H
#define NFQLB_RULES_H

#include <stddef.h>

#include "nfqlb/opt.h"

/* Longest chain name iptables takes (XT_EXTENSION_MAXNAMELEN - 1). */
#define RULES_CHAIN_MAX 28

extern const struct cmd cmd_rules;

/**
 * rules_chain - the base chain name for one VIP match
 * @key: the match key: "ADDR/LEN", then " PROTO" and " PORT" when narrowed,
 *	 with the address in inet_ntop() form (e.g. "10.0.0.1/32 tcp 80")
 * @buf: written, "NFQLB-" and the key's 32-bit FNV-1a hash in 8 hex digits
 * @size: size of @buf, at least 15
 */
void rules_chain(const char *key, char *buf, size_t size);

#endif
