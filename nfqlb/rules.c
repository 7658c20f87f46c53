/* SPDX-License-Identifier: GPL-2.0-or-later */
/* rules.c: `nfqlb rules`, iptables-restore input for one VIP.
 *
 * Every rule lives in user chains of this VIP's own (see rules.h), entered
 * by one jump from PREROUTING per table.  iptables-restore has no "add
 * unless present": a chain declared in its input is created or flushed,
 * but a rule in a built-in chain can only be added (again) or deleted
 * (failing when absent).  So the command reads what the firewall holds of
 * this VIP (iptables-save on standard input, see iptsave.h) and prints, per
 * table and in one transaction, the deletion of exactly those jumps and
 * chains, then the rules again.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nfqlb/flowrules.h"
#include "nfqlb/iptsave.h"
#include "nfqlb/rules.h"
#include "nfqlb/table.h"
#include "flows/flowset.h"
#include "shm/shm.h"

#define ADDR_MAX INET6_ADDRSTRLEN
#define QUEUES_MAX SHM_WORKERS	/* as many as `nfqlb lb` takes */

struct nat_map {
	uint32_t id;
	char addr[ADDR_MAX];
};

struct rules_conf {
	int family;			/* AF_INET or AF_INET6 */
	char vip[ADDR_MAX + 4];		/* canonical ADDR/LEN */
	uint32_t qfirst, qlast;
	bool fanout, syn_only, bypass, del;
	bool bpf;			/* queue only packets still unmarked */
	const char *proto;		/* "tcp", "udp", "sctp" or NULL */
	uint32_t port;			/* 0: any */
	struct nat_map nat[OPT_REPEAT_MAX];
	int nnat;
	const char *flows;		/* --flows: the flow set's name, else NULL */
	bool family_given;		/* --flows: --family was given */
	struct flowrules fr;		/* --flows, not --delete: its match specs */
	char key[SHM_NAME_MAX + 8];		/* see rules_chain() */
	char chain[RULES_CHAIN_MAX + 1];	/* base name; + "-RAW", "-NAT" */
};

static const struct opt rules_opts[] = {
	{ "vip", "ADDR[/LEN]", "the virtual IP (or prefix), IPv4 or IPv6" },
	{ "queue", "N|A:B", "NFQUEUE number, or a range as for 'nfqlb lb' (default 0)" },
	{ "cpu-fanout", NULL, "spread a queue range by CPU (--queue-cpu-fanout)" },
	{ "syn-only", NULL, "queue each connection's first packet only" },
	{ "bypass", NULL, "accept packets while no worker runs (--queue-bypass)" },
	{ "nat", "ID=ADDR...", "DNAT packets marked ID to ADDR (once per target)" },
	{ "flows", "NAME", "instead of --vip: queue what the flows of flow set NAME match" },
	{ "family", "4|6", "with --flows: IPv4 (default) or IPv6 rules" },
	{ "proto", "P", "match only tcp, udp or sctp" },
	{ "port", "N", "match only destination port N (needs --proto)" },
	{ "bpf", NULL, "queue only packets still unmarked: what 'lb --bpf' marked skips the queue" },
	{ "delete", NULL, "print the removal of its rules, whatever mode made them" },
	{ NULL, NULL, NULL },
};

void rules_chain(const char *key, char *buf, size_t size)
{
	uint32_t h = 2166136261u;	/* FNV-1a, 32 bits */

	for (; *key; key++)
		h = (h ^ (unsigned char)*key) * 16777619u;
	snprintf(buf, size, "NFQLB-%08x", h);
}

/* ---------------------------------------------------------------- parsing */

/* Parse ADDR into bytes; returns the family, or 0 for no address. */
static int parse_addr(const char *s, unsigned char *bytes)
{
	if (inet_pton(AF_INET, s, bytes) == 1)
		return AF_INET;
	if (inet_pton(AF_INET6, s, bytes) == 1)
		return AF_INET6;
	return 0;
}

static const char *family_name(int family)
{
	return family == AF_INET ? "IPv4" : "IPv6";
}

/* True when bytes has no bit set after the first plen. */
static bool host_bits_clear(const unsigned char *bytes, unsigned alen, uint32_t plen)
{
	unsigned i;

	for (i = 0; i < alen; i++) {
		unsigned keep = plen >= 8 * (i + 1) ? 8 : plen > 8 * i ? plen - 8 * i : 0;

		if (bytes[i] & (0xffu >> keep))
			return false;
	}
	return true;
}

static int parse_vip(const struct cmd *cmd, const char *v, struct rules_conf *c)
{
	unsigned char bytes[16];
	char addr[ADDR_MAX + 8], text[ADDR_MAX];
	char *slash;
	uint32_t plen, max;

	if (!v)
		return usage_error(cmd, "no --vip given");
	if (strlen(v) >= sizeof(addr))
		return usage_error(cmd, "bad VIP '%s': want an IPv4 or IPv6 address", v);
	strcpy(addr, v);
	slash = strchr(addr, '/');
	if (slash)
		*slash = '\0';
	c->family = parse_addr(addr, bytes);
	if (!c->family)
		return usage_error(cmd, "bad VIP '%s': want an IPv4 or IPv6 address", v);
	max = c->family == AF_INET ? 32 : 128;
	plen = max;
	if (slash && opt_u32(slash + 1, 1, max, &plen) < 0)
		return usage_error(cmd, "bad prefix length in VIP '%s': want 1..%u", v, max);
	if (!host_bits_clear(bytes, max / 8, plen))
		return usage_error(cmd, "VIP '%s' has bits set after the prefix length", v);
	inet_ntop(c->family, bytes, text, sizeof(text));
	snprintf(c->vip, sizeof(c->vip), "%s/%u", text, plen);
	return NFQLB_OK;
}

static int parse_flows(const struct cmd *cmd, const struct optval *ov,
		       struct rules_conf *c)
{
	const char *fam = opt_get(cmd, ov, "family");

	c->flows = opt_get(cmd, ov, "flows");
	if (c->flows && opt_get(cmd, ov, "vip"))
		return usage_error(cmd, "--vip and --flows exclude each other");
	if (!c->flows)
		return fam ? usage_error(cmd, "--family goes with --flows (a VIP names its family)")
			   : parse_vip(cmd, opt_get(cmd, ov, "vip"), c);
	if (shm_name_check(c->flows) < 0)
		return usage_error(cmd, "bad flow set name '%s': %s", c->flows,
				   shm_name_why(c->flows));
	if (opt_get(cmd, ov, "proto") || opt_get(cmd, ov, "port"))
		return usage_error(cmd, "--proto and --port go with --vip (flows name their own)");
	if (fam && strcmp(fam, "4") && strcmp(fam, "6"))
		return usage_error(cmd, "bad family '%s': want 4 or 6", fam);
	c->family = fam && !strcmp(fam, "6") ? AF_INET6 : AF_INET;
	c->family_given = fam != NULL;
	return NFQLB_OK;
}

static int parse_queue(const struct cmd *cmd, const char *v, struct rules_conf *c)
{
	char buf[32], *colon;

	c->qfirst = c->qlast = 0;
	if (!v)
		return NFQLB_OK;
	if (strlen(v) >= sizeof(buf))
		goto bad;
	strcpy(buf, v);
	colon = strchr(buf, ':');
	if (colon)
		*colon = '\0';
	if (opt_u32(buf, 0, 65535, &c->qfirst) < 0 ||
	    opt_u32(colon ? colon + 1 : buf, 0, 65535, &c->qlast) < 0 ||
	    c->qlast < c->qfirst || c->qlast - c->qfirst >= QUEUES_MAX)
		goto bad;
	return NFQLB_OK;
bad:
	return usage_error(cmd, "bad queue '%s': want N or A:B within 0..65535, at most %u queues",
			   v, QUEUES_MAX);
}

static int parse_nat_one(const struct cmd *cmd, const char *v, struct rules_conf *c)
{
	struct nat_map *m = &c->nat[c->nnat];
	unsigned char bytes[16];
	const char *eq = strchr(v, '=');
	char id[16];
	int fam, i;

	if (!eq || (size_t)(eq - v) >= sizeof(id))
		return usage_error(cmd, "bad --nat '%s': want ID=ADDR", v);
	memcpy(id, v, (size_t)(eq - v));
	id[eq - v] = '\0';
	if (opt_id(id, &m->id) < 0)
		return usage_error(cmd, "bad target id '%s' in --nat '%s': %s", id, v,
				   opt_id_why(id));
	fam = parse_addr(eq + 1, bytes);
	if (!fam)
		return usage_error(cmd, "bad address in --nat '%s': want an %s address",
				   v, family_name(c->family));
	if (fam != c->family)
		return usage_error(cmd, "--nat '%s' is %s but the VIP is %s", v,
				   family_name(fam), family_name(c->family));
	for (i = 0; i < c->nnat; i++)
		if (c->nat[i].id == m->id)
			return usage_error(cmd, "target id %u given twice in --nat", m->id);
	inet_ntop(fam, bytes, m->addr, sizeof(m->addr));
	c->nnat++;
	return NFQLB_OK;
}

static int parse_nat(const struct cmd *cmd, const struct optval *ov,
		     struct rules_conf *c)
{
	const char *v;
	int r;

	for (c->nnat = 0; (v = opt_nth(cmd, ov, "nat", c->nnat));)
		if ((r = parse_nat_one(cmd, v, c)))
			return r;
	return NFQLB_OK;
}

static int parse_match(const struct cmd *cmd, const struct optval *ov,
		       struct rules_conf *c)
{
	const char *p = opt_get(cmd, ov, "proto"), *port = opt_get(cmd, ov, "port");

	c->proto = NULL;
	c->port = 0;
	if (p && strcmp(p, "tcp") && strcmp(p, "udp") && strcmp(p, "sctp"))
		return usage_error(cmd, "bad protocol '%s': want tcp, udp or sctp", p);
	c->proto = p;
	if (port && !p)
		return usage_error(cmd, "--port needs --proto");
	if (port && opt_u32(port, 1, 65535, &c->port) < 0)
		return usage_error(cmd, "bad port '%s': want 1..65535", port);
	return NFQLB_OK;
}

/* The match key (see rules_chain) of c, into buf. */
static void match_key(const struct rules_conf *c, char *buf, size_t size)
{
	int n;

	if (c->flows) {
		snprintf(buf, size, "flows %s", c->flows);
		return;
	}
	n = snprintf(buf, size, "%s", c->vip);

	if (c->proto)
		n += snprintf(buf + n, size - (size_t)n, " %s", c->proto);
	if (c->port)
		snprintf(buf + n, size - (size_t)n, " %u", c->port);
}

static int rules_parse(const struct cmd *cmd, const struct optval *ov, int argc,
		       char **argv, struct rules_conf *c)
{
	int r;

	memset(c, 0, sizeof(*c));
	if (opt_operands(cmd, ov, argc, argv, 0))
		return NFQLB_USAGE;
	if ((r = parse_flows(cmd, ov, c)) ||
	    (r = parse_queue(cmd, opt_get(cmd, ov, "queue"), c)) ||
	    (r = parse_nat(cmd, ov, c)) || (r = parse_match(cmd, ov, c)))
		return r;
	c->fanout = opt_get(cmd, ov, "cpu-fanout") != NULL;
	c->syn_only = opt_get(cmd, ov, "syn-only") != NULL;
	c->bypass = opt_get(cmd, ov, "bypass") != NULL;
	c->bpf = opt_get(cmd, ov, "bpf") != NULL;
	c->del = opt_get(cmd, ov, "delete") != NULL;
	if (c->fanout && c->qfirst == c->qlast)
		return usage_error(cmd, "--cpu-fanout needs a queue range A:B");
	match_key(c, c->key, sizeof(c->key));
	rules_chain(c->key, c->chain, sizeof(c->chain));
	return NFQLB_OK;
}

/* ---------------------------------------------------------------- output */

/* The SYN is left untracked only in the raw table of a DSR (no NAT) VIP. */
static bool want_raw(const struct rules_conf *c)
{
	return c->syn_only && c->nnat == 0 && (!c->proto || !strcmp(c->proto, "tcp"));
}

static bool want_nat(const struct rules_conf *c)
{
	return c->syn_only || c->nnat > 0;
}

/* ICMP errors addressed to the VIP need rules of their own when the VIP's
 * rules take one protocol (without --proto they take every packet to it),
 * and without NAT: with NAT, conntrack relates an error to its connection
 * and NATs it to the connection's target, queued or not. */
static bool want_icmp(const struct rules_conf *c)
{
	return c->proto && c->nnat == 0;
}

/* The options that reproduce c, in canonical form; a removal needs only
 * those that name the chains. */
static void print_args(const struct rules_conf *c, bool del)
{
	int i;

	if (c->flows)
		printf("nfqlb rules --flows %s%s", c->flows,
		       c->family == AF_INET6 ? " --family 6" : "");
	else
		printf("nfqlb rules --vip %s", c->vip);
	if (!del && c->qfirst != c->qlast)
		printf(" --queue %u:%u", c->qfirst, c->qlast);
	else if (!del && c->qfirst)
		printf(" --queue %u", c->qfirst);
	if (!del)
		printf("%s%s%s%s", c->fanout ? " --cpu-fanout" : "",
		       c->syn_only ? " --syn-only" : "", c->bypass ? " --bypass" : "",
		       c->bpf ? " --bpf" : "");
	if (c->proto)
		printf(" --proto %s", c->proto);
	if (c->port)
		printf(" --port %u", c->port);
	for (i = 0; !del && i < c->nnat; i++)
		printf(" --nat %u=%s", c->nat[i].id, c->nat[i].addr);
	printf("%s", del ? " --delete" : "");
}

static void print_mode(const struct rules_conf *c)
{
	if (c->del) {
		printf("removal of its chains, whatever mode made them, and of every"
		       " rule that jumps to them.\n");
		return;
	}
	printf("%s; %s.\n",
	       c->syn_only ? "SYN-only (each connection's first packet is queued,"
			     " later ones take its saved mark)" : "all packets queued",
	       c->nnat ? "NAT to the targets" : "marks only (route them: nfqlb route)");
	if (c->bpf)
		printf("# --bpf: only packets still unmarked (mark 0) are queued; one that the"
		       " fast path of 'lb --bpf' marked at tc ingress is accepted as the"
		       " worker's verdict would accept it%s.\n", c->syn_only ?
		       " (a connection's saved mark still comes first, and the nat table"
		       " saves the fast path's mark as it saves the worker's)" : "");
	if (c->flows)
		printf("# The flows' destination prefixes, protocols and ports (%zu flows with"
		       " %s prefixes, %zu matches), and ICMP errors to the prefixes%s, are"
		       " queued; the worker decides the rest (sources, no flow).\n",
		       c->fr.flows, family_name(c->family), c->fr.n,
		       c->nnat ? " (not with NAT: conntrack has them)" : "");
	else if (want_icmp(c))
		printf("# ICMP errors addressed to it (unreachable, fragmentation needed or packet"
		       " too big, time exceeded, parameter problem) go the same way: the worker"
		       " takes each to the target of the packet it quotes.\n");
	else if (c->nnat)
		printf("# ICMP errors about a connection are not queued: conntrack relates them"
		       " to it and NATs them to its target.\n");
}

/* What the firewall read on standard input holds of this VIP. */
static void print_found(const struct rules_conf *c, const struct iptsave *saved)
{
	int i, chains = 0, refs = 0;

	for (i = 0; i < IPTSAVE_TABLES; i++) {
		chains += saved->tab[i].nchain;
		refs += saved->tab[i].nref;
	}
	if (!chains && !refs)
		printf("# The firewall read on standard input holds none of its rules%s.\n",
		       c->del ? ": nothing to remove" : "");
	else
		printf("# The firewall read on standard input holds %d of its chains and"
		       " %d rules that jump to them: %s here.\n", chains, refs,
		       c->del ? "removed" : "replaced");
}

static void print_header(const struct rules_conf *c, const struct iptsave *saved)
{
	const char *fam = c->family == AF_INET ? "ip" : "ip6";

	if (c->flows)
		printf("# nfqlb rules for flow set %s (%s): ", c->flows, family_name(c->family));
	else
		printf("# nfqlb rules for VIP %s (%s): ", c->key, family_name(c->family));
	print_mode(c);
	printf("# %s input: feed it to '%stables-restore --noflush'%s.\n",
	       family_name(c->family), fam,
	       c->family == AF_INET ? "" : " (not iptables-restore)");
	if (!c->del) {
		printf("#   apply:  %stables-save | ", fam);
		print_args(c, false);
		printf(" | %stables-restore --noflush\n", fam);
	}
	printf("#   remove: %stables-save | ", fam);
	print_args(c, true);
	printf(" | %stables-restore --noflush\n", fam);
	print_found(c, saved);
}

/* The jump from PREROUTING to chain: inserted at pos, or appended (pos 0). */
static void print_jump(const struct rules_conf *c, int pos, const char *chain)
{
	if (pos)
		printf("-I PREROUTING %d -d %s", pos, c->vip);
	else
		printf("-A PREROUTING -d %s", c->vip);
	if (c->proto)
		printf(" -p %s -m %s", c->proto, c->proto);
	if (c->port)
		printf(" --dport %u", c->port);
	printf(" -m comment --comment \"nfqlb %s\" -j %s\n", c->key, chain);
}

/* The jump from PREROUTING to the ICMP errors' chain, as print_jump(). */
static void print_icmp_jump(const struct rules_conf *c, int pos, const char *chain)
{
	if (pos)
		printf("-I PREROUTING %d -d %s", pos, c->vip);
	else
		printf("-A PREROUTING -d %s", c->vip);
	printf(" -p %s -m comment --comment \"nfqlb %s icmp errors\" -j %s\n",
	       flowrules_icmp_proto(c->family), c->key, chain);
}

/* The ICMP errors' chain sends its errors to the VIP's own chain, which
 * queues them as it queues the VIP's packets (SYN-only: an error that
 * conntrack relates to a marked connection takes the connection's mark). */
static void body_icmp(const struct rules_conf *c, const char *chain, const char *main)
{
	const char *const *e;

	for (e = flowrules_icmp_errors(c->family); *e; e++)
		printf("-A %s %s -j %s\n", chain, *e, main);
}

/* --bpf: the fast path marked at tc ingress, before PREROUTING, what it
 * could; the queue takes the rest (mark 0), and a marked packet is
 * accepted, as the worker's verdict accepts one: the rest of mangle
 * PREROUTING skips both alike. */
static void print_nfqueue(const struct rules_conf *c, const char *chain)
{
	printf("-A %s%s -j NFQUEUE", chain, c->bpf ? " -m mark --mark 0" : "");
	if (c->qfirst == c->qlast)
		printf(" --queue-num %u", c->qfirst);
	else
		printf(" --queue-balance %u:%u%s", c->qfirst, c->qlast,
		       c->fanout ? " --queue-cpu-fanout" : "");
	printf("%s\n", c->bypass ? " --queue-bypass" : "");
	if (c->bpf)
		printf("-A %s -j ACCEPT\n", chain);
}

/* Each body prints the rules of one chain. */
static void body_raw(const struct rules_conf *c, const char *chain)
{
	/* Untracked, the SYN leaves no SYN_SENT entry behind, which in DSR
	 * (the LB never sees the SYN-ACK) would make the client's ACKs
	 * INVALID; the first ACK is then picked up by loose tracking. */
	(void)c;
	printf("-A %s -p tcp -m tcp --syn -j CT --notrack\n", chain);
}

static void body_mangle(const struct rules_conf *c, const char *chain)
{
	/* The connection's saved mark replaces whatever mark the packet has,
	 * the fast path's too (--restore-mark takes every bit). */
	if (c->syn_only) {
		printf("-A %s -m connmark ! --mark 0 -j CONNMARK --restore-mark\n", chain);
		printf("-A %s -m connmark ! --mark 0 -j ACCEPT\n", chain);
	}
	print_nfqueue(c, chain);
}

static void body_nat(const struct rules_conf *c, const char *chain)
{
	int i;

	/* The nat table sees exactly the first packet of each connection,
	 * after the queue's verdict: the place to save its mark.  Whatever
	 * set it: with --bpf, the fast path's mark on a first packet it
	 * marked is saved alike (this rule matches no mark). */
	if (c->syn_only)
		printf("-A %s -j CONNMARK --save-mark\n", chain);
	for (i = 0; i < c->nnat; i++)
		printf("-A %s -m mark --mark %u -j DNAT --to-destination %s\n", chain,
		       c->nat[i].id, c->nat[i].addr);
}

struct section {
	const char *table, *suffix;
	bool (*wanted)(const struct rules_conf *c);
	void (*body)(const struct rules_conf *c, const char *chain);
};

static bool always(const struct rules_conf *c)
{
	(void)c;
	return true;
}

static const struct section sections[] = {
	{ "raw", "-RAW", want_raw, body_raw },
	{ "mangle", "", always, body_mangle },
	{ "nat", "-NAT", want_nat, body_nat },
};

#define NSECTIONS (sizeof(sections) / sizeof(sections[0]))

static void section_chain(const struct rules_conf *c, const struct section *s,
			  char *chain)
{
	snprintf(chain, RULES_CHAIN_MAX + 1, "%s%s", c->chain, s->suffix);
}

/* sections[] names only tables of iptsave_table_names[]. */
static const struct iptsave_tab *saved_tab(const struct iptsave *saved,
					   const char *table)
{
	int i;

	for (i = 0; i < IPTSAVE_TABLES; i++)
		if (!strcmp(iptsave_table_names[i], table))
			return &saved->tab[i];
	return NULL;
}

/* The second chain of a table, into buf (RULES_CHAIN_MAX + 1 bytes): the
 * VIP's ICMP errors, in mangle, entered from PREROUTING too; or a flow
 * set's match, in every table, entered from PREROUTING instead. */
static bool extra_chain(const struct rules_conf *c, const struct section *s, char *buf)
{
	if (c->flows)
		return snprintf(buf, RULES_CHAIN_MAX + 1, "%s%s-FLOWS", c->chain,
				s->suffix) <= RULES_CHAIN_MAX;
	if (!want_icmp(c) || strcmp(s->table, "mangle"))
		return false;
	/* c->chain is "NFQLB-" and 8 hex digits: the suffix always fits. */
	return snprintf(buf, RULES_CHAIN_MAX + 1, "%s-ICMP", c->chain) <= RULES_CHAIN_MAX;
}

/* Whether name is one of the chains this apply declares (and so flushes). */
static bool kept(const char *name, const char *chain, const char *extra)
{
	return (chain && !strcmp(name, chain)) || (extra && !strcmp(name, extra));
}

/* Delete every rule that jumps to this VIP's chains, then flush and delete
 * the chains, all but those declared again (their declaration flushed them). */
static void print_removal(const struct iptsave_tab *t, const char *chain, const char *extra)
{
	int i;

	for (i = 0; i < t->nref; i++)
		printf("-D%s\n", t->ref[i] + 2);	/* "-A CHAIN ..." */
	for (i = 0; i < t->nchain; i++)
		if (!kept(t->chain[i], chain, extra))
			printf("-F %s\n", t->chain[i]);
	for (i = 0; i < t->nchain; i++)
		if (!kept(t->chain[i], chain, extra))
			printf("-X %s\n", t->chain[i]);
}

/* The jumps from PREROUTING, at pos and after (0: appended): a flow set's
 * to its match; a VIP's to its chain, then to its ICMP errors' (extra). */
static void print_jumps(const struct rules_conf *c, int pos, const char *chain,
			const char *extra)
{
	if (c->flows) {
		if (pos)
			printf("-I PREROUTING %d", pos);
		else
			printf("-A PREROUTING");
		printf(" -m comment --comment \"nfqlb %s\" -j %s\n", c->key, extra);
		return;
	}
	print_jump(c, pos, chain);
	if (extra)
		print_icmp_jump(c, pos ? pos + 1 : 0, extra);
}

/* A flow set's match sends what its flows can match to the table's chain. */
static void body_flows(const struct rules_conf *c, const char *chain, const char *main)
{
	size_t i;

	for (i = 0; i < c->fr.n; i++)
		printf("-A %s %s -j %s\n", chain, c->fr.spec[i], main);
}

/* One table, one transaction: what is there of this VIP goes, and the
 * rules of this mode (if it has any in this table) come; the jumps take
 * the place in PREROUTING of the first one removed. */
static void print_table(const struct rules_conf *c, const struct section *s,
			const struct iptsave_tab *t)
{
	char chain[RULES_CHAIN_MAX + 1], extra[RULES_CHAIN_MAX + 1];
	bool want = !c->del && s->wanted(c), more = want && extra_chain(c, s, extra);

	if (!want && !t->nchain && !t->nref)
		return;
	section_chain(c, s, chain);
	printf("*%s\n", s->table);
	if (want)
		printf(":%s - [0:0]\n", chain);
	if (more)
		printf(":%s - [0:0]\n", extra);
	print_removal(t, want ? chain : NULL, more ? extra : NULL);
	if (want)
		print_jumps(c, t->jump_pos, chain, more ? extra : NULL);
	if (want)
		s->body(c, chain);
	if (more && c->flows)
		body_flows(c, extra, chain);
	else if (more)
		body_icmp(c, extra, chain);
	printf("COMMIT\n");
}

/* The firewall's current rules, from standard input, into saved. */
static int read_saved(const struct cmd *cmd, const struct rules_conf *c,
		      struct iptsave *saved)
{
	const char *fam = c->family == AF_INET ? "ip" : "ip6";
	char why[WHY_MAX];

	if (isatty(STDIN_FILENO))
		return usage_error(cmd, "reads the firewall's rules on standard input:"
				   " pipe %stables-save into it", fam);
	if (iptsave_read(stdin, c->chain, saved, why) < 0)
		return cmd_error(cmd, "standard input: %s", why);
	if (saved->family == AF_UNSPEC || saved->family == c->family)
		return NFQLB_OK;
	iptsave_free(saved);
	if (c->flows && !c->family_given)
		return cmd_error(cmd, "standard input comes from ip6tables-save but the rules"
				 " are IPv4: give --family 6");
	return cmd_error(cmd, "standard input comes from %s but the %s is %s:"
			 " pipe %stables-save into it", c->family == AF_INET ?
			 "ip6tables-save" : "iptables-save", c->flows ? "--family" : "VIP",
			 family_name(c->family), fam);
}

static int flowset_rules(struct rules_conf *c, const struct flow *f, size_t n, char *why)
{
	return flowrules_build(f, n, c->family, c->nnat ? FLOWRULES_NO_ERRORS : 0, &c->fr, why);
}

/* The match specs of the flow set c->flows names, into c->fr. */
static int load_flows(const struct cmd *cmd, struct rules_conf *c)
{
	struct flowset_view v = { 0 };
	struct flowset *fs;
	char why[WHY_MAX];
	int r = NFQLB_FAIL;

	fs = flow_open(cmd, c->flows, false, false);
	if (!fs)
		return NFQLB_FAIL;
	if (flowset_view_init(&v) < 0)
		cmd_error(cmd, "flow set %s: %s", c->flows, strerror(errno));
	else if (flowset_read(fs, &v, why) < 0 ||
		 flowset_rules(c, v.flows, v.n, why) < 0)
		cmd_error(cmd, "flow set %s: %s", c->flows, why);
	else
		r = NFQLB_OK;
	flowset_view_free(&v);
	flowset_detach(fs);
	return r;
}

static int do_rules(const struct cmd *cmd, const struct optval *ov, int argc,
		    char **argv)
{
	struct rules_conf c;
	struct iptsave saved;
	size_t i;
	int r;

	if ((r = rules_parse(cmd, ov, argc, argv, &c)) || (r = read_saved(cmd, &c, &saved)))
		return r;
	if (c.flows && !c.del && (r = load_flows(cmd, &c))) {
		iptsave_free(&saved);
		return r;
	}
	print_header(&c, &saved);
	for (i = 0; i < NSECTIONS; i++)
		print_table(&c, &sections[i], saved_tab(&saved, sections[i].table));
	iptsave_free(&saved);
	flowrules_free(&c.fr);
	if (fflush(stdout) == EOF || ferror(stdout))
		return cmd_error(cmd, "writing the rules failed");
	return NFQLB_OK;
}

const struct cmd cmd_rules = {
	"rules", do_rules,
	"print iptables-restore input for one VIP or flow set (stdin: iptables-save;"
	" runs nothing)",
	NULL, rules_opts,
};
