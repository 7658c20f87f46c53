/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_health.c: the health checker: its file format (nfqlb/healthconf.c),
 * its rise/fall counting, its probes on loopback (nfqlb/probe.c), and how it
 * writes transitions into a table (nfqlb/healthtab.c). */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "nfqlb/health.h"
#include "nfqlb/healthconf.h"
#include "nfqlb/healthtab.h"
#include "nfqlb/probe.h"
#include "test/unit/cli_run.h"
#include "test/unit/suites.h"

/* ---------------------------------------------------------------- format */

static struct health_check parse_ok(const char *line)
{
	struct health_check c;
	char why[WHY_MAX] = "";
	int r = healthconf_parse_line(line, &c, why);

	ck_assert_msg(r == 1, "'%s': %d, %s", line, r, why);
	return c;
}

static unsigned int port_of(const struct health_check *c)
{
	if (c->addr.ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)&c->addr)->sin6_port);
	return ntohs(((const struct sockaddr_in *)&c->addr)->sin_port);
}

START_TEST(test_conf_tcp_defaults)
{
	struct health_check c = parse_ok("lb1 101 tcp 10.0.0.1:80");
	const struct sockaddr_in *a = (const struct sockaddr_in *)&c.addr;

	ck_assert_str_eq(c.table, "lb1");
	ck_assert_uint_eq(c.id, 101);
	ck_assert_int_eq(c.kind, HEALTH_TCP);
	ck_assert_int_eq(a->sin_family, AF_INET);
	ck_assert_uint_eq(ntohl(a->sin_addr.s_addr), 0x0a000001);
	ck_assert_uint_eq(port_of(&c), 80);
	ck_assert_uint_eq(c.interval_ms, 2000);
	ck_assert_uint_eq(c.timeout_ms, 1000);
	ck_assert_uint_eq(c.rise, 2);
	ck_assert_uint_eq(c.fall, 3);
}
END_TEST

START_TEST(test_conf_options)
{
	struct health_check c = parse_ok("  t 0x10 tcp [fd00::1]:8080 fall=5 interval=0.25 "
					 "rise=1 timeout=0.125  # a comment");
	const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&c.addr;
	struct in6_addr want;

	inet_pton(AF_INET6, "fd00::1", &want);
	ck_assert_uint_eq(c.id, 16);
	ck_assert_int_eq(a->sin6_family, AF_INET6);
	ck_assert_mem_eq(&a->sin6_addr, &want, sizeof(want));
	ck_assert_uint_eq(port_of(&c), 8080);
	ck_assert_uint_eq(c.interval_ms, 250);
	ck_assert_uint_eq(c.timeout_ms, 125);
	ck_assert_uint_eq(c.rise, 1);
	ck_assert_uint_eq(c.fall, 5);
}
END_TEST

/* Without timeout=, the timeout is 1 s or the interval if shorter. */
START_TEST(test_conf_timeout_default)
{
	ck_assert_uint_eq(parse_ok("t 1 tcp 1.2.3.4:1 interval=0.2").timeout_ms, 200);
	ck_assert_uint_eq(parse_ok("t 1 tcp 1.2.3.4:1 interval=5").timeout_ms, 1000);
	ck_assert_uint_eq(parse_ok("t 1 tcp 1.2.3.4:1 interval=1.5 timeout=1.5").timeout_ms,
			  1500);
	ck_assert_uint_eq(parse_ok("t 1 tcp 1.2.3.4:1 interval=86400").interval_ms, 86400000);
	ck_assert_uint_eq(parse_ok("t 1 tcp 1.2.3.4:1 interval=0.01").interval_ms, 10);
}
END_TEST

START_TEST(test_conf_http)
{
	struct health_check c = parse_ok("t 2 http http://10.1.2.3:8080/health?x=1 status=204");

	ck_assert_int_eq(c.kind, HEALTH_HTTP);
	ck_assert_str_eq(c.text, "/health?x=1");
	ck_assert_str_eq(c.host, "10.1.2.3:8080");
	ck_assert_uint_eq(port_of(&c), 8080);
	ck_assert_uint_eq(c.status, 204);
	c = parse_ok("t 2 http http://[fd00::2]");
	ck_assert_str_eq(c.text, "/");
	ck_assert_str_eq(c.host, "[fd00::2]");
	ck_assert_uint_eq(port_of(&c), 80);
	ck_assert_uint_eq(c.status, 200);
	c = parse_ok("t 2 http http://10.0.0.1/a#b");
	ck_assert_str_eq(c.text, "/a#b");
}
END_TEST

START_TEST(test_conf_udp_exec)
{
	struct health_check c = parse_ok("t 3 udp 10.0.0.1:53 payload=\"a \\\"b\\\" c\"");

	ck_assert_int_eq(c.kind, HEALTH_UDP);
	ck_assert_str_eq(c.text, "a \"b\" c");
	ck_assert_uint_eq(c.textlen, 7);
	ck_assert_str_eq(parse_ok("t 3 udp 10.0.0.1:53").text, "ping");
	c = parse_ok("t 4 exec \"test -f /tmp/x\\\\y && grep -q 'a\\.b' f # not a comment\"");
	ck_assert_int_eq(c.kind, HEALTH_EXEC);
	ck_assert_str_eq(c.text, "test -f /tmp/x\\y && grep -q 'a\\.b' f # not a comment");
	ck_assert_str_eq(parse_ok("t 4 exec true").text, "true");
}
END_TEST

START_TEST(test_conf_blank)
{
	static const char *const lines[] = { "", "   \t", "# TABLE ID ...", "  #x y z w",
					     "\n" };
	struct health_check c;
	char why[WHY_MAX] = "";
	size_t i;

	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		ck_assert_int_eq(healthconf_parse_line(lines[i], &c, why), 0);
}
END_TEST

/* Each bad line, and what its one-line reason must say. */
static const struct {
	const char *line, *why;
} bad_lines[] = {
	{ "t 1 tcp", "want TABLE ID CHECK TARGET" },
	{ "t/x 1 tcp 1.2.3.4:80", "bad table name" },
	{ "t 0 tcp 1.2.3.4:80", "bad target id '0'" },
	{ "t 4294967296 tcp 1.2.3.4:80", "bad target id" },
	{ "t abc tcp 1.2.3.4:80", "bad target id" },
	{ "t 010 tcp 1.2.3.4:80", "bad target id '010': " },
	{ "t 1 icmp 1.2.3.4", "unknown check 'icmp'" },
	{ "t 1 tcp 1.2.3.4", "has no port" },
	{ "t 1 tcp 1.2.3.4:0", "bad port" },
	{ "t 1 tcp 1.2.3.4:65536", "bad port" },
	{ "t 1 tcp 1.2.3.4:080", "bad port" },
	{ "t 1 tcp 1.2.3.4:8x", "bad port" },
	{ "t 1 tcp 1.2.3.400:80", "bad IPv4 address '1.2.3.400'" },
	{ "t 1 tcp host.example:80", "bad IPv4 address" },
	{ "t 1 tcp fd00::1:80", "write IPv6 as [ADDR]:PORT" },
	{ "t 1 tcp [fd00::1:80", "want [IPv6]:PORT" },
	{ "t 1 tcp [fd00::zz]:80", "bad IPv6 address" },
	{ "t 1 tcp [fd00::1]x:80", "want [IPv6]:PORT" },
	{ "t 1 tcp 1.2.3.4:80/x", "bad address" },
	{ "t 1 udp 1.2.3.4:53 payload=", "empty payload" },
	{ "t 1 http https://1.2.3.4/", "bad URL" },
	{ "t 1 http http://1.2.3.4:0/", "bad port" },
	{ "t 1 http http://1.2.3.4/\x01", "bad character in URL path" },
	{ "t 1 http http://1.2.3.4/ status=99", "bad status" },
	{ "t 1 http http://1.2.3.4/ status=600", "bad status" },
	{ "t 1 exec \"\"", "empty command" },
	{ "t 1 exec \"true", "unterminated quote" },
	{ "t 1 tcp 1.2.3.4:80 status=200", "only for http checks" },
	{ "t 1 tcp 1.2.3.4:80 payload=x", "only for udp checks" },
	{ "t 1 tcp 1.2.3.4:80 weight=3", "unknown option 'weight=3'" },
	{ "t 1 tcp 1.2.3.4:80 rise", "unknown option 'rise'" },
	{ "t 1 tcp 1.2.3.4:80 rise=0", "bad rise '0'" },
	{ "t 1 tcp 1.2.3.4:80 fall=1001", "bad fall" },
	{ "t 1 tcp 1.2.3.4:80 fall=-1", "bad fall" },
	{ "t 1 tcp 1.2.3.4:80 rise=2 rise=3", "given twice" },
	{ "t 1 tcp 1.2.3.4:80 interval=0", "bad interval" },
	{ "t 1 tcp 1.2.3.4:80 interval=0.001", "bad interval" },
	{ "t 1 tcp 1.2.3.4:80 interval=0.0005", "bad interval" },
	{ "t 1 tcp 1.2.3.4:80 interval=1.", "bad interval" },
	{ "t 1 tcp 1.2.3.4:80 interval=.5", "bad interval" },
	{ "t 1 tcp 1.2.3.4:80 interval=1e3", "bad interval" },
	{ "t 1 tcp 1.2.3.4:80 interval=86400.001", "bad interval" },
	{ "t 1 tcp 1.2.3.4:80 interval=99999999999999999999", "bad interval" },
	{ "t 1 tcp 1.2.3.4:80 timeout=-1", "bad timeout" },
	{ "t 1 tcp 1.2.3.4:80 interval=1 timeout=2", "longer than the interval" },
	{ "t 1 tcp 1.2.3.4:80 timeout=2.5", "longer than the interval" },
	{ "t 1 tcp 1.2.3.4:80 a=1 b=2 c=3 d=4 e=5 f=6 g=7 h=8 i=9 j=10 k=11 l=12 m=13",
	  "more than 16 words" },
};

START_TEST(test_conf_bad)
{
	struct health_check c;
	char why[WHY_MAX] = "";

	errno = 0;
	ck_assert_int_eq(healthconf_parse_line(bad_lines[_i].line, &c, why), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_msg(strstr(why, bad_lines[_i].why), "'%s': got \"%s\", want \"%s\"",
		      bad_lines[_i].line, why, bad_lines[_i].why);
}
END_TEST

START_TEST(test_conf_long)
{
	char line[HEALTHCONF_LINE_MAX + 16], cmd[HEALTHCONF_TEXT_MAX + 2];
	struct health_check c;
	char why[WHY_MAX] = "";

	memset(cmd, 'x', sizeof(cmd) - 1);
	cmd[sizeof(cmd) - 1] = '\0';
	snprintf(line, sizeof(line), "t 1 exec %s", cmd);
	ck_assert_int_eq(healthconf_parse_line(line, &c, why), -1);
	ck_assert_ptr_nonnull(strstr(why, "command longer than 1024 bytes"));
	cmd[sizeof(cmd) - 2] = '\0';
	snprintf(line, sizeof(line), "t 1 exec %s", cmd);
	ck_assert_int_eq(healthconf_parse_line(line, &c, why), 1);
	memset(line, ' ', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	ck_assert_int_eq(healthconf_parse_line(line, &c, why), -1);
	ck_assert_ptr_nonnull(strstr(why, "line longer than"));
}
END_TEST

/* A whole file: line numbers, duplicates, emptiness. */
START_TEST(test_conf_file)
{
	struct healthconf conf;
	char why[WHY_MAX] = "";

	ck_assert_int_eq(healthconf_parse("# checks\n\na 1 tcp 1.2.3.4:1\nb 1 tcp 1.2.3.4:2\n"
					  "a 2 exec true", "f", &conf, why), 0);
	ck_assert_uint_eq(conf.n, 3);
	ck_assert_uint_eq(conf.checks[0].line, 3);
	ck_assert_uint_eq(conf.checks[2].line, 5);
	ck_assert_str_eq(conf.checks[1].table, "b");
	healthconf_free(&conf);
	ck_assert_int_eq(healthconf_parse("a 1 tcp 1.2.3.4:1\n\na 1 exec true\n", "f.conf",
					  &conf, why), -1);
	ck_assert_str_eq(why, "f.conf:3: table a id 1 is already checked on line 1");
	healthconf_free(&conf);
	ck_assert_int_eq(healthconf_parse("a 1 tcp 1.2.3.4:1\nb 2 tcp 1.2.3.4\n", "f",
					  &conf, why), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "f:2: '1.2.3.4' has no port"));
	healthconf_free(&conf);
	ck_assert_int_eq(healthconf_parse("# nothing\n\n", "f", &conf, why), -1);
	ck_assert_str_eq(why, "f: no checks");
	healthconf_free(&conf);
}
END_TEST

START_TEST(test_conf_limits)
{
	size_t size = (HEALTHCONF_CHECKS_MAX + 1) * 32, i;
	char *text = malloc(size), *p = text;
	struct healthconf conf;
	char why[WHY_MAX] = "";

	ck_assert_ptr_nonnull(text);
	for (i = 0; i <= HEALTHCONF_CHECKS_MAX; i++)
		p += sprintf(p, "t %zu exec true\n", i + 1);
	ck_assert_int_eq(healthconf_parse(text, "f", &conf, why), -1);
	ck_assert_str_eq(why, "f:513: more than 512 checks");
	healthconf_free(&conf);
	for (p = text, i = 0; i <= HEALTHCONF_TABLES_MAX; i++)
		p += sprintf(p, "t%zu 1 exec true\n", i);
	ck_assert_int_eq(healthconf_parse(text, "f", &conf, why), -1);
	ck_assert_str_eq(why, "f:65: more than 64 tables");
	healthconf_free(&conf);
	free(text);
}
END_TEST

START_TEST(test_conf_load)
{
	char path[] = "/tmp/nfqlb-health-XXXXXX";
	struct healthconf conf;
	char why[WHY_MAX] = "";
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "t 7 tcp 1.2.3.4:5\n", 18), 18);
	close(fd);
	ck_assert_int_eq(healthconf_load(path, &conf, why), 0);
	ck_assert_uint_eq(conf.n, 1);
	ck_assert_uint_eq(conf.checks[0].id, 7);
	healthconf_free(&conf);
	unlink(path);
	ck_assert_int_eq(healthconf_load(path, &conf, why), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_ptr_nonnull(strstr(why, path));
	healthconf_free(&conf);
}
END_TEST

/* ---------------------------------------------------------------- rise and fall */

START_TEST(test_step_rise_fall)
{
	struct health_state s = { true, 0 };

	ck_assert(!health_step(&s, false, 2, 3));
	ck_assert(!health_step(&s, false, 2, 3));
	ck_assert(health_step(&s, false, 2, 3));
	ck_assert(!s.up);
	ck_assert(!health_step(&s, false, 2, 3));
	ck_assert(!health_step(&s, true, 2, 3));
	ck_assert(health_step(&s, true, 2, 3));
	ck_assert(s.up);
	s = (struct health_state){ false, 0 };
	ck_assert(health_step(&s, true, 1, 1));
	ck_assert(health_step(&s, false, 1, 1));
}
END_TEST

/* A target that fails every other probe never changes with rise = fall = 3,
 * from either state; nor with two in a row either way and rise = fall = 3. */
START_TEST(test_step_no_flap)
{
	struct health_state s;
	int start, i;

	for (start = 0; start < 2; start++) {
		s = (struct health_state){ start, 0 };
		for (i = 0; i < 1000; i++)
			ck_assert(!health_step(&s, i % 2, 3, 3));
		for (i = 0; i < 1000; i++)
			ck_assert(!health_step(&s, (i / 2) % 2, 3, 3));
		ck_assert_int_eq(s.up, start);
	}
}
END_TEST

/* ---------------------------------------------------------------- probes */

/* Drive a started probe to its end, at most 3 s. */
static enum probe_result drive(struct probe *p, enum probe_result r)
{
	struct pollfd pfd;
	int i;

	for (i = 0; r == PROBE_RUNNING && i < 300; i++) {
		pfd = (struct pollfd){ p->fd, probe_events(p), 0 };
		ck_assert_int_ge(poll(&pfd, 1, 10), 0);
		r = probe_step(p, pfd.revents);
	}
	ck_assert_msg(r != PROBE_RUNNING, "the probe did not end");
	ck_assert(!probe_busy(p));
	ck_assert_int_eq(p->fd, -1);
	return r;
}

static enum probe_result run_probe(struct probe *p, const struct health_check *c)
{
	return drive(p, probe_start(p, c));
}

/* A listening socket on 127.0.0.1, any port; sets c's address to it. */
static int listener(struct health_check *c, int type)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	if (type == SOCK_STREAM)
		ck_assert_int_eq(listen(fd, 8), 0);
	memcpy(&c->addr, &a, sizeof(a));
	c->addrlen = sizeof(a);
	snprintf(c->host, sizeof(c->host), "127.0.0.1:%u", ntohs(a.sin_port));
	return fd;
}

START_TEST(test_probe_tcp)
{
	struct health_check c = parse_ok("t 1 tcp 127.0.0.1:1");
	int fd = listener(&c, SOCK_STREAM);
	struct probe p;

	ck_assert_int_eq(run_probe(&p, &c), PROBE_OK);
	close(fd);
	ck_assert_int_eq(run_probe(&p, &c), PROBE_FAIL);
	ck_assert_str_eq(p.why, "connect: Connection refused");
}
END_TEST

/* The UDP target answers the probe's payload from the probed port. */
START_TEST(test_probe_udp)
{
	struct health_check c = parse_ok("t 1 udp 127.0.0.1:1 payload=hello");
	int fd = listener(&c, SOCK_DGRAM);
	struct sockaddr_storage from;
	socklen_t flen = sizeof(from);
	struct probe p;
	char buf[16];

	enum probe_result r = probe_start(&p, &c);

	ck_assert_int_eq(r, PROBE_RUNNING);
	ck_assert_int_eq(recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from,
				  &flen), 5);
	ck_assert_mem_eq(buf, "hello", 5);
	ck_assert_int_eq(sendto(fd, "x", 1, 0, (struct sockaddr *)&from, flen), 1);
	ck_assert_int_eq(drive(&p, r), PROBE_OK);
	close(fd);
	ck_assert_int_eq(run_probe(&p, &c), PROBE_FAIL);
	ck_assert_str_eq(p.why, "recv: Connection refused");
}
END_TEST

/* An HTTP server that reads the request and answers with `reply`. */
static enum probe_result http_probe(struct health_check *c, const char *reply,
				   char *req, size_t size)
{
	int lfd = listener(c, SOCK_STREAM), cfd, i;
	enum probe_result r;
	struct probe p;
	ssize_t n = 0;

	r = probe_start(&p, c);
	cfd = accept(lfd, NULL, NULL);
	ck_assert_int_ge(cfd, 0);
	for (i = 0; r == PROBE_RUNNING && p.phase != PHASE_RECV && i < 100; i++) {
		struct pollfd pfd = { p.fd, probe_events(&p), 0 };

		poll(&pfd, 1, 10);
		r = probe_step(&p, pfd.revents);
	}
	ck_assert_int_eq(r, PROBE_RUNNING);
	n = recv(cfd, req, size - 1, 0);
	ck_assert_int_gt(n, 0);
	req[n] = '\0';
	ck_assert_int_eq(send(cfd, reply, strlen(reply), 0), (ssize_t)strlen(reply));
	shutdown(cfd, SHUT_WR);
	for (i = 0; r == PROBE_RUNNING && i < 100; i++) {
		struct pollfd pfd = { p.fd, probe_events(&p), 0 };

		poll(&pfd, 1, 10);
		r = probe_step(&p, pfd.revents);
	}
	close(cfd);
	close(lfd);
	if (r == PROBE_FAIL)
		snprintf(req, size, "%s", p.why);
	return r;
}

START_TEST(test_probe_http)
{
	struct health_check c = parse_ok("t 1 http http://127.0.0.1/ready?x=1 status=204");
	char req[2048];

	ck_assert_int_eq(http_probe(&c, "HTTP/1.1 204 No Content\r\n\r\n", req, sizeof(req)),
			 PROBE_OK);
	ck_assert_msg(strncmp(req, "GET /ready?x=1 HTTP/1.0\r\nHost: 127.0.0.1:", 41) == 0,
		      "request: %s", req);
	ck_assert_ptr_nonnull(strstr(req, "\r\n\r\n"));
	ck_assert_int_eq(http_probe(&c, "HTTP/1.0 200 OK\r\n\r\n", req, sizeof(req)),
			 PROBE_FAIL);
	ck_assert_str_eq(req, "status 200, want 204");
	ck_assert_int_eq(http_probe(&c, "SSH-2.0-OpenSSH\r\n", req, sizeof(req)),
			 PROBE_FAIL);
	ck_assert_str_eq(req, "not an HTTP status line");
	ck_assert_int_eq(http_probe(&c, "HTTP/1.1 20", req, sizeof(req)), PROBE_FAIL);
	ck_assert_str_eq(req, "connection closed before the status line");
}
END_TEST

START_TEST(test_probe_exec)
{
	struct health_check c = parse_ok("t 1 exec \"exit 0\"");
	struct probe p;

	ck_assert_int_eq(run_probe(&p, &c), PROBE_OK);
	c = parse_ok("t 1 exec \"echo noise; echo noise >&2; exit 3\"");
	ck_assert_int_eq(run_probe(&p, &c), PROBE_FAIL);
	ck_assert_str_eq(p.why, "exit status 3");
	c = parse_ok("t 1 exec \"kill -9 $$\"");
	ck_assert_int_eq(run_probe(&p, &c), PROBE_FAIL);
	ck_assert_str_eq(p.why, "killed by signal 9");
}
END_TEST

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Whether pid is gone or a zombie (reaped by whoever inherited it). */
static bool gone(int pid)
{
	char path[64], stat[256], *rp;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return true;
	rp = fgets(stat, sizeof(stat), f) ? strrchr(stat, ')') : NULL;
	fclose(f);
	return !rp || rp[1] == '\0' || rp[2] == 'Z';
}

/* An aborted command dies with its whole process group, at once. */
START_TEST(test_probe_exec_abort)
{
	char path[] = "/tmp/nfqlb-health-XXXXXX", line[256], pids[64] = "";
	struct health_check c;
	struct probe p;
	int fd = mkstemp(path), i, child = 0;
	int64_t t0;
	FILE *f;

	ck_assert_int_ge(fd, 0);
	close(fd);
	snprintf(line, sizeof(line), "t 1 exec \"sleep 30 & echo $! > %s; wait\"", path);
	c = parse_ok(line);
	ck_assert_int_eq(probe_start(&p, &c), PROBE_RUNNING);
	for (i = 0; i < 300 && !child; i++) {
		usleep(10000);
		f = fopen(path, "r");
		if (f && fgets(pids, sizeof(pids), f))
			child = atoi(pids);
		if (f)
			fclose(f);
	}
	ck_assert_int_gt(child, 0);
	t0 = mono_ms();
	probe_abort(&p, "timeout");
	for (i = 0; probe_busy(&p) && i < 300; i++) {
		struct pollfd pfd = { p.fd, probe_events(&p), 0 };

		poll(&pfd, 1, 10);
		ck_assert_int_eq(probe_step(&p, pfd.revents) == PROBE_RUNNING,
				 probe_busy(&p));
	}
	ck_assert(!probe_busy(&p));
	ck_assert_int_lt(mono_ms() - t0, 2000);
	ck_assert_str_eq(p.why, "timeout");
	for (i = 0; i < 200 && !gone(child); i++)
		usleep(10000);
	ck_assert_msg(gone(child), "sleep %d still runs", child);
	unlink(path);
}
END_TEST

/* ---------------------------------------------------------------- tables */

static char table[64];
static FILE *log_file;	/* the checker's log lines (stderr) in a table test */

static void table_setup(void)
{
	struct shm_params prm = { 997, 8, 0, HASH_5TUPLE };

	snprintf(table, sizeof(table), "nfqlb-health-%d", (int)getpid());
	ck_assert_int_eq(shm_create(table, &prm, true), 0);
	log_file = tmpfile();
	ck_assert_ptr_nonnull(log_file);
	fflush(stderr);
	dup2(fileno(log_file), 2);
}

/* How many log lines so far contain `what`. */
static int logged(const char *what)
{
	char line[1024];
	int n = 0;

	fflush(stderr);
	rewind(log_file);
	while (fgets(line, sizeof(line), log_file))
		n += strstr(line, what) != NULL;
	return n;
}

static void table_teardown(void)
{
	shm_remove(table);
}

static void table_activate(uint32_t id, uint32_t weight)
{
	char why[WHY_MAX] = "";
	struct shm *s = shm_attach(table, true, why);
	uint32_t bad;

	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(shm_activate(s, &id, 1, weight, &bad, why), 0);
	shm_detach(s);
}

/* The active ids of the table, as weights: w[id] for ids 1..7, 0 if inactive. */
static void table_weights(uint32_t *w)
{
	char why[WHY_MAX] = "";
	struct shm *s = shm_attach(table, false, why);
	struct shm_view v;
	uint32_t i;

	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(shm_view_init(&v, s->m, s->n), 0);
	ck_assert_int_eq(shm_read(s, &v, why), 0);
	memset(w, 0, 8 * sizeof(*w));
	for (i = 0; i < v.n; i++)
		if (v.targets[i].active && v.targets[i].id < 8)
			w[v.targets[i].id] = v.targets[i].weight;
	shm_view_free(&v);
	shm_detach(s);
}

/* A checker set over ids 1..k of the table, rise = 2, fall = 2. */
static void open_set(struct hset *h, struct healthconf *conf, int k, bool keep)
{
	char text[512] = "", *p = text, why[WHY_MAX] = "";
	int i;

	for (i = 1; i <= k; i++)
		p += sprintf(p, "%s %d exec true rise=2 fall=2\n", table, i);
	ck_assert_int_eq(healthconf_parse(text, "f", conf, why), 0);
	ck_assert_msg(healthtab_open(h, conf, keep, why) == 0, "%s", why);
}

static void results(struct hset *h, int id, bool ok, int times)
{
	while (times-- > 0)
		healthtab_result(&h->targets[id - 1], ok);
	healthtab_apply(h);
}

/* Start as the table has it; down and up again with the same weight. */
START_TEST(test_tab_transitions)
{
	struct healthconf conf;
	uint32_t w[8];
	struct hset h;

	table_activate(1, 1);
	table_activate(2, 7);
	open_set(&h, &conf, 3, true);
	ck_assert(h.targets[0].st.up && h.targets[1].st.up && !h.targets[2].st.up);
	results(&h, 2, false, 1);
	table_weights(w);
	ck_assert_uint_eq(w[2], 7);
	results(&h, 2, false, 1);
	table_weights(w);
	ck_assert_uint_eq(w[2], 0);
	ck_assert_uint_eq(w[1], 1);
	results(&h, 3, true, 2);
	results(&h, 2, true, 2);
	table_weights(w);
	ck_assert_uint_eq(w[2], 7);
	ck_assert_uint_eq(w[3], 1);
	ck_assert_int_eq(logged("nfqlb: health: table "), 3);
	ck_assert_int_eq(logged("id 2 (exec \"true\"): up after 2 successes: activated "
				"(weight 7)"), 1);
	healthtab_close(&h);
	healthconf_free(&conf);
}
END_TEST

/* The last active target stays active while every target fails, and goes
 * as soon as another one is active. */
START_TEST(test_tab_all_down_keep)
{
	struct healthconf conf;
	uint32_t w[8];
	struct hset h;

	table_activate(1, 1);
	table_activate(2, 1);
	open_set(&h, &conf, 2, true);
	results(&h, 1, false, 2);
	results(&h, 2, false, 2);
	table_weights(w);
	ck_assert_uint_eq(w[1], 0);
	ck_assert_uint_eq(w[2], 1);
	ck_assert(h.targets[1].held && !h.targets[1].st.up && h.tables[0].alldown);
	results(&h, 2, false, 5);
	table_weights(w);
	ck_assert_uint_eq(w[2], 1);
	ck_assert_int_eq(logged("WARNING: table"), 1);
	ck_assert_int_eq(logged("id 2 (exec \"true\"): down after 2 failures (failed): "
				"NOT deactivated"), 1);
	results(&h, 1, true, 2);
	table_weights(w);
	ck_assert_uint_eq(w[1], 1);
	ck_assert_uint_eq(w[2], 0);
	ck_assert(!h.targets[1].held && !h.tables[0].alldown);
	ck_assert_int_eq(logged("id 2 (exec \"true\"): still down (failed): deactivated "
				"now that another target is active"), 1);
	/* A second episode is logged again. */
	results(&h, 1, false, 2);
	ck_assert_int_eq(logged("WARNING: table"), 2);
	healthtab_close(&h);
	healthconf_free(&conf);
}
END_TEST

/* Two targets failing in the same round: one update keeps the last one. */
START_TEST(test_tab_all_down_same_round)
{
	struct healthconf conf;
	uint32_t w[8];
	struct hset h;

	table_activate(1, 1);
	table_activate(2, 1);
	open_set(&h, &conf, 2, true);
	healthtab_result(&h.targets[0], false);
	healthtab_result(&h.targets[0], false);
	healthtab_result(&h.targets[1], false);
	healthtab_result(&h.targets[1], false);
	healthtab_apply(&h);
	table_weights(w);
	ck_assert_uint_eq((w[1] != 0) + (w[2] != 0), 1);
	results(&h, 2, true, 2);
	table_weights(w);
	ck_assert_uint_eq(w[1], 0);
	ck_assert_uint_eq(w[2], 1);
	healthtab_close(&h);
	healthconf_free(&conf);
}
END_TEST

START_TEST(test_tab_all_down_deactivate)
{
	struct healthconf conf;
	uint32_t w[8];
	struct hset h;

	table_activate(1, 1);
	table_activate(2, 1);
	open_set(&h, &conf, 2, false);
	results(&h, 1, false, 2);
	results(&h, 2, false, 2);
	table_weights(w);
	ck_assert_uint_eq(w[1], 0);
	ck_assert_uint_eq(w[2], 0);
	ck_assert_int_eq(logged("WARNING"), 0);
	healthtab_close(&h);
	healthconf_free(&conf);
}
END_TEST

/* Replaced under the checker (init --force): it writes into the new table. */
START_TEST(test_tab_follows_replacement)
{
	struct shm_params prm = { 997, 8, 0, HASH_5TUPLE };
	struct healthconf conf;
	uint32_t w[8];
	struct hset h;

	table_activate(1, 1);
	open_set(&h, &conf, 2, true);
	ck_assert_int_eq(shm_create(table, &prm, true), 0);
	table_activate(1, 1);
	results(&h, 2, true, 2);
	table_weights(w);
	ck_assert_uint_eq(w[1], 1);
	ck_assert_uint_eq(w[2], 1);
	healthtab_close(&h);
	healthconf_free(&conf);
}
END_TEST

/* ---------------------------------------------------------------- the command */

/* Removed and made again under the checker (rm + init): nothing marks the
 * old object, and the checker still writes into the new table. */
START_TEST(test_tab_follows_rm)
{
	struct shm_params prm = { 997, 8, 0, HASH_5TUPLE };
	struct healthconf conf;
	char path[80];
	uint32_t w[8];
	struct hset h;

	table_activate(1, 1);
	open_set(&h, &conf, 2, true);
	snprintf(path, sizeof(path), "/%s", table);
	ck_assert_int_eq(shm_unlink(path), 0);
	ck_assert_int_eq(shm_create(table, &prm, false), 0);
	table_activate(1, 1);
	results(&h, 2, true, 2);
	table_weights(w);
	ck_assert_uint_eq(w[1], 1);
	ck_assert_uint_eq(w[2], 1);
	healthtab_close(&h);
	healthconf_free(&conf);
}
END_TEST

static char conf_path[64];

static void write_conf(const char *text)
{
	FILE *f;

	snprintf(conf_path, sizeof(conf_path), "/tmp/nfqlb-health-%d.conf", (int)getpid());
	f = fopen(conf_path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

START_TEST(test_cmd_errors)
{
	char text[256];

	cli_want_error(cli_run("health", (const char *[]){ NULL }), 2, "health",
		       "no --config FILE given");
	write_conf("t 1 tcp 1.2.3.4:80\nt 2 tcp 1.2.3.4\n");
	cli_want_error(cli_run("health", (const char *[]){ "--config", conf_path, NULL }),
		       2, "health", ":2: '1.2.3.4' has no port");
	cli_want_error(cli_run("health", (const char *[]){ "--config", conf_path,
					  "--all-down", "maybe", NULL }),
		       2, "health", "bad --all-down 'maybe'");
	cli_want_error(cli_run("health", (const char *[]){ "--config", conf_path, "x",
					  NULL }), 2, "health", "unexpected argument 'x'");
	snprintf(text, sizeof(text), "%s-none 1 tcp 1.2.3.4:80\n", table);
	write_conf(text);
	cli_want_error(cli_run("health", (const char *[]){ "--config", conf_path, NULL }),
		       1, "health", "does not exist");
	unlink(conf_path);
	cli_want_error(cli_run("health", (const char *[]){ "--config", conf_path, NULL }),
		       1, "health", "No such file or directory");
}
END_TEST

START_TEST(test_cmd_dry_run)
{
	char text[256], want[512];

	table_activate(5, 1);
	snprintf(text, sizeof(text), "%s 5 http http://[::1]:81/x\n%s 6 udp 10.0.0.1:53\n",
		 table, table);
	write_conf(text);
	ck_assert_int_eq(cli_run("health", (const char *[]){ "--config", conf_path,
					    "--dry-run", NULL }), 0);
	snprintf(want, sizeof(want),
		 "%s 5 http http://[::1]:81/x status=200 interval=2.000 timeout=1.000 "
		 "rise=2 fall=3 # line 1, starts up\n"
		 "%s 6 udp 10.0.0.1:53 payload=\"ping\" interval=2.000 timeout=1.000 "
		 "rise=2 fall=3 # line 2, starts down\n", table, table);
	ck_assert_str_eq(cli_out, want);
	ck_assert_str_eq(cli_err, "");
	unlink(conf_path);
}
END_TEST

Suite *make_health_suite(void)
{
	Suite *s = suite_create("health");
	TCase *tc = tcase_create("conf");

	tcase_add_test(tc, test_conf_tcp_defaults);
	tcase_add_test(tc, test_conf_options);
	tcase_add_test(tc, test_conf_timeout_default);
	tcase_add_test(tc, test_conf_http);
	tcase_add_test(tc, test_conf_udp_exec);
	tcase_add_test(tc, test_conf_blank);
	tcase_add_loop_test(tc, test_conf_bad, 0, sizeof(bad_lines) / sizeof(bad_lines[0]));
	tcase_add_test(tc, test_conf_long);
	tcase_add_test(tc, test_conf_file);
	tcase_add_test(tc, test_conf_limits);
	tcase_add_test(tc, test_conf_load);
	tcase_add_test(tc, test_step_rise_fall);
	tcase_add_test(tc, test_step_no_flap);
	suite_add_tcase(s, tc);
	tc = tcase_create("probe");
	tcase_add_test(tc, test_probe_tcp);
	tcase_add_test(tc, test_probe_udp);
	tcase_add_test(tc, test_probe_http);
	tcase_add_test(tc, test_probe_exec);
	tcase_add_test(tc, test_probe_exec_abort);
	suite_add_tcase(s, tc);
	tc = tcase_create("table");
	tcase_add_checked_fixture(tc, table_setup, table_teardown);
	tcase_add_test(tc, test_tab_transitions);
	tcase_add_test(tc, test_tab_all_down_keep);
	tcase_add_test(tc, test_tab_all_down_same_round);
	tcase_add_test(tc, test_tab_all_down_deactivate);
	tcase_add_test(tc, test_tab_follows_replacement);
	tcase_add_test(tc, test_tab_follows_rm);
	tcase_add_test(tc, test_cmd_errors);
	tcase_add_test(tc, test_cmd_dry_run);
	suite_add_tcase(s, tc);
	return s;
}
