/* SPDX-License-Identifier: GPL-2.0-or-later */
/* iptsave.h: what an iptables-save dump holds of one VIP's chains.
 *
 * `nfqlb rules` runs nothing, so it learns the firewall's current state from
 * iptables-save (or ip6tables-save) output on its standard input.  Of that
 * dump it keeps only what belongs to one VIP: in the raw, mangle and nat
 * tables, the chains named from the VIP's base name (the base itself, or
 * the base, "-" and any suffix: see rules_chain()), and every rule outside
 * those chains that jumps (-j) or goes (-g) to one of them.  With that,
 * the printed iptables-restore input can remove exactly what is there, so
 * that applying is idempotent and a removal needs no mode options.
 *
 * Never prints; errors come back as -1, errno and a one-line reason.
 */
#ifndef NFQLB_IPTSAVE_H
#define NFQLB_IPTSAVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "shm/why.h"

/* The tables nfqlb puts chains in, in the order iptsave.tab[] keeps them. */
#define IPTSAVE_TABLES 3
extern const char *const iptsave_table_names[IPTSAVE_TABLES];	/* raw, mangle, nat */

/* One table's share of the dump. */
struct iptsave_tab {
	char **chain;	/* this VIP's chains, as declared (":NAME ...") */
	int nchain;
	char **ref;	/* "-A CHAIN SPEC" lines (counters stripped) whose CHAIN is */
	int nref;	/* not this VIP's and whose target is one of its chains */
	int jump_pos;	/* 1-based place in PREROUTING of the first such rule; 0: none */
};

struct iptsave {
	int family;	/* AF_INET or AF_INET6 as the dump's header names its
			 * maker (iptables-save, ip6tables-save), else AF_UNSPEC */
	struct iptsave_tab tab[IPTSAVE_TABLES];
};

/**
 * iptsave_ours - whether a chain name belongs to a VIP's base name
 * @base: the base name (e.g. "NFQLB-dc31cc00")
 * @chain: the chain name
 *
 * True when chain is base, or base followed by "-" and at least one more
 * character.
 */
bool iptsave_ours(const char *base, const char *chain);

/**
 * iptsave_read - read an iptables-save dump and keep one VIP's share
 * @in: the dump, read to its end; empty input is an empty firewall
 * @base: the VIP's base chain name
 * @s: written; release with iptsave_free() after success (on failure
 *     nothing is left to release)
 * @why: filled with a one-line reason on failure (WHY_MAX bytes)
 *
 * Takes the output of iptables-save with or without -c (rule counters),
 * from the nft or the legacy variant.  Lines other than comments, blank
 * lines, "*TABLE", ":CHAIN ...", "-A CHAIN ..." and "COMMIT" in their
 * places, or a table given twice, make it fail.
 * Returns 0, or -1 with errno EINVAL (not iptables-save output; why names
 * the line), EIO (reading failed) or ENOMEM.
 */
int iptsave_read(FILE *in, const char *base, struct iptsave *s, char *why);

/**
 * iptsave_free - release what iptsave_read() kept (s may be zeroed)
 */
void iptsave_free(struct iptsave *s);

#endif
