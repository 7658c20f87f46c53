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

#include "nfqlb/cli.h"
#include "nfqlb/route.h"
#include "test/unit/suites.h"

static char out[1 << 14], err[4096];

static void slurp(FILE *f, char *buf, size_t size)
{
	size_t n;

	rewind(f);
	n = fread(buf, 1, size - 1, f);
	buf[n] = '\0';
	fclose(f);
}

/* Run `nfqlb route ARGS` (NULL-terminated); capture stdout and stderr. */
static int run_argv(const char *const *args)
{
	FILE *fo = tmpfile(), *fe = tmpfile();
	int so = dup(1), se = dup(2), argc = 2, ret;
	char *argv[16] = { "nfqlb", "route" };

	for (; *args && argc < 15; args++)
		argv[argc++] = (char *)*args;
	fflush(stdout);
	fflush(stderr);
	dup2(fileno(fo), 1);
	dup2(fileno(fe), 2);
	ret = nfqlb_run(argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(so, 1);
	dup2(se, 2);
	close(so);
	close(se);
	slurp(fo, out, sizeof(out));
	slurp(fe, err, sizeof(err));
	return ret;
}

#define RUN(...) run_argv((const char *const[]){ __VA_ARGS__, NULL })

static int lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* Exit code ret, and one line on stderr naming what. */
static void want_error(int ret, int code, const char *what)
{
	ck_assert_int_eq(ret, code);
	ck_assert_msg(strncmp(err, "nfqlb: route: ", 14) == 0, "stderr: %s", err);
	ck_assert_msg(strstr(err, what), "want '%s' in: %s", what, err);
	ck_assert_int_eq(lines(err), 1);
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
	{ { "add", "1", "gw", "10.0.0.1", NULL }, "want ID via ADDR" },
	{ { "add", "1", "via", "10.0.0.1", "dev", NULL }, "want ID via ADDR" },
	{ { "add", "1", "via", "10.0.0.1", "if", "eth0", NULL }, "want ID via ADDR" },
	{ { "add", "1", "via", "10.0.0.1", "dev", "eth0", "x", NULL }, "want ID via ADDR" },
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
	{ { "del", "1", "2", NULL }, "del: want ID" },
	{ { "del", "1", "--table", "main", NULL }, "bad table 'main'" },
	{ { "show", "1", NULL }, "show: unexpected argument" },
	{ { "show", "--table", "5", NULL }, "--table is for add and del" },
};

START_TEST(test_bad_args)
{
	const struct bad_case *c = &bad_cases[_i];

	want_error(run_argv(c->args), 2, c->what);
	ck_assert_str_eq(out, "");
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
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(RUN("add", "1", "via", "10.9.0.2"), 0);
	ck_assert_str_eq(err, "");
	ck_assert_int_eq(RUN("add", "1", "via", "10.9.0.2", "dev", "v0"), 0);
	ck_assert_int_eq(RUN("add", "2", "via", "fd00:9::2", "dev", "v0", "--table", "77"), 0);
	ck_assert_int_eq(RUN("show"), 0);
	ck_assert_str_eq(out, R1 D1 R2 D2);
	want_error(RUN("add", "1", "via", "10.9.0.3"), 1, "already routes via 10.9.0.2 dev v0");
	want_error(RUN("add", "1", "via", "10.9.0.2", "--table", "5"), 1,
		   "already looks up table 1001");
	want_error(RUN("add", "3", "via", "10.8.0.1"), 1, "the gateway is unreachable");
	want_error(RUN("add", "3", "via", "fd00:8::1"), 1, "the gateway is unreachable");
	want_error(RUN("add", "3", "via", "10.9.0.3", "dev", "v9"), 1, "unknown device 'v9'");
	ck_assert_int_eq(RUN("show"), 0);
	ck_assert_str_eq(out, R1 D1 R2 D2);
	ck_assert_int_eq(RUN("del", "1"), 0);
	want_error(RUN("del", "1"), 1, "id 1: nothing installed by nfqlb");
	want_error(RUN("del", "2", "--table", "78"), 1, "nothing installed");
	ck_assert_int_eq(RUN("show"), 0);
	ck_assert_str_eq(out, R2 D2);
	ck_assert_int_eq(RUN("del", "2"), 0);
	ck_assert_int_eq(RUN("show"), 0);
	ck_assert_str_eq(out, "");
}
END_TEST

Suite *make_route_suite(void)
{
	Suite *s = suite_create("route");
	TCase *tc = tcase_create("route");

	tcase_add_loop_test(tc, test_bad_args, 0, sizeof(bad_cases) / sizeof(bad_cases[0]));
	tcase_add_test(tc, test_tables);
	tcase_add_test(tc, test_add_show_del);
	suite_add_tcase(s, tc);
	return s;
}
