/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_route.c: `nfqlb route`: argument errors, and, as root, add, show and
 * del in a network namespace of the test's own (unshare(CLONE_NEWNET) in
 * Check's forked test process) with one veth pair. */
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/rule.h>
#include <linux/fib_rules.h>

#include "nfqlb/route.h"
#include "test/unit/cli_run.h"
#include "test/unit/suites.h"

/* Run `nfqlb route ARGS`; capture stdout and stderr. */
#define RUN(...) cli_run("route", (const char *const[]){ __VA_ARGS__, NULL })

/* Exit code ret, and one line on stderr naming what. */
static void want_error(int ret, int code, const char *what)
{
	cli_want_error(ret, code, "route", what);
}

struct bad_case {
	const char *args[8];
	const char *what;
};

static const struct bad_case bad_cases[] = {
	{ { NULL }, "want add, del or show" },
	{ { "list", NULL }, "unknown subcommand 'list'" },
	{ { "add", NULL }, "no target id given" },
	{ { "add", "0", "via", "10.0.0.1", NULL }, "bad target id '0'" },
	{ { "add", "4294967296", "via", "10.0.0.1", NULL }, "bad target id" },
	{ { "add", "1", NULL }, "want ID via ADDR [dev DEV]" },
	{ { "add", "1", "gw", "10.0.0.1", NULL }, "unexpected argument 'gw': want ID via ADDR" },
	{ { "add", "1", "via", "10.0.0.1", "dev", NULL }, "want ID via ADDR" },
	{ { "add", "1", "via", "10.0.0.1", "if", "eth0", NULL },
	  "unexpected argument 'if': want ID via ADDR" },
	{ { "add", "1", "via", "10.0.0.1", "dev", "eth0", "x", NULL },
	  "unexpected argument 'x': want ID via ADDR" },
	{ { "add", "010", "via", "10.0.0.1", NULL }, "bad target id '010': a leading 0 is refused" },
	{ { "add", "1", "via", "10.0.0.1", "--table", "0100", NULL },
	  "bad table '0100': a leading 0 is refused" },
	{ { "add", "1", "via", "fe80::1", NULL },
	  "via fe80::1 is link-local: give the device with \"dev IFNAME\"" },
	{ { "add", "1", "via", "FEBF::1", NULL }, "via FEBF::1 is link-local" },
	{ { "del", "08", NULL }, "bad target id '08': a leading 0 is refused" },
	{ { "add", "1", "via", "10.0.0.256", NULL }, "bad gateway '10.0.0.256'" },
	{ { "add", "1", "via", "10.0.0.0/24", NULL }, "bad gateway" },
	{ { "add", "1", "via", "10.0.0.1", "dev", "a-name-much-too-long", NULL },
	  "bad device name" },
	{ { "add", "1", "via", "10.0.0.1", "--table", "254", NULL }, "bad table '254'" },
	{ { "add", "1", "via", "10.0.0.1", "--table", "255", NULL }, "bad table '255'" },
	{ { "add", "1", "via", "10.0.0.1", "--table", "253", NULL }, "bad table '253'" },
	{ { "add", "1", "via", "10.0.0.1", "--table", "0", NULL }, "bad table '0'" },
	{ { "add", "1", "via", "10.0.0.1", "--table", "x", NULL }, "bad table 'x'" },
	{ { "add", "4294967295", "via", "10.0.0.1", NULL }, "give --table" },
	{ { "del", NULL }, "no target id given" },
	{ { "del", "1", "2", NULL }, "del: unexpected argument '2': want ID" },
	{ { "del", "1", "--table", "main", NULL }, "bad table 'main'" },
	{ { "show", "1", NULL }, "show: unexpected argument '1'" },
	{ { "show", "--table", "5", NULL }, "--table is for add and del" },
};

START_TEST(test_bad_args)
{
	const struct bad_case *c = &bad_cases[_i];

	want_error(cli_run("route", c->args), 2, c->what);
	ck_assert_str_eq(cli_out, "");
}
END_TEST

START_TEST(test_tables)
{
	uint32_t t = 0;

	ck_assert(!route_table_ok(0));
	ck_assert(!route_table_ok(253));
	ck_assert(!route_table_ok(254));
	ck_assert(!route_table_ok(255));
	ck_assert(route_table_ok(1));
	ck_assert(route_table_ok(256));
	ck_assert_int_eq(route_default_table(1, &t), 0);
	ck_assert_uint_eq(t, 1001);
	ck_assert_int_eq(route_default_table(UINT32_MAX - 1000, &t), 0);
	ck_assert_uint_eq(t, UINT32_MAX);
	ck_assert_int_eq(route_default_table(UINT32_MAX - 999, &t), -1);
}
END_TEST

/* ---------------------------------------------------------------- as root */

static void link_up(struct nl_sock *sk, const char *name)
{
	struct rtnl_link *l = NULL, *change = rtnl_link_alloc();

	ck_assert_int_eq(rtnl_link_get_kernel(sk, 0, name, &l), 0);
	rtnl_link_set_flags(change, IFF_UP);
	ck_assert_int_eq(rtnl_link_change(sk, l, change, 0), 0);
	rtnl_link_put(change);
	rtnl_link_put(l);
}

static void addr_add(struct nl_sock *sk, const char *dev, const char *cidr)
{
	struct rtnl_addr *a = rtnl_addr_alloc();
	struct nl_addr *local = NULL;
	struct rtnl_link *l = NULL;

	ck_assert_int_eq(rtnl_link_get_kernel(sk, 0, dev, &l), 0);
	ck_assert_int_eq(nl_addr_parse(cidr, AF_UNSPEC, &local), 0);
	rtnl_addr_set_ifindex(a, rtnl_link_get_ifindex(l));
	rtnl_addr_set_local(a, local);
	rtnl_addr_set_flags(a, IFA_F_NODAD);
	ck_assert_int_eq(rtnl_addr_add(sk, a, 0), 0);
	nl_addr_put(local);
	rtnl_addr_put(a);
	rtnl_link_put(l);
}

/* A fresh network namespace with v0 (10.9.0.1/24, fd00:9::1/64) - v1.
 * Returns false (the test then checks nothing) when not root. */
static bool netns_fixture(void)
{
	struct nl_sock *sk;

	if (geteuid() != 0)
		return false;
	ck_assert_msg(unshare(CLONE_NEWNET) == 0, "unshare: %s", strerror(errno));
	sk = nl_socket_alloc();
	ck_assert_int_eq(nl_connect(sk, NETLINK_ROUTE), 0);
	ck_assert_int_eq(rtnl_link_veth_add(sk, "v0", "v1", getpid()), 0);
	link_up(sk, "v0");
	link_up(sk, "v1");
	addr_add(sk, "v0", "10.9.0.1/24");
	addr_add(sk, "v0", "fd00:9::1/64");
	nl_socket_free(sk);
	return true;
}

#define R1 "ipv4 rule  1000: from all fwmark 0x1 lookup 1001 proto 78\n"
#define D1 "ipv4 route default via 10.9.0.2 dev v0 table 1001 proto 78\n"
#define R2 "ipv6 rule  1000: from all fwmark 0x2 lookup 77 proto 78\n"
#define D2 "ipv6 route default via fd00:9::2 dev v0 table 77 proto 78\n"

START_TEST(test_add_show_del)
{
	if (!netns_fixture())
		return;
	ck_assert_int_eq(RUN("show"), 0);
	ck_assert_str_eq(cli_out, "");
	ck_assert_int_eq(RUN("add", "1", "via", "10.9.0.2"), 0);
	ck_assert_str_eq(cli_err, "");
	ck_assert_int_eq(RUN("add", "1", "via", "10.9.0.2", "dev", "v0"), 0);
	ck_assert_int_eq(RUN("add", "2", "via", "fd00:9::2", "dev", "v0", "--table", "77"), 0);
	ck_assert_int_eq(RUN("show"), 0);
	ck_assert_str_eq(cli_out, R1 D1 R2 D2);
	want_error(RUN("add", "1", "via", "10.9.0.3"), 1, "already routes via 10.9.0.2 dev v0");
	want_error(RUN("add", "1", "via", "10.9.0.2", "--table", "5"), 1,
		   "already looks up table 1001");
	want_error(RUN("add", "3", "via", "10.8.0.1"), 1, "the gateway is unreachable");
	want_error(RUN("add", "3", "via", "fd00:8::1"), 1, "the gateway is unreachable");
	want_error(RUN("add", "3", "via", "10.9.0.3", "dev", "v9"), 1, "unknown device 'v9'");
	ck_assert_int_eq(RUN("show"), 0);
	ck_assert_str_eq(cli_out, R1 D1 R2 D2);
	ck_assert_int_eq(RUN("del", "1"), 0);
	want_error(RUN("del", "1"), 1, "id 1: nothing installed by nfqlb");
	want_error(RUN("del", "2", "--table", "78"), 1, "nothing installed");
	ck_assert_int_eq(RUN("show"), 0);
	ck_assert_str_eq(cli_out, R2 D2);
	ck_assert_int_eq(RUN("del", "2"), 0);
	ck_assert_int_eq(RUN("show"), 0);
	ck_assert_str_eq(cli_out, "");
}
END_TEST

/* A fwmark rule made by hand (as `ip rule add` or an older nfqlb would). */
static void hand_rule(uint32_t mark, uint32_t table, uint8_t proto, uint32_t prio)
{
	struct nl_sock *sk = nl_socket_alloc();
	struct rtnl_rule *r = rtnl_rule_alloc();

	ck_assert_int_eq(nl_connect(sk, NETLINK_ROUTE), 0);
	rtnl_rule_set_family(r, AF_INET);
	rtnl_rule_set_prio(r, prio);
	rtnl_rule_set_mark(r, mark);
	rtnl_rule_set_mask(r, 0xffffffffu);
	rtnl_rule_set_table(r, table);
	rtnl_rule_set_action(r, FR_ACT_TO_TBL);
	rtnl_rule_set_protocol(r, proto);
	ck_assert_int_eq(rtnl_rule_add(sk, r, NLM_F_EXCL), 0);
	rtnl_rule_put(r);
	nl_socket_free(sk);
}

#define RS "ipv4 rule  1000: from all fwmark 0xffffffff lookup 5000 proto 78\n"
#define R5 "ipv4 rule  1000: from all fwmark 0x5 lookup 5000 proto 78\n"
#define DS "ipv4 route default via 10.9.0.2 dev v0 table 5000 proto 78\n"
#define R5v6 "ipv6 rule  1000: from all fwmark 0x5 lookup 5000 proto 78\n"
#define D5v6 "ipv6 route default via fd00:9::2 dev v0 table 5000 proto 78\n"

/* Two ids must not share a table: `route del` of one would take the
 * other's route, and the other would fall back to the main table. */
START_TEST(test_shared_table)
{
	if (!netns_fixture())
		return;
	ck_assert_int_eq(RUN("add", "4294967295", "via", "10.9.0.2", "--table", "5000"), 0);
	want_error(RUN("add", "5", "via", "10.9.0.2", "--table", "5000"), 1,
		   "id 5 via 10.9.0.2: table 5000 is already used by id 4294967295 "
		   "(give another --table)");
	/* IPv6 has tables of its own, under the same numbers. */
	ck_assert_int_eq(RUN("add", "5", "via", "fd00:9::2", "--table", "5000"), 0);
	ck_assert_int_eq(RUN("show"), 0);
	ck_assert_str_eq(cli_out, RS DS R5v6 D5v6);
	hand_rule(8, 6000, 0, 2000);
	want_error(RUN("add", "7", "via", "10.9.0.2", "--table", "6000"), 1,
		   "table 6000 is already looked up by a rule that nfqlb did not install "
		   "(priority 2000");
	/* A table shared by hand: its route stays until its last rule goes. */
	hand_rule(5, 5000, 78, 1000);
	ck_assert_int_eq(RUN("del", "4294967295"), 0);
	ck_assert_int_eq(RUN("show"), 0);
	ck_assert_str_eq(cli_out, R5 DS R5v6 D5v6);
	ck_assert_int_eq(RUN("del", "5"), 0);
	ck_assert_int_eq(RUN("show"), 0);
	ck_assert_str_eq(cli_out, "");
}
END_TEST

/* A rule whose table has no default route is flagged by `route show`. */
START_TEST(test_show_missing_route)
{
	if (!netns_fixture())
		return;
	ck_assert_int_eq(RUN("add", "1", "via", "10.9.0.2"), 0);
	hand_rule(9, 1009, 78, 1000);
	ck_assert_int_eq(RUN("show"), 0);
	ck_assert_str_eq(cli_out, R1 "ipv4 rule  1000: from all fwmark 0x9 lookup 1009 "
			 "proto 78 (no route: table 1009 has no default route, so these "
			 "packets follow the main table)\n" D1);
	ck_assert_str_eq(cli_err, "");
}
END_TEST

Suite *make_route_suite(void)
{
	Suite *s = suite_create("route");
	TCase *tc = tcase_create("route");

	tcase_add_loop_test(tc, test_bad_args, 0, sizeof(bad_cases) / sizeof(bad_cases[0]));
	tcase_add_test(tc, test_tables);
	tcase_add_test(tc, test_add_show_del);
	tcase_add_test(tc, test_shared_table);
	tcase_add_test(tc, test_show_missing_route);
	suite_add_tcase(s, tc);
	return s;
}
