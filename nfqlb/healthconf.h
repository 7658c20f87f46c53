/* SPDX-License-Identifier: GPL-2.0-or-later */
/* healthconf.h: the configuration file of `nfqlb health`.
 *
 * One check per line, `#` at the start of a word begins a comment:
 *
 *   TABLE ID CHECK TARGET [OPTION=VALUE]...
 *
 *   tcp   ADDR:PORT                           [interval= timeout= rise= fall=]
 *   http  http://ADDR[:PORT][/PATH]  [status=CODE]  [...]
 *   udp   ADDR:PORT                  [payload=TEXT] [...]
 *   exec  "COMMAND"                               [...]
 *
 * ADDR is an IPv4 address or an IPv6 address in brackets ([fd00::1]); no
 * names are resolved.  Words are separated by blanks; a word may hold
 * "double-quoted" parts, in which \" and \\ stand for " and \ and every
 * other character stands for itself.  Seconds are decimal with at most 3
 * decimals (1 ms resolution).
 *
 * Parsing only: nothing here prints, exits or opens a socket.  Errors
 * return -1 with errno EINVAL (or ENOMEM, or the error of reading the file)
 * and fill `why` (WHY_MAX bytes) with a one-line reason.
 */
#ifndef NFQLB_HEALTHCONF_H
#define NFQLB_HEALTHCONF_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "shm/shm.h"

#define HEALTHCONF_LINE_MAX	4096	/* bytes of one line, newline included */
#define HEALTHCONF_TEXT_MAX	1024	/* a path, a payload or a command */
#define HEALTHCONF_CHECKS_MAX	512	/* checks in one file */
#define HEALTHCONF_TABLES_MAX	64	/* distinct tables in one file */
#define HEALTHCONF_FILE_MAX	(1 << 20)	/* bytes of the file */

/* The defaults of the options. */
#define HEALTHCONF_INTERVAL_MS	2000
#define HEALTHCONF_TIMEOUT_MS	1000	/* or the interval, if that is shorter */
#define HEALTHCONF_RISE		2
#define HEALTHCONF_FALL		3
#define HEALTHCONF_STATUS	200
#define HEALTHCONF_PAYLOAD	"ping"

/* The limits of the options. */
#define HEALTHCONF_MS_MIN	10		/* 0.01 s */
#define HEALTHCONF_MS_MAX	86400000	/* one day */
#define HEALTHCONF_COUNT_MAX	1000		/* rise and fall */

enum health_kind {
	HEALTH_TCP,
	HEALTH_HTTP,
	HEALTH_UDP,
	HEALTH_EXEC,
};

/* One configured check: which target, how to probe it, how often. */
struct health_check {
	char table[SHM_NAME_MAX + 1];
	uint32_t id;
	enum health_kind kind;
	struct sockaddr_storage addr;	/* tcp, http, udp */
	socklen_t addrlen;
	char host[64];		/* http: the Host header, "ADDR:PORT" as written */
	char text[HEALTHCONF_TEXT_MAX + 1];	/* http path, udp payload, command */
	size_t textlen;
	unsigned int status;	/* http: the status expected */
	uint32_t interval_ms, timeout_ms, rise, fall;
	unsigned int line;	/* where it was written, for messages */
};

/* A parsed file. */
struct healthconf {
	struct health_check *checks;
	size_t n;
};

/**
 * healthconf_parse_line - parse one line of the file
 * @line: the line, NUL-terminated, with or without its newline
 * @c: filled with the check (table, id, probe, options; c->line is 0)
 * @why: filled with the reason on failure
 *
 * Returns 1 when the line holds a check, 0 for a blank or comment line,
 * or -1 with errno EINVAL.
 */
int healthconf_parse_line(const char *line, struct health_check *c, char *why);

/**
 * healthconf_parse - parse a whole file's text
 * @text: the file's content, NUL-terminated
 * @name: the file name, for messages
 * @conf: filled; free it with healthconf_free() (also after a failure)
 * @why: filled with "NAME:LINE: reason" on failure
 *
 * Checks each line, then that no (TABLE, ID) appears twice, that the file
 * holds at least one check, and the limits HEALTHCONF_CHECKS_MAX and
 * HEALTHCONF_TABLES_MAX.  Returns 0, or -1 with errno EINVAL or ENOMEM.
 */
int healthconf_parse(const char *text, const char *name, struct healthconf *conf,
		     char *why);

/**
 * healthconf_load - read and parse a file
 * @path: the file
 * @conf: as for healthconf_parse()
 * @why: filled with the reason on failure
 *
 * Returns 0, or -1 with errno EINVAL (a bad line: why names PATH:LINE),
 * EFBIG (the file is larger than HEALTHCONF_FILE_MAX bytes), or
 * the error of opening or reading it (why names PATH).
 */
int healthconf_load(const char *path, struct healthconf *conf, char *why);

/**
 * healthconf_free - free what healthconf_parse() or healthconf_load() filled
 * @conf: the configuration; left empty
 */
void healthconf_free(struct healthconf *conf);

/**
 * healthconf_kind_name - "tcp", "http", "udp" or "exec"
 */
const char *healthconf_kind_name(enum health_kind kind);

#endif
