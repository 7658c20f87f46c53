/* rules.c: `nfqlb rules`, iptables-restore input for one VIP.
 *
 * Every rule lives in user chains of this VIP's own (see rules.h).  A chain
 * declared in iptables-restore input is flushed when it exists under
 * --noflush, so applying the output again rewrites the chains' contents;
 * only the jump from the built-in chain is added again (harmless: every path
 * through our chains ends in a verdict or is idempotent).
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "nfqlb/rules.h"
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
	const char *proto;		/* "tcp", "udp", "sctp" or NULL */
	uint32_t port;			/* 0: any */
	struct nat_map nat[OPT_REPEAT_MAX];
	int nnat;
	char key[ADDR_MAX + 20];		/* see rules_chain() */
	char chain[RULES_CHAIN_MAX + 1];	/* base name; + "-RAW", "-NAT" */
};

static const struct opt rules_opts[] = {
	{ "vip", "ADDR[/LEN]", "the virtual IP (or prefix), IPv4 or IPv6" },
	{ "queue", "N|A:B", "NFQUEUE number, or a range as for 'nfqlb lb' (default 0)" },
	{ "cpu-fanout", NULL, "spread a queue range by CPU (--queue-cpu-fanout)" },
	{ "syn-only", NULL, "queue each connection's first packet only" },
	{ "bypass", NULL, "accept packets while no worker runs (--queue-bypass)" },
	{ "nat", "ID=ADDR...", "DNAT packets marked ID to ADDR (once per target)" },
	{ "proto", "P", "match only tcp, udp or sctp" },
	{ "port", "N", "match only destination port N (needs --proto)" },
	{ "delete", NULL, "print the input that removes these rules" },
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
	int n = snprintf(buf, size, "%s", c->vip);

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
	if (argc > ov->first)
		return usage_error(cmd, "unexpected argument '%s'", argv[ov->first]);
	if ((r = parse_vip(cmd, opt_get(cmd, ov, "vip"), c)) ||
	    (r = parse_queue(cmd, opt_get(cmd, ov, "queue"), c)) ||
	    (r = parse_nat(cmd, ov, c)) || (r = parse_match(cmd, ov, c)))
		return r;
	c->fanout = opt_get(cmd, ov, "cpu-fanout") != NULL;
	c->syn_only = opt_get(cmd, ov, "syn-only") != NULL;
	c->bypass = opt_get(cmd, ov, "bypass") != NULL;
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

/* The options that reproduce c, in canonical form. */
static void print_args(const struct rules_conf *c, bool del)
{
	int i;

	printf("nfqlb rules --vip %s", c->vip);
	if (c->qfirst != c->qlast)
		printf(" --queue %u:%u", c->qfirst, c->qlast);
	else if (c->qfirst)
		printf(" --queue %u", c->qfirst);
	printf("%s%s%s", c->fanout ? " --cpu-fanout" : "",
	       c->syn_only ? " --syn-only" : "", c->bypass ? " --bypass" : "");
	if (c->proto)
		printf(" --proto %s", c->proto);
	if (c->port)
		printf(" --port %u", c->port);
	for (i = 0; i < c->nnat; i++)
		printf(" --nat %u=%s", c->nat[i].id, c->nat[i].addr);
	printf("%s", del ? " --delete" : "");
}

static void print_header(const struct rules_conf *c)
{
	const char *restore = c->family == AF_INET ? "iptables-restore" :
						     "ip6tables-restore";

	printf("# nfqlb rules for VIP %s (%s): %s; %s.\n", c->vip,
	       family_name(c->family),
	       c->syn_only ? "SYN-only (each connection's first packet is queued,"
			     " later ones take its saved mark)" : "all packets queued",
	       c->nnat ? "NAT to the targets" : "marks only (route them: nfqlb route)");
	printf("# %s input: feed it to '%s --noflush'%s.\n",
	       c->family == AF_INET ? "IPv4" : "IPv6", restore,
	       c->family == AF_INET ? "" : " (not iptables-restore)");
	printf("#   apply:  ");
	print_args(c, false);
	printf(" | %s --noflush\n#   remove: ", restore);
	print_args(c, true);
	printf(" | %s --noflush\n", restore);
}

/* The jump from PREROUTING to chain, and its comment. */
static void print_jump(const struct rules_conf *c, char op, const char *chain)
{
	printf("-%c PREROUTING -d %s", op, c->vip);
	if (c->proto)
		printf(" -p %s -m %s", c->proto, c->proto);
	if (c->port)
		printf(" --dport %u", c->port);
	printf(" -m comment --comment \"nfqlb %s\" -j %s\n", c->key, chain);
}

static void print_nfqueue(const struct rules_conf *c, const char *chain)
{
	printf("-A %s -j NFQUEUE", chain);
	if (c->qfirst == c->qlast)
		printf(" --queue-num %u", c->qfirst);
	else
		printf(" --queue-balance %u:%u%s", c->qfirst, c->qlast,
		       c->fanout ? " --queue-cpu-fanout" : "");
	printf("%s\n", c->bypass ? " --queue-bypass" : "");
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
	 * after the queue's verdict: the place to save its mark. */
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

static void print_apply(const struct rules_conf *c, const struct section *s)
{
	char chain[RULES_CHAIN_MAX + 1];

	section_chain(c, s, chain);
	printf("*%s\n:%s - [0:0]\n", s->table, chain);
	print_jump(c, 'A', chain);
	s->body(c, chain);
	printf("COMMIT\n");
}

/* Removal comes in two rounds of transactions: first one jump from each
 * table, then the chains.  After k applies (k jumps) the first k - 1 runs
 * each remove one jump and fail at the chains, which are still in use; the
 * k-th removes everything. */
static void print_delete(const struct rules_conf *c, const struct section *s,
			 bool chains)
{
	char chain[RULES_CHAIN_MAX + 1];

	section_chain(c, s, chain);
	printf("*%s\n", s->table);
	if (chains)
		printf("-F %s\n-X %s\n", chain, chain);
	else
		print_jump(c, 'D', chain);
	printf("COMMIT\n");
}

static int do_rules(const struct cmd *cmd, const struct optval *ov, int argc,
		    char **argv)
{
	struct rules_conf c;
	size_t i;
	int r;

	if ((r = rules_parse(cmd, ov, argc, argv, &c)))
		return r;
	print_header(&c);
	for (i = 0; i < NSECTIONS; i++)
		if (sections[i].wanted(&c) && !c.del)
			print_apply(&c, &sections[i]);
	for (i = 0; i < NSECTIONS; i++)
		if (sections[i].wanted(&c) && c.del)
			print_delete(&c, &sections[i], false);
	for (i = 0; i < NSECTIONS; i++)
		if (sections[i].wanted(&c) && c.del)
			print_delete(&c, &sections[i], true);
	if (fflush(stdout) == EOF || ferror(stdout))
		return cmd_error(cmd, "writing the rules failed");
	return NFQLB_OK;
}

const struct cmd cmd_rules = {
	"rules", do_rules, "print iptables-restore input for one VIP (runs nothing)",
	NULL, rules_opts,
};
