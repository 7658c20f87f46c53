/* SPDX-License-Identifier: GPL-2.0-or-later */
/* healthconf.c: the configuration file of `nfqlb health` (see healthconf.h). */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nfqlb/healthconf.h"
#include "nfqlb/opt.h"

#define WORDS_MAX 16

/* A line cut into words, quotes removed, in a private copy. */
struct words {
	char buf[HEALTHCONF_LINE_MAX];
	char *w[WORDS_MAX];
	int n;
};

const char *healthconf_kind_name(enum health_kind kind)
{
	static const char *const names[] = { "tcp", "http", "udp", "exec" };

	return (unsigned int)kind < 4 ? names[kind] : "?";
}

/* Copy one word from *src to *dst, unquoting; *src ends after the word. */
static int one_word(const char **src, char **dst, char *why)
{
	const char *s = *src;
	char *d = *dst;
	bool quoted = false;

	for (; *s && (quoted || !isspace((unsigned char)*s)); s++) {
		if (*s == '"') {
			quoted = !quoted;
			continue;
		}
		if (quoted && *s == '\\' && (s[1] == '"' || s[1] == '\\'))
			s++;
		*d++ = *s;
	}
	if (quoted)
		return why_fail(EINVAL, why, "unterminated quote");
	*d++ = '\0';
	*src = s;
	*dst = d;
	return 0;
}

/* Cut a line into words; a '#' that begins a word ends the line. */
static int split(const char *line, struct words *w, char *why)
{
	const char *s = line;
	char *d = w->buf;

	w->n = 0;
	if (strlen(line) >= sizeof(w->buf))
		return why_fail(EINVAL, why, "line longer than %d bytes",
				HEALTHCONF_LINE_MAX - 1);
	for (;;) {
		while (isspace((unsigned char)*s))
			s++;
		if (!*s || *s == '#')
			return 0;
		if (w->n == WORDS_MAX)
			return why_fail(EINVAL, why, "more than %d words", WORDS_MAX);
		w->w[w->n++] = d;
		if (one_word(&s, &d, why) < 0)
			return -1;
	}
}

/* Seconds, "2" or "0.25", to milliseconds within the option limits. */
static int parse_seconds(const char *s, uint32_t *ms)
{
	uint64_t v = 0;
	int frac = -1;

	if (!isdigit((unsigned char)*s))
		return -1;
	for (; *s; s++) {
		if (*s == '.' && frac < 0) {
			frac = 0;
			continue;
		}
		if (!isdigit((unsigned char)*s) || frac == 3 || v > HEALTHCONF_MS_MAX)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
		if (frac >= 0)
			frac++;
	}
	if (frac == 0)
		return -1;
	for (frac = frac < 0 ? 0 : frac; frac < 3; frac++)
		v *= 10;
	if (v < HEALTHCONF_MS_MIN || v > HEALTHCONF_MS_MAX)
		return -1;
	*ms = (uint32_t)v;
	return 0;
}

/* A port, 1..65535, decimal. */
static int parse_port(const char *s, uint16_t *port)
{
	uint32_t v;

	if (!isdigit((unsigned char)*s) || (*s == '0' && s[1]) ||
	    opt_u32(s, 1, 65535, &v) < 0)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

/* An address literal: IPv4, or IPv6 inside [] (already stripped). */
static int set_addr(struct health_check *c, const char *a, bool v6, uint16_t port)
{
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&c->addr;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&c->addr;

	memset(&c->addr, 0, sizeof(c->addr));
	if (v6) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		c->addrlen = sizeof(*s6);
		return inet_pton(AF_INET6, a, &s6->sin6_addr) == 1 ? 0 : -1;
	}
	s4->sin_family = AF_INET;
	s4->sin_port = htons(port);
	c->addrlen = sizeof(*s4);
	return inet_pton(AF_INET, a, &s4->sin_addr) == 1 ? 0 : -1;
}

/*
 * "ADDR:PORT" or "[ADDR6]:PORT", the port optional when dflt is not 0.
 * The authority ends at the string's end or at a '/'.
 */
static int parse_addrport(struct health_check *c, const char *s, uint16_t dflt,
			  char *why)
{
	char a[64], p[8] = "";
	const char *end = s + strcspn(s, "/"), *colon;
	bool v6 = *s == '[';
	uint16_t port = dflt;
	size_t alen;

	colon = v6 ? strchr(s, ']') : memchr(s, ':', (size_t)(end - s));
	if (!v6 && colon && memchr(colon + 1, ':', (size_t)(end - colon - 1)))
		return why_fail(EINVAL, why, "bad address '%.*s': write IPv6 as [ADDR]:PORT",
				(int)(end - s), s);
	if (v6 && (!colon || colon > end || (colon[1] != ':' && colon + 1 != end)))
		return why_fail(EINVAL, why, "bad address '%.*s': want [IPv6]:PORT",
				(int)(end - s), s);
	if (v6)
		colon = colon + 1 == end ? NULL : colon + 1;
	alen = (size_t)((colon ? colon : end) - s) - (v6 ? 2 : 0);
	if (alen >= sizeof(a) || (size_t)(end - s) >= sizeof(c->host))
		return why_fail(EINVAL, why, "bad address '%.*s'", (int)(end - s), s);
	memcpy(a, s + v6, alen);
	a[alen] = '\0';
	if (colon && (size_t)(end - colon - 1) < sizeof(p))
		memcpy(p, colon + 1, (size_t)(end - colon - 1));
	if (colon && parse_port(p, &port) < 0)
		return why_fail(EINVAL, why, "bad port in '%.*s': want 1..65535",
				(int)(end - s), s);
	if (!colon && !dflt)
		return why_fail(EINVAL, why, "'%s' has no port: want ADDR:PORT", s);
	if (set_addr(c, a, v6, port) < 0)
		return why_fail(EINVAL, why, "bad %s address '%s'", v6 ? "IPv6" : "IPv4", a);
	snprintf(c->host, sizeof(c->host), "%.*s", (int)(end - s), s);
	return 0;
}

/* A path: printable ASCII, no blanks, at most HEALTHCONF_TEXT_MAX bytes. */
static int set_path(struct health_check *c, const char *path, char *why)
{
	const char *p;

	if (!*path)
		path = "/";
	for (p = path; *p; p++)
		if (*p <= ' ' || *p >= 0x7f)
			return why_fail(EINVAL, why, "bad character in URL path '%s'", path);
	if (strlen(path) > HEALTHCONF_TEXT_MAX)
		return why_fail(EINVAL, why, "URL path longer than %d bytes",
				HEALTHCONF_TEXT_MAX);
	c->textlen = strlen(path);
	memcpy(c->text, path, c->textlen + 1);
	return 0;
}

static int parse_url(struct health_check *c, const char *url, char *why)
{
	static const char scheme[] = "http://";

	if (strncmp(url, scheme, sizeof(scheme) - 1) != 0)
		return why_fail(EINVAL, why, "bad URL '%s': want http://ADDR[:PORT][/PATH]",
				url);
	url += sizeof(scheme) - 1;
	if (parse_addrport(c, url, 80, why) < 0)
		return -1;
	return set_path(c, url + strcspn(url, "/"), why);
}

static int set_text(struct health_check *c, const char *what, const char *s,
		    char *why)
{
	size_t n = strlen(s);

	if (!n)
		return why_fail(EINVAL, why, "empty %s", what);
	if (n > HEALTHCONF_TEXT_MAX)
		return why_fail(EINVAL, why, "%s longer than %d bytes", what,
				HEALTHCONF_TEXT_MAX);
	memcpy(c->text, s, n + 1);
	c->textlen = n;
	return 0;
}

static int parse_target(struct health_check *c, const char *kind,
			const char *target, char *why)
{
	if (strcmp(kind, "tcp") == 0)
		c->kind = HEALTH_TCP;
	else if (strcmp(kind, "http") == 0)
		c->kind = HEALTH_HTTP;
	else if (strcmp(kind, "udp") == 0)
		c->kind = HEALTH_UDP;
	else if (strcmp(kind, "exec") == 0)
		c->kind = HEALTH_EXEC;
	else
		return why_fail(EINVAL, why, "unknown check '%s': want tcp, http, udp or exec",
				kind);
	switch (c->kind) {
	case HEALTH_HTTP:
		return parse_url(c, target, why);
	case HEALTH_EXEC:
		return set_text(c, "command", target, why);
	case HEALTH_UDP:
		if (set_text(c, "payload", HEALTHCONF_PAYLOAD, why) < 0)
			return -1;
		break;
	case HEALTH_TCP:
		break;
	}
	if (strchr(target, '/'))
		return why_fail(EINVAL, why, "bad address '%s': want ADDR:PORT", target);
	return parse_addrport(c, target, 0, why);
}

/* The options a check may have, and which kind alone may have some. */
static const struct {
	const char *key;
	int only;	/* an enum health_kind, or -1 for every kind */
} keys[] = {
	{ "interval", -1 }, { "timeout", -1 }, { "rise", -1 }, { "fall", -1 },
	{ "status", HEALTH_HTTP }, { "payload", HEALTH_UDP },
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static int set_option(struct health_check *c, size_t k, const char *v, char *why)
{
	uint32_t u;

	switch (k) {
	case 0:
	case 1:
		if (parse_seconds(v, k ? &c->timeout_ms : &c->interval_ms) < 0)
			return why_fail(EINVAL, why, "bad %s '%s': want seconds, 0.01..86400, "
					"at most 3 decimals", keys[k].key, v);
		return 0;
	case 2:
	case 3:
		if (!isdigit((unsigned char)*v) ||
		    opt_u32(v, 1, HEALTHCONF_COUNT_MAX, &u) < 0)
			return why_fail(EINVAL, why, "bad %s '%s': want 1..%d", keys[k].key,
					v, HEALTHCONF_COUNT_MAX);
		*(k == 2 ? &c->rise : &c->fall) = u;
		return 0;
	case 4:
		if (!isdigit((unsigned char)*v) || opt_u32(v, 100, 599, &u) < 0)
			return why_fail(EINVAL, why, "bad status '%s': want 100..599", v);
		c->status = u;
		return 0;
	default:
		return set_text(c, "payload", v, why);
	}
}

static int parse_option(struct health_check *c, const char *word, bool *seen,
			char *why)
{
	const char *eq = strchr(word, '=');
	size_t k, len = eq ? (size_t)(eq - word) : 0;

	for (k = 0; k < NKEYS; k++)
		if (eq && strlen(keys[k].key) == len && strncmp(word, keys[k].key, len) == 0)
			break;
	if (k == NKEYS)
		return why_fail(EINVAL, why, "unknown option '%s': want interval=, timeout=, "
				"rise=, fall=, status= (http) or payload= (udp)", word);
	if (keys[k].only >= 0 && keys[k].only != (int)c->kind)
		return why_fail(EINVAL, why, "option '%s' is only for %s checks", keys[k].key,
				healthconf_kind_name((enum health_kind)keys[k].only));
	if (seen[k])
		return why_fail(EINVAL, why, "option '%s' given twice", keys[k].key);
	seen[k] = true;
	return set_option(c, k, eq + 1, why);
}

/* The options after TARGET, then the defaults and the timeout's bound. */
static int parse_options(struct health_check *c, char *const *w, int n, char *why)
{
	bool seen[NKEYS] = { false };
	int i;

	for (i = 0; i < n; i++)
		if (parse_option(c, w[i], seen, why) < 0)
			return -1;
	if (!seen[1])
		c->timeout_ms = c->interval_ms < HEALTHCONF_TIMEOUT_MS ?
				c->interval_ms : HEALTHCONF_TIMEOUT_MS;
	if (c->timeout_ms > c->interval_ms)
		return why_fail(EINVAL, why, "timeout %u ms is longer than the interval %u ms",
				c->timeout_ms, c->interval_ms);
	return 0;
}

int healthconf_parse_line(const char *line, struct health_check *c, char *why)
{
	struct words w;

	if (split(line, &w, why) < 0)
		return -1;
	if (w.n == 0)
		return 0;
	if (w.n < 4)
		return why_fail(EINVAL, why, "want TABLE ID CHECK TARGET [OPTION=VALUE]...");
	*c = (struct health_check){ .interval_ms = HEALTHCONF_INTERVAL_MS,
				    .rise = HEALTHCONF_RISE, .fall = HEALTHCONF_FALL,
				    .status = HEALTHCONF_STATUS };
	if (shm_name_check(w.w[0]) < 0)
		return why_fail(EINVAL, why, "bad table name '%s'", w.w[0]);
	snprintf(c->table, sizeof(c->table), "%s", w.w[0]);
	/* The ids are read as `nfqlb activate` reads them. */
	if (opt_id(w.w[1], &c->id) < 0)
		return why_fail(EINVAL, why, "bad target id '%s': %s", w.w[1],
				opt_id_why(w.w[1]));
	if (parse_target(c, w.w[2], w.w[3], why) < 0)
		return -1;
	return parse_options(c, w.w + 4, w.n - 4, why) < 0 ? -1 : 1;
}

/* Whether c's (table, id) is one of the n checks before it. */
static const struct health_check *dup_of(const struct health_check *c,
					 const struct health_check *all, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (all[i].id == c->id && strcmp(all[i].table, c->table) == 0)
			return &all[i];
	return NULL;
}

static size_t count_tables(const struct health_check *all, size_t n)
{
	size_t i, j, k = 0;

	for (i = 0; i < n; i++) {
		for (j = 0; j < i && strcmp(all[i].table, all[j].table) != 0; j++)
			;
		k += j == i;
	}
	return k;
}

/* Add the check on line `line` to conf, after the checks across lines. */
static int add_check(struct healthconf *conf, struct health_check *c,
		     unsigned int line, char *why)
{
	const struct health_check *d = dup_of(c, conf->checks, conf->n);

	if (d)
		return why_fail(EINVAL, why, "table %s id %u is already checked on line %u",
				c->table, c->id, d->line);
	if (conf->n == HEALTHCONF_CHECKS_MAX)
		return why_fail(EINVAL, why, "more than %d checks", HEALTHCONF_CHECKS_MAX);
	c->line = line;
	conf->checks[conf->n++] = *c;
	if (count_tables(conf->checks, conf->n) > HEALTHCONF_TABLES_MAX) {
		conf->n--;
		return why_fail(EINVAL, why, "more than %d tables", HEALTHCONF_TABLES_MAX);
	}
	return 0;
}

/* Prefix why with "NAME:LINE: ". */
static int at_line(const char *name, unsigned int line, char *why)
{
	char msg[WHY_MAX];
	int err = errno;

	snprintf(msg, sizeof(msg), "%s", why);
	return why_fail(err, why, "%s:%u: %s", name, line, msg);
}

int healthconf_parse(const char *text, const char *name, struct healthconf *conf,
		     char *why)
{
	char line[HEALTHCONF_LINE_MAX + 1];
	struct health_check c;
	unsigned int no = 0;
	size_t len;
	int r;

	conf->n = 0;
	conf->checks = calloc(HEALTHCONF_CHECKS_MAX, sizeof(*conf->checks));
	if (!conf->checks)
		return why_fail(ENOMEM, why, "%s", strerror(ENOMEM));
	for (; *text; text += len + (text[len] == '\n')) {
		len = strcspn(text, "\n");
		no++;
		snprintf(line, sizeof(line), "%.*s", (int)len, text);
		if (len >= HEALTHCONF_LINE_MAX) {
			why_fail(EINVAL, why, "line longer than %d bytes", HEALTHCONF_LINE_MAX - 1);
			return at_line(name, no, why);
		}
		r = healthconf_parse_line(line, &c, why);
		if (r < 0 || (r == 1 && add_check(conf, &c, no, why) < 0))
			return at_line(name, no, why);
	}
	if (conf->n == 0)
		return why_fail(EINVAL, why, "%s: no checks", name);
	return 0;
}

int healthconf_load(const char *path, struct healthconf *conf, char *why)
{
	FILE *f = fopen(path, "re");
	char *text;
	size_t n;
	int r;

	conf->checks = NULL;
	conf->n = 0;
	if (!f)
		return why_fail(errno, why, "%s: %s", path, strerror(errno));
	text = malloc(HEALTHCONF_FILE_MAX + 1);
	if (!text) {
		fclose(f);
		return why_fail(ENOMEM, why, "%s", strerror(ENOMEM));
	}
	n = fread(text, 1, HEALTHCONF_FILE_MAX + 1, f);
	if (ferror(f))
		r = why_fail(EIO, why, "%s: read error", path);
	else if (n > HEALTHCONF_FILE_MAX)
		r = why_fail(EFBIG, why, "%s: larger than %d bytes", path,
			     HEALTHCONF_FILE_MAX);
	else if (memchr(text, '\0', n))
		r = why_fail(EINVAL, why, "%s: holds a NUL byte", path);
	else {
		text[n] = '\0';
		r = healthconf_parse(text, path, conf, why);
	}
	free(text);
	fclose(f);
	return r;
}

void healthconf_free(struct healthconf *conf)
{
	free(conf->checks);
	conf->checks = NULL;
	conf->n = 0;
}
