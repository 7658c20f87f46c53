/* SPDX-License-Identifier: GPL-2.0-or-later */
/* log.h: the worker's log lines on stderr. */
#ifndef NFQLB_LOG_H
#define NFQLB_LOG_H

/**
 * lb_log - write "nfqlb: lb: <line>" and a newline to stderr
 * @fmt: printf format of the line (at most 511 bytes are kept)
 */
void lb_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
