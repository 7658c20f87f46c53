/* SPDX-License-Identifier: GPL-2.0-or-later */
/* log.h: the log lines of the long-running commands (lb, health, metrics)
 * on stderr: "nfqlb: <command>: <line>", each written in one call so that
 * threads never interleave within a line. */
#ifndef NFQLB_LOG_H
#define NFQLB_LOG_H

#include <stdarg.h>

/**
 * log_vline - write "nfqlb: <cmd>: <line>" and a newline to stderr
 * @cmd: the command's name
 * @fmt: printf format of the line (at most 511 bytes are kept)
 * @ap: its arguments
 */
void log_vline(const char *cmd, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

/**
 * lb_log - log_vline() for the worker ("nfqlb: lb: ...")
 * @fmt: printf format of the line
 */
void lb_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
