/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_rules.c: `nfqlb rules`: the output of each mode, what it does with
 * the firewall's current rules (iptables-save on stdin), and bad input. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nfqlb/cli.h"
#include "nfqlb/iptsave.h"
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
#define JSPEC "-d 10.0.0.100/32 -m comment --comment \"nfqlb 10.0.0.100/32\" -j "
#define J4 "-A PREROUTING " JSPEC

/* The ICMP errors' chain of a DSR VIP narrowed to a protocol: every type
 * that quotes a packet, into the VIP's chain. */
#define ICMP4_TO(main) \
	"-A " main "-ICMP -p icmp -m icmp --icmp-type destination-unreachable -j " main "\n" \
	"-A " main "-ICMP -p icmp -m icmp --icmp-type time-exceeded -j " main "\n" \
	"-A " main "-ICMP -p icmp -m icmp --icmp-type parameter-problem -j " main "\n"
#define ICMP6_TO(main) \
	"-A " main "-ICMP -p ipv6-icmp -m icmp6 --icmpv6-type destination-unreachable -j " main "\n" \
	"-A " main "-ICMP -p ipv6-icmp -m icmp6 --icmpv6-type packet-too-big -j " main "\n" \
	"-A " main "-ICMP -p ipv6-icmp -m icmp6 --icmpv6-type time-exceeded -j " main "\n" \
	"-A " main "-ICMP -p ipv6-icmp -m icmp6 --icmpv6-type parameter-problem -j " main "\n"

/* 10.0.0.100/32 tcp 80: its chain, and the specs of its two jumps. */
#define CT "NFQLB-dc31cc00"
#define TSPEC "-d 10.0.0.100/32 -p tcp -m tcp --dport 80 -m comment " \
	"--comment \"nfqlb 10.0.0.100/32 tcp 80\" -j "
#define ISPEC "-d 10.0.0.100/32 -p icmp -m comment " \
	"--comment \"nfqlb 10.0.0.100/32 tcp 80 icmp errors\" -j "

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
	/* DSR narrowed to TCP port 80: the ICMP errors to the VIP, too. */
	{ { "--vip", "10.0.0.100", "--proto", "tcp", "--port", "80", NULL },
	  "*mangle\n:" CT " - [0:0]\n:" CT "-ICMP - [0:0]\n"
	  "-A PREROUTING " TSPEC CT "\n-A PREROUTING " ISPEC CT "-ICMP\n"
	  "-A " CT " -j NFQUEUE --queue-num 0\n" ICMP4_TO(CT) "COMMIT\n" },
	/* SYN-only DSR: the raw and nat chains take TCP port 80 only. */
	{ { "--vip", "10.0.0.100", "--proto", "tcp", "--port", "80", "--syn-only", NULL },
	  "*raw\n:" CT "-RAW - [0:0]\n-A PREROUTING " TSPEC CT "-RAW\n"
	  "-A " CT "-RAW -p tcp -m tcp --syn -j CT --notrack\nCOMMIT\n"
	  "*mangle\n:" CT " - [0:0]\n:" CT "-ICMP - [0:0]\n"
	  "-A PREROUTING " TSPEC CT "\n-A PREROUTING " ISPEC CT "-ICMP\n"
	  "-A " CT " -m connmark ! --mark 0 -j CONNMARK --restore-mark\n"
	  "-A " CT " -m connmark ! --mark 0 -j ACCEPT\n"
	  "-A " CT " -j NFQUEUE --queue-num 0\n" ICMP4_TO(CT) "COMMIT\n"
	  "*nat\n:" CT "-NAT - [0:0]\n-A PREROUTING " TSPEC CT "-NAT\n"
	  "-A " CT "-NAT -j CONNMARK --save-mark\nCOMMIT\n" },
	/* NAT: conntrack takes the errors to the connection's target. */
	{ { "--vip", "10.0.0.100", "--proto", "tcp", "--port", "80", "--nat", "1=10.0.0.11",
	    NULL },
	  "*mangle\n:" CT " - [0:0]\n-A PREROUTING " TSPEC CT "\n"
	  "-A " CT " -j NFQUEUE --queue-num 0\nCOMMIT\n"
	  "*nat\n:" CT "-NAT - [0:0]\n-A PREROUTING " TSPEC CT "-NAT\n"
	  "-A " CT "-NAT -m mark --mark 1 -j DNAT --to-destination 10.0.0.11\nCOMMIT\n" },
	/* IPv6 DSR: packet too big among the errors. */
	{ { "--vip", "fd00::100", "--proto", "sctp", NULL },
	  "*mangle\n:NFQLB-bc960aea - [0:0]\n:NFQLB-bc960aea-ICMP - [0:0]\n"
	  "-A PREROUTING -d fd00::100/128 -p sctp -m sctp -m comment "
	  "--comment \"nfqlb fd00::100/128 sctp\" -j NFQLB-bc960aea\n"
	  "-A PREROUTING -d fd00::100/128 -p ipv6-icmp -m comment "
	  "--comment \"nfqlb fd00::100/128 sctp icmp errors\" -j NFQLB-bc960aea-ICMP\n"
	  "-A NFQLB-bc960aea -j NFQUEUE --queue-num 0\n" ICMP6_TO("NFQLB-bc960aea") "COMMIT\n" },
	/* Removal from a firewall that holds none of it: nothing. */
	{ { "--vip", "10.0.0.100", "--syn-only", "--nat", "1=10.0.0.11", "--delete", NULL },
	  "" },
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
	/* SYN-only with UDP needs no raw rule: UDP has no handshake.  The
	 * ICMPv6 errors to the prefix go through the SYN-only chain. */
	{ { "--vip", "fd00::/120", "--syn-only", "--proto", "udp", NULL },
	  "*mangle\n:NFQLB-3cb20dce - [0:0]\n:NFQLB-3cb20dce-ICMP - [0:0]\n"
	  "-A PREROUTING -d fd00::/120 -p udp -m udp -m comment "
	  "--comment \"nfqlb fd00::/120 udp\" -j NFQLB-3cb20dce\n"
	  "-A PREROUTING -d fd00::/120 -p ipv6-icmp -m comment "
	  "--comment \"nfqlb fd00::/120 udp icmp errors\" -j NFQLB-3cb20dce-ICMP\n"
	  "-A NFQLB-3cb20dce -m connmark ! --mark 0 -j CONNMARK --restore-mark\n"
	  "-A NFQLB-3cb20dce -m connmark ! --mark 0 -j ACCEPT\n"
	  "-A NFQLB-3cb20dce -j NFQUEUE --queue-num 0\n"
	  ICMP6_TO("NFQLB-3cb20dce") "COMMIT\n"
	  "*nat\n:NFQLB-3cb20dce-NAT - [0:0]\n"
	  "-A PREROUTING -d fd00::/120 -p udp -m udp -m comment "
	  "--comment \"nfqlb fd00::/120 udp\" -j NFQLB-3cb20dce-NAT\n"
	  "-A NFQLB-3cb20dce-NAT -j CONNMARK --save-mark\nCOMMIT\n" },
	/* --bpf: what the fast path marked skips the queue, and is accepted. */
	{ { "--vip", "10.0.0.100", "--bpf", NULL },
	  "*mangle\n:" C4 " - [0:0]\n" J4 C4 "\n"
	  "-A " C4 " -m mark --mark 0 -j NFQUEUE --queue-num 0\n"
	  "-A " C4 " -j ACCEPT\nCOMMIT\n" },
	/* SYN-only: the saved mark first (it replaces the fast path's); the
	 * nat table saves the mark of a first packet, whoever set it. */
	{ { "--vip", "10.0.0.100", "--syn-only", "--bpf", "--queue", "1:2", "--bypass", NULL },
	  "*raw\n:" C4 "-RAW - [0:0]\n" J4 C4 "-RAW\n"
	  "-A " C4 "-RAW -p tcp -m tcp --syn -j CT --notrack\nCOMMIT\n"
	  "*mangle\n:" C4 " - [0:0]\n" J4 C4 "\n"
	  "-A " C4 " -m connmark ! --mark 0 -j CONNMARK --restore-mark\n"
	  "-A " C4 " -m connmark ! --mark 0 -j ACCEPT\n"
	  "-A " C4 " -m mark --mark 0 -j NFQUEUE --queue-balance 1:2 --queue-bypass\n"
	  "-A " C4 " -j ACCEPT\nCOMMIT\n"
	  "*nat\n:" C4 "-NAT - [0:0]\n" J4 C4 "-NAT\n"
	  "-A " C4 "-NAT -j CONNMARK --save-mark\nCOMMIT\n" },
	/* NAT: DNAT by mark, the fast path's as the worker's. */
	{ { "--vip", "10.0.0.100", "--bpf", "--syn-only", "--nat", "1=10.0.0.11", NULL },
	  "*mangle\n:" C4 " - [0:0]\n" J4 C4 "\n"
	  "-A " C4 " -m connmark ! --mark 0 -j CONNMARK --restore-mark\n"
	  "-A " C4 " -m connmark ! --mark 0 -j ACCEPT\n"
	  "-A " C4 " -m mark --mark 0 -j NFQUEUE --queue-num 0\n"
	  "-A " C4 " -j ACCEPT\nCOMMIT\n"
	  "*nat\n:" C4 "-NAT - [0:0]\n" J4 C4 "-NAT\n"
	  "-A " C4 "-NAT -j CONNMARK --save-mark\n"
	  "-A " C4 "-NAT -m mark --mark 1 -j DNAT --to-destination 10.0.0.11\n"
	  "COMMIT\n" },
	/* DSR narrowed to TCP port 80: the ICMP errors (never marked by the
	 * fast path) go to the queue through the same chain. */
	{ { "--vip", "10.0.0.100", "--proto", "tcp", "--port", "80", "--bpf", NULL },
	  "*mangle\n:" CT " - [0:0]\n:" CT "-ICMP - [0:0]\n"
	  "-A PREROUTING " TSPEC CT "\n-A PREROUTING " ISPEC CT "-ICMP\n"
	  "-A " CT " -m mark --mark 0 -j NFQUEUE --queue-num 0\n-A " CT " -j ACCEPT\n"
	  ICMP4_TO(CT) "COMMIT\n" },
	/* Removal: --bpf changes nothing, as no mode option does. */
	{ { "--vip", "10.0.0.100", "--bpf", "--delete", NULL }, "" },
};

/* On an empty firewall (empty iptables-save output). */
START_TEST(test_output)
{
	const struct out_case *c = &out_cases[_i];

	ck_assert_int_eq(cli_run_in("", "rules", c->args), 0);
	ck_assert_str_eq(cli_err, "");
	ck_assert_str_eq(body(), c->want);
}
END_TEST

/* The comments name the family, the restore command and how to remove. */
START_TEST(test_header)
{
	const char *v4[] = { "--vip", "10.0.0.0/8", "--queue", "3", NULL };
	const char *v6[] = { "--vip", "fd00::1", "--syn-only", "--proto", "udp", "--port", "53",
			     NULL };
	const char *v6del[] = { "--vip", "fd00::1", "--delete", NULL };
	const char *v6nat[] = { "--vip", "fd00::1", "--proto", "tcp", "--nat", "1=fd00::2", NULL };

	ck_assert_int_eq(cli_run_in("", "rules", v4), 0);
	ck_assert_ptr_nonnull(strstr(cli_out, "IPv4"));
	ck_assert_ptr_nonnull(strstr(cli_out, "iptables-restore --noflush"));
	ck_assert_ptr_null(strstr(cli_out, "ip6tables"));
	ck_assert_ptr_nonnull(strstr(cli_out, "#   apply:  iptables-save | nfqlb rules --vip"
					   " 10.0.0.0/8 --queue 3 | iptables-restore --noflush\n"));
	/* The removal names only what names the chains. */
	ck_assert_ptr_nonnull(strstr(cli_out, "#   remove: iptables-save | nfqlb rules --vip"
					   " 10.0.0.0/8 --delete | iptables-restore --noflush\n"));
	ck_assert_ptr_nonnull(strstr(cli_out, "all packets queued"));
	ck_assert_ptr_nonnull(strstr(cli_out, "marks only"));
	ck_assert_ptr_nonnull(strstr(cli_out, "holds none of its rules.\n"));
	/* Every packet to the VIP is queued: its errors need no word. */
	ck_assert_ptr_null(strstr(cli_out, "ICMP"));
	ck_assert_int_eq(cli_run_in("", "rules", v6nat), 0);
	ck_assert_ptr_nonnull(strstr(cli_out, "# ICMP errors about a connection are not queued:"
					   " conntrack relates them to it and NATs them"));
	ck_assert_int_eq(cli_run_in("", "rules", v6), 0);
	ck_assert_ptr_nonnull(strstr(cli_out, "# ICMP errors addressed to it (unreachable,"
					   " fragmentation needed or packet too big"));
	ck_assert_msg(strncmp(cli_out, "# ", 2) == 0, "%s", cli_out);
	ck_assert_ptr_nonnull(strstr(cli_out, "IPv6"));
	ck_assert_ptr_nonnull(strstr(cli_out, "ip6tables-restore --noflush"));
	ck_assert_ptr_nonnull(strstr(cli_out, "SYN-only"));
	ck_assert_ptr_nonnull(strstr(cli_out, "ip6tables-save | nfqlb rules --vip fd00::1/128"
					   " --syn-only --proto udp --port 53 | ip6tables-restore"
					   " --noflush\n"));
	ck_assert_ptr_nonnull(strstr(cli_out, "ip6tables-save | nfqlb rules --vip fd00::1/128"
					   " --proto udp --port 53 --delete | ip6tables-restore"
					   " --noflush\n"));
	ck_assert_ptr_null(strstr(cli_out, "--bpf"));
	ck_assert_int_eq(cli_run_in("", "rules", v6del), 0);
	ck_assert_ptr_nonnull(strstr(cli_out, "removal of its chains, whatever mode"));
	ck_assert_ptr_null(strstr(cli_out, "apply:"));
	ck_assert_ptr_nonnull(strstr(cli_out, "holds none of its rules: nothing to remove.\n"));
}
END_TEST

/* --bpf is said in the comments and in the apply line, not in the removal. */
START_TEST(test_header_bpf)
{
	const char *args[] = { "--vip", "10.0.0.0/8", "--syn-only", "--bpf", NULL };

	ck_assert_int_eq(cli_run_in("", "rules", args), 0);
	ck_assert_ptr_nonnull(strstr(cli_out, "# --bpf: only packets still unmarked (mark 0)"
					   " are queued"));
	ck_assert_ptr_nonnull(strstr(cli_out, "the nat table saves the fast path's mark"));
	ck_assert_ptr_nonnull(strstr(cli_out, "#   apply:  iptables-save | nfqlb rules --vip"
					   " 10.0.0.0/8 --syn-only --bpf | iptables-restore"));
	ck_assert_ptr_nonnull(strstr(cli_out, "#   remove: iptables-save | nfqlb rules --vip"
					   " 10.0.0.0/8 --delete | iptables-restore"));
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
	{ { "--vip", "10.0.0.1", "--flows", "f", NULL }, "--vip and --flows exclude each other" },
	{ { "--vip", "10.0.0.1", "--family", "4", NULL },
	  "--family goes with --flows (a VIP names its family)" },
	{ { "--flows", "f", "--family", "inet6", NULL }, "bad family 'inet6': want 4 or 6" },
	{ { "--flows", "f", "--proto", "tcp", NULL },
	  "--proto and --port go with --vip (flows name their own)" },
	{ { "--flows", "a/b", NULL }, "bad flow set name 'a/b'" },
	{ { "--flows", "f", "--nat", "1=fd00::1", NULL }, "--nat '1=fd00::1' is IPv6 but" },
};

/* A flow set's rules: their chains are named from "flows NAME", so the
 * removal reads no flow set (it may be gone already). */
#define CF "NFQLB-0e789812"	/* FNV-1a of "flows stub-flows" */
static const char saved_flows[] =
	"# Generated by ip6tables-save v1.8.9 (nf_tables) on Wed Dec  2 15:51:43 2026\n"
	"*mangle\n"
	":PREROUTING ACCEPT [0:0]\n"
	":" CF " - [0:0]\n"
	":" CF "-FLOWS - [0:0]\n"
	"-A PREROUTING -m comment --comment \"nfqlb flows stub-flows\" -j " CF "-FLOWS\n"
	"-A " CF " -j NFQUEUE --queue-num 0\n"
	"-A " CF "-FLOWS -d fd00::1/128 -p tcp -m tcp --dport 80 -j " CF "\n"
	"COMMIT\n";

START_TEST(test_flows_delete)
{
	const char *args[] = { "--flows", "stub-flows", "--family", "6", "--delete", NULL };
	const char *v4[] = { "--flows", "stub-flows", "--delete", NULL };

	ck_assert_int_eq(cli_run_in(saved_flows, "rules", args), 0);
	ck_assert_str_eq(cli_err, "");
	ck_assert_ptr_nonnull(strstr(cli_out, "# nfqlb rules for flow set stub-flows (IPv6): removal"));
	ck_assert_ptr_nonnull(strstr(cli_out, "#   remove: ip6tables-save | nfqlb rules --flows"
					   " stub-flows --family 6 --delete | ip6tables-restore"));
	ck_assert_str_eq(body(), "*mangle\n-D PREROUTING -m comment --comment \"nfqlb flows"
			 " stub-flows\" -j " CF "-FLOWS\n-F " CF "\n-F " CF "-FLOWS\n"
			 "-X " CF "\n-X " CF "-FLOWS\nCOMMIT\n");
	/* IPv6 input for IPv4 rules (the default) says what to give. */
	cli_want_error(cli_run_in(saved_flows, "rules", v4), 1, "rules",
		       "standard input comes from ip6tables-save but the rules are IPv4:"
		       " give --family 6");
}
END_TEST

START_TEST(test_bad_input)
{
	const struct bad_case *c = &bad_cases[_i];

	cli_want_error(cli_run_in("", "rules", c->args), 2, "rules", c->what);
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
	ck_assert_int_eq(cli_run_in("", "rules", args), 0);
	ck_assert_ptr_nonnull(strstr(cli_out, "--mark 1 -j DNAT --to-destination 10.0.1.1\n"));
	ck_assert_ptr_nonnull(strstr(cli_out, "--mark 64 -j DNAT --to-destination 10.0.1.64\n"));
	snprintf(val[i], sizeof(val[i]), "%d=10.0.1.%d", i + 1, i + 1);
	args[n++] = "--nat";
	args[n++] = val[i];
	args[n] = NULL;
	ck_assert_int_eq(cli_run_in("", "rules", args), 2);
	ck_assert_ptr_nonnull(strstr(cli_err, "nfqlb: rules: option '--nat' given more than 64 times"));
}
END_TEST

/* ------------------------------------------- the firewall's current rules */

/* A firewall where an older nfqlb applied SYN-only DSR rules for 10.0.0.100
 * twice (two jumps per table), amid a rule before it and another VIP. */
static const char saved_syn[] =
	"# Generated by iptables-save v1.8.9 (nf_tables) on Wed Dec  2 15:51:43 2026\n"
	"*raw\n"
	":PREROUTING ACCEPT [0:0]\n"
	":OUTPUT ACCEPT [0:0]\n"
	":" C4 "-RAW - [0:0]\n"
	J4 C4 "-RAW\n"
	J4 C4 "-RAW\n"
	"-A " C4 "-RAW -p tcp -m tcp --tcp-flags FIN,SYN,RST,ACK SYN -j CT --notrack\n"
	"COMMIT\n"
	"# Completed on Wed Dec  2 15:51:43 2026\n"
	"*mangle\n"
	":PREROUTING ACCEPT [0:0]\n"
	":INPUT ACCEPT [0:0]\n"
	":" C4 " - [0:0]\n"
	":NFQLB-12345678 - [0:0]\n"
	"-A PREROUTING -m comment --comment before -j ACCEPT\n"
	J4 C4 "\n"
	"-A PREROUTING -d 10.0.0.9/32 -j NFQLB-12345678\n"
	J4 C4 "\n"
	"-A " C4 " -m connmark ! --mark 0 -j CONNMARK --restore-mark\n"
	"-A " C4 " -m connmark ! --mark 0 -j ACCEPT\n"
	"-A " C4 " -j NFQUEUE --queue-num 0\n"
	"-A NFQLB-12345678 -j NFQUEUE --queue-num 1\n"
	"COMMIT\n"
	"*nat\n"
	":PREROUTING ACCEPT [0:0]\n"
	":" C4 "-NAT - [0:0]\n"
	J4 C4 "-NAT\n"
	J4 C4 "-NAT\n"
	"-A " C4 "-NAT -j CONNMARK --save-mark\n"
	"COMMIT\n";

#define D4 "-D PREROUTING " JSPEC
#define SYN_GONE(table, chain) \
	"*" table "\n" D4 chain "\n" D4 chain "\n-F " chain "\n-X " chain "\nCOMMIT\n"

/* iptables-save -c output: counters, a goto, a user chain that jumps to
 * ours, a chain of ours with a suffix nfqlb does not make, a look-alike
 * that is not ours, and our name in a table nfqlb does not use. */
static const char saved_refs[] =
	"# Generated by iptables-save v1.8.9 (nf_tables) on Wed Dec  2 15:51:43 2026\n"
	"*filter\n"
	":INPUT ACCEPT [0:0]\n"
	":" C4 " - [0:0]\n"
	"[1:2] -A INPUT -j " C4 "\n"
	"COMMIT\n"
	"*mangle\n"
	":PREROUTING ACCEPT [10:600]\n"
	":MINE - [0:0]\n"
	":" C4 " - [0:0]\n"
	":" C4 "X - [0:0]\n"
	":" C4 "-ICMP - [0:0]\n"
	"[5:300] -A PREROUTING -j MINE\n"
	"[5:300] -A PREROUTING -p icmp -g " C4 "-ICMP\n"
	"[5:300] -A PREROUTING -d 10.0.0.100/32 -j " C4 "\n"
	"[0:0] -A MINE -j " C4 "\n"
	"[0:0] -A MINE -j " C4 "X\n"
	"[0:0] -A MINE\n"
	"[0:0] -A " C4 " -j " C4 "-ICMP\n"
	"[0:0] -A " C4 "-ICMP -j NFQUEUE --queue-num 0\n"
	"COMMIT\n";

/* DSR rules for 10.0.0.100 tcp 80, both jumps between two other rules. */
static const char saved_icmp[] =
	"# Generated by iptables-save v1.8.9 (nf_tables) on Wed Dec  2 15:51:43 2026\n"
	"*mangle\n"
	":PREROUTING ACCEPT [0:0]\n"
	":" CT " - [0:0]\n"
	":" CT "-ICMP - [0:0]\n"
	"-A PREROUTING -m comment --comment before -j ACCEPT\n"
	"-A PREROUTING " TSPEC CT "\n"
	"-A PREROUTING " ISPEC CT "-ICMP\n"
	"-A PREROUTING -m comment --comment after\n"
	"-A " CT " -j NFQUEUE --queue-num 0\n"
	"-A " CT "-ICMP -p icmp -m icmp --icmp-type 3 -j " CT "\n"
	"-A " CT "-ICMP -p icmp -m icmp --icmp-type 11 -j " CT "\n"
	"-A " CT "-ICMP -p icmp -m icmp --icmp-type 12 -j " CT "\n"
	"COMMIT\n";

#define ICMP_GONE "-D PREROUTING " TSPEC CT "\n-D PREROUTING " ISPEC CT "-ICMP\n"

struct saved_case {
	const char *in;
	const char *args[10];
	const char *want;	/* the output after the comments */
};

static const struct saved_case saved_cases[] = {
	/* Another mode over it: the raw and nat chains go, the jump keeps its
	 * place (after "before"), old duplicates included. */
	{ saved_syn, { "--vip", "10.0.0.100", NULL },
	  SYN_GONE("raw", C4 "-RAW")
	  "*mangle\n:" C4 " - [0:0]\n" D4 C4 "\n" D4 C4 "\n"
	  "-I PREROUTING 2 " JSPEC C4 "\n"
	  "-A " C4 " -j NFQUEUE --queue-num 0\nCOMMIT\n"
	  SYN_GONE("nat", C4 "-NAT") },
	/* The same mode again: the same rules, one jump each. */
	{ saved_syn, { "--vip", "10.0.0.100", "--syn-only", NULL },
	  "*raw\n:" C4 "-RAW - [0:0]\n" D4 C4 "-RAW\n" D4 C4 "-RAW\n"
	  "-I PREROUTING 1 " JSPEC C4 "-RAW\n"
	  "-A " C4 "-RAW -p tcp -m tcp --syn -j CT --notrack\nCOMMIT\n"
	  "*mangle\n:" C4 " - [0:0]\n" D4 C4 "\n" D4 C4 "\n"
	  "-I PREROUTING 2 " JSPEC C4 "\n"
	  "-A " C4 " -m connmark ! --mark 0 -j CONNMARK --restore-mark\n"
	  "-A " C4 " -m connmark ! --mark 0 -j ACCEPT\n"
	  "-A " C4 " -j NFQUEUE --queue-num 0\nCOMMIT\n"
	  "*nat\n:" C4 "-NAT - [0:0]\n" D4 C4 "-NAT\n" D4 C4 "-NAT\n"
	  "-I PREROUTING 1 " JSPEC C4 "-NAT\n"
	  "-A " C4 "-NAT -j CONNMARK --save-mark\nCOMMIT\n" },
	/* Removal needs no mode option, and takes every table's share. */
	{ saved_syn, { "--vip", "10.0.0.100", "--delete", NULL },
	  SYN_GONE("raw", C4 "-RAW")
	  "*mangle\n" D4 C4 "\n" D4 C4 "\n-F " C4 "\n-X " C4 "\nCOMMIT\n"
	  SYN_GONE("nat", C4 "-NAT") },
	/* Another VIP, or the same one narrowed to a port, holds nothing here. */
	{ saved_syn, { "--vip", "10.0.0.100", "--proto", "tcp", "--delete", NULL }, "" },
	{ saved_syn, { "--vip", "10.0.0.9", "--delete", NULL }, "" },
	{ saved_refs, { "--vip", "10.0.0.100", "--delete", NULL },
	  "*mangle\n"
	  "-D PREROUTING -p icmp -g " C4 "-ICMP\n"
	  "-D PREROUTING -d 10.0.0.100/32 -j " C4 "\n"
	  "-D MINE -j " C4 "\n"
	  "-F " C4 "\n-F " C4 "-ICMP\n-X " C4 "\n-X " C4 "-ICMP\nCOMMIT\n" },
	{ saved_refs, { "--vip", "10.0.0.100", "--bypass", NULL },
	  "*mangle\n:" C4 " - [0:0]\n"
	  "-D PREROUTING -p icmp -g " C4 "-ICMP\n"
	  "-D PREROUTING -d 10.0.0.100/32 -j " C4 "\n"
	  "-D MINE -j " C4 "\n"
	  "-F " C4 "-ICMP\n-X " C4 "-ICMP\n"
	  "-I PREROUTING 2 " JSPEC C4 "\n"
	  "-A " C4 " -j NFQUEUE --queue-num 0 --queue-bypass\nCOMMIT\n" },
	/* The same again: both jumps keep their places, in order. */
	{ saved_icmp, { "--vip", "10.0.0.100", "--proto", "tcp", "--port", "80", NULL },
	  "*mangle\n:" CT " - [0:0]\n:" CT "-ICMP - [0:0]\n" ICMP_GONE
	  "-I PREROUTING 2 " TSPEC CT "\n-I PREROUTING 3 " ISPEC CT "-ICMP\n"
	  "-A " CT " -j NFQUEUE --queue-num 0\n" ICMP4_TO(CT) "COMMIT\n" },
	/* NAT over it: the errors' chain goes. */
	{ saved_icmp, { "--vip", "10.0.0.100", "--proto", "tcp", "--port", "80", "--nat",
			"1=10.0.0.11", NULL },
	  "*mangle\n:" CT " - [0:0]\n" ICMP_GONE "-F " CT "-ICMP\n-X " CT "-ICMP\n"
	  "-I PREROUTING 2 " TSPEC CT "\n-A " CT " -j NFQUEUE --queue-num 0\nCOMMIT\n"
	  "*nat\n:" CT "-NAT - [0:0]\n-A PREROUTING " TSPEC CT "-NAT\n"
	  "-A " CT "-NAT -m mark --mark 1 -j DNAT --to-destination 10.0.0.11\nCOMMIT\n" },
	/* --delete takes the errors' chain and jump with the rest. */
	{ saved_icmp, { "--vip", "10.0.0.100", "--proto", "tcp", "--port", "80", "--delete",
			NULL },
	  "*mangle\n" ICMP_GONE "-F " CT "\n-F " CT "-ICMP\n-X " CT "\n-X " CT "-ICMP\n"
	  "COMMIT\n" },
	/* ip6tables-save, as the header says. */
	{ "# Generated by ip6tables-save v1.8.9 (nf_tables) on Wed Dec  2 15:51:43 2026\n"
	  "*nat\n:NFQLB-3cb20dce-NAT - [0:0]\n"
	  "-A PREROUTING -d fd00::/120 -j NFQLB-3cb20dce-NAT\nCOMMIT\n",
	  { "--vip", "fd00::/120", "--proto", "udp", "--delete", NULL },
	  "*nat\n-D PREROUTING -d fd00::/120 -j NFQLB-3cb20dce-NAT\n"
	  "-F NFQLB-3cb20dce-NAT\n-X NFQLB-3cb20dce-NAT\nCOMMIT\n" },
};

START_TEST(test_saved)
{
	const struct saved_case *c = &saved_cases[_i];

	ck_assert_int_eq(cli_run_in(c->in, "rules", c->args), 0);
	ck_assert_str_eq(cli_err, "");
	ck_assert_str_eq(body(), c->want);
}
END_TEST

/* --delete prints the same, whatever mode options come with it. */
START_TEST(test_delete_any_mode)
{
	const char *plain[] = { "--vip", "10.0.0.100", "--delete", NULL };
	const char *mode[] = { "--vip", "10.0.0.100", "--syn-only", "--queue", "1:2",
			       "--nat", "1=10.0.0.11", "--delete", NULL };
	char *want;

	ck_assert_int_eq(cli_run_in(saved_syn, "rules", plain), 0);
	want = strdup(cli_out);
	ck_assert_ptr_nonnull(want);
	ck_assert_ptr_nonnull(strstr(want, "holds 3 of its chains and 6 rules that jump"
					   " to them: removed here.\n"));
	ck_assert_int_eq(cli_run_in(saved_syn, "rules", mode), 0);
	ck_assert_str_eq(cli_out, want);
	free(want);
}
END_TEST

START_TEST(test_ours)
{
	ck_assert(iptsave_ours(C4, C4));
	ck_assert(iptsave_ours(C4, C4 "-RAW"));
	ck_assert(iptsave_ours(C4, C4 "-x"));
	ck_assert(!iptsave_ours(C4, C4 "-"));
	ck_assert(!iptsave_ours(C4, C4 "X"));
	ck_assert(!iptsave_ours(C4, "NFQLB-f59533a"));
	ck_assert(!iptsave_ours(C4, ""));
	ck_assert(!iptsave_ours(C4, "PREROUTING"));
}
END_TEST

struct bad_in_case {
	const char *in;
	const char *vip;
	const char *what;
};

static const struct bad_in_case bad_in_cases[] = {
	{ "hello\n", "10.0.0.1",
	  "standard input: line 1: not iptables-save output (outside a table): 'hello'" },
	{ "*mangle\n-X foo\nCOMMIT\n", "10.0.0.1", "line 2: not iptables-save output: '-X foo'" },
	{ "*mangle\n[0:0 -A X\nCOMMIT\n", "10.0.0.1", "line 2: not iptables-save output" },
	{ "*mangle\n[0:0]-A X\nCOMMIT\n", "10.0.0.1", "line 2: not iptables-save output" },
	{ "*mangle\n-A \nCOMMIT\n", "10.0.0.1", "line 2: not a rule" },
	{ "*mangle\n:\nCOMMIT\n", "10.0.0.1", "line 2: not a chain declaration" },
	{ "*\nCOMMIT\n", "10.0.0.1", "line 1: not a table name: '*'" },
	{ "*mangle\n:PREROUTING ACCEPT [0:0]\n", "10.0.0.1", "table mangle ends without COMMIT" },
	{ "*mangle\nCOMMIT\n*raw\nCOMMIT\n*mangle\nCOMMIT\n", "10.0.0.1",
	  "line 5: the table is given twice: '*mangle'" },
	{ "*mangle\n*nat\n", "10.0.0.1", "line 2: a table starts before COMMIT" },
	{ "*filter\n" "-I INPUT -m comment --comment 0123456789012345678901234567890123456789\n",
	  "10.0.0.1", "line 2: not iptables-save output: '-I INPUT -m comment --comment 0123456789...'" },
	{ "# Generated by ip6tables-save v1.8.9 (nf_tables)\n", "10.0.0.1",
	  "standard input comes from ip6tables-save but the VIP is IPv4: pipe iptables-save" },
	{ "# Generated by iptables-legacy-save v1.8.9\n", "fd00::1",
	  "standard input comes from iptables-save but the VIP is IPv6: pipe ip6tables-save" },
};

START_TEST(test_bad_stdin)
{
	const struct bad_in_case *c = &bad_in_cases[_i];
	const char *args[] = { "--vip", c->vip, NULL };

	cli_want_error(cli_run_in(c->in, "rules", args), 1, "rules", c->what);
	ck_assert_str_eq(cli_out, "");
}
END_TEST

/* Typed at a terminal, the command says what to pipe into it. */
START_TEST(test_stdin_tty)
{
	const char *args[] = { "--vip", "fd00::1", NULL };
	int m = posix_openpt(O_RDWR | O_NOCTTY), pts, saved = dup(0);

	ck_assert_msg(m >= 0 && grantpt(m) == 0 && unlockpt(m) == 0, "no pseudo-terminal");
	pts = open(ptsname(m), O_RDWR | O_NOCTTY);
	ck_assert_int_ge(pts, 0);
	dup2(pts, 0);
	cli_want_error(cli_run("rules", args), 2, "rules",
		       "reads the firewall's rules on standard input: pipe ip6tables-save into it");
	dup2(saved, 0);
	close(saved);
	close(pts);
	close(m);
	ck_assert_str_eq(cli_out, "");
}
END_TEST

Suite *make_rules_suite(void)
{
	Suite *s = suite_create("rules");
	TCase *tc = tcase_create("rules");

	tcase_add_test(tc, test_chain_name);
	tcase_add_loop_test(tc, test_output, 0, sizeof(out_cases) / sizeof(out_cases[0]));
	tcase_add_test(tc, test_header);
	tcase_add_test(tc, test_header_bpf);
	tcase_add_loop_test(tc, test_bad_input, 0, sizeof(bad_cases) / sizeof(bad_cases[0]));
	tcase_add_test(tc, test_nat_many);
	tcase_add_test(tc, test_flows_delete);
	tcase_add_loop_test(tc, test_saved, 0, sizeof(saved_cases) / sizeof(saved_cases[0]));
	tcase_add_test(tc, test_delete_any_mode);
	tcase_add_test(tc, test_ours);
	tcase_add_loop_test(tc, test_bad_stdin, 0,
			    sizeof(bad_in_cases) / sizeof(bad_in_cases[0]));
	tcase_add_test(tc, test_stdin_tty);
	suite_add_tcase(s, tc);
	return s;
}
