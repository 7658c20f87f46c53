/* test_rules.c: `nfqlb rules`: the output of each mode, and bad input. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "nfqlb/cli.h"
#include "nfqlb/rules.h"
#include "test/unit/cli_run.h"
#include "test/unit/suites.h"

/* The output without its leading "#" comment lines. */
static const char *body(void)
{
	const char *p = cli_out;

	while (*p == '#') {
		p = strchr(p, '\n');
		ck_assert_ptr_nonnull(p);
		p++;
	}
	return p;
}

START_TEST(test_chain_name)
{
	char buf[RULES_CHAIN_MAX + 1];

	/* FNV-1a 32-bit known answers. */
	rules_chain("", buf, sizeof(buf));
	ck_assert_str_eq(buf, "NFQLB-811c9dc5");
	rules_chain("a", buf, sizeof(buf));
	ck_assert_str_eq(buf, "NFQLB-e40c292c");
	rules_chain("foobar", buf, sizeof(buf));
	ck_assert_str_eq(buf, "NFQLB-bf9cf968");
}
END_TEST

struct out_case {
	const char *args[12];
	const char *want;	/* the output after the comments */
};

#define C4 "NFQLB-f59533af"	/* FNV-1a of "10.0.0.100/32" */
#define J4 "-A PREROUTING -d 10.0.0.100/32 -m comment --comment \"nfqlb 10.0.0.100/32\" -j "

static const struct out_case out_cases[] = {
	{ { "--vip", "10.0.0.100", NULL },
	  "*mangle\n:" C4 " - [0:0]\n" J4 C4 "\n"
	  "-A " C4 " -j NFQUEUE --queue-num 0\nCOMMIT\n" },
	{ { "--vip", "10.0.0.100/32", "--queue", "1:2", "--cpu-fanout", "--bypass", NULL },
	  "*mangle\n:" C4 " - [0:0]\n" J4 C4 "\n"
	  "-A " C4 " -j NFQUEUE --queue-balance 1:2 --queue-cpu-fanout --queue-bypass\n"
	  "COMMIT\n" },
	{ { "--vip", "10.0.0.100", "--queue", "7:7", "--bypass", NULL },
	  "*mangle\n:" C4 " - [0:0]\n" J4 C4 "\n"
	  "-A " C4 " -j NFQUEUE --queue-num 7 --queue-bypass\nCOMMIT\n" },
	{ { "--vip", "10.0.0.100", "--syn-only", NULL },
	  "*raw\n:" C4 "-RAW - [0:0]\n" J4 C4 "-RAW\n"
	  "-A " C4 "-RAW -p tcp -m tcp --syn -j CT --notrack\nCOMMIT\n"
	  "*mangle\n:" C4 " - [0:0]\n" J4 C4 "\n"
	  "-A " C4 " -m connmark ! --mark 0 -j CONNMARK --restore-mark\n"
	  "-A " C4 " -m connmark ! --mark 0 -j ACCEPT\n"
	  "-A " C4 " -j NFQUEUE --queue-num 0\nCOMMIT\n"
	  "*nat\n:" C4 "-NAT - [0:0]\n" J4 C4 "-NAT\n"
	  "-A " C4 "-NAT -j CONNMARK --save-mark\nCOMMIT\n" },
	{ { "--vip", "10.0.0.100", "--nat", "1=10.0.0.11", "--nat", "0x2=10.0.0.12", NULL },
	  "*mangle\n:" C4 " - [0:0]\n" J4 C4 "\n"
	  "-A " C4 " -j NFQUEUE --queue-num 0\nCOMMIT\n"
	  "*nat\n:" C4 "-NAT - [0:0]\n" J4 C4 "-NAT\n"
	  "-A " C4 "-NAT -m mark --mark 1 -j DNAT --to-destination 10.0.0.11\n"
	  "-A " C4 "-NAT -m mark --mark 2 -j DNAT --to-destination 10.0.0.12\n"
	  "COMMIT\n" },
	{ { "--vip", "10.0.0.100", "--syn-only", "--nat", "4294967295=10.0.0.11", NULL },
	  "*mangle\n:" C4 " - [0:0]\n" J4 C4 "\n"
	  "-A " C4 " -m connmark ! --mark 0 -j CONNMARK --restore-mark\n"
	  "-A " C4 " -m connmark ! --mark 0 -j ACCEPT\n"
	  "-A " C4 " -j NFQUEUE --queue-num 0\nCOMMIT\n"
	  "*nat\n:" C4 "-NAT - [0:0]\n" J4 C4 "-NAT\n"
	  "-A " C4 "-NAT -j CONNMARK --save-mark\n"
	  "-A " C4 "-NAT -m mark --mark 4294967295 -j DNAT --to-destination 10.0.0.11\n"
	  "COMMIT\n" },
	/* Removal: first one jump per table, then the chains. */
	{ { "--vip", "10.0.0.100", "--syn-only", "--nat", "1=10.0.0.11", "--delete", NULL },
	  "*mangle\n-D PREROUTING -d 10.0.0.100/32 -m comment --comment \"nfqlb 10.0.0.100/32\" -j "
	  C4 "\nCOMMIT\n"
	  "*nat\n-D PREROUTING -d 10.0.0.100/32 -m comment --comment \"nfqlb 10.0.0.100/32\" -j "
	  C4 "-NAT\nCOMMIT\n"
	  "*mangle\n-F " C4 "\n-X " C4 "\nCOMMIT\n"
	  "*nat\n-F " C4 "-NAT\n-X " C4 "-NAT\nCOMMIT\n" },
	/* IPv6, narrowed to a protocol and port; the address is canonical. */
	{ { "--vip", "FD00:0::0100/128", "--proto", "udp", "--port", "53", "--nat",
	    "7=fd00:0:0::7", NULL },
	  "*mangle\n:NFQLB-d8042565 - [0:0]\n"
	  "-A PREROUTING -d fd00::100/128 -p udp -m udp --dport 53 -m comment "
	  "--comment \"nfqlb fd00::100/128 udp 53\" -j NFQLB-d8042565\n"
	  "-A NFQLB-d8042565 -j NFQUEUE --queue-num 0\nCOMMIT\n"
	  "*nat\n:NFQLB-d8042565-NAT - [0:0]\n"
	  "-A PREROUTING -d fd00::100/128 -p udp -m udp --dport 53 -m comment "
	  "--comment \"nfqlb fd00::100/128 udp 53\" -j NFQLB-d8042565-NAT\n"
	  "-A NFQLB-d8042565-NAT -m mark --mark 7 -j DNAT --to-destination fd00::7\n"
	  "COMMIT\n" },
	/* SYN-only with UDP needs no raw rule: UDP has no handshake. */
	{ { "--vip", "fd00::/120", "--syn-only", "--proto", "udp", NULL },
	  "*mangle\n:NFQLB-3cb20dce - [0:0]\n"
	  "-A PREROUTING -d fd00::/120 -p udp -m udp -m comment "
	  "--comment \"nfqlb fd00::/120 udp\" -j NFQLB-3cb20dce\n"
	  "-A NFQLB-3cb20dce -m connmark ! --mark 0 -j CONNMARK --restore-mark\n"
	  "-A NFQLB-3cb20dce -m connmark ! --mark 0 -j ACCEPT\n"
	  "-A NFQLB-3cb20dce -j NFQUEUE --queue-num 0\nCOMMIT\n"
	  "*nat\n:NFQLB-3cb20dce-NAT - [0:0]\n"
	  "-A PREROUTING -d fd00::/120 -p udp -m udp -m comment "
	  "--comment \"nfqlb fd00::/120 udp\" -j NFQLB-3cb20dce-NAT\n"
	  "-A NFQLB-3cb20dce-NAT -j CONNMARK --save-mark\nCOMMIT\n" },
};

START_TEST(test_output)
{
	const struct out_case *c = &out_cases[_i];

	ck_assert_int_eq(cli_run("rules", c->args), 0);
	ck_assert_str_eq(cli_err, "");
	ck_assert_str_eq(body(), c->want);
}
END_TEST

/* The comments name the family, the restore command and how to remove. */
START_TEST(test_header)
{
	const char *v4[] = { "--vip", "10.0.0.0/8", "--queue", "3", NULL };
	const char *v6[] = { "--vip", "fd00::1", "--syn-only", NULL };

	ck_assert_int_eq(cli_run("rules", v4), 0);
	ck_assert_ptr_nonnull(strstr(cli_out, "IPv4"));
	ck_assert_ptr_nonnull(strstr(cli_out, "iptables-restore --noflush"));
	ck_assert_ptr_null(strstr(cli_out, "ip6tables"));
	ck_assert_ptr_nonnull(strstr(cli_out, "nfqlb rules --vip 10.0.0.0/8 --queue 3 --delete"
					   " | iptables-restore --noflush\n"));
	ck_assert_ptr_nonnull(strstr(cli_out, "all packets queued"));
	ck_assert_ptr_nonnull(strstr(cli_out, "marks only"));
	ck_assert_int_eq(cli_run("rules", v6), 0);
	ck_assert_msg(strncmp(cli_out, "# ", 2) == 0, "%s", cli_out);
	ck_assert_ptr_nonnull(strstr(cli_out, "IPv6"));
	ck_assert_ptr_nonnull(strstr(cli_out, "ip6tables-restore --noflush"));
	ck_assert_ptr_nonnull(strstr(cli_out, "SYN-only"));
	ck_assert_ptr_nonnull(strstr(cli_out, "nfqlb rules --vip fd00::1/128 --syn-only"
					   " | ip6tables-restore --noflush\n"));
}
END_TEST

struct bad_case {
	const char *args[8];
	const char *what;
};

static const struct bad_case bad_cases[] = {
	{ { NULL }, "no --vip given" },
	{ { "--vip", "10.0.0.300", NULL }, "bad VIP '10.0.0.300'" },
	{ { "--vip", "vip.example", NULL }, "bad VIP 'vip.example'" },
	{ { "--vip", "", NULL }, "bad VIP ''" },
	{ { "--vip", "10.0.0.1/33", NULL }, "bad prefix length in VIP '10.0.0.1/33': want 1..32" },
	{ { "--vip", "10.0.0.0/0", NULL }, "bad prefix length" },
	{ { "--vip", "10.0.0.1/", NULL }, "bad prefix length" },
	{ { "--vip", "10.0.0.1/8x", NULL }, "bad prefix length" },
	{ { "--vip", "fd00::1/129", NULL }, "want 1..128" },
	{ { "--vip", "10.0.0.1/24", NULL }, "bits set after the prefix length" },
	{ { "--vip", "fd00::1/64", NULL }, "bits set after the prefix length" },
	{ { "--vip", "10.0.0.1", "--vip", "10.0.0.2", NULL }, "given twice" },
	{ { "--vip", "10.0.0.1", "--queue", "5:3", NULL }, "bad queue '5:3'" },
	{ { "--vip", "10.0.0.1", "--queue", "0:64", NULL }, "bad queue '0:64'" },
	{ { "--vip", "10.0.0.1", "--queue", "65536", NULL }, "bad queue '65536'" },
	{ { "--vip", "10.0.0.1", "--queue", "a", NULL }, "bad queue 'a'" },
	{ { "--vip", "10.0.0.1", "--cpu-fanout", NULL }, "--cpu-fanout needs a queue range" },
	{ { "--vip", "10.0.0.1", "--queue", "4", "--cpu-fanout", NULL }, "needs a queue range" },
	{ { "--vip", "10.0.0.1", "--nat", "10.0.0.2", NULL }, "bad --nat '10.0.0.2': want ID=ADDR" },
	{ { "--vip", "10.0.0.1", "--nat", "0=10.0.0.2", NULL }, "bad target id '0'" },
	{ { "--vip", "10.0.0.1", "--nat", "4294967296=10.0.0.2", NULL }, "bad target id" },
	{ { "--vip", "10.0.0.1", "--nat", "=10.0.0.2", NULL }, "bad target id ''" },
	{ { "--vip", "10.0.0.1", "--nat", "010=10.0.0.2", NULL },
	  "bad target id '010' in --nat '010=10.0.0.2': a leading 0 is refused" },
	{ { "--vip", "10.0.0.1", "--nat", "1=", NULL }, "bad address in --nat '1=': want an IPv4" },
	{ { "--vip", "10.0.0.1", "--nat", "1=10.0.0.2:80", NULL }, "bad address in --nat" },
	{ { "--vip", "10.0.0.1", "--nat", "1=fd00::2", NULL },
	  "--nat '1=fd00::2' is IPv6 but the VIP is IPv4" },
	{ { "--vip", "fd00::1", "--nat", "1=10.0.0.2", NULL },
	  "--nat '1=10.0.0.2' is IPv4 but the VIP is IPv6" },
	{ { "--vip", "10.0.0.1", "--nat", "1=10.0.0.2", "--nat", "0x1=10.0.0.3", NULL },
	  "target id 1 given twice" },
	{ { "--vip", "10.0.0.1", "--nat", NULL }, "needs an argument" },
	{ { "--vip", "10.0.0.1", "--proto", "icmp", NULL }, "bad protocol 'icmp'" },
	{ { "--vip", "10.0.0.1", "--port", "80", NULL }, "--port needs --proto" },
	{ { "--vip", "10.0.0.1", "--proto", "tcp", "--port", "0", NULL }, "bad port '0'" },
	{ { "--vip", "10.0.0.1", "--proto", "tcp", "--port", "65536", NULL }, "bad port" },
	{ { "--vip", "10.0.0.1", "extra", NULL }, "unexpected argument 'extra'" },
	{ { "--vip", "10.0.0.1", "--bogus", NULL }, "unknown option '--bogus'" },
};

START_TEST(test_bad_input)
{
	const struct bad_case *c = &bad_cases[_i];

	cli_want_error(cli_run("rules", c->args), 2, "rules", c->what);
	ck_assert_str_eq(cli_out, "");
}
END_TEST

/* --nat repeats up to OPT_REPEAT_MAX times, and not beyond. */
START_TEST(test_nat_many)
{
	static char val[OPT_REPEAT_MAX + 1][32];
	const char *args[2 * (OPT_REPEAT_MAX + 1) + 3] = { "--vip", "10.0.0.1" };
	int i, n = 2;

	for (i = 0; i < OPT_REPEAT_MAX; i++) {
		snprintf(val[i], sizeof(val[i]), "%d=10.0.1.%d", i + 1, i + 1);
		args[n++] = "--nat";
		args[n++] = val[i];
	}
	args[n] = NULL;
	ck_assert_int_eq(cli_run("rules", args), 0);
	ck_assert_ptr_nonnull(strstr(cli_out, "--mark 1 -j DNAT --to-destination 10.0.1.1\n"));
	ck_assert_ptr_nonnull(strstr(cli_out, "--mark 64 -j DNAT --to-destination 10.0.1.64\n"));
	snprintf(val[i], sizeof(val[i]), "%d=10.0.1.%d", i + 1, i + 1);
	args[n++] = "--nat";
	args[n++] = val[i];
	args[n] = NULL;
	ck_assert_int_eq(cli_run("rules", args), 2);
	ck_assert_ptr_nonnull(strstr(cli_err, "nfqlb: rules: option '--nat' given more than 64 times"));
}
END_TEST

Suite *make_rules_suite(void)
{
	Suite *s = suite_create("rules");
	TCase *tc = tcase_create("rules");

	tcase_add_test(tc, test_chain_name);
	tcase_add_loop_test(tc, test_output, 0, sizeof(out_cases) / sizeof(out_cases[0]));
	tcase_add_test(tc, test_header);
	tcase_add_loop_test(tc, test_bad_input, 0, sizeof(bad_cases) / sizeof(bad_cases[0]));
	tcase_add_test(tc, test_nat_many);
	suite_add_tcase(s, tc);
	return s;
}
