/* SPDX-License-Identifier: GPL-2.0-or-later */
/* flowcmd.c: `nfqlb flow`: set, delete, list and show the flows of a flow
 * set (flows/flowset.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "flows/flowset.h"
#include "flows/flowtext.h"
#include "nfqlb/cli.h"
#include "nfqlb/json.h"
#include "nfqlb/table.h"

static const struct opt flow_opts[] = {
	{ "flows", "NAME", "flow set in /dev/shm (default $NFQLB_FLOWS or nfqlb-flows)" },
	{ "table", "NAME", "set: the table that balances the flow (required)" },
	{ "prio", "P", "set: -1000000..1000000, the highest wins (default 0)" },
	{ "proto", "LIST", "set: tcp,udp,sctp,icmp (default every protocol)" },
	{ "dst", "CIDRS", "set: destination prefixes, comma-separated (default any)" },
	{ "src", "CIDRS", "set: source prefixes, comma-separated (default any)" },
	{ "dport", "PORTS", "set: destination ports and ranges: 80,8000-8099 (default any)" },
	{ "sport", "PORTS", "set: source ports and ranges (default any)" },
	{ "udp-encap", "PORT", "set: SCTP over UDP on this port (RFC 6951)" },
	{ "json", NULL, "list, show: print one JSON object" },
	{ NULL, NULL, NULL },
};

/* A replacement of the flow set between opening it and locking it makes
 * an update fail with ESTALE: open the name again, a few times at most. */
#define EDIT_TRIES 3

struct flow_sub {
	const char *name;
	int (*fn)(const struct cmd *cmd, const struct optval *ov, const char *set,
		  char **args, int n);
	const char *help;	/* one line */
	const char *opts;	/* the options it takes beside --flows */
};

/* ---- names and opening ---- */

static int set_name(const struct cmd *cmd, const struct optval *ov, const char **name)
{
	const char *opt = opt_get(cmd, ov, "flows"), *rule;

	*name = flowset_name(opt);
	if (!**name && !opt)
		return usage_error(cmd, FLOWSET_ENV " is empty: unset it, or set it to a "
				   "flow set name");
	rule = shm_name_why(*name);
	if (rule)
		return usage_error(cmd, "bad flow set name \"%s\": %s", *name, rule);
	return NFQLB_OK;
}

static int flow_name(const struct cmd *cmd, const char *name)
{
	const char *rule = flowtext_name_why(name);

	if (rule)
		return usage_error(cmd, "bad flow name '%.80s': %s", name, rule);
	return NFQLB_OK;
}

struct flowset *flow_open(const struct cmd *cmd, const char *name, bool writable,
			  bool create)
{
	char why[WHY_MAX] = "";
	struct flowset *fs = flowset_attach(name, writable, create, why);

	if (fs)
		return fs;
	if (errno == ENOENT)
		cmd_error(cmd, "flow set \"%s\" does not exist (create it with 'nfqlb flow "
			  "set')", name);
	else if (errno == EACCES)
		cmd_error(cmd, "flow set \"%s\": permission denied", name);
	else
		cmd_error(cmd, "flow set \"%s\": %s", name, why);
	return NULL;
}

/* A validated copy of the flow set's published flows. */
struct snap {
	struct flowset *fs;
	struct flowset_view v;
};

static int snap_load(const struct cmd *cmd, const char *name, struct snap *sn)
{
	char why[WHY_MAX] = "";

	sn->fs = flow_open(cmd, name, false, false);
	if (!sn->fs)
		return NFQLB_FAIL;
	if (flowset_view_init(&sn->v) < 0) {
		flowset_detach(sn->fs);
		return cmd_error(cmd, "%s", strerror(errno));
	}
	if (flowset_read(sn->fs, &sn->v, why) == 0)
		return NFQLB_OK;
	flowset_view_free(&sn->v);
	flowset_detach(sn->fs);
	return cmd_error(cmd, "flow set \"%s\": %s", name, why);
}

static void snap_free(struct snap *sn)
{
	flowset_view_free(&sn->v);
	flowset_detach(sn->fs);
}

/* ---- set ---- */

/* One list option into the flow: 0, or a usage error. */
static int parse_opt(const struct cmd *cmd, const struct optval *ov, const char *opt,
		     struct flow *f)
{
	const char *v = opt_get(cmd, ov, opt);
	char why[WHY_MAX] = "";
	int r = 0;

	if (!v)
		return NFQLB_OK;
	if (!strcmp(opt, "prio"))
		r = flowtext_prio(v, &f->prio, why);
	else if (!strcmp(opt, "proto"))
		r = flowtext_protos(v, &f->protos, why);
	else if (!strcmp(opt, "dst"))
		r = flowtext_cidrs(v, f->dst, &f->ndst, why);
	else if (!strcmp(opt, "src"))
		r = flowtext_cidrs(v, f->src, &f->nsrc, why);
	else if (!strcmp(opt, "dport"))
		r = flowtext_ports(v, f->dport, &f->ndport, why);
	else if (!strcmp(opt, "sport"))
		r = flowtext_ports(v, f->sport, &f->nsport, why);
	else if (!strcmp(opt, "udp-encap"))
		r = flowtext_port(v, &f->udp_encap, why);
	return r < 0 ? usage_error(cmd, "--%s: %s", opt, why) : NFQLB_OK;
}

static int parse_flow(const struct cmd *cmd, const struct optval *ov,
		      const char *name, struct flow *f)
{
	static const char *const lists[] = {
		"prio", "proto", "dst", "src", "dport", "sport", "udp-encap",
	};
	const char *table = opt_get(cmd, ov, "table"), *rule;
	char why[WHY_MAX] = "";
	size_t i;
	int r;

	memset(f, 0, sizeof(*f));
	if ((r = flow_name(cmd, name)))
		return r;
	if (!table)
		return usage_error(cmd, "set needs --table TABLE");
	if ((rule = shm_name_why(table)))
		return usage_error(cmd, "bad table name \"%s\": %s", table, rule);
	snprintf(f->name, sizeof(f->name), "%s", name);
	snprintf(f->table, sizeof(f->table), "%s", table);
	for (i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
		if ((r = parse_opt(cmd, ov, lists[i], f)))
			return r;
	if (flowset_check_flow(f, why) < 0)
		return usage_error(cmd, "%s", why);
	return NFQLB_OK;
}

static int sub_set(const struct cmd *cmd, const struct optval *ov, const char *set,
		   char **args, int n)
{
	char why[WHY_MAX] = "";
	struct flowset *fs;
	struct flow f;
	int r, tries = 0;

	if (n == 0)
		return usage_error(cmd, "set needs a flow NAME");
	if (n > 1)
		return usage_error(cmd, "unexpected argument '%s'", args[1]);
	if ((r = parse_flow(cmd, ov, args[0], &f)))
		return r;
	do {
		fs = flow_open(cmd, set, true, true);
		if (!fs)
			return NFQLB_FAIL;
		r = flowset_set(fs, &f, why);
		flowset_detach(fs);
	} while (r < 0 && errno == ESTALE && ++tries < EDIT_TRIES);
	if (r < 0)
		return cmd_error(cmd, "flow set \"%s\": %s; nothing changed", set, why);
	return NFQLB_OK;
}

/* ---- delete ---- */

static int sub_delete(const struct cmd *cmd, const struct optval *ov, const char *set,
		      char **args, int n)
{
	char why[WHY_MAX] = "";
	const char *bad = NULL;
	struct flowset *fs;
	int i, r, tries = 0;

	(void)ov;
	if (n == 0)
		return usage_error(cmd, "delete needs a flow NAME");
	for (i = 0; i < n; i++)
		if ((r = flow_name(cmd, args[i])))
			return r;
	do {
		fs = flow_open(cmd, set, true, false);
		if (!fs)
			return NFQLB_FAIL;
		r = flowset_delete(fs, args, (size_t)n, &bad, why);
		flowset_detach(fs);
	} while (r < 0 && errno == ESTALE && ++tries < EDIT_TRIES);
	if (r < 0 && errno == ENOENT)
		return cmd_error(cmd, "flow \"%s\" does not exist in flow set \"%s\"; nothing "
				 "deleted", bad, set);
	if (r < 0)
		return cmd_error(cmd, "flow set \"%s\": %s; nothing deleted", set, why);
	return NFQLB_OK;
}

/* ---- printing ---- */

static void json_protos(uint32_t protos)
{
	const char *sep = "";
	unsigned int i;

	printf("\"proto\":[");
	for (i = 0; flowtext_proto_name(i); i++)
		if (protos & (1u << i)) {
			printf("%s\"%s\"", sep, flowtext_proto_name(i));
			sep = ",";
		}
	printf("]");
}

static void json_cidrs(const char *key, const struct flow_cidr *c, unsigned int n)
{
	char item[FLOWTEXT_ITEM];
	unsigned int i;

	printf(",\"%s\":[", key);
	for (i = 0; i < n; i++) {
		flowtext_fmt_cidr(&c[i], item, sizeof(item));
		printf("%s\"%s\"", i ? "," : "", item);
	}
	printf("]");
}

static void json_ports(const char *key, const struct flow_ports *p, unsigned int n)
{
	char item[FLOWTEXT_ITEM];
	unsigned int i;

	printf(",\"%s\":[", key);
	for (i = 0; i < n; i++) {
		flowtext_fmt_port(&p[i], item, sizeof(item));
		printf("%s\"%s\"", i ? "," : "", item);
	}
	printf("]");
}

/* The members of a flow's JSON object, without the braces. */
static void json_flow(const struct flow *f, unsigned int slot)
{
	printf("\"name\":\"%s\",\"table\":", f->name);
	json_str(f->table);
	printf(",\"prio\":%d,", f->prio);
	json_protos(f->protos);
	json_cidrs("dst", f->dst, f->ndst);
	json_cidrs("src", f->src, f->nsrc);
	json_ports("dport", f->dport, f->ndport);
	json_ports("sport", f->sport, f->nsport);
	printf(",\"udp_encap\":%u,\"slot\":%u", f->udp_encap, slot);
}

/* One line: the name, then what `flow set` was given, what it left out
 * (any) omitted. */
static void text_line(const struct flow *f)
{
	char buf[FLOWTEXT_MAX];

	printf("%s prio %d table %s", f->name, f->prio, f->table);
	flowtext_fmt_protos(f->protos, buf, sizeof(buf));
	if (buf[0])
		printf(" proto %s", buf);
	flowtext_fmt_cidrs(f->dst, f->ndst, buf, sizeof(buf));
	if (buf[0])
		printf(" dst %s", buf);
	flowtext_fmt_cidrs(f->src, f->nsrc, buf, sizeof(buf));
	if (buf[0])
		printf(" src %s", buf);
	flowtext_fmt_ports(f->dport, f->ndport, buf, sizeof(buf));
	if (buf[0])
		printf(" dport %s", buf);
	flowtext_fmt_ports(f->sport, f->nsport, buf, sizeof(buf));
	if (buf[0])
		printf(" sport %s", buf);
	if (f->udp_encap)
		printf(" udp-encap %u", f->udp_encap);
	printf("\n");
}

/* ---- list ---- */

/* Match order: the highest prio first, then by name. */
static int cmp_match(const void *a, const void *b, void *arg)
{
	const struct flow *fa = &((const struct flow *)arg)[*(const uint32_t *)a];
	const struct flow *fb = &((const struct flow *)arg)[*(const uint32_t *)b];

	if (fa->prio != fb->prio)
		return fa->prio > fb->prio ? -1 : 1;
	return strcmp(fa->name, fb->name);
}

static void list_print(const struct flowset_view *v, const uint32_t *order, bool json)
{
	uint32_t i;

	if (json)
		printf("{\"generation\":%llu,\"flows\":[", (unsigned long long)v->generation);
	for (i = 0; i < v->n; i++) {
		const struct flow *f = &v->flows[order[i]];

		if (!json) {
			text_line(f);
			continue;
		}
		printf("%s{", i ? "," : "");
		json_flow(f, v->slot[order[i]]);
		printf("}");
	}
	if (json)
		printf("]}\n");
}

static int sub_list(const struct cmd *cmd, const struct optval *ov, const char *set,
		    char **args, int n)
{
	uint32_t *order, i;
	struct snap sn;
	int r;

	if (n > 0)
		return usage_error(cmd, "unexpected argument '%s'", args[0]);
	if ((r = snap_load(cmd, set, &sn)))
		return r;
	order = malloc(sizeof(*order) * (sn.v.n ? sn.v.n : 1));
	if (!order) {
		snap_free(&sn);
		return cmd_error(cmd, "%s", strerror(errno));
	}
	for (i = 0; i < sn.v.n; i++)
		order[i] = i;
	qsort_r(order, sn.v.n, sizeof(*order), cmp_match, sn.v.flows);
	list_print(&sn.v, order, opt_get(cmd, ov, "json") != NULL);
	free(order);
	snap_free(&sn);
	return NFQLB_OK;
}

/* ---- show ---- */

static void show_text(const struct flowset_view *v, uint32_t i, const uint64_t *cnt)
{
	const struct flow *f = &v->flows[i];
	char buf[FLOWTEXT_MAX];

	printf("flow %s (generation %llu, counter slot %u)\n", f->name,
	       (unsigned long long)v->generation, v->slot[i]);
	printf("  table      %s\n  prio       %d\n", f->table, f->prio);
	flowtext_fmt_protos(f->protos, buf, sizeof(buf));
	printf("  proto      %s\n", buf[0] ? buf : "any");
	flowtext_fmt_cidrs(f->dst, f->ndst, buf, sizeof(buf));
	printf("  dst        %s\n", buf[0] ? buf : "any");
	flowtext_fmt_cidrs(f->src, f->nsrc, buf, sizeof(buf));
	printf("  src        %s\n", buf[0] ? buf : "any");
	flowtext_fmt_ports(f->dport, f->ndport, buf, sizeof(buf));
	printf("  dport      %s\n", buf[0] ? buf : "any");
	flowtext_fmt_ports(f->sport, f->nsport, buf, sizeof(buf));
	printf("  sport      %s\n", buf[0] ? buf : "any");
	if (f->udp_encap)
		printf("  udp-encap  %u\n", f->udp_encap);
	printf("  packets    %llu\n  no-target  %llu\n",
	       (unsigned long long)cnt[FLOWSET_F_PACKETS],
	       (unsigned long long)cnt[FLOWSET_F_NO_TARGET]);
}

static void show_json(const struct flowset_view *v, uint32_t i, const uint64_t *cnt)
{
	printf("{");
	json_flow(&v->flows[i], v->slot[i]);
	printf(",\"generation\":%llu,\"packets\":%llu,\"no_target\":%llu}\n",
	       (unsigned long long)v->generation,
	       (unsigned long long)cnt[FLOWSET_F_PACKETS],
	       (unsigned long long)cnt[FLOWSET_F_NO_TARGET]);
}

static int sub_show(const struct cmd *cmd, const struct optval *ov, const char *set,
		    char **args, int n)
{
	uint64_t (*counts)[FLOWSET_F_MAX], cnt[FLOWSET_C_MAX];
	struct snap sn;
	uint32_t i;
	int r;

	if (n == 0)
		return usage_error(cmd, "show needs a flow NAME");
	if (n > 1)
		return usage_error(cmd, "unexpected argument '%s'", args[1]);
	if ((r = flow_name(cmd, args[0])) || (r = snap_load(cmd, set, &sn)))
		return r;
	for (i = 0; i < sn.v.n && strcmp(sn.v.flows[i].name, args[0]); i++)
		;
	counts = calloc(FLOW_MAX, sizeof(*counts));
	if (i == sn.v.n || !counts) {
		r = i == sn.v.n ? cmd_error(cmd, "flow \"%s\" does not exist in flow set "
					    "\"%s\"", args[0], set) :
				  cmd_error(cmd, "%s", strerror(errno));
	} else {
		flowset_counts(sn.fs, counts, cnt);
		if (opt_get(cmd, ov, "json"))
			show_json(&sn.v, i, counts[sn.v.slot[i]]);
		else
			show_text(&sn.v, i, counts[sn.v.slot[i]]);
	}
	free(counts);
	snap_free(&sn);
	return r;
}

/* ---- dispatch ---- */

static const struct flow_sub subs[] = {
	{ "set", sub_set, "create a flow, or replace it, as one update",
	  "table prio proto dst src dport sport udp-encap" },
	{ "delete", sub_delete, "delete flows, as one update (all or none)", "" },
	{ "list", sub_list, "print every flow, one a line, in match order", "json" },
	{ "show", sub_show, "print one flow and its counters", "json" },
};

#define NSUBS (sizeof(subs) / sizeof(subs[0]))

/* Whether the word w is one of the space-separated words of list. */
static bool has_word(const char *list, const char *w)
{
	size_t n = strlen(w);
	const char *p;

	for (p = strstr(list, w); p; p = strstr(p + 1, w))
		if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
			return true;
	return false;
}

/* An option the subcommand does not take is a usage error. */
static int sub_opts(const struct cmd *cmd, const struct optval *ov,
		    const struct flow_sub *sub)
{
	size_t i;

	for (i = 0; cmd->opts[i].name; i++)
		if (ov->val[i] && strcmp(cmd->opts[i].name, "flows") &&
		    !has_word(sub->opts, cmd->opts[i].name))
			return usage_error(cmd, "%s takes no --%s", sub->name,
					   cmd->opts[i].name);
	return NFQLB_OK;
}

static int do_flow(const struct cmd *cmd, const struct optval *ov, int argc,
		   char **argv)
{
	const char *set;
	size_t i;
	int r;

	if (argc == ov->first)
		return usage_error(cmd, "want set, delete, list or show (nfqlb flow --help)");
	for (i = 0; i < NSUBS && strcmp(argv[ov->first], subs[i].name); i++)
		;
	if (i == NSUBS)
		return usage_error(cmd, "unknown subcommand '%s': want set, delete, list or "
				   "show", argv[ov->first]);
	if ((r = sub_opts(cmd, ov, &subs[i])) || (r = set_name(cmd, ov, &set)))
		return r;
	return subs[i].fn(cmd, ov, set, argv + ov->first + 1, argc - ov->first - 1);
}

const struct cmd cmd_flow = {
	"flow", do_flow, "set, delete, list and show the flows of a flow set",
	"set NAME --table TABLE [...] | delete NAME... | list | show NAME", flow_opts,
};
