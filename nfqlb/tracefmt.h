/* SPDX-License-Identifier: GPL-2.0-or-later */
/* tracefmt.h: how `nfqlb trace` prints a worker's decision: one line of
 * text, or one JSON object, from a record of the trace ring. */
#ifndef NFQLB_TRACEFMT_H
#define NFQLB_TRACEFMT_H

#include <stdint.h>
#include <stdio.h>

#include "shm/trace.h"

/**
 * tracefmt_text - print a decision as one line:
 * "HH:MM:SS.uuuuuu queue Q PROTO SRC > DST KIND [flow NAME] target ID|-
 * accept|drop [mark M]" (local time; ports as ADDR:PORT or [ADDR6]:PORT
 * when the key has them, "id N" after an ICMP echo)
 * @f: where to
 * @r: the record
 */
void tracefmt_text(FILE *f, const struct trace_rec *r);

/**
 * tracefmt_json - print a decision as one JSON object and a newline
 * @f: where to
 * @r: the record
 * @pid: the worker's PID
 *
 * Keys: time (UTC, ISO 8601 with ns), ns, pid, queue, kind, proto (name
 * or number as a string), protocol, src, dst, sport, dport (an ICMP
 * echo's id in sport), flow (null for one table), target (null when none
 * was found), verdict ("accept" or "drop"), mark.
 */
void tracefmt_json(FILE *f, const struct trace_rec *r, int32_t pid);

/**
 * tracefmt_addr - a key's address (four words, IPv4-mapped for IPv4) as text
 * @w: the four words
 * @buf: written
 * @len: room in buf (INET6_ADDRSTRLEN will do)
 * Returns buf.
 */
char *tracefmt_addr(const uint32_t *w, char *buf, size_t len);

#endif
