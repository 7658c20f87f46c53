/* SPDX-License-Identifier: GPL-2.0-or-later */
/* route.c: `nfqlb route add|del|show`, fwmark rules and routes via libnl. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/nexthop.h>
#include <netlink/route/route.h>
#include <netlink/route/rule.h>
#include <netlink/socket.h>

#include "nfqlb/route.h"

static const struct opt route_opts[] = {
	{ "table", "T", "routing table (default 1000+ID; not 0, 253, 254, 255)" },
	{ NULL, NULL, NULL },
};

/* One command's connection to the kernel. */
struct route_ctx {
	const struct cmd *cmd;
	struct nl_sock *sk;
	struct nl_cache *links;	/* to name devices; may be NULL */
	int kerr;		/* the errno of the kernel's last refusal */
};

/* What `route add` asks for. */
struct route_req {
	uint32_t id, table;
	int family;
	struct nl_addr *gw;
	const char *dev;
	int ifindex;		/* 0: any */
	const char *gw_text;
};

bool route_table_ok(uint32_t table)
{
	return table != RT_TABLE_UNSPEC && table != RT_TABLE_DEFAULT &&
	       table != RT_TABLE_MAIN && table != RT_TABLE_LOCAL;
}

int route_default_table(uint32_t id, uint32_t *table)
{
	if (id > UINT32_MAX - ROUTE_TABLE_BASE)
		return -1;
	*table = ROUTE_TABLE_BASE + id;
	return 0;
}

static const char *fam_name(int family)
{
	return family == AF_INET ? "ipv4" : "ipv6";
}

/* ---------------------------------------------------------------- kernel */

/* libnl turns the kernel's errno into its own codes, losing e.g.
 * ENETUNREACH: keep the original. */
static int save_kerr(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	(void)nla;
	*(int *)arg = -e->error;
	return NL_STOP;
}

static int ctx_open(struct route_ctx *x, const struct cmd *cmd)
{
	int err;

	*x = (struct route_ctx){ cmd, nl_socket_alloc(), NULL, 0 };
	if (!x->sk)
		return cmd_error(cmd, "cannot allocate a netlink socket");
	nl_socket_modify_err_cb(x->sk, NL_CB_CUSTOM, save_kerr, &x->kerr);
	if ((err = nl_connect(x->sk, NETLINK_ROUTE)) < 0) {
		nl_socket_free(x->sk);
		return cmd_error(cmd, "netlink: %s", nl_geterror(err));
	}
	if (rtnl_link_alloc_cache(x->sk, AF_UNSPEC, &x->links) < 0)
		x->links = NULL;
	return NFQLB_OK;
}

static void ctx_close(struct route_ctx *x)
{
	if (x->links)
		nl_cache_free(x->links);
	nl_socket_free(x->sk);
}

/* Why the kernel refused (x->kerr), or libnl's reason for err. */
static const char *why(const struct route_ctx *x, int err)
{
	switch (x->kerr) {
	case 0:
		return nl_geterror(err);
	case EPERM:
	case EACCES:
		return "permission denied (needs CAP_NET_ADMIN)";
	case ENETUNREACH:
	case EHOSTUNREACH:
		return "the gateway is unreachable: no connected network holds it";
	case ENODEV:
		return "no such device, or it is down";
	case EEXIST:
		return "a conflicting rule or route exists";
	case EAFNOSUPPORT:
		return "the address family is not supported (IPv6 disabled?)";
	default:
		return strerror(x->kerr);
	}
}

static int kernel_error(struct route_ctx *x, int err, const char *what)
{
	return cmd_error(x->cmd, "%s: %s", what, why(x, err));
}

/* ---------------------------------------------------------------- objects */

static bool rule_is_ours(struct rtnl_rule *r)
{
	uint8_t proto = 0;

	return rtnl_rule_get_protocol(r, &proto) == 0 && proto == ROUTE_PROTO;
}

/* A rule that matches exactly the fwmark id, as `fwmark ID` does. */
static bool rule_is_for(struct rtnl_rule *r, uint32_t id)
{
	return rtnl_rule_get_mark(r) == id && rtnl_rule_get_mask(r) == 0xffffffffu;
}

static bool route_is_default(struct rtnl_route *r)
{
	struct nl_addr *dst = rtnl_route_get_dst(r);

	return !dst || nl_addr_get_prefixlen(dst) == 0;
}

static struct rtnl_nexthop *route_nh(struct rtnl_route *r)
{
	return rtnl_route_get_nnexthops(r) == 1 ? rtnl_route_nexthop_n(r, 0) : NULL;
}

/* "via ADDR dev DEV" of route r, into buf. */
static void route_text(const struct route_ctx *x, struct rtnl_route *r, char *buf,
		       size_t size)
{
	struct rtnl_nexthop *nh = route_nh(r);
	char gw[INET6_ADDRSTRLEN + 8] = "?", dev[IFNAMSIZ] = "?";

	if (nh && rtnl_route_nh_get_gateway(nh))
		nl_addr2str(rtnl_route_nh_get_gateway(nh), gw, sizeof(gw));
	if (nh && x->links)
		rtnl_link_i2name(x->links, rtnl_route_nh_get_ifindex(nh), dev, sizeof(dev));
	snprintf(buf, size, "via %s dev %s", gw, dev);
}

struct found {
	struct rtnl_rule *rule;		/* ours for the id, or NULL */
	struct rtnl_route *route;	/* the default route of the table, or NULL */
	const char *conflict;		/* why add must refuse, or NULL */
	char text[256];
};

/* Another rule that looks up table T would follow the route added there,
 * and `route del` of either id would take the other's route away. */
static void check_shared(struct rtnl_rule *r, const struct route_req *q, struct found *f)
{
	if (rtnl_rule_get_table(r) != q->table)
		return;
	if (rule_is_ours(r))
		snprintf(f->text, sizeof(f->text), "table %u is already used by id %u "
			 "(give another --table)", q->table, rtnl_rule_get_mark(r));
	else
		snprintf(f->text, sizeof(f->text), "table %u is already looked up by a rule "
			 "that nfqlb did not install (priority %u; give another --table)",
			 q->table, rtnl_rule_get_prio(r));
	f->conflict = f->text;
}

static void check_rule(struct rtnl_rule *r, const struct route_req *q, struct found *f)
{
	if (rtnl_rule_get_family(r) != q->family || f->conflict)
		return;
	if (!rule_is_for(r, q->id)) {
		check_shared(r, q, f);
		return;
	}
	if (!rule_is_ours(r)) {
		snprintf(f->text, sizeof(f->text), "a rule for fwmark %u exists that nfqlb "
			 "did not install (priority %u, table %u)", q->id,
			 rtnl_rule_get_prio(r), rtnl_rule_get_table(r));
		f->conflict = f->text;
	} else if (rtnl_rule_get_table(r) != q->table) {
		snprintf(f->text, sizeof(f->text), "already looks up table %u (run "
			 "'nfqlb route del %u' first)", rtnl_rule_get_table(r), q->id);
		f->conflict = f->text;
	} else {
		f->rule = r;
	}
}

static bool same_nexthop(struct rtnl_route *r, const struct route_req *q)
{
	struct rtnl_nexthop *nh = route_nh(r);
	struct nl_addr *gw = nh ? rtnl_route_nh_get_gateway(nh) : NULL;

	return gw && nl_addr_cmp(gw, q->gw) == 0 &&
	       (!q->ifindex || rtnl_route_nh_get_ifindex(nh) == q->ifindex);
}

static void check_route(const struct route_ctx *x, struct rtnl_route *r,
			const struct route_req *q, struct found *f)
{
	char old[96];

	if (rtnl_route_get_family(r) != q->family || rtnl_route_get_table(r) != q->table ||
	    !route_is_default(r) || f->conflict)
		return;
	route_text(x, r, old, sizeof(old));
	if (rtnl_route_get_protocol(r) != ROUTE_PROTO) {
		snprintf(f->text, sizeof(f->text), "table %u already has a default route "
			 "(%s) that nfqlb did not install", q->table, old);
		f->conflict = f->text;
	} else if (!same_nexthop(r, q)) {
		snprintf(f->text, sizeof(f->text), "already routes %s (run 'nfqlb route "
			 "del %u' first)", old, q->id);
		f->conflict = f->text;
	} else {
		f->route = r;
	}
}

/* ---------------------------------------------------------------- delete */

/* Delete nfqlb's default routes of family in table.  Returns how many, or a
 * negative libnl error. */
static int delete_routes(struct route_ctx *x, int family, uint32_t table)
{
	struct nl_cache *routes;
	struct nl_object *o;
	int err, n = 0;

	if ((err = rtnl_route_alloc_cache(x->sk, family, 0, &routes)) < 0)
		return err;
	for (o = nl_cache_get_first(routes); o; o = nl_cache_get_next(o)) {
		struct rtnl_route *r = (struct rtnl_route *)o;

		if (rtnl_route_get_family(r) != family || rtnl_route_get_table(r) != table ||
		    rtnl_route_get_protocol(r) != ROUTE_PROTO || !route_is_default(r))
			continue;
		x->kerr = 0;
		if ((err = rtnl_route_delete(x->sk, r, 0)) < 0)
			break;
		n++;
	}
	nl_cache_free(routes);
	return err < 0 ? err : n;
}

/* Whether a rule of family still looks up table: its route then stays,
 * for a table shared before `route add` refused sharing, or by hand.
 * When the rules cannot be read, the route stays too. */
static bool table_in_use(struct route_ctx *x, int family, uint32_t table)
{
	struct nl_cache *rules;
	struct nl_object *o;
	bool used = false;

	if (rtnl_rule_alloc_cache(x->sk, family, &rules) < 0)
		return true;
	for (o = nl_cache_get_first(rules); o && !used; o = nl_cache_get_next(o))
		used = rtnl_rule_get_family((struct rtnl_rule *)o) == family &&
		       rtnl_rule_get_table((struct rtnl_rule *)o) == table;
	nl_cache_free(rules);
	return used;
}

static void undo_route(struct route_ctx *x, const struct route_req *q)
{
	int kerr = x->kerr;

	delete_routes(x, q->family, q->table);
	x->kerr = kerr;
}

/* ---------------------------------------------------------------- add */

static int add_route(struct route_ctx *x, const struct route_req *q)
{
	struct rtnl_route *r = rtnl_route_alloc();
	struct rtnl_nexthop *nh = rtnl_route_nh_alloc();
	struct nl_addr *dst = NULL;
	int err = -NLE_NOMEM;

	if (!r || !nh || nl_addr_parse("default", q->family, &dst) < 0)
		goto out;
	rtnl_route_set_family(r, (uint8_t)q->family);
	rtnl_route_set_table(r, q->table);
	rtnl_route_set_protocol(r, ROUTE_PROTO);
	rtnl_route_set_type(r, RTN_UNICAST);
	rtnl_route_set_scope(r, RT_SCOPE_UNIVERSE);
	rtnl_route_set_dst(r, dst);
	rtnl_route_nh_set_gateway(nh, q->gw);
	if (q->ifindex)
		rtnl_route_nh_set_ifindex(nh, q->ifindex);
	rtnl_route_add_nexthop(r, nh);
	nh = NULL;
	x->kerr = 0;
	err = rtnl_route_add(x->sk, r, NLM_F_EXCL);
out:
	if (nh)
		rtnl_route_nh_free(nh);
	nl_addr_put(dst);
	if (r)
		rtnl_route_put(r);
	return err;
}

static struct rtnl_rule *new_rule(const struct route_req *q)
{
	struct rtnl_rule *r = rtnl_rule_alloc();

	if (!r)
		return NULL;
	rtnl_rule_set_family(r, q->family);
	rtnl_rule_set_prio(r, ROUTE_PRIO);
	rtnl_rule_set_mark(r, q->id);
	rtnl_rule_set_mask(r, 0xffffffffu);
	rtnl_rule_set_table(r, q->table);
	rtnl_rule_set_action(r, FR_ACT_TO_TBL);
	rtnl_rule_set_protocol(r, ROUTE_PROTO);
	return r;
}

/* The rule, and the route it needs, as they are now. */
static int find_existing(struct route_ctx *x, const struct route_req *q,
			 struct nl_cache **rules, struct nl_cache **routes,
			 struct found *f)
{
	struct nl_object *o;
	int err;

	memset(f, 0, sizeof(*f));
	if ((err = rtnl_rule_alloc_cache(x->sk, q->family, rules)) < 0)
		return kernel_error(x, err, "reading the rules");
	if ((err = rtnl_route_alloc_cache(x->sk, q->family, 0, routes)) < 0) {
		nl_cache_free(*rules);
		return kernel_error(x, err, "reading the routes");
	}
	for (o = nl_cache_get_first(*rules); o; o = nl_cache_get_next(o))
		check_rule((struct rtnl_rule *)o, q, f);
	for (o = nl_cache_get_first(*routes); o; o = nl_cache_get_next(o))
		check_route(x, (struct rtnl_route *)o, q, f);
	return NFQLB_OK;
}

/* Add what is missing; undo the route when the rule cannot follow. */
static int install(struct route_ctx *x, const struct route_req *q, const struct found *f)
{
	char what[128];
	struct rtnl_rule *rule;
	int err;

	snprintf(what, sizeof(what), "id %u via %s", q->id, q->gw_text);
	if (!f->route && (err = add_route(x, q)) < 0)
		return kernel_error(x, err, what);
	if (f->rule)
		return NFQLB_OK;
	rule = new_rule(q);
	if (!rule)
		return cmd_error(x->cmd, "%s: out of memory", what);
	x->kerr = 0;
	err = rtnl_rule_add(x->sk, rule, NLM_F_EXCL);
	rtnl_rule_put(rule);
	if (err >= 0)
		return NFQLB_OK;
	snprintf(what, sizeof(what), "id %u: adding the rule fwmark %u lookup %u",
		 q->id, q->id, q->table);
	err = kernel_error(x, err, what);
	if (!f->route)
		undo_route(x, q);
	return err;
}

/* ---------------------------------------------------------------- parsing */

static int parse_id(const struct cmd *cmd, const char *s, uint32_t *id)
{
	if (!s)
		return usage_error(cmd, "no target id given");
	if (opt_id(s, id) < 0)
		return usage_error(cmd, "bad target id '%s': %s", s, opt_id_why(s));
	return NFQLB_OK;
}

/* A table is read as ip reads it, so a leading 0 is refused as for ids. */
static int parse_table(const struct cmd *cmd, const char *v, uint32_t *table)
{
	bool bad = opt_id(v, table) < 0;

	if (bad && errno == EDOM)
		return usage_error(cmd, "bad table '%s': %s", v, opt_id_why(v));
	if (bad || !route_table_ok(*table))
		return usage_error(cmd, "bad table '%s': want 1..4294967295 but not 253, "
				   "254 or 255 (default, main, local)", v);
	return NFQLB_OK;
}

/* What is wrong with "add ID via ADDR [dev DEV]": the first argument out
 * of place, or what is missing. */
static int add_usage(const struct cmd *cmd, char **args, int n)
{
	int bad = -1;

	if (n >= 2 && strcmp(args[1], "via") != 0)
		bad = 1;
	else if (n >= 4 && strcmp(args[3], "dev") != 0)
		bad = 3;
	else if (n > 5)
		bad = 5;
	if (bad < 0)
		return usage_error(cmd, "add: want ID via ADDR [dev DEV]");
	return usage_error(cmd, "add: unexpected argument '%s': want ID via ADDR [dev DEV]",
			   args[bad]);
}

/* "ID via ADDR [dev DEV]" */
static int parse_add(const struct cmd *cmd, char **args, int n, struct route_req *q)
{
	unsigned char bytes[16];
	int r;

	if ((r = parse_id(cmd, n > 0 ? args[0] : NULL, &q->id)))
		return r;
	if (n < 3 || strcmp(args[1], "via") != 0)
		return add_usage(cmd, args, n);
	q->gw_text = args[2];
	if (inet_pton(AF_INET, args[2], bytes) == 1)
		q->family = AF_INET;
	else if (inet_pton(AF_INET6, args[2], bytes) == 1)
		q->family = AF_INET6;
	else
		return usage_error(cmd, "bad gateway '%s': want an IPv4 or IPv6 address",
				   args[2]);
	if (n == 5 && strcmp(args[3], "dev") == 0)
		q->dev = args[4];
	else if (n != 3)
		return add_usage(cmd, args, n);
	if (q->dev && (!*q->dev || strlen(q->dev) >= IFNAMSIZ))
		return usage_error(cmd, "bad device name '%s'", q->dev);
	/* The kernel needs the device of a link-local gateway (fe80::/10),
	 * and says only "no route to host" without it. */
	if (!q->dev && q->family == AF_INET6 && bytes[0] == 0xfe && (bytes[1] & 0xc0) == 0x80)
		return usage_error(cmd, "via %s is link-local: give the device with "
				   "\"dev IFNAME\"", args[2]);
	q->gw = nl_addr_build(q->family, bytes, q->family == AF_INET ? 4 : 16);
	if (!q->gw)
		return cmd_error(cmd, "out of memory");
	return NFQLB_OK;
}

/* ---------------------------------------------------------------- commands */

static int route_add(struct route_ctx *x, const struct optval *ov, char **args, int n)
{
	struct nl_cache *rules = NULL, *routes = NULL;
	const char *t = opt_get(x->cmd, ov, "table");
	struct route_req q = { 0 };
	struct found f;
	int r;

	if ((r = parse_add(x->cmd, args, n, &q)) || (t && (r = parse_table(x->cmd, t, &q.table))))
		goto out;
	if (!t && route_default_table(q.id, &q.table) < 0) {
		r = usage_error(x->cmd, "id %u has no default table (%u + id is too large): "
				"give --table", q.id, ROUTE_TABLE_BASE);
		goto out;
	}
	if (q.dev && (!x->links || !(q.ifindex = rtnl_link_name2i(x->links, q.dev)))) {
		r = cmd_error(x->cmd, "id %u via %s: unknown device '%s'", q.id, q.gw_text,
			      q.dev);
		goto out;
	}
	if ((r = find_existing(x, &q, &rules, &routes, &f)))
		goto out;
	if (f.conflict)
		r = cmd_error(x->cmd, "id %u via %s: %s", q.id, q.gw_text, f.conflict);
	else
		r = install(x, &q, &f);
	nl_cache_free(rules);
	nl_cache_free(routes);
out:
	nl_addr_put(q.gw);
	return r;
}

/* Delete nfqlb's rules for id of family (only those looking up table, if
 * given) and their tables' default routes.  Returns how many objects, or
 * an exit code (negative) after a message. */
static int del_family(struct route_ctx *x, int family, uint32_t id,
		      const uint32_t *table)
{
	struct nl_cache *rules;
	struct nl_object *o;
	int err, n = 0;

	if ((err = rtnl_rule_alloc_cache(x->sk, family, &rules)) < 0)
		return -kernel_error(x, err, "reading the rules");
	for (o = nl_cache_get_first(rules); o; o = nl_cache_get_next(o)) {
		struct rtnl_rule *r = (struct rtnl_rule *)o;
		uint32_t t = rtnl_rule_get_table(r);

		if (rtnl_rule_get_family(r) != family || !rule_is_ours(r) ||
		    !rule_is_for(r, id) || (table && t != *table))
			continue;
		x->kerr = 0;
		if ((err = rtnl_rule_delete(x->sk, r, 0)) < 0 ||
		    (err = table_in_use(x, family, t) ? 0 : delete_routes(x, family, t)) < 0)
			break;
		n += 1 + err;
	}
	nl_cache_free(rules);
	if (err < 0)
		return -kernel_error(x, err, "deleting");
	return n;
}

static int route_del(struct route_ctx *x, const struct optval *ov, char **args, int n)
{
	static const int fams[] = { AF_INET, AF_INET6 };
	const char *t = opt_get(x->cmd, ov, "table");
	uint32_t id, table = 0;
	bool known;
	int r, k, total = 0;
	size_t i;

	if ((r = parse_id(x->cmd, n > 0 ? args[0] : NULL, &id)))
		return r;
	if (n > 1)
		return usage_error(x->cmd, "del: unexpected argument '%s': want ID", args[1]);
	if (t && (r = parse_table(x->cmd, t, &table)))
		return r;
	known = t || route_default_table(id, &table) == 0;
	for (i = 0; i < 2; i++) {
		if ((k = del_family(x, fams[i], id, t ? &table : NULL)) < 0)
			return -k;
		total += k;
		/* A route whose rule was deleted by hand. */
		if (known && !table_in_use(x, fams[i], table) &&
		    (k = delete_routes(x, fams[i], table)) > 0)
			total += k;
	}
	if (total == 0)
		return cmd_error(x->cmd, "id %u: nothing installed by nfqlb", id);
	return NFQLB_OK;
}

/* Whether routes holds a default route of family in table. */
static bool has_default(struct nl_cache *routes, int family, uint32_t table)
{
	struct nl_object *o;

	for (o = nl_cache_get_first(routes); o; o = nl_cache_get_next(o)) {
		struct rtnl_route *r = (struct rtnl_route *)o;

		if (rtnl_route_get_family(r) == family && rtnl_route_get_table(r) == table &&
		    route_is_default(r))
			return true;
	}
	return false;
}

/* A rule whose table has no default route sends its packets on to the
 * main table, silently: say so on its line. */
static void show_rule(struct rtnl_rule *r, struct nl_cache *routes)
{
	uint32_t t = rtnl_rule_get_table(r);
	int family = rtnl_rule_get_family(r);

	printf("%s rule  %u: from all fwmark %#x lookup %u proto %u", fam_name(family),
	       rtnl_rule_get_prio(r), rtnl_rule_get_mark(r), t, ROUTE_PROTO);
	if (!has_default(routes, family, t))
		printf(" (no route: table %u has no default route, so these packets "
		       "follow the main table)", t);
	printf("\n");
}

static void show_route(const struct route_ctx *x, struct rtnl_route *r)
{
	char text[96];

	route_text(x, r, text, sizeof(text));
	printf("%s route default %s table %u proto %u\n",
	       fam_name(rtnl_route_get_family(r)), text, rtnl_route_get_table(r),
	       ROUTE_PROTO);
}

static int show_family(struct route_ctx *x, int family)
{
	struct nl_cache *rules, *routes;
	struct nl_object *o;
	int err;

	if ((err = rtnl_rule_alloc_cache(x->sk, family, &rules)) < 0)
		return kernel_error(x, err, "reading the rules");
	if ((err = rtnl_route_alloc_cache(x->sk, family, 0, &routes)) < 0) {
		nl_cache_free(rules);
		return kernel_error(x, err, "reading the routes");
	}
	for (o = nl_cache_get_first(rules); o; o = nl_cache_get_next(o))
		if (rtnl_rule_get_family((struct rtnl_rule *)o) == family &&
		    rule_is_ours((struct rtnl_rule *)o))
			show_rule((struct rtnl_rule *)o, routes);
	for (o = nl_cache_get_first(routes); o; o = nl_cache_get_next(o))
		if (rtnl_route_get_family((struct rtnl_route *)o) == family &&
		    rtnl_route_get_protocol((struct rtnl_route *)o) == ROUTE_PROTO)
			show_route(x, (struct rtnl_route *)o);
	nl_cache_free(rules);
	nl_cache_free(routes);
	return NFQLB_OK;
}

static int route_show(struct route_ctx *x, const struct optval *ov, char **args, int n)
{
	int r;

	if (n > 0)
		return usage_error(x->cmd, "show: unexpected argument '%s'", args[0]);
	if (opt_get(x->cmd, ov, "table"))
		return usage_error(x->cmd, "show: --table is for add and del");
	/* A write error is nfqlb_run()'s to report. */
	if ((r = show_family(x, AF_INET)) || (r = show_family(x, AF_INET6)))
		return r;
	return NFQLB_OK;
}

static const struct {
	const char *name;
	int (*fn)(struct route_ctx *x, const struct optval *ov, char **args, int n);
} subs[] = {
	{ "add", route_add },
	{ "del", route_del },
	{ "show", route_show },
};

static int do_route(const struct cmd *cmd, const struct optval *ov, int argc,
		    char **argv)
{
	struct route_ctx x;
	size_t i;
	int r;

	if (argc == ov->first)
		return usage_error(cmd, "want add, del or show");
	for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
		if (strcmp(argv[ov->first], subs[i].name) == 0)
			break;
	if (i == sizeof(subs) / sizeof(subs[0]))
		return usage_error(cmd, "unknown subcommand '%s': want add, del or show",
				   argv[ov->first]);
	if ((r = ctx_open(&x, cmd)))
		return r;
	r = subs[i].fn(&x, ov, argv + ov->first + 1, argc - ov->first - 1);
	ctx_close(&x);
	return r;
}

const struct cmd cmd_route = {
	"route", do_route, "install the fwmark rules and routes of direct server return",
	"add ID via ADDR [dev DEV] | del ID | show", route_opts,
};
